/**
 * `galmorph simulate`: render a whole survey to disk with worker threads.
 *
 * Layout of the output directory:
 *   images/<id>.png      colour cutouts (asinh stretch)
 *   fits/<id>.fits       per-band float images in nanomaggies (with `fits: true`)
 *   catalog.parquet/.csv truth, tags, ring label, volunteer votes and oracle probabilities
 *   manifest.json        the options the survey was made with
 * Work is split into fixed chunks of galaxy indices; each finished chunk is committed as a
 * Parquet part file (atomically, after its images), so an interrupted run resumes at the first
 * missing chunk and never redoes or duplicates a galaxy. Every galaxy depends only on
 * (seed, index, survey, size), so the bytes do not depend on the number of workers.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { OptionError } from '../errors.js';
import { writeFileAtomic } from '../data/atomic.js';
import { readTable, writeTable, type Table } from '../data/index.js';
import { startWorker } from '../util/worker.js';
import { getSchema } from '../schema/index.js';
import { getSurvey, type SurveyName } from './index.js';
import { MAG_FAINT } from './population.js';
import { checkMagLimit, checkVisibilityMode, SIMULATOR_VERSION } from './simulate.js';
import { DEFAULT_VISIBILITY, type VisibilityMode } from './seen.js';

/** Options of {@link simulateSurvey}. */
export interface SimulateOptions {
  /** Number of galaxies. */
  n: number;
  /** Output directory. */
  out: string;
  /** Survey profile. @default 'decals' */
  survey?: SurveyName;
  /** Cutout size in pixels. @default 128 */
  size?: number;
  /** Random seed; the same seed gives the same bytes. @default 0 */
  seed?: number;
  /** Decision tree(s) the volunteers answer, `a+b` for several campaigns. @default 'decals-dr5' */
  schema?: string;
  /** Faint r limit of the galaxy population (SDSS spectroscopic 17.77; deeper for DES-like). @default 17.77 */
  magLimit?: number;
  /** How volunteers judge visibility: the displayed image or analytic estimates. @default 'image' */
  visibility?: VisibilityMode;
  /** Also write per-band FITS images. @default false */
  fits?: boolean;
  /** Worker threads. @default min(2, available cores) */
  workers?: number;
  /** Galaxies per committed chunk (the unit of resumption). @default 256 */
  chunkSize?: number;
  /** Called as galaxies finish, with counts including those done before a resume. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link simulateSurvey} wrote. */
export interface SimulateResult {
  out: string;
  n: number;
  catalogParquet: string;
  catalogCsv: string;
  /** Galaxies rendered by this call (0 when the survey was already complete). */
  rendered: number;
  seconds: number;
}

interface Manifest {
  format: 'galmorph-sim/1';
  /** SIMULATOR_VERSION of the galaxies; absent in manifests written before version 4. */
  simulator?: number;
  n: number;
  survey: SurveyName;
  size: number;
  seed: number;
  /** Absent in manifests written before trees were selectable (= decals-dr5). */
  schema?: string;
  /** Written only when not the default 17.77, so a default survey's files stay as they were. */
  magLimit?: number;
  /** Absent in manifests written before it was recorded every time (= 'analytic'). */
  visibility?: VisibilityMode;
  fits: boolean;
  chunkSize: number;
  complete: boolean;
}

/** Job sent to a simulation worker: one chunk of galaxy indices. */
export interface SimChunkJob {
  chunk: number;
  start: number;
  end: number;
  out: string;
  survey: SurveyName;
  size: number;
  seed: number;
  schema: string;
  magLimit: number;
  visibility: VisibilityMode;
  fits: boolean;
  partPath: string;
}

const partName = (chunk: number) => `part-${String(chunk).padStart(6, '0')}.parquet`;

function checkOptions(o: SimulateOptions): Required<Omit<SimulateOptions, 'onProgress'>> {
  const n = o.n;
  if (!Number.isInteger(n) || n < 1) throw new OptionError(`--n must be a positive integer, got ${n}`);
  const size = o.size ?? 128;
  if (!Number.isInteger(size) || size < 16 || size > 1024) throw new OptionError(`--size must be an integer from 16 to 1024 px, got ${size}`);
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new OptionError(`--seed must be an integer from 0 to 4294967295, got ${seed}`);
  const workers = o.workers ?? Math.min(2, availableParallelism());
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new OptionError(`--workers must be an integer from 1 to 64, got ${workers}`);
  const chunkSize = o.chunkSize ?? 256;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new OptionError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const survey = getSurvey(o.survey ?? 'decals').name;
  const schema = getSchema(o.schema ?? 'decals-dr5').name;
  if (!o.out) throw new OptionError('--out is required');
  const magLimit = checkMagLimit(o.magLimit ?? MAG_FAINT);
  const visibility = checkVisibilityMode(o.visibility ?? DEFAULT_VISIBILITY);
  return { n, out: o.out, survey, size, seed, schema, magLimit, visibility, fits: o.fits ?? false, workers, chunkSize };
}

async function readManifest(path: string): Promise<Manifest | null> {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Manifest;
  } catch {
    throw new OptionError(`${path} is not a galmorph simulation manifest; choose an empty --out directory`);
  }
}

/**
 * Simulate a survey into `out` (see the module comment for the layout). Resumes a partial run
 * made with the same options; refuses a directory made with different ones.
 */
export async function simulateSurvey(options: SimulateOptions): Promise<SimulateResult> {
  const o = checkOptions(options);
  const t0 = performance.now();
  const manifestPath = join(o.out, 'manifest.json');
  const manifest: Manifest = {
    format: 'galmorph-sim/1', simulator: SIMULATOR_VERSION, n: o.n, survey: o.survey, size: o.size, seed: o.seed, schema: o.schema,
    ...(o.magLimit === MAG_FAINT ? {} : { magLimit: o.magLimit }), visibility: o.visibility, fits: o.fits, chunkSize: o.chunkSize, complete: false,
  };
  const result = {
    out: o.out, n: o.n, catalogParquet: join(o.out, 'catalog.parquet'), catalogCsv: join(o.out, 'catalog.csv'),
  };
  const previous = await readManifest(manifestPath);
  if (previous) {
    previous.schema ??= 'decals-dr5';
    previous.magLimit ??= MAG_FAINT;
    previous.visibility ??= 'analytic';
    const version = previous.simulator ?? 3;
    if (version !== SIMULATOR_VERSION) {
      throw new OptionError(
        `${o.out} holds a survey made by simulator version ${version}; this galmorph simulates version ${SIMULATOR_VERSION}, whose votes or images differ: choose another --out, or delete it to regenerate`,
      );
    }
    for (const key of ['n', 'survey', 'size', 'seed', 'schema', 'magLimit', 'visibility', 'fits', 'chunkSize'] as const) {
      if (previous[key] !== o[key]) {
        throw new OptionError(
          `${o.out} holds a survey made with ${key}=${previous[key]}, not ${o[key]}; rerun with the same options to resume, or choose another --out`,
        );
      }
    }
    if (previous.complete && existsSync(result.catalogParquet)) {
      options.onProgress?.(o.n, o.n);
      return { ...result, rendered: 0, seconds: (performance.now() - t0) / 1000 };
    }
  } else if (existsSync(o.out) && (await readdir(o.out)).length > 0) {
    throw new OptionError(`${o.out} is not empty and is not a galmorph simulation; choose an empty --out directory`);
  }
  const partsDir = join(o.out, 'parts');
  await mkdir(partsDir, { recursive: true });
  if (previous) await removeStaleTemps(o.out, ['images', 'fits', 'parts', '.']);
  await writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');

  const nChunks = Math.ceil(o.n / o.chunkSize);
  const todo: SimChunkJob[] = [];
  let done = 0;
  for (let c = 0; c < nChunks; c++) {
    const start = c * o.chunkSize;
    const end = Math.min(o.n, start + o.chunkSize);
    const partPath = join(partsDir, partName(c));
    if (existsSync(partPath)) done += end - start;
    else todo.push({ chunk: c, start, end, out: o.out, survey: o.survey, size: o.size, seed: o.seed, schema: o.schema, magLimit: o.magLimit, visibility: o.visibility, fits: o.fits, partPath });
  }
  const rendered = o.n - done;
  options.onProgress?.(done, o.n);
  await runChunks(todo, Math.min(o.workers, Math.max(1, todo.length)), () => {
    done++;
    options.onProgress?.(done, o.n);
  });

  // All chunks committed: merge the parts into the final catalogues.
  const tables: Table[] = [];
  for (let c = 0; c < nChunks; c++) tables.push(await readTable(join(partsDir, partName(c))));
  const merged: Table = { columns: tables[0].columns, rows: tables.flatMap((t) => t.rows) };
  await writeTable(result.catalogParquet, merged);
  await writeTable(result.catalogCsv, merged);
  await writeFileAtomic(manifestPath, JSON.stringify({ ...manifest, complete: true }, null, 2) + '\n');
  await rm(partsDir, { recursive: true, force: true });
  return { ...result, rendered, seconds: (performance.now() - t0) / 1000 };
}

/** Delete temp files a killed run left behind (their final files were never renamed into place). */
async function removeStaleTemps(out: string, dirs: string[]): Promise<void> {
  for (const d of dirs) {
    const dir = join(out, d);
    if (!existsSync(dir)) continue;
    for (const f of await readdir(dir)) if (f.startsWith('.') && f.endsWith('.tmp')) await rm(join(dir, f), { force: true });
  }
}

/** Run chunk jobs over a pool of worker threads; rejects on the first worker failure. */
function runChunks(jobs: SimChunkJob[], nWorkers: number, onGalaxy: () => void): Promise<void> {
  if (jobs.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = nWorkers;
    let failed = false;
    const workers = Array.from({ length: nWorkers }, () => startWorker(new URL('./runner-worker.js', import.meta.url), import.meta.url));
    const feed = (w: (typeof workers)[number]) => {
      if (failed) return;
      if (next < jobs.length) w.postMessage(jobs[next++]);
      else {
        void w.terminate();
        if (--running === 0) resolve();
      }
    };
    for (const w of workers) {
      w.on('message', (m: { galaxy?: true; chunkDone?: number; error?: string }) => {
        if (m.galaxy) onGalaxy();
        else if (m.chunkDone !== undefined) feed(w);
        else if (m.error) fail(new Error(m.error));
      });
      w.on('error', fail);
      feed(w);
    }
    function fail(e: Error) {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(e);
    }
  });
}
