import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../engine/index.js';
import { createSchema, getSchema } from '../schema/index.js';
import { dirichletMultinomialNll, expectedFractions, lgamma, lgammaRatio, treeLoss } from './loss.js';
import { toConcentrations } from '../models/layers.js';


/** Independent float64 log Γ: Lanczos approximation (g = 7, n = 9) with reflection. */
function lgammaRef(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgammaRef(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Exact Dirichlet-multinomial log-pmf for integer counts, with no gamma function at all:
 * Γ(n+α)/Γ(α) is the rising factorial α(α+1)…(α+n−1).
 */
function dmLogPmfExact(n: number[], alpha: number[]): number {
  const N = n.reduce((s, v) => s + v, 0);
  const A = alpha.reduce((s, v) => s + v, 0);
  let lp = 0;
  for (let j = 1; j <= N; j++) lp += Math.log(j);
  n.forEach((nk, k) => {
    for (let j = 1; j <= nk; j++) lp -= Math.log(j);
    for (let j = 0; j < nk; j++) lp += Math.log(alpha[k] + j);
  });
  for (let j = 0; j < N; j++) lp -= Math.log(A + j);
  return lp;
}

function compositions(total: number, parts: number): number[][] {
  if (parts === 1) return [[total]];
  const out: number[][] = [];
  for (let i = 0; i <= total; i++) for (const rest of compositions(total - i, parts - 1)) out.push([i, ...rest]);
  return out;
}

const tiny = createSchema({
  name: 'tiny',
  questions: [
    { name: 'q1', answers: ['a', 'b', 'c'], askedIf: null },
    { name: 'q2', answers: ['yes', 'no'], askedIf: 'q1_a' },
  ],
});

test('reference DM pmf sums to one (sanity of the independent reference)', () => {
  for (const alpha of [[1.5, 2, 30], [1, 1, 1], [100, 3.3, 7]]) {
    for (const N of [0, 1, 4, 9]) {
      const total = compositions(N, 3).reduce((s, n) => s + Math.exp(dmLogPmfExact(n, alpha)), 0);
      assert.ok(Math.abs(total - 1) < 1e-12, `alpha=${alpha} N=${N}: ${total}`);
    }
  }
});

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`on the ${backend} backend`, () => {
    before(() => initEngine({ backend }));

    test('lgamma matches an independent float64 implementation to ~1e-6', () => {
      assert.ok(Math.abs(lgammaRef(0.5) - 0.5 * Math.log(Math.PI)) < 1e-13);
      assert.ok(Math.abs(lgammaRef(10) - Math.log(362880)) < 1e-12);
      const xs: number[] = [];
      for (let e = -3; e <= 4; e += 0.05) xs.push(10 ** e);
      xs.push(1, 2, 3, 0.5, 1.5, 101, 1000);
      const got = tf.tidy(() => lgamma(tf.tensor1d(xs)).dataSync());
      let worst = 0;
      xs.forEach((x, i) => {
        const ref = lgammaRef(x);
        const err = Math.abs(got[i] - ref) / Math.max(1, Math.abs(ref));
        worst = Math.max(worst, err);
      });
      assert.ok(worst < 2e-6, `worst relative error ${worst}`);
    });

    test('lgammaRatio = lgamma(x+n) − lgamma(x) without cancellation; exactly 0 at n = 0', () => {
      const xs: number[] = [];
      const ns: number[] = [];
      for (const x of [1e-3, 0.2, 1, 3.7, 51, 101, 606]) for (const n of [0, 1, 2, 7, 40, 300]) (xs.push(x), ns.push(n));
      const got = tf.tidy(() => lgammaRatio(tf.tensor1d(xs), tf.tensor1d(ns)).dataSync());
      xs.forEach((x, i) => {
        const ref = lgammaRef(x + ns[i]) - lgammaRef(x);
        if (ns[i] === 0) assert.equal(got[i], 0);
        else assert.ok(Math.abs(got[i] - ref) < 2e-6 * Math.max(1, Math.abs(ref)), `x=${x} n=${ns[i]}: ${got[i]} vs ${ref}`);
      });
    });

    test('lgamma gradient is digamma (finite differences of the float64 reference)', () => {
      const xs = [0.01, 0.3, 1, 2.5, 7, 40, 150];
      const grad = tf.grad((x: tf.Tensor) => tf.sum(lgamma(x)));
      const g = tf.tidy(() => grad(tf.tensor1d(xs)).dataSync());
      xs.forEach((x, i) => {
        const h = 1e-5 * Math.max(1, x);
        const fd = (lgammaRef(x + h) - lgammaRef(x - h)) / (2 * h);
        assert.ok(Math.abs(g[i] - fd) < 1e-4 * Math.max(1, Math.abs(fd)), `x=${x}: ${g[i]} vs ${fd}`);
      });
    });

    /** Deterministic pseudo-random stream for test inputs. */
    function lcg(seed: number): () => number {
      let s = seed >>> 0;
      return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    }

    test('per-question NLL equals the exact rising-factorial likelihood', () => {
      const rand = lcg(7);
      const rows = 40;
      const counts: number[][] = [];
      const alphas: number[][] = [];
      for (let r = 0; r < rows; r++) {
        const n1 = [0, 1, 2].map(() => Math.floor(rand() * (r % 3 === 0 ? 40 : 5)));
        const n2 = r % 4 === 0 ? [0, 0] : [Math.floor(rand() * 4), Math.floor(rand() * 4)];
        counts.push([...n1, ...n2]);
        alphas.push([0, 0, 0, 0, 0].map(() => 1 + 100 * rand()));
      }
      const nll = tf.tidy(() => dirichletMultinomialNll(tf.tensor2d(counts), tf.tensor2d(alphas), tiny).arraySync());
      for (let r = 0; r < rows; r++) {
        const q1 = -dmLogPmfExact(counts[r].slice(0, 3), alphas[r].slice(0, 3));
        const q2 = -dmLogPmfExact(counts[r].slice(3), alphas[r].slice(3));
        assert.ok(Math.abs(nll[r][0] - q1) < 1e-5 * Math.max(1, q1), `row ${r} q1: ${nll[r][0]} vs ${q1}`);
        assert.ok(Math.abs(nll[r][1] - q2) < 1e-5 * Math.max(1, q2), `row ${r} q2: ${nll[r][1]} vs ${q2}`);
      }
    });

    test('a question with zero votes contributes exactly zero loss and zero gradient', () => {
      const counts = tf.tensor2d([[0, 0, 0, 0, 0], [3, 1, 0, 0, 0]]);
      const logits = tf.tensor2d([[0.3, -2, 5, 1, -1], [0.1, 0.2, 0.3, 4, -4]]);
      const nll = tf.tidy(() => dirichletMultinomialNll(counts, toConcentrations(logits) as tf.Tensor2D, tiny).arraySync());
      assert.deepEqual(nll[0], [0, 0]);
      assert.equal(nll[1][1], 0);
      assert.ok(nll[1][0] > 0);
      const g = tf.tidy(() =>
        tf.grad((l: tf.Tensor) => treeLoss(counts, toConcentrations(l) as tf.Tensor2D, tiny))(logits).arraySync() as number[][],
      );
      assert.deepEqual(g[0], [0, 0, 0, 0, 0]);
      assert.deepEqual(g[1].slice(3), [0, 0]);
      assert.ok(g[1].slice(0, 3).every((v) => v !== 0 && Number.isFinite(v)));
      tf.dispose([counts, logits]);
    });

    test('loss gradient w.r.t. head logits matches float64 finite differences', () => {
      const schema = getSchema('decals-dr5');
      const rand = lcg(11);
      const A = schema.nAnswers;
      const counts = Array.from({ length: A }, () => Math.floor(rand() * 6));
      const logits = Array.from({ length: A }, () => 4 * rand() - 2);
      const conc = (l: number[]) => l.map((v) => 1 + 100 / (1 + Math.exp(-v)));
      const refLoss = (l: number[]) => {
        const a = conc(l);
        return schema.questions.reduce((s, q) => {
          const n = counts.slice(q.start, q.end);
          return n.some((v) => v > 0) ? s - dmLogPmfExact(n, a.slice(q.start, q.end)) : s;
        }, 0);
      };
      const lossVal = tf.tidy(() => treeLoss(tf.tensor2d([counts]), toConcentrations(tf.tensor2d([logits])) as tf.Tensor2D, schema).dataSync()[0]);
      assert.ok(Math.abs(lossVal - refLoss(logits)) < 1e-5 * refLoss(logits));
      const g = tf.tidy(() =>
        tf.grad((l: tf.Tensor) => treeLoss(tf.tensor2d([counts]), toConcentrations(l) as tf.Tensor2D, schema))(tf.tensor2d([logits])).dataSync(),
      );
      for (let i = 0; i < A; i++) {
        const h = 1e-5;
        const up = logits.slice();
        const dn = logits.slice();
        up[i] += h;
        dn[i] -= h;
        const fd = (refLoss(up) - refLoss(dn)) / (2 * h);
        assert.ok(Math.abs(g[i] - fd) < 1e-3 * Math.max(0.1, Math.abs(fd)), `answer ${schema.answerColumns[i]}: ${g[i]} vs ${fd}`);
      }
    });

    test('concentrations lie in (1, 101) and fractions sum to one per question', () => {
      const c = tf.tidy(() => toConcentrations(tf.tensor1d([-50, -3, 0, 3, 50])).dataSync());
      assert.ok(c.every((v) => v >= 1 && v <= 101));
      assert.equal(c[2], 51);
      const fr = expectedFractions([2, 3, 5, 1, 3], tiny);
      assert.deepEqual([...fr].map((v) => +v.toFixed(6)), [0.2, 0.3, 0.5, 0.25, 0.75]);
    });

    test('no tensors leak from the loss', () => {
      const before = tf.memory().numTensors;
      const counts = tf.tensor2d([[1, 2, 3, 0, 1]]);
      const alpha = tf.tensor2d([[2, 3, 4, 5, 6]]);
      treeLoss(counts, alpha, tiny).dispose();
      tf.dispose([counts, alpha]);
      assert.equal(tf.memory().numTensors, before);
    });
  });
}
