/** `galmorph finetune` through commander, and bad labels / options as one clear error. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogError, OptionError } from '../src/errors.js';
import { finetune } from '../src/finetune/index.js';
import { getSchema } from '../src/schema/index.js';
import { makeBase, makeLabelled, tmp, writeLabels } from './finetune-fixtures.js';
import { cli } from './run-cli.js';

let base = '';
let data: Awaited<ReturnType<typeof makeLabelled>>;
let rows: string[] = [];

before(async () => {
  base = await makeBase();
  data = await makeLabelled(24);
  rows = readFileSync(data.labels, 'utf8').trim().split('\n').slice(1);
});


test('galmorph finetune prints per-epoch validation metrics and the final accuracy and ROC-AUC', async () => {
  const out = join(tmp(), 'model');
  const r = await cli('finetune', '--base', base, '--labels', data.labels, '--images', data.images, '--task', 'binary', '--mode', 'head',
    '--out', out, '--epochs', '3', '--batch-size', '8', '--lr', '0.01', '--seed', '2', '--val-fraction', '0.25');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /epoch 1\/3: train loss [\d.]+, val loss [\d.]+, accuracy [\d.]+, ROC-AUC [\d.]+/);
  assert.match(r.stderr, /validation: 6 galaxies, loss [\d.]+, accuracy [\d.]+, ROC-AUC [\d.]+ \(epoch \d\); model in /);
  assert.ok(existsSync(join(out, 'predictions.csv')) && existsSync(join(out, 'config.json')));

  const bad = await cli('finetune', '--base', base, '--labels', data.labels, '--task', 'ranking', '--out', join(tmp(), 'x'));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /galmorph: error: finetune: unknown task "ranking"; valid: binary, multiclass, regression, votes/);
  // A labels table without the tree's count columns is one clear line, before any training.
  const noVotes = await cli('finetune', '--base', base, '--labels', data.labels, '--task', 'votes', '--schema', 'gz2', '--out', join(tmp(), 'x'));
  assert.equal(noVotes.code, 2);
  const gz2Answers = getSchema('gz2').nAnswers;
  assert.match(noVotes.stderr, new RegExp(`galmorph: error: .*labels\\.csv: missing ${gz2Answers} of ${gz2Answers} vote count columns for schema gz2`));
  const badMode = await cli('finetune', '--base', base, '--labels', data.labels, '--task', 'binary', '--mode', 'some', '--out', join(tmp(), 'x'));
  assert.match(badMode.stderr, /unknown mode "some"; valid: linear-probe, head, partial, full/);
});

test('bad labels fail before training with a CatalogError naming the problem', async () => {
  const dir = data.dir;
  const header = 'id,label,image_path,value';
  const run = (labels: string, extra: Partial<Parameters<typeof finetune>[0]> = {}) =>
    finetune({ base, labels, task: 'binary', mode: 'linear-probe', out: join(tmp(), 'x'), ...extra });
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['too few', () => run(writeLabels(dir, 'few.csv', header, rows.slice(0, 9))), /9 labelled galaxies; fine-tuning needs at least 10/],
    ['one class', () => run(writeLabels(dir, 'one.csv', header, rows.filter((l) => l.includes(',bright,')))), /every label is "bright"; a classifier needs at least two classes/],
    ['one example of a class', () => run(writeLabels(dir, 'rare.csv', header, [...rows.filter((l) => l.includes(',bright,')), rows[1]])), /classes "faint" \(1\) have fewer than 2 labels/],
    ['unknown ids', () => run(writeLabels(dir, 'unknown.csv', 'id,label', [...rows.map((l) => l.split(',').slice(0, 2).join(',')), 'nosuch,bright']), { images: data.images }), /1 of 25 ids in .* have no image .* \(first: nosuch\)/],
    ['missing image file', () => run(writeLabels(dir, 'missing.csv', header, [...rows, 'g999,faint,images/g999.png,0.2'])), /1 of 25 galaxies .* missing or empty image_path \(first: g999\)/],
    ['no image column', () => run(writeLabels(dir, 'noimg.csv', 'id,label', rows.map((l) => l.split(',').slice(0, 2).join(',')))), /no "image_path" column; give an images folder/],
    ['no label column', () => run(data.labels, { labelColumn: 'ring' }), /no "ring" column/],
    ['duplicate id', () => run(writeLabels(dir, 'dup.csv', header, [...rows, rows[0]])), /id "g000" appears more than once/],
    ['non-numeric regression', () => run(writeLabels(dir, 'reg.csv', header, rows), { task: 'regression' }), /label of g000 is "bright", not a number/],
    ['undeclared class', () => run(data.labels, { classes: ['bright', 'spiral'] }), /labels "faint" are not among the classes bright, spiral/],
    ['binary with three classes', () => run(writeLabels(dir, 'three.csv', header, [...rows, 'g000x,ring,images/g000.png,1', 'g001x,ring,images/g001.png,1']), {}), /binary task needs exactly 2 classes, found 3/],
  ];
  for (const [name, p, re] of cases) {
    await assert.rejects(p(), (e: Error) => {
      assert.ok(e instanceof CatalogError, `${name}: ${e}`);
      assert.match(e.message, re, name);
      return true;
    });
  }
  await assert.rejects(run(data.labels, { mode: 'partial', blocks: 9 }), (e: Error) => e instanceof OptionError && /blocks 9 exceeds the 3 encoder blocks/.test(e.message));
  await assert.rejects(run(data.labels, { valFraction: 1 }), OptionError);
  await assert.rejects(run(data.labels, { classWeights: { ring: 2 } }), /class weights for unknown classes ring/);
});
