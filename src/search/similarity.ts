/**
 * `openIndex` and `SimilarityIndex.search`: nearest neighbours of one or more example
 * galaxies (ids, vectors or image files), optionally pushed away from counter-examples and
 * restricted by a `where` filter on catalogue columns.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Index as UsearchIndex, MetricKind, ScalarKind, type Matches } from 'usearch';
import type { Cell } from '../data/index.js';
import { OptionError } from '../errors.js';
import { normaliseRows } from './build.js';
import { CatalogColumns } from './catalog.js';
import { exactSearch, type RowHit } from './exact.js';
import { ImageEmbedder } from './images.js';
import { IDS_JSON, VECTORS_F32, readManifest, type IndexManifest } from './manifest.js';
import { suggestIds } from './suggest.js';
import { parseWhere, resolveColumns } from './where.js';

/** Options of {@link openIndex}. */
export interface OpenIndexOptions {
  /** Model directory for image queries. @default the model recorded in the index */
  model?: string;
  /** PCA fit for image queries on a `pca_` index. @default the fit recorded in the index */
  pca?: string;
  /**
   * Catalogue(s) for `where` filters, output columns and image paths (.csv/.parquet, one row
   * per galaxy). @default the catalogue recorded in the index, else its embedding tables
   */
  catalog?: string | string[];
  /** Id column of the catalogue. @default the index's (normally 'id') */
  idColumn?: string;
  /** Catalogue column of image paths (relative to the catalogue's folder or absolute). @default 'image_path' */
  imageColumn?: string;
  /** HNSW search breadth (ef): larger is slower and closer to exact. @default the index's (64) */
  expansionSearch?: number;
  /**
   * On an HNSW index, a `where` filter passing at most this many rows is searched exactly
   * (brute force over those rows is then faster than walking the graph). @default ⌊2·10⁶ ÷ dim⌋
   */
  exactFilterRows?: number;
}

/** A query galaxy: an id in the index, a vector in the index's source columns, or an image file. */
export type QueryItem = string | Float32Array | { image: string };

/** A search. */
export interface SimilarityQuery {
  /** Example galaxies (at least one). Several are averaged after normalisation. */
  positives: readonly QueryItem[];
  /** Counter-examples: their mean, times `negativeWeight`, is subtracted. @default [] */
  negatives?: readonly QueryItem[];
  /** Weight β of the negatives in q = mean(positives) − β · mean(negatives). @default 0.5 */
  negativeWeight?: number;
  /** Number of neighbours. @default 20 */
  k?: number;
  /** Keep only catalogue rows passing this SQL WHERE expression (see where.ts), e.g. `"has_tag(tags, 'ring') AND mag_r < 17"`. @default undefined */
  where?: string;
  /** Catalogue columns to add to each result. @default [] */
  columns?: readonly string[];
  /** Search exhaustively even when the index has an HNSW graph. @default false */
  exact?: boolean;
}

/** One neighbour. Catalogue columns asked for in `columns` are added as extra keys. */
export interface Neighbour {
  /** 1 = most similar. */
  rank: number;
  id: string;
  /** Cosine similarity (cosine indexes) or minus the Euclidean distance (l2). Larger = more similar. */
  score: number;
  /** 1 − cosine similarity, or the Euclidean distance. */
  distance: number;
  [column: string]: Cell;
}

/** How the last search was answered (for diagnostics and tests). */
export interface SearchInfo {
  /** `exact`: brute force; `ann`: HNSW graph; `ann+exact`: the graph gave too few rows passing the filter, so the filtered subset was searched exactly. */
  method: 'exact' | 'ann' | 'ann+exact';
  /** Rows allowed by the filter (all rows without one). */
  candidates: number;
  /** Rows left out because they are query galaxies. */
  excluded: number;
}

/** Multiply-adds of a brute-force search that cost about as much as a graph search (≈ 2 ms). */
const EXACT_BUDGET = 2_000_000;
/** The most neighbours asked of the graph before falling back to exact search on the filtered rows. */
const ANN_MAX_FETCH = 20_000;

/**
 * Vectors of an index. Exact indexes read them whole; approximate ones read single rows from
 * the file (query galaxies) and load the whole file only if an exact search needs it.
 */
class VectorStore {
  private all: Float32Array | null = null;
  private fd: number | null = null;

  constructor(private readonly path: string, readonly dim: number, readonly count: number) {}

  async loadAll(): Promise<Float32Array> {
    if (!this.all) {
      const buf = await readFile(this.path);
      if (buf.byteLength !== this.count * this.dim * 4) throw new OptionError(`${this.path}: expected ${this.count} × ${this.dim} float32 values, the file has ${buf.byteLength} bytes`);
      this.all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    }
    return this.all;
  }

  row(i: number): Float32Array {
    if (this.all) return this.all.slice(i * this.dim, (i + 1) * this.dim);
    this.fd ??= openSync(this.path, 'r');
    const out = new Float32Array(this.dim);
    readSync(this.fd, new Uint8Array(out.buffer), 0, this.dim * 4, i * this.dim * 4);
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.all = null;
  }
}

/** An opened similarity index. Call {@link SimilarityIndex.close} when done (it may hold a model). */
export class SimilarityIndex {
  private rowById: Map<string, number> | null = null;
  private catalogue: CatalogColumns | null = null;
  private embedder: ImageEmbedder | null = null;
  private readonly filters = new Map<string, Int32Array>();
  /** How the last {@link search} was answered. */
  lastSearch: SearchInfo | null = null;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
    private readonly idList: readonly string[],
    private readonly vectors: VectorStore,
    private ann: UsearchIndex | null,
    private readonly options: OpenIndexOptions,
  ) {}

  /** @internal use {@link openIndex} */
  static async open(dir: string, options: OpenIndexOptions): Promise<SimilarityIndex> {
    const m = await readManifest(dir);
    const ids = JSON.parse(await readFile(join(dir, IDS_JSON), 'utf8')) as string[];
    if (!Array.isArray(ids) || ids.length !== m.count) throw new OptionError(`${join(dir, IDS_JSON)}: expected ${m.count} ids`);
    const vectors = new VectorStore(join(dir, VECTORS_F32), m.dim, m.count);
    let ann: UsearchIndex | null = null;
    if (m.ann) {
      const ef = options.expansionSearch ?? m.ann.expansionSearch;
      if (!Number.isSafeInteger(ef) || ef < 1) throw new OptionError(`expansionSearch must be a positive integer, got ${ef}`);
      ann = new UsearchIndex({
        dimensions: m.dim, metric: m.ann.metric === 'ip' ? MetricKind.IP : MetricKind.L2sq, quantization: ScalarKind.F32,
        connectivity: m.ann.connectivity, expansion_add: m.ann.expansionAdd, expansion_search: ef, multi: false,
      });
      // Memory-mapped: opening is instant and pages load as the graph is walked.
      ann.view(join(dir, m.ann.file));
      if (ann.size() !== m.count) throw new OptionError(`${join(dir, m.ann.file)} holds ${ann.size()} vectors, the manifest says ${m.count}`);
    } else {
      await vectors.loadAll();
    }
    return new SimilarityIndex(dir, m, ids, vectors, ann, options);
  }

  /** Number of galaxies. */
  get size(): number {
    return this.manifest.count;
  }

  /** Galaxy ids in row order. */
  get ids(): readonly string[] {
    return this.idList;
  }

  private rowOf(id: string): number | undefined {
    if (!this.rowById) {
      this.rowById = new Map();
      this.idList.forEach((x, i) => this.rowById!.set(x, i));
    }
    return this.rowById.get(id);
  }

  /** True when the index holds galaxy `id`. */
  has(id: string): boolean {
    return this.rowOf(id) !== undefined;
  }

  /** Up to `max` indexed ids closest in spelling to `id` (for "did you mean" messages). */
  suggest(id: string, max = 3): string[] {
    return suggestIds(id, this.idList, max);
  }

  /** The stored (centred, normalised) vector of a galaxy. @throws OptionError for an unknown id */
  vectorOf(id: string): Float32Array {
    return this.vectors.row(this.requireRow(id));
  }

  private requireRow(id: string): number {
    const row = this.rowOf(id);
    if (row !== undefined) return row;
    const near = this.suggest(id);
    throw new OptionError(`unknown galaxy id "${id}" (not among the ${this.size} indexed galaxies)${near.length ? `; did you mean ${near.map((s) => `"${s}"`).join(', ')}?` : ''}`);
  }

  /** The catalogue behind filters, output columns and image paths, opened on first use. */
  async catalog(): Promise<CatalogColumns> {
    if (!this.catalogue) {
      const given = this.options.catalog;
      const paths = given !== undefined ? (typeof given === 'string' ? [given] : [...given]) : (this.manifest.catalog ?? this.manifest.source);
      if (paths.length === 0) throw new OptionError('this index has no catalogue (it was built from vectors in memory): pass catalog (--catalog FILE)');
      const idColumn = this.options.idColumn ?? this.manifest.idColumn;
      this.catalogue = await CatalogColumns.open(paths.map((p) => resolve(p)), idColumn, this.size, (id) => this.rowOf(id));
    }
    return this.catalogue;
  }

  /**
   * Image files of indexed galaxies, from the catalogue's image column (null where it has none).
   * @throws OptionError for an unknown id, or when the catalogue has no image column
   */
  async imagePaths(ids: readonly string[]): Promise<(string | null)[]> {
    const rows = ids.map((id) => this.requireRow(id));
    const cat = await this.catalog();
    const col = this.options.imageColumn ?? 'image_path';
    if (!cat.has(col)) throw new OptionError(`catalogue ${cat.paths.join(', ')} has no "${col}" column of image paths (pass a catalogue that has one, e.g. the simulator's catalog.parquet)`);
    await cat.load([col]);
    const values = cat.column(col);
    return rows.map((r) => cat.resolvePath(r, values[r]));
  }

  /** Embed image files into the index's source columns (before centring and normalising). */
  async embedImages(paths: readonly string[]): Promise<Float32Array> {
    if (!this.embedder) {
      const model = this.options.model ?? this.manifest.model;
      const pca = this.options.pca ?? this.manifest.pca;
      this.embedder = await ImageEmbedder.open(this.manifest, model, pca);
    }
    return this.embedder.embed(paths);
  }

  /** Rows passing a filter (cached per expression). */
  private async filterRows(where: string): Promise<Int32Array> {
    const cached = this.filters.get(where);
    if (cached) return cached;
    const filter = parseWhere(where);
    const names = filter.columns;
    // `id` always means the indexed id, so filters on ids work without a catalogue.
    const catNames = names.filter((c) => c !== 'id');
    let get: (row: number) => (name: string) => Cell;
    if (catNames.length === 0) {
      get = (row) => () => this.idList[row];
    } else {
      const cat = await this.catalog();
      const map = resolveColumns(catNames, cat.available, `catalogue ${cat.paths.join(', ')}`);
      await cat.load([...map.values()]);
      const cols = new Map([...map].map(([name, col]) => [name, cat.column(col)]));
      get = (row) => (name) => (name === 'id' ? this.idList[row] : cols.get(name)![row]);
    }
    const rows: number[] = [];
    for (let r = 0; r < this.size; r++) if (filter.test(get(r))) rows.push(r);
    const out = Int32Array.from(rows);
    if (this.filters.size > 16) this.filters.clear();
    this.filters.set(where, out);
    return out;
  }

  /** Vectors of query items in the index space (centred, normalised), and the rows they occupy. */
  private async resolveItems(items: readonly QueryItem[], role: string): Promise<{ vectors: Float32Array[]; rows: number[] }> {
    const { dim, normalisation, mean } = this.manifest;
    const vectors: Float32Array[] = new Array(items.length);
    const rows: number[] = [];
    const raw: { at: number; v: Float32Array }[] = [];
    const images: { at: number; path: string }[] = [];
    items.forEach((it, i) => {
      if (typeof it === 'string') {
        const row = this.requireRow(it);
        rows.push(row);
        vectors[i] = this.vectors.row(row);
      } else if (it instanceof Float32Array) {
        if (it.length !== dim) throw new OptionError(`dimension mismatch: ${role} vector ${i + 1} has ${it.length} values, the index has ${dim} (${this.manifest.columns[0]}…)`);
        raw.push({ at: i, v: Float32Array.from(it) });
      } else if (it && typeof it === 'object' && typeof it.image === 'string') {
        images.push({ at: i, path: it.image });
      } else {
        throw new OptionError(`${role} ${i + 1}: expected an id, a Float32Array or { image: path }`);
      }
    });
    if (images.length > 0) {
      const emb = await this.embedImages(images.map((x) => x.path));
      images.forEach((x, j) => raw.push({ at: x.at, v: emb.slice(j * dim, (j + 1) * dim) }));
      rows.push(...(await this.rowsOfImages(images.map((x) => x.path))));
    }
    for (const { at, v } of raw) {
      normaliseRows(v, dim, normalisation.center ? mean : null, normalisation.unitLength);
      vectors[at] = v;
    }
    return { vectors, rows };
  }

  /** Index rows whose catalogue image is one of `paths` (a survey image used as a query is not its own neighbour). */
  private async rowsOfImages(paths: readonly string[]): Promise<number[]> {
    let cat: CatalogColumns;
    try {
      cat = await this.catalog();
    } catch {
      return [];
    }
    const col = this.options.imageColumn ?? 'image_path';
    if (!cat.has(col)) return [];
    await cat.load([col]);
    const wanted = new Set(paths.map((p) => resolve(p)));
    const values = cat.column(col);
    const rows: number[] = [];
    for (let r = 0; r < this.size; r++) {
      const p = values[r] === null ? null : cat.resolvePath(r, values[r]);
      if (p !== null && wanted.has(p)) rows.push(r);
    }
    return rows;
  }

  /**
   * The query vector: q = mean(p̂ᵢ) − β · mean(n̂ⱼ), where p̂, n̂ are the positives and
   * negatives in the index space (centred and unit length for cosine); for cosine q is then
   * scaled to unit length. This is Rocchio's relevance-feedback rule: averaging examples finds
   * what they share, subtracting counter-examples steers away from what they show.
   */
  private combine(pos: Float32Array[], neg: Float32Array[], beta: number): Float32Array {
    const d = this.manifest.dim;
    const q = new Float32Array(d);
    for (const v of pos) for (let j = 0; j < d; j++) q[j] += v[j] / pos.length;
    for (const v of neg) for (let j = 0; j < d; j++) q[j] -= (beta * v[j]) / neg.length;
    if (this.manifest.metric === 'cosine') {
      let s = 0;
      for (let j = 0; j < d; j++) s += q[j] * q[j];
      if (!(s > 1e-12)) throw new OptionError('the query vector is zero (the positives cancel out, or the negatives cancel the positives); change the examples or negativeWeight');
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < d; j++) q[j] *= inv;
    }
    return q;
  }

  /**
   * Nearest neighbours of the query galaxies, best first. The query galaxies themselves
   * (positives and negatives given by id, or whose image file is the catalogue's) are never
   * returned.
   *
   * With a graph (large indexes) the search asks the graph for extra neighbours to make up
   * for rows the filter rejects (k ÷ the filter's pass rate, then ×4 per retry) and, if still
   * short, or when few rows pass, searches the passing rows exactly — so a filter never
   * returns fewer than k rows when k rows pass it.
   * @example
   * const index = await openIndex('emb.index', { catalog: 'survey/catalog.parquet' });
   * await index.search({ positives: ['J101.23+02.1'], k: 5, where: "mag_r < 17", columns: ['tags'] });
   * // [{ rank: 1, id: 'J088.10+01.9', score: 0.97, distance: 0.03, tags: 'ring,barred' }, …]
   * @throws OptionError for an unknown id, a vector of the wrong length, a bad filter, or a
   *   missing model for image queries
   */
  async search(query: SimilarityQuery): Promise<Neighbour[]> {
    if (this.closed) throw new OptionError(`the index ${this.dir} was closed; open it again`);
    const k = query.k ?? 20;
    if (!Number.isSafeInteger(k) || k < 1) throw new OptionError(`k must be a positive integer, got ${k}`);
    const beta = query.negativeWeight ?? 0.5;
    if (!Number.isFinite(beta) || beta < 0) throw new OptionError(`negativeWeight must be a number ≥ 0, got ${beta}`);
    if (!query.positives || query.positives.length === 0) throw new OptionError('give at least one positive (query) galaxy');
    const columns = [...new Set(query.columns ?? [])];
    const reserved = columns.filter((c) => ['rank', 'score', 'distance'].includes(c));
    if (reserved.length > 0) throw new OptionError(`columns: ${reserved.join(', ')} ${reserved.length > 1 ? 'are' : 'is'} already in every result`);
    const where = query.where?.trim() ? query.where : undefined;
    if (where) parseWhere(where);

    const pos = await this.resolveItems(query.positives, 'positive');
    const neg = await this.resolveItems(query.negatives ?? [], 'negative');
    const q = this.combine(pos.vectors, neg.vectors, beta);
    const exclude = new Set([...pos.rows, ...neg.rows]);
    const allowed = where ? await this.filterRows(where) : null;
    const candidates = allowed ? allowed.length : this.size;
    const { dim, metric } = this.manifest;

    let hits: RowHit[] | null = null;
    let method: SearchInfo['method'] = 'exact';
    const exactRows = this.options.exactFilterRows ?? Math.floor(EXACT_BUDGET / dim);
    if (this.ann && !query.exact && !(allowed && candidates <= exactRows)) {
      method = 'ann';
      const mask = allowed ? new Uint8Array(this.size) : null;
      if (mask) for (const r of allowed!) mask[r] = 1;
      const want = k + exclude.size;
      let fetch = Math.min(this.size, Math.ceil((want * this.size) / Math.max(1, candidates) * (allowed ? 1.5 : 1)) + (allowed ? 10 : 0));
      for (;;) {
        const m: Matches = this.ann.search(q, fetch, 1);
        const got: RowHit[] = [];
        for (let i = 0; i < m.keys.length && got.length < k; i++) {
          const row = Number(m.keys[i]);
          if (exclude.has(row) || (mask && !mask[row])) continue;
          got.push({ row, score: metric === 'cosine' ? 1 - m.distances[i] : -m.distances[i] });
        }
        if (got.length >= k || m.keys.length >= this.size) {
          hits = got;
          break;
        }
        if (fetch >= ANN_MAX_FETCH) break;
        fetch = Math.min(this.size, ANN_MAX_FETCH, fetch * 4);
      }
      if (!hits) method = 'ann+exact';
    }
    if (!hits) {
      const all = await this.vectors.loadAll();
      hits = exactSearch(all, dim, q, k, metric, { rows: allowed ?? undefined, exclude })[0];
    }
    this.lastSearch = { method, candidates, excluded: exclude.size };

    const extra: Cell[][] = [];
    const outCols = columns.filter((c) => c !== 'id');
    if (outCols.length > 0) {
      const cat = await this.catalog();
      const map = resolveColumns(outCols, cat.available, `catalogue ${cat.paths.join(', ')}`);
      await cat.load([...map.values()]);
      for (const c of outCols) extra.push(cat.column(map.get(c)!));
    }
    return hits.map((h, i) => {
      const rec: Neighbour = {
        rank: i + 1,
        id: this.idList[h.row],
        score: h.score,
        distance: metric === 'cosine' ? 1 - h.score : Math.sqrt(Math.max(0, -h.score)),
      };
      outCols.forEach((c, j) => (rec[c] = extra[j][h.row]));
      return rec;
    });
  }

  /** Release the model (if image queries loaded one), open files and the graph (unmapped when collected). */
  close(): void {
    this.embedder?.dispose();
    this.embedder = null;
    this.vectors.close();
    this.ann = null;
    this.closed = true;
  }
}

/**
 * Open an index written by {@link buildIndex}.
 * @example
 * const index = await openIndex('emb.index');
 * const hits = await index.search({ positives: ['J101.23+02.1'], k: 10 });
 * index.close();
 */
export async function openIndex(dir: string, options: OpenIndexOptions = {}): Promise<SimilarityIndex> {
  return SimilarityIndex.open(dir, options);
}
