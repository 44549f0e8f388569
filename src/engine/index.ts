/**
 * The compute seam: every other module takes tensors from here (`tf`, `tfl`) and calls
 * `initEngine()` once before using them, so that the backend is chosen in this one place.
 * Tensors run on tfjs-backend-wasm (XNNPACK) plus project kernels that make conv nets trainable
 * and fast there (see conv_backprop.ts); when galmorph's oneDNN addon is built, its native
 * convolutions and batch norm replace the wasm ones on the same backend (see native.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig } from './conv_backprop.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise_backprop.js';
import { EngineError } from './errors.js';
import { batchNormOps, installReluGrad, loadAddon, nativeBatchNormKernels, nativeConvKernels, nativeReluGradKernel, type BatchNormOps } from './native.js';
import { maxPoolGradConfig } from './pool_backprop.js';
import { identityConfig, reductionConfigs } from './reductions.js';

export { tf, tfl };
export { EngineError } from './errors.js';
export { flattenGrads, unflattenGrads, averageInto, gradLayout, type GradLayout } from './grads.js';
export type { BatchNormOps } from './native.js';

export type BackendChoice = 'auto' | 'native' | 'wasm' | 'cpu';
const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'cpu'];

export interface EngineOptions {
  /**
   * Which tensor backend to run on. 'native' is wasm with galmorph's oneDNN convolutions and
   * batch norm (an error when the addon is not built); 'wasm' is wasm with XNNPACK alone.
   * 'auto' uses `@tensorflow/tfjs-node` when it can be imported (never a dependency of
   * galmorph), else 'native' when the addon loads, else 'wasm', and says which once on stderr.
   * 'cpu' is the pure-JS reference backend (slow; for tests). The environment variable
   * GALMORPH_BACKEND applies when this is unset.
   * @default 'auto'
   */
  backend?: BackendChoice;
  /**
   * Threads for oneDNN's convolutions on the native path (per calling thread), and for the
   * wasm backend's XNNPACK pool — which only the threaded wasm build can use, and tfjs does
   * not load it in Node, so wasm runs single-threaded here; use data-parallel workers (see
   * grads.ts) to use more cores.
   * @default 1
   */
  threads?: number;
}

export interface EngineInfo {
  /** Active tfjs backend name: 'wasm', 'cpu' or 'tensorflow'. */
  backend: string;
  /** Kernels galmorph registered on the active backend (empty when none were needed). */
  kernels: string[];
  /** Whether the wasm backend runs its SIMD build. */
  simd: boolean;
  /** Threads the backend computes with (oneDNN's when native). */
  threads: number;
  /** The native library running convolutions and batch norm ('oneDNN 2.6.3'), or null on plain wasm. */
  native: string | null;
}

/**
 * tfjs-wasm's own kernels that project kernels replace (undefined: tfjs has none), captured
 * before the first replacement: registerWasmKernels asks for each before replacing it.
 */
const builtins = new Map<string, tf.KernelConfig | undefined>();
function builtin(name: string): tf.KernelConfig | undefined {
  if (!builtins.has(name)) builtins.set(name, tf.getKernel(name, 'wasm'));
  return builtins.get(name);
}

/** Project kernels for the wasm backend, replacing missing, slow or wrong built-ins. */
function wasmKernels(): tf.KernelConfig[] {
  return [
    conv2dBackpropFilterConfig, // missing
    conv2dBackpropInputConfig, // built-in is scalar code, 2–4 GFLOP/s
    depthwiseBackpropFilterConfig, // missing (MobileNet-style blocks)
    depthwiseBackpropInputConfig, // missing
    maxPoolGradConfig, // built-in drops the gradient of all-negative windows
    // Per-channel sums by average pooling (built-in transposes first: ~14× slower); others fall back.
    ...reductionConfigs({ sum: builtin(tf.Sum), mean: builtin(tf.Mean) }),
    identityConfig, // built-in copies the buffer
  ];
}
/**
 * The wasm kernels with the convolutions (forward and both gradients) and batch norm
 * (inference, and training-mode forward and gradient) done by oneDNN, and ReLU's gradient in
 * one native pass.
 */
function nativeKernels(addon: Parameters<typeof nativeConvKernels>[0]): tf.KernelConfig[] {
  const wasm = wasmKernels();
  const byName = Object.fromEntries(wasm.map((k) => [k.kernelName, k]));
  const fallbacks = {
    [tf.Conv2D]: builtin(tf.Conv2D),
    [tf.FusedConv2D]: builtin(tf.FusedConv2D),
    [tf.Conv2DBackpropInput]: byName[tf.Conv2DBackpropInput],
    [tf.Conv2DBackpropFilter]: byName[tf.Conv2DBackpropFilter],
    [tf.FusedBatchNorm]: builtin(tf.FusedBatchNorm),
  };
  const native = [...nativeConvKernels(addon, fallbacks), ...nativeBatchNormKernels(addon, fallbacks), nativeReluGradKernel(addon)];
  const replaced = new Set(native.map((k) => k.kernelName));
  return [...wasm.filter((k) => !replaced.has(k.kernelName)), ...native];
}

let registered: string[] = [];
/** Which kernel set is registered on wasm, and the native library's name when native. */
let registeredSet: 'wasm' | 'native' | undefined;
let nativeName: string | null = null;
let nativeThreads = 1;
let announced = false;

let pending: { key: string; info: Promise<EngineInfo> } | undefined;
let wasmConfigured = false;
let simd = false;

function resolveChoice(opt: BackendChoice | undefined): BackendChoice {
  const raw = opt ?? process.env.GALMORPH_BACKEND ?? 'auto';
  const choice = raw.trim().toLowerCase() as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new EngineError(
      `unknown backend '${raw}' (from ${opt === undefined ? 'GALMORPH_BACKEND' : 'options'}); ` +
        `valid: ${BACKEND_CHOICES.join(', ')}`,
    );
  }
  return choice;
}

/** Directory holding the .wasm binaries of the installed tfjs-backend-wasm (works from dist/ and tsx). */
function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

function registerWasmKernels(configs: tf.KernelConfig[]): void {
  const names = new Set(configs.map((k) => k.kernelName));
  // Kernels of the previous set that this one lacks (the native ones, leaving native for
  // wasm) go back to tfjs's own, or away where tfjs has none.
  for (const name of registered.filter((n) => !names.has(n))) {
    tf.unregisterKernel(name, 'wasm');
    const own = builtin(name);
    if (own !== undefined) tf.registerKernel(own);
  }
  for (const config of configs) {
    builtin(config.kernelName); // tfjs's own, kept before it is replaced
    if (tf.getKernel(config.kernelName, 'wasm') !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  registered = configs.map((k) => k.kernelName);
}

async function setUpWasm(threads: number, native: boolean): Promise<void> {
  if (!wasmConfigured) {
    tfwasm.setWasmPaths(wasmDir());
    tfwasm.setThreadsCount(threads);
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    wasmConfigured = true;
  }
  const before = {
    uncaughtException: new Set<unknown>(process.listeners('uncaughtException')),
    unhandledRejection: new Set<unknown>(process.listeners('unhandledRejection')),
  };
  const ok = await tf.setBackend('wasm');
  // Emscripten's Node glue installs handlers that rethrow from inside its 30 kB minified line,
  // so any later uncaught error would print that line instead of a readable trace.
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    for (const listener of process.listeners(event as 'uncaughtException')) {
      if (!before[event].has(listener)) process.removeListener(event, listener);
    }
  }
  if (!ok) {
    throw new EngineError(`the wasm backend failed to initialise (binaries looked up in ${wasmDir()})`);
  }
  // After initialisation, so that the built-ins we fall back to have run their setup.
  const want = native ? 'native' : 'wasm';
  if (want === 'native') {
    const loaded = loadAddon();
    if ('error' in loaded) throw new EngineError(`backend 'native' is unavailable: ${loaded.error}`);
    loaded.addon.setThreads(threads);
    nativeThreads = threads;
    nativeName = `oneDNN ${loaded.addon.info().version}`;
    if (registeredSet !== 'native') registerWasmKernels(nativeKernels(loaded.addon));
    installReluGrad();
  } else {
    nativeName = null;
    if (registeredSet !== 'wasm') registerWasmKernels(wasmKernels());
  }
  registeredSet = want;
}

/** 'auto' without tfjs-node: native when the addon loads, said once per process. */
function autoNative(): boolean {
  const loaded = loadAddon();
  if (!announced && isMainThread) {
    announced = true;
    process.stderr.write(
      'error' in loaded
        ? `galmorph: engine wasm (${loaded.error}; GALMORPH_BACKEND=wasm|native|auto)\n`
        : `galmorph: engine native (oneDNN convolutions and batch norm on tfjs-wasm; GALMORPH_BACKEND=wasm|native|auto)\n`,
    );
  }
  return !('error' in loaded);
}

/** Loads tfjs-node if installed; true when its 'tensorflow' backend is now active. */
async function tryTfjsNode(): Promise<boolean> {
  const name = '@tensorflow/tfjs-node';
  try {
    await import(name);
  } catch {
    return false;
  }
  // tfjs-node registers on its own tfjs-core; only use it if that is the one we hold.
  return tf.findBackendFactory('tensorflow') !== null && (await tf.setBackend('tensorflow'));
}

async function start(choice: BackendChoice, threads: number): Promise<EngineInfo> {
  if (choice === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new EngineError('the cpu backend failed to initialise');
  } else if (choice !== 'auto' || !(await tryTfjsNode())) {
    await setUpWasm(threads, choice === 'native' || (choice === 'auto' && autoNative()));
  }
  await tf.ready();
  return engineInfo();
}

/**
 * Selects and initialises the tensor backend. Idempotent: repeated calls with the same
 * options return the same result; a call with another backend switches to it (tensors
 * created earlier move over on first use).
 */
export async function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const choice = resolveChoice(opts.backend);
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new EngineError(`threads must be a positive integer, got ${threads}`);
  }
  const key = `${choice}/${threads}`;
  if (pending?.key !== key) {
    const info = start(choice, threads);
    pending = { key, info };
    info.catch(() => {
      if (pending?.info === info) pending = undefined;
    });
  }
  return pending.info;
}

/** The active backend's name; not tf.getBackend(), which would initialise one as a side effect. */
function activeBackend(): string | null {
  return (tf.engine() as unknown as { backendName: string | null }).backendName;
}

/**
 * Training-mode batch norm as one native kernel each way (forward with the batch's statistics,
 * and its gradient) while the native kernels are active; undefined otherwise, where it is
 * built from tfjs ops (tfjs has no such kernel).
 */
export function nativeBatchNorm(): BatchNormOps | undefined {
  return registeredSet === 'native' && activeBackend() === 'wasm' ? batchNormOps : undefined;
}

/** What the engine runs on right now. Call after `initEngine()`. */
export function engineInfo(): EngineInfo {
  const backend = activeBackend();
  if (backend === 'wasm') {
    return {
      backend,
      kernels: registered.slice(),
      simd,
      threads: nativeName !== null ? nativeThreads : tfwasm.getThreadsCount(),
      native: nativeName,
    };
  }
  return { backend: backend ?? 'none', kernels: [], simd: false, threads: 1, native: null };
}
