import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError } from '../errors.js';
import { checkNumbers, integerFrom, nonNegative, openFraction, positive, withDefaults } from './options.js';

test('withDefaults fills absent and undefined fields only', () => {
  const r = withDefaults<{ a?: number; b?: number; c?: string | false }, 'a' | 'b' | 'c'>({ a: undefined, c: false }, { a: 1, b: 2, c: 'x' });
  assert.deepEqual(r, { a: 1, b: 2, c: false });
});

test('checkNumbers names the function, the option, the rule and the value', () => {
  const rules = { n: integerFrom(1), f: openFraction, lr: positive, wd: nonNegative, d: { min: 0, max: 1, maxOpen: true } };
  checkNumbers('fit', { n: 3, f: 0.5, lr: 1e-3, wd: 0, d: 0 }, rules);
  const cases: [Record<string, number>, string][] = [
    [{ n: 1.5 }, 'fit: n must be an integer ≥ 1, got 1.5'],
    [{ n: 0 }, 'fit: n must be an integer ≥ 1, got 0'],
    [{ f: 1 }, 'fit: f must be in (0, 1), got 1'],
    [{ lr: 0 }, 'fit: lr must be > 0, got 0'],
    [{ wd: NaN }, 'fit: wd must be ≥ 0, got NaN'],
    [{ d: 1 }, 'fit: d must be in [0, 1), got 1'],
  ];
  for (const [bad, message] of cases) {
    assert.throws(() => checkNumbers('fit', { n: 3, f: 0.5, lr: 1e-3, wd: 0, d: 0, ...bad }, rules), (e: Error) => e instanceof OptionError && e.message === message);
  }
});
