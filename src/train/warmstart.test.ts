import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from './train.js';
import { SYNTHETIC_SCHEMA, tinyTrainOptions } from './synthetic.js';
import { warmStart } from './warmstart.js';
import { createModel } from '../models/model.js';
import { loadModel, saveModel } from '../models/io.js';
import { tf } from '../engine/index.js';
import { combineSchemas, createSchema } from '../schema/index.js';
import { OptionError } from '../errors.js';

const root = await mkdtemp(join(tmpdir(), 'galmorph-warm-'));
process.on('exit', () => void rm(root, { recursive: true, force: true }));

const COLOUR = createSchema({ name: 'colour', questions: [{ name: 'colour', answers: ['red', 'blue', 'green'], askedIf: null }] });

test('warm start onto a larger tree: encoder copied, shared answers keep their head weights, new ones stay fresh', async () => {
  const src = await train(tinyTrainOptions(join(root, 'src'), { epochs: 1 }));
  const from = await loadModel(src.out);
  const schema = combineSchemas([COLOUR, SYNTHETIC_SCHEMA]);
  const fresh = createModel({ schema, architecture: 'resnet-tiny', size: from.config.inputSize, seed: 5 });
  const model = createModel({ schema, architecture: 'resnet-tiny', size: from.config.inputSize, seed: 5 });
  const summary = await warmStart(model, src.out);
  assert.equal(summary.answers, 7);
  assert.equal(summary.answersCopied, 4);
  for (const layer of model.net.layers) {
    if (layer.name === 'head_dense' || layer.getWeights().length === 0) continue;
    const got = layer.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(got, from.net.getLayer(layer.name).getWeights().map((w) => Array.from(w.dataSync())), layer.name);
  }
  const [k, b] = model.net.getLayer('head_dense').getWeights().map((w) => w.dataSync());
  const [sk, sb] = from.net.getLayer('head_dense').getWeights().map((w) => w.dataSync());
  const [fk, fb] = fresh.net.getLayer('head_dense').getWeights().map((w) => w.dataSync());
  const dim = model.config.representationDim;
  for (let d = 0; d < dim; d += 7) {
    for (let j = 0; j < 3; j++) assert.equal(k[d * 7 + j], fk[d * 7 + j]); // colour_*: fresh
    for (let j = 0; j < 4; j++) assert.equal(k[d * 7 + 3 + j], sk[d * 4 + j]); // shape_*, size_*: copied
  }
  assert.deepEqual(Array.from(b.subarray(3)), Array.from(sb));
  assert.deepEqual(Array.from(b.subarray(0, 3)), Array.from(fb.subarray(0, 3)));
  for (const m of [from, fresh, model]) m.dispose();
});

test('warm start restarts answers that are dead in the source (alpha at the floor on every probe image) from the fresh head', async () => {
  const from = await loadModel(join(root, 'src'));
  const dim = from.config.representationDim;
  const [sk, sb] = from.net.getLayer('head_dense').getWeights().map((w) => w.dataSync().slice() as Float32Array);
  // Kill the first answer: a logit of about -50 whatever the (non-negative) representation.
  for (let d = 0; d < dim; d++) sk[d * 4] = -1;
  sb[0] = -50;
  const head = [tf.tensor2d(sk, [dim, 4]), tf.tensor1d(sb)];
  from.net.getLayer('head_dense').setWeights(head);
  tf.dispose(head);
  const deadDir = join(root, 'dead');
  await saveModel(from, deadDir);
  const size = from.config.inputSize;
  const probe = Float32Array.from({ length: 8 * size * size * 3 }, (_, i) => ((i * 7919) % 255) / 255);
  const fresh = createModel({ schema: SYNTHETIC_SCHEMA, architecture: 'resnet-tiny', size, seed: 5 });
  const model = createModel({ schema: SYNTHETIC_SCHEMA, architecture: 'resnet-tiny', size, seed: 5 });
  const summary = await warmStart(model, deadDir, probe);
  assert.deepEqual(summary.revived, [SYNTHETIC_SCHEMA.answerColumns[0]]);
  assert.equal(summary.answersCopied, 3);
  const [k, b] = model.net.getLayer('head_dense').getWeights().map((w) => w.dataSync());
  const [fk, fb] = fresh.net.getLayer('head_dense').getWeights().map((w) => w.dataSync());
  for (let d = 0; d < dim; d++) {
    assert.equal(k[d * 4], fk[d * 4]); // the dead answer: fresh
    assert.equal(k[d * 4 + 1], sk[d * 4 + 1]); // the others: copied
  }
  assert.equal(b[0], fb[0]);
  assert.ok((await model.predictConcentrations(probe)).some((a, i) => i % 4 === 0 && a > 1.001), 'the restarted answer must be alive');
  for (const m of [from, fresh, model]) m.dispose();
});

test('warm start fits another input size (all-convolutional encoder) but refuses other bands, naming them', async () => {
  const src = join(root, 'src');
  const larger = createModel({ schema: SYNTHETIC_SCHEMA, architecture: 'resnet-tiny', size: 48 });
  assert.equal((await warmStart(larger, src)).answersCopied, 4);
  larger.dispose();
  const grey = createModel({ schema: SYNTHETIC_SCHEMA, architecture: 'resnet-tiny', bands: 1 });
  await assert.rejects(warmStart(grey, src), (e: Error) => e instanceof OptionError && /3 input bands, this run 1/.test(e.message));
  grey.dispose();
});

test('a training run can start from a model and records it for resumption', async () => {
  const r = await train(tinyTrainOptions(join(root, 'warm'), { epochs: 1, initFrom: join(root, 'src') }));
  assert.equal(r.history.length, 1);
  await assert.rejects(train(tinyTrainOptions(join(root, 'warm'), { epochs: 2 })), (e: Error) => e instanceof OptionError && /initFrom/.test(e.message));
});

test('warm start grows a network deeper: copied blocks, new blocks as the identity, same outputs; other shapes refused', async () => {
  const size = 16;
  const small = createModel({ schema: SYNTHETIC_SCHEMA, architecture: 'resnet-small', size, seed: 3 });
  // Move every weight off its initialisation, the zero-γ batch norms included, so "the same
  // outputs" cannot come from two fresh networks agreeing.
  for (const layer of small.net.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    const moved = ws.map((w, i) => tf.tidy(() => tf.add(w, tf.randomUniform(w.shape, 0.05, 0.1, 'float32', i + 1))));
    layer.setWeights(moved);
    tf.dispose(moved);
  }
  const smallDir = join(root, 'small');
  await saveModel(small, smallDir);
  const medium = createModel({ schema: SYNTHETIC_SCHEMA, architecture: 'resnet-medium', size, seed: 3 });
  const summary = await warmStart(medium, smallDir);
  assert.equal(summary.answersCopied, 4);
  // Four new blocks (one per stage) of conv1, bn1, conv2, bn2.
  assert.equal(summary.newLayers, 16);
  const images = Float32Array.from({ length: 4 * size * size * 3 }, (_, i) => ((i * 7919) % 255) / 255);
  const [a, b] = [await small.predictConcentrations(images), await medium.predictConcentrations(images)];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * a[i], `concentration ${i}: ${a[i]} vs ${b[i]}`);
  await assert.rejects(warmStart(small, join(root, 'src')), (e: Error) => e instanceof OptionError && /resnet-tiny differs from this run's resnet-small/.test(e.message));
  const shallower = createModel({ schema: SYNTHETIC_SCHEMA, architecture: 'resnet-small', size, seed: 3 });
  const mediumDir = join(root, 'medium');
  await saveModel(medium, mediumDir);
  await assert.rejects(warmStart(shallower, mediumDir), (e: Error) => e instanceof OptionError && /fewer blocks per stage/.test(e.message));
  for (const m of [small, medium, shallower]) m.dispose();
});
