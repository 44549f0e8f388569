/**
 * The survey behind the explorer: catalogue and prediction columns lined up by galaxy id,
 * read column by column on first use (a grid sorted by one column reads that column only),
 * filtered with the `where` grammar of similarity search and sorted.
 *
 * Everything stays in memory once read: comfortable up to a few 10⁵ galaxies.
 */
import { iterateTable, type Cell } from '../data/index.js';
import { CatalogError, OptionError } from '../errors.js';
import { getSchema, schemaNames, type Schema } from '../schema/index.js';
import { CatalogColumns, tableColumns } from '../search/catalog.js';
import { parseWhere, resolveColumns } from '../search/where.js';

/** Where the survey comes from. */
export interface SurveyOptions {
  /** Catalogue (.csv/.parquet), one row per galaxy, with ids and image paths; defines the galaxies shown. */
  catalog: string;
  /** Predictions table written by `predictSurvey` (`id`, `status`, `<question>_<answer>_fraction[_std]`). */
  predictions: string;
  /** Id column of the catalogue. @default 'id' */
  idColumn?: string;
  /** Image-path column of the catalogue (relative to its folder, or absolute). @default 'image_path' */
  imageColumn?: string;
  /** Decision tree of the predictions (built-in name or .json). @default the built-in schema whose answers the predictions hold */
  schema?: string;
}

/** A filtered, sorted slice of the survey. */
export interface GridQuery {
  /** SQL WHERE expression over catalogue and prediction columns (see src/search/where.ts). */
  where?: string;
  /** Column to sort by. @default catalogue order */
  sort?: string;
  /** @default 'asc' */
  order?: 'asc' | 'desc';
  /** @default 0 */
  offset?: number;
  /** @default 60 */
  limit?: number;
}

/** Rows of one grid page. */
export interface GridPage {
  /** Galaxies passing the filter. */
  total: number;
  /** Survey rows shown, in order. */
  rows: number[];
}

/** One answer of a question on the galaxy page; fractions are 0–1, NaN when absent. */
export interface AnswerView {
  answer: string;
  /** Predicted expected vote fraction and its predictive std. */
  predicted: number;
  std: number;
  /** Volunteer vote fraction (catalogue counts), when the catalogue has votes. */
  votes: number;
  /** True answer probability the simulated volunteers sampled from (`oracle_` columns of simulated catalogues). */
  oracle: number;
}

/** One question of the decision tree on the galaxy page. */
export interface QuestionView {
  question: string;
  /** Volunteers who answered it (NaN without votes). */
  volunteers: number;
  answers: AnswerView[];
}

const ORDERS = ['asc', 'desc'];

/** The galaxies of the explorer. */
export class Survey {
  private readonly rowOf: Map<string, number>;
  private readonly orders = new Map<string, Int32Array>();

  private constructor(
    /** Galaxy ids in catalogue order (first of duplicates kept). */
    readonly ids: readonly string[],
    private readonly catalog: CatalogColumns,
    private readonly predictions: CatalogColumns,
    /** Every column that can be filtered, sorted and shown: the catalogue's, then the predictions' others. */
    readonly columns: readonly string[],
    readonly schema: Schema,
    readonly imageColumn: string,
  ) {
    this.rowOf = new Map(ids.map((id, i) => [id, i]));
  }

  /** @throws CatalogError for a missing id or image column; SchemaError when no schema matches the predictions */
  static async open(options: SurveyOptions): Promise<Survey> {
    const idColumn = options.idColumn ?? 'id';
    const imageColumn = options.imageColumn ?? 'image_path';
    const catColumns = await tableColumns(options.catalog);
    for (const c of [idColumn, imageColumn]) {
      if (!catColumns.includes(c)) throw new CatalogError(`${options.catalog}: no column "${c}" (set the catalogue's ${c === idColumn ? 'id' : 'image'} column)`);
    }
    const ids: string[] = [];
    const seen = new Set<string>();
    for await (const r of iterateTable(options.catalog, { columns: [idColumn], rawColumns: [idColumn] })) {
      const id = r[idColumn];
      if (id === null || seen.has(String(id))) continue;
      seen.add(String(id));
      ids.push(String(id));
    }
    if (ids.length === 0) throw new CatalogError(`${options.catalog}: no galaxies`);
    const rowOf = new Map(ids.map((id, i) => [id, i]));
    const lookup = (id: string) => rowOf.get(id);
    const catalog = await CatalogColumns.open([options.catalog], idColumn, ids.length, lookup);
    const predictions = await CatalogColumns.open([options.predictions], 'id', ids.length, lookup);
    const columns = [...catalog.available, ...predictions.available.filter((c) => !catalog.available.includes(c))];
    const schema = options.schema ? getSchema(options.schema) : detectSchema(predictions.available, options.predictions);
    const missing = schema.answerColumns.filter((c) => !predictions.available.includes(`${c}_fraction`));
    if (missing.length > 0) throw new CatalogError(`${options.predictions}: no ${missing[0]}_fraction column for schema ${schema.name}; is it a predictions table from \`galmorph predict\`?`);
    return new Survey(ids, catalog, predictions, columns, schema, imageColumn);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Survey row of a galaxy, or undefined. */
  row(id: string): number | undefined {
    return this.rowOf.get(id);
  }

  /** Values of columns (catalogue first), one per survey row. */
  async load(columns: readonly string[]): Promise<Map<string, Cell[]>> {
    const cat = columns.filter((c) => this.catalog.has(c));
    const pred = columns.filter((c) => !this.catalog.has(c));
    if (cat.length > 0) await this.catalog.load(cat);
    if (pred.length > 0) await this.predictions.load(pred);
    return new Map(columns.map((c) => [c, this.catalog.has(c) ? this.catalog.column(c) : this.predictions.column(c)]));
  }

  /** Image file of a survey row (resolved against the catalogue's folder), or null. */
  async imagePath(row: number): Promise<string | null> {
    const values = (await this.load([this.imageColumn])).get(this.imageColumn)!;
    return this.catalog.resolvePath(row, values[row]);
  }

  /** Match a user-written column name to a survey column (exact, then case-insensitive). @throws OptionError listing near names */
  resolve(name: string): string {
    return resolveColumns([name], this.columns, 'the catalogue or the predictions').get(name)!;
  }

  /**
   * Rows passing `where`, sorted by `sort` (numbers before text, missing values last in
   * either order), then cut to `offset`/`limit`. Orders are cached per filter and sort.
   * @throws OptionError for a bad filter or unknown column
   */
  async select(q: GridQuery): Promise<GridPage> {
    const where = q.where?.trim() ?? '';
    const sort = q.sort ? this.resolve(q.sort) : '';
    const order = q.order ?? 'asc';
    if (!ORDERS.includes(order)) throw new OptionError(`order must be asc or desc, got "${order}"`);
    const key = `${where}\u0000${sort}\u0000${order}`;
    let rows = this.orders.get(key);
    if (!rows) {
      rows = await this.filter(where);
      if (sort) rows = sortRows(rows, (await this.load([sort])).get(sort)!, order === 'desc');
      if (this.orders.size > 32) this.orders.clear();
      this.orders.set(key, rows);
    }
    const offset = q.offset ?? 0;
    return { total: rows.length, rows: Array.from(rows.subarray(offset, offset + (q.limit ?? 60))) };
  }

  private async filter(where: string): Promise<Int32Array> {
    if (!where) return Int32Array.from(this.ids, (_, i) => i);
    const filter = parseWhere(where);
    const names = filter.columns.filter((c) => c !== 'id');
    const map = resolveColumns(names, this.columns, 'the catalogue or the predictions');
    const values = await this.load([...new Set(map.values())]);
    const cols = new Map([...map].map(([name, col]) => [name, values.get(col)!]));
    const out: number[] = [];
    for (let r = 0; r < this.size; r++) {
      if (filter.test((name) => (name === 'id' ? this.ids[r] : cols.get(name)![r]))) out.push(r);
    }
    return Int32Array.from(out);
  }

  /** Values of `columns` for one row. */
  async record(row: number, columns: readonly string[]): Promise<Record<string, Cell>> {
    const values = await this.load(columns);
    return Object.fromEntries(columns.map((c) => [c, values.get(c)![row]]));
  }

  /**
   * Predicted vote fractions with uncertainty per question, beside the volunteers' vote
   * fractions and (simulated catalogues) the true probabilities, when the catalogue has them.
   */
  async questions(row: number): Promise<QuestionView[]> {
    const has = (c: string) => this.columns.includes(c);
    const wanted: string[] = [];
    for (const q of this.schema.questions) {
      if (has(`${q.name}_total`)) wanted.push(`${q.name}_total`);
      for (const c of q.columns) wanted.push(...[`${c}_fraction`, `${c}_fraction_std`, c, `oracle_${c}`].filter(has));
    }
    const rec = await this.record(row, wanted);
    const numAt = (c: string) => (typeof rec[c] === 'number' ? (rec[c] as number) : NaN);
    return this.schema.questions.map((q) => {
      const counts = q.columns.map(numAt);
      const total = has(`${q.name}_total`) ? numAt(`${q.name}_total`) : counts.reduce((a, b) => a + b, 0);
      return {
        question: q.name,
        volunteers: total,
        answers: q.answers.map((answer, j) => ({
          answer,
          predicted: numAt(`${q.columns[j]}_fraction`),
          std: numAt(`${q.columns[j]}_fraction_std`),
          votes: total > 0 ? counts[j] / total : NaN,
          oracle: numAt(`oracle_${q.columns[j]}`),
        })),
      };
    });
  }

  /** Catalogue columns that are not votes, predictions or ids: truth, tags, photometry… */
  get describingColumns(): string[] {
    const voteLike = new Set<string>();
    for (const q of this.schema.questions) {
      voteLike.add(`${q.name}_total`);
      for (const c of q.columns) voteLike.add(c).add(`oracle_${c}`);
    }
    return this.catalog.available.filter((c) => !voteLike.has(c) && c !== this.catalog.idColumn && c !== this.imageColumn);
  }
}

/** The built-in schema all of whose answers have `_fraction` columns in the predictions. */
function detectSchema(columns: readonly string[], path: string): Schema {
  for (const name of schemaNames()) {
    const s = getSchema(name);
    if (s.answerColumns.every((c) => columns.includes(`${c}_fraction`))) return s;
  }
  throw new CatalogError(`${path}: its _fraction columns match no built-in schema (${schemaNames().join(', ')}); pass the schema the model was trained with (--schema, a built-in name or a .json file)`);
}

/** Numbers ascending, then text, then missing values; `desc` reverses all but the missing ones. */
function sortRows(rows: Int32Array, values: readonly Cell[], desc: boolean): Int32Array {
  const rank = (v: Cell): number => (v === null || (typeof v === 'number' && Number.isNaN(v)) ? 2 : typeof v === 'string' ? 1 : 0);
  const sign = desc ? -1 : 1;
  return Int32Array.from(rows).sort((a, b) => {
    const va = values[a], vb = values[b];
    const ra = rank(va), rb = rank(vb);
    if (ra !== rb) return ra === 2 || rb === 2 ? ra - rb : sign * (ra - rb);
    if (ra === 2 || va === vb) return a - b;
    return (va! < vb! ? -1 : 1) * sign;
  });
}
