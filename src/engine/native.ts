/**
 * Optional native kernels: galmorph's oneDNN addon (native/, built at install when oneDNN and a
 * C++ toolchain are present) registered on the wasm backend. tfjs-wasm stays the tensor
 * backend — memory, element-wise ops, the gradient tape — and the convolutions and batch
 * normalisation, most of a training step, run in oneDNN on the wasm heap in place: NHWC
 * tensors, HWIO filters and per-channel vectors are layouts oneDNN reads directly, so no tensor
 * is copied in or out.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Info } from './wasm_ops.js';

interface Addon {
  conv2d(heap: ArrayBuffer, geometry: Int32Array, x: number, w: number, bias: number, y: number, activation: number): void;
  conv2dBackwardData(heap: ArrayBuffer, geometry: Int32Array, dy: number, w: number, dx: number): void;
  conv2dBackwardWeights(heap: ArrayBuffer, geometry: Int32Array, x: number, dy: number, dw: number): void;
  batchNorm(heap: ArrayBuffer, shape: Int32Array, epsilon: number, training: number, x: number, mean: number, variance: number, gamma: number, beta: number, y: number): void;
  batchNormBackward(heap: ArrayBuffer, shape: Int32Array, epsilon: number, x: number, mean: number, variance: number, gamma: number, beta: number, dy: number, dx: number, dgamma: number, dbeta: number): void;
  reluBackward(heap: ArrayBuffer, count: number, x: number, dy: number, dx: number): void;
  setThreads(n: number): void;
  info(): { version: string; threads: number };
}

/** The built addon's path (same from src/ under tsx and from dist/). */
export const ADDON_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'galmorph_dnnl.node');

let loaded: { addon: Addon } | { error: string } | undefined;

/** The addon, or why it is unavailable (loaded once per thread). */
export function loadAddon(): { addon: Addon } | { error: string } {
  if (loaded === undefined) {
    if (!existsSync(ADDON_PATH)) {
      loaded = { error: 'native addon not built (npm install builds it when libdnnl-dev and a C++ toolchain are present)' };
    } else {
      try {
        loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as Addon };
      } catch (e) {
        loaded = { error: `native addon failed to load: ${(e as Error).message.split('\n')[0]}` };
      }
    }
  }
  return loaded;
}

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/**
 * Packed geometry for the addon, or undefined for what it does not cover (NCHW, dilation,
 * negative leading padding): those go to the wasm kernel instead.
 */
function geometry(xShape: number[], filterShape: number[], attrs: ConvAttrs): Int32Array | undefined {
  if (attrs.dataFormat !== 'NHWC') return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, outChannels, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  // oneDNN's trailing padding is implied by the output size; negative where tfjs leaves the
  // last rows or columns unread (the addon then convolves the part that is read).
  const pb = (outHeight - 1) * sh + filterHeight - inHeight - padInfo.top;
  const pr = (outWidth - 1) * sw + filterWidth - inWidth - padInfo.left;
  if (padInfo.top < 0 || padInfo.left < 0) return undefined;
  return Int32Array.of(batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, outChannels, outHeight, outWidth, sh, sw, padInfo.top, padInfo.left, pb, pr);
}

/** The wasm memory itself (Emscripten's HEAPU8; a new ArrayBuffer after every heap growth). */
function heap(backend: BackendWasm): ArrayBuffer {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
}
const offset = (backend: BackendWasm, t: Info) => backend.getMemoryOffset(t.dataId);

/** The kernels native ones replace, by name, to run what the addon does not cover. */
type Builtins = Record<string, tf.KernelConfig | undefined>;
type KernelArgs = Parameters<tf.KernelFunc>[0];
function fallback(builtins: Builtins, name: string, args: KernelArgs) {
  const k = builtins[name];
  if (k === undefined) throw new Error(`wasm backend has no fallback '${name}' kernel`);
  return k.kernelFunc(args);
}

/** Activations the addon fuses into a forward conv (others fall back). */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

/**
 * Conv2D, FusedConv2D (bias and linear/ReLU; other fusions fall back) and the two conv
 * gradients, each falling back to `builtins` (the kernels they replace) off the native path.
 */
export function nativeConvKernels(addon: Addon, builtins: Builtins): tf.KernelConfig[] {
  const forward = (name: string): tf.KernelConfig => ({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const backend = args.backend as BackendWasm;
      const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, Info | undefined>;
      const attrs = args.attrs as unknown as ConvAttrs & { activation?: string };
      const act = ACTIVATIONS[attrs.activation ?? 'linear'];
      const g = x!.dtype === 'float32' && act !== undefined && preluActivationWeights === undefined ? geometry(x!.shape, filter!.shape, attrs) : undefined;
      if (g === undefined || (bias !== undefined && bias.shape.length !== 1)) return fallback(builtins, name, args);
      const y = backend.makeOutput([g[0], g[7], g[8], g[6]], 'float32');
      // Offsets and heap after the allocation: it may have grown the heap.
      addon.conv2d(heap(backend), g, offset(backend, x!), offset(backend, filter!), bias ? offset(backend, bias) : -1, offset(backend, y), act);
      return y;
    },
  });
  return [
    forward(tf.Conv2D),
    forward(tf.FusedConv2D),
    {
      kernelName: tf.Conv2DBackpropInput,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const backend = args.backend as BackendWasm;
        const { dy, filter } = args.inputs as { dy: Info; filter: Info };
        const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
        const g = geometry(attrs.inputShape, filter.shape, attrs);
        if (g === undefined) return fallback(builtins, tf.Conv2DBackpropInput, args);
        const dx = backend.makeOutput(attrs.inputShape, 'float32');
        addon.conv2dBackwardData(heap(backend), g, offset(backend, dy), offset(backend, filter), offset(backend, dx));
        return dx;
      },
    },
    {
      kernelName: tf.Conv2DBackpropFilter,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const backend = args.backend as BackendWasm;
        const { x, dy } = args.inputs as { x: Info; dy: Info };
        const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
        const g = geometry(x.shape, attrs.filterShape, attrs);
        if (g === undefined) return fallback(builtins, tf.Conv2DBackpropFilter, args);
        const dw = backend.makeOutput(attrs.filterShape, 'float32');
        addon.conv2dBackwardWeights(heap(backend), g, offset(backend, x), offset(backend, dy), offset(backend, dw));
        return dw;
      },
    },
  ];
}

/**
 * Kernels of training-mode batch norm over the channels of an NHWC float32 tensor, registered
 * only with the native kernels (tfjs has no such kernel: its training-mode batch norm is
 * element-wise ops). BatchNormTraining: {x, gamma, beta}, {epsilon} → [y, mean, variance]
 * (batch statistics, variance biased). BatchNormTrainingGrad: {dy, x, mean, variance, gamma,
 * beta}, {epsilon} → [dx, dgamma, dbeta] (oneDNN wants beta although the result does not
 * depend on it).
 */
export const BatchNormTraining = 'GalmorphBatchNormTraining';
export const BatchNormTrainingGrad = 'GalmorphBatchNormTrainingGrad';

/** Training-mode batch norm through the two kernels above: one native call each way. */
export const batchNormOps = {
  /** y = γ·(x − μ)/√(σ² + ε) + β with the batch's per-channel μ, σ² (biased), and those. */
  forward: (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number) =>
    tf.engine().runKernel(BatchNormTraining, { x, gamma, beta }, { epsilon }) as [tf.Tensor, tf.Tensor, tf.Tensor],
  /** [dx, dγ, dβ] from dy and what `forward` read and returned. */
  backward: (dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number) =>
    tf.engine().runKernel(BatchNormTrainingGrad, { dy, x, mean, variance, gamma, beta }, { epsilon }) as [tf.Tensor, tf.Tensor, tf.Tensor],
};
export type BatchNormOps = typeof batchNormOps;

/**
 * The two training-mode batch-norm kernels, and FusedBatchNorm (tf.batchNorm, inference mode)
 * over NHWC float32 with per-channel statistics, scale and offset — anything else falls back
 * to `builtins.FusedBatchNorm`.
 */
export function nativeBatchNormKernels(addon: Addon, builtins: Builtins): tf.KernelConfig[] {
  const shapeOf = (x: Info) => Int32Array.from(x.shape);
  const perChannel = (x: Info, v: Info | undefined) => v !== undefined && v.dtype === 'float32' && v.shape.length === 1 && v.shape[0] === x.shape[3];
  return [
    {
      kernelName: tf.FusedBatchNorm,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const backend = args.backend as BackendWasm;
        const { x, mean, variance, offset: beta, scale: gamma } = args.inputs as Record<string, Info | undefined>;
        const { varianceEpsilon } = args.attrs as unknown as tf.FusedBatchNormAttrs;
        if (x!.dtype !== 'float32' || x!.shape.length !== 4 || ![mean, variance, beta, gamma].every((v) => perChannel(x!, v))) {
          return fallback(builtins, tf.FusedBatchNorm, args);
        }
        const y = backend.makeOutput(x!.shape, 'float32');
        const o = (t: Info | undefined) => offset(backend, t!);
        addon.batchNorm(heap(backend), shapeOf(x!), varianceEpsilon, 0, o(x), o(mean), o(variance), o(gamma), o(beta), o(y));
        return y;
      },
    },
    {
      kernelName: BatchNormTraining,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const backend = args.backend as BackendWasm;
        const { x, gamma, beta } = args.inputs as Record<string, Info>;
        const { epsilon } = args.attrs as { epsilon: number };
        const c = [x.shape[3]];
        const [y, mean, variance] = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(c, 'float32'), backend.makeOutput(c, 'float32')];
        const o = (t: Info) => offset(backend, t);
        addon.batchNorm(heap(backend), shapeOf(x), epsilon, 1, o(x), o(mean), o(variance), o(gamma), o(beta), o(y));
        return [y, mean, variance];
      },
    },
    {
      kernelName: BatchNormTrainingGrad,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const backend = args.backend as BackendWasm;
        const { dy, x, mean, variance, gamma, beta } = args.inputs as Record<string, Info>;
        const { epsilon } = args.attrs as { epsilon: number };
        const c = [x.shape[3]];
        const [dx, dgamma, dbeta] = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(c, 'float32'), backend.makeOutput(c, 'float32')];
        const o = (t: Info) => offset(backend, t);
        addon.batchNormBackward(heap(backend), shapeOf(x), epsilon, o(x), o(mean), o(variance), o(gamma), o(beta), o(dy), o(dx), o(dgamma), o(dbeta));
        return [dx, dgamma, dbeta];
      },
    },
  ];
}

/** ReLU's gradient as one kernel: {dy, x} → dy where x > 0, else 0. Native only. */
export const ReluGrad = 'GalmorphReluGrad';

/** The native ReluGrad kernel (float32; one pass instead of tfjs's step, cast and multiply). */
export function nativeReluGradKernel(addon: Addon): tf.KernelConfig {
  return {
    kernelName: ReluGrad,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const backend = args.backend as BackendWasm;
      const { dy, x } = args.inputs as { dy: Info; x: Info };
      const dx = backend.makeOutput(x.shape, 'float32');
      addon.reluBackward(heap(backend), tf.util.sizeFromShape(x.shape), offset(backend, x), offset(backend, dy), offset(backend, dx));
      return dx;
    },
  };
}

let reluGradInstalled = false;

/**
 * Routes ReLU's gradient through the ReluGrad kernel wherever the active backend has it (wasm
 * with the native kernels registered) and through tfjs's own everywhere else, so switching
 * backends needs no undoing. Gradients are registered per op, not per backend, hence the check.
 */
export function installReluGrad(): void {
  if (reluGradInstalled) return;
  const own = tf.getGradient(tf.Relu);
  if (own === undefined) throw new Error('tfjs has no Relu gradient to fall back to');
  tf.registerGradient({
    ...own,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getKernel(ReluGrad, tf.getBackend()) === undefined || saved[0].dtype !== 'float32') return own.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return { x: () => tf.engine().runKernel(ReluGrad, { dy: dy as tf.Tensor, x }) as tf.Tensor };
    },
  });
  reluGradInstalled = true;
}
