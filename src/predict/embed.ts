/** `embedSurvey`: the representation of every galaxy of a survey, optionally compressed by PCA. */
import { OptionError } from '../errors.js';
import { SurveyRun, type MergeTransform, type SurveyOptions, type SurveyResult } from './survey.js';
import { DEFAULT_ORIENTATIONS, checkOrientationMode, orientedRepresentation, type OrientationMode } from './orientation.js';
import { CovarianceAccumulator, applyPca, featureColumn, loadPca, pcaColumn, savePca, type PcaModel } from './pca.js';
import type { ColumnSpec } from './columns.js';

/** PCA for {@link embedSurvey}: fit on this run's representations, or apply a saved fit. */
export type EmbedPcaOption =
  /** Fit `components` axes on this run's embeddings; saved beside the output as `<out>.pca.json`. */
  | { components: number }
  /** Apply a fit saved by an earlier run or by `fitPcaFromFiles` (use this for shards). */
  | { path: string };

/**
 * Options of {@link embedSurvey}: the input (`images` or `catalog`), the model, the output and
 * the run settings of {@link SurveyOptions}, plus PCA.
 */
export interface EmbedOptions extends SurveyOptions {
  /** Add `pca_00…` columns. @default undefined (representation columns only) */
  pca?: EmbedPcaOption;
  /**
   * `dihedral`: each representation is the mean over the image's 8 rotations by 90° and
   * mirror images (orientation-free; 8 encoder passes); `single`: one pass on the image as
   * given. @default DEFAULT_ORIENTATIONS
   */
  orientations?: OrientationMode;
}

/** Result of {@link embedSurvey}. */
export interface EmbedResult extends SurveyResult {
  /** The PCA applied, with where it was saved or read (absent without `pca`). */
  pca?: { path: string; model: PcaModel };
}

/**
 * Embed a survey (or one shard of it): one row per galaxy with `id`, (`ra`, `dec`), `status`,
 * the representation `feat_000…` (float32; NaN on error rows) and, with `pca`, `pca_00…`.
 *
 * With `pca: { components: K }` the fit runs on the committed embeddings after the network
 * pass (a second pass over the written rows, not over the images), is saved to
 * `<out>.pca.json`, and its explained-variance ratios are returned in `result.pca`.
 * @example
 * const r = await embedSurvey({ model: 'models/galmorph-decals', images: 'cutouts/', out: 'emb.parquet', pca: { components: 10 } });
 * r.pca.model.explainedVarianceRatio // [0.41, 0.17, …]
 */
export async function embedSurvey(options: EmbedOptions): Promise<EmbedResult> {
  const pcaOpt = options.pca;
  const orientations = checkOrientationMode(options.orientations ?? DEFAULT_ORIENTATIONS);
  const saved = pcaOpt && 'path' in pcaOpt ? await loadPca(pcaOpt.path) : undefined;
  const run = await SurveyRun.start((model) => {
    const dim = model.config.representationDim;
    if (pcaOpt && 'components' in pcaOpt && !(Number.isSafeInteger(pcaOpt.components) && pcaOpt.components >= 1 && pcaOpt.components <= dim)) {
      throw new OptionError(`PCA components must be an integer from 1 to ${dim} (the representation length), got ${pcaOpt.components}`);
    }
    if (saved && saved.dim !== dim) throw new OptionError(`PCA model ${(pcaOpt as { path: string }).path} expects ${saved.dim}-d representations, the model gives ${dim}`);
    return {
      kind: 'embed',
      valueColumns: Array.from({ length: dim }, (_, j) => ({ name: featureColumn(j, dim), type: 'FLOAT' as const })),
      settings: { orientations },
      compute: (m, encoder, images, ids) => orientedRepresentation((x, n) => encoder.represent(x, n), images, ids.length, m.config, orientations),
    };
  }, options);
  try {
    await run.process();
    const features = run.task.valueColumns;
    let pca: EmbedResult['pca'];
    if (pcaOpt && 'components' in pcaOpt) {
      const acc = new CovarianceAccumulator(features.length);
      for await (const block of run.blocks([...features, { name: 'status', type: 'STRING' }])) {
        const status = block.columns.get('status') as (string | null)[];
        const ok = status.flatMap((s, i) => (s === 'ok' ? [i] : []));
        acc.add(rowMajor(block.columns, features, block.rows), block.rows, ok);
      }
      const model = acc.fit(pcaOpt.components);
      const path = `${options.out}.pca.json`;
      await savePca(model, path);
      pca = { path, model };
    } else if (saved) pca = { path: (pcaOpt as { path: string }).path, model: saved };
    const result = await run.finish(pca ? pcaTransform(pca.model, features) : undefined);
    return { ...result, ...(pca ? { pca } : {}) };
  } finally {
    await run.dispose();
  }
}

function rowMajor(columns: Map<string, unknown>, features: readonly ColumnSpec[], rows: number): Float32Array {
  const d = features.length;
  const out = new Float32Array(rows * d);
  features.forEach((f, j) => {
    const col = columns.get(f.name) as Float32Array;
    for (let i = 0; i < rows; i++) out[i * d + j] = col[i];
  });
  return out;
}

function pcaTransform(pca: PcaModel, features: readonly ColumnSpec[]): MergeTransform {
  const K = pca.components.length;
  const names = Array.from({ length: K }, (_, k) => pcaColumn(k, K));
  return {
    columns: names.map((name) => ({ name, type: 'DOUBLE' })),
    apply(block) {
      const z = applyPca(pca, rowMajor(block.columns, features, block.rows), block.rows);
      return new Map(names.map((name, k) => [name, Float64Array.from({ length: block.rows }, (_, i) => z[i * K + k])]));
    },
  };
}
