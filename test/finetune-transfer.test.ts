/** finetune() from a fine-tuned model (survey transfer): the new head sits on the fine-tuned encoder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { finetune, loadFinetuned } from '../src/finetune/index.js';
import { makeBase, makeLabelled, tmp } from './finetune-fixtures.js';

test('a fine-tuned model is a base: its encoder is kept, its head replaced, its origin recorded', async () => {
  const base = await makeBase();
  const data = await makeLabelled(40);
  const first = join(tmp(), 'first');
  await finetune({ base, labels: data.labels, task: 'binary', mode: 'full', out: first, epochs: 2, learningRate: 1e-2, batchSize: 16 });
  // A frozen encoder (linear probe) must embed exactly as the first model's encoder does.
  const second = join(tmp(), 'second');
  const r = await finetune({ base: first, labels: data.labels, task: 'binary', mode: 'linear-probe', out: second, classes: ['faint', 'bright'] });
  assert.deepEqual(r.classes, ['faint', 'bright']);
  const [a, b] = await Promise.all([loadFinetuned(first), loadFinetuned(second)]);
  const x = new Float32Array(4 * a.config.inputSize * a.config.inputSize * a.config.bands).map((_, i) => (i % 17) / 17);
  assert.deepEqual(await b.embed(x), await a.embed(x));
  const origin = b.config.base.config;
  assert.equal(origin.format, 'galmorph-model', 'the config of the encoder it descends from, so the architecture travels');
  assert.equal(b.config.base.path, first);
  a.dispose();
  b.dispose();
});
