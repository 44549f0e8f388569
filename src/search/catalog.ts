/**
 * Catalogue columns lined up with the rows of a similarity index, read on demand: only the
 * columns a query needs (its `where` filter, requested output columns, image paths), each
 * read once per index and kept.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { iterateTable, openTable, type Cell } from '../data/index.js';
import { CatalogError } from '../errors.js';

/** Column names of a `.csv` or `.parquet` table (header only). */
export async function tableColumns(path: string): Promise<string[]> {
  const t = await openTable(path);
  await t.rows.return(undefined);
  return t.columns;
}

/** Catalogue columns aligned with index rows (null where the catalogue has no row for a galaxy). */
export class CatalogColumns {
  private readonly loaded = new Map<string, Cell[]>();
  /** Index rows the catalogue has a row for. */
  matched = 0;
  private fileOfRow: Uint16Array | null = null;

  private constructor(
    /** Catalogue files, read in order (e.g. the shards of an embeddings table). */
    readonly paths: readonly string[],
    readonly idColumn: string,
    /** Columns every file has. */
    readonly available: readonly string[],
    private readonly size: number,
    private readonly rowOf: (id: string) => number | undefined,
  ) {}

  /**
   * Open catalogue files for an index of `size` rows.
   * @param rowOf index row of a galaxy id, or undefined when it is not indexed
   * @throws CatalogError when a file is unreadable or lacks the id column
   */
  static async open(paths: readonly string[], idColumn: string, size: number, rowOf: (id: string) => number | undefined): Promise<CatalogColumns> {
    let common: string[] | null = null;
    for (const p of paths) {
      const cols = await tableColumns(p);
      if (!cols.includes(idColumn)) {
        throw new CatalogError(`${p}: no id column "${idColumn}" (columns: ${cols.slice(0, 12).join(', ')}${cols.length > 12 ? ', …' : ''}); set the catalogue id column`);
      }
      common = common === null ? cols : common.filter((c) => cols.includes(c));
    }
    return new CatalogColumns(paths, idColumn, common ?? [], size, rowOf);
  }

  has(column: string): boolean {
    return this.loaded.has(column) || this.available.includes(column);
  }

  /** Read the columns not read yet (one pass over the files). The first id seen wins for a duplicated id. */
  async load(columns: readonly string[]): Promise<void> {
    const todo = [...new Set(columns)].filter((c) => !this.loaded.has(c));
    const first = this.fileOfRow === null;
    if (todo.length === 0 && !first) return;
    for (const c of todo) {
      if (!this.available.includes(c)) throw new CatalogError(`catalogue ${this.paths.join(', ')} has no column "${c}"`);
    }
    const arrays = todo.map(() => new Array<Cell>(this.size).fill(null));
    const seen = new Uint8Array(this.size);
    const fileOf = first ? new Uint16Array(this.size) : null;
    let matched = 0;
    for (const [f, path] of this.paths.entries()) {
      for await (const r of iterateTable(path, { columns: [this.idColumn, ...todo], rawColumns: [this.idColumn] })) {
        const id = r[this.idColumn];
        if (id === null) continue;
        const row = this.rowOf(String(id));
        if (row === undefined || seen[row]) continue;
        seen[row] = 1;
        matched++;
        if (fileOf) fileOf[row] = f;
        todo.forEach((c, j) => (arrays[j][row] = r[c]));
      }
    }
    todo.forEach((c, j) => this.loaded.set(c, arrays[j]));
    if (fileOf) this.fileOfRow = fileOf;
    this.matched = matched;
  }

  /** Values of a loaded column, one per index row. */
  column(name: string): Cell[] {
    const c = this.loaded.get(name);
    if (!c) throw new Error(`catalogue column ${name} was not loaded`);
    return c;
  }

  /** An image path cell resolved against the folder of the catalogue file it came from. */
  resolvePath(row: number, value: Cell): string | null {
    if (value === null || String(value).trim() === '') return null;
    const p = String(value).trim();
    const base = dirname(resolve(this.paths[this.fileOfRow ? this.fileOfRow[row] : 0]));
    return isAbsolute(p) ? p : join(base, p);
  }
}
