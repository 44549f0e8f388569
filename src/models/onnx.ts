/**
 * Export galmorph networks to ONNX, for ONNX Runtime (galmorph's fast inference path) and for
 * users in other ecosystems (Python onnxruntime, C++, Java, …).
 *
 * The converter reads the saved tfjs layers topology (model.json) and weights, not live tfjs
 * objects, so exporting needs no tensor engine. The graph takes `images`, float32 NHWC
 * `[N, S, S, bands]` prepared exactly as galmorph prepares them (a Transpose to NCHW is the
 * first node), and has two outputs: the network's (`concentrations` `[N, nAnswers]` for a
 * decision-tree model, `outputs` for a fine-tuned one) and `representation` `[N, dim]`.
 * Dropout is the identity, as at inference; MC-dropout passes stay with the caller, who
 * applies masks to the representation and runs the small head (see src/predict).
 *
 * The model's config — answer names, input size, bands, normalisation, evaluation crop,
 * decode size — travels in the file's metadata_props (`galmorph.*` keys).
 */
import { join } from 'node:path';
import type { tf } from '../engine/index.js';
import { createSchema } from '../schema/index.js';
import { writeFileAtomic } from '../data/atomic.js';
import { GalmorphError } from '../errors.js';
import { CONFIG_JSON, MODEL_JSON, WEIGHTS_BIN, ModelLoadError, readModelFile, type NetworkArtifacts } from './io.js';
import { CONCENTRATION_MIN, CONCENTRATION_RANGE } from './layers.js';
import { REPRESENTATION_LAYER } from './model.js';
import { decodeSize, type InputSpec } from './preprocess.js';
import {
  ATTR, ONNX_FLOAT, encodeOnnx,
  type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo,
} from './onnx-proto.js';

/** Name of the ONNX graph input. */
export const ONNX_INPUT = 'images';
/** Name of the representation output. */
export const ONNX_REPRESENTATION = 'representation';
/** ONNX opset the graph is written for (supported by ONNX Runtime ≥ 1.8 and onnx ≥ 1.8). */
export const ONNX_OPSET = 13;

const PRODUCER_VERSION = '0.1.0';

/** A network the exporter cannot translate (a layer kind or setting galmorph models never use). */
export class OnnxExportError extends GalmorphError {}

/** What to export besides the network: graph outputs and metadata. */
export interface OnnxGraphSpec {
  /** ONNX output name → tfjs layer whose output it is. */
  outputs: Record<string, string>;
  /** metadata_props entries. */
  metadata: Record<string, string>;
  /** Free-text description stored as the model's doc_string. */
  description: string;
}

/** A value in the graph under construction: its name and per-image shape (C, H, W or D). */
interface Value {
  name: string;
  shape: number[];
}

/** tfjs layer JSON in a saved topology. */
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, unknown][][];
}

const int = (name: string, i: number): OnnxAttribute => ({ name, type: ATTR.INT, i });
const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: ATTR.INTS, ints: values });
const float = (name: string, f: number): OnnxAttribute => ({ name, type: ATTR.FLOAT, f });

function rawFloat32(data: Float32Array): Uint8Array {
  // Typed arrays are little-endian on every platform Node runs on, which is ONNX's raw_data order.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Weight tensors of a saved network by their tfjs name ('stem_conv/kernel'), float32. */
function weightsByName(artifacts: NetworkArtifacts): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const bytes = artifacts.weights;
  let offset = 0;
  for (const spec of artifacts.modelJson.weightsManifest.flatMap((g) => g.weights)) {
    if (spec.dtype !== 'float32' || spec.quantization) throw new OnnxExportError(`weight ${spec.name} is ${spec.dtype}${spec.quantization ? ' (quantised)' : ''}; only float32 weights can be exported`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + 4 * n > bytes.byteLength) throw new OnnxExportError(`weights file too short for ${spec.name}`);
    // Copy: the weight file's offset need not be 4-byte aligned.
    out.set(spec.name, { shape: spec.shape, data: new Float32Array(bytes.slice(offset, offset + 4 * n).buffer) });
    offset += 4 * n;
  }
  return out;
}

/** TF padding of one spatial axis: output size and (before, after) padding. */
function tfPadding(size: number, kernel: number, stride: number, dilation: number, padding: string): { out: number; before: number; after: number } {
  const k = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((size - k) / stride) + 1, before: 0, after: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

/** Builds one ONNX graph: nodes, initializers, unique names. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly constants = new Map<number, string>();

  node(opType: string, name: string, input: string[], output: string, attribute: OnnxAttribute[] = []): string {
    this.nodes.push({ opType, name, input, output: [output], attribute });
    return output;
  }

  tensor(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, dataType: ONNX_FLOAT, rawData: rawFloat32(data) });
    return name;
  }

  /** A shared scalar float constant. */
  scalar(value: number): string {
    let name = this.constants.get(value);
    if (!name) {
      name = `const_${this.constants.size}`;
      this.tensor(name, [], Float32Array.of(value));
      this.constants.set(value, name);
    }
    return name;
  }
}

/** Emit a Keras activation by name on `x`; the last node writes `out`. */
function activation(g: GraphBuilder, kind: string, x: string, out: string, layer: string): string {
  switch (kind) {
    case 'linear':
      return x;
    case 'relu':
      return g.node('Relu', out, [x], out);
    case 'sigmoid':
      return g.node('Sigmoid', out, [x], out);
    case 'tanh':
      return g.node('Tanh', out, [x], out);
    case 'swish': // SiLU: x·σ(x); no Swish op before opset 24.
      return g.node('Mul', out, [x, g.node('Sigmoid', `${out}/sigmoid`, [x], `${out}/sigmoid`)], out);
    default:
      throw new OnnxExportError(`layer ${layer}: activation '${kind}' is not supported by the ONNX exporter`);
  }
}

/**
 * Translate a saved galmorph network (tfjs layers topology + float32 weights) to ONNX bytes.
 * Supported layers: Conv2D, GalmorphBatchNorm/BatchNormalization, Activation, Add,
 * MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Dense, GalmorphConcentration and
 * dropout (identity); anything else raises an {@link OnnxExportError} naming the layer.
 */
export function networkToOnnx(artifacts: NetworkArtifacts, spec: OnnxGraphSpec): { bytes: Uint8Array; outputDims: Record<string, number> } {
  const topology = artifacts.modelJson.modelTopology as { config?: { layers?: LayerJson[]; input_layers?: unknown[][] } };
  const layers = topology.config?.layers;
  const inputs = topology.config?.input_layers;
  if (!layers || !inputs || inputs.length !== 1) throw new OnnxExportError('model.json is not a single-input tfjs layers model');
  const weights = weightsByName(artifacts);
  const weight = (layer: string, name: string) => {
    const w = weights.get(`${layer}/${name}`);
    if (!w) throw new OnnxExportError(`layer ${layer}: weight '${name}' missing from the weights manifest`);
    return w;
  };
  const g = new GraphBuilder();
  const values = new Map<string, Value>();
  let graphInput: OnnxValueInfo | undefined;

  for (const layer of layers) {
    const { name, class_name: cls, config } = layer;
    const inbound = (layer.inbound_nodes[0] ?? []).map(([src]) => {
      const v = values.get(src);
      if (!v) throw new OnnxExportError(`layer ${name}: input ${src} is not defined before it (topology not in order)`);
      return v;
    });
    const x = inbound[0];
    const spatial = () => {
      if (x.shape.length !== 3) throw new OnnxExportError(`layer ${name} (${cls}) needs a [H, W, C] input, got rank ${x.shape.length + 1}`);
      return x.shape as [number, number, number];
    };
    let out: Value;
    switch (cls) {
      case 'InputLayer': {
        const shape = config.batch_input_shape as (number | null)[];
        if (shape.length !== 4 || shape.slice(1).some((d) => d === null)) throw new OnnxExportError(`input ${name} must be [batch, H, W, C] with fixed H, W, C`);
        const [h, w, c] = shape.slice(1) as number[];
        graphInput = {
          name: ONNX_INPUT,
          docString: 'prepared images, float32 NHWC: see metadata galmorph.preprocessing',
          type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: h }, { dimValue: w }, { dimValue: c }] } } },
        };
        out = { name: g.node('Transpose', name, [ONNX_INPUT], name, [ints('perm', [0, 3, 1, 2])]), shape: [c, h, w] };
        break;
      }
      case 'Conv2D': {
        const [c, h, w] = spatial();
        const [kh, kw] = config.kernel_size as number[];
        const [sh, sw] = config.strides as number[];
        const [dh, dw] = (config.dilation_rate as number[] | undefined) ?? [1, 1];
        const filters = config.filters as number;
        if (config.data_format !== 'channels_last') throw new OnnxExportError(`layer ${name}: data_format ${String(config.data_format)} is not supported`);
        const py = tfPadding(h, kh, sh, dh, config.padding as string);
        const px = tfPadding(w, kw, sw, dw, config.padding as string);
        // tfjs kernels are [kh, kw, cin, cout]; ONNX wants [cout, cin, kh, kw].
        const k = weight(name, 'kernel');
        const oihw = new Float32Array(k.data.length);
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ci = 0; ci < c; ci++) for (let co = 0; co < filters; co++) {
          oihw[((co * c + ci) * kh + i) * kw + j] = k.data[((i * kw + j) * c + ci) * filters + co];
        }
        const ins = [x.name, g.tensor(`${name}/kernel`, [filters, c, kh, kw], oihw)];
        if (config.use_bias) ins.push(g.tensor(`${name}/bias`, [filters], weight(name, 'bias').data));
        const act = config.activation as string;
        const convOut = act === 'linear' ? name : `${name}/conv`;
        g.node('Conv', convOut, ins, convOut, [
          ints('kernel_shape', [kh, kw]), ints('strides', [sh, sw]), ints('dilations', [dh, dw]),
          ints('pads', [py.before, px.before, py.after, px.after]),
        ]);
        out = { name: activation(g, act, convOut, name, name), shape: [filters, py.out, px.out] };
        break;
      }
      case 'GalmorphBatchNorm':
      case 'BatchNormalization': {
        const c = x.shape[0];
        if (x.shape.length !== 3) throw new OnnxExportError(`layer ${name}: batch-norm is exported for [H, W, C] inputs only`);
        const epsilon = (config.epsilon as number | undefined) ?? 1e-3;
        const ins = [x.name, ...['gamma', 'beta', 'moving_mean', 'moving_variance'].map((w) => g.tensor(`${name}/${w}`, [c], weight(name, w).data))];
        out = { name: g.node('BatchNormalization', name, ins, name, [float('epsilon', epsilon)]), shape: x.shape };
        break;
      }
      case 'Activation':
        out = { name: activation(g, config.activation as string, x.name, name, name), shape: x.shape };
        break;
      case 'Add':
        if (inbound.some((v) => v.shape.join() !== x.shape.join())) throw new OnnxExportError(`layer ${name}: inputs of different shapes (${inbound.map((v) => v.shape.join('×')).join(', ')})`);
        out = { name: g.node(inbound.length === 2 ? 'Add' : 'Sum', name, inbound.map((v) => v.name), name), shape: x.shape };
        break;
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [c, h, w] = spatial();
        const [kh, kw] = config.pool_size as number[];
        const [sh, sw] = (config.strides as number[] | null) ?? [kh, kw];
        const py = tfPadding(h, kh, sh, 1, config.padding as string);
        const px = tfPadding(w, kw, sw, 1, config.padding as string);
        const attrs = [ints('kernel_shape', [kh, kw]), ints('strides', [sh, sw]), ints('pads', [py.before, px.before, py.after, px.after])];
        // TF's 'same' average pooling divides by the count of real pixels, as count_include_pad=0.
        if (cls === 'AveragePooling2D') attrs.push(int('count_include_pad', 0));
        out = { name: g.node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', name, [x.name], name, attrs), shape: [c, py.out, px.out] };
        break;
      }
      case 'GlobalAveragePooling2D': {
        const [c] = spatial();
        const pooled = g.node('GlobalAveragePool', `${name}/pool`, [x.name], `${name}/pool`);
        out = { name: g.node('Flatten', name, [pooled], name, [int('axis', 1)]), shape: [c] };
        break;
      }
      case 'Dense': {
        if (x.shape.length !== 1) throw new OnnxExportError(`layer ${name}: Dense on a rank-${x.shape.length + 1} input is not supported`);
        const units = config.units as number;
        const ins = [x.name, g.tensor(`${name}/kernel`, [x.shape[0], units], weight(name, 'kernel').data)];
        if (config.use_bias) ins.push(g.tensor(`${name}/bias`, [units], weight(name, 'bias').data));
        const act = config.activation as string;
        const gemmOut = act === 'linear' ? name : `${name}/gemm`;
        g.node('Gemm', gemmOut, ins, gemmOut);
        out = { name: activation(g, act, gemmOut, name, name), shape: [units] };
        break;
      }
      case 'GalmorphConcentration': {
        // 1 + 100·sigmoid(x), the Dirichlet head of layers.ts.
        const s = g.node('Sigmoid', `${name}/sigmoid`, [x.name], `${name}/sigmoid`);
        const scaled = g.node('Mul', `${name}/scale`, [s, g.scalar(CONCENTRATION_RANGE)], `${name}/scale`);
        out = { name: g.node('Add', name, [scaled, g.scalar(CONCENTRATION_MIN)], name), shape: x.shape };
        break;
      }
      case 'GalmorphDropout':
      case 'Dropout':
        out = x; // identity at inference
        break;
      default:
        throw new OnnxExportError(`layer ${name}: ${cls} layers are not supported by the ONNX exporter`);
    }
    values.set(name, out);
  }

  const outputDims: Record<string, number> = {};
  const outputs: OnnxValueInfo[] = Object.entries(spec.outputs).map(([onnxName, layer]) => {
    const v = values.get(layer);
    if (!v) throw new OnnxExportError(`no layer named ${layer} for output ${onnxName}`);
    if (v.shape.length !== 1) throw new OnnxExportError(`output ${onnxName} (layer ${layer}) must be [N, D], got rank ${v.shape.length + 1}`);
    if (v.name !== onnxName) {
      if (values.has(onnxName) || g.nodes.some((n) => n.output.includes(onnxName))) throw new OnnxExportError(`output name ${onnxName} clashes with a layer of the network`);
      g.node('Identity', onnxName, [v.name], onnxName);
    }
    outputDims[onnxName] = v.shape[0];
    return { name: onnxName, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: v.shape[0] }] } } } };
  });

  const model: OnnxModel = {
    irVersion: 7,
    producerName: 'galmorph',
    producerVersion: PRODUCER_VERSION,
    docString: spec.description,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    metadataProps: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
    graph: { name: 'galmorph', node: g.nodes, initializer: g.initializers, input: [graphInput!], output: outputs },
  };
  return { bytes: encodeOnnx(model), outputDims };
}

/** The parts of a model or fine-tuned model config the exporter reads. */
interface ExportableConfig extends InputSpec {
  format: string;
  representationDim: number;
  schema?: Parameters<typeof createSchema>[0];
  classes?: string[] | null;
  task?: string;
}

/**
 * Outputs and metadata for a galmorph model config (`format: 'galmorph-model'`, outputs
 * `concentrations` + `representation`) or a fine-tuned one (`'galmorph-finetuned'`: `outputs`
 * — logits or the standardised target — or, for task 'votes', `concentrations`; plus
 * `representation`).
 */
export function onnxGraphSpec(config: ExportableConfig, outputLayer: string): OnnxGraphSpec {
  const input = {
    inputSize: config.inputSize,
    bands: config.bands,
    evalCrop: config.evalCrop,
    decodeSize: decodeSize(config),
    normalisation: config.normalisation,
  };
  const preprocessing =
    `images: float32 [N, ${config.inputSize}, ${config.inputSize}, ${config.bands}] (NHWC). Per cutout: decode and resize ` +
    `(antialiased) to ${input.decodeSize}×${input.decodeSize} px, take the central crop of side ${config.evalCrop} of the image, ` +
    `resize bilinearly to ${config.inputSize}×${config.inputSize}, scale pixels to [0, 1]${config.bands === 1 ? ', convert to luminance (0.299 R + 0.587 G + 0.114 B)' : ''}, ` +
    `then (x − mean[b]) / std[b] with mean ${JSON.stringify(config.normalisation.mean)}, std ${JSON.stringify(config.normalisation.std)}.`;
  const metadata: Record<string, string> = {
    'galmorph.format': config.format,
    'galmorph.input': JSON.stringify(input),
    'galmorph.preprocessing': preprocessing,
    'galmorph.config': JSON.stringify(config),
  };
  const isModel = config.format === 'galmorph-model';
  if (!isModel && config.format !== 'galmorph-finetuned') throw new ModelLoadError(`config format ${config.format} is not a galmorph model`);
  const head = isModel ? 'Dirichlet concentrations' : `fine-tuned ${config.task} head`;
  // A decision-tree head (a base model, or a fine-tuned one of task 'votes') outputs concentrations.
  if (isModel || config.task === 'votes') {
    if (!config.schema) throw new ModelLoadError(`${config.format} config has no schema`);
    const schema = createSchema(config.schema, 'model config schema');
    metadata['galmorph.answers'] = JSON.stringify(schema.answerColumns);
    return {
      outputs: { concentrations: outputLayer, [ONNX_REPRESENTATION]: REPRESENTATION_LAYER },
      metadata,
      description:
        `galmorph ${head}: concentrations (1–101) for the ${schema.nAnswers} answers of the ${schema.name} decision tree ` +
        `(order in metadata galmorph.answers; vote fraction = α / Σα over each question's answers) and the ${config.representationDim}-d representation. ${preprocessing}`,
    };
  }
  metadata['galmorph.classes'] = JSON.stringify(config.classes ?? null);
  return {
    outputs: { outputs: outputLayer, [ONNX_REPRESENTATION]: REPRESENTATION_LAYER },
    metadata,
    description:
      `galmorph ${head}: outputs are ${config.task === 'regression' ? 'the standardised target (see galmorph.config target)' : 'logits over galmorph.classes'}, ` +
      `and the ${config.representationDim}-d representation. ${preprocessing}`,
  };
}

/** The network's single output layer, from its topology. */
function outputLayerOf(modelJson: tf.io.ModelJSON): string {
  const outs = (modelJson.modelTopology as { config?: { output_layers?: [string, number, number][] } }).config?.output_layers;
  if (!outs || outs.length !== 1) throw new OnnxExportError('model.json must have exactly one output layer');
  return outs[0][0];
}

/** Convert a saved network and its config to ONNX bytes. */
export function modelToOnnx(artifacts: NetworkArtifacts, config: ExportableConfig): Uint8Array {
  return networkToOnnx(artifacts, onnxGraphSpec(config, outputLayerOf(artifacts.modelJson))).bytes;
}

/** What {@link exportOnnx} wrote. */
export interface OnnxExportResult {
  out: string;
  bytes: number;
  /** Graph outputs and their shapes (`N` is the batch). */
  outputs: Record<string, string>;
  /** The input name and shape. */
  input: string;
}

/**
 * Export a saved galmorph model directory (base or fine-tuned) to one ONNX file, written
 * atomically.
 * @example
 * await exportOnnx('models/galmorph-decals-sim', 'galmorph.onnx');
 * // Python: onnxruntime.InferenceSession('galmorph.onnx').run(None, {'images': x})
 */
export async function exportOnnx(modelDir: string, outPath: string): Promise<OnnxExportResult> {
  const config = JSON.parse(await readModelFile(join(modelDir, CONFIG_JSON), 'utf8')) as ExportableConfig;
  const modelJson = JSON.parse(await readModelFile(join(modelDir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
  const weights = new Uint8Array(await readModelFile(join(modelDir, WEIGHTS_BIN)));
  const { bytes, outputDims } = networkToOnnx({ modelJson, weights }, onnxGraphSpec(config, outputLayerOf(modelJson)));
  await writeFileAtomic(outPath, bytes);
  const s = config.inputSize;
  return {
    out: outPath,
    bytes: bytes.byteLength,
    input: `${ONNX_INPUT} [N, ${s}, ${s}, ${config.bands}]`,
    outputs: Object.fromEntries(Object.entries(outputDims).map(([k, d]) => [k, `[N, ${d}]`])),
  };
}
