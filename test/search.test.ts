/** Similarity search: exact search, query combination, filters, persistence and errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTable, type Cell } from '../src/data/index.js';
import { CatalogError, OptionError } from '../src/errors.js';
import { buildIndex, exactSearch, openIndex, parseWhere } from '../src/search/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'gm-search-'));

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
}

function randomVectors(n: number, d: number, seed = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * d }, () => r() - 0.5);
}

/** Cosine similarity the slow, obvious way. */
function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let j = 0; j < a.length; j++) {
    ab += a[j] * b[j];
    aa += a[j] * a[j];
    bb += b[j] * b[j];
  }
  return ab / Math.sqrt(aa * bb);
}

const row = (x: Float32Array, i: number, d: number) => x.subarray(i * d, (i + 1) * d);

test('exactSearch equals a naive scan (cosine and l2, subsets, exclusions, batched queries)', () => {
  const n = 700, d = 13, nq = 5, k = 9;
  const raw = randomVectors(n, d, 3);
  const unit = Float32Array.from(raw);
  for (let i = 0; i < n; i++) {
    const v = row(unit, i, d);
    const s = Math.hypot(...v);
    for (let j = 0; j < d; j++) v[j] /= s;
  }
  const queries = Float32Array.from(unit.subarray(0, nq * d));
  const subset = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0);
  const exclude = new Set([1, 2, 4]);
  for (const metric of ['cosine', 'l2'] as const) {
    const data = metric === 'cosine' ? unit : raw;
    const qs = metric === 'cosine' ? queries : Float32Array.from(raw.subarray(0, nq * d));
    const got = exactSearch(data, d, qs, k, metric, { rows: subset, exclude });
    for (let q = 0; q < nq; q++) {
      const naive = subset
        .filter((i) => !exclude.has(i))
        .map((i) => {
          const a = row(data, i, d), b = row(qs, q, d);
          let s = 0;
          for (let j = 0; j < d; j++) s += metric === 'cosine' ? a[j] * b[j] : -((a[j] - b[j]) ** 2);
          return { row: i, score: s };
        })
        .sort((a, b) => b.score - a.score || a.row - b.row)
        .slice(0, k);
      assert.deepEqual(got[q].map((h) => h.row), naive.map((h) => h.row), `${metric} query ${q}`);
      got[q].forEach((h, i) => assert.ok(Math.abs(h.score - naive[i].score) < 1e-5));
    }
  }
});

test('an exact index returns the cosine neighbours of a naive scan, excluding the query, with scores and distances', async () => {
  const n = 400, d = 8;
  const data = randomVectors(n, d, 5);
  const ids = Array.from({ length: n }, (_, i) => `G${i}`);
  const out = join(tmp(), 'idx');
  const m = await buildIndex({ vectors: { ids, data, dim: d }, out, center: false });
  assert.equal(m.method, 'exact');
  assert.equal(m.ann, null);
  const index = await openIndex(out);
  const hits = await index.search({ positives: ['G7'], k: 10 });
  const naive = ids
    .map((id, i) => ({ id, s: cosine(row(data, 7, d), row(data, i, d)) }))
    .filter((x) => x.id !== 'G7')
    .sort((a, b) => b.s - a.s)
    .slice(0, 10);
  assert.deepEqual(hits.map((h) => h.id), naive.map((x) => x.id));
  hits.forEach((h, i) => {
    assert.equal(h.rank, i + 1);
    assert.ok(Math.abs(h.score - naive[i].s) < 1e-5);
    assert.ok(Math.abs(h.distance - (1 - h.score)) < 1e-12);
  });
  // A vector query is normalised like the index: the raw vector of G7 finds G7 itself first.
  const byVector = await index.search({ positives: [Float32Array.from(row(data, 7, d))], k: 3 });
  assert.equal(byVector[0].id, 'G7');
  assert.ok(byVector[0].score > 0.99999);
  index.close();
});

test('centring: cosine is measured around the mean vector, and the mean is applied to vector queries', async () => {
  const d = 4;
  const ids = ['a', 'b', 'c', 'd'];
  // Everything sits near (10, 10, 10, 10): uncentred, all cosines ≈ 1; centred, a ≈ b and c ≈ d.
  const data = Float32Array.from([11, 10, 10, 10, 11.1, 10.1, 10, 10, 9, 10, 10, 10.2, 9, 10, 10.1, 10.1]);
  const out = join(tmp(), 'idx');
  const m = await buildIndex({ vectors: { ids, data, dim: d }, out });
  assert.equal(m.normalisation.center, true);
  [10.025, 10.025, 10.025, 10.075].forEach((x, j) => assert.ok(Math.abs(m.mean![j] - x) < 1e-5, `mean ${j}`));
  const index = await openIndex(out);
  assert.equal((await index.search({ positives: ['a'], k: 1 }))[0].id, 'b');
  assert.equal((await index.search({ positives: ['c'], k: 1 }))[0].id, 'd');
  assert.equal((await index.search({ positives: [Float32Array.from([11, 10, 10, 10])], k: 1 }))[0].id, 'a');
  index.close();
});

test('several positives are averaged and negatives subtracted (Rocchio: q = mean(pos) − β·mean(neg))', async () => {
  const d = 3;
  const ids = ['x', 'y', 'xy', 'x2', 'xny', 'z'];
  const data = Float32Array.from([1, 0, 0, 0, 1, 0, 1, 1, 0.05, 0.95, 0.1, 0, 1, -0.4, 0, 0, 0, 1]);
  const out = join(tmp(), 'idx');
  await buildIndex({ vectors: { ids, data, dim: d }, out, center: false });
  const index = await openIndex(out);
  // x and y together: the galaxy between them wins, and neither query is returned.
  const both = await index.search({ positives: ['x', 'y'], k: 4 });
  assert.equal(both[0].id, 'xy');
  assert.ok(!both.some((h) => h.id === 'x' || h.id === 'y'));
  // x alone: x2 is the closest; x pushed away from y: xny (x with a −y component) overtakes it.
  assert.equal((await index.search({ positives: ['x'], k: 1 }))[0].id, 'x2');
  const away = await index.search({ positives: ['x'], negatives: ['y'], negativeWeight: 1, k: 5 });
  assert.equal(away[0].id, 'xny');
  assert.ok(!away.some((h) => h.id === 'y'), 'negatives are excluded too');
  // The documented rule, recomputed by hand: q = x̂ − 1·ŷ normalised; score = cos(q, row).
  const q = [1 / Math.SQRT2, -1 / Math.SQRT2, 0];
  assert.ok(Math.abs(away[0].score - cosine(q, [1, -0.4, 0])) < 1e-5);
  // β = 0 ignores negatives (but still excludes them).
  assert.equal((await index.search({ positives: ['x'], negatives: ['y'], negativeWeight: 0, k: 1 }))[0].id, 'x2');
  await assert.rejects(index.search({ positives: ['x'], negatives: ['x'], negativeWeight: 1 }), /query vector is zero/);
  index.close();
});

/** Embeddings table as embedSurvey writes it, plus a catalogue with tags and magnitudes. */
async function survey(dir: string, n: number, format: 'parquet' | 'csv' = 'parquet') {
  const r = rng(11);
  const rows: Record<string, Cell>[] = [];
  const cat: Record<string, Cell>[] = [];
  for (let i = 0; i < n; i++) {
    const id = `J${String(i).padStart(4, '0')}`;
    const group = i % 4;
    const rec: Record<string, Cell> = { id, ra: 150 + i / 100, dec: 2, status: i === 5 ? 'error: corrupt image' : 'ok' };
    for (let j = 0; j < 8; j++) rec[`feat_${String(j).padStart(3, '0')}`] = i === 5 ? NaN : (j === group ? 3 : 0) + r();
    for (let j = 0; j < 3; j++) rec[`pca_0${j}`] = i === 5 ? NaN : (j === group % 3 ? 2 : 0) + r() - 0.5;
    rows.push(rec);
    cat.push({ id, tags: ['ring', 'barred,ring', 'edge-on', null][group], mag_r: 14 + (i % 10) / 2, 'smooth-or-featured_smooth_fraction': (i % 7) / 7 });
  }
  const emb = join(dir, `emb.${format}`);
  await writeTable(emb, { columns: Object.keys(rows[0]), rows });
  const catalog = join(dir, 'catalog.csv');
  await writeTable(catalog, { columns: Object.keys(cat[0]), rows: cat });
  return { emb, catalog };
}

test('embeddings tables: pca_ preferred, error rows skipped, CSV and Parquet agree, shards combine', async () => {
  const dir = tmp();
  const { emb } = await survey(dir, 40);
  const m = await buildIndex({ embeddings: emb, out: join(dir, 'a') });
  assert.deepEqual(m.columns, ['pca_00', 'pca_01', 'pca_02']);
  assert.equal(m.count, 39);
  assert.deepEqual(m.skipped, { status: 1, nonFinite: 0 });
  assert.equal(m.representationDim, 8);
  const feat = await buildIndex({ embeddings: emb, out: join(dir, 'b'), columns: 'feat' });
  assert.equal(feat.dim, 8);
  const explicit = await buildIndex({ embeddings: emb, out: join(dir, 'c'), columns: ['feat_001', 'feat_000'] });
  assert.deepEqual(explicit.columns, ['feat_001', 'feat_000']);

  const csvDir = tmp();
  const { emb: csv } = await survey(csvDir, 40, 'csv');
  await buildIndex({ embeddings: csv, out: join(csvDir, 'a') });
  const [p, c] = [await openIndex(join(dir, 'a')), await openIndex(join(csvDir, 'a'))];
  const hp = await p.search({ positives: ['J0010'], k: 8 });
  const hc = await c.search({ positives: ['J0010'], k: 8 });
  assert.deepEqual(hp.map((h) => h.id), hc.map((h) => h.id));
  p.close();
  c.close();

  await assert.rejects(buildIndex({ embeddings: [emb, csv], out: join(dir, 'dup') }), (e: Error) => e instanceof CatalogError && /appears twice/.test(e.message));
});

test('persistence: a reopened index gives identical results; the directory holds the documented files', async () => {
  const dir = tmp();
  const { emb, catalog } = await survey(dir, 60);
  const out = join(dir, 'idx');
  await buildIndex({ embeddings: emb, out, catalog });
  for (const f of ['manifest.json', 'ids.json', 'vectors.f32']) assert.ok(existsSync(join(out, f)), f);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.format, 'galmorph-similarity-index');
  assert.equal(manifest.metric, 'cosine');
  assert.equal(readFileSync(join(out, 'vectors.f32')).byteLength, 59 * 3 * 4);
  const a = await openIndex(out);
  const first = await a.search({ positives: ['J0001', 'J0009'], negatives: ['J0002'], k: 12, where: 'mag_r < 16', columns: ['tags'] });
  a.close();
  const b = await openIndex(out);
  assert.deepEqual(await b.search({ positives: ['J0001', 'J0009'], negatives: ['J0002'], k: 12, where: 'mag_r < 16', columns: ['tags'] }), first);
  b.close();
  await assert.rejects(buildIndex({ embeddings: emb, out }), /already exists/);
  await buildIndex({ embeddings: emb, out, overwrite: true, columns: 'feat' });
  assert.equal((await openIndex(out)).manifest.dim, 8);
});

test('where filters: SQL semantics on catalogue columns, ids without a catalogue, clear errors', async () => {
  const dir = tmp();
  const { emb, catalog } = await survey(dir, 80);
  const out = join(dir, 'idx');
  await buildIndex({ embeddings: emb, out });
  const index = await openIndex(out, { catalog });
  const hits = await index.search({ positives: ['J0000'], k: 10, where: "has_tag(tags, 'ring') AND mag_r BETWEEN 14.5 AND 16", columns: ['tags', 'mag_r'] });
  assert.ok(hits.length > 0 && hits.length <= 10);
  for (const h of hits) {
    assert.ok(String(h.tags).split(',').includes('ring'));
    assert.ok((h.mag_r as number) >= 14.5 && (h.mag_r as number) <= 16);
  }
  // Fewer rows pass than k: all of them are returned, best first.
  const few = await index.search({ positives: ['J0000'], k: 50, where: "id IN ('J0003', 'J0004', 'J0000') OR id LIKE 'J007_'" });
  assert.deepEqual(few.map((h) => h.id).sort(), ['J0003', 'J0004', 'J0070', 'J0071', 'J0072', 'J0073', 'J0074', 'J0075', 'J0076', 'J0077', 'J0078', 'J0079']);
  // Quoted names with dashes; missing tags (an empty CSV cell) are NULL.
  const q = await index.search({ positives: ['J0000'], k: 80, where: '"smooth-or-featured_smooth_fraction" >= 0.5 AND tags IS NULL' });
  assert.ok(q.length > 0 && q.every((h) => Number(h.id.slice(1)) % 4 === 3));
  await assert.rejects(index.search({ positives: ['J0000'], where: 'mag_r <' }), (e: Error) => e instanceof OptionError && /where: the expression ends too early at character 8/.test(e.message));
  await assert.rejects(index.search({ positives: ['J0000'], where: 'magr < 3' }), /no column "magr" .*similar: mag_r/);
  await assert.rejects(index.search({ positives: ['J0000'], where: 'smooth-or-featured_smooth_fraction > 1' }), /where:|no column/);
  index.close();

  // Without a catalogue, the embeddings table itself serves (ra/dec), and `id` always works.
  const bare = await openIndex(out);
  assert.ok((await bare.search({ positives: ['J0000'], k: 5, where: 'ra > 150.5', columns: ['ra'] })).every((h) => (h.ra as number) > 150.5));
  await assert.rejects(bare.search({ positives: ['J0000'], where: 'mag_r < 3' }), /no column "mag_r"/);
  bare.close();
});

test('parseWhere: operators, precedence, NULL logic, functions', () => {
  const row: Record<string, Cell> = { a: 3, b: null, s: 'Ring,Bar', n: '007', x: NaN, t: true };
  const ok = (expr: string) => parseWhere(expr).test((c) => row[c] ?? null);
  assert.ok(ok('a = 3 AND NOT a <> 3'));
  assert.ok(ok('a + 1 * 2 = 5 AND (a + 1) * 2 = 8 AND -a < 0 AND a % 2 = 1'));
  assert.ok(ok('a IN (1, 2, 3) AND a NOT IN (4) AND a BETWEEN 3 AND 4 AND a NOT BETWEEN 4 AND 9'));
  assert.ok(!ok('b = 1') && !ok('NOT b = 1') && ok('b IS NULL') && ok('a IS NOT NULL') && ok('x IS NULL'));
  assert.ok(ok('b = 1 OR a = 3') && !ok('b = 1 AND a = 3'));
  assert.ok(ok("has_tag(s, 'ring') AND NOT has_tag(s, 'rin') AND s LIKE 'Ring%' AND s NOT LIKE 'ring%' AND s ILIKE 'ring%'"));
  assert.ok(ok("n = 7 AND n = '007' AND lower(s) = 'ring,bar' AND length(s) = 8 AND abs(-a) = 3 AND coalesce(b, a) = 3"));
  assert.ok(ok("t = TRUE AND s || '!' = 'Ring,Bar!'"));
  assert.deepEqual(parseWhere('"smooth-or-featured" > 1 AND mag_r < 2').columns, ['smooth-or-featured', 'mag_r']);
  for (const bad of ['', 'a =', 'a = 1 1', "s LIKE 3", 'nosuch(a)', 'abs(a, b)', "'open", 'a @ 1', 'a BETWEEN 1 OR 2']) {
    assert.throws(() => parseWhere(bad), OptionError, bad);
  }
  assert.throws(() => parseWhere("s + 1 > 0").test((c) => row[c] ?? null), /needs numbers/);
});

test('errors: unknown ids with suggestions, dimension mismatch, empty or unusable embeddings', async () => {
  const dir = tmp();
  const { emb } = await survey(dir, 30);
  const out = join(dir, 'idx');
  await buildIndex({ embeddings: emb, out });
  const index = await openIndex(out);
  await assert.rejects(index.search({ positives: ['J001'] }), (e: Error) => e instanceof OptionError && /unknown galaxy id "J001".*did you mean "J0001"/.test(e.message));
  await assert.rejects(index.search({ positives: [new Float32Array(5)] }), /dimension mismatch: positive vector 1 has 5 values, the index has 3/);
  await assert.rejects(index.search({ positives: [] }), /at least one positive/);
  await assert.rejects(index.search({ positives: ['J0001'], k: 0 }), /k must be a positive integer/);
  await assert.rejects(index.search({ positives: [{ image: 'x.png' }] }), /image queries need the model/);
  index.close();

  const header = join(dir, 'empty.csv');
  writeFileSync(header, 'id,status,feat_000,feat_001\n');
  await assert.rejects(buildIndex({ embeddings: header, out: join(dir, 'e') }), /has no rows/);
  const allBad = join(dir, 'bad.csv');
  writeFileSync(allBad, 'id,status,feat_000\na,error: x,nan\nb,ok,nan\n');
  await assert.rejects(buildIndex({ embeddings: allBad, out: join(dir, 'e') }), /no usable rows among 2 \(1 with an error status, 1 with NaN values\)/);
  const noFeat = join(dir, 'nofeat.csv');
  writeFileSync(noFeat, 'id,x\na,1\n');
  await assert.rejects(buildIndex({ embeddings: noFeat, out: join(dir, 'e') }), /no feat_ columns \(nor pca_\)/);
  const { emb: other } = await survey(tmp(), 10);
  await assert.rejects(buildIndex({ embeddings: [emb, other], out: join(dir, 'e'), columns: ['feat_000'] }), /appears twice/);
  const narrow = join(dir, 'narrow.csv');
  writeFileSync(narrow, 'id,status,pca_00,pca_01\nz,ok,1,2\n');
  await assert.rejects(buildIndex({ embeddings: [emb, narrow], out: join(dir, 'e') }), /dimension mismatch/);
  await assert.rejects(buildIndex({ embeddings: join(dir, 'missing.parquet'), out: join(dir, 'e') }), /file not found/);
  await assert.rejects(openIndex(join(dir, 'nowhere')), /not a similarity index/);
});
