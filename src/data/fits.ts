/**
 * A small FITS image reader and writer (no dependency: `fitsjs` needs the browser's
 * FileReader). Reads the primary HDU and IMAGE extensions — BITPIX 8/16/32/64/-32/-64,
 * BSCALE/BZERO/BLANK, big-endian, 2880-byte blocks, gzip-compressed files — and writes
 * float32 images and cubes.
 *
 * Orientation: FITS stores the bottom row first (y grows upward, as ds9 shows it). galmorph
 * planes are top row first, like PNG/JPEG, so both directions flip rows: a FITS cutout and a
 * JPEG of the same field come out the same way up.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { ImageDecodeError, OptionError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

/** A FITS header value. */
export type FitsValue = string | number | boolean;

/** Image planes read from a FITS file. */
export interface FitsImage {
  /** One plane per band, each `[height, width]` row-major, top row first; physical values (BSCALE/BZERO applied, BLANK → NaN). */
  data: Float32Array[];
  width: number;
  height: number;
  /** Header of the primary HDU, overlaid with the header of the HDU the first plane came from. */
  header: Record<string, FitsValue>;
  /** Band name per plane: the HDU's EXTNAME/FILTER/BAND, or the entries of a comma-separated BANDS card for a cube, or ''. */
  bands: string[];
}

const BLOCK = 2880;
const CARD = 80;
const BITPIX_OK = new Set([8, 16, 32, 64, -32, -64]);
/** Extensions that travel with an image but are not bands of it (HSC, JWST, Legacy Survey conventions). */
const AUXILIARY = /^(MASK|VARIANCE|VAR|WEIGHT|WHT|IVAR|INVVAR|ERR|ERROR|SIGMA|NOISE|PSF|DQ|FLAGS?|BADPIX)$/i;

interface Hdu {
  index: number;
  header: Record<string, FitsValue>;
  dataStart: number;
  dataBytes: number;
}

function parseValue(text: string): FitsValue | undefined {
  const t = text.trimStart();
  if (t.startsWith("'")) {
    let s = '';
    for (let i = 1; i < t.length; i++) {
      if (t[i] === "'") {
        if (t[i + 1] === "'") { s += "'"; i++; continue; }
        return s.trimEnd();
      }
      s += t[i];
    }
    return s.trimEnd(); // unterminated string: keep what is there
  }
  const v = t.split('/')[0].trim();
  if (v === '') return undefined;
  if (v === 'T') return true;
  if (v === 'F') return false;
  const n = Number(v.replace(/[dD]/, 'E'));
  return Number.isNaN(n) ? v : n;
}

/** Parse the header at `offset`; returns it and the offset of the data that follows. */
function parseHeader(buf: Uint8Array, offset: number, where: string): { header: Record<string, FitsValue>; end: number } {
  const header: Record<string, FitsValue> = {};
  let lastKey: string | null = null;
  for (let pos = offset; ; pos += CARD) {
    if (pos + CARD > buf.length) throw new ImageDecodeError(`${where}: truncated FITS header (no END card before the end of the file)`);
    const card = Buffer.from(buf.subarray(pos, pos + CARD)).toString('latin1');
    const key = card.slice(0, 8).trimEnd();
    if (key === 'END') return { header, end: Math.ceil((pos + CARD - offset) / BLOCK) * BLOCK + offset };
    if (key === 'CONTINUE' && lastKey !== null) {
      const prev = header[lastKey];
      const more = parseValue(card.slice(8));
      if (typeof prev === 'string' && prev.endsWith('&') && typeof more === 'string') header[lastKey] = prev.slice(0, -1) + more;
      continue;
    }
    lastKey = null;
    if (key === 'HIERARCH') {
      const eq = card.indexOf('=');
      if (eq < 0) continue;
      const k = card.slice(9, eq).trim();
      const v = parseValue(card.slice(eq + 1));
      if (v !== undefined) { header[k] = v; lastKey = k; }
      continue;
    }
    if (card.slice(8, 10) !== '= ' || key === '' || key === 'COMMENT' || key === 'HISTORY') continue;
    const v = parseValue(card.slice(10));
    if (v !== undefined) { header[key] = v; lastKey = key; }
  }
}

function intKey(h: Record<string, FitsValue>, key: string, where: string, dflt?: number): number {
  const v = h[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 && key !== 'BITPIX') {
    throw new ImageDecodeError(`${where}: corrupt FITS header: ${key} = ${v === undefined ? '(missing)' : String(v)}`);
  }
  return v;
}

function listHdus(buf: Uint8Array, where: string): Hdu[] {
  if (Buffer.from(buf.subarray(0, 8)).toString('latin1') !== 'SIMPLE  ') {
    throw new ImageDecodeError(`${where}: not a FITS file (it does not start with a SIMPLE card)`);
  }
  const hdus: Hdu[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const hduWhere = `${where} (HDU ${hdus.length})`;
    if (hdus.length > 0) {
      // Trailing bytes after the last HDU that are not an extension header are ignored.
      if (offset + CARD > buf.length || Buffer.from(buf.subarray(offset, offset + 8)).toString('latin1') !== 'XTENSION') break;
    }
    const { header, end } = parseHeader(buf, offset, hduWhere);
    if (hdus.length === 0 && header.SIMPLE !== true) throw new ImageDecodeError(`${where}: SIMPLE = F, not a standard FITS file`);
    const bitpix = intKey(header, 'BITPIX', hduWhere);
    if (!BITPIX_OK.has(bitpix)) throw new ImageDecodeError(`${hduWhere}: unsupported BITPIX ${bitpix} (supported: 8, 16, 32, 64, -32, -64)`);
    const naxis = intKey(header, 'NAXIS', hduWhere);
    let n = naxis === 0 ? 0 : 1;
    for (let i = 1; i <= naxis; i++) n *= intKey(header, `NAXIS${i}`, hduWhere);
    const pcount = intKey(header, 'PCOUNT', hduWhere, 0);
    const gcount = intKey(header, 'GCOUNT', hduWhere, 1);
    const dataBytes = naxis === 0 ? 0 : (Math.abs(bitpix) / 8) * gcount * (pcount + n);
    hdus.push({ index: hdus.length, header, dataStart: end, dataBytes });
    offset = end + Math.ceil(dataBytes / BLOCK) * BLOCK;
  }
  return hdus;
}

function isImageHdu(h: Hdu): boolean {
  const x = h.header.XTENSION;
  const isImage = h.index === 0 ? h.header.GROUPS !== true : typeof x === 'string' && x.trim() === 'IMAGE';
  return isImage && h.dataBytes > 0 && Number(h.header.NAXIS) >= 2;
}

function bandName(h: Record<string, FitsValue>): string {
  for (const k of ['EXTNAME', 'FILTER', 'BAND']) if (typeof h[k] === 'string') return (h[k] as string).trim();
  return '';
}

/** Decode one plane to physical float values, flipping to top-row-first. */
function decodePlane(buf: Uint8Array, h: Hdu, plane: number, width: number, height: number): Float32Array {
  const bitpix = h.header.BITPIX as number;
  const bytes = Math.abs(bitpix) / 8;
  const scale = typeof h.header.BSCALE === 'number' ? h.header.BSCALE : 1;
  const zero = typeof h.header.BZERO === 'number' ? h.header.BZERO : 0;
  const blank = bitpix > 0 && typeof h.header.BLANK === 'number' ? h.header.BLANK : undefined;
  const view = new DataView(buf.buffer, buf.byteOffset + h.dataStart + plane * width * height * bytes, width * height * bytes);
  const read: (o: number) => number =
    bitpix === 8 ? (o) => view.getUint8(o)
    : bitpix === 16 ? (o) => view.getInt16(o)
    : bitpix === 32 ? (o) => view.getInt32(o)
    : bitpix === 64 ? (o) => Number(view.getBigInt64(o))
    : bitpix === -32 ? (o) => view.getFloat32(o)
    : (o) => view.getFloat64(o);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const src = y * width * bytes;
    const dst = (height - 1 - y) * width;
    for (let x = 0; x < width; x++) {
      const raw = read(src + x * bytes);
      out[dst + x] = raw === blank ? NaN : zero + scale * raw;
    }
  }
  return out;
}

/**
 * Read the image bands of a FITS file held in memory.
 *
 * Bands: a single 2-D image gives one plane; a cube gives its NAXIS3 planes; several IMAGE
 * extensions of the same size give one plane each (an empty primary HDU is skipped, as are
 * extensions of another size and MASK/VARIANCE/IVAR/ERR/PSF/DQ-like ones, which are not bands).
 * @param path used in error messages only
 * @throws ImageDecodeError naming the file for non-FITS, truncated, corrupt or unsupported data
 */
export function readFits(buf: Uint8Array, path = 'FITS data'): FitsImage {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new ImageDecodeError(`${path}: corrupt gzip data: ${(e as Error).message}`);
    }
  }
  if (buf.length < CARD) throw new ImageDecodeError(`${path}: not a FITS file (${buf.length} bytes)`);
  const hdus = listHdus(buf, path);
  const all = hdus.filter(isImageHdu);
  if (all.length === 0) {
    const compressed = hdus.some((h) => h.header.ZIMAGE === true);
    throw new ImageDecodeError(
      compressed
        ? `${path}: tile-compressed FITS image (a BINTABLE with ZIMAGE = T, e.g. .fits.fz) is not supported; decompress it first (funpack)`
        : `${path}: no 2-D image data in any HDU`,
    );
  }
  const images = all.some((h) => !AUXILIARY.test(bandName(h.header))) ? all.filter((h) => !AUXILIARY.test(bandName(h.header))) : all;
  const first = images[0];
  const where = `${path} (HDU ${first.index})`;
  const width = intKey(first.header, 'NAXIS1', where);
  const height = intKey(first.header, 'NAXIS2', where);
  const planesOf = (h: Hdu): number => {
    const naxis = h.header.NAXIS as number;
    for (let i = 4; i <= naxis; i++) {
      if (h.header[`NAXIS${i}`] !== 1) throw new ImageDecodeError(`${path} (HDU ${h.index}): ${naxis}-D image data is not supported (NAXIS${i} = ${h.header[`NAXIS${i}`]})`);
    }
    return naxis >= 3 ? (h.header.NAXIS3 as number) : 1;
  };
  const data: Float32Array[] = [];
  const bands: string[] = [];
  for (const h of images) {
    if (h.header.NAXIS1 !== width || h.header.NAXIS2 !== height) continue;
    const n = planesOf(h);
    const need = h.dataStart + width * height * n * (Math.abs(h.header.BITPIX as number) / 8);
    if (need > buf.length) {
      throw new ImageDecodeError(`${path}: truncated FITS file: HDU ${h.index} needs ${need} bytes, the file has ${buf.length}`);
    }
    const names = typeof h.header.BANDS === 'string' ? h.header.BANDS.split(',').map((s) => s.trim()) : [];
    for (let p = 0; p < n; p++) {
      data.push(decodePlane(buf, h, p, width, height));
      bands.push(n > 1 ? (names.length === n ? names[p] : '') : bandName(h.header));
    }
  }
  return { data, width, height, header: { ...hdus[0].header, ...first.header }, bands };
}

/** Read a FITS file (`.fits`, `.fit`, `.fts`, optionally gzipped). See {@link readFits}. */
export async function readFitsFile(path: string): Promise<FitsImage> {
  let buf: Uint8Array;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new ImageDecodeError(`cannot read FITS file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return readFits(buf, path);
}

const RESERVED = /^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|END|BSCALE|BZERO|BLANK|XTENSION|PCOUNT|GCOUNT|CONTINUE|COMMENT|HISTORY)$/;

function formatNumber(v: number, key: string): string {
  if (!Number.isFinite(v)) throw new OptionError(`FITS header ${key}: ${v} cannot be written (finite numbers only)`);
  if (Number.isSafeInteger(v)) return String(v);
  const s = String(v).toUpperCase();
  return s.includes('.') ? s : s.replace('E', '.0E');
}

function card(key: string, value: FitsValue): string {
  let text: string;
  if (typeof value === 'boolean') text = (value ? 'T' : 'F').padStart(20);
  else if (typeof value === 'number') text = formatNumber(value, key).padStart(20);
  else {
    if (!/^[\x20-\x7e]*$/.test(value)) throw new OptionError(`FITS header ${key}: only printable ASCII text can be written`);
    text = `'${value.replaceAll("'", "''").padEnd(8)}'`;
  }
  const c = `${key.padEnd(8)}= ${text}`;
  if (c.length > CARD) throw new OptionError(`FITS header ${key}: value too long for one 80-character card`);
  return c.padEnd(CARD);
}

/**
 * Write float32 planes as a FITS image (BITPIX -32; NAXIS = 2 for one plane, else a cube with
 * NAXIS3 = planes), atomically. Planes are `[height, width]` row-major, top row first.
 * @param header extra cards, keys of up to 8 characters `A-Z 0-9 _ -` (structural keys are reserved)
 * @throws OptionError for planes of the wrong length or an invalid header card
 */
export async function writeFits(
  path: string,
  planes: Float32Array[],
  width: number,
  height: number,
  header: Record<string, FitsValue> = {},
): Promise<void> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new OptionError(`writeFits ${path}: width and height must be positive integers, got ${width}×${height}`);
  }
  if (planes.length === 0) throw new OptionError(`writeFits ${path}: no planes to write`);
  planes.forEach((p, i) => {
    if (p.length !== width * height) throw new OptionError(`writeFits ${path}: plane ${i} has ${p.length} values, expected ${width}×${height} = ${width * height}`);
  });
  const cards = [card('SIMPLE', true), card('BITPIX', -32), card('NAXIS', planes.length > 1 ? 3 : 2), card('NAXIS1', width), card('NAXIS2', height)];
  if (planes.length > 1) cards.push(card('NAXIS3', planes.length));
  for (const [k, v] of Object.entries(header)) {
    const key = k.toUpperCase();
    if (!/^[A-Z0-9_-]{1,8}$/.test(key)) throw new OptionError(`FITS header key "${k}": use 1–8 characters A-Z, 0-9, _ or -`);
    if (RESERVED.test(key)) throw new OptionError(`FITS header key "${k}" is set by writeFits itself`);
    cards.push(card(key, v));
  }
  cards.push('END'.padEnd(CARD));
  const headerBytes = Math.ceil((cards.length * CARD) / BLOCK) * BLOCK;
  const dataBytes = planes.length * width * height * 4;
  const out = new Uint8Array(headerBytes + Math.ceil(dataBytes / BLOCK) * BLOCK);
  out.fill(0x20, 0, headerBytes);
  out.set(Buffer.from(cards.join(''), 'latin1'), 0);
  const view = new DataView(out.buffer, headerBytes, dataBytes);
  let o = 0;
  for (const p of planes) {
    for (let y = height - 1; y >= 0; y--) {
      for (let x = 0; x < width; x++, o += 4) view.setFloat32(o, p[y * width + x]);
    }
  }
  await writeFileAtomic(path, out);
}
