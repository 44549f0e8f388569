/**
 * predictSurvey / embedSurvey / `galmorph predict` on fine-tuned models: the columns of each
 * task, agreement with `FinetunedModel.predict`, MC dropout only where the head was trained
 * with dropout, both engines, sharding, and bad model directories as one clear line.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { finetune, loadFinetuned, FinetunedModel, attachHead, type FinetuneConfig, type FinetuneOptions } from '../src/finetune/index.js';
import { tfl } from '../src/engine/index.js';
import { OptionError } from '../src/errors.js';
import { readImage, readTable, writeTable, type Cell } from '../src/data/index.js';
import { decodeSize, prepareImages } from '../src/models/index.js';
import { embedSurvey, openEncoder, predictSurvey } from '../src/predict/index.js';
import { makeBase, makeLabelled, tmp } from './finetune-fixtures.js';
import { cli } from './run-cli.js';

let base = '';
let data: Awaited<ReturnType<typeof makeLabelled>>;
let catalog = '';
const models: Record<string, string> = {};
const N = 24;

const tune = async (name: string, o: Partial<FinetuneOptions>) => {
  models[name] = join(tmp(), name);
  await finetune({ base, labels: data.labels, images: data.images, task: 'binary', mode: 'head', out: models[name], epochs: 2, batchSize: 8, learningRate: 1e-2, seed: 1, ...o });
};

before(async () => {
  base = await makeBase();
  data = await makeLabelled(N);
  await tune('binary', { mode: 'partial', blocks: 1 });
  await tune('probe', { mode: 'linear-probe' });
  await tune('regression', { task: 'regression', labelColumn: 'value' });
  // A catalogue of the labelled images, plus a row whose image is missing.
  const rows: Record<string, Cell>[] = Array.from({ length: N }, (_, i) => ({ id: `g${String(i).padStart(3, '0')}`, image_path: `images/g${String(i).padStart(3, '0')}.png` }));
  rows.splice(5, 0, { id: 'gone', image_path: 'images/gone.png' });
  catalog = join(data.dir, 'catalog.csv');
  await writeTable(catalog, { columns: ['id', 'image_path'], rows });
});

type Row = Record<string, Cell>;
const num = (r: Row, c: string) => r[c] as number;

/** The fine-tuned model's own predictions (deterministic head) for the catalogue's images. */
async function direct(dir: string): Promise<Float32Array> {
  const m = await loadFinetuned(dir);
  const imgs = await Promise.all(Array.from({ length: N }, (_, i) => readImage(join(data.images, `g${String(i).padStart(3, '0')}.png`), { size: decodeSize(m.config), channels: m.config.bands })));
  const out = await m.predictPrepared(prepareImages(imgs, m.config));
  m.dispose();
  return out;
}

const okRows = (rows: Row[]) => rows.filter((r) => r.status === 'ok');

test('binary: p_<class>, MC-dropout stds and predicted, as finetune names them; one pass equals the model', async () => {
  const out = join(tmp(), 'p.csv');
  const r = await predictSurvey({ model: models.binary, catalog, out, passes: 5, batchSize: 7 });
  assert.deepEqual([r.rows, r.ok, r.errors], [N + 1, N, 1]);
  const t = await readTable(out);
  assert.deepEqual(t.columns, ['id', 'status', 'p_bright', 'p_faint', 'p_bright_std', 'p_faint_std', 'predicted']);
  const validation = await readTable(join(models.binary, 'predictions.csv'));
  assert.deepEqual(validation.columns.filter((c) => c.startsWith('p_') || c === 'predicted'), ['predicted', 'p_bright', 'p_faint']);
  const bad = t.rows.find((row) => row.id === 'gone')!;
  assert.match(String(bad.status), /^error: /);
  assert.ok(Number.isNaN(num(bad, 'p_bright')) && bad.predicted === null);
  for (const row of okRows(t.rows)) {
    assert.ok(Math.abs(num(row, 'p_bright') + num(row, 'p_faint') - 1) < 1e-9);
    assert.equal(row.predicted, num(row, 'p_bright') >= num(row, 'p_faint') ? 'bright' : 'faint');
  }
  assert.ok(okRows(t.rows).some((row) => num(row, 'p_bright_std') > 1e-4), 'dropout spreads the passes');

  const one = join(tmp(), 'p1.parquet');
  await predictSurvey({ model: models.binary, catalog, out: one, passes: 1, engine: 'tfjs' });
  const t1 = await readTable(one);
  assert.deepEqual(t1.columns, ['id', 'status', 'p_bright', 'p_faint', 'predicted']);
  const expected = await direct(models.binary);
  okRows(t1.rows).forEach((row, i) => {
    assert.ok(Math.abs(num(row, 'p_bright') - expected[2 * i]) < 1e-5, `${row.id}: ${num(row, 'p_bright')} vs ${expected[2 * i]}`);
  });
  // ONNX Runtime (the default engine) runs the fine-tuned encoder to the same values.
  const onnx = join(tmp(), 'p1-onnx.parquet');
  await predictSurvey({ model: models.binary, catalog, out: onnx, passes: 1, engine: 'onnx' });
  okRows((await readTable(onnx)).rows).forEach((row, i) => assert.ok(Math.abs(num(row, 'p_bright') - num(okRows(t1.rows)[i], 'p_bright')) < 1e-5));
});

test('a linear probe runs once (no std columns); regression writes prediction ± std in target units', async () => {
  const probe = join(tmp(), 'probe.csv');
  await predictSurvey({ model: models.probe, catalog, out: probe, passes: 5 });
  const tp = await readTable(probe);
  assert.deepEqual(tp.columns, ['id', 'status', 'p_bright', 'p_faint', 'predicted']);
  const expected = await direct(models.probe);
  okRows(tp.rows).forEach((row, i) => assert.ok(Math.abs(num(row, 'p_faint') - expected[2 * i + 1]) < 1e-5));

  const reg = join(tmp(), 'reg.csv');
  await predictSurvey({ model: models.regression, catalog, out: reg, passes: 4 });
  const tr = await readTable(reg);
  assert.deepEqual(tr.columns, ['id', 'status', 'prediction', 'prediction_std']);
  const once = join(tmp(), 'reg1.csv');
  await predictSurvey({ model: models.regression, catalog, out: once, passes: 1 });
  const values = await direct(models.regression);
  okRows((await readTable(once)).rows).forEach((row, i) => assert.ok(Math.abs(num(row, 'prediction') - values[i]) < 1e-4));
  assert.ok(okRows(tr.rows).every((row) => num(row, 'prediction_std') >= 0));
});

test('shards of a fine-tuned run union to the full run; embed uses the fine-tuned encoder', async () => {
  const full = join(tmp(), 'full.csv');
  await predictSurvey({ model: models.binary, catalog, out: full });
  const parts: Row[] = [];
  for (let i = 0; i < 3; i++) {
    const out = join(tmp(), `s${i}.csv`);
    await predictSurvey({ model: models.binary, catalog, out, shard: { index: i, count: 3 }, chunkSize: 4 });
    parts.push(...(await readTable(out)).rows);
  }
  assert.deepEqual(parts, (await readTable(full)).rows);

  const emb = join(tmp(), 'e.parquet');
  const r = await embedSurvey({ model: models.binary, catalog, out: emb, engine: 'tfjs', orientations: 'single' });
  assert.equal(r.ok, N);
  const m = await loadFinetuned(models.binary);
  const img = await readImage(join(data.images, 'g000.png'), { size: decodeSize(m.config), channels: m.config.bands });
  const rep = await m.embed(prepareImages([img], m.config));
  m.dispose();
  const row = (await readTable(emb)).rows[0];
  assert.equal(row.id, 'g000');
  for (const j of [0, 7, rep.length - 1]) assert.ok(Math.abs(num(row, `feat_${String(j).padStart(3, '0')}`) - rep[j]) < 1e-5);
});

test('galmorph predict --model <fine-tuned dir>; a broken fine-tuned directory is one clear line', async () => {
  const out = join(tmp(), 'cli.csv');
  const r = await cli('predict', '--model', models.binary, '--catalog', catalog, '--out', out, '--passes', '3');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /predicted 25 galaxies \(24 ok, 1 error\)/);
  assert.match(r.stderr, /gone: error: /);
  assert.equal((await readTable(out)).rows.length, N + 1);

  const broken = join(tmp(), 'broken');
  cpSync(models.binary, broken, { recursive: true });
  rmSync(join(broken, 'weights.bin'));
  const noWeights = await cli('predict', '--model', broken, '--catalog', catalog, '--out', join(tmp(), 'x.csv'));
  assert.equal(noWeights.code, 2, noWeights.stderr);
  assert.match(noWeights.stderr, /^galmorph: error: cannot read .*broken\/weights\.bin: ENOENT\n$/);

  const config = JSON.parse(readFileSync(join(models.binary, 'config.json'), 'utf8'));
  writeFileSync(join(broken, 'config.json'), JSON.stringify({ ...config, formatVersion: 7 }));
  const newer = await cli('predict', '--model', broken, '--catalog', catalog, '--out', join(tmp(), 'x.csv'));
  assert.equal(newer.code, 2, newer.stderr);
  assert.match(newer.stderr, /^galmorph: error: .*broken\/config\.json: unsupported formatVersion 7\n$/);
});

test('a fine-tuned encoder the ONNX exporter cannot translate: the onnx engine says to use tfjs, which runs it', async () => {
  // Zero padding stands for the MobileNetV2 layers of a model fine-tuned from terrestrial-mobilenet-v2.
  const input = tfl.input({ shape: [32, 32, 3] });
  let x = tfl.layers.zeroPadding2d({ padding: 1 }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({ name: 'representation' }).apply(x) as tfl.SymbolicTensor;
  const config = JSON.parse(readFileSync(join(models.binary, 'config.json'), 'utf8')) as FinetuneConfig;
  const m = new FinetunedModel(attachHead({ net: tfl.model({ inputs: input, outputs: x }) }, 2, 0), { ...config, representationDim: 4 });
  await assert.rejects(openEncoder(m, { engine: 'onnx' }), (e: Error) => e instanceof OptionError && /onnx engine cannot run this model \(.*ZeroPadding2D.*\); use engine 'tfjs' \(--engine tfjs\)/.test(e.message));
  const r = await predictSurvey({ model: m, catalog, out: join(tmp(), 'pad.csv'), engine: 'tfjs', passes: 2 });
  assert.equal(r.ok, N);
  m.dispose();
});
