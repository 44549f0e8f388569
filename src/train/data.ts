/**
 * Training data: galaxy ids, vote counts and a way to decode each galaxy's image — from a
 * vote catalogue plus an image folder, or supplied in memory (tests, the simulator). Decoded
 * images are kept as uint8 at a little above the network size, within a memory budget, so
 * later epochs do not decode again.
 */
import { readdir } from 'node:fs/promises';
import { extname, join, basename } from 'node:path';
import { readImage, readVoteCatalog } from '../data/index.js';
import { centreCropMap, identityNormalisation, resampleInto, type ImageLike } from '../models/preprocess.js';
import type { Schema } from '../schema/index.js';
import { CatalogError } from '../errors.js';

/** Galaxies to train on. */
export interface TrainingSet {
  /** Galaxy ids (unique); they decide the train/validation split. */
  readonly ids: readonly string[];
  /** Vote counts `[ids.length, schema.nAnswers]`, answers in `schema.answerColumns` order. */
  readonly counts: Float64Array | Float32Array;
  /**
   * Decode galaxy `i`, ideally at `size`×`size` px with `bands` bands (other sizes are
   * resampled). Values in [0, 1] (Float32Array) or 0–255 (Uint8Array).
   */
  image(i: number, size: number, bands: 1 | 3): Promise<ImageLike>;
}

/** Options of {@link openTrainingSet}. */
export interface TrainingSetOptions {
  /** Vote catalogue (.csv or .parquet) with `<question>_<answer>` count columns. */
  catalog: string;
  /** Folder holding `<id>.<png|jpg|jpeg|fits|…>`; not needed when `imageColumn` is given. */
  images?: string;
  schema: Schema;
  /** Id column. @default 'id' */
  idColumn?: string;
  /** Column with an image path per row (relative to the catalogue's folder). */
  imageColumn?: string;
}

const IMAGE_EXTS = new Set(['.png', '.jpg', '.jpeg', '.fits', '.fit', '.fts', '.fz', '.gz', '.webp', '.tif', '.tiff']);

/** A training set from a vote catalogue and its images. */
export async function openTrainingSet(options: TrainingSetOptions): Promise<TrainingSet> {
  const cat = await readVoteCatalog(options.catalog, {
    schema: options.schema,
    idColumn: options.idColumn ?? 'id',
    imageColumn: options.imageColumn,
  });
  let paths: string[];
  if (cat.images) {
    paths = cat.images;
  } else {
    if (!options.images) throw new CatalogError(`${options.catalog}: give an images folder or an image column`);
    const byId = await indexImageFolder(options.images);
    const missing: string[] = [];
    paths = cat.ids.map((id) => {
      const p = byId.get(id);
      if (!p) missing.push(id);
      return p ?? '';
    });
    if (missing.length > 0) {
      throw new CatalogError(
        `${missing.length} of ${cat.nRows} galaxies in ${options.catalog} have no image <id>.png/.jpg/.fits in ${options.images} ` +
          `(first: ${missing.slice(0, 5).join(', ')})`,
      );
    }
  }
  return {
    ids: cat.ids,
    counts: cat.counts,
    image: (i, size, bands) => readImage(paths[i], { size, channels: bands }),
  };
}

/** Map id → image path for every image file directly in `dir`. */
export async function indexImageFolder(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new CatalogError(`cannot read image folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const map = new Map<string, string>();
  for (const name of names) {
    let ext = extname(name).toLowerCase();
    if (!IMAGE_EXTS.has(ext)) continue;
    let stem = basename(name, extname(name));
    if (ext === '.gz' || ext === '.fz') {
      ext = extname(stem).toLowerCase();
      stem = basename(stem, extname(stem));
    }
    if (!map.has(stem)) map.set(stem, join(dir, name));
  }
  return map;
}

/**
 * Decoded images as uint8 at `size`×`size`×`bands`, cached for as many galaxies as fit in
 * `maxBytes` (the rest are decoded on every use).
 */
export class ImageCache {
  readonly size: number;
  readonly bands: 1 | 3;
  private readonly set: TrainingSet;
  private readonly store: Uint8Array;
  private readonly loaded: Uint8Array;
  private readonly capacity: number;

  constructor(set: TrainingSet, size: number, bands: 1 | 3, maxBytes: number) {
    this.set = set;
    this.size = size;
    this.bands = bands;
    const per = size * size * bands;
    this.capacity = Math.max(0, Math.min(set.ids.length, Math.floor(maxBytes / per)));
    this.store = new Uint8Array(this.capacity * per);
    this.loaded = new Uint8Array(this.capacity);
  }

  /** Galaxy `i` as a uint8 image at the cache size. */
  async get(i: number): Promise<ImageLike> {
    const per = this.size * this.size * this.bands;
    if (i < this.capacity && this.loaded[i]) {
      return { data: this.store.subarray(i * per, (i + 1) * per), height: this.size, width: this.size, channels: this.bands };
    }
    const img = toUint8(await this.set.image(i, this.size, this.bands), this.size, this.bands);
    if (i < this.capacity) {
      this.store.set(img.data, i * per);
      this.loaded[i] = 1;
    }
    return img;
  }
}

/** Quantise (and if needed resample) an image to uint8 at size×size×bands. */
function toUint8(img: ImageLike, size: number, bands: 1 | 3): ImageLike {
  if (img.data instanceof Uint8Array && img.height === size && img.width === size && img.channels === bands) return img;
  let data = img.data;
  if (img.height !== size || img.width !== size || img.channels !== bands) {
    const f = new Float32Array(size * size * bands);
    resampleInto(img, f, 0, size, bands, centreCropMap(1), identityNormalisation(bands));
    data = f;
  }
  if (data instanceof Uint8Array) return { data, height: size, width: size, channels: bands };
  const out = new Uint8Array(data.length);
  for (let k = 0; k < data.length; k++) out[k] = Math.round(Math.min(1, Math.max(0, data[k])) * 255);
  return { data: out, height: size, width: size, channels: bands };
}
