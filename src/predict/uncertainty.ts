/**
 * From Dirichlet concentrations to vote fractions with uncertainties, and the MC-dropout head
 * (of a galmorph model or a fine-tuned one) whose masks are keyed by galaxy id.
 *
 * For one galaxy, question q and MC pass p the network gives concentrations α_p over the
 * answers of q; with A_p = Σ_a α_pa the Dirichlet has mean m_pa = α_pa / A_p and variance
 * v_pa = m_pa (1 − m_pa) / (A_p + 1). The P passes form an equal-weight mixture, so by the
 * law of total variance
 *
 *   fraction_a     = (1/P) Σ_p m_pa
 *   fraction_std_a = sqrt( (1/P) Σ_p v_pa  +  (1/P) Σ_p (m_pa − fraction_a)² )
 *                          └ Dirichlet spread ┘  └ spread across MC passes ┘
 *   concentration_a = (1/P) Σ_p α_pa
 *
 * `fraction_std` is the standard deviation of the probability that a volunteer picks the
 * answer, under the predicted distribution; it does not include the binomial noise of a
 * finite number of volunteers (see calibration.ts for that).
 */
import { tf, type tfl } from '../engine/index.js';
import { FinetunedModel, HEAD_CONCENTRATIONS, HEAD_DENSE } from '../finetune/model.js';
import type { Schema } from '../schema/index.js';
import { hashString, rng } from '../util/random.js';
import type { Encoder } from './engine.js';
import type { SurveyModel } from './survey.js';

/**
 * Summarise MC-dropout concentrations for `n` galaxies.
 * @param alpha `[passes, n, nAnswers]` row-major
 * @returns `[n, 3 · nAnswers]` row-major: per galaxy all fractions, then all stds, then all
 *   mean concentrations, each block in `schema.answerColumns` order
 */
export function summariseConcentrations(schema: Schema, alpha: Float32Array, passes: number, n: number): Float64Array {
  const A = schema.nAnswers;
  const out = new Float64Array(n * 3 * A);
  const m = new Float64Array(passes);
  for (let i = 0; i < n; i++) {
    const row = i * 3 * A;
    for (const q of schema.questions) {
      const totals = new Float64Array(passes);
      for (let p = 0; p < passes; p++) {
        let s = 0;
        for (let a = q.start; a < q.end; a++) s += alpha[(p * n + i) * A + a];
        totals[p] = s;
      }
      for (let a = q.start; a < q.end; a++) {
        let mean = 0, dirichletVar = 0, conc = 0;
        for (let p = 0; p < passes; p++) {
          const al = alpha[(p * n + i) * A + a];
          m[p] = al / totals[p];
          mean += m[p];
          dirichletVar += (m[p] * (1 - m[p])) / (totals[p] + 1);
          conc += al;
        }
        mean /= passes;
        let passVar = 0;
        for (let p = 0; p < passes; p++) passVar += (m[p] - mean) ** 2;
        out[row + a] = mean;
        out[row + A + a] = Math.sqrt(dirichletVar / passes + passVar / passes);
        out[row + 2 * A + a] = conc / passes;
      }
    }
  }
  return out;
}

/**
 * Inverted-dropout masks `[passes, n, dim]`: entry kept (scaled by 1/(1 − rate)) or zeroed.
 * Galaxy i's masks depend only on (seed, ids[i], pass) — never on its batch, shard or
 * position — so a galaxy gets the same MC-dropout prediction however a survey is split,
 * batched or resumed.
 */
export function dropoutMasks(ids: readonly string[], passes: number, dim: number, rate: number, seed: number): Float32Array {
  const n = ids.length;
  const out = new Float32Array(passes * n * dim);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < n; i++) {
    const key = hashString(ids[i]);
    for (let p = 0; p < passes; p++) {
      const rand = rng(Math.imul(key ^ Math.imul(seed + 1, 0x9e3779b9), 0x85ebca6b) ^ Math.imul(p + 1, 0xc2b2ae35));
      const o = (p * n + i) * dim;
      for (let d = 0; d < dim; d++) out[o + d] = rand() >= rate ? keep : 0;
    }
  }
  return out;
}

/**
 * A model's head as predict runs it: the dense layers after the dropout, and the dropout
 * rate for MC dropout — 0 when the head was not trained with dropout (a linear probe is
 * fitted on deterministic embeddings, so dropping its inputs would add noise its weights
 * never saw, not an estimate of their uncertainty).
 */
export function modelHead(model: SurveyModel): { rate: number; layers: tfl.layers.Layer[] } {
  if (model instanceof FinetunedModel) {
    const names = model.config.task === 'votes' ? [HEAD_DENSE, HEAD_CONCENTRATIONS] : [HEAD_DENSE];
    return { rate: model.config.mode === 'linear-probe' ? 0 : model.dropout.rate, layers: names.map((n) => model.net.getLayer(n)) };
  }
  return { rate: model.dropout.rate, layers: ['head_dense', 'concentrations'].map((n) => model.net.getLayer(n)) };
}

/**
 * MC-dropout head outputs for a batch of representations: the head runs on all `passes`
 * masked copies at once (`[passes · n, dim]`), so extra passes cost one small matrix
 * product. With `passes = 1` (or a head without dropout) the head runs deterministically.
 * @param representation `[n, dim]`, n = `ids.length`
 * @returns `[passes, n, units]`: concentrations for a decision-tree head (a galmorph model or
 *   a fine-tuned `votes` model), else the fine-tuned head's logits or standardised values
 */
export async function headOutputs(model: SurveyModel, representation: Float32Array, ids: readonly string[], passes: number, seed: number): Promise<Float32Array> {
  const n = ids.length;
  const dim = model.config.representationDim;
  const { rate, layers } = modelHead(model);
  const out = tf.tidy(() => {
    let x: tf.Tensor = tf.tensor2d(representation, [n, dim]);
    if (passes > 1 && rate > 0) {
      const masks = tf.tensor3d(dropoutMasks(ids, passes, dim, rate, seed), [passes, n, dim]);
      x = tf.reshape(tf.mul(masks, tf.expandDims(x, 0)), [passes * n, dim]);
    } else if (passes > 1) {
      x = tf.tile(x, [passes, 1]);
    }
    for (const layer of layers) x = layer.apply(x) as tf.Tensor;
    return x;
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/**
 * Representations and MC-dropout head outputs for one batch of prepared images, in one
 * encoder pass (see {@link headOutputs}).
 * @param encoder runs the encoder (tfjs or ONNX Runtime, see engine.ts); the head runs in tfjs
 * @param images `[n, size, size, bands]` prepared images, n = `ids.length`
 * @returns representations `[n, dim]` and, unless `passes = 0`, head outputs `[passes, n, units]`
 *   (concentrations for a galmorph model)
 */
export async function forwardBatch(
  model: SurveyModel,
  encoder: Encoder,
  images: Float32Array,
  ids: readonly string[],
  passes: number,
  seed: number,
): Promise<{ representation: Float32Array; alpha: Float32Array | null }> {
  const representation = await encoder.represent(images, ids.length);
  return { representation, alpha: passes === 0 ? null : await headOutputs(model, representation, ids, passes, seed) };
}
