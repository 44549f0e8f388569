/** Orientation-free embeddings: the dihedral group on images, and representations invariant to it. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTable, writePng } from '../src/data/index.js';
import { OptionError } from '../src/errors.js';
import { loadModel, type GalaxyModel } from '../src/models/index.js';
import { DEFAULT_ORIENTATIONS, DIHEDRAL_TRANSFORMS, dihedralTransform, embedSurvey, orientedRepresentation } from '../src/predict/index.js';
import { makeModelDir, tmp } from './predict-fixtures.js';

let modelDir = '';
let model: GalaxyModel;
before(async () => {
  modelDir = await makeModelDir();
  model = await loadModel(modelDir);
});

/** An asymmetric test image `[1, s, s, b]`: every value distinct, so any wrong permutation shows. */
const ramp = (s: number, b: number) => Float32Array.from({ length: s * s * b }, (_, i) => i / (s * s * b));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

test('dihedralTransform: 8 distinct pixel permutations forming the group of the square', () => {
  const s = 5, b = 3;
  const x = ramp(s, b);
  const all = Array.from({ length: DIHEDRAL_TRANSFORMS }, (_, t) => dihedralTransform(x, 1, s, b, t));
  assert.deepEqual(all[0], x);
  for (let t = 0; t < 8; t++) {
    assert.deepEqual([...all[t]].sort(), [...x].sort(), `transform ${t} permutes pixels`);
    for (let u = 0; u < t; u++) assert.notDeepEqual(all[t], all[u], `transforms ${u} and ${t} differ`);
  }
  // Four quarter turns, or two mirrors, give the image back; a quarter turn keeps bands together.
  let r: Float32Array = x;
  for (let k = 0; k < 4; k++) r = dihedralTransform(r, 1, s, b, 1);
  assert.deepEqual(r, x);
  assert.deepEqual(dihedralTransform(all[4], 1, s, b, 4), x);
  const last = s - 1;
  for (let y = 0; y < s; y++) for (let xx = 0; xx < s; xx++) for (let c = 0; c < b; c++) {
    assert.equal(all[1][(y * s + xx) * b + c], x[(xx * s + (last - y)) * b + c]);
  }
  // Several images in one array are transformed independently.
  const two = Float32Array.from([...x, ...x.map((v) => 1 - v)]);
  assert.deepEqual(dihedralTransform(two, 2, s, b, 6).subarray(0, x.length), all[6]);
  assert.throws(() => dihedralTransform(x, 1, s, b, 8), RangeError);
  assert.throws(() => dihedralTransform(x, 2, s, b, 1), RangeError);
});

test('dihedral representation of a rotated or mirrored image equals the original\'s; a single pass does not', async () => {
  const { inputSize: s, bands: b } = model.config;
  const x = ramp(s, b);
  const represent = (images: Float32Array) => model.embed(images);
  const base = await orientedRepresentation(represent, x, 1, model.config, 'dihedral');
  let singleGap = 0;
  for (let t = 1; t < DIHEDRAL_TRANSFORMS; t++) {
    const xt = dihedralTransform(x, 1, s, b, t);
    assert.ok(maxAbsDiff(await orientedRepresentation(represent, xt, 1, model.config, 'dihedral'), base) < 1e-5, `transform ${t}`);
    singleGap = Math.max(singleGap, maxAbsDiff(await orientedRepresentation(represent, xt, 1, model.config, 'single'), await represent(x)));
  }
  assert.ok(singleGap > 1e-3, `a random network is not invariant by itself (gap ${singleGap})`);
});

test('embed: dihedral by default; a quarter-turned cutout gets its original\'s embedding', async () => {
  assert.equal(DEFAULT_ORIENTATIONS, 'dihedral');
  // Three asymmetric cutouts, and the same turned by 90° on disk: decoding, centre crop and
  // resizing commute with the turn, so only the network could tell them apart.
  const [images, turned] = [join(tmp(), 'images'), join(tmp(), 'turned')];
  mkdirSync(images);
  mkdirSync(turned);
  const size = 48;
  for (let g = 0; g < 3; g++) {
    const px = Uint8Array.from({ length: size * size * 3 }, (_, i) => {
      const x = Math.floor(i / 3) % size, y = Math.floor(i / 3 / size);
      return Math.round(255 * Math.exp(-((x - 20 - 3 * g) ** 2 / 60 + (y - 26) ** 2 / (15 + 10 * g)))) * ((i % 3) + 1) / 3;
    });
    await writePng(join(images, `g${g}.png`), px, size, size);
    await writePng(join(turned, `g${g}.png`), Uint8Array.from(dihedralTransform(Float32Array.from(px), 1, size, 3, 1)), size, size);
  }
  const root = tmp();
  const embed = async (dir: string, name: string, orientations?: 'single' | 'dihedral') => {
    const out = join(root, `${name}.parquet`);
    await embedSurvey({ model: modelDir, images: dir, out, orientations, engine: 'tfjs' });
    return (await readTable(out)).rows.map((r) => Object.entries(r).filter(([k]) => k.startsWith('feat_')).map(([, v]) => v as number));
  };
  const [a, b, s] = [await embed(images, 'a'), await embed(turned, 'b'), await embed(turned, 's', 'single')];
  const sa = await embed(images, 'sa', 'single');
  a.forEach((row, i) => {
    assert.ok(maxAbsDiff(row, b[i]) < 1e-4, `galaxy ${i}: ${maxAbsDiff(row, b[i])}`);
    assert.ok(maxAbsDiff(s[i], sa[i]) > 1e-3, `galaxy ${i}: a single pass sees the turn`);
  });
  await assert.rejects(embedSurvey({ model: modelDir, images, out: join(root, 'x.parquet'), orientations: 'all' as 'single' }), OptionError);
});
