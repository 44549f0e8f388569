/** Labelling sessions: save after every answer, resume, imports and their errors, the interactive loop. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { AnomalySession, rankAnomalies, readLabels, runLabelLoop } from '../src/anomaly/index.js';
import { readTable, writeTable } from '../src/data/index.js';
import { makeEmbeddings, tmp, type EmbeddingsFixture } from './anomaly-fixtures.js';

let fx: EmbeddingsFixture;
let root = '';

before(async () => {
  root = tmp();
  fx = await makeEmbeddings(root, 400, 16, 6);
});

const labelsOnDisk = (dir: string) => readFileSync(join(dir, 'labels.csv'), 'utf8').trim().split('\n').slice(1);

test('session: every answer is on disk at once; reopening resumes the pending batch', async () => {
  const dir = join(tmp(), 'session');
  await assert.rejects(AnomalySession.open(dir), /holds no labelling session yet: give the embeddings/);
  const s = await AnomalySession.open(dir, { embeddings: fx.path, components: 8, seed: 2 });
  assert.equal(s.size, 400, 'the error row is left out');
  const batch = await s.nextQueries();
  assert.equal(batch.length, 10);
  await s.addLabel(batch[0].id, 4);
  assert.deepEqual(labelsOnDisk(dir), [`${batch[0].id},4`]);
  await s.addLabel(batch[1].id, 0);
  await s.skip(batch[2].id);
  assert.equal(labelsOnDisk(dir).length, 2);

  // A new process: same pending queries in the same order, minus answered and skipped.
  const again = await AnomalySession.open(dir);
  assert.deepEqual(again.pending.map((q) => q.id), batch.slice(3).map((q) => q.id));
  assert.deepEqual([...again.labels], [[batch[0].id, 4], [batch[1].id, 0]]);
  assert.deepEqual((await again.nextQueries(3)).map((q) => q.id), batch.slice(3, 6).map((q) => q.id));
  let retrained = false;
  for (const q of again.pending) retrained = (await again.addLabel(q.id, q.id < 'G00006' ? 5 : 1)).retrained || retrained;
  assert.ok(retrained, 'the model is refitted once the batch is complete');
  const next = await again.nextQueries();
  const asked = new Set([...batch.map((q) => q.id)]);
  assert.ok(next.every((q) => !asked.has(q.id) && q.reason === 'expected-improvement'));

  const third = await AnomalySession.open(dir, { embeddings: fx.path });
  assert.deepEqual(third.pending.map((q) => q.id), next.map((q) => q.id));
  const other = await makeEmbeddings(tmp(), 50, 16, 0);
  await assert.rejects(AnomalySession.open(dir, { embeddings: other.path }), /was started from .*emb\.parquet \(400 galaxies\), not .*; use a new session folder/);
  await assert.rejects(again.addLabel('NOPE', 3), /no galaxy "NOPE"/);
  await assert.rejects(again.addLabel(next[0].id, 7), /from 0 to 5, got 7/);

  const out = join(dir, 'ranking.csv');
  const ranking = await third.writeRanking(out);
  const t = await readTable(out, { rawColumns: ['id'] });
  assert.deepEqual(t.columns, ['rank', 'id', 'score', 'predicted', 'anomaly', 'label']);
  assert.equal(t.rows.length, 400);
  assert.equal(t.rows[0].rank, 1);
  assert.equal(t.rows[0].id, third.ids[ranking.order[0]]);
  // Ordered by score (ties at float32 precision by row).
  assert.ok(t.rows.every((r, i) => i === 0 || Math.fround(r.score as number) <= Math.fround(t.rows[i - 1].score as number)));
});

test('label imports: clear errors for unknown ids, bad scores, missing columns, conflicts', async () => {
  const d = tmp();
  const known = new Set(fx.ids);
  const write = (name: string, text: string) => {
    writeFileSync(join(d, name), text);
    return join(d, name);
  };
  assert.deepEqual(await readLabels(write('ok.csv', 'id,score\nG00001,5\nG00002,0.5\nG00001,5\n'), known), [{ id: 'G00001', score: 5 }, { id: 'G00002', score: 0.5 }]);
  await assert.rejects(readLabels(write('u.csv', 'id,score\nG00001,5\nX1,2\nX2,3\n'), known), /u\.csv: 2 ids not in the embeddings \("X1", "X2"\)/);
  await assert.rejects(readLabels(write('r.csv', 'id,score\nG00001,5\nG00002,6\n'), known), /r\.csv row 3: score 6 for "G00002" is not a number from 0 to 5/);
  await assert.rejects(readLabels(write('n.csv', 'id,score\nG00001,-1\n'), known), /row 2: score -1/);
  await assert.rejects(readLabels(write('t.csv', 'id,score\nG00001,great\n'), known), /row 2: score "great"/);
  await assert.rejects(readLabels(write('e.csv', 'id,score\nG00001,\n'), known), /row 2: score \(empty\)/);
  await assert.rejects(readLabels(write('c.csv', 'id,interest\nG00001,3\n'), known), /needs columns "id" and "score" \(0–5\); missing score \(found id, interest\)/);
  await assert.rejects(readLabels(write('d.csv', 'id,score\nG00001,3\nG00001,4\n'), known), /row 3: "G00001" is scored twice \(3 and 4\)/);
  await assert.rejects(rankAnomalies({ embeddings: fx.path, labels: join(d, 'u.csv') }), /2 ids not in the embeddings/);
  const notEmb = join(d, 'cat.csv');
  await writeTable(notEmb, { columns: ['id', 'image_path'], rows: [{ id: 'a', image_path: 'a.png' }] });
  await assert.rejects(rankAnomalies({ embeddings: notEmb }), /cat\.csv is not an embeddings table: expected an "id" column and representation columns feat_000…/);

  const s = await AnomalySession.open(join(d, 'session'), { embeddings: fx.path, components: 8 });
  const scores = join(d, 'scores.parquet');
  await writeTable(scores, { columns: ['id', 'score'], rows: fx.ids.slice(0, 30).map((id, i) => ({ id, score: i < 6 ? 5 : 0 })) });
  assert.equal(await s.importLabels(scores), 30);
  assert.ok(s.learner.model, 'imported scores train the model');
  const r = await rankAnomalies({ embeddings: fx.path, labels: scores, components: 8 });
  assert.equal(r.labelled, 30);
  const top = Array.from(r.ranking.order.subarray(0, 6), (i) => r.galaxies.ids[i]).sort();
  assert.deepEqual(top, fx.outliers);
});

test('interactive loop: scores, skips, junk input, quit, and resume on the next run', async () => {
  const dir = join(tmp(), 'loop');
  const catalog = join(root, 'catalog.csv');
  await writeTable(catalog, { columns: ['id', 'image_path'], rows: fx.ids.map((id) => ({ id, image_path: `images/${id}.png` })) });
  const s = await AnomalySession.open(dir, { embeddings: fx.path, catalog, components: 8 });
  const run = async (session: AnomalySession, text: string) => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (c: Buffer) => (shown += c.toString()));
    input.end(text);
    const result = await runLabelLoop(session, { input, output, mosaic: false });
    return { result, shown };
  };
  const first = await run(s, '3\n\nmaybe\n5\ns\nq\n2\n');
  assert.deepEqual(first.result, { labelled: 2, skipped: 1, retrained: 0, ended: 'quit' });
  assert.match(first.shown, /400 galaxies, 0 labelled so far/);
  assert.match(first.shown, /"maybe"\? type a score 0 \(boring\) … 5/);
  assert.match(first.shown, new RegExp(`${root.replaceAll('/', '\\/')}\\/images\\/G\\d{5}\\.png`), 'shows the image path');
  assert.match(first.shown, /saved: 2 labels in .*labels\.csv; run the same command to continue/);
  assert.equal(labelsOnDisk(dir).length, 2);

  const resumed = await AnomalySession.open(dir);
  const nextId = resumed.pending[0].id;
  const second = await run(resumed, '1\n1\n1\n1\n1\n1\n1\n0\n');
  assert.equal(second.result.ended, 'end-of-input');
  assert.equal(second.result.labelled, 8);
  assert.equal(second.result.retrained, 1, 'refitted when the first batch was complete');
  assert.match(second.shown, new RegExp(`\\] ${nextId}\\n`), 'continues with the first unanswered galaxy');
  assert.match(second.shown, /retrained on 9 labels in \d+\.\d s/);
  assert.match(second.shown, /predicted \d\.\d ± \d\.\d/);
  assert.equal(labelsOnDisk(dir).length, 10);
});

test('session: the trade-off schedule is kept; sessions saved before it keep one trade-off', async () => {
  const dir = join(tmp(), 'session');
  const s = await AnomalySession.open(dir, { embeddings: fx.path, components: 8, tradeoff: 0.7 });
  assert.equal(s.learner.options.tradeoffOnceFound, 0, 'default: collect once something interesting is found');
  const metaPath = join(dir, 'session.json');
  const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  assert.equal((await AnomalySession.open(dir)).learner.options.tradeoffOnceFound, 0);
  delete meta.learner.tradeoffOnceFound;
  writeFileSync(metaPath, JSON.stringify(meta));
  assert.equal((await AnomalySession.open(dir)).learner.options.tradeoffOnceFound, 0.7);
});
