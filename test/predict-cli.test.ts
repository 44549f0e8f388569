/** `galmorph predict`, `galmorph embed`, `galmorph pca fit`: happy paths and one-line errors. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readTable, writeTable } from '../src/data/index.js';
import { makeCatalog, makeModelDir, tmp } from './predict-fixtures.js';
import { cli } from './run-cli.js';

let model = '';
let catalog = '';

before(async () => {
  model = await makeModelDir();
  ({ catalog } = await makeCatalog(12));
});


test('predict --format csv with sharding, embed --pca, pca fit, embed --pca-model', async () => {
  const root = tmp();
  let r = await cli('predict', '--model', model, '--catalog', catalog, '--out', join(root, 'p-0.csv'), '--format', 'csv', '--passes', '3', '--shard', '0/2');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /predicted 6 galaxies \(5 ok, 1 error\)/);
  assert.match(r.stderr, /JBAD: error: /);
  assert.equal((await readTable(join(root, 'p-0.csv'))).rows.length, 6);

  r = await cli('embed', '--model', model, '--catalog', catalog, '--out', join(root, 'e.parquet'), '--pca', '3');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /PCA: 3 components explain \d+\.\d% of the variance/);
  assert.ok(existsSync(join(root, 'e.parquet.pca.json')));

  r = await cli('pca', 'fit', '--embeddings', join(root, 'e.parquet'), '--components', '2', '--out', join(root, 'pca.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /fitted on 12 galaxies/);
  r = await cli('embed', '--model', model, '--catalog', catalog, '--out', join(root, 'e2.parquet'), '--pca-model', join(root, 'pca.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.ok((await readTable(join(root, 'e2.parquet'))).columns.includes('pca_01'));
});

test('bad input gives one clear line and exit code 2', async () => {
  const root = tmp();
  const out = join(root, 'o.parquet');
  const emptyDir = join(root, 'empty');
  mkdirSync(emptyDir);
  const noImageCol = join(root, 'cat.csv');
  await writeTable(noImageCol, { columns: ['id', 'path'], rows: [{ id: 'a', path: 'x.png' }] });
  const cases: [string[], RegExp][] = [
    [['predict', '--model', model, '--catalog', catalog, '--out', out, '--shard', '3/2'], /shard index must be an integer from 0 to 1/],
    [['predict', '--model', model, '--catalog', catalog, '--out', out, '--shard', 'two'], /shard must look like i\/N/],
    [['predict', '--model', join(root, 'nomodel'), '--catalog', catalog, '--out', out], /cannot read .*nomodel.*config\.json/],
    [['predict', '--model', model, '--images', emptyDir, '--out', out], /no images \(.png.*\) in/],
    [['predict', '--model', model, '--images', join(root, 'missing'), '--out', out], /does not exist/],
    [['predict', '--model', model, '--catalog', noImageCol, '--out', out], /missing column "image_path" \(columns: id, path\)/],
    [['predict', '--model', model, '--out', out], /give exactly one input/],
    [['predict', '--model', model, '--catalog', catalog, '--images', emptyDir, '--out', out], /give exactly one input/],
    [['predict', '--model', model, '--catalog', catalog, '--out', out, '--passes', '0'], /passes must be an integer from 1 to 100/],
    [['predict', '--model', model, '--catalog', catalog, '--out', out, '--format', 'csv'], /conflicts with the \.parquet extension/],
    [['embed', '--model', model, '--catalog', catalog, '--out', out, '--pca', '2', '--pca-model', 'x.json'], /--pca or --pca-model, not both/],
    [['pca', 'fit', '--embeddings', catalog, '--out', join(root, 'p.json')], /no representation columns/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  writeFileSync(out, 'done');
  const r = await cli('predict', '--model', model, '--catalog', catalog, '--out', out);
  assert.match(r.stderr, /already exists/);
  assert.equal((await cli('predict', '--model', model, '--catalog', catalog)).code, 1, 'commander usage errors (missing --out) exit 1');
});
