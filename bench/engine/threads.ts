/**
 * Two ways to train on 2 cores, measured on galmorph's own training step (forward in training
 * mode + backward, weights written in and gradients read out as a training loop does):
 *
 * - `workers2`: data-parallel, 2 worker threads with their own single-threaded wasm backend,
 *   half the batch each; the main thread sends the weights and averages the 2 gradients;
 * - `threaded2`: one replica on tfjs's threaded wasm build with a 2-thread XNNPACK pool
 *   (forced into Node by threaded_wasm.ts) — or, with `--backend native`, one replica whose
 *   oneDNN convolutions use 2 threads;
 * - `single`: one replica, one thread — the baseline.
 *
 * Every replica runs in a worker so all three pay the same messaging. Rounds are paired (each
 * round runs the three configurations back to back) so that load from other processes on a
 * shared machine affects them alike; speedups are medians of per-round ratios.
 *
 * On a machine other jobs keep busy, wall time cannot show what 2 free cores would give, so
 * each step's critical path is also estimated from per-thread CPU time, which waiting for a
 * core does not inflate: the replica thread's CPU time (single; threaded, where the calling
 * thread does its share of every parallel op and runs everything else), or the slower
 * worker's plus the main thread's averaging (workers2). Prints and writes
 * reports/engine-threads.json.
 *
 *   npx tsx bench/engine/threads.ts [--arch resnet-small] [--size 64] [--batch 32] [--rounds 6] [--backend wasm|native]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { averageInto, initEngine } from '../../src/engine/index.js';
import { GalaxyModel, buildNetwork, createModel, type ModelConfig } from '../../src/models/index.js';
import { getSchema } from '../../src/schema/index.js';
import { readWeights, shareable, type Shard } from '../../src/train/replica.js';
import { startWorker } from '../../src/util/worker.js';
import { threadCpuMs } from './thread_cpu.js';


class Replica {
  private constructor(private readonly worker: Worker, readonly threads: number) {}
  static start(config: ModelConfig, threads: number, backend: 'wasm' | 'native'): Promise<Replica> {
    const worker = startWorker(new URL('./threads_worker.js', import.meta.url), import.meta.url, { workerData: { config, threads, backend } });
    return new Promise((resolve, reject) => {
      worker.once('message', (m: { threads: number }) => resolve(new Replica(worker, m.threads)));
      worker.once('error', reject);
    });
  }
  step(weights: Float32Array, shard: Shard): Promise<{ grads: Float32Array; ms: number; cpuMs: number }> {
    return new Promise((resolve) => {
      this.worker.once('message', resolve);
      this.worker.postMessage({ weights, shard }, [shard.images.buffer as ArrayBuffer, shard.counts.buffer as ArrayBuffer]);
    });
  }
  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

function shard(config: ModelConfig, nAnswers: number, n: number): Shard {
  const s = config.inputSize;
  const images = Float32Array.from({ length: n * s * s * config.bands }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const counts = Float32Array.from({ length: n * nAnswers }, (_, i) => (i * 7) % 12);
  return { images, counts, n, dropoutSeed: 1 };
}

/** Timings of the three configurations; see the file comment. */
export interface TwoCoreResult {
  network: { architecture: string; input: number[]; batch: number };
  threaded_pool_threads: number;
  step_ms_best: Record<string, number>;
  step_ms_median: Record<string, number>;
  images_per_s_best: Record<string, number>;
  speedup_wall_vs_single: Record<string, number>;
  critical_path_cpu_ms_median: Record<string, number>;
  speedup_on_free_cores_estimated: Record<string, number>;
  rounds: { wall_ms: Record<string, number[]>; critical_cpu_ms: Record<string, number[]> };
}

/** Runs the paired rounds for `config` (call after initEngine). */
export async function measureTwoCores(config: ModelConfig, nAnswers: number, batch: number, rounds: number, backend: 'wasm' | 'native' = 'wasm'): Promise<TwoCoreResult> {
  const model = new GalaxyModel(buildNetwork(config, 0), config);
  // In a SharedArrayBuffer, as train() keeps them: posting them shares rather than copies.
  const weights = shareable(readWeights(model), true);
  model.dispose();
  const [single, a, b, threaded] = await Promise.all([
    Replica.start(config, 1, backend),
    Replica.start(config, 1, backend),
    Replica.start(config, 1, backend),
    Replica.start(config, 2, backend),
  ]);
  const configs: Record<string, () => Promise<number>> = {
    single: async () => (await single.step(weights, shard(config, nAnswers, batch))).cpuMs,
    workers2: async () => {
      const [ra, rb] = await Promise.all([a.step(weights, shard(config, nAnswers, batch / 2)), b.step(weights, shard(config, nAnswers, batch / 2))]);
      const c0 = threadCpuMs();
      averageInto(ra.grads, rb.grads);
      return Math.max(ra.cpuMs, rb.cpuMs) + threadCpuMs() - c0;
    },
    threaded2: async () => (await threaded.step(weights, shard(config, nAnswers, batch))).cpuMs,
  };
  const times: Record<string, number[]> = { single: [], workers2: [], threaded2: [] };
  const critical: Record<string, number[]> = { single: [], workers2: [], threaded2: [] };
  for (const run of Object.values(configs)) await run(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(configs)) {
      const t0 = performance.now();
      critical[name].push(await run());
      times[name].push(performance.now() - t0);
    }
  }
  await Promise.all([single, a, b, threaded].map((w) => w.terminate()));
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  const speedup = (xs: Record<string, number[]>, name: string) => median(xs[name].map((t, i) => xs.single[i] / t));
  const per = (f: (v: number[]) => number) => (xs: Record<string, number[]>) => Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, f(v)]));
  return {
    network: { architecture: config.architecture.name, input: [config.inputSize, config.inputSize, config.bands], batch },
    threaded_pool_threads: threaded.threads,
    step_ms_best: per((v) => Math.min(...v))(times),
    step_ms_median: per(median)(times),
    images_per_s_best: per((v) => (1000 * batch) / Math.min(...v))(times),
    speedup_wall_vs_single: { workers2: speedup(times, 'workers2'), threaded2: speedup(times, 'threaded2') },
    critical_path_cpu_ms_median: per(median)(critical),
    speedup_on_free_cores_estimated: { workers2: speedup(critical, 'workers2'), threaded2: speedup(critical, 'threaded2') },
    rounds: { wall_ms: times, critical_cpu_ms: critical },
  };
}

if (process.argv[1] === import.meta.filename) {
  const { values: opts } = parseArgs({
    options: {
      arch: { type: 'string', default: 'resnet-small' },
      size: { type: 'string', default: '64' },
      batch: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '6' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  const backend = opts.backend === 'native' ? 'native' : 'wasm';
  await initEngine({ backend });
  const schema = getSchema('decals-dr5');
  const probe = createModel({ schema, architecture: opts.arch, size: Number(opts.size) });
  probe.dispose();
  const loadBefore = os.loadavg();
  const result = await measureTwoCores(probe.config, schema.nAnswers, Number(opts.batch), Number(opts.rounds), backend);
  const report = {
    generated: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg_before: loadBefore, loadavg_after: os.loadavg() },
    ...result,
  };
  mkdirSync('reports', { recursive: true });
  writeFileSync(`reports/engine-threads${backend === 'native' ? '-native' : ''}.json`, JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify({ ...report, rounds: undefined }, null, 2));
}
