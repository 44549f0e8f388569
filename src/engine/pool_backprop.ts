/**
 * MaxPoolGrad for the wasm backend. tfjs-backend-wasm 4.22's own kernel drops the gradient of
 * every window whose values are all negative (its running maximum starts above them), which
 * happens as soon as a max-pool follows batch norm without a ReLU. This one routes dy to the
 * first maximum of each window in row-major order, as TensorFlow and the cpu backend do.
 *
 * Pooling is memory-bound and cheap next to the convs, so a channel-vectorised JS loop over
 * the wasm heap is fast enough (no tensors are created).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Info } from './wasm_ops.js';

type PoolAttrs = {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** dx [B, H, W, C] of y = maxPool(x): dy [B, OH, OW, C] added at each window's argmax. */
export function maxPoolGrad(backend: BackendWasm, dy: Info, x: Info, attrs: PoolAttrs): Info {
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(x.shape, 'float32');
  // Views after the allocation: a heap growth would detach earlier ones.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let n = 0, o = 0; n < b; n++) {
    for (let p = 0; p < oh; p++) {
      const i0 = Math.max(0, p * sh - top);
      const i1 = Math.min(h, p * sh - top + kh);
      for (let q = 0; q < ow; q++, o += c) {
        const j0 = Math.max(0, q * sw - left);
        const j1 = Math.min(w, q * sw - left + kw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let i = i0; i < i1; i++) {
          for (let j = j0; j < j1; j++) {
            const base = ((n * h + i) * w + j) * c;
            for (let k = 0; k < c; k++) {
              const v = xs[base + k];
              if (v > best[k]) {
                best[k] = v;
                at[k] = base + k;
              }
            }
          }
        }
        for (let k = 0; k < c; k++) if (at[k] >= 0) dx[at[k]] += dys[o + k];
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as unknown as { dy: Info; input: Info };
    return maxPoolGrad(backend as BackendWasm, dy, input, attrs as unknown as PoolAttrs);
  },
};
