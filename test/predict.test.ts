/** predictSurvey: columns, probabilities, sharding, resume, error rows, output formats. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { readTable, type Cell } from '../src/data/index.js';
import { getSchema } from '../src/schema/index.js';
import { OptionError } from '../src/errors.js';
import { predictSurvey, parseShard, shardRange, summariseConcentrations } from '../src/predict/index.js';
import { makeCatalog, makeImages, makeModelDir, tmp } from './predict-fixtures.js';

const schema = getSchema('decals-dr5');
let model = '';
let catalog = '';
let images = '';
const N = 24; // + 1 corrupt row in the catalogue

before(async () => {
  model = await makeModelDir();
  ({ catalog } = await makeCatalog(N));
  images = await makeImages(10);
});

type Row = Record<string, Cell>;
const num = (r: Row, c: string) => r[c] as number;

function assertClose(a: Row[], b: Row[], tol = 1e-5): void {
  assert.equal(a.length, b.length);
  a.forEach((ra, i) => {
    for (const [k, v] of Object.entries(ra)) {
      const w = b[i][k];
      if (typeof v === 'number' && typeof w === 'number' && !(Number.isNaN(v) && Number.isNaN(w))) assert.ok(Math.abs(v - w) <= tol, `row ${i} ${k}: ${v} vs ${w}`);
      else assert.deepEqual(w, v, `row ${i} ${k}`);
    }
  });
}

test('shards are contiguous, disjoint and cover the input', () => {
  assert.deepEqual(parseShard('3/16'), { index: 3, count: 16 });
  for (const bad of ['3/2', '2/2', '-1/4', '1', 'a/b', '0/0']) assert.throws(() => parseShard(bad), OptionError, bad);
  for (const n of [0, 1, 7, 100]) {
    for (const count of [1, 3, 8]) {
      let next = 0;
      for (let index = 0; index < count; index++) {
        const [s, e] = shardRange(n, { index, count });
        assert.equal(s, next);
        next = e;
      }
      assert.equal(next, n);
    }
  }
});

test('summariseConcentrations: mixture mean and total variance', () => {
  const tiny = { ...schema, questions: [schema.questions[0]], nAnswers: 3 } as unknown as typeof schema;
  // Two passes, one galaxy: α = (2, 1, 1) and (1, 1, 2).
  const s = summariseConcentrations(tiny, Float32Array.from([2, 1, 1, 1, 1, 2]), 2, 1);
  assert.ok(Math.abs(s[0] - (0.5 + 0.25) / 2) < 1e-12);
  const dirichletVar = ((0.5 * 0.5) / 5 + (0.25 * 0.75) / 5) / 2;
  const passVar = ((0.5 - 0.375) ** 2 + (0.25 - 0.375) ** 2) / 2;
  assert.ok(Math.abs(s[3] - Math.sqrt(dirichletVar + passVar)) < 1e-12);
  assert.ok(Math.abs(s[6] - 1.5) < 1e-12);
});

test('predict writes id/ra/dec/status and per-answer fraction, std, concentration; error rows keep going', async () => {
  const out = join(tmp(), 'preds.parquet');
  const r = await predictSurvey({ model, catalog, out, batchSize: 8, chunkSize: 10 });
  assert.equal(r.rows, N + 1);
  assert.equal(r.ok, N);
  assert.equal(r.errors, 1);
  assert.equal(r.errorExamples[0].id, 'JBAD');
  const t = await readTable(out, { rawColumns: ['id'] });
  const answers = schema.answerColumns;
  assert.deepEqual(t.columns, [
    'id', 'ra', 'dec', 'status',
    ...answers.map((a) => `${a}_fraction`), ...answers.map((a) => `${a}_fraction_std`), ...answers.map((a) => `${a}_concentration`),
  ]);
  assert.equal(t.rows.length, N + 1);
  const bad = t.rows[3];
  assert.equal(bad.id, 'JBAD');
  assert.match(bad.status as string, /^error: .*broken\.png/);
  assert.ok(Number.isNaN(num(bad, `${answers[0]}_fraction`)));
  for (const row of t.rows.filter((x) => x.status === 'ok')) {
    assert.equal(typeof row.ra, 'number');
    for (const q of schema.questions) {
      const sum = q.columns.reduce((s, c) => s + num(row, `${c}_fraction`), 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, `${q.name} fractions sum to ${sum}`);
      for (const c of q.columns) {
        assert.ok(num(row, `${c}_fraction_std`) >= 0);
        assert.ok(num(row, `${c}_fraction_std`) < 0.5);
        assert.ok(num(row, `${c}_concentration`) > 1 && num(row, `${c}_concentration`) < 101);
      }
    }
  }
  assert.deepEqual(readdirSync(dirname(out)), ['preds.parquet'], 'partial folder removed, nothing else left');
});

test('predictions do not depend on batch size or shard layout; shards union to the full run', async () => {
  const root = tmp();
  const full = (await readTable((await predictSurvey({ model, catalog, out: join(root, 'full.parquet'), batchSize: 5, chunkSize: 7 })).out)).rows;
  const parts: Row[] = [];
  for (let i = 0; i < 3; i++) {
    const out = join(root, `preds-${i}.parquet`);
    const r = await predictSurvey({ model, catalog, out, shard: { index: i, count: 3 }, batchSize: 3, chunkSize: 4 });
    assert.deepEqual(r.range, shardRange(N + 1, { index: i, count: 3 }));
    parts.push(...(await readTable(out)).rows);
  }
  assert.equal(new Set(parts.map((r) => r.id)).size, parts.length, 'no duplicates');
  assertClose(parts, full);
});

test('an interrupted run resumes with no lost or duplicated rows and equals an uninterrupted one', async () => {
  const root = tmp();
  const ref = (await readTable((await predictSurvey({ model, catalog, out: join(root, 'ref.csv'), chunkSize: 6, batchSize: 4 })).out)).rows;
  const out = join(root, 'run.csv');
  const stop = new AbortController();
  await assert.rejects(
    predictSurvey({ model, catalog, out, chunkSize: 6, batchSize: 4, signal: stop.signal, onProgress: (done) => done >= 14 && stop.abort(new Error('killed')) }),
    /killed/,
  );
  assert.ok(!existsSync(out), 'no output while partial');
  const partial = join(root, '.run.csv.partial');
  assert.deepEqual(readdirSync(partial).filter((f) => f.startsWith('part-')), ['part-000000.parquet', 'part-000001.parquet']);
  // Different settings may not mix with the committed chunks.
  await assert.rejects(predictSurvey({ model, catalog, out, chunkSize: 6, passes: 3 }), /different settings/);
  const seen: number[] = [];
  const r = await predictSurvey({ model, catalog, out, chunkSize: 6, batchSize: 4, onProgress: (d) => seen.push(d) });
  assert.equal(r.resumedRows, 12);
  assert.equal(seen[0], 12);
  assert.equal(seen.at(-1), N + 1);
  assertClose((await readTable(out)).rows, ref, 1e-8);
  assert.ok(!existsSync(partial));
  await assert.rejects(predictSurvey({ model, catalog, out }), /already exists/);
  assert.equal((await predictSurvey({ model, catalog, out, overwrite: true, passes: 1 })).rows, N + 1);
});

test('a directory of images: ids are file stems in name order; CSV and Parquet agree', async () => {
  const root = tmp();
  const a = await predictSurvey({ model, images, out: join(root, 'a.parquet'), passes: 2 });
  const b = await predictSurvey({ model, images, out: join(root, 'b.csv'), passes: 2 });
  const ta = await readTable(a.out, { rawColumns: ['id'] });
  const tb = await readTable(b.out, { rawColumns: ['id'] });
  assert.deepEqual(ta.rows.map((r) => r.id), Array.from({ length: 10 }, (_, i) => `g${String(i).padStart(3, '0')}`));
  assert.ok(!ta.columns.includes('ra'));
  assertClose(tb.rows, ta.rows, 1e-12);
});

test('a run killed with SIGKILL resumes to the same output', async () => {
  const root = tmp();
  const opts = { model, catalog, chunkSize: 3, batchSize: 3, passes: 2 };
  const ref = (await readTable((await predictSurvey({ ...opts, out: join(root, 'ref.parquet') })).out)).rows;
  const out = join(root, 'killed.parquet');
  const partial = join(root, '.killed.parquet.partial');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'predict-child.mts'), JSON.stringify({ ...opts, out })], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !(existsSync(partial) && readdirSync(partial).filter((f) => f.startsWith('part-')).length >= 2)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  const finished = existsSync(out);
  const committed = existsSync(partial) ? readdirSync(partial).filter((f) => f.startsWith('part-')).length : 0;
  if (!finished) assert.ok(committed >= 2 && committed <= Math.ceil((N + 1) / 3), `killed mid-run: ${committed} chunks committed`);
  const r = await predictSurvey({ ...opts, out, overwrite: finished });
  if (!finished) assert.equal(r.resumedRows, committed * 3);
  assertClose((await readTable(out)).rows, ref, 1e-9);
});
