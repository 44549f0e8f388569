/**
 * How bench/pretrain scores predicted vote fractions on a simulated catalogue, shared by
 * run.ts (a trained model) and ceiling.ts (kNN regressions on the simulator's inputs), so
 * both measure the same galaxies the same way.
 */
import type { Cell } from '../../src/data/index.js';
import { votesToFractions, type Question, type Schema } from '../../src/schema/index.js';

/** Per answer: galaxies confidently voted that answer, and the share the model (oracle) also leads with it. */
export interface AnswerRecall { confident: number; recall: number; oracle_recall: number }

/** One question's scores (JSON keys as reports/pretrain.json writes them). */
export interface QuestionScore {
  question: string;
  /** Galaxies scored: at least one vote on the question, and a prediction. */
  galaxies: number;
  /** Mean over galaxies of the mean over answers of |predicted − observed vote fraction|. */
  mae: number;
  /** The same for the true answer probabilities (`oracle_*`): the floor set by finite votes. */
  oracle_mae: number;
  mae_ratio: number;
  /** Galaxies whose leading vote fraction is > 0.8. */
  confident: number;
  /** Share of those whose predicted leading answer is the voted one. */
  confident_accuracy: number;
  oracle_confident_accuracy: number;
  answers: Record<string, AnswerRecall>;
}

/**
 * The true answer probabilities (`oracle_<answer column>`) of galaxies `ids` from a simulated
 * catalogue's rows, `[ids, schema.nAnswers]` row-major; NaN for a galaxy the rows lack.
 */
export function oracleProbabilities(schema: Schema, ids: readonly string[], rows: readonly Record<string, Cell>[]): Float64Array {
  return answerMatrix(schema, ids, rows, (column) => `oracle_${column}`);
}

/**
 * Per-answer values of galaxies `ids` read from table rows (matched by their `id`), column
 * `name(answer column)`, `[ids, schema.nAnswers]`; NaN where a galaxy has no row or `keep`
 * rejects it (e.g. a prediction whose status is not ok).
 */
export function answerMatrix(
  schema: Schema, ids: readonly string[], rows: readonly Record<string, Cell>[], name: (column: string) => string,
  keep: (row: Record<string, Cell>) => boolean = () => true,
): Float64Array {
  const A = schema.nAnswers;
  const byId = new Map(rows.map((r) => [String(r.id), r]));
  const columns = schema.answerColumns.map(name);
  const out = new Float64Array(ids.length * A).fill(NaN);
  ids.forEach((id, g) => {
    const r = byId.get(id);
    if (r && keep(r)) for (let i = 0; i < A; i++) out[g * A + i] = Number(r[columns[i]]);
  });
  return out;
}

const argmax = (v: ArrayLike<number>, from: number, to: number): number => {
  let best = from;
  for (let i = from; i < to; i++) if (v[i] > v[best]) best = i;
  return best;
};

/**
 * Score one question's predicted vote fractions against the observed ones, beside the
 * oracle's, over the galaxies with at least one vote on it and a prediction (a NaN in
 * `pred` or `oracle` at the question's first answer leaves a galaxy out).
 * @param counts vote counts, `[galaxies, schema.nAnswers]` (a VoteCatalog's `counts`)
 * @param pred predicted fractions, `[galaxies, schema.nAnswers]` (only the question's slice is read)
 * @param oracle true answer probabilities, same layout
 */
export function scoreQuestion(schema: Schema, q: Question, counts: Float64Array, pred: Float64Array, oracle: Float64Array): QuestionScore {
  const A = schema.nAnswers;
  const width = q.end - q.start;
  let n = 0, errModel = 0, errOracle = 0, conf = 0, hitModel = 0, hitOracle = 0;
  const perAnswer = Array.from({ length: width }, () => ({ confident: 0, model: 0, oracle: 0 }));
  for (let g = 0; g < counts.length / A; g++) {
    const frac = votesToFractions(schema, counts.subarray(g * A, (g + 1) * A));
    if (Number.isNaN(frac[q.start])) continue;
    const p = pred.subarray(g * A, (g + 1) * A);
    const o = oracle.subarray(g * A, (g + 1) * A);
    if (Number.isNaN(p[q.start]) || Number.isNaN(o[q.start])) continue;
    n++;
    for (let i = q.start; i < q.end; i++) {
      errModel += Math.abs(p[i] - frac[i]) / width;
      errOracle += Math.abs(o[i] - frac[i]) / width;
    }
    const lead = argmax(frac, q.start, q.end);
    if (frac[lead] > 0.8) {
      conf++;
      const a = perAnswer[lead - q.start];
      a.confident++;
      if (argmax(p, q.start, q.end) === lead) hitModel++, a.model++;
      if (argmax(o, q.start, q.end) === lead) hitOracle++, a.oracle++;
    }
  }
  return {
    question: q.name, galaxies: n, mae: errModel / n, oracle_mae: errOracle / n, mae_ratio: errModel / errOracle,
    confident: conf, confident_accuracy: hitModel / conf, oracle_confident_accuracy: hitOracle / conf,
    answers: Object.fromEntries(
      q.answers.map((name, i) => [name, { confident: perAnswer[i].confident, recall: perAnswer[i].model / perAnswer[i].confident, oracle_recall: perAnswer[i].oracle / perAnswer[i].confident }]),
    ),
  };
}
