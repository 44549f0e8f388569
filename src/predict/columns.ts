/**
 * Columnar blocks of survey output and their files: small Parquet part files (one per
 * committed chunk), a streaming reader that returns a Parquet file one row group at a time,
 * and a streaming sink that writes the final `.parquet` (row group by row group, through
 * hyparquet-writer's ParquetWriter) or `.csv`, atomically.
 *
 * The CSV cell rules follow src/data/table.ts (nan/inf spellings, quoting of strings that
 * would read back as something else), so the output reads back with `readTable`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { ParquetWriter, fileWriter, parquetWriteBuffer, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import { tempPathFor, writeFileAtomic } from '../data/index.js';
import { CatalogError } from '../errors.js';

/** Physical type of an output column. */
export type ColumnType = 'STRING' | 'DOUBLE' | 'FLOAT';

/** Name and type of an output column. */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

/** Values of one column: strings (null = missing) or numbers (NaN = no value). */
export type ColumnValues = (string | null)[] | Float64Array | Float32Array;

/** `rows` rows of every column, keyed by name. */
export interface ColumnBlock {
  rows: number;
  columns: Map<string, ColumnValues>;
}

/** An empty block for `specs` with `rows` rows (strings null, numbers NaN). */
export function emptyBlock(specs: readonly ColumnSpec[], rows: number): ColumnBlock {
  const columns = new Map<string, ColumnValues>();
  for (const s of specs) {
    columns.set(s.name, s.type === 'STRING' ? new Array<string | null>(rows).fill(null) : s.type === 'FLOAT' ? new Float32Array(rows).fill(NaN) : new Float64Array(rows).fill(NaN));
  }
  return { rows, columns };
}

/** Concatenate blocks with the same columns. */
export function concatBlocks(specs: readonly ColumnSpec[], blocks: readonly ColumnBlock[]): ColumnBlock {
  const rows = blocks.reduce((s, b) => s + b.rows, 0);
  const out = emptyBlock(specs, rows);
  for (const s of specs) {
    const dst = out.columns.get(s.name)!;
    let at = 0;
    for (const b of blocks) {
      const src = b.columns.get(s.name)!;
      if (Array.isArray(dst)) for (let i = 0; i < b.rows; i++) dst[at + i] = (src as (string | null)[])[i];
      else dst.set(src as ArrayLike<number>, at);
      at += b.rows;
    }
  }
  return out;
}

function columnSources(specs: readonly ColumnSpec[], block: ColumnBlock): ColumnSource[] {
  return specs.map((s) => {
    const data = block.columns.get(s.name);
    if (!data || data.length !== block.rows) throw new Error(`column ${s.name}: expected ${block.rows} values`);
    // Statistics are off for floats: min/max over NaN error rows would be meaningless.
    return { name: s.name, data: data as ColumnSource['data'], type: s.type, nullable: true, statistics: s.type === 'STRING' };
  });
}

/** Write one block as a single-row-group Parquet file, atomically. */
export async function writeParquetBlock(path: string, specs: readonly ColumnSpec[], block: ColumnBlock): Promise<void> {
  const buf = parquetWriteBuffer({ columnData: columnSources(specs, block), rowGroupSize: Math.max(1, block.rows) });
  await writeFileAtomic(path, new Uint8Array(buf));
}

/** Column names and types of a Parquet file (types outside ColumnType read as STRING). */
export async function parquetColumns(path: string): Promise<ColumnSpec[]> {
  const file = await openParquetFile(path);
  const meta = await parquetMetadataAsync(file);
  return parquetSchema(meta).children.map((c) => ({
    name: c.element.name,
    type: c.element.type === 'DOUBLE' ? 'DOUBLE' : c.element.type === 'FLOAT' ? 'FLOAT' : 'STRING',
  }));
}

async function openParquetFile(path: string) {
  try {
    return await asyncBufferFromFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CatalogError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read: ${code ?? (e as Error).message}`);
  }
}

/**
 * Stream a Parquet file one row group at a time, as columnar blocks of the `wanted` columns
 * (numbers as Float64Array/Float32Array by spec type, strings as string arrays).
 */
export async function* readParquetBlocks(path: string, wanted: readonly ColumnSpec[]): AsyncGenerator<ColumnBlock> {
  const file = await openParquetFile(path);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new CatalogError(`${path}: not a readable Parquet file: ${(e as Error).message}`);
  }
  const have = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const missing = wanted.filter((w) => !have.has(w.name)).map((w) => w.name);
  if (missing.length > 0) throw new CatalogError(`${path}: missing column(s) ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  let start = 0;
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows);
    const block = emptyBlock(wanted, rows);
    const groupStart = start;
    await parquetRead({
      file,
      metadata,
      rowStart: groupStart,
      rowEnd: groupStart + rows,
      columns: wanted.map((w) => w.name),
      onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
        const dst = block.columns.get(columnName)!;
        for (let r = Math.max(rowStart, groupStart); r < Math.min(rowEnd, groupStart + rows); r++) {
          const v = columnData[r - rowStart];
          if (Array.isArray(dst)) dst[r - groupStart] = v === null || v === undefined ? null : String(v);
          else dst[r - groupStart] = v === null || v === undefined ? NaN : Number(v);
        }
      },
    });
    start += rows;
    yield block;
  }
}

/** Number of rows of a Parquet file, from its footer. */
export async function parquetRowCount(path: string): Promise<number> {
  const meta = await parquetMetadataAsync(await openParquetFile(path));
  return Number(meta.num_rows);
}

/** Output formats of a {@link TableSink}. */
export type TableFormat = 'parquet' | 'csv';

// Same typing rule as table.ts: a string is quoted when it would read back as something else.
const NUMBER_LIKE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(nan|inf|infinity|true|false)\s*$/i;

function csvString(s: string | null): string {
  if (s === null) return '';
  return s === '' || NUMBER_LIKE.test(s) || /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvNumber(v: number, float32: boolean): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (!float32) return String(v);
  // Shortest decimal that reads back as the same float32 (at most 9 digits), not its binary tail.
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/**
 * A table written block by block to a temp file and renamed into place on `close()`, so the
 * target path only ever holds a complete table. Memory: one block.
 */
export class TableSink {
  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private readonly specs: readonly ColumnSpec[],
    private readonly parquet: ParquetWriter | null,
    private readonly csv: NodeJS.WritableStream | null,
  ) {}

  /** Start writing `path` in `format`. */
  static async open(path: string, specs: readonly ColumnSpec[], format: TableFormat): Promise<TableSink> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = tempPathFor(path);
    if (format === 'parquet') {
      const schema = schemaFromColumnData({ columnData: specs.map((s) => ({ name: s.name, data: [], type: s.type, nullable: true })) });
      return new TableSink(path, tmp, specs, new ParquetWriter({ writer: fileWriter(tmp), schema, createdBy: 'galmorph' }), null);
    }
    const out = createWriteStream(tmp);
    const sink = new TableSink(path, tmp, specs, null, out);
    await sink.writeText(specs.map((s) => csvString(s.name)).join(',') + '\n');
    return sink;
  }

  private writeText(s: string): Promise<void> {
    return this.csv!.write(s) ? Promise.resolve() : new Promise<void>((r) => this.csv!.once('drain', r));
  }

  /** Append a block (one Parquet row group). */
  async write(block: ColumnBlock): Promise<void> {
    if (block.rows === 0) return;
    if (this.parquet) {
      const columnData = columnSources(this.specs, block).map(({ name, data, statistics }) => ({ name, data, statistics }));
      await this.parquet.write({ columnData, rowGroupSize: block.rows });
      return;
    }
    const cols = this.specs.map((s) => block.columns.get(s.name)!);
    const lines: string[] = [];
    for (let r = 0; r < block.rows; r++) {
      const cells = cols.map((c, j) => (Array.isArray(c) ? csvString(c[r]) : csvNumber(c[r], this.specs[j].type === 'FLOAT')));
      lines.push(cells.join(','));
      if (lines.length === 1024 || r === block.rows - 1) {
        await this.writeText(lines.join('\n') + '\n');
        lines.length = 0;
      }
    }
  }

  /** Finish the file and move it into place. */
  async close(): Promise<void> {
    try {
      if (this.parquet) await this.parquet.finish();
      else {
        this.csv!.end();
        await finished(this.csv!);
      }
      await rename(this.tmp, this.path);
    } catch (e) {
      await rm(this.tmp, { force: true });
      throw e;
    }
  }

  /** Drop the temp file. */
  async abort(): Promise<void> {
    if (this.csv) this.csv.end();
    await rm(this.tmp, { force: true });
  }
}
