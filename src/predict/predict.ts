/** `predictSurvey`: vote fractions, uncertainties and concentrations for every galaxy of a survey. */
import type { Schema } from '../schema/index.js';
import { OptionError } from '../errors.js';
import { SurveyRun, type SurveyOptions, type SurveyResult } from './survey.js';
import { forwardBatch, summariseConcentrations } from './uncertainty.js';
import type { ColumnSpec } from './columns.js';

/**
 * Options of {@link predictSurvey}: the input (`images` or `catalog`), the model, the output
 * and the run settings of {@link SurveyOptions}, plus the MC-dropout settings.
 */
export interface PredictOptions extends SurveyOptions {
  /**
   * MC-dropout passes through the head (Zoobot uses 5). 1 = deterministic head, and the std is
   * the Dirichlet spread alone. The encoder runs once whatever the number.
   * @default 5
   */
  passes?: number;
  /** Seed of the dropout masks (each galaxy's masks depend only on seed, id and pass). @default 0 */
  seed?: number;
}

/** Output column names for a schema: per answer `_fraction`, `_fraction_std`, `_concentration`, in that block order. */
export function predictionColumns(schema: Schema): ColumnSpec[] {
  const cols = schema.answerColumns;
  return [
    ...cols.map((c) => ({ name: `${c}_fraction`, type: 'DOUBLE' as const })),
    ...cols.map((c) => ({ name: `${c}_fraction_std`, type: 'DOUBLE' as const })),
    ...cols.map((c) => ({ name: `${c}_concentration`, type: 'DOUBLE' as const })),
  ];
}

/**
 * Predict a survey (or one shard of it) and write one row per galaxy:
 * `id`, (`ra`, `dec`), `status` ('ok' or 'error: <reason>'), then per answer
 * `<question>_<answer>_fraction` (expected vote fraction), `…_fraction_std` (total predictive
 * std, see uncertainty.ts) and `…_concentration` (mean Dirichlet α). Error rows hold NaN.
 *
 * Streams in constant memory, commits every `chunkSize` rows and resumes an interrupted run
 * of the same options; the output appears atomically when complete.
 * @example
 * const r = await predictSurvey({ model: 'models/galmorph-decals', catalog: 'cutouts.csv', out: 'preds.parquet' });
 * r.ok // 314000
 */
export async function predictSurvey(options: PredictOptions): Promise<SurveyResult> {
  const passes = options.passes ?? 5;
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(passes) || passes < 1 || passes > 100) throw new OptionError(`passes must be an integer from 1 to 100, got ${passes}`);
  if (!Number.isSafeInteger(seed)) throw new OptionError(`seed must be an integer, got ${seed}`);
  const run = await SurveyRun.start(
    (model) => ({
      kind: 'predict',
      valueColumns: predictionColumns(model.schema),
      settings: { passes, seed },
      async compute(m, encoder, images, ids) {
        const { alpha } = await forwardBatch(m, encoder, images, ids, passes, seed);
        return summariseConcentrations(m.schema, alpha!, passes, ids.length);
      },
    }),
    options,
  );
  try {
    await run.process();
    return await run.finish();
  } finally {
    await run.dispose();
  }
}
