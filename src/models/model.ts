/**
 * Building galmorph networks and the `GalaxyModel` wrapper around them.
 *
 * The network is one tfjs-layers functional model, image → concentrations, with named
 * layers: `representation` (global-average-pooled features, the embedding), `head_dropout`,
 * `head_dense` and `concentrations`. The wrapper also exposes the encoder (image →
 * representation) and the head (representation → concentrations) as models sharing those
 * weights, so MC dropout runs the encoder once and only the cheap head N times.
 */
import { tf, tfl } from '../engine/index.js';
import { Concentration, SeededDropout } from './layers.js';
import { BatchNorm } from './batchnorm.js';
import { getArchitecture, type ArchitectureSpec } from './architectures.js';
import { identityNormalisation, type InputSpec } from './preprocess.js';
import { createSchema, schemaToSpec, type Schema, type SchemaSpec } from '../schema/index.js';
import { OptionError } from '../errors.js';

/** Name of the embedding layer. */
export const REPRESENTATION_LAYER = 'representation';

/** Everything besides weights that defines a trained model (stored as config.json). */
export interface ModelConfig extends InputSpec {
  format: 'galmorph-model';
  formatVersion: 1;
  /** The decision tree, in full, so custom schemas travel with the model. */
  schema: SchemaSpec;
  /** The architecture, in full (its registry name is `architecture.name`). */
  architecture: ArchitectureSpec;
  /** Length of the representation vector. */
  representationDim: number;
  /** Free-form training metadata (data, epochs, metrics, timing). */
  training?: Record<string, unknown>;
}

/** Options of {@link createModel}. */
export interface CreateModelOptions {
  /** Decision tree whose answers the head predicts. */
  schema: Schema;
  /** Registered architecture name. @default 'resnet-small' */
  architecture?: string;
  /** Input size in px. @default the architecture's `defaultSize` */
  size?: number;
  /** Input bands, 3 (colour) or 1 (greyscale). @default 3 */
  bands?: 1 | 3;
  /** Seed for the weight initialisation. @default 0 */
  seed?: number;
  /** Evaluation crop (fraction of the image side). @default 0.87 */
  evalCrop?: number;
}

/** Build a freshly initialised model. */
export function createModel(options: CreateModelOptions): GalaxyModel {
  const architecture = getArchitecture(options.architecture);
  const size = options.size ?? architecture.defaultSize;
  const bands = options.bands ?? 3;
  if (!Number.isInteger(size) || size < 16 || size > 512) throw new OptionError(`size must be an integer in [16, 512], got ${size}`);
  if (bands !== 1 && bands !== 3) throw new OptionError(`bands must be 1 or 3, got ${bands}`);
  const config: ModelConfig = {
    format: 'galmorph-model',
    formatVersion: 1,
    schema: schemaToSpec(options.schema),
    architecture,
    inputSize: size,
    bands,
    normalisation: identityNormalisation(bands),
    evalCrop: options.evalCrop ?? 0.87,
    representationDim: architecture.stages[architecture.stages.length - 1].channels,
  };
  return new GalaxyModel(buildNetwork(config, options.seed ?? 0), config);
}

/** Build the tfjs network for a config, with seeded initialisers. */
export function buildNetwork(config: ModelConfig, seed: number): tfl.LayersModel {
  const arch = config.architecture;
  let layerSeed = (seed >>> 0) * 1000;
  const he = () => tfl.initializers.heNormal({ seed: ++layerSeed });
  const act = (name: string) => tfl.layers.activation({ activation: arch.activation === 'swish' ? 'swish' : 'relu', name });
  const bn = (name: string, zeroGamma = false) => new BatchNorm({ name, momentum: 0.9, epsilon: 1e-3, zeroGamma });
  const conv = (name: string, filters: number, kernel: 1 | 3, stride: number) =>
    tfl.layers.conv2d({ name, filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false, kernelInitializer: he() });
  const call = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor;

  const input = tfl.input({ shape: [config.inputSize, config.inputSize, config.bands], name: 'image' });
  let x = call(conv('stem_conv', arch.stem.channels, 3, arch.stem.stride), input);
  x = call(act('stem_act'), call(bn('stem_bn'), x));
  if (arch.stem.maxPool) x = call(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'stem_pool' }), x);
  let channels = arch.stem.channels;
  arch.stages.forEach((stage, si) => {
    for (let b = 0; b < stage.blocks; b++) {
      const p = `stage${si + 1}_block${b + 1}`;
      const stride = b === 0 ? stage.stride : 1;
      let y = call(conv(`${p}_conv1`, stage.channels, 3, stride), x);
      y = call(act(`${p}_act1`), call(bn(`${p}_bn1`), y));
      y = call(conv(`${p}_conv2`, stage.channels, 3, 1), y);
      // Zero-initialised last BN: each block starts as the identity, which steadies early training.
      y = call(bn(`${p}_bn2`, true), y);
      let shortcut = x;
      if (stride !== 1 || channels !== stage.channels) {
        shortcut = call(bn(`${p}_proj_bn`), call(conv(`${p}_proj`, stage.channels, 1, stride), x));
      }
      x = call(act(`${p}_out`), call(tfl.layers.add({ name: `${p}_add` }), [y, shortcut]));
      channels = stage.channels;
    }
  });
  const representation = call(tfl.layers.globalAveragePooling2d({ name: REPRESENTATION_LAYER }), x);
  const nAnswers = config.schema.questions.reduce((s, q) => s + q.answers.length, 0);
  let h = call(new SeededDropout({ name: 'head_dropout', rate: arch.dropout, seed: seed + 1 }), representation);
  h = call(tfl.layers.dense({ name: 'head_dense', units: nAnswers, kernelInitializer: tfl.initializers.glorotUniform({ seed: ++layerSeed }) }), h);
  const output = call(new Concentration({ name: 'concentrations' }), h);
  return tfl.model({ inputs: input, outputs: output, name: 'galmorph' });
}

/**
 * A galaxy-morphology network with its schema and input spec.
 *
 * Tensor methods take `[batch, inputSize, inputSize, bands]` float32 images already prepared
 * with {@link prepareImages} (or the training augmenter) and return new tensors the caller
 * disposes. Array methods batch internally and return plain typed arrays.
 */
export class GalaxyModel {
  readonly net: tfl.LayersModel;
  readonly config: ModelConfig;
  readonly schema: Schema;
  /** image → representation, sharing the network's weights. */
  readonly encoder: tfl.LayersModel;
  /** representation → concentrations, sharing the network's weights. */
  readonly head: tfl.LayersModel;

  constructor(net: tfl.LayersModel, config: ModelConfig) {
    this.net = net;
    this.config = config;
    this.schema = createSchema(config.schema, 'model config schema');
    this.encoder = tfl.model({ inputs: net.inputs, outputs: net.getLayer(REPRESENTATION_LAYER).output as tfl.SymbolicTensor, name: 'encoder' });
    const rep = tfl.input({ shape: [config.representationDim], name: 'representation_in' });
    let h = rep;
    for (const name of ['head_dropout', 'head_dense', 'concentrations']) h = net.getLayer(name).apply(h) as tfl.SymbolicTensor;
    this.head = tfl.model({ inputs: rep, outputs: h, name: 'head' });
  }

  /** The dropout layer of the head (reseeded by training for reproducible masks). */
  get dropout(): SeededDropout {
    return this.net.getLayer('head_dropout') as SeededDropout;
  }

  /**
   * Full forward pass → concentrations `[batch, nAnswers]`. `training: true` puts batch-norm
   * in batch-statistics mode (updating its moving averages) and turns dropout on.
   */
  apply(images: tf.Tensor4D, options: { training?: boolean } = {}): tf.Tensor2D {
    return this.net.apply(images, { training: options.training ?? false }) as tf.Tensor2D;
  }

  /** Representation `[batch, representationDim]` (evaluation mode). */
  represent(images: tf.Tensor4D): tf.Tensor2D {
    return this.encoder.apply(images, { training: false }) as tf.Tensor2D;
  }

  /**
   * MC-dropout concentrations `[passes, batch, nAnswers]`: the encoder runs once in
   * evaluation mode (batch-norm uses its moving statistics), the head `passes` times with
   * dropout on, as Zoobot does at test time.
   */
  applyMcDropout(images: tf.Tensor4D, passes: number): tf.Tensor3D {
    return tf.tidy(() => {
      const rep = this.represent(images);
      const outs = Array.from({ length: passes }, () => this.head.apply(rep, { training: true }) as tf.Tensor2D);
      return tf.stack(outs) as tf.Tensor3D;
    });
  }

  /**
   * Concentrations for prepared images, batched: `[n, nAnswers]` row-major. With
   * `passes > 1`, MC dropout: `[passes, n, nAnswers]`.
   */
  async predictConcentrations(images: Float32Array, options: { batchSize?: number; passes?: number } = {}): Promise<Float32Array> {
    const passes = options.passes ?? 1;
    const A = this.schema.nAnswers;
    return this.batched(images, options.batchSize ?? 64, passes * A, (x) => (passes > 1 ? this.applyMcDropout(x, passes) : this.apply(x)), passes);
  }

  /** Representations for prepared images, batched: `[n, representationDim]` row-major. */
  async embed(images: Float32Array, options: { batchSize?: number } = {}): Promise<Float32Array> {
    return this.batched(images, options.batchSize ?? 64, this.config.representationDim, (x) => this.represent(x), 1);
  }

  /** Number of trainable parameters. */
  countParams(): number {
    return this.net.countParams();
  }

  dispose(): void {
    this.net.dispose();
  }

  private async batched(images: Float32Array, batchSize: number, perItem: number, run: (x: tf.Tensor4D) => tf.Tensor, passes: number): Promise<Float32Array> {
    const s = this.config.inputSize;
    const per = s * s * this.config.bands;
    if (images.length % per !== 0) throw new OptionError(`image buffer length ${images.length} is not a multiple of ${s}×${s}×${this.config.bands}`);
    const n = images.length / per;
    const out = new Float32Array(n * perItem);
    const itemOut = perItem / passes;
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      const x = tf.tensor4d(images.subarray(i * per, (i + m) * per), [m, s, s, this.config.bands]);
      const y = run(x);
      const data = (await y.data()) as Float32Array;
      tf.dispose([x, y]);
      // Output is [passes?, m, itemOut]; place each pass block at [pass, i..i+m).
      for (let p = 0; p < passes; p++) out.set(data.subarray(p * m * itemOut, (p + 1) * m * itemOut), (p * n + i) * itemOut);
    }
    return out;
  }
}
