/**
 * Labels for fine-tuning: a table of galaxy ids, a label per galaxy (or, for the `votes`
 * task, vote counts per answer of a decision tree) and where its image is, checked up front
 * so that a bad file fails with one clear line before any training, and a seeded
 * train/validation split (stratified by class for classification).
 */
import { access } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { readTable, readVoteCatalog, type Cell } from '../data/index.js';
import type { Schema } from '../schema/index.js';
import { indexImageFolder } from '../train/data.js';
import { hashString, mix, Stream } from '../train/random.js';
import { CatalogError } from '../errors.js';
import type { FinetuneTask } from './model.js';

/** The fewest labelled galaxies fine-tuning accepts, and the fewest per class. */
export const MIN_LABELS = 10;
export const MIN_PER_CLASS = 2;

/** Options of {@link readLabels}. */
export interface LabelOptions {
  task: FinetuneTask;
  /** Folder of `<id>.png|jpg|fits` images; else the table's `imageColumn`. */
  images?: string;
  /** @default 'id' */
  idColumn?: string;
  /** @default 'label' */
  labelColumn?: string;
  /** Image-path column (relative to the table's folder, or absolute). @default 'image_path' */
  imageColumn?: string;
  /** Class names in output order; labels outside them are an error. @default the sorted distinct labels */
  classes?: readonly string[];
  /** `votes` task: the decision tree whose `<question>_<answer>` count columns the table has. */
  schema?: Schema;
}

/** Checked labels. */
export interface Labels {
  ids: string[];
  paths: string[];
  /** Class index per galaxy (classification) or the target value (regression). */
  targets: Float64Array;
  /** Class names (null for regression and votes). */
  classes: string[] | null;
  /** `votes` task: counts `[galaxies, schema.nAnswers]` row-major; else null. */
  counts: Float64Array | null;
}

const str = (c: Cell): string => (c === null || c === undefined ? '' : String(c).trim());

/** Read and check a labels table (.csv/.parquet). Throws CatalogError naming the problem. */
export async function readLabels(path: string, o: LabelOptions): Promise<Labels> {
  if (o.task === 'votes') return readVotes(path, o);
  const idCol = o.idColumn ?? 'id';
  const labelCol = o.labelColumn ?? 'label';
  const imageCol = o.imageColumn ?? 'image_path';
  const table = await readTable(path, { rawColumns: [idCol, labelCol, imageCol] });
  for (const col of [idCol, labelCol]) {
    if (!table.columns.includes(col)) throw new CatalogError(`${path}: no "${col}" column (columns: ${table.columns.join(', ')})`);
  }
  if (!o.images && !table.columns.includes(imageCol)) {
    throw new CatalogError(`${path}: no "${imageCol}" column; give an images folder or an image-path column`);
  }
  const ids: string[] = [];
  const raw: string[] = [];
  const seen = new Set<string>();
  table.rows.forEach((row, r) => {
    const id = str(row[idCol]);
    if (!id) throw new CatalogError(`${path}: row ${r + 1} has no ${idCol}`);
    if (seen.has(id)) throw new CatalogError(`${path}: id "${id}" appears more than once`);
    seen.add(id);
    const label = str(row[labelCol]);
    if (!label) throw new CatalogError(`${path}: row ${r + 1} (${id}) has no ${labelCol}`);
    ids.push(id);
    raw.push(label);
  });
  if (ids.length < MIN_LABELS) throw new CatalogError(`${path}: ${ids.length} labelled galaxies; fine-tuning needs at least ${MIN_LABELS}`);

  const paths = o.images ? await pathsFromFolder(o.images, ids, path) : await pathsFromColumn(table.rows.map((row) => str(row[imageCol])), ids, path, imageCol);

  const targets = new Float64Array(ids.length);
  if (o.task === 'regression') {
    raw.forEach((v, i) => {
      const x = Number(v);
      if (!Number.isFinite(x)) throw new CatalogError(`${path}: ${labelCol} of ${ids[i]} is "${v}", not a number (regression needs numeric targets)`);
      targets[i] = x;
    });
    return { ids, paths, targets, classes: null, counts: null };
  }
  const distinct = [...new Set(raw)].sort();
  const classes = o.classes ? [...o.classes] : distinct;
  if (o.classes) {
    const extra = distinct.filter((c) => !o.classes!.includes(c));
    if (extra.length > 0) throw new CatalogError(`${path}: labels ${extra.map((c) => `"${c}"`).join(', ')} are not among the classes ${classes.join(', ')}`);
  }
  if (distinct.length < 2) throw new CatalogError(`${path}: every label is "${distinct[0]}"; a classifier needs at least two classes`);
  if (o.task === 'binary' && classes.length !== 2) {
    throw new CatalogError(`${path}: binary task needs exactly 2 classes, found ${classes.length} (${classes.join(', ')}); use task multiclass`);
  }
  const index = new Map(classes.map((c, k) => [c, k]));
  raw.forEach((v, i) => (targets[i] = index.get(v)!));
  const counts = classes.map((_, k) => targets.filter((t) => t === k).length);
  const few = classes.filter((_, k) => counts[k] < MIN_PER_CLASS);
  if (few.length > 0) {
    throw new CatalogError(`${path}: classes ${few.map((c) => `"${c}" (${counts[classes.indexOf(c)]})`).join(', ')} have fewer than ${MIN_PER_CLASS} labels`);
  }
  return { ids, paths, targets, classes, counts: null };
}

/** A vote catalogue (src/data's checks: counts whole, non-negative, consistent with the tree). */
async function readVotes(path: string, o: LabelOptions): Promise<Labels> {
  if (!o.schema) throw new CatalogError(`${path}: the votes task needs a schema (the decision tree of the count columns)`);
  const imageCol = o.imageColumn ?? 'image_path';
  const cat = await readVoteCatalog(path, { schema: o.schema, idColumn: o.idColumn, imageColumn: o.images ? undefined : imageCol });
  if (cat.nRows < MIN_LABELS) throw new CatalogError(`${path}: ${cat.nRows} galaxies with votes; fine-tuning needs at least ${MIN_LABELS}`);
  const A = o.schema.nAnswers;
  const silent = cat.ids.filter((_, i) => cat.counts.subarray(i * A, (i + 1) * A).every((c) => c === 0));
  if (silent.length > 0) throw new CatalogError(`${path}: ${silent.length} galaxies have no votes at all (first: ${silent.slice(0, 5).join(', ')})`);
  const paths = o.images ? await pathsFromFolder(o.images, cat.ids, path) : await pathsFromColumn(cat.images!, cat.ids, path, imageCol);
  return { ids: cat.ids, paths, targets: new Float64Array(cat.nRows), classes: null, counts: cat.counts };
}

async function pathsFromFolder(dir: string, ids: string[], path: string): Promise<string[]> {
  const byId = await indexImageFolder(dir);
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw new CatalogError(`${missing.length} of ${ids.length} ids in ${path} have no image <id>.png/.jpg/.fits in ${dir} (first: ${missing.slice(0, 5).join(', ')})`);
  }
  return ids.map((id) => byId.get(id)!);
}

async function pathsFromColumn(cells: string[], ids: string[], path: string, col: string): Promise<string[]> {
  const base = dirname(path);
  const paths = cells.map((p) => (p === '' ? '' : isAbsolute(p) ? p : join(base, p)));
  const missing: string[] = [];
  await Promise.all(
    paths.map(async (p, i) => {
      if (p === '') return missing.push(ids[i]);
      await access(p).catch(() => missing.push(ids[i]));
    }),
  );
  if (missing.length > 0) {
    throw new CatalogError(`${missing.length} of ${ids.length} galaxies in ${path} have a missing or empty ${col} (first: ${missing.slice(0, 5).join(', ')})`);
  }
  return paths;
}

/**
 * Seeded split: within each class (or over all galaxies, for regression) the galaxies are
 * ordered by a hash of (id, seed) and the first round(valFraction · n) — at least one, and
 * leaving at least one — go to validation. Depends only on ids, labels and seed.
 */
export function splitLabels(labels: Labels, seed: number, valFraction: number): { train: number[]; val: number[] } {
  const groups = new Map<number, number[]>();
  labels.ids.forEach((_, i) => {
    const g = labels.classes ? labels.targets[i] : 0;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  });
  const key = (i: number) => mix(hashString(labels.ids[i]), seed, Stream.split);
  const train: number[] = [];
  const val: number[] = [];
  for (const members of groups.values()) {
    members.sort((a, b) => key(a) - key(b) || (labels.ids[a] < labels.ids[b] ? -1 : 1));
    const nVal = Math.min(members.length - 1, Math.max(1, Math.round(valFraction * members.length)));
    members.forEach((i, k) => (k < nVal ? val : train).push(i));
  }
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}
