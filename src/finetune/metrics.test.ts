import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completenessPurity } from './metrics.js';
import { OptionError } from '../errors.js';

test('completeness is recall and purity is precision, per class', () => {
  // 4 smooth, 6 featured; 1 smooth called featured, 2 featured called smooth.
  const truth = ['s', 's', 's', 's', 'f', 'f', 'f', 'f', 'f', 'f'];
  const pred = ['s', 's', 's', 'f', 's', 's', 'f', 'f', 'f', 'f'];
  const r = completenessPurity(truth, pred);
  assert.equal(r.n, 10);
  assert.equal(r.accuracy, 0.7);
  assert.deepEqual(Object.keys(r.perClass), ['f', 's']);
  assert.deepEqual(r.perClass.s, { n: 4, predicted: 5, correct: 3, completeness: 3 / 4, purity: 3 / 5 });
  assert.deepEqual(r.perClass.f, { n: 6, predicted: 5, correct: 4, completeness: 4 / 6, purity: 4 / 5 });
});

test('a class never predicted has null purity; never present, null completeness', () => {
  const r = completenessPurity(['a', 'a', 'b'], ['a', 'a', 'a'], ['a', 'b', 'c']);
  assert.equal(r.perClass.b.purity, null);
  assert.equal(r.perClass.b.completeness, 0);
  assert.equal(r.perClass.c.completeness, null);
  assert.equal(r.perClass.c.purity, null);
  assert.equal(r.perClass.a.purity, 2 / 3);
});

test('mismatched lengths, no labels and unknown classes are clear errors', () => {
  assert.throws(() => completenessPurity(['a'], []), OptionError);
  assert.throws(() => completenessPurity([], []), /no labels/);
  assert.throws(() => completenessPurity(['a', 'x'], ['a', 'a'], ['a', 'b']), /label "x" \(row 1\)/);
});
