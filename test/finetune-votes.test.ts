/**
 * finetune({ task: 'votes' }): a Dirichlet head for a custom two-question tree learns from
 * volunteer vote counts; the saved model predicts expected vote fractions; misuse fails clearly.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finetune, loadFinetuned } from '../src/finetune/index.js';
import { readTable } from '../src/data/index.js';
import { createSchema } from '../src/schema/index.js';
import { OptionError } from '../src/errors.js';
import { makeBase, makeLabelled, tmp } from './finetune-fixtures.js';

// A custom tree: is it big? if big, is it bright?
const SPEC = {
  name: 'size-tree',
  questions: [
    { name: 'size', answers: ['big', 'small'], askedIf: null },
    { name: 'brightness', answers: ['bright', 'dim'], askedIf: 'size_big' },
  ],
};
let base = '';
let votes = '';
let schemaPath = '';
let images = '';

before(async () => {
  base = await makeBase();
  const data = await makeLabelled(40);
  images = data.images;
  schemaPath = join(data.dir, 'size-tree.json');
  writeFileSync(schemaPath, JSON.stringify(SPEC));
  // 10 volunteers each: bright disks are mostly "big" then "bright"; faint blobs mostly "small".
  const rows = (await readTable(data.labels)).rows.map((r, i) => {
    const big = r.label === 'bright' ? 8 + (i % 3) : 1 + (i % 2);
    const bright = r.label === 'bright' ? big - 1 : 0;
    return `${r.id},${r.image_path},${big},${10 - big},${bright},${big - bright}`;
  });
  votes = join(data.dir, 'votes.csv');
  writeFileSync(votes, ['id,image_path,size_big,size_small,brightness_bright,brightness_dim', ...rows].join('\n') + '\n');
});

test('votes task: learns a custom tree from counts, saves and predicts vote fractions', async () => {
  const out = join(tmp(), 'model');
  const r = await finetune({ base, labels: votes, task: 'votes', schema: schemaPath, mode: 'partial', out, epochs: 15, learningRate: 1e-2, batchSize: 16, patience: 15, seed: 2 });
  assert.equal(r.classes, null);
  assert.equal(r.valAccuracy, null);
  assert.ok(r.valLoss < r.history[0].valLoss, `val loss ${r.history[0].valLoss} → ${r.valLoss}`);
  assert.ok(r.valMae !== null && r.valMae < 0.25, `fraction MAE ${r.valMae}`);
  const big = (k: number) => r.predictions[k].fractions!['size_big'];
  assert.ok(r.predictions.every((p) => p.truth === '' && p.label === null));
  // Even-numbered fixtures are the bright disks: they should get the larger "big" share.
  const isBright = (id: string) => Number(id.slice(1)) % 2 === 0;
  const mean = (ks: number[]) => ks.reduce((a, k) => a + big(k), 0) / ks.length;
  const ks = r.valIds.map((_, k) => k);
  assert.ok(mean(ks.filter((k) => isBright(r.valIds[k]))) > mean(ks.filter((k) => !isBright(r.valIds[k]))) + 0.2);

  const csv = await readTable(join(out, 'predictions.csv'));
  assert.deepEqual(csv.columns, ['id', 'size_big_fraction', 'size_small_fraction', 'brightness_bright_fraction', 'brightness_dim_fraction']);
  const m = await loadFinetuned(out);
  assert.equal(m.config.task, 'votes');
  assert.deepEqual(createSchema(m.config.schema!).answerColumns, ['size_big', 'size_small', 'brightness_bright', 'brightness_dim']);
  const p = await m.predictPrepared(new Float32Array(2 * 32 * 32 * 3).fill(0.5));
  assert.equal(p.length, 2 * 4);
  assert.ok(Math.abs(p[0] + p[1] - 1) < 1e-5 && Math.abs(p[2] + p[3] - 1) < 1e-5, 'fractions sum to 1 per question');
  m.dispose();
});

test('votes task: clear errors for the linear probe, a schema on another task, and a tree whose columns the table lacks', async () => {
  await assert.rejects(finetune({ base, labels: votes, task: 'votes', schema: schemaPath, mode: 'linear-probe', out: join(tmp(), 'm') }), OptionError);
  await assert.rejects(finetune({ base, labels: votes, task: 'binary', schema: schemaPath, out: join(tmp(), 'm') }), /schema applies to the votes task only/);
  // decals-dr5 (the default) has none of these columns.
  await assert.rejects(finetune({ base, labels: votes, task: 'votes', images, out: join(tmp(), 'm') }), /smooth-or-featured/);
});
