import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EngineError,
  averageInto,
  engineInfo,
  flattenGrads,
  gradLayout,
  initEngine,
  tf,
  tfl,
  unflattenGrads,
} from './index.js';
import { loadAddon } from './native.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('initEngine', () => {
  it('defaults to wasm (no tfjs-node here) with the project kernels registered, native convs when built', async () => {
    const info = await initEngine();
    assert.equal(info.backend, 'wasm');
    assert.equal(info.native !== null, !('error' in loadAddon()));
    assert.equal(info.simd, true);
    assert.ok(info.threads >= 1);
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad']) {
      assert.ok(info.kernels.includes(k), k);
      assert.ok(tf.getKernel(k, 'wasm'), k);
    }
    assert.deepEqual(engineInfo(), info);
  });

  it('is idempotent and switches backends on request', async () => {
    const a = await initEngine({ backend: 'wasm' });
    const b = await initEngine({ backend: 'wasm' });
    assert.deepEqual(a, b);
    const cpu = await initEngine({ backend: 'cpu' });
    assert.deepEqual(cpu, { backend: 'cpu', kernels: [], simd: false, threads: 1, native: null });
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal((await initEngine({ backend: 'wasm' })).backend, 'wasm');
  });

  it('honours GALMORPH_BACKEND and rejects unknown names', async () => {
    const saved = process.env.GALMORPH_BACKEND;
    try {
      process.env.GALMORPH_BACKEND = 'cpu';
      assert.equal((await initEngine()).backend, 'cpu');
      process.env.GALMORPH_BACKEND = 'gpu';
      await assert.rejects(initEngine(), (e: unknown) => e instanceof EngineError && /GALMORPH_BACKEND.*valid: auto, native, wasm, cpu/.test(e.message));
      await assert.rejects(initEngine({ threads: 0 }), EngineError);
    } finally {
      if (saved === undefined) delete process.env.GALMORPH_BACKEND;
      else process.env.GALMORPH_BACKEND = saved;
    }
    assert.equal((await initEngine({ backend: 'wasm' })).backend, 'wasm');
  });

  it('gives tfjs-layers the same tfjs-core instance', async () => {
    await initEngine({ backend: 'wasm' });
    const layer = tfl.layers.dense({ units: 2, inputShape: [3] });
    const y = layer.apply(tf.ones([1, 3])) as tf.Tensor;
    assert.ok(y instanceof tf.Tensor);
    assert.equal(tf.engine().backend, tf.findBackend('wasm'));
    y.dispose();
    layer.dispose();
  });

  it('finds the .wasm binaries when compiled to JavaScript (as in dist/)', () => {
    // Inside the repo so that node_modules resolves as it does for dist/.
    const out = mkdtempSync(path.join(repo, 'node_modules', '.engine-dist-'));
    try {
      execFileSync(
        process.execPath,
        [
          path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
          ...['--outDir', out, '--rootDir', path.join(repo, 'src'), '--module', 'NodeNext'],
          ...['--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck'],
          ...['--esModuleInterop', '--types', 'node', path.join(repo, 'src', 'engine', 'index.ts')],
        ],
        { stdio: 'pipe' },
      );
      const script =
        `const m = await import(${JSON.stringify(path.join(out, 'engine', 'index.js'))});` +
        `const info = await m.initEngine({ backend: 'wasm' });` +
        `const y = m.tf.conv2d(m.tf.ones([1, 4, 4, 1]), m.tf.ones([3, 3, 1, 1]), 1, 'same');` +
        `console.log(JSON.stringify({ backend: info.backend, sum: m.tf.sum(y).dataSync()[0] }));`;
      const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: '/' });
      assert.deepEqual(JSON.parse(stdout.toString().trim().split('\n').pop()!), { backend: 'wasm', sum: 100 });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('gradient transport between workers', () => {
  it('flattens, averages and restores a gradient map', async () => {
    await initEngine({ backend: 'wasm' });
    const a = { w: tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([5, 6, 7]) };
    const b = { w: tf.tensor2d([[3, 2], [1, 0]]), b: tf.tensor1d([1, 2, 3]) };
    const before = tf.memory().numTensors;
    const fa = flattenGrads(a);
    const fb = flattenGrads(b);
    assert.deepEqual(fa.layout, gradLayout(a));
    assert.deepEqual(fa.layout, { names: ['w', 'b'], shapes: [[2, 2], [3]], offsets: [0, 4], size: 7 });
    assert.deepEqual(Array.from(fa.data), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(tf.memory().numTensors, before);

    averageInto(fa.data, fb.data);
    const back = unflattenGrads(fa.data, fa.layout);
    assert.deepEqual(back.w.arraySync(), [[2, 2], [2, 2]]);
    assert.deepEqual(back.b.arraySync(), [3, 4, 5]);
    assert.throws(() => unflattenGrads(new Float32Array(3), fa.layout), RangeError);
    assert.throws(() => flattenGrads(a, new Float32Array(2)), RangeError);
    tf.dispose([...Object.values(a), ...Object.values(b), ...Object.values(back)]);
  });
});
