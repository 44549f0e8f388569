/**
 * Where a training step's time goes, by kernel: runs galmorph's train step (forward in
 * training mode + backward) under tf.profile on the wasm engine (with oneDNN convolutions when
 * `--backend native`) and prints time per kernel name, sorted. Use it before optimising anything.
 *
 *   npx tsx bench/engine/profile_step.ts [--arch resnet-small] [--size 64] [--batch 32] [--backend wasm|native]
 */
import { parseArgs } from 'node:util';
import { initEngine, tf, type BackendChoice } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { getSchema } from '../../src/schema/index.js';
import { ReplicaCore, readWeights } from '../../src/train/replica.js';

const { values: opts } = parseArgs({
  options: { arch: { type: 'string', default: 'resnet-small' }, size: { type: 'string', default: '64' }, batch: { type: 'string', default: '32' }, backend: { type: 'string', default: 'wasm' } },
});
await initEngine({ backend: opts.backend as BackendChoice });
const schema = getSchema('decals-dr5');
const probe = createModel({ schema, architecture: opts.arch, size: Number(opts.size) });
const config = probe.config;
probe.dispose();
const core = new ReplicaCore(config);
const weights = readWeights(core.model);
const n = Number(opts.batch);
const s = config.inputSize;
const images = Float32Array.from({ length: n * s * s * config.bands }, () => Math.random());
const counts = Float32Array.from({ length: n * schema.nAnswers }, () => Math.floor(Math.random() * 12));
const step = () => core.trainStep(weights, { images: images.slice(), counts: counts.slice(), n, dropoutSeed: 1 });
step();
// Unprofiled first: tf.profile's bookkeeping inflates the many tiny ops of the loss.
let bestCpu = Infinity;
for (let i = 0; i < 5; i++) {
  const u0 = process.cpuUsage();
  step();
  const u = process.cpuUsage(u0);
  bestCpu = Math.min(bestCpu, (u.user + u.system) / 1000);
}
const c0 = process.cpuUsage();
const t0 = performance.now();
const info = await tf.profile(() => void step());
const wall = performance.now() - t0;
const c = process.cpuUsage(c0);
const byName = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  // Op scopes (`fusedConv2d__op`, customGrad's 'unnamed scope') time kernels listed on their own.
  if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue;
  const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += await k.kernelTimeMs as number;
  e.calls++;
  byName.set(k.name, e);
}
const total = [...byName.values()].reduce((a, e) => a + e.ms, 0);
console.log(`step: ${bestCpu.toFixed(0)} ms CPU (best of 5); profiled: ${wall.toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU, kernels ${total.toFixed(0)} ms`);
for (const k of info.kernels) if (process.env.SHOW && k.name === process.env.SHOW) console.log(k.name, JSON.stringify(k.inputShapes), JSON.stringify(k.outputShapes), (await k.kernelTimeMs as number).toFixed(1));
for (const [name, e] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  console.log(`${name.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.calls).padStart(4)} calls`);
}
