/**
 * Vote catalogues: one row per galaxy with an id and a vote count per decision-tree answer,
 * validated against a schema and unpacked into a dense count matrix for training.
 *
 * Reads the published GZ DECaLS volunteer catalogues as they are: `iauname`, `ra`, `dec`,
 * per answer `<question>_<answer>` (count), `<question>_<answer>_fraction` and
 * `<question>_<answer>_debiased`, and per question `<question>_total-votes` (or `_total`).
 * Only the counts are used; totals and fractions are cross-checked against them.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { CatalogError } from '../errors.js';
import { checkVoteCounts, type Schema } from '../schema/index.js';
import { openTable, type Cell, type Table } from './table.js';

export { iterateTable, openTable, readTable, writeTable } from './table.js';
export type { Cell, ReadTableOptions, Table, TableStream } from './table.js';

/** Options for {@link readVoteCatalog}. */
export interface VoteCatalogOptions {
  /** Decision tree whose `answerColumns` name the count columns. */
  schema: Schema;
  /**
   * Column holding the galaxy id (read as text, exactly as written).
   * @default 'id' (use 'iauname' for the GZ DECaLS catalogues)
   */
  idColumn?: string;
  /**
   * Column holding an image path per galaxy; relative paths are resolved against the
   * catalogue's folder. Omit for catalogues without images.
   * @default undefined
   */
  imageColumn?: string;
  /**
   * Require every answer count column. With `false`, absent answer columns read as 0 votes
   * (e.g. a catalogue of galaxies to predict, with no votes) and are listed in
   * `missingColumns`.
   * @default true
   */
  requireVotes?: boolean;
  /**
   * Cross-check the counts against the catalogue's own `<question>_total-votes` /
   * `<question>_total` columns (must equal the sum of the question's counts) and
   * `<answer>_fraction` columns (must match count/total within 0.01), where present.
   * @default true
   */
  crossCheck?: boolean;
}

/** A validated vote catalogue. Row `i` is data row `i + 1` of the file. */
export interface VoteCatalog {
  /** The file it was read from. */
  path: string;
  schema: Schema;
  /** Number of galaxies (rows). */
  nRows: number;
  /** Galaxy ids, one per row, unique. */
  ids: string[];
  /** Vote counts, `[nRows, schema.nAnswers]` row-major, answers in `schema.answerColumns` order. */
  counts: Float64Array;
  /**
   * The catalogue's other columns (id, ra, dec, image path, anything else), in file order.
   * Count, `_fraction`, `_debiased` and `_total(-votes)` columns are not kept here — the
   * counts live only in `counts`, so a large catalogue is not held twice.
   */
  table: Table;
  /** Resolved image path per row, when `imageColumn` was given. */
  images?: string[];
  /** Answer columns absent from the file (read as 0 votes); empty unless `requireVotes: false`. */
  missingColumns: string[];
  /** Counts of row `i`, a view into `counts` (length `schema.nAnswers`). */
  countsOf(i: number): Float64Array;
  /** Row index of a galaxy id, or -1. */
  indexOf(id: string): number;
}

const NUMERIC_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function describe(v: Cell): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * One count cell → a vote count, or a reason it is not one. Empty cells are 0 votes: the
 * published catalogues leave counts blank for questions no volunteer reached. Numeric text
 * (a quoted number) is accepted; anything else non-numeric is an error, never a silent 0.
 */
function countValue(v: Cell): number | string {
  if (v === null || v === '') return 0;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && NUMERIC_TEXT.test(v)) n = Number(v);
  else return `${describe(v)} is not a number`;
  if (Number.isNaN(n)) return 'NaN is not a vote count (leave the cell empty for 0 votes)';
  if (!Number.isFinite(n)) return `${n} is not a vote count`;
  if (n < 0) return `${n} is negative`;
  if (!Number.isInteger(n)) return `${n} is not a whole number`;
  return n;
}

function totalColumnsFor(schema: Schema, present: Set<string>): (string | null)[] {
  return schema.questions.map((q) =>
    present.has(`${q.name}_total-votes`) ? `${q.name}_total-votes` : present.has(`${q.name}_total`) ? `${q.name}_total` : null,
  );
}

/**
 * Read and validate a vote catalogue (`.csv` or `.parquet`), streaming its rows.
 *
 * Checks, each failing with a CatalogError naming the file, the 1-based data row, the id and
 * the column: id and answer columns present; ids non-empty and unique (both rows named);
 * counts numeric, not NaN, non-negative, whole (empty = 0 votes); no question holding more
 * votes than the parent answer that leads to it; totals/fractions consistent (`crossCheck`).
 * @example
 * const cat = await readVoteCatalog('gz_decals_volunteers_5.csv', { schema: getSchema('decals-dr5'), idColumn: 'iauname' });
 * cat.counts.length === cat.nRows * 34 // true
 */
export async function readVoteCatalog(path: string, opts: VoteCatalogOptions): Promise<VoteCatalog> {
  const { schema, idColumn = 'id', imageColumn, requireVotes = true, crossCheck = true } = opts;
  const stream = await openTable(path, { rawColumns: [idColumn, ...(imageColumn ? [imageColumn] : [])] });
  const present = new Set(stream.columns);
  const shown = stream.columns.slice(0, 8).join(', ') + (stream.columns.length > 8 ? ', …' : '');

  if (!present.has(idColumn)) {
    throw new CatalogError(`${path}: missing id column "${idColumn}" (columns: ${shown}); set idColumn, e.g. 'iauname' for GZ DECaLS`);
  }
  if (imageColumn && !present.has(imageColumn)) {
    throw new CatalogError(`${path}: missing image column "${imageColumn}" (columns: ${shown})`);
  }
  const missingColumns = schema.answerColumns.filter((c) => !present.has(c));
  if (missingColumns.length > 0 && requireVotes) {
    const onlyFractions = missingColumns.some((c) => present.has(`${c}_fraction`));
    throw new CatalogError(
      `${path}: missing ${missingColumns.length} of ${schema.nAnswers} vote count columns for schema ${schema.name}: ` +
        `${missingColumns.join(', ')}. Expected <question>_<answer> count columns as in the GZ DECaLS release ` +
        `(e.g. ${schema.answerColumns[0]})` +
        (onlyFractions ? '; the file has _fraction columns, but fractions cannot stand in for counts' : ''),
    );
  }

  const nA = schema.nAnswers;
  const answerIdx = schema.answerColumns.map((c) => (present.has(c) ? c : null));
  const totalCols = crossCheck ? totalColumnsFor(schema, present) : schema.questions.map(() => null);
  const fractionCols = schema.answerColumns.map((c) => (crossCheck && present.has(`${c}_fraction`) ? `${c}_fraction` : null));
  const voteDerived = new Set<string>();
  for (const c of schema.answerColumns) for (const s of ['', '_fraction', '_debiased']) voteDerived.add(c + s);
  for (const q of schema.questions) voteDerived.add(`${q.name}_total`).add(`${q.name}_total-votes`);
  const kept = stream.columns.filter((c) => !voteDerived.has(c) || c === idColumn || c === imageColumn);

  let counts = new Float64Array(1024 * nA);
  const ids: string[] = [];
  const rows: Record<string, Cell>[] = [];
  const images: string[] | undefined = imageColumn ? [] : undefined;
  const rowOfId = new Map<string, number>();
  const baseDir = dirname(path);
  const fail = (r: number, id: string | null, column: string | null, msg: string): never => {
    const who = id === null ? '' : ` (${idColumn} ${id})`;
    const col = column === null ? '' : `, column "${column}"`;
    throw new CatalogError(`${path}: row ${r + 1}${who}${col}: ${msg}`);
  };
  const hint = ' (set crossCheck: false to skip this check)';

  let r = 0;
  for await (const row of stream.rows) {
    const idCell = row[idColumn];
    if (idCell === null || String(idCell).trim() === '') fail(r, null, idColumn, 'empty id');
    const id = String(idCell);
    const prev = rowOfId.get(id);
    if (prev !== undefined) fail(r, id, idColumn, `duplicate id, also in row ${prev + 1}`);
    rowOfId.set(id, r);

    if ((r + 1) * nA > counts.length) {
      const grown = new Float64Array(counts.length * 2);
      grown.set(counts);
      counts = grown;
    }
    const c = counts.subarray(r * nA, (r + 1) * nA);
    for (let a = 0; a < nA; a++) {
      const col = answerIdx[a];
      if (col === null) continue;
      const v = countValue(row[col]);
      if (typeof v === 'string') fail(r, id, col, `${v}; expected a vote count (non-negative integer)`);
      c[a] = v as number;
    }
    const problem = checkVoteCounts(schema, c);
    if (problem) fail(r, id, null, `${problem} (a question cannot get more votes than the answer leading to it)`);

    for (const q of schema.questions) {
      let total = 0;
      for (let a = q.start; a < q.end; a++) total += c[a];
      const tc = totalCols[q.index];
      if (tc !== null && row[tc] !== null && row[tc] !== '') {
        const t = countValue(row[tc]);
        if (t !== total) fail(r, id, tc, `total ${describe(row[tc])} does not equal the sum of the ${q.name} counts (${total})${hint}`);
      }
      if (total === 0) continue;
      for (let a = q.start; a < q.end; a++) {
        const fc = fractionCols[a];
        const f = fc === null ? null : row[fc];
        if (f === null || f === '' || typeof f !== 'number' || !Number.isFinite(f)) continue;
        if (Math.abs(f - c[a] / total) > 0.01) {
          fail(r, id, fc, `fraction ${f} does not match count/total = ${c[a]}/${total}${hint}`);
        }
      }
    }

    if (images) {
      const p = row[imageColumn!];
      if (p === null || String(p).trim() === '') fail(r, id, imageColumn!, 'empty image path');
      const s = String(p);
      images.push(isAbsolute(s) ? s : resolve(baseDir, s));
    }
    const keep: Record<string, Cell> = {};
    for (const k of kept) keep[k] = row[k];
    rows.push(keep);
    ids.push(id);
    r++;
  }
  if (r === 0) throw new CatalogError(`${path}: no data rows (the file has a header only)`);

  const finalCounts = counts.length === r * nA ? counts : counts.slice(0, r * nA);
  return {
    path,
    schema,
    nRows: r,
    ids,
    counts: finalCounts,
    table: { columns: kept, rows },
    images,
    missingColumns,
    countsOf: (i: number) => finalCounts.subarray(i * nA, (i + 1) * nA),
    indexOf: (id: string) => rowOfId.get(id) ?? -1,
  };
}
