/**
 * Two ways to train on 2 cores, measured on galmorph's own training step (forward in training
 * mode + backward, weights written in and gradients read out as a training loop does):
 *
 * - `workers2`: data-parallel, 2 worker threads with their own single-threaded wasm backend,
 *   half the batch each; the main thread sends the weights and averages the 2 gradients;
 * - `threaded2`: one replica on tfjs's threaded wasm build with a 2-thread XNNPACK pool
 *   (forced into Node by threaded_wasm.ts);
 * - `single`: one replica, one thread — the baseline.
 *
 * Every replica runs in a worker so all three pay the same messaging. Rounds are paired (each
 * round runs the three configurations back to back) so that load from other processes on a
 * shared machine affects them alike; speedups are medians of per-round ratios. Prints and
 * writes reports/engine-threads.json.
 *
 *   npx tsx bench/engine/threads.ts [--arch resnet-small] [--size 64] [--batch 32] [--rounds 6]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { averageInto, initEngine } from '../../src/engine/index.js';
import { createModel, type ModelConfig } from '../../src/models/index.js';
import { getSchema } from '../../src/schema/index.js';
import { readWeights, type Shard } from '../../src/train/replica.js';
import { startWorker } from '../../src/util/worker.js';

const { values: opts } = parseArgs({
  options: {
    arch: { type: 'string', default: 'resnet-small' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '6' },
  },
});
const batch = Number(opts.batch);

class Replica {
  private constructor(private readonly worker: Worker, readonly threads: number) {}
  static start(config: ModelConfig, threads: number): Promise<Replica> {
    const worker = startWorker(new URL('./threads_worker.js', import.meta.url), import.meta.url, { workerData: { config, threads } });
    return new Promise((resolve, reject) => {
      worker.once('message', (m: { threads: number }) => resolve(new Replica(worker, m.threads)));
      worker.once('error', reject);
    });
  }
  step(weights: Float32Array, shard: Shard): Promise<{ grads: Float32Array; ms: number }> {
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

await initEngine({ backend: 'wasm' });
const schema = getSchema('decals-dr5');
const model = createModel({ schema, architecture: opts.arch, size: Number(opts.size) });
const config = model.config;
const weights = readWeights(model);
model.dispose();

const [single, a, b, threaded] = await Promise.all([
  Replica.start(config, 1),
  Replica.start(config, 1),
  Replica.start(config, 1),
  Replica.start(config, 2),
]);
const configs: Record<string, () => Promise<{ computeMs: number }>> = {
  single: async () => {
    const r = await single.step(weights, shard(config, schema.nAnswers, batch));
    return { computeMs: r.ms };
  },
  workers2: async () => {
    const [ra, rb] = await Promise.all([
      a.step(weights, shard(config, schema.nAnswers, batch / 2)),
      b.step(weights, shard(config, schema.nAnswers, batch / 2)),
    ]);
    averageInto(ra.grads, rb.grads);
    return { computeMs: Math.max(ra.ms, rb.ms) };
  },
  threaded2: async () => {
    const r = await threaded.step(weights, shard(config, schema.nAnswers, batch));
    return { computeMs: r.ms };
  },
};

const loadBefore = os.loadavg();
const times: Record<string, number[]> = { single: [], workers2: [], threaded2: [] };
const compute: Record<string, number[]> = { single: [], workers2: [], threaded2: [] };
for (const run of Object.values(configs)) await run(); // warm-up
for (let r = 0; r < Number(opts.rounds); r++) {
  for (const [name, run] of Object.entries(configs)) {
    const t0 = performance.now();
    const { computeMs } = await run();
    times[name].push(performance.now() - t0);
    compute[name].push(computeMs);
  }
}
await Promise.all([single, a, b, threaded].map((w) => w.terminate()));

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const speedup = (name: string) => median(times[name].map((t, i) => times.single[i] / t));
const report = {
  generated: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg_before: loadBefore, loadavg_after: os.loadavg() },
  network: { architecture: config.architecture.name, input: [config.inputSize, config.inputSize, config.bands], batch },
  threaded_pool_threads: threaded.threads,
  step_ms_best: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.min(...v)])),
  step_ms_median: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])),
  compute_ms_median: Object.fromEntries(Object.entries(compute).map(([k, v]) => [k, median(v)])),
  images_per_s_best: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, (1000 * batch) / Math.min(...v)])),
  speedup_vs_single_median_of_paired_rounds: { workers2: speedup('workers2'), threaded2: speedup('threaded2') },
  rounds: times,
};
mkdirSync('reports', { recursive: true });
writeFileSync('reports/engine-threads.json', JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify({ ...report, rounds: undefined }, null, 2));
