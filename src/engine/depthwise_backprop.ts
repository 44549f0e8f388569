/**
 * Depthwise-conv gradients for the wasm backend, which has neither
 * `DepthwiseConv2dNativeBackpropInput` nor `…BackpropFilter` in tfjs 4.22, so MobileNet-style
 * networks cannot train on it without these.
 *
 * Both are plain loops over the wasm heap: one pass over dy per filter tap, the channel loop
 * innermost (contiguous in NHWC and in the [KH, KW, C, M] filter), any stride, padding and
 * channel multiplier M. Measured at 0.1–0.2 GMAC/s with the two cores busy — about a tenth
 * of XNNPACK's forward depthwise conv — which is fine for fine-tuning the top blocks of a
 * MobileNet (the frozen lower blocks never run backward) but makes full fine-tuning spend
 * about a third of each step here. A faster version would rephrase them as XNNPACK calls,
 * as conv_backprop.ts does for dense convs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type Info, zeros } from './wasm_ops.js';
import { EngineError } from './errors.js';

type DepthwiseAttrs = {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
};

function depthwiseInfo(kernel: string, xShape: number[], filterShape: number[], attrs: DepthwiseAttrs): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new EngineError(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${attrs.dataFormat}'`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

/**
 * Visits every (output pixel, filter tap) pair whose input pixel lies inside the image:
 * `visit(dyOffset, xOffset, tapOffset)` with element offsets of the pixel's first channel
 * in dy [B, OH, OW, C·M], x [B, H, W, C] and the filter [KH, KW, C, M].
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (dyAt: number, xAt: number, tapAt: number) => void): void {
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  for (let n = 0; n < b; n++) {
    for (let p = 0; p < oh; p++) {
      for (let i = 0; i < kh; i++) {
        const r = p * sh + i * dh - top;
        if (r < 0 || r >= h) continue;
        for (let q = 0; q < ow; q++) {
          const dyAt = ((n * oh + p) * ow + q) * co;
          for (let j = 0; j < kw; j++) {
            const col = q * sw + j * dw - left;
            if (col < 0 || col >= w) continue;
            visit(dyAt, ((n * h + r) * w + col) * c, (i * kw + j) * co);
          }
        }
      }
    }
  }
}

/** dW [KH, KW, C, M] = Σ over batch and output pixels of x (at the tap's offset) · dy, per channel. */
export function depthwiseBackpropFilter(backend: BackendWasm, x: Info, dy: Info, filterShape: number[], attrs: DepthwiseAttrs): Info {
  const info = depthwiseInfo('DepthwiseConv2dNativeBackpropFilter', x.shape, filterShape, attrs);
  const { inChannels: c, outChannels: co } = info;
  const m = co / c;
  const acc = new Float64Array(filterShape.reduce((a, v) => a * v, 1));
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  forEachTap(info, (dyAt, xAt, tapAt) => {
    if (m === 1) {
      for (let k = 0; k < c; k++) acc[tapAt + k] += xs[xAt + k] * g[dyAt + k];
    } else {
      for (let k = 0; k < c; k++) for (let u = 0; u < m; u++) acc[tapAt + k * m + u] += xs[xAt + k] * g[dyAt + k * m + u];
    }
  });
  const out = backend.makeOutput(filterShape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

/** dx [B, H, W, C]: each dy element scattered back through the taps that produced it. */
export function depthwiseBackpropInput(backend: BackendWasm, dy: Info, filter: Info, inputShape: number[], attrs: DepthwiseAttrs): Info {
  const info = depthwiseInfo('DepthwiseConv2dNativeBackpropInput', inputShape, filter.shape, attrs);
  const { inChannels: c, outChannels: co } = info;
  const m = co / c;
  const out = zeros(backend, inputShape);
  // Heap views only after the allocation: a heap growth detaches earlier views.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const f = backend.typedArrayFromHeap(filter) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  forEachTap(info, (dyAt, xAt, tapAt) => {
    if (m === 1) {
      for (let k = 0; k < c; k++) dx[xAt + k] += f[tapAt + k] * g[dyAt + k];
    } else {
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let u = 0; u < m; u++) s += f[tapAt + k * m + u] * g[dyAt + k * m + u];
        dx[xAt + k] += s;
      }
    }
  });
  return out;
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as unknown as { x: Info; dy: Info };
    const a = attrs as unknown as DepthwiseAttrs & { filterShape: number[] };
    return depthwiseBackpropFilter(backend as BackendWasm, x, dy, a.filterShape, a);
  },
};

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as unknown as { dy: Info; filter: Info };
    const a = attrs as unknown as DepthwiseAttrs & { inputShape: number[] };
    return depthwiseBackpropInput(backend as BackendWasm, dy, filter, a.inputShape, a);
  },
};
