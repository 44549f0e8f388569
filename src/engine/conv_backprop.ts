/**
 * Conv2D gradients for the wasm backend, built from XNNPACK's forward convolution.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` (a conv net cannot train) and a scalar
 * `Conv2DBackpropInput` running at 2–4 GFLOP/s. Both gradients are convolutions themselves, so
 * we rephrase them as forward convs, which XNNPACK runs at 20–40 GFLOP/s (DESIGN.md §4):
 *
 * - filter gradient: swap the roles of batch and channels. With x as [C, H, W, B] and dy as a
 *   "filter" [OH, OW, B, CO], a forward conv whose dilation is the original stride and whose
 *   output is [C, KH, KW, CO] sums x·dy over batch and output pixels — exactly dW.
 * - input gradient: a stride-s transposed conv splits into s×s sub-pixel phases; phase (rh, rw)
 *   of dx is a stride-1 conv of dy with a sub-filter of the spatially flipped, in/out-swapped
 *   filter. All phases share one conv (each phase is a block of output channels), then
 *   DepthToSpace interleaves them. Dilating dy with zeros instead would waste 3/4 of the
 *   multiplies at stride 2; here 3×3 stride 2 pads its sub-filters to 2×2 (16 taps for 9).
 *
 * NHWC only, dilation 1 only (tfjs' own conv2d gradient rejects dilation > 1 anyway).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type Info,
  conv2d,
  depthToSpace,
  matMul,
  pad,
  release,
  slice,
  swapBatchChannels,
  transpose,
  view,
  zeros,
} from './wasm_ops.js';
import { EngineError } from './errors.js';

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

function checkFormat(kernel: string, dataFormat: string): void {
  if (dataFormat !== 'NHWC') {
    throw new EngineError(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * dW [KH, KW, C, CO] from x [B, H, W, C] and dy [B, OH, OW, CO].
 * Math: dW[i,j,c,o] = Σ_{b,p,q} x[b, p·s + i − pt, q·s + j − pl, c] · dy[b, p, q, o].
 */
export function conv2dBackpropFilter(
  backend: BackendWasm,
  x: Info,
  dy: Info,
  filterShape: number[],
  attrs: ConvAttrs,
): Info {
  checkFormat('Conv2DBackpropFilter', attrs.dataFormat);
  const info = convInfo(x.shape, filterShape, attrs);
  const [b, h, w] = x.shape;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, inChannels: c, outChannels: co } = info;
  const { top, left } = info.padInfo;
  // Bottom/right padding so that the swapped conv yields exactly KH×KW outputs; when the
  // forward conv ignored trailing input rows this goes negative and we crop instead.
  const bottom = kh - 1 + (oh - 1) * sh + 1 - h - top;
  const right = kw - 1 + (ow - 1) * sw + 1 - w - left;

  if (kh === 1 && kw === 1) {
    // A 1×1 filter gradient is one GEMM, xᵀ·dy, over the input pixels the conv sampled.
    const xs = samplePixels(backend, x, oh, ow, sh, sw, top, left); // [N, C]
    const xsT = transpose(backend, xs, [1, 0]); // [C, N]
    if (xs.dataId !== x.dataId) release(backend, xs);
    const g = matMul(backend, xsT, view(dy, [b * oh * ow, co])); // [C, CO]
    release(backend, xsT);
    return view(g, [1, 1, c, co]);
  }
  const xT = swapBatchChannels(backend, x); // [C, H, W, B]
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [OH, OW, B, CO]
  const g = conv2d(backend, xT, dyT, [1, 1], [sh, sw], {
    top,
    left,
    bottom: Math.max(0, bottom),
    right: Math.max(0, right),
  }); // [C, KH', KW', CO] with KH' >= KH
  release(backend, xT, dyT);
  let gc = g;
  if (g.shape[1] !== kh || g.shape[2] !== kw) {
    gc = slice(backend, g, [0, 0, 0, 0], [c, kh, kw, co]);
    release(backend, g);
  }
  const out = transpose(backend, gc, [1, 2, 0, 3]); // [KH, KW, C, CO]
  release(backend, gc);
  return out;
}

/**
 * The input pixels a 1×1 conv reads, x[b, p·sh − top, q·sw − left, :] (zero outside), as
 * [B·OH·OW, C]. A view of x when it reads every pixel in order.
 */
function samplePixels(
  backend: BackendWasm,
  x: Info,
  oh: number,
  ow: number,
  sh: number,
  sw: number,
  top: number,
  left: number,
): Info {
  const [b, h, w, c] = x.shape;
  if (sh === 1 && sw === 1 && top === 0 && left === 0 && oh === h && ow === w) {
    return view(x, [b * h * w, c]);
  }
  const out = zeros(backend, [b * oh * ow, c]);
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  for (let n = 0, o = 0; n < b; n++) {
    for (let p = 0; p < oh; p++) {
      const i = p * sh - top;
      for (let q = 0; q < ow; q++, o += c) {
        const j = q * sw - left;
        if (i < 0 || i >= h || j < 0 || j >= w) continue;
        const at = ((n * h + i) * w + j) * c;
        dst.set(src.subarray(at, at + c), o);
      }
    }
  }
  return out;
}

/** One spatial axis of the sub-pixel decomposition of a transposed conv. */
type AxisPlan = {
  /** Per phase r: taps J_r (0 = phase receives no gradient). */
  taps: number[];
  /** Per phase r: first filter index k_r = (r + pad) mod s. */
  first: number[];
  /** Per phase r: offset of its taps inside the common window. */
  offset: number[];
  /** Common window length (sub-filter size). */
  window: number;
  /** Padding before dy on this axis (>= 0). */
  padBefore: number;
  /** Padding after dy so the conv yields `phaseLen` outputs (>= 0; crop if over). */
  padAfter: number;
  /** Number of outputs per phase, ceil(in / s). */
  phaseLen: number;
};

/**
 * Plans one axis. With i = s·q + r, dx[i] = Σ_j dy[q + ⌊(r+pt)/s⌋ − j] · w[k_r + s·j]
 * (j < J_r), i.e. a correlation of dy with the reversed taps starting at
 * a_r = ⌊(r+pt)/s⌋ − (J_r − 1). The common window starts at A = min(0, min_r a_r).
 */
function planAxis(inSize: number, outSize: number, k: number, s: number, padBefore: number): AxisPlan {
  const taps: number[] = [];
  const first: number[] = [];
  const start: number[] = [];
  for (let r = 0; r < s; r++) {
    const kr = (r + padBefore) % s;
    const j = kr < k ? Math.ceil((k - kr) / s) : 0;
    taps.push(j);
    first.push(kr);
    start.push(Math.floor((r + padBefore) / s) - (j - 1));
  }
  let a = 0;
  let end = 1;
  for (let r = 0; r < s; r++) {
    if (taps[r] === 0) continue;
    a = Math.min(a, start[r]);
    end = Math.max(end, start[r] + taps[r]);
  }
  const window = end - a;
  const phaseLen = Math.ceil(inSize / s);
  const offset = start.map((st) => st - a);
  // conv output length = outSize + padBefore' + padAfter − window + 1 = phaseLen
  const padAfter = phaseLen + window - 1 - outSize + a;
  return { taps, first, offset, window, padBefore: -a, padAfter: Math.max(0, padAfter), phaseLen };
}

/**
 * dx [B, H, W, C] from dy [B, OH, OW, CO] and filter [KH, KW, C, CO]: one stride-1 forward
 * conv of dy with a combined sub-pixel filter [LH, LW, CO, s²·C], then DepthToSpace and a crop
 * when H or W is not a multiple of s.
 */
export function conv2dBackpropInput(
  backend: BackendWasm,
  dy: Info,
  filter: Info,
  inputShape: number[],
  attrs: ConvAttrs,
): Info {
  checkFormat('Conv2DBackpropInput', attrs.dataFormat);
  const info = convInfo(inputShape, filter.shape, attrs);
  const [b, h, w, c] = inputShape;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, outChannels: co } = info;
  if (sh !== sw) {
    throw new EngineError(`Conv2DBackpropInput on wasm needs equal strides, got [${sh}, ${sw}]`);
  }
  const s = sh;
  const ph = planAxis(h, oh, kh, s, info.padInfo.top);
  const pw = planAxis(w, ow, kw, s, info.padInfo.left);

  // Phase p = rh·s + rw owns output channels [p·C, (p+1)·C), the order DepthToSpace expects.
  // Phases no tap reaches (1×1 stride 2: three of four) get zeros: from zero filter columns,
  // or, when a single phase is live, by padding the channels of its conv output instead.
  const live: number[] = [];
  for (let p = 0; p < s * s; p++) {
    if (ph.taps[Math.floor(p / s)] > 0 && pw.taps[p % s] > 0) live.push(p);
  }
  const single = live.length === 1 && s > 1;
  const blocks = single ? live : Array.from({ length: s * s }, (_, p) => p);
  const nOut = blocks.length * c;
  const fc = backend.makeOutput([ph.window, pw.window, co, nOut], 'float32');
  // Views must be taken after every allocation: a heap growth detaches earlier views.
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(fc) as Float32Array;
  dst.fill(0);
  blocks.forEach((p, slot) => {
    const rh = Math.floor(p / s);
    const rw = p % s;
    for (let jh = 0; jh < ph.taps[rh]; jh++) {
      const fh = ph.first[rh] + s * jh; // filter row
      const th = ph.offset[rh] + ph.taps[rh] - 1 - jh; // window row (taps reversed)
      for (let jw = 0; jw < pw.taps[rw]; jw++) {
        const fw = pw.first[rw] + s * jw;
        const tw = pw.offset[rw] + pw.taps[rw] - 1 - jw;
        for (let ci = 0; ci < c; ci++) {
          const srcBase = ((fh * kw + fw) * c + ci) * co;
          const dstBase = (th * pw.window + tw) * co * nOut + slot * c + ci;
          for (let o = 0; o < co; o++) dst[dstBase + o * nOut] = src[srcBase + o];
        }
      }
    }
  });

  let y = conv2d(backend, dy, fc, [1, 1], [1, 1], {
    top: ph.padBefore,
    bottom: ph.padAfter,
    left: pw.padBefore,
    right: pw.padAfter,
  }); // [B, QH', QW', nOut]
  release(backend, fc);
  if (s === 1) return crop(backend, y, [b, h, w, c]);
  if (single) {
    const p = live[0];
    const padded = pad(backend, y, [[0, 0], [0, 0], [0, 0], [p * c, (s * s - 1 - p) * c]]);
    release(backend, y);
    y = padded;
  }
  const d = depthToSpace(backend, y, s);
  release(backend, y);
  return crop(backend, d, [b, h, w, c]);
}

function crop(backend: BackendWasm, x: Info, shape: number[]): Info {
  if (x.shape.every((n, i) => n === shape[i])) return x;
  const out = slice(backend, x, [0, 0, 0, 0], shape);
  release(backend, x);
  return out;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as unknown as { x: Info; dy: Info };
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    return conv2dBackpropFilter(backend as BackendWasm, x, dy, a.filterShape, a);
  },
};

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as unknown as { dy: Info; filter: Info };
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    return conv2dBackpropInput(backend as BackendWasm, dy, filter, a.inputShape, a);
  },
};
