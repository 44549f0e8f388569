/**
 * What `predictSurvey` writes for each kind of head, from the head's outputs over the
 * MC-dropout passes (uncertainty.ts). Value columns, after `id`, (`ra`, `dec`), `status`:
 *
 * - a galmorph model, or a model fine-tuned on votes (`task: 'votes'`): per answer of its
 *   decision tree `<question>_<answer>_fraction`, `…_fraction_std`, `…_concentration`
 *   (see uncertainty.ts);
 * - fine-tuned `binary` / `multiclass`: `p_<class>` for every class (the mean softmax
 *   probability over the passes), with MC dropout `p_<class>_std` (their spread across the
 *   passes), then `predicted` (the class of highest `p_`) — the names of the validation
 *   `predictions.csv` that `finetune` writes;
 * - fine-tuned `regression`: `prediction` (in the target's units), with MC dropout
 *   `prediction_std`.
 *
 * MC dropout is on when `passes > 1` and the head was trained with dropout (every fine-tuning
 * mode but the linear probe, see `modelHead`); otherwise a fine-tuned classification or
 * regression head runs once and has no `_std` columns, since one deterministic pass measures
 * no spread. A decision-tree head always has `_fraction_std`: its Dirichlet spread.
 */
import { FinetunedModel } from '../finetune/model.js';
import { createSchema, type Schema } from '../schema/index.js';
import type { ColumnSpec, ColumnValues } from './columns.js';
import type { MergeTransform, SurveyModel } from './survey.js';
import { modelHead, summariseConcentrations } from './uncertainty.js';

/** How to turn a model's head outputs into output columns. */
export interface HeadReadout {
  /** Value columns after id/ra/dec/status. */
  columns: ColumnSpec[];
  /** Passes the head runs (1 when MC dropout does not apply). */
  passes: number;
  /** Column values `[n, columns.length]` row-major from head outputs `[passes, n, units]`. */
  summarise(outputs: Float32Array, n: number): Float64Array;
  /** Columns derived from the value columns when the output is written (the predicted class). */
  merge?: MergeTransform;
}

/** Output column names for a decision tree: per answer `_fraction`, `_fraction_std`, `_concentration`, in that block order. */
export function predictionColumns(schema: Schema): ColumnSpec[] {
  const cols = schema.answerColumns;
  return [
    ...cols.map((c) => ({ name: `${c}_fraction`, type: 'DOUBLE' as const })),
    ...cols.map((c) => ({ name: `${c}_fraction_std`, type: 'DOUBLE' as const })),
    ...cols.map((c) => ({ name: `${c}_concentration`, type: 'DOUBLE' as const })),
  ];
}

const doubles = (names: readonly string[]): ColumnSpec[] => names.map((name) => ({ name, type: 'DOUBLE' }));

/**
 * Mean and (with `withStd`) population std over the passes of `units` values per galaxy.
 * @param values `[passes, n, units]`
 * @returns `[n, units]` means then, with `withStd`, `[n, units]` stds, per galaxy row
 */
function passStatistics(values: Float64Array, passes: number, n: number, units: number, withStd: boolean): Float64Array {
  const width = withStd ? 2 * units : units;
  const out = new Float64Array(n * width);
  for (let i = 0; i < n; i++) {
    for (let u = 0; u < units; u++) {
      let mean = 0;
      for (let p = 0; p < passes; p++) mean += values[(p * n + i) * units + u];
      mean /= passes;
      out[i * width + u] = mean;
      if (!withStd) continue;
      let v = 0;
      for (let p = 0; p < passes; p++) v += (values[(p * n + i) * units + u] - mean) ** 2;
      out[i * width + units + u] = Math.sqrt(v / passes);
    }
  }
  return out;
}

/** Softmax of each row of `[rows, units]` logits, in float64. */
function softmaxRows(logits: Float32Array, units: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length; r += units) {
    let mx = -Infinity;
    for (let u = 0; u < units; u++) mx = Math.max(mx, logits[r + u]);
    let sum = 0;
    for (let u = 0; u < units; u++) sum += (out[r + u] = Math.exp(logits[r + u] - mx));
    for (let u = 0; u < units; u++) out[r + u] /= sum;
  }
  return out;
}

/** The `predicted` column: the class of highest probability, null on error rows. */
function predictedClass(classes: readonly string[]): MergeTransform {
  const probCols = classes.map((c) => `p_${c}`);
  return {
    columns: [{ name: 'predicted', type: 'STRING' }],
    apply(block) {
      const p = probCols.map((c) => block.columns.get(c) as Float64Array);
      const labels: ColumnValues = Array.from({ length: block.rows }, (_, i) => {
        if (Number.isNaN(p[0][i])) return null;
        let best = 0;
        for (let k = 1; k < classes.length; k++) if (p[k][i] > p[best][i]) best = k;
        return classes[best];
      });
      return new Map([['predicted', labels]]);
    },
  };
}

/** The readout of `model`'s head with `passes` MC-dropout passes requested. */
export function headReadout(model: SurveyModel, passes: number): HeadReadout {
  if (!(model instanceof FinetunedModel) || model.config.task === 'votes') {
    const schema = model instanceof FinetunedModel ? createSchema(model.config.schema!, 'fine-tuned model config schema') : model.schema;
    return { columns: predictionColumns(schema), passes, summarise: (alpha, n) => summariseConcentrations(schema, alpha, passes, n) };
  }
  const mc = passes > 1 && modelHead(model).rate > 0;
  const used = mc ? passes : 1;
  const { classes, target } = model.config;
  if (model.config.task === 'regression') {
    const { mean, std } = target!;
    return {
      columns: doubles(mc ? ['prediction', 'prediction_std'] : ['prediction']),
      passes: used,
      summarise: (out, n) => passStatistics(Float64Array.from(out, (z) => z * std + mean), used, n, 1, mc),
    };
  }
  const probCols = classes!.map((c) => `p_${c}`);
  return {
    columns: doubles(mc ? [...probCols, ...probCols.map((c) => `${c}_std`)] : probCols),
    passes: used,
    summarise: (logits, n) => passStatistics(softmaxRows(logits, classes!.length), used, n, classes!.length, mc),
    merge: predictedClass(classes!),
  };
}
