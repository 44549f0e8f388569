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
 *   A 1×1 filter gradient is a single GEMM instead.
 * - input gradient: a stride-s transposed conv splits into s×s sub-pixel phases; phase (rh, rw)
 *   of dx is a stride-1 conv of dy with a sub-filter of the spatially flipped, in/out-swapped
 *   filter, then two transposes interleave the phases. Dilating dy with zeros instead would
 *   waste 3/4 of the multiplies at stride 2; one conv over all phases with sub-filters padded
 *   to a common 2×2 window wastes 7/16 (measured: ~40% slower than exact phases).
 *
 * NHWC only, dilation 1 only (tfjs' own conv2d gradient rejects dilation > 1 anyway).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type Info,
  concat,
  conv2d,
  matMul,
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
    // A 1×1 filter gradient is one GEMM over the N input pixels the conv sampled. XNNPACK
    // repacks the GEMM's right operand on every call (~10 ns/float for these shapes), so the
    // narrower of xs [N, C] and dy [N, CO] goes there and the other is transposed on the left.
    const n = b * oh * ow;
    const xs = samplePixels(backend, x, oh, ow, sh, sw, top, left); // [N, C]
    const dy2 = view(dy, [n, co]);
    let g: Info;
    if (c <= co) {
      const dyT = transpose(backend, dy2, [1, 0]); // [CO, N]
      const gT = matMul(backend, dyT, xs); // [CO, C]
      release(backend, dyT);
      g = transpose(backend, gT, [1, 0]);
      release(backend, gT);
    } else {
      const xsT = transpose(backend, xs, [1, 0]); // [C, N]
      g = matMul(backend, xsT, dy2); // [C, CO]
      release(backend, xsT);
    }
    if (xs.dataId !== x.dataId) release(backend, xs);
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

/** How one output phase r (positions i ≡ r mod s) of one spatial axis reads dy and the filter. */
type PhasePlan = {
  /** Filter taps reaching this phase (0: the phase gets no gradient). */
  taps: number;
  /** Filter index of tap j: first + s·j. */
  first: number;
  /** Window length of the phase's sub-filter (taps, plus leading zeros if any). */
  window: number;
  /** Window position of tap 0; taps run backwards from there. */
  lastSlot: number;
  /** Padding of dy before / after so the phase conv yields ceil(in / s) outputs. */
  padBefore: number;
  padAfter: number;
};

/**
 * With i = s·q + r, dx[i] = Σ_j dy[q + ⌊(r+pt)/s⌋ − j] · w[k_r + s·j] for j < J_r, where
 * k_r = (r + pt) mod s: a stride-1 correlation of dy with the reversed taps, whose window
 * starts at a_r = ⌊(r+pt)/s⌋ − (J_r − 1) relative to q. A window starting after q (a_r > 0,
 * only with unusual explicit pads) gets leading zero taps so its padding stays >= 0.
 */
function planPhase(r: number, inSize: number, outSize: number, k: number, s: number, pt: number): PhasePlan {
  const first = (r + pt) % s;
  const taps = first < k ? Math.ceil((k - first) / s) : 0;
  const start = Math.floor((r + pt) / s) - (taps - 1);
  const lead = Math.max(0, start);
  const window = taps + lead;
  const padBefore = -Math.min(0, start);
  const phaseLen = Math.ceil(inSize / s);
  // conv output length = outSize + padBefore + padAfter − window + 1 = phaseLen (crop if over)
  const padAfter = Math.max(0, phaseLen + window - 1 - outSize - padBefore);
  return { taps, first, window, lastSlot: lead + taps - 1, padBefore, padAfter };
}

/**
 * dx [B, H, W, C] from dy [B, OH, OW, CO] and filter [KH, KW, C, CO]. Each of the s² output
 * phases is one stride-1 forward conv of dy with its exact sub-filter (for 3×3 stride 2:
 * 2×2, 2×1, 1×2 and 1×1 — 9 taps in all, none wasted); the phase results are stacked and
 * interleaved by two transposes with long contiguous runs.
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
  const qh = Math.ceil(h / s);
  const qw = Math.ceil(w / s);
  const rows = Array.from({ length: s }, (_, r) => planPhase(r, h, oh, kh, s, info.padInfo.top));
  const cols = Array.from({ length: s }, (_, r) => planPhase(r, w, ow, kw, s, info.padInfo.left));

  const phases = rows.flatMap((ph) => cols.map((pw) => ({ ph, pw })));
  const filters = phases.map(({ ph, pw }) =>
    ph.taps > 0 && pw.taps > 0 ? backend.makeOutput([ph.window, pw.window, co, c], 'float32') : undefined,
  );
  // Heap views only after every allocation: a heap growth detaches earlier views.
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  phases.forEach(({ ph, pw }, p) => {
    const f = filters[p];
    if (f === undefined) return;
    const dst = backend.typedArrayFromHeap(f) as Float32Array;
    dst.fill(0);
    for (let jh = 0; jh < ph.taps; jh++) {
      const fh = ph.first + s * jh;
      const th = ph.lastSlot - jh;
      for (let jw = 0; jw < pw.taps; jw++) {
        const fw = pw.first + s * jw;
        const tw = pw.lastSlot - jw;
        for (let ci = 0; ci < c; ci++) {
          const from = ((fh * kw + fw) * c + ci) * co;
          const to = (th * pw.window + tw) * co * c + ci;
          for (let o = 0; o < co; o++) dst[to + o * c] = src[from + o];
        }
      }
    }
  });

  let zero: Info | undefined;
  const parts = phases.map(({ ph, pw }, p) => {
    const f = filters[p];
    if (f === undefined) {
      zero ??= zeros(backend, [b, qh, qw, c]);
      return zero;
    }
    const y = conv2d(backend, dy, f, [1, 1], [1, 1], {
      top: ph.padBefore,
      bottom: ph.padAfter,
      left: pw.padBefore,
      right: pw.padAfter,
    });
    release(backend, f);
    return crop(backend, y, [b, qh, qw, c]);
  });
  if (s === 1) return crop(backend, parts[0], [b, h, w, c]);

  // [rh, rw, B·QH·QW, C] → [rh, B·QH·QW, rw, C] → [B·QH, rh, QW·rw·C] = [B, QH·s, QW·s, C]
  const n = b * qh * qw * c;
  const stacked = concat(backend, parts.map((part) => view(part, [1, n])), 0);
  release(backend, ...new Set(parts));
  const t1 = transpose(backend, view(stacked, [s, s, b * qh * qw, c]), [0, 2, 1, 3]);
  release(backend, stacked);
  const t2 = transpose(backend, view(t1, [s, b * qh, qw * s * c]), [1, 0, 2]);
  release(backend, t1);
  return crop(backend, view(t2, [b, qh * s, qw * s, c]), [b, h, w, c]);
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
