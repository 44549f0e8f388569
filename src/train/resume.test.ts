import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train, type TrainOptions } from './train.js';
import { readCheckpoint } from './checkpoint.js';
import { tinyTrainOptions } from './synthetic.js';

const root = await mkdtemp(join(tmpdir(), 'galmorph-resume-'));
process.on('exit', () => void rm(root, { recursive: true, force: true }));

const tiny = (out: string, extra: Partial<TrainOptions> = {}) => tinyTrainOptions(join(root, out), extra);

test('kill -9 mid-epoch, re-run: resumes where it stopped and ends as if never killed', async () => {
  const reference = await train(tiny('ref'));
  const out = join(root, 'killed');
  // Child process: the same run, checkpointing after every step, with image loading slowed
  // down (and uncached) so that every step of epoch 2 lasts long enough to be caught.
  const script = `
    import { train } from ${JSON.stringify(new URL('./train.ts', import.meta.url).href)};
    import { tinyTrainOptions } from ${JSON.stringify(new URL('./synthetic.ts', import.meta.url).href)};
    const o = tinyTrainOptions(${JSON.stringify(out)}, { checkpointSeconds: 0, cacheBytes: 0 });
    const image = o.data.image.bind(o.data);
    o.data = { ...o.data, image: async (...a) => (await new Promise((r) => setTimeout(r, 40)), image(...a)) };
    await train(o);`;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let killedAt: { epoch: number; step: number } | undefined;
  for (let i = 0; i < 1500 && !killedAt; i++) {
    await new Promise((res) => setTimeout(res, 20));
    const ck = existsSync(join(out, 'checkpoint.bin')) ? await readCheckpoint(out) : undefined;
    if (ck && ck.state.epoch === 1 && ck.state.step >= 1) {
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
  const data = tiny('abort').data!;
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
