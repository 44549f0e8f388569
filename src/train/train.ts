/**
 * `train()`: fit a galaxy-morphology network to volunteer votes on every question of a
 * decision tree, with the Dirichlet-multinomial loss (Walmsley et al. 2022), the way Zoobot
 * trains from scratch: AdamW (lr 1e-3, weight decay 0.01), gradient clipping, rotation/flip/
 * resized-crop augmentation, dropout 0.2 before the head, early stopping on validation loss.
 *
 * Resumable: `<out>/checkpoint.bin` is rewritten atomically after every epoch and every
 * `checkpointSeconds` within one. Re-running with the same options continues exactly where
 * the last checkpoint left off — the same batches, augmentations and dropout masks as an
 * uninterrupted run, because every random draw is a function of (seed, epoch, step, index).
 *
 * Outputs in `<out>`: the best model so far (model.json, weights.bin, config.json),
 * metrics.json (one record per epoch) and checkpoint.bin.
 */
import { join } from 'node:path';
import { initEngine, type BackendChoice } from '../engine/index.js';
import { createModel } from '../models/model.js';
import { warmStart } from './warmstart.js';
import { saveModel } from '../models/io.js';
import { centreCropMap, decodeSize, prepareImages, resampleInto, type InputSpec } from '../models/preprocess.js';
import { getSchema, schemaToSpec, type Schema } from '../schema/index.js';
import { writeFileAtomic } from '../data/atomic.js';
import { GalmorphError, OptionError } from '../errors.js';
import { augmentInto, type AugmentOptions } from './augment.js';
import { readCheckpoint, writeCheckpoint, type CheckpointState } from './checkpoint.js';
import { ImageCache, openTrainingSet, type TrainingSet } from './data.js';
import { ValidationAccumulator, type EpochMetrics } from './metrics.js';
import { AdamW } from './optimizer.js';
import { createProgress } from './progress.js';
import { epochPermutation, hashString, isValidation, mix, rng, Stream } from './random.js';
import { attachReplicas, batchGradients, decayMask, optimizerStep, readWeights, shareable, startReplicas, weightLayout, writeWeights, type Replica } from './replica.js';
import { checkNumbers, integerFrom, nonNegative, openFraction, positive, withDefaults } from '../util/options.js';

/** Options of {@link train}. */
export interface TrainOptions {
  /** Output model directory (created; holds the best model, metrics.json, checkpoint.bin and `last/`, the last epoch's model). */
  out: string;
  /** Decision tree: a built-in name, a .json path, or a Schema. @default 'decals-dr5' */
  schema?: string | Schema;
  /**
   * Start from this model directory's weights (layers by name, head answers by column) instead
   * of a fresh initialisation, e.g. to continue a pretrained model on a larger tree.
   */
  initFrom?: string;
  /** Vote catalogue (.csv/.parquet). Required unless `data` is given. */
  catalog?: string;
  /** Folder of `<id>.png|jpg|fits` images (unless the catalogue has `imageColumn`). */
  images?: string;
  /** Catalogue id column. @default 'id' */
  idColumn?: string;
  /** Catalogue column of image paths. @default undefined */
  imageColumn?: string;
  /** In-memory training data instead of `catalog`/`images`. */
  data?: TrainingSet;
  /** Registered architecture. @default 'resnet-small' */
  architecture?: string;
  /** Network input size, px. @default 64 */
  size?: number;
  /** Input bands: 3 colour, 1 greyscale. @default 3 */
  bands?: 1 | 3;
  /** Maximum number of epochs. @default 30 */
  epochs?: number;
  /** Images per optimizer step (split across workers). @default 128 */
  batchSize?: number;
  /** Seed for initialisation, split, shuffling, augmentation and dropout. @default 0 */
  seed?: number;
  /** Fraction of galaxies held out for validation (chosen by id hash). @default 0.1 */
  valFraction?: number;
  /** AdamW learning rate. @default 1e-3 */
  learningRate?: number;
  /** AdamW decoupled weight decay (kernels only). @default 0.01 */
  weightDecay?: number;
  /** Global gradient-norm clip (0 = off). @default 10 */
  clipNorm?: number;
  /** Stop after this many epochs without a better validation loss. @default 8 */
  patience?: number;
  /** Data-parallel replicas (worker threads); 1 trains in the calling thread. @default 2 */
  workers?: number;
  /** Tensor backend. @default 'auto' */
  backend?: BackendChoice;
  /** Augmentation ranges, or `false` for none. @default Zoobot's (see augment.ts) */
  augment?: AugmentOptions | false;
  /** Memory for the decoded-image cache, bytes. @default 1 GiB */
  cacheBytes?: number;
  /** Also checkpoint within an epoch at most this often, seconds. @default 300 */
  checkpointSeconds?: number;
  /** Show a progress bar. @default true when stderr is a TTY */
  progress?: boolean;
  /** Called with each epoch's metrics. */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** One-line status messages (resume, epoch summaries, early stop). @default none */
  log?: (line: string) => void;
  /** Stop cleanly: checkpoint at the current step and return with `interrupted: true`. */
  signal?: AbortSignal;
}

/** What {@link train} returns. */
export interface TrainResult {
  out: string;
  /** Epochs finished in total (over all resumed runs). */
  epochs: number;
  bestEpoch: number | null;
  bestValLoss: number | null;
  /** Training ended by early stopping. */
  stoppedEarly: boolean;
  /** Ended by `signal` before finishing (resumable). */
  interrupted: boolean;
  /** Where this call started from, when it resumed a checkpoint. */
  resumedFrom: { epoch: number; step: number } | null;
  history: EpochMetrics[];
  trainSize: number;
  valSize: number;
}

/** Training produced a non-finite loss. */
export class TrainingDivergedError extends GalmorphError {}

interface Resolved {
  out: string;
  schema: Schema;
  architecture: string;
  size: number;
  bands: 1 | 3;
  epochs: number;
  batchSize: number;
  seed: number;
  valFraction: number;
  learningRate: number;
  weightDecay: number;
  clipNorm: number;
  patience: number;
  workers: number;
  backend: BackendChoice;
  augment: AugmentOptions | false;
  cacheBytes: number;
  checkpointSeconds: number;
  initFrom?: string;
}

function resolve(o: TrainOptions): Resolved {
  const schema = typeof o.schema === 'object' ? o.schema : getSchema(o.schema ?? 'decals-dr5');
  const r: Resolved = {
    ...withDefaults(o, {
      architecture: 'resnet-small', size: 64, bands: 3,
      epochs: 30, batchSize: 128, patience: 8, learningRate: 1e-3, weightDecay: 0.01, clipNorm: 10,
      seed: 0, valFraction: 0.1, workers: 2, backend: 'auto', augment: {}, cacheBytes: 2 ** 30, checkpointSeconds: 300,
    }),
    schema,
  };
  if (!r.out) throw new OptionError('train: "out" (model directory) is required');
  checkNumbers('train', r, {
    epochs: integerFrom(1), batchSize: integerFrom(1), seed: integerFrom(0), patience: integerFrom(1), workers: integerFrom(1),
    valFraction: openFraction, learningRate: positive, weightDecay: nonNegative, clipNorm: nonNegative,
  });
  if (r.batchSize < r.workers) throw new OptionError(`train: batchSize (${r.batchSize}) must be at least workers (${r.workers})`);
  return r;
}

/** Settings that must be unchanged for a checkpoint to be resumed. `epochs` may grow. */
function fingerprint(r: Resolved, data: TrainingSet): Record<string, unknown> {
  let h = 0x811c9dc5;
  for (const id of data.ids) h = hashString(id, h);
  return {
    schema: schemaToSpec(r.schema),
    architecture: r.architecture,
    size: r.size,
    bands: r.bands,
    batchSize: r.batchSize,
    seed: r.seed,
    valFraction: r.valFraction,
    learningRate: r.learningRate,
    weightDecay: r.weightDecay,
    clipNorm: r.clipNorm,
    augment: r.augment,
    galaxies: data.ids.length,
    idsHash: h >>> 0,
    // Only present when set, so checkpoints written before warm starts existed still resume.
    ...(r.initFrom ? { initFrom: r.initFrom } : {}),
  };
}

function describeMismatch(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  return Object.keys({ ...saved, ...now }).filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]));
}

/** Subdirectory of a run's output holding the model of its last finished epoch. */
export const LAST_DIR = 'last';

/** Training images the warm start looks for dead answers on: 256 spread over the training split. */
async function probeImages(data: TrainingSet, trainIdx: readonly number[], spec: InputSpec & { bands: number }): Promise<Float32Array> {
  const n = Math.min(256, trainIdx.length);
  const picks = Array.from({ length: n }, (_, k) => trainIdx[Math.floor((k * trainIdx.length) / n)]);
  const images = await Promise.all(picks.map((i) => data.image(i, decodeSize(spec), spec.bands as 1 | 3)));
  return prepareImages(images, spec);
}

/**
 * Train (or resume training) a model.
 * @example
 * const r = await train({ catalog: 'sim/catalog.csv', images: 'sim/images', out: 'models/my-model', epochs: 20 });
 * r.history.at(-1)?.valLoss // e.g. 18.2
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const r = resolve(options);
  const log = options.log ?? (() => {});
  await initEngine({ backend: r.backend });
  const data =
    options.data ??
    (options.catalog
      ? await openTrainingSet({ catalog: options.catalog, images: options.images, schema: r.schema, idColumn: options.idColumn, imageColumn: options.imageColumn })
      : undefined);
  if (!data) throw new OptionError('train: give a catalog (and images) or in-memory data');
  const A = r.schema.nAnswers;
  if (data.counts.length !== data.ids.length * A) {
    throw new OptionError(`train: counts hold ${data.counts.length} values for ${data.ids.length} galaxies × ${A} answers`);
  }
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  data.ids.forEach((id, i) => (isValidation(id, r.seed, r.valFraction) ? valIdx : trainIdx).push(i));
  if (trainIdx.length === 0 || valIdx.length === 0) {
    throw new OptionError(`train: ${data.ids.length} galaxies give ${trainIdx.length} for training and ${valIdx.length} for validation; need both > 0`);
  }

  const ckpt = await readCheckpoint(r.out);
  const model = createModel({ schema: r.schema, architecture: r.architecture, size: r.size, bands: r.bands, seed: r.seed });
  // A resumed run takes its weights from the checkpoint; the warm start only seeds a new run.
  if (r.initFrom && !ckpt) {
    const w = await warmStart(model, r.initFrom, await probeImages(data, trainIdx, model.config));
    log(`initialised from ${r.initFrom}: ${w.layers} layers, ${w.answersCopied} of ${w.answers} head answers${w.newLayers ? `; ${w.newLayers} layers of new blocks start as the identity` : ''}`);
    if (w.revived.length) {
      log(`restarted ${w.revived.length} head answers whose concentration sat at the floor on every probe image (dead sigmoid): ${w.revived.join(', ')}`);
    }
  }
  const layout = weightLayout(model);
  // Worker replicas read the weights and update them and the moments in place: shared memory.
  const threads = r.workers > 1;
  const weights = shareable(readWeights(model), threads);
  const optimizer = new AdamW(
    weights.subarray(0, layout.trainableSize),
    decayMask(layout),
    { learningRate: r.learningRate, weightDecay: r.weightDecay, clipNorm: r.clipNorm },
    threads,
  );
  const fp = fingerprint(r, data);
  let state: CheckpointState = {
    fingerprint: fp,
    epoch: 0,
    step: 0,
    trainLossSum: 0,
    trainCount: 0,
    epochSeconds: 0,
    history: [],
    bestValLoss: null,
    bestEpoch: null,
    badEpochs: 0,
    finished: false,
    optimizerStep: 0,
  };
  let resumedFrom: TrainResult['resumedFrom'] = null;
  if (ckpt) {
    // The learning rate may change on resume: lowering it for the last epochs (step decay by
    // hand, as long runs are finished) keeps the weights, moments and history.
    const diff = describeMismatch(ckpt.state.fingerprint, fp).filter((k) => k !== 'learningRate');
    if (diff.length > 0) {
      throw new OptionError(`${join(r.out, 'checkpoint.bin')} belongs to a run with different ${diff.join(', ')}; use another output directory to start a new run`);
    }
    if (ckpt.weights.length !== weights.length) throw new OptionError(`${r.out}: checkpoint weights do not match the network`);
    weights.set(ckpt.weights);
    optimizer.setState({ step: ckpt.state.optimizerStep, m: ckpt.m, v: ckpt.v });
    state = ckpt.state;
    const lastRate = state.fingerprint.learningRate;
    if (lastRate !== r.learningRate) log(`learning rate ${lastRate} → ${r.learningRate} from epoch ${state.epoch + 1}`);
    state.fingerprint = fp;
    resumedFrom = { epoch: state.epoch, step: state.step };
    // A finished run resumes only if more epochs are asked for and it did not stop early.
    if (state.finished && state.badEpochs < r.patience && state.epoch < r.epochs) state.finished = false;
    if (!state.finished) log(`resuming ${r.out} at epoch ${state.epoch + 1}, step ${state.step}`);
  }
  const result = (interrupted: boolean): TrainResult => ({
    out: r.out,
    epochs: state.history.length,
    bestEpoch: state.bestEpoch,
    bestValLoss: state.bestValLoss,
    stoppedEarly: state.finished && state.badEpochs >= r.patience,
    interrupted,
    resumedFrom,
    history: state.history,
    trainSize: trainIdx.length,
    valSize: valIdx.length,
  });
  if (state.finished || state.epoch >= r.epochs) {
    model.dispose();
    return result(false);
  }

  const spec: InputSpec = model.config;
  const cache = new ImageCache(data, decodeSize({ inputSize: r.size }), r.bands, r.cacheBytes);
  const per = r.size * r.size * r.bands;
  const replicas: Replica[] = await startReplicas(model.config, r.workers, r.backend);
  const shared = await attachReplicas(replicas, layout, weights, optimizer);
  const progress = createProgress(options.progress);
  const countsOf = (idx: ArrayLike<number>, from: number, to: number) => {
    const c = new Float32Array((to - from) * A);
    for (let k = from; k < to; k++) c.set(data.counts.subarray(idx[k] * A, (idx[k] + 1) * A), (k - from) * A);
    return c;
  };

  /** Prepared, augmented images of train positions [from, to) of this epoch's order. */
  const prepareTrain = async (order: Uint32Array, epoch: number, from: number, to: number) => {
    const rows = Array.from(order.subarray(from, to), (k) => trainIdx[k]);
    const imgs = await Promise.all(rows.map((i) => cache.get(i)));
    const images = new Float32Array(rows.length * per);
    imgs.forEach((img, k) => {
      const random = rng(mix(r.seed, Stream.augment, epoch, order[from + k]));
      if (r.augment === false) resampleInto(img, images, k * per, r.size, r.bands, centreCropMap(spec.evalCrop), spec.normalisation);
      else augmentInto(img, images, k * per, spec, random, r.augment);
    });
    return { images, counts: countsOf(rows, 0, rows.length) };
  };

  const saveState = async () => {
    state.optimizerStep = optimizer.getState().step;
    await writeCheckpoint(r.out, { state, weights, m: optimizer.getState().m, v: optimizer.getState().v });
  };

  try {
    while (state.epoch < r.epochs) {
      const epoch = state.epoch;
      const order = epochPermutation(trainIdx.length, r.seed, epoch);
      const steps = Math.ceil(trainIdx.length / r.batchSize);
      const t0 = performance.now() - state.epochSeconds * 1000;
      let lastCheckpoint = performance.now();
      let gradNormSum = 0;
      let gradSteps = 0;
      let imagesThisRun = 0;
      const runStart = performance.now();
      progress.startEpoch(epoch + 1, r.epochs, steps, state.step);
      const batchAt = (s: number) => prepareTrain(order, epoch, s * r.batchSize, Math.min(trainIdx.length, (s + 1) * r.batchSize));
      // Prepare batch s+1 (decode, augment) while the replicas work on batch s.
      const prefetch = (s: number) => {
        if (s >= steps) return undefined;
        const p = batchAt(s);
        p.catch(() => undefined); // handled where awaited; never an unhandled rejection
        return p;
      };
      let next = prefetch(state.step);
      for (let s = state.step; s < steps; s++) {
        const batch = await next!;
        next = prefetch(s + 1);
        const n = batch.counts.length / A;
        const { loss, shardSizes } = await batchGradients(replicas, shared, layout.trainableSize, { ...batch, n }, (w) => mix(r.seed, Stream.dropout, epoch, s, w));
        if (!Number.isFinite(loss)) throw new TrainingDivergedError(`training diverged: loss ${loss} at epoch ${epoch + 1}, step ${s + 1}`);
        gradNormSum += await optimizerStep(replicas, shardSizes, shared, optimizer);
        gradSteps++;
        state.trainLossSum += loss * n;
        state.trainCount += n;
        state.step = s + 1;
        imagesThisRun += n;
        progress.step(s + 1, state.trainLossSum / state.trainCount, imagesThisRun / ((performance.now() - runStart) / 1000));
        if (options.signal?.aborted || (s + 1 < steps && performance.now() - lastCheckpoint >= r.checkpointSeconds * 1000)) {
          state.epochSeconds = (performance.now() - t0) / 1000;
          await saveState();
          lastCheckpoint = performance.now();
          if (options.signal?.aborted) {
            log(`interrupted at epoch ${epoch + 1}, step ${s + 1}; checkpoint saved`);
            return result(true);
          }
        }
      }
      const trainSeconds = (performance.now() - runStart) / 1000;

      progress.phase('validating');
      const val = await validate(replicas, weights, cache, valIdx, data, spec, r.batchSize, r.schema);
      const improved = state.bestValLoss === null || val.valLoss < state.bestValLoss;
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        trainLoss: state.trainLossSum / state.trainCount,
        ...val,
        seconds: (performance.now() - t0) / 1000,
        trainImagesPerSecond: imagesThisRun / trainSeconds,
        gradNorm: gradSteps > 0 ? gradNormSum / gradSteps : NaN,
        learningRate: r.learningRate,
        best: improved,
      };
      state.history.push(metrics);
      if (improved) {
        state.bestValLoss = metrics.valLoss;
        state.bestEpoch = metrics.epoch;
        state.badEpochs = 0;
        await saveEpochModel(r.out, model, weights, r, metrics, trainIdx.length, valIdx.length);
      } else {
        state.badEpochs++;
      }
      // The last epoch's weights too (as Lightning keeps last.ckpt beside the best): the
      // validation loss is not always the criterion a run should be judged by.
      await saveEpochModel(join(r.out, LAST_DIR), model, weights, r, metrics, trainIdx.length, valIdx.length);
      state.epoch = epoch + 1;
      state.step = 0;
      state.trainLossSum = 0;
      state.trainCount = 0;
      state.epochSeconds = 0;
      state.finished = state.epoch >= r.epochs || state.badEpochs >= r.patience;
      await writeFileAtomic(join(r.out, 'metrics.json'), JSON.stringify({ history: state.history }, null, 2) + '\n');
      await saveState();
      progress.stop();
      log(
        `epoch ${metrics.epoch}/${r.epochs}: train ${metrics.trainLoss.toFixed(3)}, val ${metrics.valLoss.toFixed(3)}, ` +
          `val MAE ${metrics.valMaeMean.toFixed(4)}, ${metrics.trainImagesPerSecond.toFixed(1)} img/s${improved ? ' (best)' : ''}`,
      );
      options.onEpoch?.(metrics);
      if (state.badEpochs >= r.patience) {
        log(`early stop: no better validation loss for ${r.patience} epochs (best: epoch ${state.bestEpoch})`);
        break;
      }
      if (options.signal?.aborted) return result(true);
    }
    return result(false);
  } finally {
    progress.stop();
    await Promise.all(replicas.map((x) => x.dispose()));
    model.dispose();
  }
}

/** Validation metrics in evaluation mode, batches spread over the replicas. */
async function validate(
  replicas: Replica[],
  weights: Float32Array,
  cache: ImageCache,
  valIdx: number[],
  data: TrainingSet,
  spec: InputSpec,
  batchSize: number,
  schema: Schema,
): Promise<Pick<EpochMetrics, 'valLoss' | 'valLossByQuestion' | 'valMae' | 'valMaeMean'>> {
  const A = schema.nAnswers;
  const per = spec.inputSize * spec.inputSize * spec.bands;
  const acc = new ValidationAccumulator(schema);
  const map = centreCropMap(spec.evalCrop);
  const chunk = Math.max(1, Math.ceil(batchSize / replicas.length));
  const chunks: { conc: Float32Array; counts: Float32Array; n: number }[] = [];
  const runOn = async (replica: Replica, c: number) => {
    const rows = valIdx.slice(c * chunk, (c + 1) * chunk);
    const imgs = await Promise.all(rows.map((i) => cache.get(i)));
    const images = new Float32Array(rows.length * per);
    imgs.forEach((img, k) => resampleInto(img, images, k * per, spec.inputSize, spec.bands, map, spec.normalisation));
    const conc = await replica.evaluate(weights, images, rows.length);
    const counts = new Float32Array(rows.length * A);
    rows.forEach((i, k) => counts.set(data.counts.subarray(i * A, (i + 1) * A), k * A));
    chunks[c] = { conc, counts, n: rows.length };
  };
  // Each replica takes the next chunk as soon as it is free; results are summed in chunk
  // order so the metrics do not depend on which replica finished first.
  const nChunks = Math.ceil(valIdx.length / chunk);
  let nextChunk = 0;
  await Promise.all(
    replicas.map(async (replica) => {
      while (nextChunk < nChunks) await runOn(replica, nextChunk++);
    }),
  );
  for (const c of chunks) acc.add(c.conc, c.counts, c.n);
  return acc.result();
}

/** Write the weights as a model directory, with the epoch's metrics and training settings in its config. */
async function saveEpochModel(
  dir: string,
  model: ReturnType<typeof createModel>,
  weights: Float32Array,
  r: Resolved,
  metrics: EpochMetrics,
  trainSize: number,
  valSize: number,
): Promise<void> {
  writeWeights(model, weights);
  await saveModel(model, dir, {
    epoch: metrics.epoch,
    valLoss: metrics.valLoss,
    valMae: metrics.valMae,
    trainSize,
    valSize,
    batchSize: r.batchSize,
    seed: r.seed,
    learningRate: r.learningRate,
    weightDecay: r.weightDecay,
    savedAt: new Date().toISOString(),
  });
}
