/**
 * Calibration of predicted vote fractions against observed votes: how often the observed
 * count of each answer falls within the central 68% / 95% of what the prediction says to
 * expect, per question. A calibrated model scores ≈ 0.68 / 0.95; an overconfident one less.
 *
 * The prediction for answer a is taken from a predictions table (`<col>_fraction` f and
 * `<col>_fraction_std` s): a Beta with that mean and std (precision κ = f(1 − f)/s² − 1),
 * which is exactly the Dirichlet marginal when there is a single pass. With N volunteers
 * answering the question the observed count k then follows a beta-binomial(N, fκ, (1 − f)κ):
 * the finite number of volunteers is part of the prediction, as it should be when GZ
 * galaxies have ~5–40 votes. The count is "within the central c interval" when its mid-p
 * PIT value P(K < k) + ½P(K = k) lies in [(1 − c)/2, (1 + c)/2] — for a continuous
 * prediction exactly the central interval, and for counts free of the discreteness that
 * makes plain intervals over-cover.
 */
import type { Cell } from '../data/index.js';
import type { Schema } from '../schema/index.js';
import { OptionError } from '../errors.js';

/** Options of {@link calibration}. */
export interface CalibrationOptions {
  /** The decision tree of both tables. */
  schema: Schema;
  /** Id column of the predictions table. @default 'id' */
  idColumn?: string;
  /** Id column of the votes table (e.g. `iauname`). @default the value of `idColumn` */
  votesIdColumn?: string;
  /** Central interval probabilities to check. @default [0.68, 0.95] */
  levels?: number[];
  /** Least number of votes on a question for a galaxy to count for it. @default 1 */
  minVotes?: number;
}

/** Coverage of one question. */
export interface QuestionCalibration {
  question: string;
  /** Galaxies with a prediction and at least `minVotes` votes on the question. */
  galaxies: number;
  /** Fraction of (galaxy, answer) pairs inside the central interval, by level (key = level as text). */
  coverage: Record<string, number>;
}

/** Result of {@link calibration}. */
export interface CalibrationReport {
  levels: number[];
  questions: QuestionCalibration[];
  /** Coverage pooled over all questions' (galaxy, answer) pairs. */
  overall: Record<string, number>;
  /** Galaxies matched by id between the two tables. */
  matched: number;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~1e-15 relative). */
export function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Mid-p PIT of an observed count `k` of `n` under a beta-binomial whose Beta has mean `f`
 * and std `s`: P(K < k) + ½ P(K = k).
 */
export function midPit(k: number, n: number, f: number, s: number): number {
  const m = Math.min(1 - 1e-9, Math.max(1e-9, f));
  const kappa = Math.min(1e7, Math.max(1e-3, (m * (1 - m)) / Math.max(s * s, 1e-18) - 1));
  const a = m * kappa, b = (1 - m) * kappa;
  const lnB = (x: number, y: number) => lnGamma(x) + lnGamma(y) - lnGamma(x + y);
  const base = lnGamma(n + 1) - lnB(a, b);
  let below = 0, at = 0;
  for (let j = 0; j <= k; j++) {
    const p = Math.exp(base - lnGamma(j + 1) - lnGamma(n - j + 1) + lnB(j + a, n - j + b));
    if (j < k) below += p;
    else at = p;
  }
  return below + 0.5 * at;
}

/**
 * Coverage of the predicted intervals by observed votes, per question.
 * @param predictions rows of a `predictSurvey` table (`status`, `<col>_fraction`, `<col>_fraction_std`)
 * @param votes rows of a vote catalogue with a count per answer, `<question>_<answer>` (GZ layout)
 * @example calibration(preds.rows, votes.rows, { schema, votesIdColumn: 'iauname' }).overall['0.68'] // ≈ 0.68 when calibrated
 */
export function calibration(predictions: Iterable<Record<string, Cell>>, votes: Iterable<Record<string, Cell>>, options: CalibrationOptions): CalibrationReport {
  const { schema } = options;
  const idColumn = options.idColumn ?? 'id';
  const votesId = options.votesIdColumn ?? idColumn;
  const levels = options.levels ?? [0.68, 0.95];
  const minVotes = options.minVotes ?? 1;
  if (levels.some((l) => !(l > 0 && l < 1))) throw new OptionError(`calibration levels must be in (0, 1), got ${levels.join(', ')}`);
  const byId = new Map<string, Record<string, Cell>>();
  for (const row of predictions) if (row.status === undefined || row.status === 'ok') byId.set(String(row[idColumn]), row);
  const inside = schema.questions.map(() => levels.map(() => 0));
  const pairs = schema.questions.map(() => 0);
  const galaxies = schema.questions.map(() => 0);
  let matched = 0;
  for (const v of votes) {
    const p = byId.get(String(v[votesId]));
    if (!p) continue;
    matched++;
    for (const q of schema.questions) {
      const counts = q.columns.map((c) => (typeof v[c] === 'number' ? (v[c] as number) : 0));
      const n = counts.reduce((a, b) => a + b, 0);
      if (n < minVotes) continue;
      const fs = q.columns.map((c) => [p[`${c}_fraction`], p[`${c}_fraction_std`]] as const);
      if (fs.some(([f, s]) => typeof f !== 'number' || typeof s !== 'number' || !Number.isFinite(f) || !Number.isFinite(s))) continue;
      galaxies[q.index]++;
      counts.forEach((k, a) => {
        const u = midPit(Math.round(k), Math.round(n), fs[a][0] as number, fs[a][1] as number);
        levels.forEach((l, li) => {
          if (u >= (1 - l) / 2 && u <= (1 + l) / 2) inside[q.index][li]++;
        });
        pairs[q.index]++;
      });
    }
  }
  const key = (l: number) => String(l);
  const questions = schema.questions.map((q) => ({
    question: q.name,
    galaxies: galaxies[q.index],
    coverage: Object.fromEntries(levels.map((l, li) => [key(l), pairs[q.index] > 0 ? inside[q.index][li] / pairs[q.index] : NaN])),
  }));
  const totalPairs = pairs.reduce((a, b) => a + b, 0);
  const overall = Object.fromEntries(
    levels.map((l, li) => [key(l), totalPairs > 0 ? inside.reduce((s, row) => s + row[li], 0) / totalPairs : NaN]),
  );
  return { levels, questions, overall, matched };
}
