/**
 * Fine-tuned models: a base galmorph encoder (image → `representation`) with a new head,
 * dropout 0.5 → dense, in place of the decision-tree head. Zoobot's recipe for new tasks.
 * For the `votes` task the new head ends like a base model's: Dirichlet concentrations for
 * every answer of a (new) decision tree, trained on volunteer vote counts.
 *
 * On disk a fine-tuned model directory is like a base model's — `model.json` + `weights.bin`
 * (tfjs layers format: the encoder layers keep their base names, the head is
 * `finetune_dropout` → `finetune_dense`, whose output is logits for classification or a
 * standardised value for regression) — but its `config.json` has
 * `format: 'galmorph-finetuned'` and records the task, the class names, the regression
 * target scaling and the base model (its full config, so the architecture travels).
 * {@link loadFinetuned} reads it; `loadModel` refuses it, since there is no tree head;
 * {@link loadAnyModel} reads either kind.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, tfl } from '../engine/index.js';
import { SeededDropout } from '../models/layers.js';
import { Concentration } from '../models/layers.js';
import { REPRESENTATION_LAYER, type GalaxyModel, type ModelConfig } from '../models/model.js';
import { CONFIG_JSON, MODEL_JSON, WEIGHTS_BIN, ModelLoadError, deserializeNetwork, loadModel, serializeNetwork } from '../models/io.js';
import type { TerrestrialConfig } from '../models/terrestrial.js';
import { prepareImages, type ImageLike, type InputSpec } from '../models/preprocess.js';
import { writeFileAtomic } from '../data/atomic.js';
import { createSchema, type SchemaSpec } from '../schema/index.js';
import { expectedFractions } from '../train/loss.js';
import { OptionError } from '../errors.js';

/** Kinds of fine-tuning target: a class, a number, or the vote counts of a decision tree. */
export type FinetuneTask = 'binary' | 'multiclass' | 'regression' | 'votes';
/** How much of the network is trained. */
export type FinetuneMode = 'linear-probe' | 'head' | 'partial' | 'full';

export const TASKS: readonly FinetuneTask[] = Object.freeze(['binary', 'multiclass', 'regression', 'votes']);
export const MODES: readonly FinetuneMode[] = Object.freeze(['linear-probe', 'head', 'partial', 'full']);

/** Names of the new head's layers. */
export const HEAD_DROPOUT = 'finetune_dropout';
export const HEAD_DENSE = 'finetune_dense';
/** `votes` task: dense outputs → concentrations 1 + 100·sigmoid, as a base model's head. */
export const HEAD_CONCENTRATIONS = 'finetune_concentrations';

/** config.json of a fine-tuned model. */
export interface FinetuneConfig extends InputSpec {
  format: 'galmorph-finetuned';
  formatVersion: 1;
  task: FinetuneTask;
  mode: FinetuneMode;
  /** Class names in output order (binary: `[negative, positive]`); null for regression. */
  classes: string[] | null;
  /** Regression: the head predicts (value − mean) / std. */
  target: { mean: number; std: number } | null;
  /** `votes` task: the decision tree whose answers the head predicts concentrations for. */
  schema?: SchemaSpec;
  /** Length of the representation vector. */
  representationDim: number;
  /** The base: where it was loaded from and the full config of the encoder it descends from. */
  base: { path: string; config: ModelConfig | TerrestrialConfig };
  /** Free-form training metadata (labels file, split, metrics, settings). */
  training?: Record<string, unknown>;
}

/** One galaxy's fine-tuned prediction. */
export interface FinetunePrediction {
  /** Most probable class (classification) or null. */
  label: string | null;
  /** Class → probability (classification) or null. */
  probabilities: Record<string, number> | null;
  /** Predicted value (regression) or null. */
  value: number | null;
  /** `votes` task: expected vote fraction per answer column (`<question>_<answer>`), else null. */
  fractions: Record<string, number> | null;
}

/** Network outputs per galaxy for a task: class count, 1 for regression, answer count for votes. */
export function outputUnits(task: FinetuneTask, classes: readonly string[] | null, schema?: SchemaSpec): number {
  if (task === 'votes') return schema!.questions.reduce((n, q) => n + q.answers.length, 0);
  return task === 'regression' ? 1 : classes!.length;
}

/**
 * A new network sharing `base`'s encoder layers (and so their weights), with a fresh
 * dropout → dense head on the representation (→ concentrations with `concentrations`).
 */
export function attachHead(base: Pick<GalaxyModel, 'net'>, units: number, seed: number, dropout = 0.5, concentrations = false): tfl.LayersModel {
  const rep = base.net.getLayer(REPRESENTATION_LAYER).output as tfl.SymbolicTensor;
  const drop = new SeededDropout({ name: HEAD_DROPOUT, rate: dropout, seed: (seed >>> 0) + 1 });
  const dense = tfl.layers.dense({ name: HEAD_DENSE, units, kernelInitializer: tfl.initializers.glorotUniform({ seed: (seed >>> 0) * 1000 + 999 }) });
  let out = dense.apply(drop.apply(rep)) as tfl.SymbolicTensor;
  if (concentrations) out = new Concentration({ name: HEAD_CONCENTRATIONS }).apply(out) as tfl.SymbolicTensor;
  return tfl.model({ inputs: base.net.inputs, outputs: out, name: 'galmorph_finetuned' });
}

/** A fine-tuned network with its task. */
export class FinetunedModel {
  readonly net: tfl.LayersModel;
  readonly config: FinetuneConfig;
  /** image → representation, sharing the network's weights. */
  readonly encoder: tfl.LayersModel;

  constructor(net: tfl.LayersModel, config: FinetuneConfig) {
    this.net = net;
    this.config = config;
    this.encoder = tfl.model({ inputs: net.inputs, outputs: net.getLayer(REPRESENTATION_LAYER).output as tfl.SymbolicTensor, name: 'encoder' });
  }

  /** The head's dropout layer (reseeded by training for reproducible masks). */
  get dropout(): SeededDropout {
    return this.net.getLayer(HEAD_DROPOUT) as SeededDropout;
  }

  /**
   * Raw outputs for prepared images `[n, inputSize, inputSize, bands]`: class probabilities
   * `[n, classes]` (softmax of the logits), values `[n]` in the target's units, or
   * (votes) expected vote fractions `[n, answers]`.
   */
  async predictPrepared(images: Float32Array, options: { batchSize?: number } = {}): Promise<Float32Array> {
    const units = outputUnits(this.config.task, this.config.classes, this.config.schema);
    const out = await this.batched(images, options.batchSize ?? 64, units, (x) => {
      const y = this.net.apply(x, { training: false }) as tf.Tensor2D;
      if (this.config.task === 'votes') return y;
      if (this.config.task === 'regression') {
        const { mean, std } = this.config.target!;
        return tf.tidy(() => tf.add(tf.mul(y, std), mean));
      }
      return tf.tidy(() => tf.softmax(y));
    });
    return this.config.task === 'votes' ? Float32Array.from(expectedFractions(out, createSchema(this.config.schema!))) : out;
  }

  /** Predictions for decoded images (central crop, resize and normalisation applied here). */
  async predict(images: readonly ImageLike[]): Promise<FinetunePrediction[]> {
    const out = await this.predictPrepared(prepareImages(images, this.config));
    return toPredictions(out, this.config);
  }

  /** Representations `[n, representationDim]` for prepared images (evaluation mode). */
  async embed(images: Float32Array, options: { batchSize?: number } = {}): Promise<Float32Array> {
    return this.batched(images, options.batchSize ?? 64, this.config.representationDim, (x) => this.encoder.apply(x, { training: false }) as tf.Tensor);
  }

  dispose(): void {
    this.net.dispose();
  }

  private async batched(images: Float32Array, batchSize: number, perItem: number, run: (x: tf.Tensor4D) => tf.Tensor): Promise<Float32Array> {
    const s = this.config.inputSize;
    const per = s * s * this.config.bands;
    if (images.length % per !== 0) throw new OptionError(`image buffer length ${images.length} is not a multiple of ${s}×${s}×${this.config.bands}`);
    const n = images.length / per;
    const out = new Float32Array(n * perItem);
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      const x = tf.tensor4d(images.subarray(i * per, (i + m) * per), [m, s, s, this.config.bands]);
      const y = run(x);
      out.set((await y.data()) as Float32Array, i * perItem);
      tf.dispose([x, y]);
    }
    return out;
  }
}

/** Rows of `predictPrepared` output as records keyed by class name. */
export function toPredictions(out: Float32Array, config: FinetuneConfig): FinetunePrediction[] {
  if (config.task === 'regression') return Array.from(out, (value) => ({ label: null, probabilities: null, value, fractions: null }));
  if (config.task === 'votes') {
    const columns = createSchema(config.schema!).answerColumns;
    const A = columns.length;
    return Array.from({ length: out.length / A }, (_, i) => ({
      label: null, probabilities: null, value: null, fractions: Object.fromEntries(columns.map((c, a) => [c, out[i * A + a]])),
    }));
  }
  const classes = config.classes!;
  const K = classes.length;
  const rows: FinetunePrediction[] = [];
  for (let i = 0; i < out.length / K; i++) {
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let k = 0; k < K; k++) {
      probabilities[classes[k]] = out[i * K + k];
      if (out[i * K + k] > out[i * K + best]) best = k;
    }
    rows.push({ label: classes[best], probabilities, value: null, fractions: null });
  }
  return rows;
}

/** Save a fine-tuned model (weights first, then model.json, then config.json; each atomic). */
export async function saveFinetuned(net: tfl.LayersModel, config: FinetuneConfig, dir: string): Promise<void> {
  const { modelJson, weights } = await serializeNetwork(net);
  await writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJson));
  await writeFileAtomic(join(dir, CONFIG_JSON), JSON.stringify(config, null, 2) + '\n');
}

/**
 * Load a model saved by `finetune()`.
 * @example const m = await loadFinetuned('models/rings'); (await m.predict([image]))[0].probabilities // { 'non-ring': 0.1, ring: 0.9 }
 */
export async function loadFinetuned(dir: string): Promise<FinetunedModel> {
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name));
    } catch (e) {
      throw new ModelLoadError(`cannot read ${join(dir, name)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  const config = JSON.parse((await read(CONFIG_JSON)).toString('utf8')) as FinetuneConfig;
  if (config.format !== 'galmorph-finetuned') {
    throw new ModelLoadError(`${join(dir, CONFIG_JSON)} is not a fine-tuned galmorph model (format ${JSON.stringify(config.format)}); use loadModel`);
  }
  if (config.formatVersion !== 1) throw new ModelLoadError(`${join(dir, CONFIG_JSON)}: unsupported formatVersion ${config.formatVersion}`);
  const modelJson = JSON.parse((await read(MODEL_JSON)).toString('utf8')) as tf.io.ModelJSON;
  const net = await deserializeNetwork({ modelJson, weights: new Uint8Array(await read(WEIGHTS_BIN)) });
  return new FinetunedModel(net, config);
}

/**
 * Load a model directory of either kind: fine-tuned (`format: 'galmorph-finetuned'`) or a
 * galmorph base model.
 * @example const m = await loadAnyModel(dir); m instanceof FinetunedModel ? m.config.task : m.schema.name
 */
export async function loadAnyModel(dir: string): Promise<GalaxyModel | FinetunedModel> {
  let format: unknown;
  try {
    format = (JSON.parse(await readFile(join(dir, CONFIG_JSON), 'utf8')) as { format?: unknown }).format;
  } catch {
    // loadModel's own error names the file and the problem.
  }
  return format === 'galmorph-finetuned' ? loadFinetuned(dir) : loadModel(dir);
}
