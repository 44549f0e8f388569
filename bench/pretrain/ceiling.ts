/**
 * bench/pretrain/ceiling.ts: how much of a model's distance to the vote-noise floor no image
 * model can close, because the simulated volunteers read hidden truth.
 *
 *   npx tsx bench/pretrain/ceiling.ts --train data/pretrain-v5/catalog.parquet --catalog data/test-v5/catalog.parquet
 *
 * The volunteers' answer probabilities (src/sim/votes.ts, answerModel) are, for some
 * questions, a function of catalogue columns alone: visibility scores of the displayed cutout
 * (`vis_*`), the axis ratio of the outline (`q_obs`), the bulge's light fraction, and truth
 * such as whether there is a disk or the arms' pitch (and, before the simulator judged them on
 * the image, `bar_strength` and `bulge_shape`). For each such question, two kNN regressions (k nearest
 * training galaxies, features standardised) of the true answer probabilities (`oracle_*`),
 * fitted on the training catalogue's galaxies with votes on the question, are scored exactly
 * as run.ts scores a model (score.ts: MAE against the observed vote fractions, over the
 * oracle's):
 *  - seen-kNN, on the inputs the image shows;
 *  - all-kNN, on those and the hidden truth the answer model reads: ≈ 1 when the inputs are
 *    complete (its excess is the kNN's own smoothing error).
 * A model near seen-kNN has taken what those inputs explain; a gap between seen- and all-kNN
 * is answer probability that follows truth they do not carry. The pixels do show
 * some of that truth (a bar's strength in its contrast, a boxy bulge's outline), so an image
 * model may beat seen-kNN, but not all-kNN. Questions whose answer model reads anything not
 * in the catalogue are listed as skipped, with what is missing.
 * Where the seen inputs include the observed axis ratio, a third fit, seen-kNN augmented,
 * trains on the axis ratio as the network sees it through its training augmentation: the
 * resized crop's aspect ratio (src/train/augment.ts, --crop-ratio) stretches each galaxy along
 * one axis of a randomly rotated frame, so a shape the volunteers judged round reaches the
 * network squashed and the learned answer is blurred over shapes; scored on the unstretched
 * test galaxies, as evaluation crops them.
 * Writes reports/pretrain-ceiling.json (and prints a table), with the model ratios of
 * reports/pretrain.json beside.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readVoteCatalog, writeFileAtomic, type Cell } from '../../src/data/index.js';
import { getSchema, schemaTrees, type Question } from '../../src/schema/index.js';
import { answerConcept } from '../../src/sim/votes.js';
import { mix } from '../../src/train/random.js';
import { hashString, rng } from '../../src/util/random.js';
import { axisRatioOfMoments } from '../../src/sim/shape.js';
import { knnRegress } from './knn.js';
import { oracleProbabilities, scoreQuestion } from './score.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: 'data/pretrain-v5/catalog.parquet' },
    catalog: { type: 'string', default: 'data/test-v5/catalog.parquet' },
    schema: { type: 'string', default: 'decals-dr5+gz2' },
    k: { type: 'string', default: '40' },
    report: { type: 'string', default: 'reports/pretrain.json' },
    out: { type: 'string', default: 'reports/pretrain-ceiling.json' },
    'crop-ratio': { type: 'string', default: '0.9,1.1' },
    seed: { type: 'string', default: '0' },
  },
});
const k = Number(values.k);
const cropRatio = values['crop-ratio']!.split(',').map(Number) as [number, number];
if (cropRatio.length !== 2 || !cropRatio.every((r) => r > 0) || cropRatio[0] > cropRatio[1]) throw new Error(`--crop-ratio: expected min,max > 0, got "${values['crop-ratio']}"`);

type Row = Record<string, Cell>;
/** An input of the answer model rebuilt from catalogue columns (one value, or a one-hot). */
interface Input { columns: string[]; values: (r: Row) => number[] }
const column = (name: string): Input => ({ columns: [name], values: (r) => [Number(r[name])] });
const INPUTS = {
  vis_arms: column('vis_arms'),
  vis_ring: column('vis_ring'),
  vis_detail: column('vis_detail'),
  // The axis ratio the volunteers read (the outline of the rendered light).
  q_obs: column('q_obs'),
  vis_bar_contrast: column('vis_bar_contrast'),
  vis_bulge: column('vis_bulge'),
  vis_boxy: column('vis_boxy'),
  // The interaction stage the image shows (votes.ts perceivedMergerStage).
  merging_seen: column('merging_seen'),
  // answerModel's isDisk: a disk component (its scale is recorded, 0 without), not an irregular.
  is_disk: { columns: ['disk_scale_arcsec', 'morph_type'], values: (r) => [Number(r.disk_scale_arcsec) > 0 && r.morph_type !== 'irregular' ? 1 : 0] },
  bar_strength: column('bar_strength'),
  // The bulge's share of the light: photometry the light profile shows.
  bulge_fraction: column('bulge_fraction'),
  // 0 without arms (answerModel then assumes 15° with a wide spread).
  pitch_angle_deg: column('pitch_angle_deg'),
} satisfies Record<string, Input>;
type InputName = keyof typeof INPUTS;

/**
 * What each answer-model concept (votes.ts answerModel) reads, split into what the displayed
 * cutout shows (visibility scores, detail, the outline's axis ratio, the bulge's share of the
 * light) and hidden truth the volunteers read (the arms' pitch, in the share the arms show;
 * whether there is a disk); or why the catalogue cannot rebuild it.
 */
type Concept = { seen: InputName[]; hidden: InputName[]; note?: string } | { skip: string };
const CONCEPTS: Record<string, Concept> = {
  'smooth-or-featured': { skip: 'reads the disk, dust, clump, companion and lens visibility scores, not in the catalogue' },
  'disk-edge-on': { seen: ['q_obs'], hidden: ['is_disk'] },
  'has-spiral-arms': { seen: ['vis_arms', 'vis_ring'], hidden: [] },
  bar: { seen: ['vis_bar_contrast', 'vis_detail'], hidden: [] },
  'bulge-size': {
    seen: ['vis_detail', 'bulge_fraction'], hidden: ['bar_strength'],
    note: "approximate: also reads the bar's light fraction, recorded only through bar_strength (0.06 + 0.12 × strength, 0.8× in lenticulars, renormalised)",
  },
  'how-rounded': { seen: ['q_obs', 'vis_detail'], hidden: [] },
  'edge-on-bulge': { seen: ['vis_detail', 'vis_bulge', 'vis_boxy'], hidden: ['is_disk'] },
  'spiral-winding': { seen: ['vis_arms'], hidden: ['pitch_angle_deg'] },
  'spiral-arm-count': { skip: 'reads whether the arms are flocculent, not in the catalogue' },
  merging: { seen: ['merging_seen', 'vis_detail'], hidden: [] },
  'something-odd': { skip: 'reads the lens, companion and dust visibility scores, not in the catalogue' },
  'odd-feature': { skip: 'reads the lens, companion and dust visibility scores, not in the catalogue' },
};

const t0 = performance.now();
const schema = getSchema(values.schema!);
const treeOf = new Map(schemaTrees(values.schema!).flatMap((tree) => tree.questions.map((q) => [q.name, tree.name] as const)));
const inputColumns = [...new Set(Object.values(INPUTS).flatMap((i) => i.columns))];
const oracleColumns = schema.answerColumns.map((c) => `oracle_${c}`);

/**
 * A simulated catalogue: votes, true answer probabilities and the answer model's inputs (the
 * vote catalogue keeps every non-count column, one row per galaxy in `ids` order).
 */
async function readCatalogue(path: string) {
  const votes = await readVoteCatalog(path, { schema });
  const rows = votes.table.rows;
  const missing = [...inputColumns, ...oracleColumns].filter((c) => !votes.table.columns.includes(c));
  if (missing.length) throw new Error(`${path}: no column ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}: not a simulated catalogue of schema ${values.schema}`);
  return { votes, rows, oracle: oracleProbabilities(schema, votes.ids, rows) };
}
type Catalogue = Awaited<ReturnType<typeof readCatalogue>>;
const [train, test] = [await readCatalogue(values.train!), await readCatalogue(values.catalog!)];

/** Galaxies (row numbers) with at least one vote on question q. */
function voted(c: Catalogue, q: Question): number[] {
  const A = schema.nAnswers;
  const out: number[] = [];
  for (let g = 0; g < c.votes.nRows; g++) {
    let total = 0;
    for (let i = q.start; i < q.end; i++) total += c.votes.counts[g * A + i];
    if (total > 0) out.push(g);
  }
  return out;
}

/** `[galaxies, dim]` features of rows `galaxies` from the named inputs. */
function features(c: Catalogue, galaxies: readonly number[], names: readonly InputName[]): { data: Float32Array; dim: number } {
  const rowValues = galaxies.map((g) => names.flatMap((name) => INPUTS[name].values(c.rows[g])));
  const dim = rowValues[0]?.length ?? 0;
  return { data: Float32Array.from(rowValues.flat()), dim };
}

/**
 * Axis ratio of an ellipse of axis ratio `q`, its major axis at `angle` to the crop's x axis,
 * after the crop stretches x against y by `stretch` (area kept): from its second moments.
 */
function stretchedAxisRatio(q: number, angle: number, stretch: number): number {
  const c = Math.cos(angle), s = Math.sin(angle);
  const sx = Math.sqrt(stretch), sy = 1 / sx;
  // Σ = R diag(1, q²) Rᵀ, then S Σ S with S = diag(sx, sy).
  const xx = sx * sx * (c * c + q * q * s * s);
  const yy = sy * sy * (s * s + q * q * c * c);
  const xy = sx * sy * c * s * (1 - q * q);
  return axisRatioOfMoments(xx, yy, xy);
}

/** Each training galaxy's q_obs as one random training augmentation shows it (seeded by id). */
function augmentAxisRatios(x: { data: Float32Array; dim: number }, c: Catalogue, galaxies: readonly number[], names: readonly InputName[]): void {
  // Feature column of q_obs: the widths (values per input) of the inputs before it.
  const widths = names.map((name) => INPUTS[name].values(c.rows[galaxies[0]]).length);
  const col = widths.slice(0, names.indexOf('q_obs')).reduce((a, b) => a + b, 0);
  const [lo, hi] = cropRatio.map(Math.log);
  galaxies.forEach((g, i) => {
    const random = rng(mix(Number(values.seed), hashString(c.votes.ids[g])));
    const stretch = Math.exp(lo + (hi - lo) * random());
    x.data[i * x.dim + col] = stretchedAxisRatio(x.data[i * x.dim + col], Math.PI * random(), stretch);
  });
}

/**
 * Ratio (MAE / oracle MAE) of a kNN on inputs `names` for question q, scored as run.ts scores a
 * model; with `augmented`, the training galaxies' q_obs as the crop augmentation shows them.
 */
function knnRatio(q: Question, names: readonly InputName[], augmented = false): number {
  const A = schema.nAnswers;
  const width = q.end - q.start;
  const fit = voted(train, q);
  const x = features(train, fit, names);
  if (augmented) augmentAxisRatios(x, train, fit, names);
  const targets = new Float64Array(fit.length * width);
  fit.forEach((g, i) => targets.set(train.oracle.subarray(g * A + q.start, g * A + q.end), i * width));
  // Only the galaxies with votes are scored; the rest keep NaN predictions.
  const scored = voted(test, q);
  const predicted = knnRegress(x.data, targets, features(test, scored, names).data, x.dim, k);
  const pred = new Float64Array(test.votes.nRows * A).fill(NaN);
  scored.forEach((g, i) => pred.set(predicted.subarray(i * width, (i + 1) * width), g * A + q.start));
  return scoreQuestion(schema, q, test.votes.counts, pred, test.oracle).mae_ratio;
}

interface ModelReport {
  model: string; catalog: string; generated: string; mean_mae_ratio: number;
  trees: Record<string, { mean_mae_ratio: number }>; questions: { question: string; mae_ratio: number }[];
}
const modelReport: ModelReport | null = existsSync(values.report!) ? JSON.parse(readFileSync(values.report!, 'utf8')) : null;
if (modelReport && modelReport.catalog !== values.catalog) {
  console.warn(`note: ${values.report} scored the model on ${modelReport.catalog}, not ${values.catalog}`);
}
const modelRatio = new Map(modelReport?.questions.map((r) => [r.question, r.mae_ratio]) ?? []);

interface CeilingRow {
  question: string; tree: string; galaxies: number;
  model_ratio: number | null; seen_knn_ratio: number; all_knn_ratio: number; seen_knn_augmented_ratio?: number;
  seen_features: string[]; hidden_features: string[]; note?: string;
}
const questions: CeilingRow[] = [];
const skipped: { question: string; tree: string; reason: string }[] = [];
for (const q of schema.questions) {
  const concept = CONCEPTS[answerConcept(q.name)];
  const tree = treeOf.get(q.name)!;
  if (!concept) {
    skipped.push({ question: q.name, tree, reason: 'not a question of the simulated answer model' });
    continue;
  }
  if ('skip' in concept) {
    skipped.push({ question: q.name, tree, reason: concept.skip });
    continue;
  }
  const seenRatio = knnRatio(q, concept.seen);
  const allRatio = concept.hidden.length ? knnRatio(q, [...concept.seen, ...concept.hidden]) : seenRatio;
  questions.push({
    question: q.name, tree, galaxies: voted(test, q).length, model_ratio: modelRatio.get(q.name) ?? null, seen_knn_ratio: seenRatio, all_knn_ratio: allRatio,
    ...(concept.seen.includes('q_obs') ? { seen_knn_augmented_ratio: knnRatio(q, concept.seen, true) } : {}),
    seen_features: concept.seen, hidden_features: concept.hidden, ...(concept.note ? { note: concept.note } : {}),
  });
}
const seconds = (performance.now() - t0) / 1000;

const f2 = (x: number | null) => (x === null ? '—' : x.toFixed(2));
console.log('| question | tree | galaxies | model | seen-kNN | seen-kNN augmented | all-kNN | seen inputs | hidden inputs |');
console.log('|---|---|---:|---:|---:|---:|---:|---|---|');
for (const r of questions) {
  console.log(`| ${r.question}${r.note ? ' *' : ''} | ${r.tree} | ${r.galaxies} | ${f2(r.model_ratio)} | ${f2(r.seen_knn_ratio)} | ${f2(r.seen_knn_augmented_ratio ?? null)} | ${f2(r.all_knn_ratio)} | ${r.seen_features.join(', ')} | ${r.hidden_features.join(', ') || '—'} |`);
}
for (const r of questions.filter((r) => r.note)) console.log(`* ${r.question}: ${r.note}`);
console.log(`skipped: ${skipped.map((s) => `${s.question} (${s.reason})`).join('; ')}`);
console.log(`MAE / oracle MAE; kNN k = ${k} fitted on ${values.train} (${train.votes.nRows} galaxies), scored on ${values.catalog} (${test.votes.nRows}); model: ${modelReport?.model ?? 'none'} (${values.report}); ${seconds.toFixed(1)} s`);

const report = {
  generated: new Date().toISOString(),
  k, train: values.train, catalog: values.catalog, schema: values.schema, crop_ratio: cropRatio, seed: Number(values.seed), seconds,
  model: modelReport?.model ?? null,
  model_report: modelReport ? { path: values.report, generated: modelReport.generated, catalog: modelReport.catalog } : null,
  model_mean_mae_ratio: modelReport?.mean_mae_ratio ?? null,
  model_tree_mean_mae_ratio: modelReport ? Object.fromEntries(Object.entries(modelReport.trees).map(([t, m]) => [t, m.mean_mae_ratio])) : null,
  questions,
  skipped,
};
await writeFileAtomic(values.out!, JSON.stringify(report, null, 2) + '\n');
