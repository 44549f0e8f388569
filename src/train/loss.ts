/**
 * The Dirichlet-multinomial loss over a whole decision tree (Walmsley et al. 2022).
 *
 * Per question q with observed counts n (N = Σn votes) and predicted concentrations α
 * (A = Σα), the likelihood of the votes is
 *
 *   p(n | α) = N! / Πₖ nₖ! · Γ(A) / Γ(N + A) · Πₖ Γ(nₖ + αₖ) / Γ(αₖ)
 *
 * and the loss is −Σ_q log p(n_q | α_q) (questions treated as independent). A question nobody
 * answered (N = 0) carries no information and contributes exactly zero, so downstream
 * questions need no explicit mask. The multinomial coefficient does not depend on the
 * network but is kept so the loss is a true negative log-likelihood (comparable across runs).
 */
import { tf } from '../engine/index.js';
import type { Schema } from '../schema/index.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
/** Stirling shift: lgamma(x) = lgamma(x + SHIFT) − Σ_{i<SHIFT} log(x + i). */
const SHIFT = 6;

/**
 * log Γ(x) for x > 0 as differentiable tfjs ops (tfjs has no lgamma kernel).
 *
 * Shifts the argument to z = x + 6 by the recurrence, then uses Stirling's series to the
 * z⁻⁷ term; the truncation error at z ≥ 6 is below 1e-10, so float32 rounding (~1e-7
 * relative to the largest term) is what limits accuracy. The gradient (digamma) comes from
 * autodiff through the same ops.
 */
export function lgamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let shiftLog = tf.log(x);
    for (let i = 1; i < SHIFT; i++) shiftLog = tf.add(shiftLog, tf.log(tf.add(x, i)));
    const z = tf.add(x, SHIFT);
    const stirling = tf.add(tf.sub(tf.mul(tf.sub(z, 0.5), tf.log(z)), z), tf.add(stirlingSeries(z), HALF_LOG_2PI));
    return tf.sub(stirling, shiftLog);
  });
}

/** Stirling's series beyond the leading terms: 1/(12z) − 1/(360z³) + 1/(1260z⁵) − 1/(1680z⁷). */
function stirlingSeries(z: tf.Tensor): tf.Tensor {
  const r = tf.reciprocal(z);
  const r2 = tf.square(r);
  return tf.mul(r, tf.sub(1 / 12, tf.mul(r2, tf.sub(1 / 360, tf.mul(r2, tf.sub(1 / 1260, tf.mul(r2, 1 / 1680)))))));
}

/**
 * log(1 + u) for u ≥ 0, accurate for small u. The wasm backend computes tf.log1p as
 * log(1 + u), which loses ~1e-5 relative for u ~ 0.01; here small u use the series
 * log1p(u) = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …), s = u / (2 + u) ≤ 0.2 (9 terms: < 1e-12).
 * Both branches stay finite for u ≥ 0, so blending them leaves a clean gradient.
 */
function log1pNonNegative(u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.div(u, tf.add(u, 2));
    const s2 = tf.square(s);
    let series = tf.scalar(1 / 17);
    for (let k = 7; k >= 0; k--) series = tf.add(1 / (2 * k + 1), tf.mul(s2, series));
    const small = tf.mul(tf.mul(s, 2), series);
    // Blend with a 0/1 step (comparison ops have no gradient in tfjs; Step's is zero).
    const useSmall = tf.step(tf.sub(0.5, u));
    return tf.add(tf.mul(useSmall, small), tf.mul(tf.sub(1, useSmall), tf.log(tf.add(u, 1))));
  });
}

/**
 * log Γ(x + n) − log Γ(x) for x > 0, n ≥ 0, as differentiable ops.
 *
 * Evaluating the two log-gammas separately loses ~1e-4 to float32 cancellation when x is
 * ~100 (each term is ~360); written as a difference of the same shifted Stirling series it
 * only involves terms of size ~n·log(x), and it is exactly 0 when n = 0.
 */
export function lgammaRatio(x: tf.Tensor, n: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.add(x, SHIFT);
    const w = tf.add(z, n);
    // (w−½)log w − w − (z−½)log z + z = (z−½)·log1p(n/z) + n·(log w − 1)
    let out = tf.add(tf.mul(tf.sub(z, 0.5), log1pNonNegative(tf.div(n, z))), tf.mul(n, tf.sub(tf.log(w), 1)));
    out = tf.add(out, tf.sub(stirlingSeries(w), stirlingSeries(z)));
    for (let i = 0; i < SHIFT; i++) out = tf.sub(out, log1pNonNegative(tf.div(n, i === 0 ? x : tf.add(x, i))));
    return out;
  });
}

/** [nAnswers, nQuestions] 0/1 matrix: column q sums the answers of question q. */
function segmentMatrix(schema: Schema): tf.Tensor2D {
  const m = new Float32Array(schema.nAnswers * schema.questions.length);
  const nq = schema.questions.length;
  for (const q of schema.questions) for (let a = q.start; a < q.end; a++) m[a * nq + q.index] = 1;
  return tf.tensor2d(m, [schema.nAnswers, nq]);
}

/**
 * Negative log Dirichlet-multinomial likelihood of each question's votes.
 * @param counts vote counts `[batch, nAnswers]` in `schema.answerColumns` order (≥ 0)
 * @param concentrations Dirichlet concentrations `[batch, nAnswers]` (> 0)
 * @returns `[batch, nQuestions]`; exactly 0 where a question has no votes
 */
export function dirichletMultinomialNll(counts: tf.Tensor2D, concentrations: tf.Tensor2D, schema: Schema): tf.Tensor2D {
  return tf.tidy(() => {
    const seg = segmentMatrix(schema);
    const n = tf.cast(counts, 'float32');
    const alpha = concentrations;
    const total = tf.matMul(n, seg);
    const alphaTotal = tf.matMul(alpha, seg);
    const one = tf.onesLike(total);
    // log N! − Σ log nₖ!  +  Σ log[Γ(nₖ+αₖ)/Γ(αₖ)]  −  log[Γ(N+A)/Γ(A)]
    const perAnswer = tf.sub(lgammaRatio(alpha, n), lgammaRatio(tf.onesLike(n), n));
    const logLik = tf.add(tf.sub(lgammaRatio(one, total), lgammaRatio(alphaTotal, total)), tf.matMul(perAnswer, seg));
    return tf.where(tf.greater(total, 0), tf.neg(logLik), tf.zerosLike(logLik)) as tf.Tensor2D;
  });
}

/**
 * The training loss: Dirichlet-multinomial NLL summed over questions, averaged over the batch.
 * @param counts `[batch, nAnswers]` vote counts
 * @param concentrations `[batch, nAnswers]` head output
 */
export function treeLoss(counts: tf.Tensor2D, concentrations: tf.Tensor2D, schema: Schema): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sum(dirichletMultinomialNll(counts, concentrations, schema), 1)));
}

/**
 * Expected vote fractions α / Σα per question, in float64.
 * @param concentrations `[n, nAnswers]` row-major
 */
export function expectedFractions(concentrations: ArrayLike<number>, schema: Schema): Float64Array {
  const out = new Float64Array(concentrations.length);
  const rows = concentrations.length / schema.nAnswers;
  for (let r = 0; r < rows; r++) {
    const o = r * schema.nAnswers;
    for (const q of schema.questions) {
      let s = 0;
      for (let a = q.start; a < q.end; a++) s += concentrations[o + a];
      for (let a = q.start; a < q.end; a++) out[o + a] = concentrations[o + a] / s;
    }
  }
  return out;
}
