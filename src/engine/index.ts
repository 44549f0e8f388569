/**
 * The compute seam: every other module takes tensors from here (`tf`, `tfl`) and calls
 * `initEngine()` once before using them, so that a native backend can be added in this one
 * place. By default tensors run on tfjs-backend-wasm (XNNPACK) plus project kernels that make
 * conv nets trainable and fast there (see conv_backprop.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig } from './conv_backprop.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise_backprop.js';
import { EngineError } from './errors.js';
import { maxPoolGradConfig } from './pool_backprop.js';
import { identityConfig, reductionConfigs } from './reductions.js';

export { tf, tfl };
export { EngineError } from './errors.js';
export { flattenGrads, unflattenGrads, averageInto, gradLayout, type GradLayout } from './grads.js';

export type BackendChoice = 'auto' | 'wasm' | 'cpu';
const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'cpu'];

export interface EngineOptions {
  /**
   * Which tensor backend to run on. 'auto' uses `@tensorflow/tfjs-node` when it can be imported
   * (never a dependency of galmorph), else wasm. 'cpu' is the pure-JS reference backend
   * (slow; for tests). The environment variable GALMORPH_BACKEND applies when this is unset.
   * @default 'auto'
   */
  backend?: BackendChoice;
  /**
   * Threads for the wasm backend's XNNPACK pool. Only the threaded wasm build can use more
   * than one, and tfjs does not load it in Node, so wasm runs single-threaded here; use
   * data-parallel workers (see grads.ts) to use more cores.
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
  /** Threads the backend computes with. */
  threads: number;
}

/** Project kernels for the wasm backend, replacing missing, slow or wrong built-ins. */
function wasmKernels(): tf.KernelConfig[] {
  const builtin = (name: string) => tf.getKernel(name, 'wasm');
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
let registered: string[] = [];

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

function registerWasmKernels(): void {
  const configs = wasmKernels();
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, 'wasm') !== undefined) {
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
  registered = configs.map((k) => k.kernelName);
}

async function setUpWasm(threads: number): Promise<void> {
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
  if (registered.length === 0) registerWasmKernels();
}

/** Loads tfjs-node if installed; true when its 'tensorflow' backend is now active. */
async function tryNative(): Promise<boolean> {
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
  } else if (choice === 'wasm' || !(await tryNative())) {
    await setUpWasm(threads);
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

/** What the engine runs on right now. Call after `initEngine()`. */
export function engineInfo(): EngineInfo {
  // Not tf.getBackend(): that would initialise a backend as a side effect.
  const backend = (tf.engine() as unknown as { backendName: string | null }).backendName;
  if (backend === 'wasm') {
    return {
      backend,
      kernels: registered.slice(),
      simd,
      threads: tfwasm.getThreadsCount(),
    };
  }
  return { backend: backend ?? 'none', kernels: [], simd: false, threads: 1 };
}
