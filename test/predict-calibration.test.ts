/** calibration(): coverage ≈ nominal for a calibrated predictor, lower for an overconfident one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cell } from '../src/data/index.js';
import { getSchema } from '../src/schema/index.js';
import { betaCdf, calibration, midPit } from '../src/predict/index.js';

const schema = getSchema('decals-dr5');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Marsaglia–Tsang gamma(shape, 1) sampler. */
function gamma(shape: number, u: () => number): number {
  if (shape < 1) return gamma(shape + 1, u) * u() ** (1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    const v = (1 + c * z) ** 3;
    if (v > 0 && Math.log(u()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Galaxies whose true answer probabilities are drawn from the predicted Dirichlet, then voted on. */
function simulate(n: number, seed: number, shrinkStd = 1) {
  const u = rng(seed);
  const predictions: Record<string, Cell>[] = [];
  const votes: Record<string, Cell>[] = [];
  for (let g = 0; g < n; g++) {
    const p: Record<string, Cell> = { id: `g${g}`, status: 'ok' };
    const v: Record<string, Cell> = { iauname: `g${g}` };
    for (const q of schema.questions) {
      const alpha = q.columns.map(() => 1 + 30 * u());
      const A = alpha.reduce((a, b) => a + b, 0);
      const draws = alpha.map((a) => gamma(a, u));
      const sum = draws.reduce((a, b) => a + b, 0);
      const probs = draws.map((x) => x / sum);
      const nVotes = 3 + Math.floor(u() * 40);
      const counts = q.columns.map(() => 0);
      for (let k = 0; k < nVotes; k++) {
        let r = u(), a = 0;
        while (a < probs.length - 1 && r >= probs[a]) r -= probs[a++];
        counts[a]++;
      }
      q.columns.forEach((c, a) => {
        const m = alpha[a] / A;
        p[`${c}_fraction`] = m;
        p[`${c}_fraction_std`] = shrinkStd * Math.sqrt((m * (1 - m)) / (A + 1));
        v[c] = counts[a];
        v[`oracle_${c}`] = probs[a];
      });
    }
    predictions.push(p);
    votes.push(v);
  }
  return { predictions, votes };
}

test('midPit matches closed forms: binomial limit and the uniform beta-binomial', () => {
  const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-6, `${x} vs ${y}`);
  // s → 0: binomial(2, 0.5) = 1/4, 1/2, 1/4.
  [0.125, 0.5, 0.875].forEach((v, k) => close(midPit(k, 2, 0.5, 1e-6), v));
  // Beta(1, 1) (mean 1/2, std sqrt(1/12)): uniform on 0…n.
  for (let k = 0; k <= 10; k++) close(midPit(k, 10, 0.5, Math.sqrt(1 / 12)), (k + 0.5) / 11);
});

test('a calibrated predictor covers ≈ 68% / 95%; an overconfident one much less', () => {
  const { predictions, votes } = simulate(600, 1);
  const r = calibration(predictions, votes, { schema, votesIdColumn: 'iauname' });
  assert.equal(r.matched, 600);
  assert.equal(r.questions.length, schema.questions.length);
  assert.ok(Math.abs(r.overall['0.68'] - 0.68) < 0.03, `68%: ${r.overall['0.68']}`);
  assert.ok(Math.abs(r.overall['0.95'] - 0.95) < 0.02, `95%: ${r.overall['0.95']}`);
  for (const q of r.questions) {
    assert.equal(q.galaxies, 600);
    assert.ok(Math.abs(q.coverage['0.68'] - 0.68) < 0.07, `${q.question}: ${q.coverage['0.68']}`);
  }
  const over = simulate(600, 1, 0.2);
  const o = calibration(over.predictions, over.votes, { schema, votesIdColumn: 'iauname' });
  assert.ok(o.overall['0.68'] < r.overall['0.68'] - 0.05, `overconfident 68%: ${o.overall['0.68']}`);
});

test('error rows, unmatched ids and questions below minVotes are left out', () => {
  const { predictions, votes } = simulate(20, 2);
  predictions[0].status = 'error: bad image';
  const r = calibration(predictions, votes.slice(0, 10), { schema, votesIdColumn: 'iauname', minVotes: 1000 });
  assert.equal(r.matched, 9);
  assert.ok(r.questions.every((q) => q.galaxies === 0 && Number.isNaN(q.coverage['0.68'])));
});

test('betaCdf closed forms; true probabilities fall in the predicted intervals at the nominal rate', () => {
  for (const x of [0.1, 0.5, 0.9]) {
    assert.ok(Math.abs(betaCdf(x, 1, 1) - x) < 1e-12);
    assert.ok(Math.abs(betaCdf(x, 2, 1) - x * x) < 1e-12);
    assert.ok(Math.abs(betaCdf(x, 3, 5) + betaCdf(1 - x, 5, 3) - 1) < 1e-12);
  }
  const { predictions, votes } = simulate(600, 5);
  const r = calibration(predictions, votes, { schema, votesIdColumn: 'iauname', truthPrefix: 'oracle_' });
  assert.ok(Math.abs(r.overall['0.68'] - 0.68) < 0.03, `68%: ${r.overall['0.68']}`);
  assert.ok(Math.abs(r.overall['0.95'] - 0.95) < 0.015, `95%: ${r.overall['0.95']}`);
});
