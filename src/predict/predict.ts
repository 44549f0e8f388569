/** `predictSurvey`: vote fractions (or a fine-tuned model's classes or values) with uncertainties for every galaxy of a survey. */
import { OptionError } from '../errors.js';
import { SurveyRun, type MergeTransform, type SurveyOptions, type SurveyResult } from './survey.js';
import { forwardBatch } from './uncertainty.js';
import { headReadout } from './heads.js';

/**
 * Options of {@link predictSurvey}: the input (`images` or `catalog`), the model, the output
 * and the run settings of {@link SurveyOptions}, plus the MC-dropout settings.
 */
export interface PredictOptions extends SurveyOptions {
  /**
   * MC-dropout passes through the head (Zoobot uses 5). 1 = deterministic head, and the std is
   * the Dirichlet spread alone (a fine-tuned classification or regression head then has no
   * std; a linear probe always runs once). The encoder runs once whatever the number.
   * @default 5
   */
  passes?: number;
  /** Seed of the dropout masks (each galaxy's masks depend only on seed, id and pass). @default 0 */
  seed?: number;
}

/**
 * Predict a survey (or one shard of it) and write one row per galaxy:
 * `id`, (`ra`, `dec`), `status` ('ok' or 'error: <reason>'), then for a galmorph model per
 * answer `<question>_<answer>_fraction` (expected vote fraction), `…_fraction_std` (total
 * predictive std, see uncertainty.ts) and `…_concentration` (mean Dirichlet α); for a
 * fine-tuned model `p_<class>`… and `predicted`, or `prediction`, or (votes) the same
 * per-answer columns, with MC-dropout stds (heads.ts). Error rows hold NaN (and no label).
 *
 * Streams in constant memory, commits every `chunkSize` rows and resumes an interrupted run
 * of the same options; the output appears atomically when complete.
 * @example
 * const r = await predictSurvey({ model: 'models/galmorph-decals', catalog: 'cutouts.csv', out: 'preds.parquet' });
 * r.ok // 314000
 * await predictSurvey({ model: 'models/rings', catalog: 'cutouts.csv', out: 'rings.parquet' }); // p_non-ring, p_ring, …, predicted
 */
export async function predictSurvey(options: PredictOptions): Promise<SurveyResult> {
  const passes = options.passes ?? 5;
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(passes) || passes < 1 || passes > 100) throw new OptionError(`passes must be an integer from 1 to 100, got ${passes}`);
  if (!Number.isSafeInteger(seed)) throw new OptionError(`seed must be an integer, got ${seed}`);
  let merge: MergeTransform | undefined;
  const run = await SurveyRun.start((model) => {
    const head = headReadout(model, passes);
    merge = head.merge;
    return {
      kind: 'predict',
      valueColumns: head.columns,
      settings: { passes: head.passes, seed },
      async compute(m, encoder, images, ids) {
        const { alpha } = await forwardBatch(m, encoder, images, ids, head.passes, seed);
        return head.summarise(alpha!, ids.length);
      },
    };
  }, options);
  try {
    await run.process();
    return await run.finish(merge);
  } finally {
    await run.dispose();
  }
}
