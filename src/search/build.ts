/** `buildIndex`: a similarity index from embedding tables (or vectors in memory). */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Index as UsearchIndex, MetricKind, ScalarKind } from 'usearch';
import { CatalogError, OptionError } from '../errors.js';
import { readParquetBlocks, type ColumnSpec } from '../predict/columns.js';
import { tableColumns } from './catalog.js';
import { iterateTable } from '../data/index.js';
import type { SimilarityMetric } from './exact.js';
import { ANN_FILE, IDS_JSON, MANIFEST_JSON, VECTORS_F32, type AnnSettings, type IndexManifest } from './manifest.js';

/** Vectors given in memory instead of embedding tables. */
export interface VectorSource {
  /** One id per vector, unique. */
  ids: readonly string[];
  /** `[ids.length, dim]` row-major. */
  data: Float32Array;
  dim: number;
  /** Names of the `dim` columns, recorded in the manifest. @default `v_0`, `v_1`, … */
  columns?: string[];
}

/** Which embedding columns to index. */
export type ColumnChoice = 'pca' | 'feat' | string[];

/** Options of {@link buildIndex}. Give exactly one of `embeddings` and `vectors`. */
export interface BuildIndexOptions {
  /** Embedding table(s) written by `embedSurvey` (`.parquet`/`.csv`: `id`, optional `status`, `pca_…`/`feat_…`), e.g. every shard of a survey. */
  embeddings?: string | string[];
  /** Vectors in memory (for your own representations, or benchmarks). */
  vectors?: VectorSource;
  /** Index directory to create. */
  out: string;
  /** Columns to index: all `pca_` columns, all `feat_` columns, or an explicit list. @default 'pca' when the table has pca_ columns, else 'feat' */
  columns?: ColumnChoice;
  /** `cosine` (as Stein et al. 2021) or `l2` (Euclidean). @default 'cosine' */
  metric?: SimilarityMetric;
  /**
   * Subtract the mean vector before normalising, so cosine similarity measures directions
   * away from the survey's average galaxy rather than from the origin (which matters for
   * non-negative network features; PCA columns are already centred). Ignored for `l2`.
   * @default true
   */
  center?: boolean;
  /** `exact` (brute force), `ann` (HNSW graph), or `auto`: exact below `exactBelow` galaxies. @default 'auto' */
  method?: 'auto' | 'exact' | 'ann';
  /** Size under which `auto` builds an exact index. @default 20000 */
  exactBelow?: number;
  /** HNSW graph degree M. @default 16 */
  connectivity?: number;
  /** HNSW candidate list while building (efConstruction). @default 128 */
  expansionAdd?: number;
  /** HNSW candidate list while searching (ef), stored as the default. @default 64 */
  expansionSearch?: number;
  /** Threads for building the graph; 0 = all cores. @default 0 */
  threads?: number;
  /** Model directory that produced the embeddings, recorded for image queries. @default undefined */
  model?: string;
  /** PCA fit behind `pca_` columns, recorded for image queries. @default `<embeddings>.pca.json` when that file exists */
  pca?: string;
  /** Catalogue(s) recorded as the default for `where` filters and output columns. @default undefined (the embedding tables) */
  catalog?: string | string[];
  /** Id column of `catalog`. @default 'id' */
  idColumn?: string;
  /** Replace an existing index at `out`. @default false */
  overwrite?: boolean;
  /** Called while the graph is built with vectors added and the total. @default undefined */
  onProgress?: (done: number, total: number) => void;
}

const PCA_RE = /^pca_(\d+)$/;
const FEAT_RE = /^feat_(\d+)$/;

const byNumber = (re: RegExp) => (a: string, b: string) => Number(re.exec(a)![1]) - Number(re.exec(b)![1]);

/** The columns of `available` to index for `choice` (see {@link BuildIndexOptions.columns}). */
export function chooseColumns(available: readonly string[], choice: ColumnChoice | undefined, where: string): string[] {
  const pca = available.filter((c) => PCA_RE.test(c)).sort(byNumber(PCA_RE));
  const feat = available.filter((c) => FEAT_RE.test(c)).sort(byNumber(FEAT_RE));
  if (Array.isArray(choice)) {
    if (choice.length === 0) throw new OptionError('columns: give at least one column');
    const missing = choice.filter((c) => !available.includes(c));
    if (missing.length > 0) throw new CatalogError(`${where}: no column${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')}`);
    return [...choice];
  }
  if (choice !== undefined && choice !== 'pca' && choice !== 'feat') throw new OptionError(`columns must be pca, feat or a list of column names, got "${choice}"`);
  const pick = choice ?? (pca.length > 0 ? 'pca' : 'feat');
  const cols = pick === 'pca' ? pca : feat;
  if (cols.length === 0) {
    throw new CatalogError(
      `${where}: no ${pick}_ columns${choice === undefined ? ' (nor pca_)' : ''}; is it an embeddings table from \`galmorph embed\`? ` +
        `(columns: ${available.slice(0, 8).join(', ')}${available.length > 8 ? ', …' : ''})`,
    );
  }
  return cols;
}

interface Loaded {
  ids: string[];
  data: Float32Array;
  columns: string[];
  representationDim: number;
  skipped: { status: number; nonFinite: number };
}

/** Growable row-major float32 storage. */
class Rows {
  private chunks: Float32Array[] = [];
  private cur: Float32Array;
  private used = 0;
  count = 0;
  constructor(private readonly dim: number, private readonly chunkRows = 65536) {
    this.cur = new Float32Array(dim * chunkRows);
  }
  /** A slot for one more row. */
  next(): Float32Array {
    if (this.used === this.chunkRows) {
      this.chunks.push(this.cur);
      this.cur = new Float32Array(this.dim * this.chunkRows);
      this.used = 0;
    }
    return this.cur.subarray(this.used * this.dim, (this.used + 1) * this.dim);
  }
  commit(): void {
    this.used++;
    this.count++;
  }
  concat(): Float32Array {
    const out = new Float32Array(this.count * this.dim);
    let at = 0;
    for (const c of [...this.chunks, this.cur.subarray(0, this.used * this.dim)]) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

async function readEmbeddings(paths: string[], choice: ColumnChoice | undefined): Promise<Loaded> {
  let columns: string[] | null = null;
  let representationDim = 0;
  const ids: string[] = [];
  const rowOf = new Map<string, string>();
  const skipped = { status: 0, nonFinite: 0 };
  let rows: Rows | null = null;
  let total = 0;
  for (const path of paths) {
    const available = await tableColumns(path);
    if (!available.includes('id')) throw new CatalogError(`${path}: no "id" column; is it an embeddings table from \`galmorph embed\`?`);
    const cols = chooseColumns(available, choice, path);
    if (columns === null) {
      columns = cols;
      representationDim = available.filter((c) => FEAT_RE.test(c)).length;
      rows = new Rows(cols.length);
    } else if (cols.length !== columns.length || cols.some((c, j) => c !== columns![j])) {
      throw new CatalogError(`dimension mismatch: ${path} has ${cols.length} ${cols[0]}… columns, ${paths[0]} has ${columns.length}`);
    }
    const hasStatus = available.includes('status');
    const d = cols.length;
    const take = (id: string, status: unknown, get: (j: number) => number, line: number) => {
      total++;
      if (hasStatus && status !== 'ok') {
        skipped.status++;
        return;
      }
      const slot = rows!.next();
      for (let j = 0; j < d; j++) {
        const v = get(j);
        if (!Number.isFinite(v)) {
          skipped.nonFinite++;
          return;
        }
        slot[j] = v;
      }
      const prev = rowOf.get(id);
      if (prev !== undefined) throw new CatalogError(`${path}: id "${id}" appears twice (row ${line}, and earlier in ${prev}); ids must be unique`);
      rowOf.set(id, path);
      ids.push(id);
      rows!.commit();
    };
    let line = 0;
    if (extname(path).toLowerCase() === '.parquet') {
      const specs: ColumnSpec[] = [
        { name: 'id', type: 'STRING' },
        ...(hasStatus ? [{ name: 'status', type: 'STRING' as const }] : []),
        ...cols.map((name) => ({ name, type: 'FLOAT' as const })),
      ];
      for await (const block of readParquetBlocks(path, specs)) {
        const idCol = block.columns.get('id') as (string | null)[];
        const status = block.columns.get('status') as (string | null)[] | undefined;
        const values = cols.map((c) => block.columns.get(c) as Float32Array);
        for (let i = 0; i < block.rows; i++) take(idCol[i] ?? '', status?.[i], (j) => values[j][i], ++line);
      }
    } else {
      for await (const r of iterateTable(path, { columns: ['id', ...(hasStatus ? ['status'] : []), ...cols], rawColumns: ['id'] })) {
        take(r.id === null ? '' : String(r.id), r.status, (j) => (typeof r[cols[j]] === 'number' ? (r[cols[j]] as number) : NaN), ++line);
      }
    }
  }
  if (total === 0) throw new CatalogError(`${paths.join(', ')}: the embeddings table has no rows`);
  if (ids.length === 0) {
    throw new CatalogError(`${paths.join(', ')}: no usable rows among ${total} (${skipped.status} with an error status, ${skipped.nonFinite} with NaN values)`);
  }
  return { ids, data: rows!.concat(), columns: columns!, representationDim, skipped };
}

/**
 * Centre and/or scale rows to unit length, in place (`[n, dim]` row-major). Zero rows stay
 * zero (a cosine similarity of 0 to everything).
 */
export function normaliseRows(data: Float32Array, dim: number, mean: ArrayLike<number> | null, unitLength: boolean): void {
  const n = data.length / dim;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    if (mean) for (let j = 0; j < dim; j++) data[o + j] -= mean[j];
    if (!unitLength) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j] * data[o + j];
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < dim; j++) data[o + j] *= inv;
    }
  }
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isSafeInteger(v) || v < min) throw new OptionError(`${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

function usearchVersion(): string {
  try {
    // The package exports only its entry point; its package.json sits four folders above it.
    const entry = createRequire(import.meta.url).resolve('usearch');
    return (JSON.parse(readFileSync(join(dirname(entry), '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Build a similarity index (see manifest.ts for the files) and write it to `out` atomically
 * (built in a temp folder beside it, then renamed).
 *
 * Rows whose `status` is not `ok` or that hold NaN are skipped; ids must be unique. Vectors
 * are centred (cosine, `center`) and scaled to unit length (cosine), so a dot product is the
 * cosine similarity. Small sets (< `exactBelow`, default 20 000) get an exact index — brute
 * force is then both exact and fast (≈1 ms per query at 20 000 × 64); larger ones an HNSW
 * graph (usearch).
 * @example
 * await buildIndex({ embeddings: 'emb.parquet', out: 'emb.index' });
 * // → emb.index/{manifest.json, ids.json, vectors.f32} (+ ann.usearch for ≥ 20 000 galaxies)
 * @throws CatalogError for empty or unreadable embeddings, missing columns, a dimension
 *   mismatch between shards, duplicate ids; OptionError for bad options or an existing `out`
 */
export async function buildIndex(options: BuildIndexOptions): Promise<IndexManifest> {
  const metric = options.metric ?? 'cosine';
  if (metric !== 'cosine' && metric !== 'l2') throw new OptionError(`metric must be cosine or l2, got "${metric}"`);
  const method = options.method ?? 'auto';
  if (!['auto', 'exact', 'ann'].includes(method)) throw new OptionError(`method must be auto, exact or ann, got "${method}"`);
  const exactBelow = positiveInt('exactBelow', options.exactBelow ?? 20000, 0);
  const connectivity = positiveInt('connectivity', options.connectivity ?? 16, 2);
  const expansionAdd = positiveInt('expansionAdd', options.expansionAdd ?? 128);
  const expansionSearch = positiveInt('expansionSearch', options.expansionSearch ?? 64);
  const threads = positiveInt('threads', options.threads ?? 0, 0);
  if ((options.embeddings === undefined) === (options.vectors === undefined)) throw new OptionError('give exactly one of embeddings and vectors');
  const out = resolve(options.out);
  if (!options.overwrite && (await stat(out).catch(() => null))) throw new OptionError(`${options.out} already exists; delete it or pass overwrite (--overwrite)`);

  let loaded: Loaded;
  let source: string[] = [];
  if (options.vectors) {
    const v = options.vectors;
    positiveInt('vectors.dim', v.dim);
    if (v.data.length !== v.ids.length * v.dim) throw new OptionError(`dimension mismatch: ${v.ids.length} ids × ${v.dim} dims needs ${v.ids.length * v.dim} values, got ${v.data.length}`);
    if (v.ids.length === 0) throw new OptionError('vectors: no vectors to index');
    if (new Set(v.ids).size !== v.ids.length) throw new OptionError('vectors: ids must be unique');
    for (let i = 0; i < v.data.length; i++) if (!Number.isFinite(v.data[i])) throw new OptionError(`vectors: non-finite value in row ${Math.floor(i / v.dim)}`);
    const columns = v.columns ?? Array.from({ length: v.dim }, (_, j) => `v_${j}`);
    if (columns.length !== v.dim) throw new OptionError(`vectors.columns has ${columns.length} names for ${v.dim} dims`);
    loaded = { ids: [...v.ids], data: Float32Array.from(v.data), columns, representationDim: 0, skipped: { status: 0, nonFinite: 0 } };
  } else {
    const paths = typeof options.embeddings === 'string' ? [options.embeddings] : [...options.embeddings!];
    if (paths.length === 0) throw new OptionError('give at least one embeddings file');
    for (const p of paths) if (!existsSync(p)) throw new CatalogError(`${p}: file not found`);
    loaded = await readEmbeddings(paths, options.columns);
    source = paths.map((p) => resolve(p));
  }
  const { ids, data, columns } = loaded;
  const dim = columns.length;
  const n = ids.length;

  const center = metric === 'cosine' && (options.center ?? true);
  let mean: number[] | null = null;
  if (center) {
    const acc = new Float64Array(dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) acc[j] += data[i * dim + j];
    mean = Array.from(acc, (s) => s / n);
  }
  normaliseRows(data, dim, mean, metric === 'cosine');

  const pcaDefault = source.length === 1 && existsSync(`${source[0]}.pca.json`) ? `${source[0]}.pca.json` : undefined;
  const pca = options.pca ?? (columns.some((c) => PCA_RE.test(c)) ? pcaDefault : undefined);
  const catalog = options.catalog === undefined ? null : (typeof options.catalog === 'string' ? [options.catalog] : options.catalog).map((p) => resolve(p));
  for (const p of [...(catalog ?? []), ...(pca ? [pca] : []), ...(options.model ? [options.model] : [])]) {
    if (!existsSync(p)) throw new OptionError(`${p} does not exist`);
  }
  const useAnn = method === 'ann' || (method === 'auto' && n >= exactBelow);
  const ann: AnnSettings | null = useAnn
    ? { library: 'usearch', version: usearchVersion(), file: ANN_FILE, metric: metric === 'cosine' ? 'ip' : 'l2sq', connectivity, expansionAdd, expansionSearch }
    : null;

  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(join(tmp, IDS_JSON), JSON.stringify(ids));
    await writeFile(join(tmp, VECTORS_F32), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (ann) {
      const index = new UsearchIndex({
        dimensions: dim, metric: ann.metric === 'ip' ? MetricKind.IP : MetricKind.L2sq, quantization: ScalarKind.F32,
        connectivity, expansion_add: expansionAdd, expansion_search: expansionSearch, multi: false,
      });
      const batch = 16384;
      for (let s = 0; s < n; s += batch) {
        const e = Math.min(n, s + batch);
        const keys = new BigUint64Array(e - s);
        for (let i = s; i < e; i++) keys[i - s] = BigInt(i);
        index.add(keys, data.subarray(s * dim, e * dim), threads);
        options.onProgress?.(e, n);
      }
      index.save(join(tmp, ANN_FILE));
    }
    const manifest: IndexManifest = {
      format: 'galmorph-similarity-index',
      formatVersion: 1,
      created: new Date().toISOString(),
      source,
      columns,
      representationDim: loaded.representationDim,
      dim,
      count: n,
      skipped: loaded.skipped,
      metric,
      normalisation: { center, unitLength: metric === 'cosine' },
      mean,
      method: ann ? 'ann' : 'exact',
      ann,
      model: options.model ? resolve(options.model) : null,
      pca: pca ? resolve(pca) : null,
      catalog,
      idColumn: options.idColumn ?? 'id',
    };
    await writeFile(join(tmp, MANIFEST_JSON), JSON.stringify(manifest, null, 2) + '\n');
    if (options.overwrite) await rm(out, { recursive: true, force: true });
    await rename(tmp, out);
    return manifest;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
