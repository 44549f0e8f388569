import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAST_DIR, train, type TrainOptions } from './train.js';
import { tinyTrainOptions } from './synthetic.js';
import { loadModel } from '../models/io.js';
import { OptionError } from '../errors.js';

const root = await mkdtemp(join(tmpdir(), 'galmorph-train-'));
process.on('exit', () => void rm(root, { recursive: true, force: true }));

const tiny = (out: string, extra: Partial<TrainOptions> = {}) => tinyTrainOptions(join(root, out), extra);

test('a tiny run trains: loss decreases, model and metrics are written and load', async () => {
  const r = await train(tiny('basic', { epochs: 3 }));
  assert.equal(r.epochs, 3);
  assert.equal(r.interrupted, false);
  assert.ok(r.trainSize > 80 && r.valSize > 10, `split ${r.trainSize}/${r.valSize}`);
  const [first, , last] = r.history;
  assert.ok(last.trainLoss < first.trainLoss, `train loss ${first.trainLoss} → ${last.trainLoss}`);
  assert.ok(last.valLoss < first.valLoss, `val loss ${first.valLoss} → ${last.valLoss}`);
  assert.deepEqual(Object.keys(last.valMae).sort(), ['shape', 'size']);
  const metrics = JSON.parse(await readFile(join(r.out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.history.length, 3);
  const model = await loadModel(r.out);
  assert.equal(model.config.training?.epoch, r.bestEpoch);
  assert.equal(model.schema.name, 'synthetic-blobs');
  model.dispose();
  // The last epoch's model is kept beside the best one.
  const lastModel = await loadModel(join(r.out, LAST_DIR));
  assert.equal(lastModel.config.training?.epoch, 3);
  lastModel.dispose();
  // Re-running a finished run is a no-op that reports the same history.
  const again = await train(tiny('basic', { epochs: 3 }));
  assert.equal(again.history.length, 3);
  assert.deepEqual(again.resumedFrom, { epoch: 3, step: 0 });
});

test('same seed, same weights after an epoch (workers = 1)', async () => {
  await train(tiny('det-a', { epochs: 1 }));
  await train(tiny('det-b', { epochs: 1 }));
  const a = await readFile(join(root, 'det-a', 'weights.bin'));
  const b = await readFile(join(root, 'det-b', 'weights.bin'));
  assert.ok(a.equals(b));
  await train(tiny('det-c', { epochs: 1, seed: 12 }));
  assert.ok(!a.equals(await readFile(join(root, 'det-c', 'weights.bin'))));
});

test('a checkpoint from a different run is refused, naming what differs', async () => {
  await train(tiny('mismatch', { epochs: 1 }));
  await assert.rejects(train(tiny('mismatch', { epochs: 2, batchSize: 16 })), (e: Error) => e instanceof OptionError && /batchSize/.test(e.message));
});

test('a run resumes with a lower learning rate, recorded per epoch', async () => {
  await train(tiny('lr-drop', { epochs: 1 }));
  const r = await train(tiny('lr-drop', { epochs: 2, learningRate: 1e-4 }));
  assert.deepEqual(r.history.map((h) => h.learningRate), [3e-3, 1e-4]);
});

test('data-parallel over two worker threads trains', async () => {
  const r = await train(tiny('parallel', { workers: 2, epochs: 2 }));
  assert.equal(r.history.length, 2);
  assert.ok(r.history[1].trainLoss < r.history[0].trainLoss);
  assert.ok(Number.isFinite(r.history[1].valLoss));
});

test('invalid options are rejected with OptionError', async () => {
  await assert.rejects(train(tiny('bad', { epochs: 0 })), OptionError);
  await assert.rejects(train(tiny('bad', { valFraction: 1 })), OptionError);
  await assert.rejects(train(tiny('bad', { architecture: 'vgg' })), (e: Error) => e instanceof OptionError && /resnet-small/.test(e.message));
  await assert.rejects(train({ out: join(root, 'bad') }), OptionError);
});
