/**
 * Which engine runs the encoder (image → representation) for predict and embed.
 *
 * - `onnx`: ONNX Runtime (onnxruntime-node, CPU) on the model exported to ONNX in memory
 *   (src/models/onnx.ts). Multi-threaded and several times faster than tfjs here; the default.
 * - `tfjs`: the tensor engine of src/engine (wasm, or oneDNN convolutions when built).
 *
 * Either way the head — dropout masks keyed by galaxy id, dense, concentrations — runs in
 * tfjs on the representation (uncertainty.ts): it is a tiny matrix product, and keeping one
 * implementation keeps MC-dropout predictions identical across engines.
 * `bench/predict/run.ts` measures both (reports/predict.json).
 */
import { availableParallelism } from 'node:os';
import { tf } from '../engine/index.js';
import { serializeNetwork } from '../models/index.js';
import { ONNX_INPUT, ONNX_REPRESENTATION, OnnxExportError, modelToOnnx } from '../models/onnx.js';
import { GalmorphError, OptionError } from '../errors.js';
import type { SurveyModel } from './survey.js';

/** Inference engines for the encoder. */
export type InferenceEngine = 'onnx' | 'tfjs';
export const INFERENCE_ENGINES: readonly InferenceEngine[] = Object.freeze(['onnx', 'tfjs']);
/** The faster of the two on the measured machines (reports/predict.json). */
export const DEFAULT_INFERENCE_ENGINE: InferenceEngine = 'onnx';

/** Options of {@link openEncoder}. */
export interface EncoderOptions {
  /** @default DEFAULT_INFERENCE_ENGINE ('onnx') */
  engine?: InferenceEngine;
  /**
   * Threads for ONNX Runtime's operators (ignored by tfjs, whose threads are set by
   * `initEngine`). @default os.availableParallelism() (the CPUs this process may use)
   */
  threads?: number;
}

/** Runs a model's encoder on prepared images. */
export interface Encoder {
  readonly engine: InferenceEngine;
  /** Representations `[n, representationDim]` of prepared images `[n, S, S, bands]`. */
  represent(images: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The encoder of `model` on tfjs (the model stays the caller's). */
function tfjsEncoder(model: SurveyModel): Encoder {
  const { inputSize: s, bands } = model.config;
  return {
    engine: 'tfjs',
    async represent(images, n) {
      const x = tf.tensor4d(images, [n, s, s, bands]);
      const rep = model.encoder.apply(x, { training: false }) as tf.Tensor;
      x.dispose();
      try {
        return (await rep.data()) as Float32Array;
      } finally {
        rep.dispose();
      }
    },
    async dispose() {},
  };
}

/** The encoder of `model` on ONNX Runtime: the network is converted to ONNX in memory. */
async function onnxEncoder(model: SurveyModel, threads: number): Promise<Encoder> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    throw new GalmorphError(`ONNX Runtime (onnxruntime-node) failed to load: ${(e as Error).message.split('\n')[0]}; use engine 'tfjs' (--engine tfjs)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = modelToOnnx(await serializeNetwork(model.net), model.config);
  } catch (e) {
    // e.g. a model fine-tuned from the terrestrial MobileNetV2, whose layers the exporter lacks.
    if (e instanceof OnnxExportError) throw new OptionError(`the onnx engine cannot run this model (${e.message}); use engine 'tfjs' (--engine tfjs)`);
    throw e;
  }
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // No spin-waiting between batches: the cores are then free to decode the next batch
    // (measured end to end on 2 cores: ~200 vs ~170 galaxies/s).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const { inputSize: s, bands } = model.config;
  return {
    engine: 'onnx',
    async represent(images, n) {
      const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', images, [n, s, s, bands]) }, [ONNX_REPRESENTATION]);
      return out[ONNX_REPRESENTATION].data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

/** Open an encoder for `model` on the chosen engine (dispose it when done). */
export async function openEncoder(model: SurveyModel, options: EncoderOptions = {}): Promise<Encoder> {
  const engine = options.engine ?? DEFAULT_INFERENCE_ENGINE;
  if (!INFERENCE_ENGINES.includes(engine)) throw new OptionError(`engine must be one of ${INFERENCE_ENGINES.join(', ')}, got "${engine}"`);
  const threads = options.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new OptionError(`threads must be a positive integer, got ${threads}`);
  return engine === 'onnx' ? onnxEncoder(model, threads) : tfjsEncoder(model);
}
