/**
 * Survey inputs: a directory of images or a catalogue with image paths, read as a stream of
 * galaxies in a fixed order, so a shard or a resumed run can start anywhere in it.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { openTable, type Cell } from '../data/index.js';
import { CatalogError, OptionError } from '../errors.js';

/** One galaxy to process. */
export interface SurveyItem {
  /** Catalogue id, or the file stem for a directory of images. */
  id: string;
  /** Image file, or null when the catalogue row has none (the row becomes an error row). */
  path: string | null;
  /** Degrees, passed through from the catalogue when it has `ra`/`dec` columns. */
  ra: number | null;
  dec: number | null;
}

/** Where the galaxies come from. Exactly one of `images` and `catalog`. */
export interface InputOptions {
  /** Directory of PNG/JPEG/FITS images; id = file name without extension, sorted by name. */
  images?: string;
  /** Catalogue (.csv/.parquet) with an id and an image-path column, in row order. */
  catalog?: string;
  /** Catalogue column holding the galaxy id. @default 'id' */
  idColumn?: string;
  /** Catalogue column holding the image path (relative to the catalogue's folder, or absolute). @default 'image_path' */
  imageColumn?: string;
}

/** An opened input: its size and a way to stream any contiguous range of it. */
export interface SurveyInput {
  /** Human-readable origin, e.g. `catalog.csv` or `images/`. */
  source: string;
  /** Number of galaxies. */
  count: number;
  /** Whether items carry `ra`/`dec`. */
  hasRaDec: boolean;
  /** Items `[start, end)` in input order. */
  items(start: number, end: number): AsyncGenerator<SurveyItem>;
}

/** File extensions read as images (a trailing `.gz` on FITS is allowed). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.fits', '.fit', '.fts', '.fz'] as const;

/** File stem for an image name, or null when the name is not an image. */
function imageStem(name: string): string | null {
  const lower = name.toLowerCase();
  const base = lower.endsWith('.gz') ? lower.slice(0, -3) : lower;
  for (const ext of IMAGE_EXTENSIONS) {
    if (base.endsWith(ext) && base.length > ext.length) {
      if (base !== lower && !['.fits', '.fit', '.fts'].includes(ext)) return null;
      return name.slice(0, base.length - ext.length);
    }
  }
  return null;
}

async function openDirectory(dir: string): Promise<SurveyInput> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OptionError(code === 'ENOENT' ? `image directory ${dir} does not exist` : `cannot list image directory ${dir}: ${code}`);
  }
  // Code-unit order, not locale order: the same on every machine, so shards agree.
  const files = entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => e.name)
    .filter((n) => imageStem(n) !== null)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) throw new OptionError(`no images (${IMAGE_EXTENSIONS.join(', ')}) in ${dir}`);
  return {
    source: dir,
    count: files.length,
    hasRaDec: false,
    async *items(start, end) {
      for (let i = start; i < end; i++) yield { id: imageStem(files[i])!, path: join(dir, files[i]), ra: null, dec: null };
    },
  };
}

function toNumber(v: Cell): number | null {
  if (v === null || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

async function openCatalog(path: string, idColumn: string, imageColumn: string): Promise<SurveyInput> {
  const opts = { rawColumns: [idColumn, imageColumn] };
  const first = await openTable(path, opts);
  await first.rows.return(undefined);
  const missing = [idColumn, imageColumn].filter((c) => !first.columns.includes(c));
  if (missing.length > 0) {
    throw new CatalogError(
      `${path}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} ` +
        `(columns: ${first.columns.slice(0, 12).join(', ')}${first.columns.length > 12 ? ', …' : ''}); set the id/image column options`,
    );
  }
  const hasRaDec = first.columns.includes('ra') && first.columns.includes('dec');
  // One streaming pass to count: shards need the total, and memory must not grow with it.
  let count = 0;
  for await (const _ of (await openTable(path, opts)).rows) count++;
  if (count === 0) throw new CatalogError(`${path}: the catalogue has no rows`);
  const base = dirname(resolve(path));
  return {
    source: path,
    count,
    hasRaDec,
    async *items(start, end) {
      let i = 0;
      const { rows } = await openTable(path, opts);
      try {
        for await (const row of rows) {
          if (i >= end) break;
          if (i++ < start) continue;
          const id = row[idColumn] === null ? '' : String(row[idColumn]);
          const p = row[imageColumn] === null ? '' : String(row[imageColumn]).trim();
          yield {
            id,
            path: p === '' ? null : isAbsolute(p) ? p : join(base, p),
            ra: hasRaDec ? toNumber(row.ra) : null,
            dec: hasRaDec ? toNumber(row.dec) : null,
          };
        }
      } finally {
        await rows.return(undefined);
      }
    },
  };
}

/**
 * Open a survey input (see {@link InputOptions}).
 * @throws OptionError when neither or both of `images`/`catalog` are given, or the directory
 *   is missing or holds no images
 * @throws CatalogError when the catalogue is unreadable, empty or lacks the id/image columns
 */
export async function openSurveyInput(options: InputOptions): Promise<SurveyInput> {
  const { images, catalog } = options;
  if ((images === undefined) === (catalog === undefined)) throw new OptionError('give exactly one input: an image directory or a catalogue');
  if (images !== undefined) {
    const s = await stat(images).catch(() => null);
    if (s && !s.isDirectory()) throw new OptionError(`${images} is not a directory (use a catalogue for a list of images)`);
    return openDirectory(images);
  }
  return openCatalog(catalog!, options.idColumn ?? 'id', options.imageColumn ?? 'image_path');
}
