/**
 * The survey loop shared by `predictSurvey` and `embedSurvey`: stream a shard of the input in
 * batches, run the network, and commit results chunk by chunk so a killed run resumes where
 * it stopped; then merge the committed chunks into the one output file, atomically.
 *
 * On disk, beside the output `dir/name.ext`, a run keeps `dir/.name.ext.partial/`:
 *   manifest.json          what the run is (input, shard, model digest, settings)
 *   part-000000.parquet    the rows of chunk 0, written atomically once complete, …
 * A chunk's part file exists only when all its rows are in it, so after a crash every chunk
 * is either committed whole or redone whole: no lost or duplicated rows. The output file
 * appears (by rename) only when complete, then the partial folder is removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { initEngine } from '../engine/index.js';
import { prepareImages, decodeSize, type GalaxyModel, type ImageLike } from '../models/index.js';
import { loadAnyModel, type FinetunedModel } from '../finetune/model.js';
import { readImage, writeFileAtomic } from '../data/index.js';
import { OptionError } from '../errors.js';
import { openSurveyInput, type InputOptions, type SurveyInput, type SurveyItem } from './inputs.js';
import { checkShard, shardRange, type Shard } from './shard.js';
import { openEncoder, type Encoder, type InferenceEngine } from './engine.js';
import {
  TableSink, concatBlocks, emptyBlock, parquetRowCount, readParquetBlocks, writeParquetBlock,
  type ColumnBlock, type ColumnSpec, type ColumnValues, type TableFormat,
} from './columns.js';

/**
 * A model predict and embed run: a galmorph model, or a fine-tuned one (written by
 * `finetune`), whose encoder gives the representation and whose new head the predictions.
 */
export type SurveyModel = GalaxyModel | FinetunedModel;

/** Options shared by {@link predictSurvey} and {@link embedSurvey}. */
export interface SurveyOptions extends InputOptions {
  /**
   * Model directory — a galmorph model or a fine-tuned one — (loaded and disposed by the
   * call) or a loaded model (left open).
   */
  model: string | SurveyModel;
  /** Output table, `.parquet` or `.csv` (the extension picks the format unless `format` is set). */
  out: string;
  /** Output format. @default from the extension of `out` ('parquet' when it is neither) */
  format?: TableFormat;
  /** Process only this shard of the input (contiguous, 0-based). @default { index: 0, count: 1 } */
  shard?: Shard;
  /** Images per network batch. @default 64 */
  batchSize?: number;
  /**
   * Engine of the encoder: 'onnx' (ONNX Runtime) or 'tfjs' (see engine.ts). The results agree
   * to ~1e-6, so a run may be resumed with the other engine. @default 'onnx'
   */
  engine?: InferenceEngine;
  /** Threads of the ONNX Runtime encoder. @default os.availableParallelism() */
  threads?: number;
  /** Rows per committed chunk: the most work an interruption can lose. @default 1024 */
  chunkSize?: number;
  /** Replace an existing output file instead of refusing. @default false */
  overwrite?: boolean;
  /** Stop between batches when aborted (committed chunks are kept for a resume). @default undefined */
  signal?: AbortSignal;
  /** Called after every batch with rows done (including resumed ones) and the shard's total. @default undefined */
  onProgress?: (done: number, total: number) => void;
}

/** What a survey run did. */
export interface SurveyResult {
  /** Output file. */
  out: string;
  /** Rows written (the shard's galaxies). */
  rows: number;
  /** Rows with status `ok`. */
  ok: number;
  /** Rows with an error status (unreadable image, missing path). */
  errors: number;
  /** The first few error rows, to show the user. */
  errorExamples: { id: string; status: string }[];
  /** Rows taken from chunks committed by an earlier, interrupted run. */
  resumedRows: number;
  /** Wall time of this call, s. */
  seconds: number;
  /** Rows computed by this call per second of wall time. */
  galaxiesPerSecond: number;
  /** Rows `[start, end)` of the input this shard covered. */
  range: [number, number];
}

/** The task-specific part of a run. */
export interface SurveyTask {
  kind: 'predict' | 'embed';
  /** Value columns after id/ra/dec/status. */
  valueColumns: ColumnSpec[];
  /** Settings that change the values (checked on resume). */
  settings: Record<string, unknown>;
  /** Values `[n, valueColumns.length]` row-major for a batch of prepared images `[n, S, S, bands]`. */
  compute(model: SurveyModel, encoder: Encoder, images: Float32Array, ids: readonly string[]): Promise<Float32Array | Float64Array>;
}

/** Extra columns computed at merge time from the committed columns (e.g. PCA). */
export interface MergeTransform {
  columns: ColumnSpec[];
  apply(block: ColumnBlock): Map<string, ColumnValues>;
}

const PART_RE = /^part-(\d{6,})\.parquet$/;
const partName = (c: number) => `part-${String(c).padStart(6, '0')}.parquet`;

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new OptionError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** Output format from options and extension; a `.csv`/`.parquet` extension must agree with `format`. */
export function outputFormat(out: string, format?: TableFormat): TableFormat {
  if (format !== undefined && format !== 'parquet' && format !== 'csv') throw new OptionError(`format must be parquet or csv, got "${format}"`);
  const ext = extname(out).toLowerCase();
  const byExt: TableFormat | undefined = ext === '.csv' ? 'csv' : ext === '.parquet' ? 'parquet' : undefined;
  if (format && byExt && format !== byExt) throw new OptionError(`format ${format} conflicts with the ${ext} extension of ${out}`);
  return format ?? byExt ?? 'parquet';
}

/** SHA-256 of a model's weights and head: identifies the model in a resumable run. */
function modelDigest(model: SurveyModel): string {
  const h = createHash('sha256');
  const c = model.config;
  h.update(JSON.stringify(c.format === 'galmorph-finetuned'
    ? { task: c.task, classes: c.classes, target: c.target, schema: c.schema, inputSize: c.inputSize }
    : { schema: c.schema, architecture: c.architecture, inputSize: c.inputSize }));
  for (const w of model.net.getWeights()) {
    const d = w.dataSync() as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/** A run in progress: the resolved input, shard range, partial folder and model. */
export class SurveyRun {
  readonly partialDir: string;
  readonly specs: ColumnSpec[];
  readonly chunkCount: number;
  resumedRows = 0;
  private computed = 0;
  private readonly t0 = performance.now();

  private constructor(
    readonly task: SurveyTask,
    readonly options: SurveyOptions,
    readonly input: SurveyInput,
    readonly model: SurveyModel,
    private readonly ownsModel: boolean,
    readonly encoder: Encoder,
    readonly range: [number, number],
    readonly chunkSize: number,
    readonly batchSize: number,
    readonly format: TableFormat,
  ) {
    const out = resolve(options.out);
    this.partialDir = join(dirname(out), `.${basename(out)}.partial`);
    this.specs = [
      { name: 'id', type: 'STRING' },
      ...(input.hasRaDec ? ([{ name: 'ra', type: 'DOUBLE' }, { name: 'dec', type: 'DOUBLE' }] as const) : []),
      { name: 'status', type: 'STRING' },
      ...task.valueColumns,
    ];
    this.chunkCount = Math.ceil((range[1] - range[0]) / chunkSize);
  }

  /**
   * Validate options, open the input and the model, and claim (or resume) the partial folder.
   * @param makeTask builds the task once the model (and so its schema and dimensions) is known
   */
  static async start(makeTask: (model: SurveyModel) => SurveyTask, options: SurveyOptions): Promise<SurveyRun> {
    const batchSize = positiveInt('batch size', options.batchSize ?? 64);
    const chunkSize = positiveInt('chunk size', options.chunkSize ?? 1024);
    const shard = checkShard(options.shard ?? { index: 0, count: 1 });
    const format = outputFormat(options.out, options.format);
    if (!options.overwrite && (await stat(options.out).catch(() => null))) {
      throw new OptionError(`${options.out} already exists (a finished run); delete it or pass overwrite (--overwrite)`);
    }
    const input = await openSurveyInput(options);
    const range = shardRange(input.count, shard);
    const owns = typeof options.model === 'string';
    let model: SurveyModel;
    if (typeof options.model === 'string') {
      await initEngine();
      model = await loadAnyModel(options.model);
    } else model = options.model;
    let encoder: Encoder | undefined;
    try {
      const task = makeTask(model);
      encoder = await openEncoder(model, { engine: options.engine, threads: options.threads });
      const run = new SurveyRun(task, options, input, model, owns, encoder, range, chunkSize, batchSize, format);
      await run.claimPartial(shard);
      return run;
    } catch (e) {
      await encoder?.dispose();
      if (owns) model.dispose();
      throw e;
    }
  }

  private async claimPartial(shard: Shard): Promise<void> {
    const manifest = {
      format: 'galmorph-partial-run',
      formatVersion: 1,
      kind: this.task.kind,
      input: resolve(this.input.source),
      inputRows: this.input.count,
      shard: `${shard.index}/${shard.count}`,
      chunkSize: this.chunkSize,
      model: modelDigest(this.model),
      settings: this.task.settings,
      columns: this.specs.map((s) => s.name),
    };
    const path = join(this.partialDir, 'manifest.json');
    const old = await readFile(path, 'utf8').catch(() => null);
    if (old !== null) {
      const prev = JSON.parse(old) as Record<string, unknown>;
      for (const [k, v] of Object.entries(manifest)) {
        if (JSON.stringify(prev[k]) !== JSON.stringify(v)) {
          throw new OptionError(
            `${this.partialDir} holds an interrupted run with a different ${k} (${JSON.stringify(prev[k])}, now ${JSON.stringify(v)}); ` +
              'rerun with the same options to resume, or delete that folder to start again',
          );
        }
      }
      return;
    }
    await mkdir(this.partialDir, { recursive: true });
    await writeFileAtomic(path, JSON.stringify(manifest, null, 2) + '\n');
  }

  /** Rows `[start, end)` (input positions) of chunk `c`. */
  chunkRows(c: number): [number, number] {
    const start = this.range[0] + c * this.chunkSize;
    return [start, Math.min(this.range[1], start + this.chunkSize)];
  }

  /** Committed chunk indices. */
  async committedChunks(): Promise<Set<number>> {
    const done = new Set<number>();
    for (const name of await readdir(this.partialDir)) {
      const m = PART_RE.exec(name);
      if (m && Number(m[1]) < this.chunkCount) done.add(Number(m[1]));
    }
    return done;
  }

  /** Compute and commit every chunk not committed yet. */
  async process(): Promise<void> {
    const done = await this.committedChunks();
    const total = this.range[1] - this.range[0];
    for (const c of done) this.resumedRows += this.chunkRows(c)[1] - this.chunkRows(c)[0];
    let progress = this.resumedRows;
    this.options.onProgress?.(progress, total);
    const items = this.input.items(this.range[0], this.range[1]);
    try {
      for (let c = 0; c < this.chunkCount; c++) {
        const [start, end] = this.chunkRows(c);
        const chunk: SurveyItem[] = [];
        for (let i = start; i < end; i++) {
          const next = await items.next();
          if (next.done) throw new Error(`input ${this.input.source} ended early at row ${i} (was it changed during the run?)`);
          chunk.push(next.value);
        }
        if (done.has(c)) continue;
        const block = emptyBlock(this.specs, chunk.length);
        await this.computeChunk(chunk, block, (n) => {
          progress += n;
          this.computed += n;
          this.options.onProgress?.(progress, total);
        });
        await writeParquetBlock(join(this.partialDir, partName(c)), this.specs, block);
      }
    } finally {
      await items.return(undefined);
    }
  }

  private async computeChunk(chunk: SurveyItem[], block: ColumnBlock, onBatch: (n: number) => void): Promise<void> {
    const cols = block.columns;
    const ids = cols.get('id') as (string | null)[];
    const status = cols.get('status') as (string | null)[];
    chunk.forEach((it, i) => {
      ids[i] = it.id;
      if (this.input.hasRaDec) {
        (cols.get('ra') as Float64Array)[i] = it.ra ?? NaN;
        (cols.get('dec') as Float64Array)[i] = it.dec ?? NaN;
      }
    });
    const values = this.task.valueColumns.map((s) => cols.get(s.name) as Float32Array | Float64Array);
    const nv = values.length;
    const starts: number[] = [];
    for (let i = 0; i < chunk.length; i += this.batchSize) starts.push(i);
    // Decode the next batch (sharp works off the main thread) while the network runs this one.
    let next = this.loadBatch(chunk.slice(0, this.batchSize));
    for (let b = 0; b < starts.length; b++) {
      this.throwIfAborted();
      const loaded = await next;
      if (b + 1 < starts.length) next = this.loadBatch(chunk.slice(starts[b + 1], starts[b + 1] + this.batchSize));
      const s0 = starts[b];
      loaded.status.forEach((st, j) => (status[s0 + j] = st));
      if (loaded.okIndex.length > 0) {
        const out = await this.task.compute(this.model, this.encoder, loaded.prepared, loaded.okIndex.map((j) => chunk[s0 + j].id));
        loaded.okIndex.forEach((j, k) => {
          for (let v = 0; v < nv; v++) values[v][s0 + j] = out[k * nv + v];
        });
      }
      onBatch(loaded.status.length);
    }
  }

  private throwIfAborted(): void {
    const s = this.options.signal;
    if (s?.aborted) throw s.reason instanceof Error ? s.reason : new Error('survey run aborted');
  }

  /** Decode and prepare a batch; unreadable images become error statuses. */
  private async loadBatch(items: SurveyItem[]): Promise<{ status: string[]; okIndex: number[]; prepared: Float32Array }> {
    const bands = this.model.config.bands;
    const settled = await Promise.allSettled(
      items.map((it) => (it.path === null ? Promise.reject(new Error('no image path in the catalogue')) : readImage(it.path, { size: decodeSize(this.model.config), channels: bands }))),
    );
    const status: string[] = [];
    const okIndex: number[] = [];
    const images: ImageLike[] = [];
    settled.forEach((r, j) => {
      if (r.status === 'fulfilled') {
        status.push('ok');
        okIndex.push(j);
        images.push(r.value);
      } else {
        const msg = r.reason instanceof Error ? r.reason.message : String(r.reason);
        status.push(`error: ${msg.split('\n')[0]}`);
      }
    });
    return { status, okIndex, prepared: prepareImages(images, this.model.config) };
  }

  /** Committed part files in chunk order (all chunks must be committed). */
  async partPaths(): Promise<string[]> {
    const done = await this.committedChunks();
    const paths: string[] = [];
    for (let c = 0; c < this.chunkCount; c++) {
      if (!done.has(c)) throw new Error(`chunk ${c} of ${this.partialDir} is not committed`);
      paths.push(join(this.partialDir, partName(c)));
    }
    return paths;
  }

  /** Stream the committed rows, in order, as blocks of at least `minRows` rows (except the last). */
  async *blocks(specs: readonly ColumnSpec[] = this.specs, minRows = 1): AsyncGenerator<ColumnBlock> {
    let pending: ColumnBlock[] = [];
    let rows = 0;
    for (const [c, path] of (await this.partPaths()).entries()) {
      const [start, end] = this.chunkRows(c);
      const n = await parquetRowCount(path);
      if (n !== end - start) throw new Error(`${path} holds ${n} rows, expected ${end - start}; delete ${this.partialDir} and rerun`);
      for await (const b of readParquetBlocks(path, specs)) {
        pending.push(b);
        rows += b.rows;
        if (rows >= minRows) {
          yield pending.length === 1 ? pending[0] : concatBlocks(specs, pending);
          pending = [];
          rows = 0;
        }
      }
    }
    if (rows > 0) yield concatBlocks(specs, pending);
  }

  /**
   * Write the output from the committed chunks (plus `transform`'s columns), atomically, and
   * remove the partial folder.
   */
  async finish(transform?: MergeTransform): Promise<SurveyResult> {
    const specs = [...this.specs, ...(transform?.columns ?? [])];
    // Row groups of ~2^22 cells: big enough to compress and scan well, small enough to hold.
    const groupRows = Math.max(this.chunkSize, Math.min(65536, Math.floor(2 ** 22 / specs.length)));
    const sink = await TableSink.open(this.options.out, specs, this.format);
    let ok = 0, errors = 0, rows = 0;
    const errorExamples: { id: string; status: string }[] = [];
    try {
      for await (const block of this.blocks(this.specs, groupRows)) {
        const status = block.columns.get('status') as (string | null)[];
        const ids = block.columns.get('id') as (string | null)[];
        status.forEach((s, i) => {
          if (s === 'ok') ok++;
          else {
            errors++;
            if (errorExamples.length < 5) errorExamples.push({ id: ids[i] ?? '', status: s ?? '' });
          }
        });
        if (transform) for (const [k, v] of transform.apply(block)) block.columns.set(k, v);
        await sink.write(block);
        rows += block.rows;
      }
      await sink.close();
    } catch (e) {
      await sink.abort();
      throw e;
    }
    await rm(this.partialDir, { recursive: true, force: true });
    const seconds = (performance.now() - this.t0) / 1000;
    return {
      out: this.options.out, rows, ok, errors, errorExamples, resumedRows: this.resumedRows, seconds,
      galaxiesPerSecond: seconds > 0 ? this.computed / seconds : 0, range: this.range,
    };
  }

  /** Release the encoder, and the model if this run loaded it. */
  async dispose(): Promise<void> {
    await this.encoder.dispose();
    if (this.ownsModel) this.model.dispose();
  }
}
