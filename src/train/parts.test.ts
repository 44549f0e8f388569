import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW } from './optimizer.js';
import { augmentInto, randomAffine } from './augment.js';
import { readCheckpoint, writeCheckpoint, CheckpointError, CHECKPOINT_FILE, type CheckpointState } from './checkpoint.js';
import { ImageCache, openTrainingSet } from './data.js';
import { epochPermutation, isValidation, rng } from './random.js';
import { SYNTHETIC_SCHEMA, syntheticTrainingSet } from './synthetic.js';
import { averageGradients, updateWeights, type SharedBuffers } from './replica.js';
import { writePng } from '../data/index.js';
import { CatalogError } from '../errors.js';

const root = await mkdtemp(join(tmpdir(), 'galmorph-parts-'));
process.on('exit', () => void rm(root, { recursive: true, force: true }));

test('AdamW: first step moves each weight by lr against its gradient sign; decay only where masked', () => {
  const p = new Float32Array([1, -2, 3, 0.5]);
  const opt = new AdamW(p, new Uint8Array([1, 1, 0, 0]), { learningRate: 0.1, weightDecay: 0.5, clipNorm: 0 });
  opt.step(new Float32Array([2, -0.001, 4, 0]));
  // Adam's bias-corrected first step is lr·g/|g|; decoupled decay multiplies by 1 − lr·wd.
  const expected = [1 * 0.95 - 0.1, -2 * 0.95 + 0.1, 3 - 0.1, 0.5];
  p.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `p[${i}] = ${v}, expected ${expected[i]}`));
  assert.equal(opt.getState().step, 1);
});

test('AdamW: clipping scales the gradient to clipNorm and reports the raw norm', () => {
  const a = new AdamW(new Float32Array([0, 0]), new Uint8Array(2), { clipNorm: 1, learningRate: 0.1 });
  assert.equal(a.step(new Float32Array([3, 4])), 5);
  // After clipping g = (0.6, 0.8); the first Adam step still has size lr per coordinate.
  const b = new AdamW(new Float32Array([0, 0]), new Uint8Array(2), { clipNorm: 1, learningRate: 0.1 });
  b.step(new Float32Array([0.6, 0.8]));
  assert.deepEqual([...a.params], [...b.params]);
  assert.deepEqual([...a.getState().v], [...b.getState().v]);
});

test('AdamW converges on a quadratic and its state restores exactly', () => {
  const target = [3, -1, 0.25];
  const run = (steps: number, opt: AdamW) => {
    for (let t = 0; t < steps; t++) opt.step(Float32Array.from(opt.params, (v, i) => 2 * (v - target[i])));
  };
  const a = new AdamW(new Float32Array(3), new Uint8Array(3), { learningRate: 0.05 });
  run(400, a);
  a.params.forEach((v, i) => assert.ok(Math.abs(v - target[i]) < 0.02, `${v} vs ${target[i]}`));
  const b = new AdamW(new Float32Array(3), new Uint8Array(3), { learningRate: 0.05 });
  run(100, b);
  const c = new AdamW(Float32Array.from(b.params), new Uint8Array(3), { learningRate: 0.05 });
  const st = b.getState();
  c.setState({ step: st.step, m: st.m.slice(), v: st.v.slice() });
  run(50, b);
  run(50, c);
  assert.deepEqual([...b.params], [...c.params]);
});

test('shared-out optimizer step: replicas averaging and updating parts equal one AdamW step on the summed gradient, bit for bit', () => {
  const n = 1001;
  const r = rng(3);
  const mask = Uint8Array.from({ length: n }, (_, i) => i % 3 && 1);
  for (const shardSizes of [[64, 64], [5, 3], [3, 3, 2], [5]]) {
    const total = shardSizes.reduce((a, b) => a + b, 0);
    const w = shardSizes.map((m) => m / total);
    const params = Float32Array.from({ length: n }, () => r() - 0.5);
    // Some exact zeros and negative zeros among the gradients.
    const grads = shardSizes.map(() => Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? -0 : i % 89 === 0 ? 0 : 20 * (r() - 0.5))));
    // Reference: what train() did on one thread — sum the weighted gradients into zeros, AdamW.step.
    const opt = new AdamW(params.slice(), mask, { clipNorm: 10 });
    const shared: SharedBuffers = {
      weights: params.slice(),
      m: new Float32Array(n),
      v: new Float32Array(n),
      grads: [],
      adam: { lr: opt.lr, wd: opt.wd, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, clipNorm: opt.clipNorm },
    };
    const parts = 3;
    for (let step = 0; step < 3; step++) {
      const sum = new Float32Array(n);
      grads.forEach((g, k) => g.forEach((x, i) => (sum[i] += w[k] * x)));
      const norm = opt.step(sum);
      shared.grads = grads.map((g) => g.slice());
      const bounds = Array.from({ length: parts + 1 }, (_, k) => Math.floor((k * n) / parts));
      for (let k = 0; k < parts; k++) averageGradients(shared.grads, bounds[k], bounds[k + 1], w);
      const t = step + 1;
      const norms = Array.from({ length: parts }, (_, k) => updateWeights(shared, mask, bounds[k], bounds[k + 1], t));
      assert.ok(norms.every((x) => x === norm), `norms ${norms} vs ${norm}`);
      assert.ok(norm > 10, 'the gradient is clipped');
      assert.deepEqual(new Uint32Array(shared.weights.buffer), new Uint32Array(opt.params.buffer));
      assert.deepEqual(new Uint32Array(shared.m.buffer), new Uint32Array(opt.getState().m.buffer));
      assert.deepEqual(new Uint32Array(shared.v.buffer), new Uint32Array(opt.getState().v.buffer));
    }
  }
});

test('augmentation: identity ranges reproduce the image; random maps stay inside the frame', () => {
  const size = 16;
  const data = Float32Array.from({ length: size * size * 3 }, (_, i) => (i % 7) / 7);
  const spec = { inputSize: size, bands: 3 as const, normalisation: { mean: [0, 0, 0], std: [1, 1, 1] }, evalCrop: 1 };
  const out = new Float32Array(data.length);
  augmentInto({ data, height: size, width: size, channels: 3 }, out, 0, spec, rng(1), {
    maxRotation: 0,
    flip: false,
    cropScale: [1, 1],
    cropRatio: [1, 1],
  });
  out.forEach((v, i) => assert.ok(Math.abs(v - data[i]) < 1e-6));
  const r = rng(5);
  for (let k = 0; k < 200; k++) {
    const m = randomAffine(r);
    // Crop area within 0.7–0.8 of the frame: |det| is the area fraction.
    const det = Math.abs(m.a00 * m.a11 - m.a01 * m.a10);
    assert.ok(det >= 0.7 - 1e-9 && det <= 0.8 + 1e-9, `area ${det}`);
    // Every output corner maps to within the rotated frame's inscribed range (|coord| ≤ √2/2).
    for (const [u, v] of [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]]) {
      const x = m.a00 * u + m.a01 * v + m.tx;
      const y = m.a10 * u + m.a11 * v + m.ty;
      assert.ok(Math.hypot(x, y) <= Math.SQRT1_2 + 1e-9);
    }
  }
});

test('split by id hash is stable and near the requested fraction; permutations are seeded', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `J${100000 + i}`);
  const val = ids.filter((id) => isValidation(id, 7, 0.1));
  assert.ok(val.length > 420 && val.length < 580, `${val.length}`);
  assert.deepEqual(ids.slice(0, 100).filter((id) => isValidation(id, 7, 0.1)), val.filter((id) => ids.indexOf(id) < 100));
  const p = epochPermutation(50, 1, 0);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(p, epochPermutation(50, 1, 0));
  assert.notDeepEqual(p, epochPermutation(50, 1, 1));
});

test('checkpoint round trip; truncated files are refused', async () => {
  const dir = join(root, 'ckpt');
  const state: CheckpointState = {
    fingerprint: { seed: 1 },
    epoch: 2,
    step: 5,
    trainLossSum: 12.5,
    trainCount: 40,
    epochSeconds: 3.5,
    history: [],
    bestValLoss: 9.1,
    bestEpoch: 2,
    badEpochs: 0,
    finished: false,
    optimizerStep: 17,
  };
  const weights = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i));
  const m = Float32Array.from({ length: 900 }, (_, i) => i * 1e-3);
  const v = Float32Array.from({ length: 900 }, (_, i) => i * 1e-6);
  assert.equal(await readCheckpoint(dir), undefined);
  await writeCheckpoint(dir, { state, weights, m, v });
  const back = await readCheckpoint(dir);
  assert.deepEqual(back?.state, state);
  assert.deepEqual(back?.weights, weights);
  assert.deepEqual(back?.m, m);
  assert.deepEqual(back?.v, v);
  await truncate(join(dir, CHECKPOINT_FILE), 500);
  await assert.rejects(readCheckpoint(dir), CheckpointError);
});

test('training set from a catalogue and an image folder; missing images are named', async () => {
  const dir = join(root, 'cat');
  await mkdir(join(dir, 'images'), { recursive: true });
  const header = ['id', ...SYNTHETIC_SCHEMA.answerColumns].join(',');
  const rows = ['g1,3,1,2,1', 'g2,0,4,0,0', 'g3,2,2,1,1'];
  await writeFile(join(dir, 'catalog.csv'), [header, ...rows].join('\n') + '\n');
  for (const id of ['g1', 'g2', 'g3']) {
    const rgb = Uint8Array.from({ length: 20 * 20 * 3 }, (_, i) => (i * 7 + id.length) % 256);
    await writePng(join(dir, 'images', `${id}.png`), rgb, 20, 20, 3);
  }
  const set = await openTrainingSet({ catalog: join(dir, 'catalog.csv'), images: join(dir, 'images'), schema: SYNTHETIC_SCHEMA });
  assert.deepEqual(set.ids, ['g1', 'g2', 'g3']);
  assert.deepEqual([...set.counts.subarray(4, 8)], [0, 4, 0, 0]);
  const img = await set.image(1, 12, 3);
  assert.deepEqual([img.height, img.width, img.channels], [12, 12, 3]);
  await writeFile(join(dir, 'catalog.csv'), [header, ...rows, 'g4,1,1,1,0'].join('\n') + '\n');
  await assert.rejects(
    openTrainingSet({ catalog: join(dir, 'catalog.csv'), images: join(dir, 'images'), schema: SYNTHETIC_SCHEMA }),
    (e: Error) => e instanceof CatalogError && /g4/.test(e.message),
  );
});

test('image cache: uint8 at the cache size, within its byte budget', async () => {
  const set = syntheticTrainingSet(10, 2);
  let decodes = 0;
  const counted = { ...set, image: (i: number, s: number, b: 1 | 3) => (decodes++, set.image(i, s, b)) };
  const cache = new ImageCache(counted, 20, 3, 20 * 20 * 3 * 4); // room for 4 galaxies
  const a = await cache.get(1);
  assert.ok(a.data instanceof Uint8Array && a.width === 20 && a.channels === 3);
  await cache.get(1);
  await cache.get(8);
  await cache.get(8);
  assert.equal(decodes, 3); // galaxy 1 cached, galaxy 8 beyond the budget
});
