/**
 * The representation anomaly detection works in: every usable galaxy of an embeddings table
 * (`galmorph embed` output), compressed by PCA (40 components by default, as Walmsley et al.
 * 2022 found best) and standardised per component. Streams the table twice (fit, then
 * project), so only `[galaxies, components]` floats are ever held.
 */
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { iterateTable, openTable } from '../data/index.js';
import { CatalogError, OptionError } from '../errors.js';
import { CovarianceAccumulator, applyPca, loadPca, type PcaModel } from '../predict/pca.js';
import { parquetColumns, readParquetBlocks, type ColumnSpec } from '../predict/columns.js';

/** Rows of equal-length float vectors, row-major. */
export interface FeatureMatrix {
  rows: number;
  dim: number;
  /** `[rows, dim]` row-major. */
  data: Float32Array;
}

/** What a set of features was computed from, to recognise the same file later. */
export interface EmbeddingsSource {
  /** Absolute path of the embeddings table. */
  path: string;
  bytes: number;
  mtimeMs: number;
  /** Galaxies with a usable representation (status ok, all values finite). */
  galaxies: number;
  /** Rows left out (error status or non-finite values). */
  skipped: number;
  /** Length of the representation read (`feat_…`, or `pca_…` when the table has no `feat_`). */
  representationDim: number;
}

/** Galaxies and their standardised PCA features. */
export interface GalaxyFeatures {
  ids: string[];
  /** `[galaxies, components]`, each column with mean 0 and standard deviation 1. */
  features: FeatureMatrix;
  /** Sky position, deg, when the table has `ra`/`dec`. */
  ra?: Float64Array;
  dec?: Float64Array;
  pca: PcaModel;
  source: EmbeddingsSource;
}

/** Options of {@link loadFeatures}. */
export interface FeatureOptions {
  /** PCA components kept (capped at the representation length). @default 40 */
  components?: number;
  /** Apply a PCA saved by `galmorph pca fit` instead of fitting one on this table. @default undefined */
  pcaModel?: string;
}

const FEAT = /^feat_\d+$/;
const PCA = /^pca_\d+$/;

interface Block {
  rows: number;
  ids: string[];
  /** `[rows, dim]`. */
  values: Float32Array;
  ok: boolean[];
  ra?: Float64Array;
  dec?: Float64Array;
}

async function columnsOf(path: string): Promise<string[]> {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return (await parquetColumns(path)).map((c) => c.name);
  const t = await openTable(path);
  for await (const _ of t.rows) break; // starts and closes the reader, releasing the file
  return t.columns;
}

/** The layout of an embeddings table, or a clear error when it is not one. */
async function layout(path: string) {
  const columns = await columnsOf(path);
  let rep = columns.filter((c) => FEAT.test(c));
  if (rep.length === 0) rep = columns.filter((c) => PCA.test(c));
  if (!columns.includes('id') || rep.length === 0) {
    throw new CatalogError(
      `${path} is not an embeddings table: expected an "id" column and representation columns feat_000… (or pca_00…), as written by \`galmorph embed\`; found ${columns.slice(0, 6).join(', ')}${columns.length > 6 ? ', …' : ''}`,
    );
  }
  return { rep, status: columns.includes('status'), sky: columns.includes('ra') && columns.includes('dec') };
}

async function* blocks(path: string, rep: string[], hasStatus: boolean, sky: boolean): AsyncGenerator<Block> {
  const d = rep.length;
  const usable = (values: Float32Array, i: number, status: unknown) => {
    if (hasStatus && status !== 'ok') return false;
    for (let j = 0; j < d; j++) if (!Number.isFinite(values[i * d + j])) return false;
    return true;
  };
  if (extname(path).toLowerCase() === '.parquet') {
    const specs: ColumnSpec[] = [
      { name: 'id', type: 'STRING' },
      ...(hasStatus ? [{ name: 'status', type: 'STRING' as const }] : []),
      ...(sky ? [{ name: 'ra', type: 'DOUBLE' as const }, { name: 'dec', type: 'DOUBLE' as const }] : []),
      ...rep.map((name) => ({ name, type: 'FLOAT' as const })),
    ];
    for await (const b of readParquetBlocks(path, specs)) {
      const values = new Float32Array(b.rows * d);
      rep.forEach((name, j) => {
        const col = b.columns.get(name) as Float32Array;
        for (let i = 0; i < b.rows; i++) values[i * d + j] = col[i];
      });
      const status = b.columns.get('status') as (string | null)[] | undefined;
      const ids = (b.columns.get('id') as (string | null)[]).map((v) => v ?? '');
      const ok = ids.map((_, i) => usable(values, i, status?.[i]));
      yield { rows: b.rows, ids, values, ok, ra: b.columns.get('ra') as Float64Array | undefined, dec: b.columns.get('dec') as Float64Array | undefined };
    }
    return;
  }
  const B = 4096;
  let cur: Block | null = null;
  for await (const row of iterateTable(path, { rawColumns: ['id'] })) {
    cur ??= { rows: 0, ids: [], values: new Float32Array(B * d), ok: [], ...(sky ? { ra: new Float64Array(B), dec: new Float64Array(B) } : {}) };
    const i = cur.rows++;
    for (let j = 0; j < d; j++) {
      const v = row[rep[j]];
      cur.values[i * d + j] = typeof v === 'number' ? v : NaN;
    }
    cur.ids.push(row.id === null ? '' : String(row.id));
    cur.ok.push(usable(cur.values, i, row.status));
    if (cur.ra && cur.dec) {
      cur.ra[i] = typeof row.ra === 'number' ? row.ra : NaN;
      cur.dec[i] = typeof row.dec === 'number' ? row.dec : NaN;
    }
    if (cur.rows === B) {
      yield cur;
      cur = null;
    }
  }
  if (cur) yield { ...cur, values: cur.values.subarray(0, cur.rows * d), ra: cur.ra?.subarray(0, cur.rows), dec: cur.dec?.subarray(0, cur.rows) };
}

/**
 * Read an embeddings table, fit (or apply) a PCA and standardise the components.
 * Rows whose `status` is not `ok` or that hold non-finite values are left out (counted in
 * `source.skipped`); ids must be unique and non-empty.
 * @throws CatalogError when the file is not an embeddings table or ids repeat
 */
export async function loadFeatures(path: string, options: FeatureOptions = {}): Promise<GalaxyFeatures> {
  const components = options.components ?? 40;
  if (!Number.isSafeInteger(components) || components < 1) throw new OptionError(`components must be a positive integer, got ${components}`);
  const { rep, status, sky } = await layout(path);
  const d = rep.length;
  let pca: PcaModel;
  if (options.pcaModel) {
    pca = await loadPca(options.pcaModel);
    if (pca.dim !== d) throw new OptionError(`PCA model ${options.pcaModel} expects ${pca.dim}-d representations, ${path} has ${d}`);
  } else {
    const acc = new CovarianceAccumulator(d);
    for await (const b of blocks(path, rep, status, sky)) acc.add(b.values, b.rows, b.ok.flatMap((ok, i) => (ok ? [i] : [])));
    if (acc.count < 2) throw new CatalogError(`${path}: needs at least 2 galaxies with status ok and a finite representation, found ${acc.count}`);
    pca = acc.fit(Math.min(components, d));
  }
  const K = pca.components.length;
  const ids: string[] = [];
  const parts: Float32Array[] = [];
  const raParts: number[] = [];
  const decParts: number[] = [];
  let skipped = 0;
  const seen = new Set<string>();
  for await (const b of blocks(path, rep, status, sky)) {
    const keep = b.ok.flatMap((ok, i) => (ok ? [i] : []));
    skipped += b.rows - keep.length;
    const picked = new Float32Array(keep.length * d);
    keep.forEach((r, i) => picked.set(b.values.subarray(r * d, r * d + d), i * d));
    parts.push(Float32Array.from(applyPca(pca, picked, keep.length)));
    for (const r of keep) {
      const id = b.ids[r];
      if (id === '') throw new CatalogError(`${path}: a galaxy has an empty id`);
      if (seen.has(id)) throw new CatalogError(`${path}: id "${id}" appears more than once`);
      seen.add(id);
      ids.push(id);
      if (b.ra && b.dec) {
        raParts.push(b.ra[r]);
        decParts.push(b.dec[r]);
      }
    }
  }
  const n = ids.length;
  // Shared memory, so parallel predictions read it from every thread without copies.
  const data = new Float32Array(new SharedArrayBuffer(n * K * 4));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  standardiseColumns(data, n, K);
  const info = await stat(path);
  return {
    ids,
    features: { rows: n, dim: K, data },
    ...(sky ? { ra: Float64Array.from(raParts), dec: Float64Array.from(decParts) } : {}),
    pca,
    source: { path: resolve(path), bytes: info.size, mtimeMs: info.mtimeMs, galaxies: n, skipped, representationDim: d },
  };
}

/** Per-column centre and scale of a standardisation: x ↦ (x − mean) · inverseSd. */
export interface ColumnScaling {
  mean: Float64Array;
  /** 1 / standard deviation; 0 for a constant column. */
  inverseSd: Float64Array;
}

/**
 * Centre every column on 0 and scale it to standard deviation 1 (constant columns stay 0),
 * in place; with `scaling`, apply that one instead (a training set's, to its test set).
 * @param data `[rows, dim]` row-major
 * @returns the scaling applied
 */
export function standardiseColumns(data: Float32Array, rows: number, dim: number, scaling?: ColumnScaling): ColumnScaling {
  const { mean, inverseSd } = scaling ?? columnScaling(data, rows, dim);
  for (let i = 0; i < rows; i++) for (let k = 0; k < dim; k++) data[i * dim + k] = (data[i * dim + k] - mean[k]) * inverseSd[k];
  return { mean, inverseSd };
}

function columnScaling(data: Float32Array, rows: number, dim: number): ColumnScaling {
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < rows; i++) for (let k = 0; k < dim; k++) mean[k] += data[i * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= Math.max(rows, 1);
  for (let i = 0; i < rows; i++) for (let k = 0; k < dim; k++) sq[k] += (data[i * dim + k] - mean[k]) ** 2;
  const inverseSd = sq.map((s) => (s > 0 ? 1 / Math.sqrt(s / Math.max(rows - 1, 1)) : 0));
  return { mean, inverseSd };
}
