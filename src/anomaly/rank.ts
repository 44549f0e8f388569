/**
 * Ranking a whole survey: unsupervised (isolation forest on the standardised PCA features) or
 * learned from a researcher's scores, written as a table, most interesting first.
 */
import { extname } from 'node:path';
import { OptionError } from '../errors.js';
import { CovarianceAccumulator, applyPca } from '../predict/pca.js';
import { TableSink, type ColumnSpec } from '../predict/columns.js';
import { loadFeatures, standardiseColumns, type FeatureMatrix, type FeatureOptions, type GalaxyFeatures } from './features.js';
import { fitIsolationForest, scoreIsolationForest, type IsolationForestOptions } from './iforest.js';
import { ActiveLearner, type Ranking } from './learner.js';
import { readLabels } from './labels.js';

/** Options of {@link unsupervisedScores}. */
export interface UnsupervisedOptions extends IsolationForestOptions {
  /** PCA components the vectors are reduced to before the forest (capped at their length). @default 40 */
  components?: number;
}

/**
 * Isolation-forest anomaly score of each vector, after PCA to `components` dimensions and
 * standardisation of each component (so no single direction dominates the random cuts).
 * @param vectors `[rows, dim]`, e.g. representations
 * @returns one score per row in (0, 1]; ≈ 0.5 ordinary, → 1 anomalous
 * @example unsupervisedScores({ rows: 3, dim: 2, data: Float32Array.of(0, 0, 0.1, 0, 9, 9) }, { trees: 50 }) // [0.36…, 0.36…, 0.43…]: the third point is the odd one out
 */
export function unsupervisedScores(vectors: FeatureMatrix, options: UnsupervisedOptions = {}): Float64Array {
  const x = standardisedPca(vectors, options.components ?? 40);
  return scoreIsolationForest(fitIsolationForest(x, options), x);
}

function standardisedPca(v: FeatureMatrix, components: number): FeatureMatrix {
  const acc = new CovarianceAccumulator(v.dim);
  acc.add(v.data, v.rows);
  const pca = acc.fit(Math.min(components, v.dim));
  const K = pca.components.length;
  const data = Float32Array.from(applyPca(pca, v.data, v.rows));
  standardiseColumns(data, v.rows, K);
  return { rows: v.rows, dim: K, data };
}

/** Options of {@link rankAnomalies}. */
export interface RankOptions extends FeatureOptions, IsolationForestOptions {
  /** Embeddings table (`galmorph embed` output). */
  embeddings: string;
  /** Scores (columns `id`, `score` 0–5) to learn the researcher's interest from; without it the ranking is unsupervised. @default undefined */
  labels?: string;
  /** Where to write the ranking (.parquet or .csv). @default undefined (not written) */
  out?: string;
}

/** Result of {@link rankAnomalies}. */
export interface RankResult {
  galaxies: GalaxyFeatures;
  anomaly: Float64Array;
  ranking: Ranking;
  /** Galaxies with a score from `labels`. */
  labelled: number;
  labels: Map<number, number>;
}

/**
 * Rank every galaxy of an embeddings table: by isolation-forest score, or — with `labels` —
 * by a Gaussian process fitted to the scores (labelled galaxies keep their own score).
 * @example
 * const r = await rankAnomalies({ embeddings: 'emb.parquet', labels: 'my-scores.csv', out: 'ranking.parquet' });
 * r.galaxies.ids[r.ranking.order[0]] // the galaxy the model finds most interesting
 */
export async function rankAnomalies(options: RankOptions): Promise<RankResult> {
  const galaxies = await loadFeatures(options.embeddings, options);
  const anomaly = scoreIsolationForest(fitIsolationForest(galaxies.features, options), galaxies.features);
  const learner = new ActiveLearner(galaxies.features, anomaly);
  if (options.labels) {
    const rowOf = new Map(galaxies.ids.map((id, i) => [id, i]));
    for (const l of await readLabels(options.labels, rowOf)) learner.setLabel(rowOf.get(l.id)!, l.score);
    if (learner.labels.size === 0) throw new OptionError(`${options.labels} holds no scores`);
  }
  const ranking = await learner.rank();
  if (options.out) await writeRanking(options.out, galaxies, anomaly, ranking, learner.labels);
  return { galaxies, anomaly, ranking, labelled: learner.labels.size, labels: learner.labels };
}

/**
 * Write a ranking, most interesting first: `rank` (1 = top), `id`, (`ra`, `dec`), `score`
 * (the label where there is one, else `predicted`), `predicted` (model interest, 0–5 scale),
 * `anomaly` (isolation-forest score) and `label` (NaN when unlabelled). Streams blocks to a
 * temp file and renames it into place.
 */
export async function writeRanking(
  out: string, galaxies: Pick<GalaxyFeatures, 'ids' | 'ra' | 'dec'>, anomaly: Float64Array, ranking: Ranking, labels: ReadonlyMap<number, number>,
): Promise<void> {
  const ext = extname(out).toLowerCase();
  if (ext !== '.parquet' && ext !== '.csv') throw new OptionError(`ranking output must end in .parquet or .csv, got "${out}"`);
  const sky = galaxies.ra !== undefined && galaxies.dec !== undefined;
  const specs: ColumnSpec[] = [
    { name: 'rank', type: 'DOUBLE' },
    { name: 'id', type: 'STRING' },
    ...(sky ? [{ name: 'ra', type: 'DOUBLE' as const }, { name: 'dec', type: 'DOUBLE' as const }] : []),
    { name: 'score', type: 'DOUBLE' },
    { name: 'predicted', type: 'DOUBLE' },
    { name: 'anomaly', type: 'DOUBLE' },
    { name: 'label', type: 'DOUBLE' },
  ];
  const sink = await TableSink.open(out, specs, ext === '.csv' ? 'csv' : 'parquet');
  const { order } = ranking;
  const B = 65536;
  try {
    for (let s = 0; s < order.length; s += B) {
      const rows = order.subarray(s, Math.min(order.length, s + B));
      const pick = (src: ArrayLike<number>) => Float64Array.from(rows, (r) => src[r]);
      const columns = new Map<string, (string | null)[] | Float64Array>([
        ['rank', Float64Array.from(rows, (_, i) => s + i + 1)],
        ['id', Array.from(rows, (r) => galaxies.ids[r])],
        ['score', pick(ranking.score)],
        ['predicted', pick(ranking.predicted)],
        ['anomaly', pick(anomaly)],
        ['label', Float64Array.from(rows, (r) => labels.get(r) ?? NaN)],
      ]);
      if (sky) {
        columns.set('ra', pick(galaxies.ra!));
        columns.set('dec', pick(galaxies.dec!));
      }
      await sink.write({ rows: rows.length, columns });
    }
    await sink.close();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}
