/**
 * A network pretrained on terrestrial photos, as the "not astronomy" baseline for
 * fine-tuning: the MobileNetV2 (width 1.0) that the `nsfwjs` package ships. Its lower 98 of
 * 162 layers are frozen in the shipped Keras config — the ImageNet MobileNetV2 weights the
 * classifier was fine-tuned from; the rest were tuned on photos for nsfwjs's 5 classes. No
 * ImageNet weights are otherwise installable from npm (DESIGN.md §4).
 *
 * The package embeds the Keras model JSON and its uint8-quantised weights (base64) in
 * `dist/models/mobilenet_v2/*.min.js` (CommonJS). We read those files and load them through
 * tfjs-layers' own loader (`loadLayersModel` on `tf.io.fromMemory`), changing three things
 * in the topology: the input size (fully convolutional, any size ≥ 32), batch-norm layers
 * become galmorph's `GalmorphBatchNorm` (same weights; frozen layers keep their moving
 * statistics, see batchnorm.ts), and the 7×7 average pool and nsfwjs's dense head give way
 * to a global average pool named `representation` (1280-d), like galmorph's own encoders.
 * Inputs are RGB in [0, 1], as nsfwjs feeds them.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tf, tfl } from '../engine/index.js';
import './layers.js';
import { BatchNorm } from './batchnorm.js';
import { deserializeNetwork, ModelLoadError } from './io.js';
import { REPRESENTATION_LAYER } from './model.js';
import { identityNormalisation, type InputSpec } from './preprocess.js';
import { OptionError } from '../errors.js';

/** The name `finetune --base` takes for this network. */
export const TERRESTRIAL_MOBILENET_V2 = 'terrestrial-mobilenet-v2';

/**
 * Default input size. 64 px — galmorph's own input size — leaves a 2×2 final feature map
 * (stride 32) and costs ~25 MFLOP-MACs per image forward, about resnet-small's at 64 px.
 */
export const TERRESTRIAL_DEFAULT_SIZE = 64;

/** The description a fine-tuned model keeps of its terrestrial base. */
export interface TerrestrialConfig extends InputSpec {
  format: 'galmorph-terrestrial';
  name: typeof TERRESTRIAL_MOBILENET_V2;
  /** Where the weights came from. */
  source: string;
  representationDim: number;
  /** Encoder blocks bottom to top (`stem`, `expanded_conv`, `block_1` … `block_16`, `top`). */
  blocks: string[];
}

type KerasLayer = { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: unknown[] };

const STEM = new Set(['Conv1_pad', 'Conv1', 'bn_Conv1', 'Conv1_relu']);
const TOP = new Set(['Conv_1', 'Conv_1_bn', 'out_relu']);
const LAST_ENCODER_LAYER = 'out_relu';

/**
 * The encoder block a MobileNetV2 layer belongs to: `stem` (first conv), `expanded_conv`
 * (the first inverted-residual block), `block_<k>` (k = 1…16) or `top` (the final 1×1 conv
 * to 1280 channels); undefined for the input and the pooling.
 */
export function mobileNetBlockOf(layerName: string): string | undefined {
  if (STEM.has(layerName)) return 'stem';
  if (TOP.has(layerName)) return 'top';
  return /^(expanded_conv|block_\d+)_/.exec(layerName)?.[1];
}

const BLOCKS = ['stem', 'expanded_conv', ...Array.from({ length: 16 }, (_, k) => `block_${k + 1}`), 'top'];

/** An image → representation network pretrained on terrestrial photos. */
export class TerrestrialEncoder {
  readonly net: tfl.LayersModel;
  readonly config: TerrestrialConfig;

  constructor(net: tfl.LayersModel, config: TerrestrialConfig) {
    this.net = net;
    this.config = config;
  }

  /** Representations `[n, 1280]` for prepared images (evaluation mode), batched. */
  async embed(images: Float32Array, options: { batchSize?: number } = {}): Promise<Float32Array> {
    const s = this.config.inputSize;
    const per = s * s * 3;
    if (images.length % per !== 0) throw new OptionError(`image buffer length ${images.length} is not a multiple of ${s}×${s}×3`);
    const n = images.length / per;
    const dim = this.config.representationDim;
    const out = new Float32Array(n * dim);
    const bs = options.batchSize ?? 64;
    for (let i = 0; i < n; i += bs) {
      const m = Math.min(bs, n - i);
      const x = tf.tensor4d(images.subarray(i * per, (i + m) * per), [m, s, s, 3]);
      const y = this.net.apply(x, { training: false }) as tf.Tensor;
      out.set((await y.data()) as Float32Array, i * dim);
      tf.dispose([x, y]);
    }
    return out;
  }

  dispose(): void {
    this.net.dispose();
  }
}

/** The nsfwjs package's MobileNetV2 files, or a clear error if the package is missing. */
function readNsfwMobileNet(): { topology: { model_config: { config: { layers: KerasLayer[] } } }; manifest: tf.io.WeightsManifestConfig; weights: Buffer } {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    // The package's "exports" hide dist/models, so go there from its resolvable entry point.
    dir = join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2');
  } catch {
    throw new ModelLoadError(`${TERRESTRIAL_MOBILENET_V2} needs the nsfwjs package (npm install nsfwjs --legacy-peer-deps)`);
  }
  try {
    const model = require(join(dir, 'model.min.js')) as { modelTopology: never; weightsManifest: tf.io.WeightsManifestConfig };
    const shards = model.weightsManifest.flatMap((g) => g.paths).map((p) => Buffer.from(require(join(dir, `${p}.min.js`)) as string, 'base64'));
    return { topology: model.modelTopology, manifest: model.weightsManifest, weights: Buffer.concat(shards) };
  } catch (e) {
    throw new ModelLoadError(`cannot read the MobileNetV2 files of nsfwjs in ${dir}: ${(e as Error).message}`);
  }
}

/**
 * Load the terrestrial MobileNetV2 as an encoder for `size`-px RGB inputs.
 * @example const enc = await loadTerrestrialMobileNetV2({ size: 64 }); enc.config.representationDim // 1280
 */
export async function loadTerrestrialMobileNetV2(options: { size?: number } = {}): Promise<TerrestrialEncoder> {
  const size = options.size ?? TERRESTRIAL_DEFAULT_SIZE;
  if (!Number.isInteger(size) || size < 32 || size > 512) throw new OptionError(`${TERRESTRIAL_MOBILENET_V2}: size must be an integer in [32, 512], got ${size}`);
  const { topology, manifest, weights } = readNsfwMobileNet();
  const all = topology.model_config.config.layers;
  const last = all.findIndex((l) => l.name === LAST_ENCODER_LAYER);
  if (last < 0) throw new ModelLoadError(`nsfwjs MobileNetV2 has no "${LAST_ENCODER_LAYER}" layer; unsupported nsfwjs version`);
  const layers: KerasLayer[] = all.slice(0, last + 1).map((l) => {
    const config = { ...l.config, trainable: true };
    if (l.class_name === 'InputLayer') return { ...l, config: { ...config, batch_input_shape: [null, size, size, 3] } };
    if (l.class_name === 'BatchNormalization') {
      // Momentum 0.9 as galmorph's networks use, so statistics follow a short fine-tuning run.
      return { ...l, class_name: BatchNorm.className, config: { name: l.name, momentum: 0.9, epsilon: l.config['epsilon'] } };
    }
    return { ...l, config };
  });
  layers.push({
    name: REPRESENTATION_LAYER,
    class_name: 'GlobalAveragePooling2D',
    config: { name: REPRESENTATION_LAYER, trainable: true, data_format: 'channels_last' },
    inbound_nodes: [[[LAST_ENCODER_LAYER, 0, 0, {}]]],
  });
  const kept = new Set(layers.map((l) => l.name));
  const modelTopology = {
    ...topology,
    model_config: {
      ...topology.model_config,
      config: { ...topology.model_config.config, name: 'terrestrial_mobilenet_v2', layers, output_layers: [[REPRESENTATION_LAYER, 0, 0]] },
    },
  };
  // Dequantise, drop the nsfwjs head's weights (the loader rejects unused ones), re-encode.
  const specs = manifest.flatMap((g) => g.weights);
  const decoded = tf.io.decodeWeights(weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer, specs);
  const used: tf.NamedTensorMap = {};
  for (const [name, t] of Object.entries(decoded)) {
    if (kept.has(name.split('/')[0])) used[name] = t;
    else t.dispose();
  }
  const encoded = await tf.io.encodeWeights(used);
  tf.dispose(Object.values(used));
  const net = await deserializeNetwork({
    modelJson: { modelTopology, format: 'layers-model', generatedBy: 'nsfwjs 4.4.0', convertedBy: null, weightsManifest: [{ paths: ['weights.bin'], weights: encoded.specs }] },
    weights: new Uint8Array(encoded.data),
  });
  const config: TerrestrialConfig = {
    format: 'galmorph-terrestrial',
    name: TERRESTRIAL_MOBILENET_V2,
    source: 'nsfwjs 4.4.0 MobileNetV2 (ImageNet-initialised, fine-tuned on photos)',
    inputSize: size,
    bands: 3,
    normalisation: identityNormalisation(3),
    evalCrop: 0.87,
    representationDim: (net.getLayer(REPRESENTATION_LAYER).outputShape as number[])[1],
    blocks: BLOCKS.slice(),
  };
  return new TerrestrialEncoder(net, config);
}
