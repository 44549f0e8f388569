/**
 * What fine-tuning starts from: a galmorph model directory, a fine-tuned model's directory
 * (its encoder; the new head replaces its head — e.g. a model fine-tuned on one survey,
 * adapted to another), or a network pretrained on terrestrial photos
 * (`terrestrial-mobilenet-v2`, see src/models/terrestrial.ts). Each gives an image →
 * `representation` network, its input spec, and its encoder blocks bottom to top with the
 * block of each layer, which is all the recipe needs.
 */
import type { tfl } from '../engine/index.js';
import type { ModelConfig } from '../models/model.js';
import type { InputSpec } from '../models/preprocess.js';
import { loadTerrestrialMobileNetV2, mobileNetBlockOf, TERRESTRIAL_MOBILENET_V2, type TerrestrialConfig } from '../models/terrestrial.js';
import { OptionError } from '../errors.js';
import { FinetunedModel, loadAnyModel } from './model.js';

/** A pretrained encoder to fine-tune. */
export interface FinetuneBase {
  /** A network containing a `representation` layer (the new head goes on it). */
  net: tfl.LayersModel;
  spec: InputSpec;
  representationDim: number;
  /** Encoder blocks, bottom to top. */
  blocks: string[];
  /** The block a layer belongs to, or undefined (input, pooling, the base's own head). */
  blockOf(layerName: string): string | undefined;
  /** Representations for prepared images (evaluation mode). */
  embed(images: Float32Array): Promise<Float32Array>;
  /** What the fine-tuned model's config records about its base. */
  description: { path: string; config: ModelConfig | TerrestrialConfig };
  dispose(): void;
}

/** Names `base` accepts besides a model directory. */
export const NAMED_BASES: readonly string[] = Object.freeze([TERRESTRIAL_MOBILENET_V2]);

/** Encoder blocks of a galmorph architecture bottom to top: `stem`, then `stage<i>_block<j>`. */
export function encoderBlocks(config: { architecture: { stages: readonly { blocks: number }[] } }): string[] {
  const out = ['stem'];
  config.architecture.stages.forEach((s, i) => {
    for (let b = 0; b < s.blocks; b++) out.push(`stage${i + 1}_block${b + 1}`);
  });
  return out;
}

type Loaded = Pick<FinetuneBase, 'net' | 'spec' | 'representationDim' | 'embed' | 'dispose'>;

/** A base from a loaded network and the config of the encoder it descends from. */
function withBlocks(loaded: Loaded, config: ModelConfig | TerrestrialConfig, path: string): FinetuneBase {
  if (config.format === 'galmorph-terrestrial') return { ...loaded, blocks: config.blocks, blockOf: mobileNetBlockOf, description: { path, config } };
  const blocks = encoderBlocks(config);
  return { ...loaded, blocks, blockOf: (name) => blocks.find((b) => name.startsWith(`${b}_`)), description: { path, config } };
}

/**
 * Load a base: `terrestrial-mobilenet-v2` (at `inputSize` px, default 64), else a galmorph
 * base or fine-tuned model directory (whose own input size applies; `inputSize` must then
 * be unset or equal).
 */
export async function loadBase(base: string, options: { inputSize?: number } = {}): Promise<FinetuneBase> {
  if (base === TERRESTRIAL_MOBILENET_V2) {
    const enc = await loadTerrestrialMobileNetV2({ size: options.inputSize });
    const loaded = { net: enc.net, spec: enc.config, representationDim: enc.config.representationDim, embed: (x: Float32Array) => enc.embed(x), dispose: () => enc.dispose() };
    return withBlocks(loaded, enc.config, base);
  }
  const m = await loadAnyModel(base);
  const loaded = { net: m.net, spec: m.config, representationDim: m.config.representationDim, embed: (x: Float32Array) => m.embed(x), dispose: () => m.dispose() };
  const out = withBlocks(loaded, m instanceof FinetunedModel ? m.config.base.config : m.config, base);
  if (options.inputSize !== undefined && options.inputSize !== out.spec.inputSize) {
    out.dispose();
    throw new OptionError(`finetune: ${base} takes ${out.spec.inputSize}-px inputs; inputSize applies to ${NAMED_BASES.join(', ')} only`);
  }
  return out;
}
