/** embedSurvey and PCA: streaming fit, orthonormal axes, saved fits reproduce the columns. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { readTable, type Cell } from '../src/data/index.js';
import { OptionError } from '../src/errors.js';
import { CovarianceAccumulator, embedSurvey, fitPcaFromFiles, loadPca, symmetricEigen } from '../src/predict/index.js';
import { makeCatalog, makeModelDir, tmp } from './predict-fixtures.js';

let model = '';
let catalog = '';
const N = 30;

before(async () => {
  model = await makeModelDir();
  ({ catalog } = await makeCatalog(N));
});

/** Small deterministic generator for test matrices. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
}

test('symmetricEigen: A·v = λ·v, orthonormal vectors, decreasing values', () => {
  const d = 24;
  const r = lcg(7);
  const A = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = i; j < d; j++) A[i * d + j] = A[j * d + i] = r();
  const { values, vectors } = symmetricEigen(A, d);
  for (let k = 1; k < d; k++) assert.ok(values[k] <= values[k - 1]);
  for (let k = 0; k < d; k++) {
    for (let i = 0; i < d; i++) {
      let av = 0;
      for (let j = 0; j < d; j++) av += A[i * d + j] * vectors[j * d + k];
      assert.ok(Math.abs(av - values[k] * vectors[i * d + k]) < 1e-10);
    }
    for (let l = 0; l < d; l++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += vectors[i * d + k] * vectors[i * d + l];
      assert.ok(Math.abs(dot - (k === l ? 1 : 0)) < 1e-10);
    }
  }
});

test('streamed covariance equals the two-pass covariance, whatever the batching', () => {
  const d = 5, n = 57;
  const r = lcg(3);
  const x = Float64Array.from({ length: n * d }, (_, i) => 100 + r() * (1 + (i % d)));
  const acc = new CovarianceAccumulator(d);
  for (let s = 0; s < n; s += 10) acc.add(x.subarray(s * d, Math.min(n, s + 10) * d), Math.min(10, n - s));
  const mean = Array.from({ length: d }, (_, j) => x.filter((_, i) => i % d === j).reduce((a, b) => a + b, 0) / n);
  for (let i = 0; i < d; i++) {
    assert.ok(Math.abs(acc.mean[i] - mean[i]) < 1e-9);
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (x[k * d + i] - mean[i]) * (x[k * d + j] - mean[j]);
      assert.ok(Math.abs(acc.scatter[i * d + j] - s) < 1e-8);
    }
  }
});

test('embed with PCA: feat_/pca_ columns, decreasing explained variance, orthonormal axes; saved fits reproduce the columns', async () => {
  const root = tmp();
  const out = join(root, 'emb.parquet');
  const r = await embedSurvey({ model, catalog, out, pca: { components: 4 }, chunkSize: 8, batchSize: 8 });
  assert.equal(r.rows, N + 1);
  assert.equal(r.errors, 1);
  const pca = r.pca!.model;
  assert.equal(r.pca!.path, `${out}.pca.json`);
  assert.deepEqual(await loadPca(r.pca!.path), JSON.parse(readFileSync(r.pca!.path, 'utf8')));
  assert.equal(pca.samples, N);
  for (let k = 1; k < 4; k++) assert.ok(pca.explainedVarianceRatio[k] <= pca.explainedVarianceRatio[k - 1]);
  assert.ok(pca.explainedVarianceRatio.reduce((a, b) => a + b, 0) <= 1 + 1e-9);
  for (let k = 0; k < 4; k++) {
    for (let l = 0; l < 4; l++) {
      const dot = pca.components[k].reduce((s, v, i) => s + v * pca.components[l][i], 0);
      assert.ok(Math.abs(dot - (k === l ? 1 : 0)) < 1e-9);
    }
  }
  const t = await readTable(out);
  const feats = t.columns.filter((c) => c.startsWith('feat_'));
  assert.equal(feats.length, pca.dim);
  assert.equal(feats[0], 'feat_000');
  assert.deepEqual(t.columns.filter((c) => c.startsWith('pca_')), ['pca_00', 'pca_01', 'pca_02', 'pca_03']);
  assert.ok(Number.isNaN(t.rows[3]['pca_00'] as number) && Number.isNaN(t.rows[3]['feat_000'] as number));
  // PCA scores have mean ~0 over the fitted rows and variance = explained variance.
  const ok = t.rows.filter((x) => x.status === 'ok');
  const z0 = ok.map((x) => x['pca_00'] as number);
  const m0 = z0.reduce((a, b) => a + b, 0) / z0.length;
  assert.ok(Math.abs(m0) < 1e-4 * Math.sqrt(pca.explainedVariance[0]) + 1e-6);
  const v0 = z0.reduce((a, b) => a + (b - m0) ** 2, 0) / (z0.length - 1);
  assert.ok(Math.abs(v0 / pca.explainedVariance[0] - 1) < 1e-4);

  // The same fit from the written embeddings (what `galmorph pca fit` does for shards)…
  const refit = await fitPcaFromFiles({ embeddings: [out], components: 4, out: join(root, 'pca.json') });
  refit.mean.forEach((v, i) => assert.ok(Math.abs(v - pca.mean[i]) < 1e-9));
  refit.components.flat().forEach((v, i) => assert.ok(Math.abs(v - pca.components.flat()[i]) < 1e-6));
  // …applied to a shard reproduces the fitted columns for its rows.
  const shardOut = join(root, 'emb-1.csv');
  await embedSurvey({ model, catalog, out: shardOut, shard: { index: 1, count: 2 }, pca: { path: join(root, 'pca.json') } });
  const s = await readTable(shardOut);
  const byId = new Map(t.rows.map((x) => [x.id, x] as [Cell, Record<string, Cell>]));
  assert.ok(s.rows.length > 0);
  for (const row of s.rows.filter((x) => x.status === 'ok')) {
    for (const c of ['pca_00', 'pca_03']) assert.ok(Math.abs((row[c] as number) - (byId.get(row.id)![c] as number)) < 1e-4, c);
  }
});

test('PCA option errors are clear', async () => {
  await assert.rejects(embedSurvey({ model, catalog, out: join(tmp(), 'e.parquet'), pca: { components: 10_000 } }), OptionError);
  await assert.rejects(embedSurvey({ model, catalog, out: join(tmp(), 'e.parquet'), pca: { path: join(tmp(), 'none.json') } }), /cannot read PCA model/);
  await assert.rejects(fitPcaFromFiles({ embeddings: [catalog], components: 2 }), /no representation columns/);
});
