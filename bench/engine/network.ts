/**
 * Whole-network benchmark: galmorph's ResNet trained and run on the wasm engine vs the same
 * network in PyTorch at its best (2 threads, channels-last, warm-up), same batch, input and
 * mode. Writes reports/engine.json.
 *
 *   npx tsx bench/engine/network.ts [--arch resnet-small] [--size 64] [--batch 32] [--rounds 5]
 *
 * galmorph configurations, all with the project kernels:
 * - `single`: one wasm backend in this thread (one core);
 * - `workers`: data-parallel over 2 worker threads, each with its own wasm backend, half the
 *   batch each, gradients averaged here (src/train/replica.ts, the training loop's own path);
 * - `threaded`: tfjs's threaded wasm build with a 2-thread XNNPACK pool (needs the
 *   workarounds in threaded_wasm.ts; measured in a child process).
 * A train step is forward in training mode + backward to every trainable weight (no optimizer
 * update on either side). GFLOP/s count conv and dense multiply-adds ×2 (backward = 2×forward).
 * The wasm ceiling is the fastest single-thread forward conv among the network's own 3×3
 * layer shapes, timed in the same run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { averageInto, initEngine, tf, type EngineInfo } from '../../src/engine/index.js';
import { createModel, type ModelConfig } from '../../src/models/index.js';
import { getSchema } from '../../src/schema/index.js';
import { ReplicaCore, readWeights, startReplicas, type Shard } from '../../src/train/replica.js';
import { initThreadedWasm } from './threaded_wasm.js';

const { values: opts } = parseArgs({
  options: {
    arch: { type: 'string', default: 'resnet-small' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '5' },
    child: { type: 'string' }, // internal: 'threaded' measures the threaded build and prints JSON
  },
});
const batch = Number(opts.batch);
const rounds = Number(opts.rounds);

/** Forward conv/dense FLOPs per image, from the built network's layers. */
type Shape4 = [number, number, number, number];
function forwardFlopsPerImage(config: ModelConfig): { total: number; conv3x3: Array<{ shape: Shape4; filter: Shape4; stride: number; flops: number }> } {
  const model = createModel({ schema: getSchema('decals-dr5'), architecture: config.architecture.name, size: config.inputSize });
  let total = 0;
  const conv3x3: Array<{ shape: Shape4; filter: Shape4; stride: number; flops: number }> = [];
  for (const layer of model.net.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Dense') continue;
    const kernel = layer.getWeights()[0].shape;
    const out = (layer.getOutputAt(0) as { shape: number[] }).shape;
    const pixels = out.length === 4 ? out[1] * out[2] : 1;
    const flops = 2 * pixels * kernel.reduce((a, b) => a * b, 1);
    total += flops;
    if (cls === 'Conv2D' && kernel[0] === 3) {
      const inShape = (layer.getInputAt(0) as { shape: number[] }).shape;
      conv3x3.push({ shape: [batch, inShape[1], inShape[2], inShape[3]], filter: kernel as Shape4, stride: inShape[1] === out[1] ? 1 : 2, flops: flops * batch });
    }
  }
  model.dispose();
  return { total, conv3x3 };
}

function makeShard(config: ModelConfig, nAnswers: number, n: number, seed: number): Shard {
  const s = config.inputSize;
  const images = new Float32Array(n * s * s * config.bands);
  const counts = new Float32Array(n * nAnswers);
  let r = seed >>> 0;
  const rand = () => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < images.length; i++) images[i] = rand();
  for (let i = 0; i < counts.length; i++) counts[i] = Math.floor(rand() * 12);
  return { images, counts, n, dropoutSeed: seed };
}

/** Fastest of `rounds` after one warm-up call, interleaving the functions round by round. */
async function bestOf(fns: Record<string, () => Promise<void> | void>): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (const [k, fn] of Object.entries(fns)) {
    await fn();
    best[k] = Infinity;
  }
  for (let i = 0; i < rounds; i++) {
    for (const [k, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      await fn();
      best[k] = Math.min(best[k], (performance.now() - t0) / 1000);
    }
  }
  return best;
}

/** Single-replica timings (train step, forward) on the current backend. */
async function timeSingle(config: ModelConfig, nAnswers: number, ceilingShapes?: ReturnType<typeof forwardFlopsPerImage>['conv3x3']) {
  const core = new ReplicaCore(config);
  const weights = readWeights(core.model);
  const shard = makeShard(config, nAnswers, batch, 1);
  const s = config.inputSize;
  const x = tf.tensor4d(shard.images, [batch, s, s, config.bands]);
  const fns: Record<string, () => void> = {
    train: () => void core.trainStep(weights, shard),
    forward: () => {
      const y = core.model.apply(x);
      y.dataSync();
      y.dispose();
    },
  };
  const held: tf.Tensor[] = [x];
  for (const [i, c] of (ceilingShapes ?? []).entries()) {
    const xi = tf.randomNormal(c.shape) as tf.Tensor4D;
    const wi = tf.randomNormal(c.filter, 0, 0.1) as tf.Tensor4D;

    held.push(xi, wi);
    fns[`conv${i}`] = () => {
      const y = tf.conv2d(xi, wi, c.stride, 'same');
      y.dataSync();
      y.dispose();
    };
  }
  const t = await bestOf(fns);
  tf.dispose(held);
  core.dispose();
  const ceiling = Math.max(0, ...(ceilingShapes ?? []).map((c, i) => c.flops / t[`conv${i}`] / 1e9));
  return { train: t.train, forward: t.forward, ceiling };
}

/** Data-parallel train step over 2 worker replicas, gradient averaging included. */
async function timeWorkers(config: ModelConfig, nAnswers: number) {
  const replicas = await startReplicas(config, 2, 'wasm');
  const core = new ReplicaCore(config);
  const weights = readWeights(core.model);
  core.dispose();
  const shards = [makeShard(config, nAnswers, batch / 2, 1), makeShard(config, nAnswers, batch / 2, 2)];
  let averaging = Infinity;
  const t = await bestOf({
    train: async () => {
      // Shard buffers are transferred to the workers, so send copies.
      const results = await Promise.all(
        replicas.map((r, i) => r.trainStep(weights, { ...shards[i], images: shards[i].images.slice(), counts: shards[i].counts.slice() })),
      );
      const t0 = performance.now();
      averageInto(results[0].grads, results[1].grads);
      averaging = Math.min(averaging, (performance.now() - t0) / 1000);
    },
  });
  await Promise.all(replicas.map((r) => r.dispose()));
  return { train: t.train, averaging };
}

function runTorch(config: ModelConfig, nAnswers: number): Record<string, unknown> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'galmorph-engine-bench-'));
  const spec = path.join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ architecture: config.architecture, inputSize: config.inputSize, bands: config.bands, nAnswers }));
  const out = path.join(dir, 'torch.json');
  const r = spawnSync(
    '/usr/bin/python3',
    [path.join(import.meta.dirname, 'torch_train.py'), '--spec', spec, '--batch', String(batch), '--threads', '1,2', '--rounds', String(rounds + 3), '--out', out],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return { error: `torch_train.py failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(readFileSync(out, 'utf8'));
}

const threadedThreads = opts.child === 'threaded' ? await initThreadedWasm(2) : 0;
const info: EngineInfo = await initEngine({ backend: 'wasm' });
const schema = getSchema('decals-dr5');
const probe = createModel({ schema, architecture: opts.arch, size: Number(opts.size) });
const config = probe.config;
probe.dispose();
const flops = forwardFlopsPerImage(config);

if (opts.child === 'threaded') {
  const threads = threadedThreads;
  const t = await timeSingle(config, schema.nAnswers);
  console.log(JSON.stringify({ threads, train: t.train, forward: t.forward }));
  process.exit(0);
}

const load = { before: os.loadavg() };
console.error('single-thread wasm…');
const single = await timeSingle(config, schema.nAnswers, flops.conv3x3);
console.error('2 data-parallel workers…');
const workers = await timeWorkers(config, schema.nAnswers);
console.error('threaded wasm build (child process)…');
const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, ...process.argv.slice(2), '--child', 'threaded'], { encoding: 'utf8' });
const threaded =
  child.status === 0
    ? (JSON.parse(child.stdout.trim().split('\n').pop()!) as { threads: number; train: number; forward: number })
    : { error: child.stderr.trim().split('\n').slice(-3).join(' | ') };
console.error('PyTorch…');
const torch = runTorch(config, schema.nAnswers) as { by_threads?: Record<string, { forward_images_per_s: number; train_images_per_s: number }>; error?: string };

const trainGflopPerImage = (3 * flops.total) / 1e9;
const fwdGflopPerImage = flops.total / 1e9;
const ips = (t: number) => batch / t;
const js = {
  single: { train_images_per_s: ips(single.train), forward_images_per_s: ips(single.forward) },
  workers2: { train_images_per_s: ips(workers.train), gradient_averaging_ms: workers.averaging * 1000 },
  threaded2: 'error' in threaded ? threaded : { threads: threaded.threads, train_images_per_s: ips(threaded.train), forward_images_per_s: ips(threaded.forward) },
};
const bestTrain = Math.max(js.single.train_images_per_s, js.workers2.train_images_per_s, 'error' in js.threaded2 ? 0 : js.threaded2.train_images_per_s);
const bestForward = Math.max(js.single.forward_images_per_s, 'error' in js.threaded2 ? 0 : js.threaded2.forward_images_per_s);
const pt = torch.by_threads;
const report = {
  generated: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg_before: load.before, loadavg_after: os.loadavg() },
  engine: info,
  network: { architecture: config.architecture.name, input: [config.inputSize, config.inputSize, config.bands], batch, forward_gflop_per_image: fwdGflopPerImage, train_gflop_per_image: trainGflopPerImage },
  // Headline ratios: galmorph's best 2-core configuration vs PyTorch on 2 threads.
  train_ratio_vs_pytorch: pt ? bestTrain / pt['2'].train_images_per_s : null,
  forward_ratio_vs_pytorch: pt ? bestForward / pt['2'].forward_images_per_s : null,
  // Single-thread training GFLOP/s over the single-thread forward-conv ceiling.
  train_fraction_of_wasm_ceiling: (js.single.train_images_per_s * trainGflopPerImage) / single.ceiling,
  wasm_ceiling_gflops: single.ceiling,
  galmorph: {
    ...js,
    train_gflops: { single: js.single.train_images_per_s * trainGflopPerImage, workers2: js.workers2.train_images_per_s * trainGflopPerImage },
    forward_gflops: { single: js.single.forward_images_per_s * fwdGflopPerImage },
  },
  pytorch: pt
    ? {
        ...torch,
        train_gflops: Object.fromEntries(Object.entries(pt).map(([k, v]) => [k, v.train_images_per_s * trainGflopPerImage])),
        forward_gflops: Object.fromEntries(Object.entries(pt).map(([k, v]) => [k, v.forward_images_per_s * fwdGflopPerImage])),
      }
    : torch,
  ratios_single_thread: pt
    ? { train: js.single.train_images_per_s / pt['1'].train_images_per_s, forward: js.single.forward_images_per_s / pt['1'].forward_images_per_s }
    : null,
};
mkdirSync('reports', { recursive: true });
writeFileSync('reports/engine.json', JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify(report, null, 2));

