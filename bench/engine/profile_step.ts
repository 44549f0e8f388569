/**
 * Where a training step's time goes, by kernel: runs galmorph's train step (forward in training
 * mode + loss + backward) on the wasm engine (with the oneDNN kernels when `--backend native`)
 * and prints the CPU time per kernel name, sorted, and what is spent outside kernels (tfjs and
 * tfjs-layers bookkeeping, weights in, gradients out). Use it before optimising anything.
 *
 *   npx tsx bench/engine/profile_step.ts [--arch resnet-small] [--size 64] [--batch 32] [--backend wasm|native] [--steps 5] [--by-shape]
 *
 * Every kernel of the backend is wrapped in a CPU-time measurement (this process runs one
 * thread: single-threaded wasm, one oneDNN thread), so other jobs on a shared machine do not
 * inflate the figures as they do tf.profile's wall-clock kernel times. `--by-shape` splits each
 * kernel by its input shapes.
 */
import { parseArgs } from 'node:util';
import { initEngine, tf, type BackendChoice } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { getSchema } from '../../src/schema/index.js';
import { ReplicaCore, readWeights } from '../../src/train/replica.js';

const { values: opts } = parseArgs({
  options: {
    arch: { type: 'string', default: 'resnet-small' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '32' },
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '5' },
    'by-shape': { type: 'boolean', default: false },
  },
});
await initEngine({ backend: opts.backend as BackendChoice });

const cpuMs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};
const byKernel = new Map<string, { ms: number; calls: number }>();
let inKernel = false;
const backendName = tf.getBackend();
for (const config of tf.getKernelsForBackend(backendName)) {
  const run = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, backendName);
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      // Kernels that call others (fallbacks) count once, as the outer kernel.
      if (inKernel) return run(args);
      inKernel = true;
      const c0 = process.cpuUsage();
      try {
        return run(args);
      } finally {
        inKernel = false;
        const shapes = opts['by-shape'] ? ' ' + JSON.stringify(Object.values(args.inputs).map((t) => (t as tf.TensorInfo | undefined)?.shape ?? null)) : '';
        const e = byKernel.get(config.kernelName + shapes) ?? { ms: 0, calls: 0 };
        e.ms += cpuMs(c0);
        e.calls++;
        byKernel.set(config.kernelName + shapes, e);
      }
    },
  });
}

const schema = getSchema('decals-dr5');
const probe = createModel({ schema, architecture: opts.arch, size: Number(opts.size) });
const config = probe.config;
probe.dispose();
const core = new ReplicaCore(config);
const weights = readWeights(core.model);
const n = Number(opts.batch);
const steps = Number(opts.steps);
const s = config.inputSize;
const images = Float32Array.from({ length: n * s * s * config.bands }, () => Math.random());
const counts = Float32Array.from({ length: n * schema.nAnswers }, () => Math.floor(Math.random() * 12));
const step = () => core.trainStep(weights, { images: images.slice(), counts: counts.slice(), n, dropoutSeed: 1 });
step();
step();
byKernel.clear();
const c0 = process.cpuUsage();
for (let i = 0; i < steps; i++) step();
const total = cpuMs(c0) / steps;
const kernels = [...byKernel.values()].reduce((a, e) => a + e.ms, 0) / steps;
console.log(`${opts.arch} ${s} px, batch ${n}, ${opts.backend}: ${total.toFixed(1)} ms CPU per step (mean of ${steps}); in kernels ${kernels.toFixed(1)}, outside ${(total - kernels).toFixed(1)}`);
for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  const ms = e.ms / steps;
  console.log(`${name.padEnd(opts['by-shape'] ? 60 : 30)} ${ms.toFixed(2).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${String(e.calls / steps).padStart(4)} calls`);
}
