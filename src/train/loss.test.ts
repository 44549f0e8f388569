import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../engine/index.js';
import { createSchema, getSchema } from '../schema/index.js';
import { digamma, dirichletMultinomialNll, expectedFractions, logGamma, treeLoss } from './loss.js';
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

/**
 * The loss as it was written before the fused op: tfjs ops only (shifted Stirling series for
 * the log-gamma differences, autodiff for the gradient). Kept as the reference the fused op
 * must reproduce, so that training behaves as it did.
 */
function previousNll(counts: tf.Tensor2D, alpha: tf.Tensor2D, schema: ReturnType<typeof getSchema>): tf.Tensor2D {
  const SHIFT = 6;
  const series = (z: tf.Tensor) => {
    const r = tf.reciprocal(z);
    const r2 = tf.square(r);
    return tf.mul(r, tf.sub(1 / 12, tf.mul(r2, tf.sub(1 / 360, tf.mul(r2, tf.sub(1 / 1260, tf.mul(r2, 1 / 1680)))))));
  };
  const log1p = (u: tf.Tensor) => {
    const s = tf.div(u, tf.add(u, 2));
    const s2 = tf.square(s);
    let sum: tf.Tensor = tf.scalar(1 / 17);
    for (let k = 7; k >= 0; k--) sum = tf.add(1 / (2 * k + 1), tf.mul(s2, sum));
    const useSmall = tf.step(tf.sub(0.5, u));
    return tf.add(tf.mul(useSmall, tf.mul(tf.mul(s, 2), sum)), tf.mul(tf.sub(1, useSmall), tf.log(tf.add(u, 1))));
  };
  const ratio = (x: tf.Tensor, n: tf.Tensor) => {
    const z = tf.add(x, SHIFT);
    const w = tf.add(z, n);
    let out = tf.add(tf.mul(tf.sub(z, 0.5), log1p(tf.div(n, z))), tf.mul(n, tf.sub(tf.log(w), 1)));
    out = tf.add(out, tf.sub(series(w), series(z)));
    for (let i = 0; i < SHIFT; i++) out = tf.sub(out, log1p(tf.div(n, i === 0 ? x : tf.add(x, i))));
    return out;
  };
  return tf.tidy(() => {
    const m = new Float32Array(schema.nAnswers * schema.questions.length);
    for (const q of schema.questions) for (let a = q.start; a < q.end; a++) m[a * schema.questions.length + q.index] = 1;
    const seg = tf.tensor2d(m, [schema.nAnswers, schema.questions.length]);
    const total = tf.matMul(counts, seg);
    const perAnswer = tf.sub(ratio(alpha, counts), ratio(tf.onesLike(counts), counts));
    const logLik = tf.add(tf.sub(ratio(tf.onesLike(total), total), ratio(tf.matMul(alpha, seg), total)), tf.matMul(perAnswer, seg));
    return tf.where(tf.greater(total, 0), tf.neg(logLik), tf.zerosLike(logLik)) as tf.Tensor2D;
  });
}

/** Deterministic pseudo-random stream for test inputs. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('logGamma matches an independent float64 implementation (Lanczos) to 1e-13', () => {
  assert.ok(Math.abs(lgammaRef(0.5) - 0.5 * Math.log(Math.PI)) < 1e-13);
  assert.ok(Math.abs(lgammaRef(10) - Math.log(362880)) < 1e-12);
  let worst = 0;
  for (let e = -3; e <= 4; e += 0.01) {
    const x = 10 ** e;
    const ref = lgammaRef(x);
    worst = Math.max(worst, Math.abs(logGamma(x) - ref) / Math.max(1, Math.abs(ref)));
  }
  for (const [x, exact] of [[1, 0], [2, 0], [3, Math.log(2)], [0.5, 0.5 * Math.log(Math.PI)], [101, Math.log(9.332621544394415e157)]]) {
    worst = Math.max(worst, Math.abs(logGamma(x) - exact) / Math.max(1, Math.abs(exact)));
  }
  assert.ok(worst < 1e-13, `worst relative error ${worst}`);
  for (const bad of [0, -1, NaN, -Infinity]) assert.ok(Number.isNaN(logGamma(bad)) && Number.isNaN(digamma(bad)), `${bad}`);
});

test('digamma is the derivative of logGamma and obeys ψ(x+1) = ψ(x) + 1/x', () => {
  assert.ok(Math.abs(digamma(1) + 0.5772156649015329) < 1e-14);
  assert.ok(Math.abs(digamma(0.5) + 0.5772156649015329 + 2 * Math.LN2) < 1e-14);
  for (const x of [1e-3, 0.01, 0.3, 1, 2.5, 7, 9.99, 10, 40, 150, 3000]) {
    const h = 1e-4 * x;
    const fd = (lgammaRef(x + h) - lgammaRef(x - h)) / (2 * h);
    assert.ok(Math.abs(digamma(x) - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `x=${x}: ${digamma(x)} vs ${fd}`);
    assert.ok(Math.abs(digamma(x + 1) - digamma(x) - 1 / x) < 1e-12 * Math.max(1, 1 / x), `recurrence at ${x}`);
  }
});

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`on the ${backend} backend`, () => {
    before(() => initEngine({ backend }));

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
        assert.ok(Math.abs(nll[r][0] - q1) < 1e-6 * Math.max(1, q1), `row ${r} q1: ${nll[r][0]} vs ${q1}`);
        assert.ok(Math.abs(nll[r][1] - q2) < 1e-6 * Math.max(1, q2), `row ${r} q2: ${nll[r][1]} vs ${q2}`);
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

    test('equals the previous op-by-op loss, value and gradient, on realistic batches of both trees', () => {
      const schema = getSchema('decals-dr5+gz2');
      const rand = lcg(23);
      const rows = 32;
      const A = schema.nAnswers;
      // Vote counts as the simulator makes them: 5 or 30-70 volunteers, fewer down the tree, none for one tree at times.
      const counts = Array.from({ length: rows * A }, (_, i) => (rand() < 0.3 ? 0 : Math.floor(rand() * ((i % 7 === 0 ? 60 : 8) + 1))));
      for (let a = schema.questions[0].start; a < schema.questions[0].end; a++) counts[5 * A + a] = 0;
      const logits = tf.tensor2d(Array.from({ length: rows * A }, () => 8 * rand() - 4), [rows, A]);
      const y = tf.tensor2d(counts, [rows, A]);
      const run = (nll: typeof dirichletMultinomialNll) =>
        tf.tidy(() => {
          const f = (l: tf.Tensor) => tf.mean(tf.sum(nll(y, toConcentrations(l) as tf.Tensor2D, schema), 1));
          const { value, grad } = tf.valueAndGrad(f)(logits);
          return { perQuestion: nll(y, toConcentrations(logits) as tf.Tensor2D, schema).dataSync(), loss: value.dataSync()[0], grad: grad.dataSync() };
        });
      const now = run(dirichletMultinomialNll);
      const before = run(previousNll);
      // The previous ops lost up to ~4e-5 (relative) to float32 cancellation on 60-vote questions; the fused op is exact to float32 rounding (test above).
      now.perQuestion.forEach((v, i) => assert.ok(Math.abs(v - before.perQuestion[i]) < 1e-4 * Math.max(1, Math.abs(v)), `nll ${i}: ${v} vs ${before.perQuestion[i]}`));
      assert.ok(Math.abs(now.loss - before.loss) < 1e-5 * now.loss, `loss ${now.loss} vs ${before.loss}`);
      const scale = Math.max(...before.grad.map(Math.abs));
      now.grad.forEach((v, i) => assert.ok(Math.abs(v - before.grad[i]) < 1e-4 * scale, `grad ${i}: ${v} vs ${before.grad[i]}`));
      tf.dispose([logits, y]);
    });

    test('gradient w.r.t. concentrations matches float64 finite differences of the exact likelihood', () => {
      const rand = lcg(5);
      const counts = [3, 0, 11, 2, 1];
      const alpha = [1.2, 40, 7.5, 99, 2.25];
      const weights = [0.7, -1.3];
      const ref = (a: number[]) => -weights[0] * dmLogPmfExact(counts.slice(0, 3), a.slice(0, 3)) - weights[1] * dmLogPmfExact(counts.slice(3), a.slice(3));
      const g = tf.tidy(() =>
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(dirichletMultinomialNll(tf.tensor2d([counts]), a as tf.Tensor2D, tiny), tf.tensor2d([weights]))))(tf.tensor2d([alpha])).dataSync(),
      );
      alpha.forEach((x, i) => {
        const h = 1e-6 * x * (1 + rand());
        const up = alpha.slice();
        const dn = alpha.slice();
        up[i] += h;
        dn[i] -= h;
        const fd = (ref(up) - ref(dn)) / (2 * h);
        assert.ok(Math.abs(g[i] - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `alpha ${i}: ${g[i]} vs ${fd}`);
      });
    });

    test('mismatched shapes are a clear error', () => {
      const counts = tf.tensor2d([[1, 2, 3, 0]]);
      const alpha = tf.tensor2d([[2, 3, 4, 5]]);
      assert.throws(() => dirichletMultinomialNll(counts, alpha, tiny), /\[batch, 5\] for schema 'tiny'/);
      tf.dispose([counts, alpha]);
    });

    test('concentrations lie in (1, 101) and fractions sum to one per question', () => {
      const c = tf.tidy(() => toConcentrations(tf.tensor1d([-50, -3, 0, 3, 50])).dataSync());
      assert.ok(c.every((v) => v >= 1 && v <= 101));
      assert.equal(c[2], 51);
      const fr = expectedFractions([2, 3, 5, 1, 3], tiny);
      assert.deepEqual([...fr].map((v) => +v.toFixed(6)), [0.2, 0.3, 0.5, 0.25, 0.75]);
    });

    test('a saturated concentration can still be pulled up: the sigmoid slope is floored at 1e-2 where the loss wants a larger alpha', () => {
      const xs = [-40, -8, 0, 3, 40];
      const sigmoidSlope = (v: number) => Math.exp(-v) / (1 + Math.exp(-v)) ** 2;
      const x = tf.tensor1d(xs);
      // Loss −Σα wants every α larger: floored slope. Loss +Σα wants them smaller: the true slope.
      const up = tf.tidy(() => tf.grad((l: tf.Tensor) => tf.neg(tf.sum(toConcentrations(l))))(x).dataSync());
      const down = tf.tidy(() => tf.grad((l: tf.Tensor) => tf.sum(toConcentrations(l)))(x).dataSync());
      xs.forEach((v, i) => {
        const want = 100 * Math.max(sigmoidSlope(v), 1e-2);
        assert.ok(Math.abs(-up[i] - want) < 1e-4 * want + 1e-6, `pull up at x = ${v}: ${up[i]}`);
        assert.ok(Math.abs(down[i] - 100 * sigmoidSlope(v)) < 1e-4 * 100 * sigmoidSlope(v) + 1e-6, `push down at x = ${v}: ${down[i]}`);
      });
      assert.ok(-up[0] > 0.9 && down[0] < 1e-10, 'a logit at -40 must move up, not further down');
      x.dispose();
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
