/** bench/pretrain's shared scoring (score.ts) and the kNN regression of ceiling.ts (knn.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knnRegress } from '../bench/pretrain/knn.js';
import { answerMatrix, oracleProbabilities, scoreQuestion } from '../bench/pretrain/score.js';
import { getSchema } from '../src/schema/index.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('knnRegress averages the targets of the k nearest training rows', () => {
  const train = Float32Array.of(0, 1, 2, 3, 10);
  const targets = Float64Array.of(0, 1, 10, 11, 20, 21, 30, 31, 100, 101);
  const out = knnRegress(train, targets, Float32Array.of(1.9, 9, 3.2), 1, 2);
  assert.deepEqual([...out], [15, 16, 65, 66, 25, 26]);
  assert.deepEqual([...knnRegress(train, targets, Float32Array.of(-5), 1, 1)], [0, 1]);
  // k beyond the training rows: the mean of them all.
  assert.deepEqual([...knnRegress(train, targets, Float32Array.of(0), 1, 9)], [32, 33]);
  assert.throws(() => knnRegress(train, targets, Float32Array.of(0), 1, 0), /k must be a positive integer/);
});

test('knnRegress measures distance on features standardised by the training rows', () => {
  // Feature b spans 1000, a only 10: raw distances would be decided by b alone.
  const train = Float32Array.of(0, 0, 10, 100, 0, 1000, 10, 1000);
  const targets = Float64Array.of(0, 1, 2, 3);
  // Raw Euclidean picks (0, 0) for (10, 40); standardised, (10, 100).
  assert.deepEqual([...knnRegress(train, targets, Float32Array.of(10, 40), 2, 1)], [1]);
  // A lone query scaled by its own statistics would collapse to the origin (and pick row 1).
  assert.deepEqual([...knnRegress(train, targets, Float32Array.of(10, 1000), 2, 1)], [3]);
  // Inputs are left as they were.
  assert.deepEqual([...train], [0, 0, 10, 100, 0, 1000, 10, 1000]);
});

test('knnRegress is deterministic: equal distances go to the lower training row', () => {
  const train = Float32Array.of(1, 1, 1, 5);
  const targets = Float64Array.of(7, 8, 9, 0);
  assert.deepEqual([...knnRegress(train, targets, Float32Array.of(1.2), 1, 1)], [7]);
  assert.deepEqual([...knnRegress(train, targets, Float32Array.of(1.2), 1, 2)], [7.5]);
});

test('scoreQuestion: MAE against observed fractions, beside the oracle, over galaxies with votes and predictions', () => {
  const schema = getSchema('decals-dr5');
  const q = schema.questions.find((x) => x.name === 'smooth-or-featured')!;
  const A = schema.nAnswers;
  const galaxy = (m: Float64Array, g: number, v: number[]) => m.set(v, g * A + q.start);
  const counts = new Float64Array(4 * A);
  const pred = new Float64Array(4 * A);
  const oracle = new Float64Array(4 * A);
  // 0: votes 3/1/0, predicted 0.5/0.5/0. 1: no prediction. 2: no votes. 3: confidently smooth.
  galaxy(counts, 0, [3, 1, 0]); galaxy(pred, 0, [0.5, 0.5, 0]); galaxy(oracle, 0, [0.7, 0.3, 0]);
  galaxy(counts, 1, [0, 4, 0]); galaxy(pred, 1, [NaN, NaN, NaN]); galaxy(oracle, 1, [0, 1, 0]);
  galaxy(pred, 2, [1, 0, 0]); galaxy(oracle, 2, [1, 0, 0]);
  galaxy(counts, 3, [5, 0, 0]); galaxy(pred, 3, [0.1, 0.9, 0]); galaxy(oracle, 3, [0.95, 0.05, 0]);
  const s = scoreQuestion(schema, q, counts, pred, oracle);
  assert.equal(s.galaxies, 2);
  close(s.mae, (0.5 / 3 + 1.8 / 3) / 2, 'mae');
  close(s.oracle_mae, (0.1 / 3 + 0.1 / 3) / 2, 'oracle mae');
  close(s.mae_ratio, 11.5, 'ratio');
  assert.equal(s.confident, 1);
  assert.equal(s.confident_accuracy, 0, 'the model leads with featured on the confidently smooth galaxy');
  assert.equal(s.oracle_confident_accuracy, 1);
  assert.deepEqual(s.answers.smooth, { confident: 1, recall: 0, oracle_recall: 1 });
});

test('answerMatrix and oracleProbabilities read answer columns by galaxy id', () => {
  const schema = getSchema('decals-dr5');
  const row = (id: string, status: string, v: number) => ({ id, status, ...Object.fromEntries(schema.answerColumns.flatMap((c) => [[`oracle_${c}`, v], [`${c}_fraction`, v / 2]])) });
  const rows = [row('b', 'ok', 0.4), row('a', 'ok', 0.2), row('c', 'error', 0.6)];
  const oracle = oracleProbabilities(schema, ['a', 'b', 'x'], rows);
  assert.equal(oracle[0], 0.2);
  assert.equal(oracle[schema.nAnswers + 5], 0.4);
  assert.ok(Number.isNaN(oracle[2 * schema.nAnswers]), 'a galaxy the rows lack reads NaN');
  const pred = answerMatrix(schema, ['c', 'a'], rows, (c) => `${c}_fraction`, (r) => r.status === 'ok');
  assert.ok(Number.isNaN(pred[0]), 'a rejected row reads NaN');
  assert.equal(pred[schema.nAnswers], 0.1);
});
