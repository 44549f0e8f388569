/**
 * Contact sheets: rows of galaxy thumbnails with a label per row, so a person can judge a
 * class (or a set of search results) at a glance. Composited with sharp; labels are SVG text.
 */
import { dirname, isAbsolute, join } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { CatalogError, ImageDecodeError, OptionError } from '../errors.js';
import { produceAtomic } from '../data/atomic.js';
import { readTable, type Cell, type Table } from '../data/index.js';

/** One row of a mosaic. */
export interface MosaicGroup {
  label: string;
  /** Image file paths (PNG/JPEG), shown left to right. */
  images: string[];
}

export interface MosaicOptions {
  /** Thumbnail edge in pixels. @default 96 */
  thumb?: number;
  /** Title drawn above the rows. */
  title?: string;
}

const GAP = 4;
const LABEL_W = 190;
const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function textSvg(text: string, width: number, height: number, size: number): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<text x="6" y="${Math.round(height / 2 + size / 3)}" font-family="DejaVu Sans, sans-serif" font-size="${size}" fill="#e8e8e8">${escapeXml(text)}</text></svg>`,
  );
}

/** Render labelled rows of thumbnails to a PNG at `out` (written atomically). */
export async function renderMosaic(groups: MosaicGroup[], out: string, options: MosaicOptions = {}): Promise<void> {
  if (groups.length === 0) throw new OptionError('mosaic: nothing to show (no groups)');
  const thumb = options.thumb ?? 96;
  const cols = Math.max(...groups.map((g) => g.images.length), 1);
  const header = options.title ? 34 : 0;
  const width = LABEL_W + cols * (thumb + GAP) + GAP;
  const height = header + groups.length * (thumb + GAP) + GAP;
  const layers: OverlayOptions[] = [];
  if (options.title) layers.push({ input: textSvg(options.title, width, header, 18), left: 0, top: 0 });
  for (const [gi, g] of groups.entries()) {
    const top = header + GAP + gi * (thumb + GAP);
    layers.push({ input: textSvg(g.label, LABEL_W, thumb, 15), left: 0, top });
    for (const [ii, path] of g.images.entries()) {
      let input: Buffer;
      try {
        input = await sharp(path).resize(thumb, thumb, { fit: 'cover' }).removeAlpha().png().toBuffer();
      } catch (e) {
        throw new ImageDecodeError(`cannot read image ${path}: ${(e as Error).message}`);
      }
      layers.push({ input, left: LABEL_W + GAP + ii * (thumb + GAP), top });
    }
  }
  await produceAtomic(out, async (tmp) => {
    await sharp({ create: { width, height, channels: 3, background: '#111111' } })
      .composite(layers)
      .png()
      .toFile(tmp);
  });
}

/** Options of {@link catalogMosaic}. */
export interface CatalogMosaicOptions extends MosaicOptions {
  /** Column to group by. A column of comma-separated values (e.g. `tags`) puts a galaxy in each of its groups. */
  by: string;
  /** Thumbnails per group. @default 8 */
  perGroup?: number;
  /** Largest groups shown. @default 12 */
  maxGroups?: number;
  /** Column with image paths, relative to the catalogue's folder or absolute. @default 'image_path' */
  imageColumn?: string;
}

/** Bins for a numeric column with many values: quintiles, labelled by range. */
function numericKeys(values: number[]): (v: number) => string {
  const sorted = [...values].sort((a, b) => a - b);
  const edges = [1, 2, 3, 4].map((q) => sorted[Math.floor((q / 5) * (sorted.length - 1))]);
  const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
  return (v) => {
    const b = edges.filter((e) => v > e).length;
    const lo = b === 0 ? sorted[0] : edges[b - 1];
    const hi = b === 4 ? sorted[sorted.length - 1] : edges[b];
    return `${fmt(lo)}–${fmt(hi)}`;
  };
}

function groupRows(table: Table, by: string): Map<string, Record<string, Cell>[]> {
  const cells = table.rows.map((r) => r[by]);
  const numbers = cells.filter((c): c is number => typeof c === 'number');
  const distinct = new Set(cells).size;
  const keyOf: (c: Cell) => string[] =
    numbers.length === cells.length && distinct > 12
      ? ((bin) => (c) => [bin(c as number)])(numericKeys(numbers))
      : (c) => (c === null || c === '' ? ['(none)'] : String(c).split(',').map((s) => s.trim()).filter(Boolean));
  const groups = new Map<string, Record<string, Cell>[]>();
  for (const row of table.rows) {
    for (const key of keyOf(row[by])) {
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(row);
    }
  }
  return groups;
}

/**
 * A contact sheet of a catalogue grouped by a column or tag list: one row per group (largest
 * first, or in bin order for numeric columns), labelled with the group and its size.
 * @example await catalogMosaic('survey/catalog.parquet', 'mosaic.png', { by: 'tags' })
 */
export async function catalogMosaic(catalog: string, out: string, options: CatalogMosaicOptions): Promise<void> {
  const table = await readTable(catalog);
  const imageColumn = options.imageColumn ?? 'image_path';
  for (const col of [options.by, imageColumn]) {
    if (!table.columns.includes(col)) {
      throw new CatalogError(`${catalog}: no column "${col}"; columns are: ${table.columns.slice(0, 40).join(', ')}${table.columns.length > 40 ? ', …' : ''}`);
    }
  }
  const perGroup = options.perGroup ?? 8;
  const groups = [...groupRows(table, options.by).entries()];
  const numericBins = groups.every(([k]) => /–/.test(k));
  groups.sort((a, b) => (numericBins ? parseFloat(a[0]) - parseFloat(b[0]) : b[1].length - a[1].length));
  const base = dirname(catalog);
  const resolve = (p: Cell, row: number) => {
    if (typeof p !== 'string' || !p) throw new CatalogError(`${catalog}: row ${row + 1} has no ${imageColumn}`);
    return isAbsolute(p) ? p : join(base, p);
  };
  const shown = groups.slice(0, options.maxGroups ?? 12).map(([key, rows]) => ({
    label: `${key} (${rows.length})`,
    images: rows.slice(0, perGroup).map((r) => resolve(r[imageColumn], table.rows.indexOf(r))),
  }));
  await renderMosaic(shown, out, { thumb: options.thumb, title: options.title ?? `${catalog} by ${options.by}` });
}
