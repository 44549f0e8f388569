import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initEngine } from '../engine/index.js';
import { architectureNames, getArchitecture } from './architectures.js';
import { createModel, REPRESENTATION_LAYER } from './model.js';
import { loadModel, saveModel } from './io.js';
import { prepareImages, resampleInto, type AffineMap } from './preprocess.js';
import { createSchema, getSchema } from '../schema/index.js';
import { OptionError } from '../errors.js';

await initEngine({ backend: 'wasm' });

const custom = createSchema({
  name: 'custom-rings',
  questions: [
    { name: 'ring', answers: ['yes', 'no'], askedIf: null },
    { name: 'ring-type', answers: ['inner', 'outer', 'polar', 'collisional'], askedIf: 'ring_yes' },
  ],
});

function randomImages(n: number, size: number, bands: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n * size * size * bands }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
}

test('architecture registry is frozen and lists valid names on error', () => {
  assert.ok(architectureNames().includes('resnet-small'));
  assert.ok(architectureNames().includes('resnet-tiny'));
  const a = getArchitecture('resnet-small');
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.stages));
  assert.throws(() => getArchitecture('efficientnet-b7'), (e: Error) => e instanceof OptionError && /resnet-small/.test(e.message));
});

test('decals-dr5 model: output shape, concentrations in (1, 101), named representation', async () => {
  const model = createModel({ schema: getSchema('decals-dr5'), architecture: 'resnet-small', size: 64 });
  const x = tf.tensor4d(randomImages(2, 64, 3, 1), [2, 64, 64, 3]);
  const y = model.apply(x);
  assert.deepEqual(y.shape, [2, 34]);
  const v = await y.data();
  assert.ok(v.every((c) => c > 1 && c < 101));
  const rep = model.represent(x);
  assert.deepEqual(rep.shape, [2, 256]);
  assert.equal(model.net.getLayer(REPRESENTATION_LAYER).name, 'representation');
  assert.equal(model.config.representationDim, 256);
  tf.dispose([x, y, rep]);
  model.dispose();
});

test('custom schema and greyscale: head follows the schema', async () => {
  const model = createModel({ schema: custom, architecture: 'resnet-tiny', size: 32, bands: 1 });
  const out = await model.predictConcentrations(randomImages(5, 32, 1, 2), { batchSize: 2 });
  assert.equal(out.length, 5 * 6);
  assert.ok(out.every((c) => c > 1 && c < 101));
  assert.equal(model.schema.nAnswers, 6);
  model.dispose();
});

test('MC dropout: passes differ, plain prediction is deterministic', async () => {
  const model = createModel({ schema: custom, architecture: 'resnet-tiny', size: 32, seed: 3 });
  const imgs = randomImages(3, 32, 3, 4);
  const a = await model.predictConcentrations(imgs);
  const b = await model.predictConcentrations(imgs);
  assert.deepEqual(a, b);
  const mc = await model.predictConcentrations(imgs, { passes: 4 });
  assert.equal(mc.length, 4 * 3 * 6);
  const p0 = mc.subarray(0, 18);
  const p1 = mc.subarray(18, 36);
  assert.notDeepEqual([...p0], [...p1]);
  model.dispose();
});

test('same seed gives the same initial weights; different seed differs', () => {
  const w = (seed: number) => {
    const m = createModel({ schema: custom, architecture: 'resnet-tiny', size: 32, seed });
    const v = m.net.getLayer('stem_conv').getWeights()[0].dataSync().slice();
    m.dispose();
    return v;
  };
  assert.deepEqual(w(5), w(5));
  assert.notDeepEqual(w(5), w(6));
});

test('save/load round trip gives identical outputs and config', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'galmorph-model-'));
  try {
    const model = createModel({ schema: custom, architecture: 'resnet-tiny', size: 32, seed: 9 });
    // Move batch-norm statistics away from their initial values so they are checked too.
    const warm = tf.tensor4d(randomImages(4, 32, 3, 5), [4, 32, 32, 3]);
    tf.dispose(model.apply(warm, { training: true }));
    await saveModel(model, dir, { epochs: 1 });
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.json', 'weights.bin']);
    const loaded = await loadModel(dir);
    const imgs = randomImages(3, 32, 3, 6);
    assert.deepEqual(await loaded.predictConcentrations(imgs), await model.predictConcentrations(imgs));
    assert.deepEqual(await loaded.embed(imgs), await model.embed(imgs));
    assert.equal(loaded.schema.name, 'custom-rings');
    assert.deepEqual(loaded.schema.answerColumns, custom.answerColumns);
    assert.equal(loaded.config.architecture.name, 'resnet-tiny');
    assert.deepEqual(loaded.config.training, { epochs: 1 });
    tf.dispose(warm);
    model.dispose();
    loaded.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('prepareImages: centre crop + resize + greyscale conversion', () => {
  // A 4×4 RGB image whose value is column / 4 + band / 20; an identity crop at the same size
  // reproduces it, and greyscale takes the luminance.
  const data = new Float32Array(4 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 3; c++) data[(y * 4 + x) * 3 + c] = x / 4 + c * 0.05;
  const spec = { inputSize: 4, bands: 3 as const, normalisation: { mean: [0, 0, 0], std: [1, 1, 1] }, evalCrop: 1 };
  const out = prepareImages([{ data, height: 4, width: 4, channels: 3 }], spec);
  out.forEach((v, i) => assert.ok(Math.abs(v - data[i]) < 1e-6));
  const grey = prepareImages([{ data, height: 4, width: 4, channels: 3 }], { ...spec, bands: 1, normalisation: { mean: [0], std: [1] } });
  for (let x = 0; x < 4; x++) assert.ok(Math.abs(grey[x] - (x / 4 + 0.587 * 0.05 + 0.114 * 0.1)) < 1e-6);
  const u8 = Uint8Array.from(data, (v) => Math.round(v * 255));
  const fromU8 = prepareImages([{ data: u8, height: 4, width: 4, channels: 3 }], spec);
  fromU8.forEach((v, i) => assert.ok(Math.abs(v - data[i]) < 3e-3));
});

test('resampleInto: the 3-band path equals the general path band by band, bit for bit', () => {
  // The colour path is a specialised copy of the general resampler; resampling each band on its
  // own (1 band in, 1 out) goes through the general one with the same arithmetic.
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const maps: AffineMap[] = [
    { a00: 0.87, a01: 0, a10: 0, a11: 0.87, tx: 0, ty: 0 },
    { a00: -0.6, a01: 0.5, a10: 0.55, a11: 0.6, tx: 0.05, ty: -0.1 },
    { a00: 1.7, a01: -1.2, a10: 0.9, a11: 1.4, tx: 0.4, ty: 0.3 }, // reaches far past the borders: mirroring
  ];
  for (const [H, W] of [[75, 75], [20, 33], [1, 6]]) {
    for (const u8 of [true, false]) {
      const data = u8 ? Uint8Array.from({ length: H * W * 3 }, () => Math.floor(256 * rand())) : Float32Array.from({ length: H * W * 3 }, rand);
      const norm = { mean: [0.1, 0.2, 0.3], std: [0.3, 0.7, 1.1] };
      for (const map of maps) {
        const size = 16;
        const rgb = new Float32Array(size * size * 3);
        resampleInto({ data, height: H, width: W, channels: 3 }, rgb, 0, size, 3, map, norm);
        for (let c = 0; c < 3; c++) {
          const band = u8 ? new Uint8Array(H * W) : new Float32Array(H * W);
          for (let i = 0; i < H * W; i++) band[i] = data[i * 3 + c];
          const one = new Float32Array(size * size);
          resampleInto({ data: band, height: H, width: W, channels: 1 }, one, 0, size, 1, map, { mean: [norm.mean[c]], std: [norm.std[c]] });
          one.forEach((v, i) => assert.ok(Object.is(v, rgb[i * 3 + c]), `${H}×${W} u8=${u8} band ${c} px ${i}: ${v} vs ${rgb[i * 3 + c]}`));
        }
      }
    }
  }
});
