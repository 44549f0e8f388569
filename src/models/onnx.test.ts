/** ONNX export: ONNX Runtime computes what tfjs computes, metadata, errors, the CLI command. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { initEngine, tf } from '../engine/index.js';
import { getArchitecture } from './architectures.js';
import { buildNetwork, createModel, GalaxyModel, type ModelConfig } from './model.js';
import { loadModel, readModelConfig, saveModel, serializeNetwork, ModelLoadError } from './io.js';
import { exportOnnx, modelToOnnx, OnnxExportError } from './onnx.js';
import { attachHead } from '../finetune/model.js';
import { ModelProto } from './onnx-proto.js';
import { createSchema, getSchema } from '../schema/index.js';
import { cli } from '../../test/run-cli.js';

await initEngine({ backend: 'wasm' });
const SHIPPED = join(import.meta.dirname, '..', '..', 'models', 'galmorph-decals-sim');
const tmp = () => mkdtemp(join(tmpdir(), 'gm-onnx-'));

function randomImages(n: number, size: number, bands: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n * size * size * bands }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
}

/** Largest |a − b| relative to the largest |b|. */
function relError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Non-trivial batch-norm statistics and γ, so a wrong batch-norm export cannot pass. */
function perturbBatchNorm(model: GalaxyModel, seed: number): void {
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let written = 0;
  for (const layer of model.net.layers) {
    for (const w of layer.weights) {
      const kind = w.originalName.split('/').pop()!;
      const n = w.shape[0] as number;
      const values: Record<string, () => number> = { gamma: () => 0.5 + r(), beta: () => r() - 0.5, moving_mean: () => 0.2 * (r() - 0.5), moving_variance: () => 0.5 + r() };
      if (values[kind]) {
        w.write(tf.tensor1d(Float32Array.from({ length: n }, values[kind])));
        written++;
      }
    }
  }
  assert.ok(written >= 4 * 5, `only ${written} batch-norm weights perturbed`);
}

/** Export `dir` and compare ORT's outputs with tfjs's on `n` random prepared images. */
async function compareWithTfjs(dir: string, n: number): Promise<{ session: ort.InferenceSession; onnx: string }> {
  const onnx = join(await tmp(), 'model.onnx');
  const r = await exportOnnx(dir, onnx);
  const model = await loadModel(dir);
  const { inputSize: s, bands, representationDim } = model.config;
  assert.deepEqual(r.outputs, { concentrations: `[N, ${model.schema.nAnswers}]`, representation: `[N, ${representationDim}]` });
  const x = randomImages(n, s, bands, 7);
  const alpha = await model.predictConcentrations(x);
  const rep = await model.embed(x);
  model.dispose();
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  assert.deepEqual(session.inputNames, ['images']);
  assert.deepEqual([...session.outputNames].sort(), ['concentrations', 'representation']);
  const out = await session.run({ images: new ort.Tensor('float32', x, [n, s, s, bands]) });
  assert.deepEqual(out.concentrations.dims, [n, alpha.length / n]);
  assert.ok(relError(out.concentrations.data as Float32Array, alpha) < 1e-4, `concentrations: ${relError(out.concentrations.data as Float32Array, alpha)}`);
  assert.ok(relError(out.representation.data as Float32Array, rep) < 1e-4, `representation: ${relError(out.representation.data as Float32Array, rep)}`);
  return { session, onnx };
}

test('the shipped model in ONNX Runtime gives the tfjs concentrations and representation', async () => {
  const { session } = await compareWithTfjs(SHIPPED, 5);
  await session.release();
});

test('swish, max pooling, odd sizes and batch-norm statistics export exactly', async () => {
  const base = getArchitecture('resnet-tiny');
  const architecture = { ...base, name: 'tiny-swish', activation: 'swish' as const, stem: { ...base.stem, maxPool: true } };
  const config: ModelConfig = { ...createModel({ schema: getSchema('gz2'), architecture: 'resnet-tiny', size: 37 }).config, architecture };
  const model = new GalaxyModel(buildNetwork(config, 3), config);
  perturbBatchNorm(model, 11);
  const dir = join(await tmp(), 'model');
  await saveModel(model, dir);
  model.dispose();
  const { session } = await compareWithTfjs(dir, 3);
  await session.release();
});

test('metadata carries answers, input spec and the config; batch size is free', async () => {
  const model = createModel({ schema: getSchema('decals-dr5'), architecture: 'resnet-tiny', bands: 1 });
  const dir = join(await tmp(), 'model');
  await saveModel(model, dir);
  const { session, onnx } = await compareWithTfjs(dir, 2);
  const decoded = ModelProto.toObject(ModelProto.decode(await readFile(onnx)), { longs: Number }) as {
    producerName: string; opsetImport: { version: number }[]; metadataProps: { key: string; value: string }[];
  };
  const meta = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(decoded.producerName, 'galmorph');
  assert.equal(decoded.opsetImport[0].version, 13);
  assert.deepEqual(JSON.parse(meta['galmorph.answers']), [...model.schema.answerColumns]);
  assert.deepEqual(JSON.parse(meta['galmorph.input']), {
    inputSize: 32, bands: 1, evalCrop: model.config.evalCrop, decodeSize: 38, normalisation: model.config.normalisation,
  });
  assert.equal(JSON.parse(meta['galmorph.config']).schema.name, 'decals-dr5');
  assert.match(meta['galmorph.preprocessing'], /central crop/);
  // A batch of 7 (the graph's batch axis is symbolic).
  const out = await session.run({ images: new ort.Tensor('float32', randomImages(7, 32, 1, 3), [7, 32, 32, 1]) });
  assert.deepEqual(out.representation.dims, [7, model.config.representationDim]);
  await session.release();
  model.dispose();
});

test('a fine-tuned network exports its new head as `outputs`', async () => {
  const base = createModel({ schema: getSchema('decals-dr5'), architecture: 'resnet-tiny', seed: 2 });
  const net = attachHead(base, 3, 5);
  const { inputSize: s, bands, evalCrop, normalisation, representationDim } = base.config;
  const config = { format: 'galmorph-finetuned', task: 'multiclass', classes: ['ring', 'bar', 'none'], inputSize: s, bands, evalCrop, normalisation, representationDim };
  const session = await ort.InferenceSession.create(modelToOnnx(await serializeNetwork(net), config));
  assert.deepEqual([...session.outputNames].sort(), ['outputs', 'representation']);
  const x = randomImages(4, s, bands, 9);
  const xt = tf.tensor4d(x, [4, s, s, bands]);
  const y = net.predict(xt) as tf.Tensor;
  const logits = (await y.data()) as Float32Array;
  tf.dispose([xt, y]);
  const out = await session.run({ images: new ort.Tensor('float32', x, [4, s, s, bands]) });
  assert.ok(relError(out.outputs.data as Float32Array, logits) < 1e-4);
  await session.release();
  base.dispose();
});

test('unsupported layers and missing files are clear errors', async () => {
  const dir = join(await tmp(), 'model');
  const model = createModel({ schema: getSchema('decals-dr5'), architecture: 'resnet-tiny' });
  await saveModel(model, dir);
  model.dispose();
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  json.modelTopology.config.layers.find((l: { name: string }) => l.name === 'stem_act').class_name = 'LeakyReLU';
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await assert.rejects(exportOnnx(dir, join(dir, 'x.onnx')), (e: Error) => e instanceof OnnxExportError && /stem_act: LeakyReLU/.test(e.message));
  await assert.rejects(exportOnnx(join(dir, 'nope'), join(dir, 'x.onnx')), (e: Error) => e instanceof ModelLoadError && /config\.json/.test(e.message));
});

test('galmorph export-onnx writes the file and says what is in it', async () => {
  const out = join(await tmp(), 'sub', 'galmorph.onnx');
  const r = await cli('export-onnx', '--model', SHIPPED, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const answers = createSchema((await readModelConfig(SHIPPED)).schema).nAnswers;
  assert.ok(r.stderr.includes(`input images [N, 64, 64, 3]; outputs concentrations [N, ${answers}], representation [N, 256]`), r.stderr);
  assert.ok((await readFile(out)).byteLength > 1e6);
  const bad = await cli('export-onnx', '--model', join(out, 'missing'), '--out', out);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^galmorph: error: cannot read/);
});
