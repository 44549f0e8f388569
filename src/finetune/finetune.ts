/**
 * `finetune()`: adapt a pretrained galmorph model to a new question from a few labels, with
 * Zoobot's recipe: a new head (dropout 0.5 → dense) on the representation; the encoder
 * frozen, or its top `blocks` blocks trained with layer-wise learning-rate decay (0.75 per
 * block downwards), or all of it; AdamW (lr 1e-4, weight decay 0.05); the training
 * augmentations of src/train; early stopping on validation loss (patience 10), keeping the
 * best epoch. The linear probe — an L2-regularised logistic/softmax/ridge fit on frozen
 * embeddings — is the cheapest option and is saved in the same format (its weights folded
 * into the dense head).
 *
 * The loop runs in the calling thread on one flat copy of each parameter group: few labels
 * make the data-parallel replicas of `train()` pointless, and its loop is tied to the
 * decision-tree loss. Every random draw is a function of (seed, epoch, step, index).
 */
import { join } from 'node:path';
import { initEngine, tf, tfl, type BackendChoice } from '../engine/index.js';
import { centreCropMap, resampleInto, type InputSpec } from '../models/preprocess.js';
import { readImage, writeFileAtomic, writeTable, type Cell } from '../data/index.js';
import { augmentInto, type AugmentOptions } from '../train/augment.js';
import { dirichletMultinomialNll, expectedFractions } from '../train/loss.js';
import { getSchema, schemaToSpec, votesToFractions, type Schema } from '../schema/index.js';
import { ImageCache } from '../train/data.js';
import { AdamW } from '../train/optimizer.js';
import { epochPermutation, mix, rng, Stream } from '../train/random.js';
import { OptionError } from '../errors.js';
import { checkNumbers, integerFrom, nonNegative, openFraction, positive, withDefaults } from '../util/options.js';
import { loadBase, type FinetuneBase } from './base.js';
import { readLabels, splitLabels, type Labels } from './labels.js';
import { fitLinear } from './probe.js';
import {
  HEAD_DENSE,
  HEAD_DROPOUT,
  MODES,
  TASKS,
  attachHead,
  outputUnits,
  saveFinetuned,
  toPredictions,
  type FinetuneConfig,
  type FinetuneMode,
  type FinetunePrediction,
  type FinetuneTask,
} from './model.js';
import type { SeededDropout } from '../models/layers.js';

/** Options of {@link finetune}. */
export interface FinetuneOptions {
  /**
   * Base model directory (from `train()` or shipped), or a fine-tuned model's, whose head is
   * replaced — e.g. a model fine-tuned on one survey, adapted to another — or
   * `terrestrial-mobilenet-v2`, a MobileNetV2 pretrained on photos (src/models/terrestrial.ts).
   */
  base: string;
  /** Input size in px for `terrestrial-mobilenet-v2`. @default 64 (model directories: their own) */
  inputSize?: number;
  /** Labels table (.csv/.parquet): id, label and (unless `images`) image-path columns. */
  labels: string;
  /** Output model directory. */
  out: string;
  task: FinetuneTask;
  /**
   * `votes` task: the decision tree of the labels' `<question>_<answer>` vote-count columns —
   * a built-in name, a custom tree's .json path, or a Schema. @default 'decals-dr5'
   */
  schema?: string | Schema;
  /** @default 'head' */
  mode?: FinetuneMode;
  /** Folder of `<id>.png|jpg|fits` images. @default the labels' `imageColumn` */
  images?: string;
  /** @default 'id' */
  idColumn?: string;
  /** @default 'label' */
  labelColumn?: string;
  /** @default 'image_path' */
  imageColumn?: string;
  /** Class names in output order (binary: negative, positive). @default sorted distinct labels */
  classes?: string[];
  /** Encoder blocks trained in `partial` mode, counted from the top. @default 2 */
  blocks?: number;
  /** Learning-rate factor per block below the top one. @default 0.75 */
  lrDecay?: number;
  /** @default 30 */
  epochs?: number;
  /** @default 32 */
  batchSize?: number;
  /** AdamW learning rate of the head and the top block. @default 1e-4 */
  learningRate?: number;
  /** AdamW decoupled weight decay (kernels). @default 0.05 */
  weightDecay?: number;
  /** Global gradient-norm clip (0 = off). @default 10 */
  clipNorm?: number;
  /** Early-stopping patience, epochs. @default 10 */
  patience?: number;
  /** Dropout before the new dense layer. @default 0.5 */
  dropout?: number;
  /** Seed of the split, head initialisation, shuffling, augmentation and dropout. @default 0 */
  seed?: number;
  /** Share of labels held out for validation (per class for classification). @default 0.2 */
  valFraction?: number;
  /** Loss weights per class, or 'balanced' (n / (classes · n_class)). @default equal */
  classWeights?: 'balanced' | Record<string, number>;
  /** Linear probe: L2 penalty on the standardised-feature weights. @default 0.01 */
  l2?: number;
  /** Augmentation ranges, or false. @default Zoobot's (src/train/augment.ts) */
  augment?: AugmentOptions | false;
  /** @default GALMORPH_BACKEND, else 'auto' (as initEngine) */
  backend?: BackendChoice;
  /** One line per epoch and a summary. @default none */
  log?: (line: string) => void;
  onEpoch?: (m: FinetuneEpoch) => void;
}

/** Metrics of one epoch (the linear probe reports one "epoch"). */
export interface FinetuneEpoch {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  /** Classification only. */
  valAccuracy: number | null;
  /** Binary only: ROC-AUC of the positive class. */
  valAuc: number | null;
  /** Regression: in target units; votes: of the vote fractions, over answered questions. */
  valMae: number | null;
  seconds: number;
  best: boolean;
}

/** A validation galaxy's prediction with its true label. */
export interface ValidationPrediction extends FinetunePrediction {
  id: string;
  /** True class name, the true value as a string for regression, '' for votes (counts are in the labels). */
  truth: string;
}

/** What {@link finetune} returns. */
export interface FinetuneResult {
  out: string;
  task: FinetuneTask;
  mode: FinetuneMode;
  classes: string[] | null;
  history: FinetuneEpoch[];
  /** The epoch whose weights were saved. */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Metrics of the saved model on the validation set. */
  valLoss: number;
  valAccuracy: number | null;
  valAuc: number | null;
  valMae: number | null;
  trainIds: string[];
  valIds: string[];
  /** The saved model's predictions on the validation set (also `<out>/predictions.csv`). */
  predictions: ValidationPrediction[];
}

interface Resolved extends Required<Omit<FinetuneOptions, 'images' | 'classes' | 'classWeights' | 'log' | 'onEpoch' | 'idColumn' | 'labelColumn' | 'imageColumn' | 'inputSize' | 'schema' | 'backend'>> {
  classWeights?: FinetuneOptions['classWeights'];
  /** Unset: initEngine reads GALMORPH_BACKEND. */
  backend?: BackendChoice;
}

function resolve(o: FinetuneOptions): Resolved {
  const r: Resolved = withDefaults(o, {
    mode: 'head', blocks: 2, lrDecay: 0.75, dropout: 0.5, l2: 1e-2,
    epochs: 30, batchSize: 32, patience: 10, learningRate: 1e-4, weightDecay: 0.05, clipNorm: 10,
    seed: 0, valFraction: 0.2, augment: {},
  });
  for (const k of ['base', 'labels', 'out'] as const) if (!r[k]) throw new OptionError(`finetune: "${k}" is required`);
  if (!TASKS.includes(r.task)) throw new OptionError(`finetune: unknown task "${r.task}"; valid: ${TASKS.join(', ')}`);
  if (!MODES.includes(r.mode)) throw new OptionError(`finetune: unknown mode "${r.mode}"; valid: ${MODES.join(', ')}`);
  checkNumbers('finetune', r, {
    epochs: integerFrom(1), batchSize: integerFrom(1), patience: integerFrom(1), seed: integerFrom(0), blocks: integerFrom(1),
    valFraction: openFraction, learningRate: positive, weightDecay: nonNegative, clipNorm: nonNegative, l2: nonNegative,
    lrDecay: { min: 0, max: 1, minOpen: true }, dropout: { min: 0, max: 1, maxOpen: true },
  });
  if (r.task === 'votes' && r.mode === 'linear-probe') throw new OptionError('finetune: the votes task trains a Dirichlet head; use mode head, partial or full');
  if (r.task !== 'votes' && o.schema !== undefined) throw new OptionError('finetune: schema applies to the votes task only');
  return r;
}

/**
 * Fine-tune a base model on labels.
 * @example
 * const r = await finetune({ base: 'models/galmorph-decals-sim', labels: 'rings.csv', task: 'binary', mode: 'partial', out: 'models/rings' });
 * r.valAccuracy // e.g. 0.93
 */
export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const r = resolve(options);
  const log = options.log ?? (() => {});
  await initEngine({ backend: r.backend });
  const schema = r.task !== 'votes' ? null : typeof options.schema === 'object' ? options.schema : getSchema(options.schema ?? 'decals-dr5');
  const labels = await readLabels(r.labels, {
    task: r.task, images: options.images, idColumn: options.idColumn, labelColumn: options.labelColumn, imageColumn: options.imageColumn, classes: options.classes,
    schema: schema ?? undefined,
  });
  const base = await loadBase(r.base, { inputSize: options.inputSize });
  const blocks = base.blocks;
  if (r.mode === 'partial' && r.blocks > blocks.length) {
    base.dispose();
    throw new OptionError(`finetune: blocks ${r.blocks} exceeds the ${blocks.length} encoder blocks of ${r.base} (${blocks.join(', ')})`);
  }
  const split = splitLabels(labels, r.seed, r.valFraction);
  const classWeights = resolveClassWeights(r.classWeights, labels, split.train);
  const spec: InputSpec = base.spec;
  const cache = new ImageCache(
    { ids: labels.ids, counts: new Float32Array(0), image: (i, size, bands) => readImage(labels.paths[i], { size, channels: bands }) },
    Math.round(spec.inputSize / 0.85), spec.bands, 2 ** 30,
  );
  const per = spec.inputSize * spec.inputSize * spec.bands;
  const prepareEval = async (idx: number[]) => {
    const out = new Float32Array(idx.length * per);
    const imgs = await Promise.all(idx.map((i) => cache.get(i)));
    imgs.forEach((img, k) => resampleInto(img, out, k * per, spec.inputSize, spec.bands, centreCropMap(spec.evalCrop), spec.normalisation));
    return out;
  };
  // Regression heads predict the standardised target.
  let target: FinetuneConfig['target'] = null;
  if (r.task === 'regression') {
    const t = split.train.map((i) => labels.targets[i]);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    const std = Math.sqrt(t.reduce((a, b) => a + (b - mean) ** 2, 0) / t.length) || 1;
    target = { mean, std };
  }
  const y = (i: number) => (target ? (labels.targets[i] - target.mean) / target.std : labels.targets[i]);
  const sampleWeight = (i: number) => (classWeights && labels.classes ? classWeights[labels.targets[i]] : 1);
  const schemaSpec = schema ? schemaToSpec(schema) : undefined;
  const units = outputUnits(r.task, labels.classes, schemaSpec);
  const net = attachHead(base, units, r.seed, r.dropout, r.task === 'votes');
  // What the loss compares outputs with: class indices, standardised values, or vote counts.
  const targetOf = (rows: number[]): tf.Tensor =>
    labels.counts ? tf.tensor2d(Float32Array.from(rows.flatMap((i) => Array.from(labels.counts!.subarray(i * units, (i + 1) * units)))), [rows.length, units]) : tf.tensor1d(rows.map(y));
  const config: FinetuneConfig = {
    format: 'galmorph-finetuned',
    formatVersion: 1,
    task: r.task,
    mode: r.mode,
    classes: labels.classes,
    target,
    schema: schemaSpec,
    inputSize: spec.inputSize,
    bands: spec.bands,
    normalisation: spec.normalisation,
    evalCrop: spec.evalCrop,
    representationDim: base.representationDim,
    base: base.description,
  };
  const evaluate = async (idx: number[]) => {
    const logits = await forwardEval(net, await prepareEval(idx), spec, units);
    return scoreOutputs(logits, idx, labels, units, y, sampleWeight, target, schema);
  };

  try {
    let history: FinetuneEpoch[] = [];
    let stoppedEarly = false;
    if (r.mode === 'linear-probe') {
      const t0 = performance.now();
      const dim = base.representationDim;
      const x = await base.embed(await prepareEval(split.train));
      const kind = r.task === 'binary' ? 'logistic' : r.task === 'multiclass' ? 'softmax' : 'ridge';
      const fit = fitLinear(x, split.train.map(y), dim, kind, { classes: units, l2: r.l2, sampleWeights: split.train.map(sampleWeight) });
      // Fold the standardisation into the dense layer; binary: logits [0, z] give softmax [1 − σ(z), σ(z)].
      const kernel = new Float32Array(dim * units);
      const bias = new Float32Array(units);
      const col0 = kind === 'logistic' ? 1 : 0;
      for (let u = 0; u < fit.units; u++) {
        let b = fit.bias[u];
        for (let d = 0; d < dim; d++) {
          kernel[d * units + u + col0] = fit.weights[d * fit.units + u] / fit.std[d];
          b -= (fit.weights[d * fit.units + u] * fit.mean[d]) / fit.std[d];
        }
        bias[u + col0] = b;
      }
      const dense = net.getLayer(HEAD_DENSE);
      const values = [tf.tensor2d(kernel, [dim, units]), tf.tensor1d(bias)];
      dense.setWeights(values);
      tf.dispose(values);
      const trainScore = await evaluate(split.train);
      const val = await evaluate(split.val);
      history = [{ epoch: 1, trainLoss: trainScore.loss, ...epochMetrics(val), seconds: (performance.now() - t0) / 1000, best: true }];
      log(`linear probe (${fit.iterations} L-BFGS iterations): ${describe(history[0])}`);
      options.onEpoch?.(history[0]);
    } else {
      ({ history, stoppedEarly } = await trainHead(net, r, base, split, targetOf, sampleWeight, schema, units, cache, spec, evaluate, log, options.onEpoch));
    }
    const best = history.filter((h) => h.best).at(-1)!;
    const val = await evaluate(split.val);
    const predictions = toPredictions(val.outputs, config).map((p, k) => ({
      id: labels.ids[split.val[k]],
      truth: labels.classes ? labels.classes[labels.targets[split.val[k]]] : labels.counts ? '' : String(labels.targets[split.val[k]]),
      ...p,
    }));
    const metrics = epochMetrics(val);
    config.training = {
      labels: r.labels, labelCount: labels.ids.length, trainSize: split.train.length, valSize: split.val.length,
      seed: r.seed, valFraction: r.valFraction, epochs: history.length, bestEpoch: best.epoch,
      learningRate: r.learningRate, weightDecay: r.weightDecay, lrDecay: r.lrDecay, blocks: r.mode === 'partial' ? r.blocks : r.mode === 'full' ? blocks.length : 0,
      batchSize: r.batchSize, dropout: r.dropout, l2: r.mode === 'linear-probe' ? r.l2 : undefined, classWeights, ...metrics,
    };
    for (const layer of net.layers) layer.trainable = true;
    await saveFinetuned(net, config, r.out);
    await writeFileAtomic(join(r.out, 'metrics.json'), JSON.stringify({ history }, null, 2) + '\n');
    await writeTable(join(r.out, 'predictions.csv'), predictionTable(predictions, labels.classes, schema));
    log(`validation (epoch ${best.epoch}): ${describe({ ...metrics })}`);
    return {
      out: r.out, task: r.task, mode: r.mode, classes: labels.classes, history, bestEpoch: best.epoch, stoppedEarly, ...metrics,
      trainIds: split.train.map((i) => labels.ids[i]), valIds: split.val.map((i) => labels.ids[i]), predictions,
    };
  } finally {
    net.getLayer(HEAD_DENSE).dispose();
    base.dispose();
  }
}

/** Loss and metrics on a set of galaxies, with the outputs in user units. */
interface Score {
  /** Class probabilities, values in target units, or expected vote fractions. */
  outputs: Float32Array;
  loss: number;
  accuracy: number | null;
  auc: number | null;
  /** Regression: |prediction − target|; votes: |expected − observed vote fraction| over answered questions. */
  mae: number | null;
}

/** The head-training loop for modes head / partial / full. */
async function trainHead(
  net: tfl.LayersModel,
  r: Resolved,
  base: FinetuneBase,
  split: { train: number[]; val: number[] },
  targetOf: (rows: number[]) => tf.Tensor,
  sampleWeight: (i: number) => number,
  schema: Schema | null,
  units: number,
  cache: ImageCache,
  spec: InputSpec,
  evaluate: (idx: number[]) => Promise<Score>,
  log: (line: string) => void,
  onEpoch?: (m: FinetuneEpoch) => void,
): Promise<{ history: FinetuneEpoch[]; stoppedEarly: boolean }> {
  const { blocks, blockOf } = base;
  const nTuned = r.mode === 'head' ? 0 : r.mode === 'partial' ? r.blocks : blocks.length;
  const tuned = blocks.slice(blocks.length - nTuned).reverse(); // top first
  // Parameter groups: the head and the top block at lr, each block below at lr · decay^k.
  const groups: { lr: number; layers: tfl.layers.Layer[] }[] = [{ lr: r.learningRate, layers: [] }, ...tuned.map((_, k) => ({ lr: r.learningRate * r.lrDecay ** k, layers: [] as tfl.layers.Layer[] }))];
  for (const layer of net.layers) {
    if (layer.name === HEAD_DENSE || layer.name === HEAD_DROPOUT) {
      groups[0].layers.push(layer);
      continue;
    }
    const b = blockOf(layer.name);
    const k = b === undefined ? -1 : tuned.indexOf(b);
    layer.trainable = k >= 0;
    if (k >= 0) groups[k + 1].layers.push(layer);
  }
  const opt = groups.map((g) => {
    const vars = g.layers.flatMap((l) => l.trainableWeights);
    const sizes = vars.map((v) => (v.shape as number[]).reduce((a, b) => a * b, 1));
    const params = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    const mask = new Uint8Array(params.length);
    let off = 0;
    vars.forEach((v, i) => {
      params.set(v.read().dataSync() as Float32Array, off);
      if (/kernel$/.test(v.originalName)) mask.fill(1, off, off + sizes[i]);
      off += sizes[i];
    });
    return { vars, sizes, params, adam: new AdamW(params, mask, { learningRate: g.lr, weightDecay: r.weightDecay, clipNorm: 0 }) };
  });
  const variables = opt.flatMap((g) => g.vars.map((v) => v.read() as tf.Variable));
  const dropout = net.getLayer(HEAD_DROPOUT) as SeededDropout;
  const per = spec.inputSize * spec.inputSize * spec.bands;
  const snapshot = () => net.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
  let bestWeights = snapshot();
  let bestLoss = Infinity;
  let bad = 0;
  const history: FinetuneEpoch[] = [];
  let stoppedEarly = false;
  const n = split.train.length;
  for (let epoch = 0; epoch < r.epochs; epoch++) {
    const t0 = performance.now();
    const order = epochPermutation(n, r.seed, epoch);
    let lossSum = 0;
    for (let s = 0, step = 0; s < n; s += r.batchSize, step++) {
      const pos = Array.from(order.subarray(s, Math.min(n, s + r.batchSize)));
      const rows = pos.map((k) => split.train[k]);
      const imgs = await Promise.all(rows.map((i) => cache.get(i)));
      const images = new Float32Array(rows.length * per);
      imgs.forEach((img, k) => {
        if (r.augment === false) resampleInto(img, images, k * per, spec.inputSize, spec.bands, centreCropMap(spec.evalCrop), spec.normalisation);
        else augmentInto(img, images, k * per, spec, rng(mix(r.seed, Stream.augment, epoch, pos[k])), r.augment);
      });
      dropout.reseed(mix(r.seed, Stream.dropout, epoch, step));
      const x = tf.tensor4d(images, [rows.length, spec.inputSize, spec.inputSize, spec.bands]);
      const target = targetOf(rows);
      const weight = tf.tensor1d(rows.map(sampleWeight));
      const { value, grads } = tf.variableGrads(() => lossOf(net.apply(x, { training: true }) as tf.Tensor2D, target, weight, units, r.task, schema) as tf.Scalar, variables);
      const loss = value.dataSync()[0];
      const flat = variables.map((v) => grads[v.name].dataSync() as Float32Array);
      tf.dispose([x, target, weight, value, ...Object.values(grads)]);
      if (!Number.isFinite(loss)) throw new OptionError(`finetune diverged (loss ${loss} at epoch ${epoch + 1}); lower the learning rate`);
      let sq = 0;
      for (const g of flat) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
      const scale = r.clipNorm > 0 && Math.sqrt(sq) > r.clipNorm ? r.clipNorm / Math.sqrt(sq) : 1;
      let vi = 0;
      for (const g of opt) {
        const grad = new Float32Array(g.params.length);
        let off = 0;
        g.vars.forEach((v, i) => {
          const src = flat[vi++];
          for (let j = 0; j < src.length; j++) grad[off + j] = src[j] * scale;
          off += g.sizes[i];
        });
        g.adam.step(grad);
        off = 0;
        g.vars.forEach((v, i) => {
          const t = tf.tensor(g.params.subarray(off, off + g.sizes[i]), v.shape as number[]);
          v.write(t);
          t.dispose();
          off += g.sizes[i];
        });
      }
      lossSum += loss * rows.length;
    }
    const val = await evaluate(split.val);
    const best = val.loss < bestLoss;
    const m: FinetuneEpoch = { epoch: epoch + 1, trainLoss: lossSum / n, ...epochMetrics(val), seconds: (performance.now() - t0) / 1000, best };
    history.push(m);
    log(`epoch ${m.epoch}/${r.epochs}: train loss ${m.trainLoss.toFixed(4)}, ${describe(m)}${best ? ' (best)' : ''}`);
    onEpoch?.(m);
    if (best) {
      bestLoss = val.loss;
      bestWeights = snapshot();
      bad = 0;
    } else if (++bad >= r.patience) {
      stoppedEarly = true;
      log(`early stop: no better validation loss for ${r.patience} epochs`);
      break;
    }
  }
  net.weights.forEach((w, i) => {
    const t = tf.tensor(bestWeights[i], w.shape as number[]);
    w.write(t);
    t.dispose();
  });
  return { history, stoppedEarly };
}

/**
 * Weighted mean loss per galaxy: softmax cross-entropy (classification), squared error
 * (regression) or the Dirichlet-multinomial negative log-likelihood of the votes, summed over
 * the tree's questions (votes; `target` holds the counts).
 */
function lossOf(out: tf.Tensor2D, target: tf.Tensor, weight: tf.Tensor1D, units: number, task: FinetuneTask, schema: Schema | null): tf.Tensor {
  return tf.tidy(() => {
    const each =
      task === 'votes'
        ? tf.sum(dirichletMultinomialNll(target as tf.Tensor2D, out, schema!), 1)
        : task === 'regression'
          ? tf.square(tf.sub(tf.reshape(out, [-1]), target))
          : tf.neg(tf.sum(tf.mul(tf.oneHot(tf.cast(target, 'int32'), units), tf.logSoftmax(out)), 1));
    return tf.div(tf.sum(tf.mul(each, weight)), tf.sum(weight));
  });
}

/** Network outputs in evaluation mode, batched. */
async function forwardEval(net: tfl.LayersModel, images: Float32Array, spec: InputSpec, units: number): Promise<Float32Array> {
  const per = spec.inputSize * spec.inputSize * spec.bands;
  const n = images.length / per;
  const out = new Float32Array(n * units);
  for (let i = 0; i < n; i += 64) {
    const m = Math.min(64, n - i);
    const x = tf.tensor4d(images.subarray(i * per, (i + m) * per), [m, spec.inputSize, spec.inputSize, spec.bands]);
    const yv = net.apply(x, { training: false }) as tf.Tensor;
    out.set((await yv.data()) as Float32Array, i * units);
    tf.dispose([x, yv]);
  }
  return out;
}

/** Loss and metrics of raw network outputs (logits, standardised values or concentrations). */
function scoreOutputs(
  raw: Float32Array,
  idx: number[],
  labels: Labels,
  units: number,
  y: (i: number) => number,
  sampleWeight: (i: number) => number,
  target: FinetuneConfig['target'],
  schema: Schema | null,
): Score {
  if (schema) return scoreVotes(raw, idx, labels.counts!, schema);
  const outputs = new Float32Array(raw.length);
  let loss = 0;
  let wSum = 0;
  let correct = 0;
  let absErr = 0;
  idx.forEach((i, k) => {
    const w = sampleWeight(i);
    wSum += w;
    if (target) {
      const v = raw[k];
      loss += w * (v - y(i)) ** 2;
      outputs[k] = v * target.std + target.mean;
      absErr += Math.abs(outputs[k] - labels.targets[i]);
      return;
    }
    const row = raw.subarray(k * units, (k + 1) * units);
    const mx = Math.max(...row);
    const sum = row.reduce((a, b) => a + Math.exp(b - mx), 0);
    let best = 0;
    for (let u = 0; u < units; u++) {
      outputs[k * units + u] = Math.exp(row[u] - mx) / sum;
      if (row[u] > row[best]) best = u;
    }
    loss += w * (mx + Math.log(sum) - row[y(i)]);
    if (best === labels.targets[i]) correct++;
  });
  const binary = labels.classes?.length === 2;
  return {
    outputs,
    loss: loss / wSum,
    accuracy: target ? null : correct / idx.length,
    auc: binary ? rocAuc(idx.map((_, k) => outputs[k * 2 + 1]), idx.map((i) => labels.targets[i] === 1)) : null,
    mae: target ? absErr / idx.length : null,
  };
}

function scoreVotes(alpha: Float32Array, idx: number[], counts: Float64Array, schema: Schema): Score {
  const A = schema.nAnswers;
  const observed = Float32Array.from(idx.flatMap((i) => Array.from(counts.subarray(i * A, (i + 1) * A))));
  const nll = tf.tidy(() => tf.sum(dirichletMultinomialNll(tf.tensor2d(observed, [idx.length, A]), tf.tensor2d(alpha, [idx.length, A]), schema), 1));
  const perGalaxy = nll.dataSync() as Float32Array;
  nll.dispose();
  const expected = expectedFractions(alpha, schema);
  let err = 0;
  let answered = 0;
  idx.forEach((_, k) => {
    const f = votesToFractions(schema, observed.subarray(k * A, (k + 1) * A));
    for (let a = 0; a < A; a++) {
      if (Number.isNaN(f[a])) continue; // a question nobody reached
      err += Math.abs(expected[k * A + a] - f[a]);
      answered++;
    }
  });
  return {
    outputs: Float32Array.from(expected),
    loss: perGalaxy.reduce((a, b) => a + b, 0) / idx.length,
    accuracy: null,
    auc: null,
    mae: answered > 0 ? err / answered : null,
  };
}

function epochMetrics(s: Score): Pick<FinetuneEpoch, 'valLoss' | 'valAccuracy' | 'valAuc' | 'valMae'> {
  return { valLoss: s.loss, valAccuracy: s.accuracy, valAuc: s.auc, valMae: s.mae };
}

function describe(m: Pick<FinetuneEpoch, 'valLoss' | 'valAccuracy' | 'valAuc' | 'valMae'>): string {
  const parts = [`val loss ${m.valLoss.toFixed(4)}`];
  if (m.valAccuracy !== null) parts.push(`accuracy ${m.valAccuracy.toFixed(3)}`);
  if (m.valAuc !== null) parts.push(`ROC-AUC ${m.valAuc.toFixed(3)}`);
  if (m.valMae !== null) parts.push(`MAE ${m.valMae.toPrecision(4)}`);
  return parts.join(', ');
}

/** ROC-AUC as the Mann–Whitney probability that a positive outranks a negative (ties count ½). */
export function rocAuc(scores: number[], positive: boolean[]): number | null {
  const pos = scores.filter((_, i) => positive[i]);
  const neg = scores.filter((_, i) => !positive[i]);
  if (pos.length === 0 || neg.length === 0) return null;
  let s = 0;
  for (const p of pos) for (const q of neg) s += p > q ? 1 : p === q ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

function resolveClassWeights(w: FinetuneOptions['classWeights'], labels: Labels, train: number[]): number[] | null {
  if (!w) return null;
  if (!labels.classes) throw new OptionError('finetune: classWeights apply to classification tasks only');
  const classes = labels.classes;
  if (w === 'balanced') {
    const counts = classes.map((_, k) => train.filter((i) => labels.targets[i] === k).length);
    return counts.map((c) => train.length / (classes.length * c));
  }
  const unknown = Object.keys(w).filter((c) => !classes.includes(c));
  if (unknown.length > 0) throw new OptionError(`finetune: class weights for unknown classes ${unknown.join(', ')}; classes: ${classes.join(', ')}`);
  return classes.map((c) => {
    const v = w[c] ?? 1;
    if (!(v > 0)) throw new OptionError(`finetune: class weight of "${c}" must be > 0, got ${v}`);
    return v;
  });
}

function predictionTable(rows: ValidationPrediction[], classes: string[] | null, schema: Schema | null): { columns: string[]; rows: Record<string, Cell>[] } {
  if (schema) {
    const cols = schema.answerColumns;
    return { columns: ['id', ...cols.map((c) => `${c}_fraction`)], rows: rows.map((p) => ({ id: p.id, ...Object.fromEntries(cols.map((c) => [`${c}_fraction`, p.fractions![c]])) })) };
  }
  if (!classes) {
    return { columns: ['id', 'target', 'prediction'], rows: rows.map((p) => ({ id: p.id, target: Number(p.truth), prediction: p.value })) };
  }
  const pCols = classes.map((c) => `p_${c}`);
  return {
    columns: ['id', 'label', 'predicted', ...pCols],
    rows: rows.map((p) => ({ id: p.id, label: p.truth, predicted: p.label, ...Object.fromEntries(classes.map((c, k) => [pCols[k], p.probabilities![c]])) })),
  };
}
