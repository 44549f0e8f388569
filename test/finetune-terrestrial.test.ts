/**
 * The terrestrial baseline: nsfwjs's MobileNetV2 loads as an encoder at our input sizes, its
 * pretrained weights are really there, its blocks cover every weighted layer, and
 * `finetune({ base: 'terrestrial-mobilenet-v2' })` trains, saves and reloads.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initEngine, tf } from '../src/engine/index.js';
import { loadTerrestrialMobileNetV2, mobileNetBlockOf, TERRESTRIAL_MOBILENET_V2 } from '../src/models/index.js';
import { finetune, loadBase, loadFinetuned } from '../src/finetune/index.js';
import { OptionError } from '../src/errors.js';
import { makeLabelled, tmp } from './finetune-fixtures.js';

before(async () => {
  await initEngine();
});

test('loads at 32 and 64 px with pretrained weights, 1280-d representations, every weighted layer in a block', async () => {
  for (const size of [32, 64]) {
    const enc = await loadTerrestrialMobileNetV2({ size });
    assert.equal(enc.config.inputSize, size);
    assert.equal(enc.config.representationDim, 1280);
    assert.equal(enc.config.blocks.length, 19);
    assert.deepEqual([enc.config.blocks[0], enc.config.blocks[1], enc.config.blocks.at(-1)], ['stem', 'expanded_conv', 'top']);
    const weighted = enc.net.layers.filter((l) => l.weights.length > 0);
    assert.deepEqual(weighted.filter((l) => mobileNetBlockOf(l.name) === undefined).map((l) => l.name), []);
    assert.deepEqual(new Set(weighted.map((l) => mobileNetBlockOf(l.name))), new Set(enc.config.blocks));
    // Pretrained, not initialised: the first conv's kernel carries the shipped (quantised) values.
    const k = enc.net.getLayer('Conv1').getWeights()[0];
    assert.deepEqual(k.shape, [3, 3, 3, 32]);
    const std = Math.sqrt(tf.tidy(() => tf.moments(k).variance).dataSync()[0]);
    assert.ok(std > 0.05, `Conv1 kernel std ${std}`);
    const images = new Float32Array(2 * size * size * 3).map((_, i) => (i % 97) / 97);
    const emb = await enc.embed(images);
    assert.equal(emb.length, 2 * 1280);
    assert.ok(emb.every(Number.isFinite) && emb.some((v) => v > 0));
    enc.dispose();
  }
  await assert.rejects(loadTerrestrialMobileNetV2({ size: 16 }), OptionError);
  await assert.rejects(loadBase('/nonexistent-model-dir', { inputSize: 96 }), /config\.json/);
});

test('finetune from terrestrial-mobilenet-v2: partial mode trains the top blocks only, saves and reloads', async () => {
  const data = await makeLabelled(20);
  const out = join(tmp(), 'model');
  const base = await loadBase(TERRESTRIAL_MOBILENET_V2, { inputSize: 32 });
  const kernel = (net: typeof base.net, layer: string) => net.getLayer(layer).getWeights()[0].dataSync().slice();
  const frozenBefore = kernel(base.net, 'block_14_project');
  const tunedBefore = kernel(base.net, 'block_16_project');
  base.dispose();
  const r = await finetune({
    base: TERRESTRIAL_MOBILENET_V2, inputSize: 32, labels: data.labels, task: 'binary', mode: 'partial', blocks: 2, out,
    epochs: 2, batchSize: 8, learningRate: 1e-3, seed: 1,
  });
  assert.equal(r.history.length, 2);
  assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.valLoss)));
  const m = await loadFinetuned(out);
  assert.equal(m.config.inputSize, 32);
  assert.equal(m.config.base.path, TERRESTRIAL_MOBILENET_V2);
  assert.equal(m.config.base.config.format, 'galmorph-terrestrial');
  // block_14 is below the two tuned blocks (top, block_16): unchanged; block_16 moved.
  assert.deepEqual(kernel(m.net, 'block_14_project'), frozenBefore);
  assert.notDeepEqual(kernel(m.net, 'block_16_project'), tunedBefore);
  const probs = await m.predictPrepared(new Float32Array(32 * 32 * 3).fill(0.3));
  assert.ok(Math.abs(probs[0] + probs[1] - 1) < 1e-5);
  m.dispose();
});
