/**
 * Principal component analysis of representations, fitted in one streaming pass (mean and
 * covariance accumulated in float64: memory O(d²) whatever the number of galaxies), solved
 * with a cyclic Jacobi eigen-decomposition, stored as JSON and applied to any later shard.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { iterateTable, openTable, writeFileAtomic } from '../data/index.js';
import { CatalogError, OptionError } from '../errors.js';
import { parquetColumns, readParquetBlocks, type ColumnSpec } from './columns.js';

/** A fitted PCA, as stored in `pca.json`. */
export interface PcaModel {
  format: 'galmorph-pca';
  formatVersion: 1;
  /** Input dimension (representation length). */
  dim: number;
  /** Rows the fit saw. */
  samples: number;
  /** Per-feature mean, length `dim`. */
  mean: number[];
  /** Principal axes, `[K][dim]`, orthonormal rows, by decreasing variance. */
  components: number[][];
  /** Variance along each axis (covariance eigenvalues, divisor n − 1). */
  explainedVariance: number[];
  /** `explainedVariance` ÷ total variance of the input. */
  explainedVarianceRatio: number[];
}

/** Streaming accumulator of mean and scatter (Chan et al.'s pairwise update), float64. */
export class CovarianceAccumulator {
  readonly dim: number;
  count = 0;
  readonly mean: Float64Array;
  /** Upper triangle used; Σ (x − mean)(x − mean)ᵀ. */
  readonly scatter: Float64Array;

  constructor(dim: number) {
    this.dim = dim;
    this.mean = new Float64Array(dim);
    this.scatter = new Float64Array(dim * dim);
  }

  /**
   * Add `n` rows of `rows` (`[n, dim]` row-major, or picked by `index`).
   * @param index row numbers to add (e.g. the ok rows); all `n` rows when omitted
   */
  add(rows: ArrayLike<number>, n: number, index?: readonly number[]): void {
    const d = this.dim;
    const pick = index ?? Array.from({ length: n }, (_, i) => i);
    const m = pick.length;
    if (m === 0) return;
    const bMean = new Float64Array(d);
    for (const r of pick) for (let j = 0; j < d; j++) bMean[j] += rows[r * d + j];
    for (let j = 0; j < d; j++) bMean[j] /= m;
    const c = new Float64Array(d);
    const S = this.scatter;
    for (const r of pick) {
      for (let j = 0; j < d; j++) c[j] = rows[r * d + j] - bMean[j];
      for (let i = 0; i < d; i++) {
        const ci = c[i];
        if (ci === 0) continue;
        const o = i * d;
        for (let j = i; j < d; j++) S[o + j] += ci * c[j];
      }
    }
    const nA = this.count;
    const w = (nA * m) / (nA + m);
    for (let j = 0; j < d; j++) c[j] = bMean[j] - this.mean[j];
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) S[i * d + j] += w * c[i] * c[j];
    for (let j = 0; j < d; j++) this.mean[j] += (c[j] * m) / (nA + m);
    this.count = nA + m;
  }

  /** Fit `components` principal axes. */
  fit(components: number): PcaModel {
    const d = this.dim;
    if (!Number.isSafeInteger(components) || components < 1 || components > d) {
      throw new OptionError(`PCA components must be an integer from 1 to ${d} (the representation length), got ${components}`);
    }
    if (this.count < 2) throw new OptionError(`PCA needs at least 2 galaxies with a representation, got ${this.count}`);
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) cov[i * d + j] = cov[j * d + i] = this.scatter[i * d + j] / (this.count - 1);
    }
    const { values, vectors } = symmetricEigen(cov, d);
    let total = 0;
    for (let i = 0; i < d; i++) total += cov[i * d + i];
    const axes: number[][] = [];
    for (let k = 0; k < components; k++) {
      const v = Array.from({ length: d }, (_, i) => vectors[i * d + k]);
      // Sign convention: the largest-magnitude entry is positive, so refits agree.
      let big = 0;
      for (let i = 1; i < d; i++) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
      axes.push(v[big] < 0 ? v.map((x) => -x) : v);
    }
    const variance = Array.from(values.subarray(0, components), (x) => Math.max(0, x));
    return {
      format: 'galmorph-pca',
      formatVersion: 1,
      dim: d,
      samples: this.count,
      mean: Array.from(this.mean),
      components: axes,
      explainedVariance: variance,
      explainedVarianceRatio: variance.map((x) => (total > 0 ? x / total : 0)),
    };
  }
}

/**
 * Eigen-decomposition of a symmetric `d × d` matrix by cyclic Jacobi rotations (accurate to
 * machine precision; O(d³) per sweep, a few sweeps — ~1 s for d = 256).
 * @returns eigenvalues in decreasing order and eigenvectors as the matching columns of `vectors` (row-major d × d)
 */
export function symmetricEigen(matrix: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(matrix);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += A[i] * A[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += A[p * d + q] ** 2;
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * d + q] - A[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = A[k * d + p], akq = A[k * d + q];
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = A[p * d + k], aqk = A[q * d + k];
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        A[p * d + q] = A[q * d + p] = 0;
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p], vkq = V[k * d + q];
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((a, b) => A[b * d + b] - A[a * d + a]);
  const values = Float64Array.from(order, (i) => A[i * d + i]);
  const vectors = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) vectors[i * d + k] = V[i * d + order[k]];
  return { values, vectors };
}

/**
 * Project rows onto the PCA axes.
 * @param rows `[n, dim]` row-major; rows with NaN give NaN
 * @returns `[n, K]` row-major
 */
export function applyPca(pca: PcaModel, rows: ArrayLike<number>, n: number): Float64Array {
  const { dim: d, mean, components } = pca;
  const K = components.length;
  const out = new Float64Array(n * K);
  const c = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) c[j] = rows[r * d + j] - mean[j];
    for (let k = 0; k < K; k++) {
      const v = components[k];
      let s = 0;
      for (let j = 0; j < d; j++) s += c[j] * v[j];
      out[r * K + k] = s;
    }
  }
  return out;
}

/** Save a PCA as JSON, atomically. */
export async function savePca(pca: PcaModel, path: string): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(pca) + '\n');
}

/** Load a PCA saved by {@link savePca}. @throws OptionError when the file is missing or not a galmorph PCA */
export async function loadPca(path: string): Promise<PcaModel> {
  let pca: PcaModel;
  try {
    pca = JSON.parse(await readFile(path, 'utf8')) as PcaModel;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OptionError(`cannot read PCA model ${path}: ${code ?? (e as Error).message}`);
  }
  const ok =
    pca?.format === 'galmorph-pca' && pca.formatVersion === 1 && Array.isArray(pca.mean) && pca.mean.length === pca.dim &&
    Array.isArray(pca.components) && pca.components.length > 0 && pca.components.every((v) => Array.isArray(v) && v.length === pca.dim);
  if (!ok) throw new OptionError(`${path} is not a galmorph PCA model (expected format "galmorph-pca" with mean and components)`);
  return pca;
}

/** Name of representation column `j` of `dim`: `feat_000`… */
export function featureColumn(j: number, dim: number): string {
  return `feat_${String(j).padStart(Math.max(3, String(dim - 1).length), '0')}`;
}

/** Name of PCA column `k` of `K`: `pca_00`… */
export function pcaColumn(k: number, K: number): string {
  return `pca_${String(k).padStart(Math.max(2, String(K - 1).length), '0')}`;
}

const FEATURE_RE = /^feat_\d+$/;

/** Options of {@link fitPcaFromFiles}. */
export interface PcaFitOptions {
  /** Embedding tables (.parquet/.csv) written by `embedSurvey` (`feat_…` columns, optional `status`). */
  embeddings: string[];
  /** Number of principal components to keep. @default 10 */
  components?: number;
  /** Where to save the fit as JSON. @default undefined (not saved) */
  out?: string;
}

/**
 * Fit a PCA over the representations in one or more embedding tables (e.g. every shard of a
 * survey), streaming: rows whose `status` is not `ok`, or that hold NaN, are skipped.
 * @example const pca = await fitPcaFromFiles({ embeddings: ['emb-0.parquet', 'emb-1.parquet'], components: 10, out: 'pca.json' })
 */
export async function fitPcaFromFiles(options: PcaFitOptions): Promise<PcaModel> {
  if (options.embeddings.length === 0) throw new OptionError('give at least one embeddings file');
  let acc: CovarianceAccumulator | undefined;
  let dimFrom = '';
  for (const path of options.embeddings) {
    const ext = extname(path).toLowerCase();
    const columns = ext === '.parquet' ? (await parquetColumns(path)).map((c) => c.name) : (await openTable(path)).columns;
    const feats = columns.filter((c) => FEATURE_RE.test(c));
    if (feats.length === 0) throw new CatalogError(`${path}: no representation columns (feat_000, …); is it an embeddings table?`);
    if (acc && feats.length !== acc.dim) throw new CatalogError(`${path} has ${feats.length} feat_ columns but ${dimFrom} has ${acc.dim}`);
    acc ??= new CovarianceAccumulator(feats.length);
    dimFrom ||= path;
    const hasStatus = columns.includes('status');
    for await (const { rows, n, ok } of featureBatches(path, ext, feats, hasStatus)) acc.add(rows, n, ok);
  }
  const pca = acc!.fit(options.components ?? 10);
  if (options.out) await savePca(pca, options.out);
  return pca;
}

/** Rows of feature values in batches, with the indices of usable (ok, finite) rows. */
async function* featureBatches(path: string, ext: string, feats: string[], hasStatus: boolean) {
  const d = feats.length;
  const usable = (rows: Float64Array, i: number, status: unknown) => {
    if (hasStatus && status !== 'ok') return false;
    for (let j = 0; j < d; j++) if (!Number.isFinite(rows[i * d + j])) return false;
    return true;
  };
  if (ext === '.parquet') {
    const specs: ColumnSpec[] = [...feats.map((name) => ({ name, type: 'DOUBLE' as const })), ...(hasStatus ? [{ name: 'status', type: 'STRING' as const }] : [])];
    for await (const block of readParquetBlocks(path, specs)) {
      const rows = new Float64Array(block.rows * d);
      feats.forEach((f, j) => {
        const col = block.columns.get(f) as Float64Array;
        for (let i = 0; i < block.rows; i++) rows[i * d + j] = col[i];
      });
      const status = block.columns.get('status') as (string | null)[] | undefined;
      const ok: number[] = [];
      for (let i = 0; i < block.rows; i++) if (usable(rows, i, status?.[i])) ok.push(i);
      yield { rows, n: block.rows, ok };
    }
    return;
  }
  const B = 4096;
  let rows = new Float64Array(B * d);
  let n = 0;
  const ok: number[] = [];
  for await (const row of iterateTable(path)) {
    feats.forEach((f, j) => (rows[n * d + j] = typeof row[f] === 'number' ? (row[f] as number) : NaN));
    if (usable(rows, n, row.status)) ok.push(n);
    if (++n === B) {
      yield { rows, n, ok: ok.splice(0) };
      rows = new Float64Array(B * d);
      n = 0;
    }
  }
  if (n > 0) yield { rows, n, ok };
}
