/** bench/rings reporting: per-(method, N) mean and sample std over seeds, the table and the SVG. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownTable, renderSvg, summarise, type Row } from '../bench/rings/report.js';

const row = (method: string, n: number, seed: number, accuracy: number, auc: number): Row => ({ method, n, seed, accuracy, auc, epochs: 4, bestEpoch: 2, seconds: 1 });

test('summarise, table and plot of ring-benchmark rows', () => {
  const rows = [row('pretrained', 100, 0, 0.8, 0.9), row('pretrained', 100, 1, 0.9, 0.95), row('scratch', 100, 0, 0.5, 0.3), row('pretrained', 50, 0, 0.7, 0.8)];
  const s = summarise(rows);
  assert.deepEqual(s.map((x) => [x.method, x.n, x.runs]), [['pretrained', 50, 1], ['pretrained', 100, 2], ['scratch', 100, 1]]);
  const p100 = s[1];
  assert.ok(Math.abs(p100.accuracy.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(p100.accuracy.sd - Math.sqrt(0.005)) < 1e-12, 'sample std');
  assert.equal(s[0].accuracy.sd, 0);
  const md = markdownTable(s, ['pretrained', 'scratch']).split('\n');
  assert.equal(md.length, 4);
  assert.equal(md[2], '| 50 | 0.700 ± 0.000 | — | 0.800 ± 0.000 | — |');
  assert.equal(md[3], '| 100 | 0.850 ± 0.071 | 0.500 ± 0.000 | 0.925 ± 0.035 | 0.300 ± 0.000 |');
  const svg = renderSvg(s, ['pretrained', 'scratch']);
  assert.match(svg, /^<svg [^>]*>/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 2 * 3, 'one marker per (method, N) per panel');
  assert.ok(!/NaN|Infinity/.test(svg));
});
