/** predict/embed give the same numbers on the onnx and tfjs encoder engines. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readTable } from '../src/data/index.js';
import { OptionError } from '../src/errors.js';
import { embedSurvey, predictSurvey, DEFAULT_INFERENCE_ENGINE } from '../src/predict/index.js';
import { makeImages, makeModelDir, tmp } from './predict-fixtures.js';
import { cli } from './run-cli.js';

let model = '';
let images = '';
before(async () => {
  model = await makeModelDir();
  images = await makeImages(9);
});

/** Largest absolute difference over the numeric cells of two tables with the same rows. */
async function maxDiff(a: string, b: string): Promise<number> {
  const [ta, tb] = [await readTable(a), await readTable(b)];
  assert.deepEqual(ta.columns, tb.columns);
  let d = 0;
  ta.rows.forEach((r, i) => {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === 'number') d = Math.max(d, Math.abs(v - (tb.rows[i][k] as number)));
      else assert.deepEqual(tb.rows[i][k], v);
    }
  });
  return d;
}

test('onnx is the default engine and agrees with tfjs on MC-dropout predictions and embeddings', async () => {
  assert.equal(DEFAULT_INFERENCE_ENGINE, 'onnx');
  const root = tmp();
  const run = (engine: 'onnx' | 'tfjs', kind: string) => join(root, `${kind}-${engine}.parquet`);
  for (const engine of ['onnx', 'tfjs'] as const) {
    await predictSurvey({ model, images, out: run(engine, 'p'), passes: 3, batchSize: 4, engine, threads: 2 });
    await embedSurvey({ model, images, out: run(engine, 'e'), engine });
  }
  assert.ok((await maxDiff(run('onnx', 'p'), run('tfjs', 'p'))) < 1e-4);
  assert.ok((await maxDiff(run('onnx', 'e'), run('tfjs', 'e'))) < 1e-5);
});

test('engine and threads options are checked', async () => {
  const out = join(tmp(), 'p.parquet');
  await assert.rejects(predictSurvey({ model, images, out, engine: 'torch' as 'onnx' }), (e: Error) => e instanceof OptionError && /onnx, tfjs/.test(e.message));
  await assert.rejects(predictSurvey({ model, images, out, threads: 0 }), OptionError);
  const r = await cli('predict', '--model', model, '--images', images, '--out', out, '--engine', 'tfjs', '--passes', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /predicted 9 galaxies/);
});
