/**
 * Thin calls into the wasm backend's own kernels on raw `TensorInfo`s, for composing project
 * kernels. Working below the engine keeps intermediates off the gradient tape and out of
 * `tf.memory()`: each helper returns backend-owned data that the caller must `release`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type Info = tf.TensorInfo;
type Attrs = tf.NamedAttrMap;

function call(backend: BackendWasm, name: string, inputs: tf.NamedTensorInfoMap, attrs: Attrs): Info {
  const kernel = tf.getKernel(name, 'wasm');
  if (kernel === undefined) throw new Error(`wasm backend has no '${name}' kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as Info;
}

/** Frees backend data created by one of these helpers (or `backend.makeOutput`). */
export function release(backend: BackendWasm, ...infos: Info[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Explicit per-side padding as tfjs accepts it for NHWC convs. */
export type Pads = { top: number; bottom: number; left: number; right: number };

/**
 * NHWC forward convolution by XNNPACK. `x` [B, H, W, Ci], `filter` [KH, KW, Ci, Co].
 * All pads must be >= 0.
 */
export function conv2d(
  backend: BackendWasm,
  x: Info,
  filter: Info,
  strides: [number, number],
  dilations: [number, number],
  pads: Pads,
): Info {
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [pads.top, pads.bottom],
    [pads.left, pads.right],
    [0, 0],
  ];
  return call(backend, tf.Conv2D, { x, filter }, {
    strides,
    dilations,
    pad: pad as unknown as number[],
    dataFormat: 'NHWC',
    dimRoundingMode: null as unknown as string,
  });
}

export function transpose(backend: BackendWasm, x: Info, perm: number[]): Info {
  return call(backend, tf.Transpose, { x }, { perm });
}

/**
 * [C, H, W, B] from [B, H, W, C] (batch and channels swapped). tfjs-wasm's generic transpose
 * runs this 3-D permutation at ~25 ns/element; two 2-D-like steps take ~5.
 */
export function swapBatchChannels(backend: BackendWasm, x: Info): Info {
  const [b, h, w, c] = x.shape;
  const t = transpose(backend, view(x, [b, h * w, c]), [0, 2, 1]); // [B, C, HW]
  const out = transpose(backend, view(t, [b, c * h * w]), [1, 0]); // [C·HW, B]
  release(backend, t);
  return view(out, [c, h, w, b]);
}

/** a [M, K] × b [K, N] → [M, N] by XNNPACK (no transposed operands: those are slow). */
export function matMul(backend: BackendWasm, a: Info, b: Info): Info {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const out = call(backend, tf.BatchMatMul, { a: view(a, [1, m, k]), b: view(b, [1, k, n]) }, {
    transposeA: false,
    transposeB: false,
  });
  return view(out, [m, n]);
}

/** NHWC average pooling by XNNPACK, 'valid' padding. */
export function avgPool(backend: BackendWasm, x: Info, filterSize: [number, number], strides: [number, number]): Info {
  return call(backend, tf.AvgPool, { x }, { filterSize, strides, pad: 'valid', dimRoundingMode: null as unknown as string });
}

export function slice(backend: BackendWasm, x: Info, begin: number[], size: number[]): Info {
  return call(backend, tf.Slice, { x }, { begin, size });
}

export function concat(backend: BackendWasm, xs: Info[], axis: number): Info {
  return call(backend, tf.Concat, xs as unknown as tf.NamedTensorInfoMap, { axis });
}

/** A new float32 tensor of `shape` filled with zeros. */
export function zeros(backend: BackendWasm, shape: number[]): Info {
  const out = backend.makeOutput(shape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  return out;
}

/** Same data viewed with another shape (no copy; do not release the view separately). */
export function view(x: Info, shape: number[]): Info {
  return { dataId: x.dataId, shape, dtype: x.dtype };
}
