/**
 * Precision of similarity search by tag, on a catalogue with a `tags` column (comma-separated
 * Talk-style tags, as `galmorph simulate` writes) and its images.
 *
 *   npx tsx bench/similarity/tags.ts --catalog survey/catalog.parquet [--model models/galmorph-decals]
 *        [--embeddings emb.parquet] [--components 32] [--columns pca|feat] [--orientations dihedral|single]
 *        [--work DIR] [--methods model,untrained,pixels,oracle] [--no-ablation]
 *        [--no-write]  (print only; leave reports/ alone)
 *
 * Every galaxy carrying at least one tag is a query (by id; it is excluded from its own
 * neighbours). For each tag: precision@10 and @50 = share of the neighbours carrying the
 * query's tag, averaged over the queries with that tag; base rate = share of all galaxies
 * with it. Methods:
 *   model      the trained network's embeddings (`--embeddings`, or embedded here with `--model`)
 *   untrained  the same architecture randomly initialised (`createModel` + `saveModel` → `embedSurvey`)
 *   pixels     PCA of the downsampled pixels (randomised subspace iteration, computed here)
 *   oracle     the catalogue's true answer probabilities (`oracle_*`): the ceiling of a vote predictor
 * All use the same index settings (cosine, exact search; `--components` PCA columns except oracle);
 * the networks' representations are taken as `galmorph embed` does (`--orientations`, default
 * its default: the mean over the 8 dihedral transforms).
 * Ablation (with --model, unless --no-ablation): the trained network's representation taken
 * both ways (single pass, dihedral mean) × PCA sizes 10, 16, 32, 64 and the full representation,
 * to show what each choice buys; PCA refitted here on the written feat_ columns.
 * Writes the `precision` section of reports/similarity.json and regenerates reports/similarity.md.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { readImage, readTable } from '../../src/data/index.js';
import { initEngine } from '../../src/engine/index.js';
import { createModel, readModelConfig, saveModel } from '../../src/models/index.js';
import { CovarianceAccumulator, DEFAULT_ORIENTATIONS, applyPca, checkOrientationMode, embedSurvey, pcaColumn, type OrientationMode } from '../../src/predict/index.js';
import { symmetricEigen } from '../../src/predict/pca.js';
import { createSchema, getSchema } from '../../src/schema/index.js';
import { buildIndex, openIndex, type BuildIndexOptions } from '../../src/search/index.js';
import { parquetColumns, readParquetBlocks } from '../../src/predict/columns.js';
import { readReport, writeReport, type AblationRow, type MethodPrecision, type TagRow } from './report.js';

const argv = process.argv.slice(2);
const flag = (name: string, def?: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const catalog = flag('catalog');
if (!catalog) {
  console.error('usage: tags.ts --catalog CATALOG [--model DIR] [--embeddings E] [--components 10] [--columns pca|feat] [--work DIR] [--methods …]');
  process.exit(2);
}
const modelDir = flag('model');
const givenEmbeddings = flag('embeddings');
// 32 components: on two simulated surveys (seeds 7 and 8) precision@10 rose from 10 to 32
// components by 0.01–0.02 and changed by < 0.01 beyond (ablation below), at an eighth of the
// full representation's search cost and memory.
const components = Number(flag('components', '32'));
const columns = flag('columns', 'pca') as 'pca' | 'feat';
const orientations = checkOrientationMode(flag('orientations', DEFAULT_ORIENTATIONS)!);
const pixelSize = Number(flag('pixel-size', '32'));
const seed = Number(flag('seed', '0'));
const work = flag('work') ?? mkdtempSync(join(tmpdir(), 'gm-sim-bench-'));
mkdirSync(work, { recursive: true });
const haveModel = modelDir !== undefined || givenEmbeddings !== undefined;
const methods = (flag('methods') ?? (haveModel ? 'model,untrained,pixels' : 'untrained,pixels')).split(',');
const K = [10, 50];
const log = (s: string) => process.stderr.write(s + '\n');

const table = await readTable(catalog, { rawColumns: ['id'] });
for (const c of ['id', 'tags', 'image_path']) if (!table.columns.includes(c)) throw new Error(`${catalog}: no "${c}" column`);
const tagsOf = new Map<string, Set<string>>();
for (const r of table.rows) {
  tagsOf.set(String(r.id), new Set(String(r.tags ?? '').split(',').map((t) => t.trim()).filter(Boolean)));
}
const seconds: Record<string, number> = {};

/** Cache name of the trained model's embeddings: its directory and weight bytes, so a replaced model is embedded anew. */
function modelName(): string {
  const bytes = createHash('sha256').update(readFileSync(join(modelDir!, 'weights.bin'))).digest('hex').slice(0, 12);
  return `model-${basename(resolve(modelDir!))}-${bytes}`;
}

/** Embeddings of the catalogue by a model directory (PCA fitted on them), reused if present. */
async function embedWith(model: string, name: string, mode: OrientationMode = orientations): Promise<string> {
  const out = join(work, `${name}-${mode}-pca${components}.parquet`);
  if (existsSync(out)) {
    log(`${name}: reusing ${out}`);
    return out;
  }
  const t0 = performance.now();
  const r = await embedSurvey({ model, catalog: catalog!, out, pca: { components }, orientations: mode });
  const key = `${name.startsWith('model') ? 'embed_model' : 'embed_untrained'}${mode === orientations ? '' : `_${mode}`}`;
  seconds[key] = (performance.now() - t0) / 1000;
  log(`${name}: embedded ${r.ok} galaxies (${r.errors} errors, orientations ${mode}) in ${seconds[key].toFixed(0)} s (${(r.ok / seconds[key]).toFixed(1)} galaxies/s)`);
  return out;
}

/** The architecture and input of the trained model when given, else the defaults; random weights. */
async function untrainedModel(): Promise<{ dir: string; name: string }> {
  const cfg = modelDir ? await readModelConfig(modelDir) : null;
  // Named by what defines it, so a rerun with another --model never reuses a mismatched one.
  const name = `untrained-${cfg?.architecture.name ?? 'default'}-${cfg?.inputSize ?? 'd'}px-${cfg?.bands ?? 3}b-seed${seed}`;
  const dir = join(work, `${name}-model`);
  if (existsSync(join(dir, 'config.json'))) return { dir, name };
  await initEngine();
  const model = createModel({
    schema: cfg ? createSchema(cfg.schema) : getSchema('decals-dr5'),
    architecture: cfg?.architecture.name,
    size: cfg?.inputSize,
    bands: cfg?.bands as 1 | 3 | undefined,
    evalCrop: cfg?.evalCrop,
    seed,
  });
  await saveModel(model, dir, { note: 'randomly initialised baseline for bench/similarity' });
  model.dispose();
  return { dir, name };
}

/** Top principal-component scores of rows `[n, D]` by randomised subspace iteration (Halko et al. 2011). */
function pcaScores(X: Float32Array, n: number, D: number, k: number): Float32Array {
  const mean = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mean[j] += X[i * D + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) X[i * D + j] -= mean[j];
  const l = k + 10;
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296) - 0.5;
  // Y = X Ω, then (X Xᵀ)^q Y with re-orthonormalisation, so Y spans the top singular directions.
  let Y = new Float64Array(n * l);
  const omega = Float64Array.from({ length: D * l }, rand);
  mulXB(X, n, D, omega, l, Y);
  orthonormalise(Y, n, l);
  const Z = new Float64Array(D * l);
  for (let it = 0; it < 6; it++) {
    mulXtY(X, n, D, Y, l, Z);
    mulXB(X, n, D, Z, l, Y);
    orthonormalise(Y, n, l);
  }
  // B = Yᵀ X (l × D); eigenvectors of B Bᵀ rotate Y onto the principal axes; scores = Y U S.
  mulXtY(X, n, D, Y, l, Z);
  const BBt = new Float64Array(l * l);
  for (let a = 0; a < l; a++) for (let b = a; b < l; b++) {
    let t = 0;
    for (let j = 0; j < D; j++) t += Z[j * l + a] * Z[j * l + b];
    BBt[a * l + b] = BBt[b * l + a] = t;
  }
  const { values, vectors } = symmetricEigen(BBt, l);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let t = 0;
      for (let a = 0; a < l; a++) t += Y[i * l + a] * vectors[a * l + c];
      out[i * k + c] = t * Math.sqrt(Math.max(0, values[c]));
    }
  }
  return out;
}

/** out[n × l] = X[n × D] · B[D × l]. */
function mulXB(X: Float32Array, n: number, D: number, B: Float64Array, l: number, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) {
    const x = X[i * D + j];
    if (x === 0) continue;
    for (let c = 0; c < l; c++) out[i * l + c] += x * B[j * l + c];
  }
}

/** out[D × l] = Xᵀ · Y[n × l]. */
function mulXtY(X: Float32Array, n: number, D: number, Y: Float64Array, l: number, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) {
    const x = X[i * D + j];
    if (x === 0) continue;
    for (let c = 0; c < l; c++) out[j * l + c] += x * Y[i * l + c];
  }
}

/** Modified Gram–Schmidt on the l columns of Y[n × l]. */
function orthonormalise(Y: Float64Array, n: number, l: number): void {
  for (let c = 0; c < l; c++) {
    for (let p = 0; p < c; p++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += Y[i * l + c] * Y[i * l + p];
      for (let i = 0; i < n; i++) Y[i * l + c] -= d * Y[i * l + p];
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += Y[i * l + c] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < n; i++) Y[i * l + c] *= inv;
  }
}

async function pixelVectors(): Promise<BuildIndexOptions['vectors']> {
  const t0 = performance.now();
  const base = dirname(resolve(catalog!));
  const D = pixelSize * pixelSize * 3;
  const ids: string[] = [];
  const X = new Float32Array(table.rows.length * D);
  for (const r of table.rows) {
    const p = String(r.image_path);
    const img = await readImage(isAbsolute(p) ? p : join(base, p), { size: pixelSize, channels: 3 });
    X.set(img.data, ids.length * D);
    ids.push(String(r.id));
  }
  const scores = pcaScores(X, ids.length, D, components);
  seconds.pixels_pca = (performance.now() - t0) / 1000;
  log(`pixels: ${ids.length} images at ${pixelSize}² × 3 → ${components} PCA components in ${seconds.pixels_pca.toFixed(0)} s`);
  return { ids, data: scores, dim: components, columns: Array.from({ length: components }, (_, c) => `pca_${String(c).padStart(2, '0')}`) };
}

/**
 * The simulator's true answer probabilities (`oracle_*` columns) as vectors: what a perfect
 * predictor of every question in the catalogue would know, so how far votes alone can take a tag.
 */
function oracleVectors() {
  const cols = table.columns.filter((c) => c.startsWith('oracle_'));
  if (cols.length === 0) throw new Error(`${catalog}: no oracle_* columns (simulated catalogues have them)`);
  const data = new Float32Array(table.rows.length * cols.length);
  table.rows.forEach((r, i) => cols.forEach((c, j) => (data[i * cols.length + j] = Number(r[c]))));
  return { ids: table.rows.map((r) => String(r.id)), data, dim: cols.length, columns: cols };
}

const oracleTrees = [...new Set(table.columns.filter((c) => c.startsWith('oracle_')).map((c) => (c.includes('-gz2_') ? 'GZ2' : 'GZ DECaLS')))];
const DESCRIPTIONS: Record<string, string> = {
  oracle: `true answer probabilities of the ${oracleTrees.join(' and ')} questions (a perfect vote predictor: what votes alone can teach)`,
  model: `trained network${modelDir ? ` (${modelDir})` : ''}, ${columns === 'pca' ? `PCA ${components}` : 'features'}`,
  untrained: `same architecture, random weights (seed ${seed}), ${columns === 'pca' ? `PCA ${components}` : 'features'}`,
  pixels: `PCA ${components} of ${pixelSize}×${pixelSize}×3 pixels`,
};

/** Precision@k by tag of an index searched with every tagged galaxy: [queries, Σp@10, Σp@50] per tag. */
async function precisionByTag(indexDir: string) {
  const index = await openIndex(indexDir);
  const counts = new Map<string, number>();
  for (const id of index.ids) for (const t of tagsOf.get(id) ?? []) counts.set(t, (counts.get(t) ?? 0) + 1);
  const sums = new Map<string, number[]>();
  let queries = 0;
  for (const id of index.ids) {
    const tags = tagsOf.get(id);
    if (!tags || tags.size === 0) continue;
    queries++;
    const hits = await index.search({ positives: [id], k: Math.max(...K) });
    for (const t of tags) {
      const acc = sums.get(t) ?? [0, ...K.map(() => 0)];
      acc[0]++;
      K.forEach((k, j) => (acc[j + 1] += hits.slice(0, k).filter((h) => tagsOf.get(h.id)?.has(t)).length / k));
      sums.set(t, acc);
    }
  }
  const size = index.size;
  index.close();
  return { sums: [...sums].sort(), counts, size, queries };
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const tagRows: Record<string, TagRow> = {};
const summary: Record<string, MethodPrecision> = {};
let queryCount = 0;
for (const method of methods) {
  const indexDir = join(work, `${method}.index`);
  const common = { out: indexDir, method: 'exact' as const, overwrite: true };
  if (method === 'model') {
    const emb = givenEmbeddings ?? (await embedWith(modelDir!, modelName()));
    await buildIndex({ ...common, embeddings: emb, columns });
  } else if (method === 'untrained') {
    const u = await untrainedModel();
    await buildIndex({ ...common, embeddings: await embedWith(u.dir, u.name), columns });
  } else if (method === 'pixels') {
    await buildIndex({ ...common, vectors: await pixelVectors() });
  } else if (method === 'oracle') {
    await buildIndex({ ...common, vectors: oracleVectors() });
  } else throw new Error(`unknown method ${method} (model, untrained, pixels, oracle)`);

  const t0 = performance.now();
  const { sums, counts, size, queries } = await precisionByTag(indexDir);
  queryCount = Math.max(queryCount, queries);
  seconds[`search_${method}`] = (performance.now() - t0) / 1000;
  const p10: number[] = [], p50: number[] = [];
  let rare = 0, rareOk = 0;
  for (const [tag, acc] of sums) {
    const row = (tagRows[tag] ??= { count: counts.get(tag)!, base_rate: counts.get(tag)! / size, precision_at_10: {}, precision_at_50: {} });
    row.precision_at_10[method] = acc[1] / acc[0];
    row.precision_at_50[method] = acc[2] / acc[0];
    p10.push(acc[1] / acc[0]);
    p50.push(acc[2] / acc[0]);
    if (row.base_rate < 0.02) {
      rare++;
      if (acc[1] / acc[0] >= 5 * row.base_rate) rareOk++;
    }
  }
  summary[method] = { description: DESCRIPTIONS[method], precision_at_10_mean: mean(p10), precision_at_50_mean: mean(p50), rare_tags_at_5x_base_rate: `${rareOk} of ${rare}` };
  log(`${method}: mean precision@10 ${mean(p10).toFixed(3)}, @50 ${mean(p50).toFixed(3)} over ${sums.length} tags (${queries} queries)`);
}

/** Ids and `feat_` rows (ok rows only) of an embeddings table. */
async function featureRows(path: string) {
  const feats = (await parquetColumns(path)).map((c) => c.name).filter((c) => /^feat_\d+$/.test(c));
  const ids: string[] = [];
  const rows: number[] = [];
  for await (const block of readParquetBlocks(path, [{ name: 'id', type: 'STRING' }, { name: 'status', type: 'STRING' }, ...feats.map((name) => ({ name, type: 'DOUBLE' as const }))])) {
    const status = block.columns.get('status') as (string | null)[];
    const cols = feats.map((f) => block.columns.get(f) as Float64Array);
    (block.columns.get('id') as (string | null)[]).forEach((id, i) => {
      if (status[i] !== 'ok') return;
      ids.push(id!);
      for (const c of cols) rows.push(c[i]);
    });
  }
  return { ids, dim: feats.length, data: Float64Array.from(rows) };
}

/** The ablation: orientations × PCA sizes of the trained network's representation, same search as above. */
async function ablation(): Promise<AblationRow[]> {
  const out: AblationRow[] = [];
  for (const mode of ['single', 'dihedral'] as const) {
    const { ids, dim, data } = await featureRows(await embedWith(modelDir!, modelName(), mode));
    for (const k of [10, 16, 32, 64, dim]) {
      let vectors: Float32Array;
      if (k < dim) {
        const acc = new CovarianceAccumulator(dim);
        acc.add(data, ids.length);
        vectors = Float32Array.from(applyPca(acc.fit(k), data, ids.length));
      } else vectors = Float32Array.from(data);
      const indexDir = join(work, `ablation-${mode}-${k}.index`);
      const names = Array.from({ length: k }, (_, c) => (k < dim ? pcaColumn(c, k) : `feat_${c}`));
      await buildIndex({ out: indexDir, method: 'exact', overwrite: true, vectors: { ids, data: vectors, dim: k, columns: names } });
      const { sums } = await precisionByTag(indexDir);
      const row: AblationRow = {
        orientations: mode, columns: k < dim ? `${k} PCA` : `${dim} features`,
        precision_at_10_mean: mean(sums.map(([, a]) => a[1] / a[0])), precision_at_50_mean: mean(sums.map(([, a]) => a[2] / a[0])),
      };
      out.push(row);
      log(`ablation ${mode} ${row.columns}: mean precision@10 ${row.precision_at_10_mean.toFixed(3)}, @50 ${row.precision_at_50_mean.toFixed(3)}`);
    }
  }
  return out;
}
const ablationRows = modelDir && methods.includes('model') && !argv.includes('--no-ablation') ? await ablation() : undefined;

if (argv.includes('--no-write')) {
  for (const [tag, row] of Object.entries(tagRows).sort()) {
    const cells = methods.map((m) => `${m} ${row.precision_at_10[m].toFixed(3)}/${row.precision_at_50[m].toFixed(3)}`).join('  ');
    log(`  ${tag.padEnd(16)} base ${row.base_rate.toFixed(4)}  p@10/@50: ${cells}`);
  }
  process.exit(0);
}
const report = readReport();
const primary = methods.includes('model') ? 'model' : methods.includes('untrained') ? 'untrained' : methods[0];
report.primary_method = primary;
report.precision_at_10_mean = summary[primary].precision_at_10_mean;
report.precision = {
  command: `npx tsx bench/similarity/tags.ts ${argv.join(' ')}`,
  generated: new Date().toISOString(),
  catalog,
  galaxies: table.rows.length,
  queries: queryCount,
  columns: columns === 'pca' ? `${components} PCA` : 'feature',
  orientations,
  metric: 'cosine',
  methods: summary,
  tags: tagRows,
  ...(ablationRows ? { ablation: ablationRows } : {}),
  seconds,
};
await writeReport(report);
log(`wrote reports/similarity.json and reports/similarity.md (work files in ${work})`);
