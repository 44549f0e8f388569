/** Approximate search (usearch HNSW): recall against exact search, filters with over-fetch and fallback. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, type IndexManifest } from '../src/search/index.js';

const N = 24000;
const D = 64;
let dir = '';
let manifest: IndexManifest;
let queries: Float32Array[] = [];

/**
 * Vectors shaped like galaxy embeddings rather than isotropic noise: a mixture of 1000
 * clusters whose per-dimension spread falls as j^−0.75, so the first 10 of 64 dimensions
 * hold 84% of the variance — as the first 10 PCA components of the GZ DECaLS representation
 * do (Walmsley et al. 2022).
 */
function embeddingLike(n: number, seed: number, centres?: Float32Array): { data: Float32Array; centres: Float32Array } {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 0.5) / 4294967296;
  const g = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const sd = Float32Array.from({ length: D }, (_, j) => (j + 1) ** -0.75);
  const C = 1000;
  const cent = centres ?? Float32Array.from({ length: C * D }, (_, i) => Math.sqrt(0.75) * sd[i % D] * g());
  const data = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(u() * C);
    for (let j = 0; j < D; j++) data[i * D + j] = cent[c * D + j] + 0.5 * sd[j] * g();
  }
  return { data, centres: cent };
}

before(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'gm-ann-')), 'idx');
  const { data, centres } = embeddingLike(N, 1);
  const ids = Array.from({ length: N }, (_, i) => `G${i}`);
  manifest = await buildIndex({ vectors: { ids, data, dim: D }, out: dir });
  const held = embeddingLike(100, 2, centres).data;
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
