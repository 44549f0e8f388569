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
/** Arguments below this are shifted up by the recurrence before the asymptotic series. */
const ASYMPTOTIC_FROM = 10;

/**
 * log Γ(x) in float64 for x > 0 (NaN otherwise, so that a diverged network's loss reads NaN).
 *
 * Shifts the argument to z ≥ 10 (Γ(x) = Γ(x + k) / (x(x+1)…(x+k−1))), then Stirling's series
 * to the z⁻¹¹ term, whose truncation error there is below 1e-16.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  let product = 1;
  for (; x < ASYMPTOTIC_FROM; x++) product *= x;
  const r = 1 / x;
  const r2 = r * r;
  const series = r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - (r2 * 691) / 360360)))));
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series - Math.log(product);
}

/** ψ(x) = d/dx log Γ(x) in float64 for x > 0 (NaN otherwise): the same shift, then the asymptotic series to x⁻¹² (truncation error below 1e-15). */
export function digamma(x: number): number {
  if (!(x > 0)) return NaN;
  let shift = 0;
  for (; x < ASYMPTOTIC_FROM; x++) shift += 1 / x;
  const r2 = 1 / (x * x);
  return Math.log(x) - 0.5 / x - r2 * (1 / 12 - r2 * (1 / 120 - r2 * (1 / 252 - r2 * (1 / 240 - r2 * (1 / 132 - (r2 * 691) / 32760))))) - shift;
}

/**
 * Negative log Dirichlet-multinomial likelihood of each question's votes.
 *
 * One fused op with a hand-written gradient, computed in float64 on the host: written as
 * tfjs ops (lgamma has no kernel) it took ~850 tiny kernels and ~28 ms per training step
 * whatever the batch, more than the network's element-wise work; the whole batch here is a
 * few thousand log-gammas, microseconds. The gradient w.r.t. the concentrations is
 *
 *   ∂nll_q/∂αₖ = −[ψ(A) − ψ(N + A) + ψ(nₖ + αₖ) − ψ(αₖ)]
 *
 * and the counts, being data, get none. Works on every backend (it reads and writes tensors,
 * nothing backend-specific).
 * @param counts vote counts `[batch, nAnswers]` in `schema.answerColumns` order (≥ 0)
 * @param concentrations Dirichlet concentrations `[batch, nAnswers]` (> 0)
 * @returns `[batch, nQuestions]`; exactly 0 (with zero gradient) where a question has no votes
 */
export function dirichletMultinomialNll(counts: tf.Tensor2D, concentrations: tf.Tensor2D, schema: Schema): tf.Tensor2D {
  const [batch, width] = concentrations.shape;
  if (width !== schema.nAnswers || counts.shape[0] !== batch || counts.shape[1] !== width) {
    throw new RangeError(`loss: counts ${JSON.stringify(counts.shape)} and concentrations ${JSON.stringify(concentrations.shape)} must both be [batch, ${schema.nAnswers}] for schema '${schema.name}'`);
  }
  const nll = tf.customGrad((...args: unknown[]) => {
    const [countsT, alphaT] = args as [tf.Tensor2D, tf.Tensor2D];
    const n = countsT.dataSync();
    const alpha = alphaT.dataSync();
    return {
      value: tf.tensor2d(nllValues(n, alpha, batch, schema), [batch, schema.questions.length]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [
        tf.zerosLike(countsT),
        tf.tensor2d(nllGradient(n, alpha, (dy as tf.Tensor).dataSync(), batch, schema), [batch, width]),
      ],
    };
  });
  return nll(counts, concentrations) as tf.Tensor2D;
}

type Floats = ArrayLike<number>;

/** A question's vote total N and concentration total A in the row at offset `o`. */
function totals(n: Floats, alpha: Floats, o: number, start: number, end: number): { total: number; alphaTotal: number } {
  let total = 0;
  let alphaTotal = 0;
  for (let a = o + start; a < o + end; a++) {
    total += n[a];
    alphaTotal += alpha[a];
  }
  return { total, alphaTotal };
}

/** The per-question NLL values, `[batch, nQuestions]` row-major. */
function nllValues(n: Floats, alpha: Floats, batch: number, schema: Schema): Float32Array {
  const nq = schema.questions.length;
  const out = new Float32Array(batch * nq);
  for (let b = 0; b < batch; b++) {
    const o = b * schema.nAnswers;
    for (const q of schema.questions) {
      const { total, alphaTotal } = totals(n, alpha, o, q.start, q.end);
      if (!(total > 0)) continue;
      // log N! − Σ log nₖ!  +  log Γ(A) − log Γ(N + A)  +  Σ log[Γ(nₖ + αₖ) / Γ(αₖ)]
      let logLik = logGamma(total + 1) + logGamma(alphaTotal) - logGamma(total + alphaTotal);
      for (let a = o + q.start; a < o + q.end; a++) {
        if (n[a] !== 0) logLik += logGamma(n[a] + alpha[a]) - logGamma(alpha[a]) - logGamma(n[a] + 1);
      }
      out[b * nq + q.index] = -logLik;
    }
  }
  return out;
}

/** dy (`[batch, nQuestions]`) back to the concentrations, `[batch, nAnswers]` row-major. */
function nllGradient(n: Floats, alpha: Floats, dy: Floats, batch: number, schema: Schema): Float32Array {
  const nq = schema.questions.length;
  const out = new Float32Array(batch * schema.nAnswers);
  for (let b = 0; b < batch; b++) {
    const o = b * schema.nAnswers;
    for (const q of schema.questions) {
      const { total, alphaTotal } = totals(n, alpha, o, q.start, q.end);
      if (!(total > 0)) continue;
      const g = dy[b * nq + q.index];
      const shared = digamma(alphaTotal) - digamma(total + alphaTotal);
      for (let a = o + q.start; a < o + q.end; a++) {
        out[a] = -g * (n[a] !== 0 ? shared + digamma(n[a] + alpha[a]) - digamma(alpha[a]) : shared);
      }
    }
  }
  return out;
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
