/** `galmorph anomalies rank` and `galmorph anomalies label` in a child process, answers typed on stdin. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTable, writeTable } from '../src/data/index.js';
import { makeEmbeddings, tmp, type EmbeddingsFixture } from './anomaly-fixtures.js';

const child = fileURLToPath(new URL('./anomaly-cli-child.mts', import.meta.url));
let fx: EmbeddingsFixture;
let root = '';

before(async () => {
  root = tmp();
  fx = await makeEmbeddings(root, 300, 12, 5, 'csv');
});

function galmorph(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, ...args], { input, encoding: 'utf8', timeout: 50_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('anomalies label: type answers, quit, run again to resume, then write the ranking', async () => {
  const session = join(root, 'session');
  const catalog = join(root, 'catalog.csv');
  await writeTable(catalog, { columns: ['id', 'image_path'], rows: fx.ids.map((id) => ({ id, image_path: `img/${id}.png` })) });
  let r = galmorph(['anomalies', 'label', '--session', session, '--embeddings', fx.path, '--catalog', catalog, '--components', '6', '--no-mosaic'], '4\n0\nq\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /300 galaxies, 0 labelled so far/);
  assert.match(r.stdout, /img\/G\d{5}\.png/);
  assert.match(r.stderr, /2 scored, 0 skipped this time; 2 labels in the session/);
  assert.equal(readFileSync(join(session, 'labels.csv'), 'utf8').trim().split('\n').length, 3);

  const out = join(root, 'ranking.parquet');
  r = galmorph(['anomalies', 'label', '--session', session, '--out', out, '--no-mosaic'], 's\n1\n2\n3\n4\n5\n0\n1\n2\n3\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 labelled so far/);
  assert.match(r.stdout, /retrained on 9 labels/);
  assert.match(r.stderr, /9 scored, 1 skipped this time; 11 labels in the session/);
  assert.match(r.stderr, /ranked 300 galaxies in \d+\.\d s/);
  const t = await readTable(out);
  assert.equal(t.rows.length, 300);
  assert.equal(t.rows.filter((row) => Number.isFinite(row.label)).length, 11);
});

test('anomalies rank: unsupervised, from scores, and one-line errors', async () => {
  const out = join(root, 'unsupervised.csv');
  let r = galmorph(['anomalies', 'rank', '--embeddings', fx.path, '--out', out, '--components', '6']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ranked 300 galaxies \(1 row without a usable representation left out\) by anomaly score \(unsupervised\)/);
  assert.ok(existsSync(out));

  const scores = join(root, 'scores.csv');
  await writeTable(scores, { columns: ['id', 'score'], rows: fx.ids.slice(0, 40).map((id, i) => ({ id, score: i < 5 ? 5 : 0 })) });
  r = galmorph(['anomalies', 'rank', '--embeddings', fx.path, '--labels', scores, '--out', join(root, 'learned.parquet'), '--components', '6']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /from 40 scores/);

  const bad = join(root, 'bad.csv');
  await writeTable(bad, { columns: ['id', 'score'], rows: [{ id: 'G00001', score: 9 }] });
  r = galmorph(['anomalies', 'rank', '--embeddings', fx.path, '--labels', bad, '--out', join(root, 'x.csv')]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^galmorph: error: .*bad\.csv row 2: score 9 for "G00001" is not a number from 0 to 5/);

  r = galmorph(['anomalies', 'label', '--session', join(root, 'nothing-here')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /holds no labelling session yet: give the embeddings to start one/);
});
