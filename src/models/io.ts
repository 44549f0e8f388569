/**
 * Model directories: `model.json` + `weights.bin` (the standard tfjs layers-model format,
 * readable by any tfjs loader once galmorph's two custom layers are registered) and
 * `config.json` (galmorph's own: schema, architecture, input spec, training metadata).
 *
 * tfjs's file:// handlers exist only in tfjs-node, so we save through `withSaveHandler` and
 * load through `fromMemory` with our own (atomic) file writes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, tfl } from '../engine/index.js';
import './layers.js';
import { GalaxyModel, type ModelConfig } from './model.js';
import { writeFileAtomic } from '../data/atomic.js';
import { GalmorphError } from '../errors.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const CONFIG_JSON = 'config.json';

/** A model directory is missing, incomplete or not a galmorph model. */
export class ModelLoadError extends GalmorphError {}

/** Serialised network: the tfjs model.json object and its weight bytes. */
export interface NetworkArtifacts {
  modelJson: tf.io.ModelJSON;
  weights: Uint8Array;
}

/** Serialise a network in memory (topology + weights). */
export async function serializeNetwork(net: tfl.LayersModel): Promise<NetworkArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await net.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured?.weightData || !captured.weightSpecs) throw new GalmorphError('tfjs returned no weights when saving the model');
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(captured.weightData));
  const modelJson: tf.io.ModelJSON = {
    modelTopology: captured.modelTopology as object,
    format: 'layers-model',
    generatedBy: captured.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: captured.weightSpecs }],
  };
  return { modelJson, weights };
}

/** Rebuild a network from serialised artifacts. */
export async function deserializeNetwork(artifacts: NetworkArtifacts): Promise<tfl.LayersModel> {
  const { modelJson, weights } = artifacts;
  const weightSpecs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const buf = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: buf }));
}

/**
 * Save a model to `dir` (created if needed). Each file is written atomically; weights go
 * first so a reader never sees a model.json whose weights are missing.
 * @param training optional metadata merged into `config.training`
 */
export async function saveModel(model: GalaxyModel, dir: string, training?: Record<string, unknown>): Promise<void> {
  const { modelJson, weights } = await serializeNetwork(model.net);
  const config: ModelConfig = training ? { ...model.config, training: { ...model.config.training, ...training } } : model.config;
  await writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJson));
  await writeFileAtomic(join(dir, CONFIG_JSON), JSON.stringify(config, null, 2) + '\n');
}

/** Read a model config (config.json) from a model directory. */
export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const config = JSON.parse(await readModelFile(join(dir, CONFIG_JSON), 'utf8')) as ModelConfig;
  if (config.format !== 'galmorph-model') throw new ModelLoadError(`${join(dir, CONFIG_JSON)} is not a galmorph model config`);
  if (config.formatVersion !== 1) throw new ModelLoadError(`${join(dir, CONFIG_JSON)}: unsupported formatVersion ${config.formatVersion}`);
  return config;
}

/**
 * Load a model saved by {@link saveModel}.
 * @example const model = await loadModel('models/galmorph-decals-sim'); model.config.inputSize // 64
 */
export async function loadModel(dir: string): Promise<GalaxyModel> {
  const config = await readModelConfig(dir);
  const modelJson = JSON.parse(await readModelFile(join(dir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
  const weights = await readModelFile(join(dir, WEIGHTS_BIN));
  const net = await deserializeNetwork({ modelJson, weights });
  return new GalaxyModel(net, config);
}

/** Read a file of a model directory; a missing or unreadable file is a ModelLoadError naming it. */
export async function readModelFile(path: string): Promise<Buffer>;
export async function readModelFile(path: string, enc: 'utf8'): Promise<string>;
export async function readModelFile(path: string, enc?: 'utf8'): Promise<Buffer | string> {
  try {
    return enc ? await readFile(path, enc) : await readFile(path);
  } catch (e) {
    throw new ModelLoadError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
