/**
 * Micro-benchmark of the conv kernels on the wasm backend: forward conv, input gradient
 * (Conv2DBackpropInput) and filter gradient (Conv2DBackpropFilter) on the layer shapes of a
 * ResNet-style net at 64–128 px, batch 32. Prints a table and writes reports/engine-kernels.json.
 *
 *   npx tsx bench/engine/kernels.ts [--quick] [--builtin] [--only=<shape substring>]
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
/** --only=<substring> times just the matching shapes (and writes no report). */
const only = [...args].find((a) => a.startsWith('--only='))?.slice('--only='.length);
const quick = args.has('--quick');
const withBuiltin = args.has('--builtin');

/**
 * Seconds per call of each fn: warm-up, then rounds that run every fn once, interleaved so
 * that load from other processes hits all kernels alike; the fastest round counts. Both wall
 * time and this process's CPU time are kept: the kernels are single-threaded and synchronous,
 * so CPU time equals wall time on an idle machine and stays meaningful on a shared one.
 * Each fn returns a tensor that we sync and free.
 */
function timeAll(fns: Record<string, (fresh: Operands) => tf.Tensor>, operands: Operands): Record<string, { wall: number; cpu: number }> {
  const run = (fn: (fresh: Operands) => tf.Tensor) => {
    // Fresh buffers each call, as in training: XNNPACK caches packed weights by tensor id.
    const fresh = tf.tidy(() => ({ x: tf.mul(operands.x, 1), w: tf.mul(operands.w, 1), dy: tf.mul(operands.dy, 1) })) as Operands;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const t = fn(fresh);
    t.dataSync();
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    tf.dispose([t, fresh.x, fresh.w, fresh.dy]);
    return { wall, cpu: (c.user + c.system) / 1e6 };
  };
  const best: Record<string, { wall: number; cpu: number }> = {};
  for (const [name, fn] of Object.entries(fns)) {
    run(fn);
    best[name] = { wall: Infinity, cpu: Infinity };
  }
  const rounds = quick ? 2 : 7;
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(fns)) {
      const { wall, cpu } = run(fn);
      best[name] = { wall: Math.min(best[name].wall, wall), cpu: Math.min(best[name].cpu, cpu) };
    }
  }
  return best;
}

type Operands = { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D };

const builtinInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
const info = await initEngine({ backend: 'wasm' });
if (withBuiltin && builtinInput?.setupFunc) builtinInput.setupFunc(tf.backend());

const rows: Array<Record<string, number | string>> = [];
for (const s of SHAPES.filter((x) => only === undefined || x.name.includes(only))) {
  const x = tf.randomNormal([s.batch, s.size, s.size, s.cin]) as tf.Tensor4D;
  const w = tf.randomNormal([s.k, s.k, s.cin, s.cout], 0, 0.1) as tf.Tensor4D;
  const y = tf.conv2d(x, w, s.stride, 'same');
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const [, oh, ow] = y.shape;
  const gflop = (2 * s.batch * oh * ow * s.k * s.k * s.cin * s.cout) / 1e9;
  const attrs = { strides: s.stride, pad: 'same', dataFormat: 'NHWC' };
  const fns: Record<string, (o: Operands) => tf.Tensor> = {
    forward: (o) => tf.conv2d(o.x, o.w, s.stride, 'same'),
    backprop_input: (o) => tf.conv2dTranspose(o.dy, o.w, x.shape, s.stride, 'same'),
    backprop_filter: (o) =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: o.x, dy: o.dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
  };
  if (withBuiltin && builtinInput) {
    const backend = tf.backend();
    fns.builtin_backprop_input = (o) =>
      tf.engine().makeTensorFromTensorInfo(
        builtinInput.kernelFunc({ inputs: { dy: o.dy, filter: o.w }, backend, attrs: { ...attrs, inputShape: x.shape } }) as tf.TensorInfo,
      );
  }
  const secs = timeAll(fns, { x, w, dy });
  const row: Record<string, number | string> = { shape: s.name, gflop: +gflop.toFixed(3) };
  for (const [name, t] of Object.entries(secs)) row[`${name}_gflops`] = +(gflop / t.cpu).toFixed(1);
  for (const [name, t] of Object.entries(secs)) row[`${name}_gflops_wall`] = +(gflop / t.wall).toFixed(1);
  rows.push(row);
  tf.dispose([x, w, y, dy]);
  console.error(`${s.name}: done`);
}

const cols = Object.keys(rows[rows.length - 1]).filter((c) => !c.endsWith('_wall'));
const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i])).join('  ');
console.log('GFLOP/s by CPU time (fastest of interleaved rounds; wall-time columns in the JSON)');
console.log(line(cols));
for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
const ratio = Math.min(
  ...rows.map((r) => Math.min(Number(r.backprop_input_gflops), Number(r.backprop_filter_gflops)) / Number(r.forward_gflops)),
);
console.log(`worst backward/forward GFLOP/s ratio: ${ratio.toFixed(2)} (goal >= 0.5)`);

if (!quick && only === undefined) {
  mkdirSync('reports', { recursive: true });
  const report = {
    generated: new Date().toISOString(),
    engine: engineInfo(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    batch: 32,
    padding: 'same',
    worst_backward_to_forward_ratio: +ratio.toFixed(3),
    timing:
      '*_gflops from CPU time, *_gflops_wall from wall time; fastest of 7 interleaved rounds after warm-up',
    rows,
  };
  writeFileSync('reports/engine-kernels.json', JSON.stringify(report, null, 2) + '\n');
  console.log('wrote reports/engine-kernels.json');
}
void info;
