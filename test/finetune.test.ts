/** finetune(): every mode on an easy task, the linear probe against a direct fit, determinism, outputs. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { finetune, loadFinetuned, rocAuc, FINETUNE_MODES } from '../src/finetune/index.js';
import { loadModel, prepareImages, type ImageLike } from '../src/models/index.js';
import { readImage, readTable } from '../src/data/index.js';
import { loadModel as loadBase } from '../src/models/io.js';
import { makeBase, makeLabelled, tmp } from './finetune-fixtures.js';

let base = '';
let data: Awaited<ReturnType<typeof makeLabelled>>;

before(async () => {
  base = await makeBase();
  data = await makeLabelled(40);
});

const fast = { epochs: 20, learningRate: 1e-2, batchSize: 16, patience: 20 };

/** Images as finetune() feeds them: decoded at inputSize / 0.85, quantised to uint8. */
async function evalImages(ids: string[], size: number): Promise<ImageLike[]> {
  return Promise.all(
    ids.map(async (id) => {
      const im = await readImage(join(data.images, `${id}.png`), { size: Math.round(size / 0.85), channels: 3 });
      return { ...im, data: Uint8Array.from(im.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)) };
    }),
  );
}

test('every mode learns an easy binary task; the saved model reloads and predicts the same', async () => {
  for (const mode of FINETUNE_MODES) {
    const out = join(tmp(), 'model');
    const r = await finetune({ base, labels: data.labels, task: 'binary', mode, out, ...fast });
    assert.deepEqual(r.classes, ['bright', 'faint']);
    assert.equal(r.valIds.length, 8, 'stratified 20%: 4 per class');
    assert.ok(r.valAccuracy! >= 0.75, `${mode}: accuracy ${r.valAccuracy}`);
    assert.ok(r.valAuc! >= 0.8, `${mode}: AUC ${r.valAuc}`);
    assert.ok(existsSync(join(out, 'metrics.json')));
    const csv = await readTable(join(out, 'predictions.csv'));
    assert.deepEqual(csv.columns, ['id', 'label', 'predicted', 'p_bright', 'p_faint']);
    assert.equal(csv.rows.length, 8);

    const m = await loadFinetuned(out);
    assert.equal(m.config.task, 'binary');
    assert.equal(m.config.mode, mode);
    const baseConfig = m.config.base.config;
    assert.equal(baseConfig.format === 'galmorph-model' && baseConfig.architecture.name, 'resnet-tiny');
    const images = await evalImages(r.valIds, m.config.inputSize);
    const preds = await m.predict(images);
    preds.forEach((p, k) => {
      assert.equal(p.label, r.predictions[k].label);
      assert.ok(Math.abs(p.probabilities!.faint - r.predictions[k].probabilities!.faint) < 1e-5);
    });
    // Embeddings still work; a frozen encoder (head, probe) keeps the base model's exactly.
    const prepared = prepareImages(images, m.config);
    const emb = await m.embed(prepared);
    assert.equal(emb.length, 8 * m.config.representationDim);
    if (mode === 'head' || mode === 'linear-probe') {
      const b = await loadModel(base);
      const be = await b.embed(prepared);
      b.dispose();
      assert.ok(emb.every((v, i) => Math.abs(v - be[i]) < 1e-6), `${mode}: encoder changed`);
    }
    m.dispose();
    await assert.rejects(loadModel(out), /not a galmorph model config/);
  }
});

test('partial mode trains only the top blocks', async () => {
  const out = join(tmp(), 'model');
  await finetune({ base, labels: data.labels, task: 'binary', mode: 'partial', blocks: 1, out, ...fast, epochs: 3 });
  const b = await loadBase(base);
  const m = await loadFinetuned(out);
  const w = (net: typeof b.net, layer: string) => net.getLayer(layer).getWeights()[0].dataSync();
  const same = (layer: string) => w(b.net, layer).every((v, i) => v === w(m.net, layer)[i]);
  assert.ok(same('stem_conv') && same('stage1_block1_conv1'), 'frozen blocks unchanged');
  assert.ok(!same('stage2_block1_conv1'), 'top block trained');
  // Frozen batch-norm keeps its moving statistics.
  const stats = (net: typeof b.net) => net.getLayer('stage1_block1_bn1').getWeights()[2].dataSync();
  assert.deepEqual(Array.from(stats(m.net)), Array.from(stats(b.net)));
  b.dispose();
  m.dispose();
});

test('the linear probe equals a direct L2 logistic regression (Newton) on the embeddings', async () => {
  const out = join(tmp(), 'probe');
  const l2 = 0.05;
  const r = await finetune({ base, labels: data.labels, task: 'binary', mode: 'linear-probe', l2, out });
  const b = await loadModel(base);
  const embed = async (ids: string[]) => b.embed(prepareImages(await evalImages(ids, b.config.inputSize), b.config));
  const D = b.config.representationDim;
  const xTrain = await embed(r.trainIds);
  const xVal = await embed(r.valIds);
  b.dispose();
  const n = r.trainIds.length;
  const y = r.trainIds.map((id) => (Number(id.slice(1)) % 2 === 0 ? 0 : 1)); // class 1 = faint
  const mean = Array.from({ length: D }, (_, d) => r.trainIds.reduce((s, _, i) => s + xTrain[i * D + d], 0) / n);
  const std = mean.map((m, d) => Math.sqrt(r.trainIds.reduce((s, _, i) => s + (xTrain[i * D + d] - m) ** 2, 0) / n) || 1);
  const z = (x: Float32Array, i: number) => [...Array.from({ length: D }, (_, d) => (x[i * D + d] - mean[d]) / std[d]), 1];
  // Newton's method on mean log-loss + l2/2 ‖w‖² (bias last, unpenalised).
  let w = new Array(D + 1).fill(0);
  for (let it = 0; it < 50; it++) {
    const g = w.map((wi, j) => (j < D ? l2 * wi : 0));
    const H = w.map((_, j) => w.map((_, k) => (j === k && j < D ? l2 : 0)));
    for (let i = 0; i < n; i++) {
      const zi = z(xTrain, i);
      const p = 1 / (1 + Math.exp(-zi.reduce((s, v, j) => s + v * w[j], 0)));
      for (let j = 0; j <= D; j++) {
        g[j] += ((p - y[i]) * zi[j]) / n;
        for (let k = 0; k <= D; k++) H[j][k] += (p * (1 - p) * zi[j] * zi[k]) / n;
      }
    }
    w = w.map((wi, j) => wi - solve(H, g)[j]);
  }
  r.valIds.forEach((_, k) => {
    const p = 1 / (1 + Math.exp(-z(xVal, k).reduce((s, v, j) => s + v * w[j], 0)));
    assert.ok(Math.abs(p - r.predictions[k].probabilities!.faint) < 1e-4, `${p} vs ${r.predictions[k].probabilities!.faint}`);
  });
});

function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

test('a seed fixes the split and the training; another seed changes them', async () => {
  const run = (seed: number) => finetune({ base, labels: data.labels, task: 'binary', mode: 'partial', out: join(tmp(), 'm'), seed, ...fast, epochs: 3 });
  const a = await run(7);
  const b = await run(7);
  const c = await run(8);
  assert.deepEqual(a.valIds, b.valIds);
  assert.deepEqual(a.history.map((h) => h.trainLoss), b.history.map((h) => h.trainLoss));
  assert.deepEqual(readFileSync(join(a.out, 'weights.bin')), readFileSync(join(b.out, 'weights.bin')));
  assert.notDeepEqual(a.valIds, c.valIds);
});

test('multiclass and regression', async () => {
  // Three classes: bright split by index into two names, and faint.
  const { writeLabels } = await import('./finetune-fixtures.js');
  const rows = readFileSync(data.labels, 'utf8').trim().split('\n').slice(1).map((l) => {
    const [id, label, path, value] = l.split(',');
    return [id, label === 'bright' && Number(id.slice(1)) % 4 === 0 ? 'bright2' : label, path, value].join(',');
  });
  const multi = writeLabels(data.dir, 'multi.csv', 'id,label,image_path,value', rows);
  const r = await finetune({ base, labels: multi, task: 'multiclass', mode: 'linear-probe', out: join(tmp(), 'mc') });
  assert.deepEqual(r.classes, ['bright', 'bright2', 'faint']);
  assert.equal(r.valAuc, null);
  assert.ok(r.valAccuracy! > 0.5, `accuracy ${r.valAccuracy}`);
  assert.ok(Object.keys(r.predictions[0].probabilities!).length === 3);

  for (const mode of ['linear-probe', 'head'] as const) {
    const g = await finetune({ base, labels: data.labels, labelColumn: 'value', task: 'regression', mode, out: join(tmp(), 'reg'), ...fast, learningRate: 3e-2, epochs: 60, patience: 60 });
    assert.equal(g.classes, null);
    const truth = g.predictions.map((p) => Number(p.truth));
    const spread = truth.reduce((s, v) => s + Math.abs(v - truth.reduce((a, b) => a + b, 0) / truth.length), 0) / truth.length;
    assert.ok(g.valMae! < 0.7 * spread, `${mode}: MAE ${g.valMae} vs mean deviation ${spread}`);
    const m = await loadFinetuned(g.out);
    const preds = await m.predict(await evalImages(g.valIds, m.config.inputSize));
    assert.ok(Math.abs(preds[0].value! - g.predictions[0].value!) < 1e-4);
    m.dispose();
  }
});

test('rocAuc counts ties as half', () => {
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
  assert.equal(rocAuc([0.5, 0.5], [false, true]), 0.5);
  assert.equal(rocAuc([0.5], [true]), null);
});

test('the engine follows GALMORPH_BACKEND unless `backend` is given', async () => {
  const saved = process.env.GALMORPH_BACKEND;
  try {
    // An unknown name in the environment is rejected before any work: finetune read it.
    process.env.GALMORPH_BACKEND = 'gpu';
    await assert.rejects(finetune({ base, labels: data.labels, out: join(tmp(), 'out'), task: 'binary' }), /GALMORPH_BACKEND/);
  } finally {
    if (saved === undefined) delete process.env.GALMORPH_BACKEND;
    else process.env.GALMORPH_BACKEND = saved;
  }
});
