/** Image queries (through the model behind the embeddings) and the `galmorph index` / `galmorph similar` commands. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { register } from '../src/cli/commands/search.js';
import { GalmorphError } from '../src/errors.js';
import { readTable, writeTable } from '../src/data/index.js';
import { createModel, saveModel } from '../src/models/index.js';
import { embedSurvey } from '../src/predict/index.js';
import { getSchema } from '../src/schema/index.js';
import { buildIndex, openIndex } from '../src/search/index.js';
import { makeCatalog, makeModelDir, tmp } from './predict-fixtures.js';

let model = '';
let catalog = '';
let cutouts = '';
let emb = '';

before(async () => {
  model = await makeModelDir();
  ({ catalog, dir: cutouts } = await makeCatalog(24));
  // Add tags to the catalogue so filters have something to bite on.
  const t = await readTable(catalog, { rawColumns: ['id'] });
  t.rows.forEach((r, i) => (r.tags = i % 3 === 0 ? 'ring' : 'barred'));
  await writeTable(catalog, { columns: [...t.columns, 'tags'], rows: t.rows });
  emb = join(tmp(), 'emb.parquet');
  await embedSurvey({ model, catalog, out: emb, pca: { components: 4 } });
});

test('an image query is embedded with the recorded model and PCA, and lands on its own galaxy', async () => {
  const out = join(tmp(), 'idx');
  const m = await buildIndex({ embeddings: emb, out, model });
  assert.equal(m.pca, `${emb}.pca.json`);
  const image = { image: join(cutouts, 'g007.png') };
  // Without a catalogue of image paths the galaxy cannot be recognised, so it comes first.
  const index = await openIndex(out);
  const hits = await index.search({ positives: [image], k: 3 });
  assert.equal(hits[0].id, 'J0007');
  assert.ok(hits[0].score > 0.9999, `score ${hits[0].score}`);
  index.close();
  // With the catalogue, its image is recognised and excluded, like an id query.
  const withCat = await openIndex(out, { catalog });
  const byImage = await withCat.search({ positives: [image], k: 5 });
  const byId = await withCat.search({ positives: ['J0007'], k: 5 });
  assert.deepEqual(byImage.map((h) => h.id), byId.map((h) => h.id));
  assert.equal(withCat.lastSearch?.excluded, 1);
  withCat.close();

  const feat = join(tmp(), 'feat');
  await buildIndex({ embeddings: emb, out: feat, columns: 'feat', model });
  const fi = await openIndex(feat);
  const fh = await fi.search({ positives: [image], k: 1 });
  assert.equal(fh[0].id, 'J0007');
  assert.ok(fh[0].score > 0.9999);
  fi.close();
});

test('image queries: clear errors for a missing model or PCA fit and a model of another width', async () => {
  const lone = join(tmp(), 'emb.parquet');
  copyFileSync(emb, lone);
  const out = join(tmp(), 'idx');
  await buildIndex({ embeddings: lone, out, model });
  const image = { image: join(cutouts, 'g001.png') };
  const noPca = await openIndex(out);
  await assert.rejects(noPca.search({ positives: [image] }), /need the PCA fit .*--pca/);
  noPca.close();
  const bare = join(tmp(), 'bare');
  await buildIndex({ embeddings: emb, out: bare });
  const b = await openIndex(bare);
  await assert.rejects(b.search({ positives: [image] }), /need the model that produced the embeddings/);
  b.close();
  const wide = join(tmp(), 'wide');
  const other = createModel({ schema: getSchema('decals-dr5'), architecture: 'resnet-small', seed: 2 });
  await saveModel(other, wide);
  other.dispose();
  const w = await openIndex(bare, { model: wide });
  await assert.rejects(w.search({ positives: [image] }), /dimension mismatch: model .* gives 256-d representations, the indexed embeddings have 32/);
  w.close();
  const missing = await openIndex(bare, { model });
  await assert.rejects(missing.search({ positives: [{ image: join(cutouts, 'nope.png') }] }), /cannot read image/);
  missing.close();
});

/** Run the commands in-process as runCli does: exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('galmorph').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  let stdout = '', stderr = '';
  const [out, err] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  // Under `node --test` this file runs in a child whose test events go to stdout as binary
  // (v8-serialised) chunks: let those through and keep only the command's text.
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) =>
    typeof s === 'string' ? ((stdout += s), true) : (out as (...a: unknown[]) => boolean)(s, ...rest)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'galmorph', ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode, stdout, stderr: stderr + e.message };
    if (e instanceof GalmorphError) return { code: 2, stdout, stderr: stderr + `galmorph: error: ${e.message}\n` };
    throw e;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

test('galmorph index + similar: table on stdout, CSV/Parquet output, mosaic, image and id queries', async () => {
  const root = tmp();
  const index = join(root, 'idx');
  let r = await cli('index', '--embeddings', emb, '--out', index, '--model', model, '--catalog', catalog);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /indexed 24 galaxies × 4 \(pca_00…pca_03\), cosine, exact in [\d.]+ s → .*idx; skipped 1 row with an error status and 0 with NaN values/);

  r = await cli('similar', '--index', index, '--query', 'J0003', '--k', '5', '--where', "has_tag(tags, 'ring')", '--columns', 'ra',
    '--out', join(root, 'n.csv'), '--mosaic', join(root, 'm.png'));
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^rank\s+id\s+score\s+ra\s+tags$/);
  assert.equal(lines.length, 1 + 5);
  assert.ok(lines.slice(1).every((l) => /\bring$/.test(l)));
  const table = await readTable(join(root, 'n.csv'), { rawColumns: ['id'] });
  assert.deepEqual(table.columns, ['rank', 'id', 'score', 'distance', 'ra', 'tags']);
  assert.equal(table.rows.length, 5);
  assert.ok(existsSync(join(root, 'm.png')));

  r = await cli('similar', '--index', index, '--query', join(cutouts, 'g003.png'), '--query', 'J0010', '--negative', 'J0011', '--k', '4', '--out', join(root, 'n.parquet'));
  assert.equal(r.code, 0, r.stderr);
  const rows = (await readTable(join(root, 'n.parquet'))).rows;
  assert.equal(rows.length, 4);
  assert.ok(!rows.some((x) => ['J0003', 'J0010', 'J0011'].includes(String(x.id))));

  r = await cli('similar', '--index', index, '--query', 'J0003', '--k', '50', '--where', "id = 'J0004'");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /only 1 of the 50 asked for: no more galaxies pass the filter/);
});

test('CLI errors are one line with exit code 2', async () => {
  const root = tmp();
  const index = join(root, 'idx');
  assert.equal((await cli('index', '--embeddings', emb, '--out', index)).code, 0);
  const cases: [string[], RegExp][] = [
    [['similar', '--index', index, '--query', 'J003'], /"J003" is neither an indexed galaxy id \(24 galaxies\) nor an image file; did you mean "J0003"/],
    [['similar', '--index', index, '--query', 'J0003', '--where', 'ra >'], /where: the expression ends too early/],
    [['similar', '--index', index, '--query', 'J0003', '--where', 'ra > 1', '--catalog', catalog, '--columns', 'nosuch'], /no column "nosuch"/],
    [['similar', '--index', index, '--query', 'J0003', '--out', join(root, 'x.txt')], /--out must end in .csv or .parquet/],
    [['similar', '--index', index, '--query', join(cutouts, 'g001.png')], /need the model that produced the embeddings/],
    [['similar', '--index', join(root, 'none'), '--query', 'J0003'], /is not a similarity index/],
    [['similar', '--index', index, '--query', 'J0003', '--mosaic', join(root, 'm.png')], /no "image_path" column/],
    [['index', '--embeddings', emb, '--out', index], /already exists/],
    [['index', '--embeddings', emb, '--out', join(root, 'i2'), '--exact', '--ann'], /--exact or --ann, not both/],
  ];
  const empty = join(root, 'empty.csv');
  writeFileSync(empty, 'id,status,feat_000\n');
  cases.push([['index', '--embeddings', empty, '--out', join(root, 'i3')], /has no rows/]);
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
