/**
 * Per-epoch metrics: validation loss (the same Dirichlet-multinomial NLL as training, in
 * evaluation mode) and, per question, the mean absolute error of the predicted vote
 * fractions (α/Σα) against the volunteers' vote fractions, over galaxies with at least one
 * vote on that question.
 */
import { tf } from '../engine/index.js';
import type { Schema } from '../schema/index.js';
import { dirichletMultinomialNll, expectedFractions } from './loss.js';

/** One epoch's record in metrics.json. Keys by question use the schema's question names. */
export interface EpochMetrics {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch (with augmentation and dropout). */
  trainLoss: number;
  /** Mean validation loss (evaluation mode). */
  valLoss: number;
  /** Mean validation loss per question. */
  valLossByQuestion: Record<string, number>;
  /** Vote-fraction MAE per question (galaxies with ≥ 1 vote on it). */
  valMae: Record<string, number>;
  /** Mean of `valMae` over questions that had votes. */
  valMaeMean: number;
  /** Wall-clock seconds of the epoch (training + validation). */
  seconds: number;
  /** Training throughput, images per second. */
  trainImagesPerSecond: number;
  /** Global gradient norm, mean over the epoch's steps (before clipping). */
  gradNorm: number;
  /** AdamW learning rate of the epoch (it may be lowered when a run is resumed). */
  learningRate?: number;
  /** Whether this epoch set a new best validation loss (and was saved as the model). */
  best: boolean;
}

/** Accumulates validation results batch by batch. */
export class ValidationAccumulator {
  private readonly schema: Schema;
  private lossSum = 0;
  private n = 0;
  private readonly qLoss: Float64Array;
  private readonly maeSum: Float64Array;
  private readonly maeCount: Float64Array;

  constructor(schema: Schema) {
    this.schema = schema;
    const q = schema.questions.length;
    this.qLoss = new Float64Array(q);
    this.maeSum = new Float64Array(q);
    this.maeCount = new Float64Array(q);
  }

  /**
   * @param concentrations `[n, nAnswers]`
   * @param counts `[n, nAnswers]`
   */
  add(concentrations: Float32Array, counts: Float32Array, n: number): void {
    const A = this.schema.nAnswers;
    const nll = tf.tidy(() => dirichletMultinomialNll(tf.tensor2d(counts, [n, A]), tf.tensor2d(concentrations, [n, A]), this.schema));
    const values = nll.dataSync();
    nll.dispose();
    const nq = this.schema.questions.length;
    for (let r = 0; r < n; r++) for (let q = 0; q < nq; q++) this.qLoss[q] += values[r * nq + q];
    for (let r = 0; r < n; r++) for (let q = 0; q < nq; q++) this.lossSum += values[r * nq + q];
    this.n += n;
    const frac = expectedFractions(concentrations, this.schema);
    for (let r = 0; r < n; r++) {
      for (const q of this.schema.questions) {
        let total = 0;
        for (let a = q.start; a < q.end; a++) total += counts[r * A + a];
        if (total <= 0) continue;
        let err = 0;
        for (let a = q.start; a < q.end; a++) err += Math.abs(frac[r * A + a] - counts[r * A + a] / total);
        this.maeSum[q.index] += err / (q.end - q.start);
        this.maeCount[q.index] += 1;
      }
    }
  }

  result(): Pick<EpochMetrics, 'valLoss' | 'valLossByQuestion' | 'valMae' | 'valMaeMean'> {
    const valLossByQuestion: Record<string, number> = {};
    const valMae: Record<string, number> = {};
    let maeTotal = 0;
    let maeQuestions = 0;
    for (const q of this.schema.questions) {
      valLossByQuestion[q.name] = this.n > 0 ? this.qLoss[q.index] / this.n : NaN;
      if (this.maeCount[q.index] > 0) {
        valMae[q.name] = this.maeSum[q.index] / this.maeCount[q.index];
        maeTotal += valMae[q.name];
        maeQuestions++;
      }
    }
    return { valLoss: this.n > 0 ? this.lossSum / this.n : NaN, valLossByQuestion, valMae, valMaeMean: maeQuestions > 0 ? maeTotal / maeQuestions : NaN };
  }
}
