/**
 * The one image loader: PNG/JPEG (via sharp) and FITS (our reader) to a float32 HWC tensor on
 * a common [0, 1] scale, so survey JPEG cutouts and raw FITS cutouts reach a model alike.
 *
 * Normalisation:
 * - PNG/JPEG: value / 255 (16-bit PNG: / 65535). Alpha is flattened onto black.
 * - FITS: each band separately, lo = the `lowPercentile` and hi = the `highPercentile` of its
 *   finite pixels, then y = asinh(max(0, (v − lo)/(hi − lo)) / Q) / asinh(1 / Q), capped at 1
 *   (Q = `softening`). This is the Lupton-style asinh stretch survey JPEGs are rendered with:
 *   sky near 0, faint structure lifted, cores compressed toward 1. NaN/±inf pixels → 0.
 * - Greyscale (`channels: 1`) is the mean of the colour channels / FITS bands (Zoobot's choice).
 * - Rows are top row first for every format (FITS rows are flipped on read, see fits.ts).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { ImageDecodeError, OptionError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { readFits, type FitsImage } from './fits.js';

/** An image as float32, `[height, width, channels]` row-major (HWC), values in [0, 1]. */
export interface ImageTensor {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** Per-band asinh stretch for FITS data (see the module comment). */
export interface FitsStretchOptions {
  /** Percentile of finite pixels mapped to 0 (roughly the sky minus its noise). @default 1 */
  lowPercentile?: number;
  /** Percentile of finite pixels mapped to 1. @default 99.5 */
  highPercentile?: number;
  /** Asinh softening Q (smaller = stronger lift of faint light). @default 0.1 */
  softening?: number;
}

/** Options for {@link readImage}. */
export interface ReadImageOptions {
  /** Resize to `size × size` px (aspect not kept: cutouts are square). @default undefined (native size) */
  size?: number;
  /**
   * Output channels: 1 = greyscale (mean of R, G, B — as Zoobot greys colour images — or of
   * the FITS bands), 3 = RGB
   * (greyscale replicated). @default the image's own (1 for greyscale, 3 for colour, one per FITS band)
   */
  channels?: 1 | 3;
  /** FITS stretch parameters. @default { lowPercentile: 1, highPercentile: 99.5, softening: 0.1 } */
  stretch?: FitsStretchOptions;
}

const FITS_EXT = new Set(['.fits', '.fit', '.fts', '.fz']);
const MAX_SIZE = 8192;

function checkOptions(opts: ReadImageOptions): void {
  if (opts.size !== undefined && (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > MAX_SIZE)) {
    throw new OptionError(`image size must be an integer from 1 to ${MAX_SIZE}, got ${opts.size}`);
  }
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw new OptionError(`image channels must be 1 or 3, got ${opts.channels}`);
  }
  const s = opts.stretch ?? {};
  const lo = s.lowPercentile ?? 1, hi = s.highPercentile ?? 99.5, q = s.softening ?? 0.1;
  if (!(lo >= 0 && hi <= 100 && lo < hi)) throw new OptionError(`stretch percentiles must satisfy 0 ≤ low < high ≤ 100, got ${lo}, ${hi}`);
  if (!(q > 0)) throw new OptionError(`stretch softening must be > 0, got ${q}`);
}

/**
 * Read a PNG, JPEG (anything sharp decodes) or FITS file (by content or `.fits/.fit/.fts[.gz]`)
 * as a float32 HWC tensor in [0, 1]; see the module comment for the normalisation.
 * @example (await readImage('J1234.jpg', { size: 224, channels: 1 })).data.length // 224 * 224
 * @throws ImageDecodeError naming the file when it is missing or cannot be decoded
 * @throws OptionError for invalid options, or `channels` a FITS band count cannot give
 */
export async function readImage(path: string, opts: ReadImageOptions = {}): Promise<ImageTensor> {
  checkOptions(opts);
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new ImageDecodeError(`cannot read image ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const gz = buf[0] === 0x1f && buf[1] === 0x8b;
  if (buf.subarray(0, 6).toString('latin1') === 'SIMPLE' || gz || FITS_EXT.has(extname(path).toLowerCase())) {
    return fitsToTensor(readFits(buf, path), opts, path);
  }
  return decodeRaster(buf, path, opts);
}

async function decodeRaster(buf: Buffer, path: string, opts: ReadImageOptions): Promise<ImageTensor> {
  try {
    const meta = await sharp(buf).metadata();
    const grey = meta.space === 'b-w' || meta.space === 'grey16' || (meta.channels ?? 3) <= 2;
    const target = opts.channels ?? (grey ? 1 : 3);
    let img = sharp(buf).flatten({ background: '#000000' });
    if (opts.size !== undefined) img = img.resize(opts.size, opts.size, { fit: 'fill' });
    img = img.toColourspace(grey ? 'b-w' : 'srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const c = info.channels;
    // 16-bit inputs may come out as 16-bit samples: tell by the byte count, not by format.
    const wide = data.length === n * c * 2;
    const values = wide ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)) : data;
    const scale = 1 / (wide ? 65535 : 255);
    const out = new Float32Array(n * target);
    for (let i = 0; i < n; i++) {
      if (target === c) {
        for (let k = 0; k < c; k++) out[i * c + k] = values[i * c + k] * scale;
      } else if (target === 1) {
        // Band mean, as Zoobot greys its colour images and as FITS bands are combined.
        out[i] = ((values[i * c] + values[i * c + 1] + values[i * c + 2]) / 3) * scale;
      } else {
        out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = values[i * c] * scale;
      }
    }
    return { data: out, height: info.height, width: info.width, channels: target };
  } catch (e) {
    if (e instanceof OptionError) throw e;
    throw new ImageDecodeError(`cannot decode image ${path}: ${(e as Error).message}`);
  }
}

function percentile(sorted: Float32Array, p: number): number {
  const x = (p / 100) * (sorted.length - 1);
  const i = Math.floor(x);
  return i + 1 < sorted.length ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/**
 * Per-band asinh stretch of physical FITS values to [0, 1] (see the module comment).
 * Percentiles come from at most ~1M finite pixels (a regular subsample of larger planes).
 */
export function asinhStretch(plane: Float32Array, opts: FitsStretchOptions = {}): Float32Array {
  const { lowPercentile = 1, highPercentile = 99.5, softening = 0.1 } = opts;
  const step = Math.max(1, Math.floor(plane.length / (1 << 20)));
  const finite: number[] = [];
  for (let i = 0; i < plane.length; i += step) if (Number.isFinite(plane[i])) finite.push(plane[i]);
  const out = new Float32Array(plane.length);
  if (finite.length === 0) return out;
  const sorted = Float32Array.from(finite).sort();
  const lo = percentile(sorted, lowPercentile);
  const hi = percentile(sorted, highPercentile);
  if (!(hi > lo)) return out; // a flat band carries no structure
  const inv = 1 / (hi - lo);
  const norm = 1 / Math.asinh(1 / softening);
  for (let i = 0; i < plane.length; i++) {
    const v = plane[i];
    if (!Number.isFinite(v)) continue;
    const t = (v - lo) * inv;
    out[i] = t <= 0 ? 0 : Math.min(1, Math.asinh(t / softening) * norm);
  }
  return out;
}

/** Resampling weights along one axis: box (area) averaging when shrinking, linear when enlarging. */
function axisWeights(n: number, m: number): { idx: Int32Array; w: Float32Array; start: Int32Array } {
  const idx: number[] = [], w: number[] = [], start = new Int32Array(m + 1);
  const scale = n / m;
  for (let o = 0; o < m; o++) {
    start[o] = idx.length;
    if (scale >= 1) {
      const a = o * scale, b = a + scale;
      for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover > 1e-9) { idx.push(i); w.push(cover / scale); }
      }
    } else {
      const x = Math.min(n - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const i = Math.floor(x), f = x - i;
      idx.push(i); w.push(1 - f);
      if (f > 0 && i + 1 < n) { idx.push(i + 1); w.push(f); }
    }
  }
  start[m] = idx.length;
  return { idx: Int32Array.from(idx), w: Float32Array.from(w), start };
}

/**
 * Resize one float plane `[height, width]` to `[outH, outW]`: area averaging when shrinking
 * (every input pixel counts, as a survey's own binning would), bilinear when enlarging.
 */
export function resizePlane(plane: Float32Array, width: number, height: number, outW: number, outH: number): Float32Array {
  if (outW === width && outH === height) return plane.slice();
  const X = axisWeights(width, outW), Y = axisWeights(height, outH);
  const tmp = new Float32Array(height * outW);
  for (let y = 0; y < height; y++) {
    for (let o = 0; o < outW; o++) {
      let s = 0;
      for (let k = X.start[o]; k < X.start[o + 1]; k++) s += X.w[k] * plane[y * width + X.idx[k]];
      tmp[y * outW + o] = s;
    }
  }
  const out = new Float32Array(outH * outW);
  for (let o = 0; o < outH; o++) {
    for (let k = Y.start[o]; k < Y.start[o + 1]; k++) {
      const w = Y.w[k], row = Y.idx[k] * outW;
      for (let x = 0; x < outW; x++) out[o * outW + x] += w * tmp[row + x];
    }
  }
  return out;
}

/**
 * FITS bands → HWC tensor: stretch each band at native resolution (as a survey renders its
 * JPEGs), then resize, then interleave. 1 channel = band mean; 3 channels from 1 band = copies.
 */
export function fitsToTensor(img: FitsImage, opts: ReadImageOptions = {}, path = 'FITS data'): ImageTensor {
  checkOptions(opts);
  const size = opts.size;
  const w = size ?? img.width, h = size ?? img.height;
  const bands = img.data.map((p) => resizePlane(asinhStretch(p, opts.stretch), img.width, img.height, w, h));
  const nb = bands.length;
  const target = opts.channels ?? nb;
  if (target !== nb && target !== 1 && !(target === 3 && nb === 1)) {
    throw new OptionError(`${path}: has ${nb} bands; cannot make ${target} channels (use channels: 1 for the band mean)`);
  }
  const n = w * h;
  const out = new Float32Array(n * target);
  for (let i = 0; i < n; i++) {
    if (target === nb) for (let b = 0; b < nb; b++) out[i * nb + b] = bands[b][i];
    else if (target === 1) {
      let s = 0;
      for (let b = 0; b < nb; b++) s += bands[b][i];
      out[i] = s / nb;
    } else out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = bands[0][i];
  }
  return { data: out, height: h, width: w, channels: target };
}

/**
 * Write 8-bit pixels (`[height, width, channels]` row-major, top row first) as a PNG, atomically.
 * @throws OptionError when the buffer length does not match width × height × channels
 */
export async function writePng(path: string, rgb: Uint8Array, width: number, height: number, channels: 1 | 3 = 3): Promise<void> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new OptionError(`writePng ${path}: width and height must be positive integers, got ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3) throw new OptionError(`writePng ${path}: channels must be 1 or 3, got ${channels}`);
  if (rgb.length !== width * height * channels) {
    throw new OptionError(`writePng ${path}: got ${rgb.length} bytes, expected ${width}×${height}×${channels} = ${width * height * channels}`);
  }
  let img = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w'); // otherwise sharp writes 1-channel input as RGB
  const png = await img.png().toBuffer();
  await writeFileAtomic(path, png);
}
