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
 *
 * On simulated data the true answer probabilities are known (the simulator's `oracle_…`
 * columns); with `truthPrefix` the check asks instead how often the true probability falls
 * within the central interval of the predicted Beta itself (PIT = the Beta CDF at the truth).
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
  /** Least number of votes on a question for a galaxy to count for it (ignored with `truthPrefix`). @default 1 */
  minVotes?: number;
  /**
   * Check true answer probabilities instead of vote counts: the votes table holds them in
   * `<truthPrefix><question>_<answer>` columns (e.g. `oracle_` in simulated catalogues).
   * @default undefined (vote counts)
   */
  truthPrefix?: string;
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

/** Beta(a, b) parameters with mean `f` and std `s` (precision clamped to a sane range). */
function betaParams(f: number, s: number): [number, number] {
  const m = Math.min(1 - 1e-9, Math.max(1e-9, f));
  const kappa = Math.min(1e7, Math.max(1e-3, (m * (1 - m)) / Math.max(s * s, 1e-18) - 1));
  return [m * kappa, (1 - m) * kappa];
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 500; m++) {
    for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-14) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b): the CDF of Beta(a, b) at x. */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - (lnGamma(a) + lnGamma(b) - lnGamma(a + b)));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/**
 * Mid-p PIT of an observed count `k` of `n` under a beta-binomial whose Beta has mean `f`
 * and std `s`: P(K < k) + ½ P(K = k).
 */
export function midPit(k: number, n: number, f: number, s: number): number {
  const [a, b] = betaParams(f, s);
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
  const truthPrefix = options.truthPrefix;
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
      const fs = q.columns.map((c) => [p[`${c}_fraction`], p[`${c}_fraction_std`]] as const);
      if (fs.some(([f, s]) => typeof f !== 'number' || typeof s !== 'number' || !Number.isFinite(f) || !Number.isFinite(s))) continue;
      let pits: number[];
      if (truthPrefix !== undefined) {
        const truth = q.columns.map((c) => v[`${truthPrefix}${c}`]);
        if (truth.some((t) => typeof t !== 'number' || !Number.isFinite(t))) continue;
        pits = truth.map((t, a) => betaCdf(t as number, ...betaParams(fs[a][0] as number, fs[a][1] as number)));
      } else {
        const counts = q.columns.map((c) => (typeof v[c] === 'number' ? (v[c] as number) : 0));
        const n = counts.reduce((a, b) => a + b, 0);
        if (n < minVotes) continue;
        pits = counts.map((k, a) => midPit(Math.round(k), Math.round(n), fs[a][0] as number, fs[a][1] as number));
      }
      galaxies[q.index]++;
      pits.forEach((u) => {
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
