/** Isolation forest, Gaussian process, acquisition: the numerical pieces of anomaly detection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ActiveLearner, ConditionedVariance, GaussianProcess, argsortDescending, expectedImprovement, fitIsolationForest, scoreIsolationForest,
  topExpectedImprovement, unsupervisedScores, type FeatureMatrix,
} from '../src/anomaly/index.js';
import { Rng } from '../src/sim/rng.js';

function gaussian(rows: number, dim: number, seed: number): FeatureMatrix {
  const rng = new Rng(seed, 'test');
  return { rows, dim, data: Float32Array.from({ length: rows * dim }, () => rng.normal()) };
}

test('isolation forest ranks planted outliers first, and is seeded', () => {
  const x = gaussian(3000, 8, 1);
  const planted = [5, 500, 1000, 1500, 2999];
  for (const r of planted) for (let k = 0; k < 8; k++) x.data[r * 8 + k] = x.data[r * 8 + k] * 0.5 + (k % 2 ? 5 : -5);
  const s = scoreIsolationForest(fitIsolationForest(x, { seed: 3 }), x);
  const top = Array.from(argsortDescending(s).subarray(0, planted.length)).sort((a, b) => a - b);
  assert.deepEqual(top, planted);
  for (const r of planted) assert.ok(s[r] > 0.65, `outlier score ${s[r]}`);
  assert.ok(s.every((v) => v > 0 && v <= 1));
  assert.deepEqual(scoreIsolationForest(fitIsolationForest(x, { seed: 3 }), x), s, 'same seed, same scores');
  assert.notDeepEqual(scoreIsolationForest(fitIsolationForest(x, { seed: 4 }), x), s);
});

test('unsupervisedScores: PCA to standardised components, then the forest', () => {
  const v = gaussian(800, 64, 2);
  for (let k = 0; k < 64; k++) v.data[7 * 64 + k] *= 5; // far out in every direction
  // An outlier this far out becomes its own principal axis; among 40 whitened axes an
  // axis-parallel forest rarely cuts along it (see the README's limits), among 8 it does.
  const s = unsupervisedScores(v, { trees: 100, components: 8 });
  assert.equal(s.length, 800);
  assert.equal(argsortDescending(s)[0], 7);
  assert.throws(() => unsupervisedScores(v, { trees: 0 }), /trees must be a positive integer/);
});

test('GP posterior matches a hand-computed two-point case', async () => {
  // x = 0, 1; y = 0, 1 → mean 0.5, scale 0.5, ỹ = (−1, 1). Kernel A = 1, ℓ = 1, α = 1, σ²ₙ = 0.1:
  // k(r²) = (1 + r²/2)⁻¹, K = [[1.1, 2/3], [2/3, 1.1]], det = 1.21 − 4/9.
  // At x* = 0.25: k* = (1/1.03125, 1/1.28125) = (0.969697, 0.780488);
  // μ̃ = k*ᵀK⁻¹ỹ = (k₁ − k₀)/(1.1 − 2/3) = −0.436637 → μ = 0.5 + 0.5 μ̃ = 0.281681;
  // σ̃² = 1 − (1.1(k₀² + k₁²) − (4/3) k₀k₁)/det = 0.0917644 → σ = 0.5 · 0.302926 = 0.151463.
  const gp = GaussianProcess.fit(Float32Array.of(0, 1), 1, [0, 1], { initial: { amplitude: 1, lengthScale: 1, alpha: 1, noise: 0.1 }, optimise: false });
  const exact = gp.predictPoint([0.25]);
  assert.ok(Math.abs(exact.mean - 0.281681) < 2e-6, `mean ${exact.mean}`);
  assert.ok(Math.abs(exact.std - 0.151463) < 2e-6, `std ${exact.std}`);
  const fast = await gp.predict({ rows: 2, dim: 1, data: Float32Array.of(0.25, 0.75) }, { std: true });
  assert.ok(Math.abs(fast.mean[0] - 0.281681) < 1e-5);
  assert.ok(Math.abs(fast.mean[1] - 0.718319) < 1e-5, 'antisymmetric point');
  assert.ok(Math.abs(fast.std![0] - 0.151463) < 1e-4);
});

test('GP fit raises the marginal likelihood; blocked prediction matches the exact one', async () => {
  const rng = new Rng(5, 'gp');
  const n = 60, d = 5;
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const y = Array.from({ length: n }, (_, i) => 2.5 + 2 * Math.tanh(x[i * d] + 0.5 * x[i * d + 1]) + 0.1 * rng.normal());
  const init = { amplitude: 1, lengthScale: 1, alpha: 1, noise: 0.5 };
  const fixed = GaussianProcess.fit(x, d, y, { initial: init, optimise: false });
  const fitted = GaussianProcess.fit(x, d, y, { initial: init });
  assert.ok(fitted.logMarginalLikelihood > fixed.logMarginalLikelihood + 1, `${fitted.logMarginalLikelihood} vs ${fixed.logMarginalLikelihood}`);
  assert.ok(fitted.kernel.noise < 0.2, `noise ${fitted.kernel.noise}`);
  const q = gaussian(500, d, 6);
  const post = await fitted.predict(q, { std: true, blockSize: 128 });
  let worstMean = 0, worstStd = 0;
  for (let i = 0; i < q.rows; i++) {
    const e = fitted.predictPoint(q.data.subarray(i * d, i * d + d));
    worstMean = Math.max(worstMean, Math.abs(e.mean - post.mean[i]));
    worstStd = Math.max(worstStd, Math.abs(e.std - post.std![i]));
  }
  assert.ok(worstMean < 1e-4, `mean differs by ${worstMean}`);
  assert.ok(worstStd < 2e-3, `std differs by ${worstStd}`);
});

test('GP fit: equal scores keep an uncertain kernel; a degenerate warm start is not kept', async () => {
  const rng = new Rng(13, 'gp');
  const n = 40, d = 3;
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  // All zeros: the likelihood would flatten the GP (amplitude → 0, ℓ → ∞) and σ would vanish.
  const flat = GaussianProcess.fit(x, d, new Array(n).fill(0));
  assert.ok(Math.abs(flat.kernel.amplitude - 1) < 1e-12 && Math.abs(flat.kernel.noise - 0.1) < 1e-12, JSON.stringify(flat.kernel));
  const far = flat.predictPoint([10, 10, 10]);
  assert.ok(far.std > 0.9, `σ far from the labels ${far.std}`);
  // A warm start in the flat corner must not trap the search once the scores differ.
  const y = Array.from({ length: n }, (_, i) => Math.round(2.5 + 2 * Math.tanh(x[i * d])));
  const corner = { amplitude: 1e-3, lengthScale: 1e4, alpha: 0.5, noise: 1e-5 };
  const warm = GaussianProcess.fit(x, d, y, { initial: corner });
  const cold = GaussianProcess.fit(x, d, y);
  assert.ok(warm.logMarginalLikelihood >= cold.logMarginalLikelihood - 1e-6, `${warm.logMarginalLikelihood} vs ${cold.logMarginalLikelihood}`);
  assert.ok(warm.kernel.lengthScale < 100, `length scale ${warm.kernel.lengthScale}`);
});

test('expected improvement: closed form and limits', () => {
  assert.equal(expectedImprovement(3, 0, 1, 0.5), 1.5);
  assert.equal(expectedImprovement(0, 0, 1, 0.5), 0);
  // μ = best + ξ: EI = σ φ(0) = σ / √(2π)
  assert.ok(Math.abs(expectedImprovement(1.5, 2, 1, 0.5) - 2 / Math.sqrt(2 * Math.PI)) < 1e-9);
  assert.ok(expectedImprovement(1, 2, 1, 0) > expectedImprovement(1, 1, 1, 0), 'grows with σ');
  assert.ok(expectedImprovement(2, 1, 1, 0) > expectedImprovement(1, 1, 1, 0), 'grows with μ');
});

test('pruned EI search returns the brute-force top k', async () => {
  const x = gaussian(3000, 6, 7);
  const labelled = Array.from({ length: 40 }, (_, i) => i * 70);
  const xl = new Float32Array(labelled.length * 6);
  labelled.forEach((r, i) => xl.set(x.data.subarray(r * 6, r * 6 + 6), i * 6));
  const y = labelled.map((r) => Math.max(0, Math.min(5, Math.round(2 + 2 * x.data[r * 6]))));
  const gp = GaussianProcess.fit(xl, 6, y);
  const excluded = new Uint8Array(x.rows);
  for (const r of labelled) excluded[r] = 1;
  const { mean, std } = await gp.predict(x, { std: true });
  const best = Math.max(...y);
  const ei = Float64Array.from(mean, (m, i) => (excluded[i] ? -1 : expectedImprovement(m, std![i], best, 0.5)));
  const brute = Array.from(argsortDescending(ei).subarray(0, 10));
  const sel = await topExpectedImprovement(gp, x, { count: 10, best, tradeoff: 0.5, excluded, mean, blockSize: 100, believer: false });
  assert.deepEqual(sel.rows, brute);
  assert.ok(sel.evaluated < x.rows, `σ computed for ${sel.evaluated} of ${x.rows} rows`);
});

test('conditioning on believed points by rank-1 updates matches refitting with them', async () => {
  const d = 4;
  const x = gaussian(400, d, 11);
  const labelled = Array.from({ length: 30 }, (_, i) => i * 13);
  const xl = new Float32Array(labelled.length * d);
  labelled.forEach((r, i) => xl.set(x.data.subarray(r * d, r * d + d), i * d));
  const y = labelled.map((r) => Math.max(0, Math.min(5, Math.round(2 + 2 * x.data[r * d]))));
  const gp = GaussianProcess.fit(xl, d, y, { maxIterations: 10 });
  const at = (r: number) => x.data.subarray(r * d, r * d + d);
  const rows = Array.from({ length: 200 }, (_, i) => 1 + 2 * i);
  // Exact float64 variances in, so the comparison measures the update alone.
  const before = rows.map((r) => gp.predictPoint(at(r)).std ** 2);
  const cv = new ConditionedVariance(gp, x);
  // Condition on two tracked rows, then track more rows (they must see both points too).
  await cv.add(rows.slice(0, 120), before.slice(0, 120));
  await cv.condition(5);
  await cv.condition(77);
  await cv.add(rows.slice(120), before.slice(120));
  const picks = [rows[5], rows[77]];
  const xr = new Float32Array((labelled.length + 2) * d);
  xr.set(xl);
  picks.forEach((r, i) => xr.set(at(r), (labelled.length + i) * d));
  const believed = picks.map((r) => gp.predictPoint(at(r)).mean);
  const refit = GaussianProcess.fit(xr, d, [...y, ...believed], { initial: gp.kernel, optimise: false });
  // The refit rescales its targets, so compare standard deviations in each model's own units.
  let worst = 0;
  rows.forEach((r, i) => {
    const exact = refit.predictPoint(at(r)).std / refit.prior.scale;
    worst = Math.max(worst, Math.abs(Math.sqrt(cv.variance[i]) / gp.prior.scale - exact));
  });
  assert.ok(worst < 1e-4, `normalised std differs by ${worst}`);
});

test('a believer batch spreads out where the plain top 10 piles into one cluster', async () => {
  // A crowd of labelled 0s and two tight unlabelled clusters: A (40 galaxies) 4 away, B (20) 3
  // away. A is the more uncertain, so the plain top 10 all come from it.
  const d = 2;
  const rng = new Rng(12, 'clusters');
  const rows = 600;
  const data = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const [cx, cy, s] = i < 40 ? [4, 0, 0.05] : i < 60 ? [0, -3, 0.05] : [0, 0, 0.5];
    data[i * d] = cx + s * rng.normal();
    data[i * d + 1] = cy + s * rng.normal();
  }
  const x = { rows, dim: d, data };
  const labelled = Array.from({ length: 54 }, (_, i) => 60 + i * 10);
  const xl = new Float32Array(labelled.length * d);
  labelled.forEach((r, i) => xl.set(data.subarray(r * d, r * d + d), i * d));
  const gp = GaussianProcess.fit(xl, d, labelled.map(() => 0), { initial: { amplitude: 1, lengthScale: 1, alpha: 1, noise: 0.1 }, optimise: false });
  const excluded = new Uint8Array(rows);
  for (const r of labelled) excluded[r] = 1;
  const { mean } = await gp.predict(x);
  const o = { count: 10, best: 1, tradeoff: 0.5, excluded, mean };
  const greedy = await topExpectedImprovement(gp, x, { ...o, believer: false });
  const spread = await topExpectedImprovement(gp, x, { ...o, believer: true });
  assert.ok(greedy.rows.every((r) => r < 40), `plain top 10: ${greedy.rows}`);
  assert.equal(spread.rows[0], greedy.rows[0], 'the first pick is the same');
  assert.ok(spread.rows.filter((r) => r < 40).length <= 2, `believer: ${spread.rows}`);
  assert.ok(spread.rows.some((r) => r >= 40 && r < 60), `believer: ${spread.rows}`);
});

test('the active learner never asks about a galaxy twice', async () => {
  const x = gaussian(150, 4, 8);
  const anomaly = Float64Array.from({ length: 150 }, (_, i) => i / 150);
  const learner = new ActiveLearner(x, anomaly, { batchSize: 10, seed: 1 });
  const seen = new Set<number>();
  for (let round = 0; round < 16; round++) {
    const qs = await learner.nextQueries(10);
    for (const q of qs) {
      assert.ok(!seen.has(q.row), `row ${q.row} asked twice (round ${round})`);
      seen.add(q.row);
      if (q.row % 7 === 0) learner.markAsked([q.row]);
      else learner.setLabel(q.row, Math.max(0, Math.min(5, Math.round(2.5 + 2 * x.data[q.row * 4]))));
    }
    assert.equal(qs.length, Math.min(10, 150 - 10 * round));
    if (round > 0) assert.ok(qs.every((q) => q.reason === 'expected-improvement'));
  }
  assert.equal(seen.size, 150);
  assert.deepEqual(await learner.nextQueries(10), []);
  const r = await learner.rank();
  for (const [row, v] of learner.labels) assert.equal(r.score[row], v, 'labelled galaxies keep their label');
  assert.throws(() => learner.setLabel(0, 6), /from 0 to 5/);
  assert.throws(() => new ActiveLearner(x, anomaly, { coldStart: 'sideways' as 'random' }), /unknown cold start "sideways"; valid: random, anomalous/);
});

test('parallel posterior means equal the single-thread ones', async () => {
  const { predictMean } = await import('../src/anomaly/parallel.js');
  const x = gaussian(60_000, 8, 9);
  const n = 50;
  const y = Array.from({ length: n }, (_, i) => Math.round(2.5 + 2 * Math.tanh(x.data[i * 8])));
  const gp = GaussianProcess.fit(x.data.slice(0, n * 8), 8, y, { maxIterations: 5 });
  const one = (await gp.predict(x)).mean;
  const two = await predictMean(gp, x, 2);
  assert.equal(two.length, one.length);
  let worst = 0;
  for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(one[i] - two[i]));
  assert.ok(worst < 1e-9, `differs by ${worst}`);
});

test('anomalous cold start draws the first batch from the top of the anomaly ranking', async () => {
  const x = gaussian(1000, 3, 10);
  const anomaly = Float64Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
  const top = new Set(Array.from(argsortDescending(anomaly).subarray(0, 50)));
  const learner = new ActiveLearner(x, anomaly, { coldStart: 'anomalous', seed: 3 });
  const first = await learner.nextQueries(10);
  assert.equal(new Set(first.map((q) => q.row)).size, 10);
  assert.ok(first.every((q) => top.has(q.row) && q.reason === 'cold-start'));
  assert.throws(() => new ActiveLearner(x, anomaly, { interestingScore: 6 }), /interesting score must be in \(0, 5\], got 6/);
});

test('the trade-off switches to tradeoffOnceFound (default 0) once some galaxy scores as interesting', async () => {
  const x = gaussian(400, 3, 11);
  const anomaly = new Float64Array(400);
  const learner = (o: ConstructorParameters<typeof ActiveLearner>[2], interesting: boolean) => {
    const l = new ActiveLearner(x, anomaly, { seed: 2, ...o });
    for (let r = 0; r < 10; r++) l.setLabel(r, 1);
    if (interesting) l.setLabel(10, 4);
    return l;
  };
  const rows = async (l: ActiveLearner) => (await l.nextQueries(5)).map((q) => q.row);
  // Nothing interesting yet: the first trade-off applies; once found, the second.
  assert.deepEqual(await rows(learner({ tradeoff: 3, tradeoffOnceFound: 0 }, false)), await rows(learner({ tradeoff: 3 }, false)));
  assert.deepEqual(await rows(learner({ tradeoff: 3, tradeoffOnceFound: 0 }, true)), await rows(learner({ tradeoff: 0 }, true)));
  assert.notDeepEqual(await rows(learner({ tradeoff: 3, tradeoffOnceFound: 3 }, true)), await rows(learner({ tradeoff: 0 }, true)), 'the two trade-offs choose differently here');
  assert.throws(() => new ActiveLearner(x, anomaly, { tradeoffOnceFound: -1 }), /trade-off must be ≥ 0, got -1/);
});
