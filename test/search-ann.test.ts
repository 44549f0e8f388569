/** Approximate search (usearch HNSW): recall against exact search, filters with over-fetch and fallback. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, type IndexManifest } from '../src/search/index.js';
import { embeddingLike } from '../bench/similarity/synthetic.js';

const N = 24000;
const D = 64;
let dir = '';
let manifest: IndexManifest;
let queries: Float32Array[] = [];

before(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'gm-ann-')), 'idx');
  // Shaped like galaxy embeddings (see bench/similarity/synthetic.ts), not isotropic noise.
  const { data, centres } = embeddingLike(N, D, 1);
  const ids = Array.from({ length: N }, (_, i) => `G${i}`);
  manifest = await buildIndex({ vectors: { ids, data, dim: D }, out: dir });
  const held = embeddingLike(100, D, 2, centres).data;
  queries = Array.from({ length: 100 }, (_, q) => held.slice(q * D, (q + 1) * D));
});

test('auto method: ≥ 20 000 vectors get an HNSW graph, written beside the vectors', () => {
  assert.equal(manifest.method, 'ann');
  assert.equal(manifest.ann?.library, 'usearch');
  assert.deepEqual([manifest.ann?.connectivity, manifest.ann?.expansionAdd, manifest.ann?.expansionSearch], [16, 128, 64]);
  assert.ok(existsSync(join(dir, 'ann.usearch')));
});

test('recall@10 against exact search ≥ 0.95 with the default settings', async () => {
  const index = await openIndex(dir);
  let hits = 0;
  for (const q of queries) {
    const exact = new Set((await index.search({ positives: [q], k: 10, exact: true })).map((h) => h.id));
    assert.equal(index.lastSearch?.method, 'exact');
    const ann = await index.search({ positives: [q], k: 10 });
    assert.equal(index.lastSearch?.method, 'ann');
    hits += ann.filter((h) => exact.has(h.id)).length;
  }
  const recall = hits / (10 * queries.length);
  assert.ok(recall >= 0.95, `recall@10 = ${recall}`);
  index.close();
});

test('an id query on the graph never returns the query galaxy', async () => {
  const index = await openIndex(dir);
  for (const id of ['G0', 'G1234', 'G23999']) {
    const hits = await index.search({ positives: [id], k: 10 });
    assert.equal(hits.length, 10);
    assert.ok(!hits.some((h) => h.id === id));
  }
  index.close();
});

test('filters: over-fetching from the graph, exact search on small subsets, exact fallback when the graph runs short', async () => {
  const index = await openIndex(dir, { exactFilterRows: 0 });
  const q = queries[0];
  // Half the rows pass: the graph, over-fetched, fills k with passing rows.
  const even = "id LIKE '%0' OR id LIKE '%2' OR id LIKE '%4' OR id LIKE '%6' OR id LIKE '%8'";
  const hits = await index.search({ positives: [q], k: 10, where: even });
  assert.equal(index.lastSearch?.method, 'ann');
  assert.equal(index.lastSearch?.candidates, N / 2);
  assert.equal(hits.length, 10);
  assert.ok(hits.every((h) => Number(h.id.slice(1)) % 2 === 0));
  const exact = new Set((await index.search({ positives: [q], k: 10, where: even, exact: true })).map((h) => h.id));
  assert.ok(hits.filter((h) => exact.has(h.id)).length >= 8);

  // The 300 rows least like the query pass: the graph's nearest 20 000 miss most of them, so
  // the passing rows are searched exactly — and the answer is the exact one.
  const all = await index.search({ positives: [q], k: N, exact: true });
  const far = all.slice(-300).map((h) => h.id);
  const where = `id IN (${far.map((id) => `'${id}'`).join(', ')})`;
  const fallback = await index.search({ positives: [q], k: 10, where });
  assert.equal(index.lastSearch?.method, 'ann+exact');
  assert.deepEqual(fallback.map((h) => h.id), far.slice(0, 10));
  index.close();

  // With the default threshold, a filter passing few rows goes straight to exact search.
  const small = await openIndex(dir);
  await small.search({ positives: [q], k: 10, where });
  assert.equal(small.lastSearch?.method, 'exact');
  small.close();
});
