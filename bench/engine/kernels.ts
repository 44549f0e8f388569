/**
 * Micro-benchmark of the conv kernels on the wasm backend: forward conv, input gradient
 * (Conv2DBackpropInput) and filter gradient (Conv2DBackpropFilter) on the layer shapes of a
 * ResNet-style net at 64–128 px, batch 32. Prints a table and writes reports/engine-kernels.json.
 *
 *   npx tsx bench/engine/kernels.ts [--quick] [--builtin]
 *
 * --builtin also times tfjs-wasm's own Conv2DBackpropInput for comparison (slow).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { engineInfo, initEngine, tf } from '../../src/engine/index.js';

interface Shape {
  name: string;
  batch: number;
  size: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
}

const SHAPES: Shape[] = [
  { name: '64²×32 3×3 s1', batch: 32, size: 64, cin: 32, cout: 32, k: 3, stride: 1 },
  { name: '32²×64 3×3 s1', batch: 32, size: 32, cin: 64, cout: 64, k: 3, stride: 1 },
  { name: '16²×128 3×3 s1', batch: 32, size: 16, cin: 128, cout: 128, k: 3, stride: 1 },
  { name: '8²×256 3×3 s1', batch: 32, size: 8, cin: 256, cout: 256, k: 3, stride: 1 },
  { name: '64²×32→32²×64 3×3 s2', batch: 32, size: 64, cin: 32, cout: 64, k: 3, stride: 2 },
  { name: '32²×64→16²×128 3×3 s2', batch: 32, size: 32, cin: 64, cout: 128, k: 3, stride: 2 },
  { name: '16²×128→8²×256 3×3 s2', batch: 32, size: 16, cin: 128, cout: 256, k: 3, stride: 2 },
  { name: '64²×32→32²×64 1×1 s2', batch: 32, size: 64, cin: 32, cout: 64, k: 1, stride: 2 },
  { name: '16²×128→8²×256 1×1 s2', batch: 32, size: 16, cin: 128, cout: 256, k: 1, stride: 2 },
  { name: '32²×64→32²×256 1×1 s1', batch: 32, size: 32, cin: 64, cout: 256, k: 1, stride: 1 },
];

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const withBuiltin = args.has('--builtin');

/** Median seconds per call of fn, after warm-up; fn returns a tensor that we sync and free. */
function time(fn: () => tf.Tensor): number {
  const warm = quick ? 1 : 2;
  for (let i = 0; i < warm; i++) {
    const t = fn();
    t.dataSync();
    t.dispose();
  }
  const samples: number[] = [];
  const budget = quick ? 0.5 : 2;
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < budget * 1000 && samples.length < 30)) {
    const t0 = performance.now();
    const t = fn();
    t.dataSync();
    samples.push((performance.now() - t0) / 1000);
    t.dispose();
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const builtinInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
const info = await initEngine({ backend: 'wasm' });
if (withBuiltin && builtinInput?.setupFunc) builtinInput.setupFunc(tf.backend());

const rows: Array<Record<string, number | string>> = [];
for (const s of SHAPES) {
  const x = tf.randomNormal([s.batch, s.size, s.size, s.cin]) as tf.Tensor4D;
  const w = tf.randomNormal([s.k, s.k, s.cin, s.cout], 0, 0.1) as tf.Tensor4D;
  const y = tf.conv2d(x, w, s.stride, 'same');
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const [, oh, ow] = y.shape;
  const gflop = (2 * s.batch * oh * ow * s.k * s.k * s.cin * s.cout) / 1e9;
  const attrs = { strides: s.stride, pad: 'same', dataFormat: 'NHWC' };
  const fwd = time(() => tf.conv2d(x, w, s.stride, 'same'));
  const bin = time(() => tf.conv2dTranspose(dy, w, x.shape, s.stride, 'same'));
  const bfil = time(
    () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
  );
  const row: Record<string, number | string> = {
    shape: s.name,
    gflop: +gflop.toFixed(3),
    forward_gflops: +(gflop / fwd).toFixed(1),
    backprop_input_gflops: +(gflop / bin).toFixed(1),
    backprop_filter_gflops: +(gflop / bfil).toFixed(1),
  };
  if (withBuiltin && builtinInput) {
    const backend = tf.backend();
    const tb = time(() => {
      const out = builtinInput.kernelFunc({
        inputs: { dy, filter: w },
        backend,
        attrs: { ...attrs, inputShape: x.shape },
      }) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(out);
    });
    row.builtin_backprop_input_gflops = +(gflop / tb).toFixed(1);
  }
  rows.push(row);
  tf.dispose([x, w, y, dy]);
  console.error(`${s.name}: done`);
}

const cols = Object.keys(rows[rows.length - 1]);
const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i])).join('  ');
console.log(line(cols));
for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
const ratio = Math.min(
  ...rows.map((r) => Math.min(Number(r.backprop_input_gflops), Number(r.backprop_filter_gflops)) / Number(r.forward_gflops)),
);
console.log(`worst backward/forward GFLOP/s ratio: ${ratio.toFixed(2)} (goal >= 0.5)`);

if (!quick) {
  mkdirSync('reports', { recursive: true });
  const report = {
    generated: new Date().toISOString(),
    engine: engineInfo(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    batch: 32,
    padding: 'same',
    worst_backward_to_forward_ratio: +ratio.toFixed(3),
    rows,
  };
  writeFileSync('reports/engine-kernels.json', JSON.stringify(report, null, 2) + '\n');
  console.log('wrote reports/engine-kernels.json');
}
void info;
