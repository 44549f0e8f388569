import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train, type TrainOptions } from './train.js';
import { readCheckpoint } from './checkpoint.js';
import { syntheticTrainingSet, SYNTHETIC_SCHEMA } from './synthetic.js';
import { loadModel } from '../models/io.js';
import { OptionError } from '../errors.js';

const root = await mkdtemp(join(tmpdir(), 'galmorph-train-'));
process.on('exit', () => void rm(root, { recursive: true, force: true }));

/** The tiny configuration CI trains: ~120 synthetic galaxies, resnet-tiny at 32 px. */
function tiny(out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    data: syntheticTrainingSet(120, 3),
    schema: SYNTHETIC_SCHEMA,
    out: join(root, out),
    architecture: 'resnet-tiny',
    size: 32,
    epochs: 2,
    batchSize: 8,
    learningRate: 3e-3,
    valFraction: 0.2,
    workers: 1,
    seed: 11,
    backend: 'wasm',
    progress: false,
    ...extra,
  };
}

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

test('kill -9 mid-epoch, re-run: resumes where it stopped and ends as if never killed', async () => {
  const reference = await train(tiny('ref'));
  const out = join(root, 'killed');
  // Child process: the same run, checkpointing after every step.
  const script = `
    import { train } from ${JSON.stringify(new URL('./train.ts', import.meta.url).href)};
    import { syntheticTrainingSet, SYNTHETIC_SCHEMA } from ${JSON.stringify(new URL('./synthetic.ts', import.meta.url).href)};
    await train({ data: syntheticTrainingSet(120, 3), schema: SYNTHETIC_SCHEMA, out: ${JSON.stringify(out)},
      architecture: 'resnet-tiny', size: 32, epochs: 2, batchSize: 8, learningRate: 3e-3, valFraction: 0.2, workers: 1, seed: 11,
      backend: 'wasm', progress: false, checkpointSeconds: 0 });`;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let killedAt: { epoch: number; step: number } | undefined;
  for (let i = 0; i < 600 && !killedAt; i++) {
    await new Promise((res) => setTimeout(res, 50));
    const ck = existsSync(join(out, 'checkpoint.bin')) ? await readCheckpoint(out) : undefined;
    if (ck && ck.state.epoch === 1 && ck.state.step >= 2) {
      child.kill('SIGKILL');
      killedAt = { epoch: ck.state.epoch, step: ck.state.step };
    }
  }
  await exited;
  assert.ok(killedAt, 'the child never reached epoch 2');
  const resumed = await train(tiny('killed', { checkpointSeconds: 0 }));
  assert.equal(resumed.resumedFrom?.epoch, 1);
  assert.ok(resumed.resumedFrom!.step >= killedAt.step);
  assert.equal(resumed.history.length, 2);
  assert.deepEqual(resumed.history.map((h) => h.epoch), [1, 2]);
  assert.deepEqual(resumed.history.map((h) => h.valLoss), reference.history.map((h) => h.valLoss));
  assert.deepEqual(resumed.history.map((h) => h.trainLoss), reference.history.map((h) => h.trainLoss));
  const w1 = await readFile(join(reference.out, 'weights.bin'));
  const w2 = await readFile(join(out, 'weights.bin'));
  assert.ok(w1.equals(w2), 'resumed run ends with different weights');
});

test('an aborted run checkpoints and resumes; more epochs can be added later', async () => {
  const ac = new AbortController();
  let steps = 0;
  const data = syntheticTrainingSet(120, 3);
  const orig = data.image.bind(data);
  // Abort once a few batches have been prepared.
  const counting = { ...data, image: (i: number, s: number, b: 1 | 3) => (++steps === 40 && ac.abort(), orig(i, s, b)) };
  const first = await train(tiny('abort', { data: counting, signal: ac.signal, epochs: 1 }));
  assert.equal(first.interrupted, true);
  assert.equal(first.history.length, 0);
  const second = await train(tiny('abort', { epochs: 1 }));
  assert.equal(second.interrupted, false);
  assert.equal(second.history.length, 1);
  assert.equal(second.resumedFrom?.epoch, 0);
  assert.ok(second.resumedFrom!.step > 0);
  const third = await train(tiny('abort', { epochs: 2 }));
  assert.deepEqual(third.history.map((h) => h.epoch), [1, 2]);
});

test('a checkpoint from a different run is refused, naming what differs', async () => {
  await train(tiny('mismatch', { epochs: 1 }));
  await assert.rejects(train(tiny('mismatch', { epochs: 2, batchSize: 16 })), (e: Error) => e instanceof OptionError && /batchSize/.test(e.message));
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
