/**
 * A labelling session on disk, so a researcher can stop at any moment and carry on later:
 *
 *   session.json   settings, where the features came from, pending queries, skipped ids, last kernel
 *   features.f32   standardised PCA features, [galaxies, components] float32 little-endian
 *   anomaly.f64    isolation-forest score per galaxy, float64 little-endian
 *   ids.txt        galaxy ids, one per line, in feature-row order
 *   pca.json       the PCA applied to the representation
 *   labels.csv     id,score — rewritten atomically after every answer
 *   batch-NNN.png  mosaic of each batch (written by the labelling loop)
 *
 * Every file is replaced by atomic rename, so a crash or Ctrl-C leaves either the previous or
 * the new version, never half of one; at most the answer being typed is lost.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { iterateTable, writeFileAtomic } from '../data/index.js';
import { CatalogError, OptionError } from '../errors.js';
import { savePca } from '../predict/pca.js';
import { loadFeatures, type EmbeddingsSource, type FeatureMatrix, type FeatureOptions } from './features.js';
import { fitIsolationForest, scoreIsolationForest, type IsolationForestOptions } from './iforest.js';
import { ActiveLearner, isValidScore, type ActiveLearnerOptions, type Ranking } from './learner.js';
import { readLabels, writeLabels, type LabelRecord } from './labels.js';
import { writeRanking } from './rank.js';
import type { RqKernelParams } from './gp.js';

/** Options of {@link AnomalySession.open}. Settings other than the catalogue are fixed when the session is created. */
export interface SessionOptions extends FeatureOptions, Pick<IsolationForestOptions, 'trees'>, ActiveLearnerOptions {
  /** Embeddings table to start a session from (required the first time; checked against the session afterwards). */
  embeddings?: string;
  /** Catalogue with the galaxies' image paths (shown while labelling). @default the one the session was started with */
  catalog?: string;
  /** Id column of the catalogue. @default 'id' */
  idColumn?: string;
  /** Image-path column of the catalogue (relative to its folder, or absolute). @default 'image_path' */
  imageColumn?: string;
}

/** A galaxy to label. */
export interface SessionQuery {
  id: string;
  row: number;
  /** Image file, when the session has a catalogue that lists one. */
  imagePath?: string;
  reason: 'cold-start' | 'expected-improvement';
  /** Predicted interest (0–5) and its uncertainty when chosen; NaN at cold start. */
  predicted: number;
  uncertainty: number;
  /** Isolation-forest score. */
  anomaly: number;
}

interface SessionFile {
  format: 'galmorph-anomaly-session';
  formatVersion: 1;
  created: string;
  source: EmbeddingsSource;
  components: number;
  trees: number;
  /** The learner's settings (sessions begun before `tradeoffOnceFound` existed lack it). */
  learner: Omit<Required<ActiveLearnerOptions>, 'tradeoffOnceFound'> & { tradeoffOnceFound?: number };
  catalog?: { path: string; idColumn: string; imageColumn: string };
  /** Queries asked and not yet answered, in order. */
  pending: Omit<SessionQuery, 'imagePath' | 'row'>[];
  skipped: string[];
  /** Batches drawn so far. */
  batches: number;
  kernel?: RqKernelParams;
}

const FORMAT = 'galmorph-anomaly-session';

/** A labelling session: features, anomaly scores, labels and the interest model, kept in a folder. */
export class AnomalySession {
  private readonly rowOf: Map<string, number>;
  private images = new Map<string, string>();

  private constructor(
    /** Session folder. */
    readonly dir: string,
    private meta: SessionFile,
    /** Galaxy ids in feature-row order. */
    readonly ids: string[],
    readonly features: FeatureMatrix,
    /** Isolation-forest score per galaxy. */
    readonly anomaly: Float64Array,
    readonly learner: ActiveLearner,
  ) {
    this.rowOf = new Map(ids.map((id, i) => [id, i]));
  }

  /**
   * Open the session in `dir`, creating it from `options.embeddings` when the folder holds none
   * (PCA, standardisation and the isolation forest are computed once and cached there).
   * @throws OptionError when `dir` holds no session and no embeddings are given, or the
   *   embeddings given are not the ones the session was built from
   */
  static async open(dir: string, options: SessionOptions = {}): Promise<AnomalySession> {
    const metaPath = join(dir, 'session.json');
    let meta: SessionFile;
    let ids: string[];
    let features: FeatureMatrix;
    let anomaly: Float64Array;
    if (existsSync(metaPath)) {
      meta = await readMeta(metaPath);
      if (options.embeddings) await checkSameSource(dir, meta.source, options.embeddings);
      ids = (await readFile(join(dir, 'ids.txt'), 'utf8')).split('\n');
      if (ids[ids.length - 1] === '') ids.pop();
      const k = meta.components;
      const data = new Float32Array(new SharedArrayBuffer(ids.length * k * 4));
      data.set(new Float32Array(await readBinary(join(dir, 'features.f32'), ids.length * k * 4)));
      features = { rows: ids.length, dim: k, data };
      anomaly = new Float64Array(await readBinary(join(dir, 'anomaly.f64'), ids.length * 8));
    } else {
      if (!options.embeddings) throw new OptionError(`${dir} holds no labelling session yet: give the embeddings to start one`);
      const g = await loadFeatures(options.embeddings, options);
      for (const id of g.ids) if (/[\r\n]/.test(id)) throw new CatalogError(`${options.embeddings}: id ${JSON.stringify(id)} contains a line break`);
      const trees = options.trees ?? 200;
      anomaly = scoreIsolationForest(fitIsolationForest(g.features, { trees, seed: options.seed }), g.features);
      ids = g.ids;
      features = g.features;
      const learner = new ActiveLearner(features, anomaly, options);
      meta = {
        format: FORMAT, formatVersion: 1, created: new Date().toISOString(), source: g.source,
        components: g.features.dim, trees, learner: learner.options, pending: [], skipped: [], batches: 0,
      };
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, 'ids.txt'), ids.join('\n') + '\n');
      await writeFileAtomic(join(dir, 'features.f32'), new Uint8Array(features.data.buffer, features.data.byteOffset, features.data.byteLength));
      await writeFileAtomic(join(dir, 'anomaly.f64'), new Uint8Array(anomaly.buffer, anomaly.byteOffset, anomaly.byteLength));
      await savePca(g.pca, join(dir, 'pca.json'));
    }
    if (options.catalog) {
      meta.catalog = { path: resolve(options.catalog), idColumn: options.idColumn ?? 'id', imageColumn: options.imageColumn ?? 'image_path' };
    }
    // Sessions begun before tradeoffOnceFound existed keep their single trade-off.
    const learner = new ActiveLearner(features, anomaly, { ...meta.learner, tradeoffOnceFound: meta.learner.tradeoffOnceFound ?? meta.learner.tradeoff });
    if (meta.kernel) learner.kernelHint = meta.kernel;
    const session = new AnomalySession(dir, meta, ids, features, anomaly, learner);
    const labelsPath = join(dir, 'labels.csv');
    if (existsSync(labelsPath)) for (const l of await readLabels(labelsPath, session.rowOf)) learner.setLabel(session.rowOf.get(l.id)!, l.score);
    learner.markAsked(meta.skipped.map((id) => session.row(id)));
    learner.markAsked(meta.pending.map((q) => session.row(q.id)));
    meta.pending = meta.pending.filter((q) => !learner.labels.has(session.row(q.id)));
    if (meta.catalog) await session.loadImages(meta.catalog);
    await session.saveMeta();
    return session;
  }

  /** Galaxies in the session. */
  get size(): number {
    return this.ids.length;
  }

  /** Labels so far, id → score. */
  get labels(): Map<string, number> {
    return new Map([...this.learner.labels].map(([r, v]) => [this.ids[r], v]));
  }

  /** Queries asked and not answered yet (they come first from {@link nextQueries}). */
  get pending(): SessionQuery[] {
    return this.meta.pending.map((q) => this.query(q));
  }

  /** Batches drawn so far. */
  get batches(): number {
    return this.meta.batches;
  }

  /** Image path of a galaxy, from the session's catalogue. */
  imagePath(id: string): string | undefined {
    return this.images.get(id);
  }

  private row(id: string): number {
    const r = this.rowOf.get(id);
    if (r === undefined) throw new OptionError(`no galaxy "${id}" in this session`);
    return r;
  }

  private query(q: Omit<SessionQuery, 'imagePath' | 'row'>): SessionQuery {
    const imagePath = this.images.get(q.id);
    return { ...q, row: this.row(q.id), ...(imagePath ? { imagePath } : {}) };
  }

  /**
   * The next `n` galaxies to label: unanswered earlier queries first, then a new batch from
   * the acquisition (the model is refitted first when a full batch of new labels is in).
   * Never returns a galaxy that was answered or skipped.
   */
  async nextQueries(n = this.meta.learner.batchSize): Promise<SessionQuery[]> {
    if (this.meta.pending.length < n) {
      const fresh = await this.learner.nextQueries(Math.max(n - this.meta.pending.length, 0));
      if (fresh.length > 0) {
        this.meta.batches++;
        for (const q of fresh) {
          this.meta.pending.push({ id: this.ids[q.row], reason: q.reason, predicted: q.predicted, uncertainty: q.uncertainty, anomaly: this.anomaly[q.row] });
        }
        this.rememberKernel();
        await this.saveMeta();
      }
    }
    return this.meta.pending.slice(0, n).map((q) => this.query(q));
  }

  /**
   * Record scores (0–5) and save them at once (atomically). Refits the model when the
   * batch is done (see {@link retrainIfDue}).
   * @returns whether the model was refitted
   * @throws OptionError for an unknown id or a score outside 0–5 (nothing is saved then)
   */
  async addLabels(labels: Iterable<LabelRecord>): Promise<{ retrained: boolean }> {
    const list = [...labels];
    for (const l of list) {
      this.row(l.id);
      if (!isValidScore(l.score)) throw new OptionError(`score for "${l.id}" must be a number from 0 to 5, got ${l.score}`);
    }
    for (const l of list) this.learner.setLabel(this.row(l.id), l.score);
    await writeLabels(join(this.dir, 'labels.csv'), [...this.labels].map(([id, score]) => ({ id, score })));
    const answered = new Set(list.map((l) => l.id));
    this.meta.pending = this.meta.pending.filter((q) => !answered.has(q.id));
    const retrained = this.retrainIfDue();
    await this.saveMeta();
    return { retrained };
  }

  /**
   * Refit when a batch is done: every pending query answered or skipped, or `batchSize` new
   * labels in (e.g. an import).
   */
  private retrainIfDue(): boolean {
    const fresh = this.learner.newLabels;
    if (fresh === 0 || (this.meta.pending.length > 0 && fresh < this.meta.learner.batchSize)) return false;
    this.learner.fit();
    this.rememberKernel();
    return true;
  }

  /** Record one score; see {@link addLabels}. */
  addLabel(id: string, score: number): Promise<{ retrained: boolean }> {
    return this.addLabels([{ id, score }]);
  }

  /** Skip a galaxy: it is never asked again and gets no label. @returns whether the model was refitted (the batch is done) */
  async skip(id: string): Promise<{ retrained: boolean }> {
    const r = this.row(id);
    this.learner.markAsked([r]);
    if (!this.meta.skipped.includes(id)) this.meta.skipped.push(id);
    this.meta.pending = this.meta.pending.filter((q) => q.id !== id);
    const retrained = this.retrainIfDue();
    await this.saveMeta();
    return { retrained };
  }

  /**
   * Import scores made elsewhere (a table with `id` and `score` 0–5); they join the session's
   * labels (an imported score replaces an earlier one for the same galaxy).
   * @returns number of scores imported
   */
  async importLabels(path: string): Promise<number> {
    const records = await readLabels(path, this.rowOf);
    await this.addLabels(records);
    if (this.learner.newLabels > 0) {
      this.learner.fit();
      this.rememberKernel();
      await this.saveMeta();
    }
    return records.length;
  }

  /** Score and order every galaxy (labels first by their score, then the model's prediction). */
  async rank(): Promise<Ranking> {
    const r = await this.learner.rank();
    this.rememberKernel();
    return r;
  }

  /** Rank and write the table (see `writeRanking`). */
  async writeRanking(out: string): Promise<Ranking> {
    const ranking = await this.rank();
    await writeRanking(out, { ids: this.ids }, this.anomaly, ranking, this.learner.labels);
    return ranking;
  }

  private rememberKernel(): void {
    const k = this.learner.model?.kernel;
    if (k) this.meta.kernel = k;
  }

  private async saveMeta(): Promise<void> {
    await writeFileAtomic(join(this.dir, 'session.json'), JSON.stringify(this.meta, null, 1) + '\n');
  }

  private async loadImages(c: NonNullable<SessionFile['catalog']>): Promise<void> {
    const images = new Map<string, string>();
    let first = true;
    for await (const row of iterateTable(c.path, { rawColumns: [c.idColumn, c.imageColumn] })) {
      if (first) {
        const miss = [c.idColumn, c.imageColumn].filter((k) => !(k in row));
        if (miss.length > 0) throw new CatalogError(`${c.path}: no column ${miss.map((m) => `"${m}"`).join(' or ')} (set the catalogue's id and image columns)`);
        first = false;
      }
      const id = row[c.idColumn];
      const p = row[c.imageColumn];
      if (id === null || p === null || !this.rowOf.has(String(id))) continue;
      const path = String(p);
      images.set(String(id), isAbsolute(path) ? path : join(dirname(c.path), path));
    }
    this.images = images;
  }
}

async function readMeta(path: string): Promise<SessionFile> {
  let meta: SessionFile;
  try {
    meta = JSON.parse(await readFile(path, 'utf8')) as SessionFile;
  } catch (e) {
    throw new OptionError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (meta?.format !== FORMAT || meta.formatVersion !== 1) throw new OptionError(`${path} is not a galmorph anomaly session (format ${FORMAT} v1)`);
  return meta;
}

async function readBinary(path: string, bytes: number): Promise<ArrayBuffer> {
  const buf = await readFile(path);
  if (buf.byteLength !== bytes) throw new OptionError(`${path} holds ${buf.byteLength} bytes, expected ${bytes}: the session folder is damaged; start a new one`);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

async function checkSameSource(dir: string, source: EmbeddingsSource, embeddings: string): Promise<void> {
  const path = resolve(embeddings);
  if (path !== source.path) {
    throw new OptionError(`session ${dir} was started from ${source.path} (${source.galaxies} galaxies), not ${path}; use a new session folder for other embeddings`);
  }
  const info = await stat(path).catch(() => undefined);
  if (info && (info.size !== source.bytes || Math.abs(info.mtimeMs - source.mtimeMs) > 1)) {
    throw new OptionError(`${path} changed since session ${dir} was started from it; use a new session folder`);
  }
}
