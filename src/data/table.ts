/**
 * Tables on disk: CSV and Parquet, read whole or streamed row by row, written atomically.
 * One in-memory shape for both formats, so the rest of galmorph never cares which it got.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import { CatalogError } from '../errors.js';
import { produceAtomic, writeFileAtomic } from './atomic.js';

/** One table cell. `null` is a missing value (empty CSV cell, Parquet null). */
export type Cell = string | number | boolean | null;

/** A table held in memory: column names in file order and one record per row. */
export interface Table {
  columns: string[];
  rows: Record<string, Cell>[];
}

/** Options for {@link readTable}, {@link iterateTable} and {@link openTable}. */
export interface ReadTableOptions {
  /**
   * CSV columns whose cells are kept exactly as written (never turned into numbers or
   * booleans), e.g. an id column where `007` must stay `'007'`. Ignored for Parquet, which
   * stores its own types.
   * @default []
   */
  rawColumns?: string[];
  /**
   * Read only these columns, in this order (Parquet decodes nothing else). A column the file
   * lacks is a CatalogError naming it.
   * @default every column
   */
  columns?: string[];
}

/** A table opened for streaming: the header first, then rows on demand. */
export interface TableStream {
  /** Column names in file order. */
  columns: string[];
  /** Rows in file order; each row has every column as a key (missing → `null`). */
  rows: AsyncGenerator<Record<string, Cell>>;
}

const SUPPORTED = '.csv, .parquet';

type Format = 'csv' | 'parquet';

function formatOf(path: string): Format {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet') return 'parquet';
  throw new CatalogError(`${path}: unsupported table extension "${ext || '(none)'}"; supported: ${SUPPORTED}`);
}

// Unquoted CSV text that reads as a number. Leading '+', '.5', '5.', exponents, and the
// spellings pandas/numpy write for non-finite values.
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_RE = /^[+-]?\d+$/;
const NON_FINITE: Record<string, number> = {
  nan: NaN, NaN: NaN, NAN: NaN,
  inf: Infinity, Inf: Infinity, INF: Infinity, Infinity: Infinity, '+inf': Infinity, '+Infinity': Infinity,
  '-inf': -Infinity, '-Inf': -Infinity, '-INF': -Infinity, '-Infinity': -Infinity,
};
const BOOLEANS: Record<string, boolean> = { true: true, True: true, TRUE: true, false: false, False: false, FALSE: false };

/**
 * Type one CSV cell. Empty → null; quoted cells stay strings (a writer quoted them for a
 * reason — this is how `'007'` survives a round trip); unquoted numbers → numbers, except
 * integers beyond 2^53, which stay strings rather than silently losing digits (64-bit ids).
 */
function typeCell(value: string, quoted: boolean): Cell {
  if (quoted) return value;
  const t = value.trim();
  if (t === '') return null;
  if (NUMBER_RE.test(t)) {
    const n = Number(t);
    if (INTEGER_RE.test(t) && !Number.isSafeInteger(n)) return value;
    return n;
  }
  if (t in NON_FINITE) return NON_FINITE[t];
  if (t in BOOLEANS) return BOOLEANS[t];
  return value;
}

/** True when a string would be typed as something else if written unquoted. */
function needsQuotes(s: string): boolean {
  return typeCell(s, false) !== s || /[",\r\n]/.test(s) || s !== s.trim();
}

/**
 * Which fields of one raw CSV record were quoted. csv-parse can report this per cell through
 * `cast`, but that costs ~20× the parse itself, so records are scanned here instead — and
 * only those that contain a quote character at all.
 */
function quotedFields(raw: string, n: number): boolean[] {
  const flags = new Array<boolean>(n).fill(false);
  let field = 0, inQuote = false, atStart = true;
  for (let i = 0; i < raw.length && field < n; i++) {
    const ch = raw[i];
    if (inQuote) {
      if (ch === '"') {
        if (raw[i + 1] === '"') i++;
        else inQuote = false;
      }
    } else if (ch === ',') {
      field++;
      atStart = true;
      continue;
    } else if (ch === '"' && atStart) {
      flags[field] = true;
      inQuote = true;
    }
    atStart = false;
  }
  return flags;
}

async function openCsv(path: string, raw: Set<string>): Promise<TableStream> {
  const source = createReadStream(path);
  const parser = source.pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: false, raw: true }));
  const iter: AsyncIterator<{ record: string[]; raw: string }> = parser[Symbol.asyncIterator]();
  const wrap = (e: unknown): CatalogError => {
    if (e instanceof CatalogError) return e;
    const err = e as NodeJS.ErrnoException & { lines?: number };
    if (err.code === 'ENOENT') return new CatalogError(`${path}: file not found`);
    const where = err.lines ? ` (line ${err.lines})` : '';
    return new CatalogError(`${path}: malformed CSV${where}: ${err.message}`);
  };
  let first: IteratorResult<{ record: string[]; raw: string }>;
  try {
    first = await iter.next();
  } catch (e) {
    throw wrap(e);
  }
  if (first.done) throw new CatalogError(`${path}: empty file (a header row is required)`);
  const columns = first.value.record.map((c) => c.trim());
  const seen = new Map<string, number>();
  columns.forEach((c, i) => {
    if (c === '') throw new CatalogError(`${path}: header column ${i + 1} has an empty name`);
    if (seen.has(c)) throw new CatalogError(`${path}: header repeats column "${c}" (columns ${seen.get(c)! + 1} and ${i + 1})`);
    seen.set(c, i);
  });
  const keepRaw = columns.map((c) => raw.has(c));
  const n = columns.length;
  async function* rows(): AsyncGenerator<Record<string, Cell>> {
    try {
      for (;;) {
        const next = await iter.next();
        if (next.done) return;
        const { record, raw: text } = next.value;
        const quoted = text.includes('"') ? quotedFields(text, n) : null;
        const row: Record<string, Cell> = {};
        for (let i = 0; i < n; i++) {
          const v = record[i];
          const q = quoted !== null && quoted[i];
          row[columns[i]] = keepRaw[i] ? (v === '' && !q ? null : v) : typeCell(v, q);
        }
        yield row;
      }
    } catch (e) {
      throw wrap(e);
    } finally {
      parser.destroy();
      source.destroy();
    }
  }
  return { columns, rows: rows() };
}

/** Parquet values → Cell: bigint → number (string if beyond 2^53), dates → ISO text, nested → JSON. */
function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'bigint':
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    default:
      if (v instanceof Date) return v.toISOString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  }
}

async function openParquet(path: string, only?: readonly string[]): Promise<TableStream> {
  let file;
  let metadata;
  try {
    file = await asyncBufferFromFile(path);
    if (file.byteLength === 0) throw new CatalogError(`${path}: empty file`);
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    if (e instanceof CatalogError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new CatalogError(`${path}: file not found`);
    throw new CatalogError(`${path}: not a readable Parquet file: ${err.message}`);
  }
  const columns = selectColumns(path, parquetSchema(metadata).children.map((c) => c.element.name), only);
  const groups = metadata.row_groups.map((g) => Number(g.num_rows));
  const md = metadata;
  const buf = file;
  // One row group at a time: memory stays at one group however long the file is.
  async function* rows(): AsyncGenerator<Record<string, Cell>> {
    let start = 0;
    for (const n of groups) {
      let part;
      try {
        part = await parquetReadObjects({ file: buf, metadata: md, columns: only ? columns : undefined, rowStart: start, rowEnd: start + n });
      } catch (e) {
        throw new CatalogError(`${path}: corrupt Parquet data in rows ${start + 1}–${start + n}: ${(e as Error).message}`);
      }
      start += n;
      for (const r of part) {
        const row: Record<string, Cell> = {};
        for (const c of columns) row[c] = toCell(r[c]);
        yield row;
      }
    }
  }
  return { columns, rows: rows() };
}

/**
 * Open a `.csv` or `.parquet` table for streaming: the column names now, rows as you pull
 * them. CSV is parsed incrementally (csv-parse), Parquet one row group at a time
 * (hyparquet), so a 10^6-row catalogue is never held in memory by the reader.
 *
 * CSV typing: empty cell → `null`; unquoted numbers → numbers (`nan`/`inf` spellings too);
 * unquoted `true`/`false` → booleans; quoted cells and anything else → strings.
 * @throws CatalogError for an unsupported extension, a missing/empty file, or malformed data
 */
export async function openTable(path: string, opts: ReadTableOptions = {}): Promise<TableStream> {
  const format = formatOf(path);
  if (format === 'parquet') return openParquet(path, opts.columns);
  try {
    if ((await stat(path)).size === 0) throw new CatalogError(`${path}: empty file (a header row is required)`);
  } catch (e) {
    if (e instanceof CatalogError) throw e;
    throw new CatalogError(`${path}: file not found`);
  }
  const csv = await openCsv(path, new Set(opts.rawColumns ?? []));
  if (!opts.columns) return csv;
  const columns = selectColumns(path, csv.columns, opts.columns);
  async function* project(): AsyncGenerator<Record<string, Cell>> {
    for await (const r of csv.rows) {
      const row: Record<string, Cell> = {};
      for (const c of columns) row[c] = r[c];
      yield row;
    }
  }
  return { columns, rows: project() };
}

/** The requested subset of a file's columns (all when none requested); unknown names are an error. */
function selectColumns(path: string, available: string[], only?: readonly string[]): string[] {
  if (!only) return available;
  const missing = only.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    throw new CatalogError(`${path}: no column ${missing.map((c) => `"${c}"`).join(', ')}; columns are: ${available.slice(0, 40).join(', ')}${available.length > 40 ? ', …' : ''}`);
  }
  return [...only];
}

/**
 * Rows of a `.csv` or `.parquet` table, streamed (see {@link openTable}).
 * @example for await (const row of iterateTable('gz_decals_volunteers_5.csv')) use(row.iauname)
 */
export async function* iterateTable(path: string, opts: ReadTableOptions = {}): AsyncGenerator<Record<string, Cell>> {
  const { rows } = await openTable(path, opts);
  yield* rows;
}

/**
 * Read a whole `.csv` or `.parquet` table into memory (typing as in {@link openTable}).
 * A header-only CSV gives a table with columns and no rows.
 */
export async function readTable(path: string, opts: ReadTableOptions = {}): Promise<Table> {
  const { columns, rows } = await openTable(path, opts);
  const out: Record<string, Cell>[] = [];
  for await (const r of rows) out.push(r);
  return { columns, rows: out };
}

function checkTable(path: string, table: Table): void {
  const seen = new Set<string>();
  for (const c of table.columns) {
    if (typeof c !== 'string' || c === '') throw new CatalogError(`${path}: cannot write a column with an empty name`);
    if (seen.has(c)) throw new CatalogError(`${path}: cannot write duplicate column "${c}"`);
    seen.add(c);
  }
}

function csvField(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return needsQuotes(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

async function writeCsv(path: string, table: Table): Promise<void> {
  const header = table.columns.map((c) => csvField(c)).join(',');
  await produceAtomic(path, async (tmp) => {
    const out = createWriteStream(tmp);
    const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', r)));
    await write(header + '\n');
    for (const row of table.rows) await write(table.columns.map((c) => csvField(row[c])).join(',') + '\n');
    out.end();
    await finished(out);
  });
}

type ParquetKind = 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'STRING';

/**
 * Parquet type of one column: booleans only → BOOLEAN, safe integers only → INT64, numbers →
 * DOUBLE, else STRING (values of a mixed column written as text). All-null → STRING.
 */
function columnKind(values: Cell[]): ParquetKind {
  let bools = 0, ints = 0, nums = 0, strs = 0;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'boolean') bools++;
    else if (typeof v === 'number') {
      nums++;
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) ints++;
    } else strs++;
  }
  if (strs === 0 && nums === 0 && bools > 0) return 'BOOLEAN';
  if (strs === 0 && bools === 0 && nums > 0) return ints === nums ? 'INT64' : 'DOUBLE';
  return 'STRING';
}

function parquetColumn(name: string, values: Cell[]): ColumnSource {
  const kind = columnKind(values);
  const data =
    kind === 'INT64' ? values.map((v) => (v === null || v === undefined ? null : BigInt(v as number)))
    : kind === 'STRING' ? values.map((v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : csvField(v)))
    : values.map((v) => (v === undefined ? null : v));
  return { name, data, type: kind, nullable: true };
}

/** Rows per Parquet row group: small enough to stream, large enough to compress well. */
const ROW_GROUP_SIZE = 65536;

/**
 * Write a table as `.csv` or `.parquet` (by extension), atomically.
 * CSV: nulls as empty cells, non-finite numbers as `nan`/`inf`/`-inf` (as pandas writes),
 * strings that would read back as something else (`'007'`, `'true'`, `''`) quoted.
 * Parquet: column types inferred — INT64, DOUBLE, BOOLEAN or STRING, all nullable.
 */
export async function writeTable(path: string, table: Table): Promise<void> {
  const format = formatOf(path);
  checkTable(path, table);
  if (format === 'csv') return writeCsv(path, table);
  const columnData = table.columns.map((c) => parquetColumn(c, table.rows.map((r) => r[c] ?? null)));
  const buf = parquetWriteBuffer({ columnData, rowGroupSize: ROW_GROUP_SIZE });
  await writeFileAtomic(path, new Uint8Array(buf));
}
