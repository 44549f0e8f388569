/**
 * Posterior means of a whole survey on several threads: the rows are split into contiguous
 * parts, the main thread computes one and long-lived worker threads (each with its own wasm
 * engine) the others, reading the features from shared memory and writing into a shared
 * result — nothing of size [galaxies, …] is copied between threads.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker.js';
import type { FeatureMatrix } from './features.js';
import { GaussianProcess } from './gp.js';
import type { MeanJob } from './predict-worker.js';

/** Below this many rows one thread is faster than starting to share the work. */
const MIN_PARALLEL_ROWS = 50_000;

/** Threads used by default: all cores, at most 4 (memory bandwidth stops helping beyond). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

const pool: Worker[] = [];
let broken = false;
let nextJob = 1;
const shared = new WeakMap<Float32Array, Float32Array>();

/** The features in shared memory (a one-time copy when they are not already there). */
function sharedData(data: Float32Array): Float32Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  let copy = shared.get(data);
  if (!copy) {
    copy = new Float32Array(new SharedArrayBuffer(data.byteLength));
    copy.set(data);
    shared.set(data, copy);
  }
  return copy;
}

function worker(i: number): Worker {
  while (pool.length <= i) {
    const w = startWorker(new URL('./predict-worker.js', import.meta.url), import.meta.url);
    w.unref();
    pool.push(w);
  }
  return pool[i];
}

function runOnWorker(w: Worker, job: MeanJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { id: number; error?: string }) => {
      if (m.id !== job.id) return;
      cleanup();
      if (m.error) reject(new Error(m.error));
      else resolve();
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.unref();
    };
    w.ref();
    w.on('message', onMessage);
    w.on('error', onError);
    w.postMessage(job);
  });
}

/**
 * Posterior mean of every row of `x` (as `gp.predict(x).mean`), on `threads` threads.
 * Falls back to one thread for small inputs or when workers cannot start.
 */
export async function predictMean(gp: GaussianProcess, x: FeatureMatrix, threads = defaultThreads()): Promise<Float64Array> {
  if (threads <= 1 || x.rows < MIN_PARALLEL_ROWS || broken) return (await gp.predict(x)).mean;
  const data = sharedData(x.data);
  const out = new Float64Array(new SharedArrayBuffer(x.rows * 8));
  const bounds = Array.from({ length: threads + 1 }, (_, k) => Math.round((k * x.rows) / threads));
  const state = gp.meanState();
  const jobs = bounds.slice(1, -1).map((start, k) =>
    runOnWorker(worker(k), { id: nextJob++, state, data, dim: x.dim, start, end: bounds[k + 2], out }),
  );
  const own = (await gp.predict({ rows: bounds[1], dim: x.dim, data: data.subarray(0, bounds[1] * x.dim) })).mean;
  out.set(own, 0);
  try {
    await Promise.all(jobs);
  } catch {
    broken = true; // e.g. no worker support here: compute the rest on this thread, and from now on
    const rest = bounds[1];
    out.set((await gp.predict({ rows: x.rows - rest, dim: x.dim, data: data.subarray(rest * x.dim) })).mean, rest);
  }
  return Float64Array.from(out);
}
