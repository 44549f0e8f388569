/**
 * Benchmark of personalised anomaly detection: simulated researchers (researchers.ts) label
 * galaxies chosen by the active learner; after 0, 50, 100, 200, 300 and 400 labels (10 random
 * starts, then batches of 10) every galaxy is ranked — labelled ones by their label, the rest
 * by the model — and we measure the share of truly interesting galaxies in the top 100.
 * Baselines: isolation-forest order (the researcher labels down the anomaly ranking) and
 * random order. Also an ablation: the GP without the anomaly-score prior mean (Walmsley-style).
 *
 *   npx tsx bench/anomaly/run.ts --catalog sim/catalog.parquet --embeddings emb.parquet   # a real representation
 *   npx tsx bench/anomaly/run.ts --catalog sim/catalog.parquet                            # STAND-IN representation
 *
 * Without --embeddings the representation is a stand-in built from the simulator's truth
 * (standin.ts) — it validates the benchmark, it is not a galmorph result. Writes
 * reports/anomaly.json (merging with the speed figures of speed.ts), reports/anomaly.md and
 * reports/anomaly.svg.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readTable } from '../../src/data/index.js';
import { ActiveLearner, argsortDescending, type ActiveLearnerOptions, fitIsolationForest, loadFeatures, scoreIsolationForest } from '../../src/anomaly/index.js';
import { Rng } from '../../src/sim/rng.js';
import { RESEARCHERS, scoreOf } from './researchers.js';
import { writeStandIn } from './standin.js';
import { renderPlot, renderMarkdown, type Report } from './report.js';

const { values: args } = parseArgs({
  options: {
    catalog: { type: 'string' },
    embeddings: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    /** Only these repeats (seeds), e.g. to run them in separate processes; default 0…repeats−1. */
    seeds: { type: 'string' },
    /** Only these researchers (names, comma-separated); default all. */
    researchers: { type: 'string' },
    labels: { type: 'string', default: '0,50,100,200,300,400' },
    components: { type: 'string', default: '40' },
    methods: { type: 'string', default: 'galmorph,gp-walmsley,isolation-forest,random' },
    'report-dir': { type: 'string', default: 'reports' },
    noise: { type: 'string', default: '0.7' },
  },
});
if (!args.catalog) throw new Error('give --catalog (a simulated catalogue with truth columns and tags)');
const seeds = args.seeds ? args.seeds.split(',').map(Number) : Array.from({ length: Number(args.repeats) }, (_, i) => i);
const repeats = seeds.length;
const wanted = args.researchers?.split(',');
for (const name of wanted ?? []) if (!RESEARCHERS.some((r) => r.name === name)) throw new Error(`unknown researcher ${name}; valid: ${RESEARCHERS.map((r) => r.name).join(', ')}`);
const checkpoints = args.labels!.split(',').map(Number);
const maxLabels = Math.max(...checkpoints);
const methods = args.methods!.split(',');
const TOP = 100;
const BATCH = 10;

const t0 = performance.now();
const catalog = await readTable(args.catalog, { rawColumns: ['id'] });
let embeddings = args.embeddings;
const standIn = !embeddings;
if (!embeddings) {
  embeddings = join(mkdtempSync(join(tmpdir(), 'galmorph-bench-anomaly-')), 'standin-embeddings.parquet');
  await writeStandIn(catalog, embeddings, Number(args.noise));
}
const g = await loadFeatures(embeddings, { components: Number(args.components) });
const byId = new Map(catalog.rows.map((r) => [String(r.id), r]));
const rows = g.ids.map((id) => {
  const r = byId.get(id);
  if (!r) throw new Error(`galaxy ${id} of ${embeddings} is not in ${args.catalog}`);
  return r;
});
const N = g.features.rows;
console.error(`${N} galaxies, ${g.features.dim} components (${standIn ? 'STAND-IN representation' : embeddings}), loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

/** Learner settings per method name; `gp(cap=4;xi=0.5;xifound=0;cold=anomalous;believer=0)` for others. */
const VARIANTS: Record<string, ActiveLearnerOptions> = {
  galmorph: {},
  'gp-walmsley': { interestingScore: 5, tradeoff: 0.5, tradeoffOnceFound: 0.5, coldStart: 'random' },
};

function parseVariant(method: string): ActiveLearnerOptions | undefined {
  const m = /^gp\((.*)\)$/.exec(method);
  if (!m) return undefined;
  const o: ActiveLearnerOptions = {};
  for (const kv of m[1].split(/[,;]/).filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (k === 'cap') o.interestingScore = Number(v);
    else if (k === 'xi') o.tradeoff = Number(v);
    else if (k === 'xifound') o.tradeoffOnceFound = Number(v);
    else if (k === 'cold') o.coldStart = v as 'random' | 'anomalous';
    else if (k === 'believer') o.believer = v !== '0';
    else throw new Error(`unknown variant key ${k}`);
  }
  return o;
}

function precisionAtTop(score: Float64Array, interesting: Uint8Array): number {
  const order = argsortDescending(score);
  let hits = 0;
  for (let i = 0; i < TOP; i++) hits += interesting[order[i]];
  return hits / TOP;
}

/** Ranking score of a baseline that labels galaxies in a fixed order and ranks the rest by `prior`. */
function orderedBaseline(order: ArrayLike<number>, prior: Float64Array, truth: Int8Array, interesting: Uint8Array): number[] {
  return checkpoints.map((n) => {
    const score = Float64Array.from(prior);
    for (let i = 0; i < n; i++) score[order[i]] = truth[order[i]];
    return precisionAtTop(score, interesting);
  });
}

/** The `galmorph simulate` command that made a simulated catalogue, from its manifest. */
async function simulateCommand(catalogPath: string): Promise<string[]> {
  const manifest = join(dirname(catalogPath), 'manifest.json');
  if (!existsSync(manifest)) return [];
  const m = JSON.parse(await readFile(manifest, 'utf8'));
  if (m.format !== 'galmorph-sim/1') return [];
  return [`galmorph simulate --n ${m.n} --survey ${m.survey} --size ${m.size} --seed ${m.seed} --schema ${m.schema} --visibility ${m.visibility} --out ${relative('.', dirname(catalogPath))}`];
}

const report: Report = {
  generated: new Date().toISOString(),
  representation: standIn
    ? 'STAND-IN: simulator truth and visible tags, randomly mixed to 64-d with noise (bench/anomaly/standin.ts). Validates the benchmark; NOT a galmorph result.'
    : relative('.', resolve(embeddings)),
  catalog: relative('.', resolve(args.catalog)),
  galaxies: N,
  components: g.features.dim,
  repeats,
  label_counts: checkpoints,
  protocol: `${BATCH} random starts, then batches of ${BATCH} by expected improvement (trade-off 0.5, 0 once a galaxy has scored ≥ 4), each batch chosen with the kriging believer; precision of the top ${TOP}, labelled galaxies ranked by their label; interesting = researcher score ≥ 4`,
  commands: [
    ...(standIn ? ['node dist/cli/main.js simulate --n 60000 --out sim60k --seed 7 --size 32 --visibility analytic'] : await simulateCommand(args.catalog)),
    `npx tsx bench/anomaly/run.ts ${process.argv.slice(2).join(' ')}`,
  ],
  machine: { cpus: cpus().length, node: process.version },
  researchers: {},
};

for (const researcher of RESEARCHERS.filter((r) => !wanted || wanted.includes(r.name))) {
  const truth = Int8Array.from(rows, (r) => scoreOf(researcher, r));
  const interesting = Uint8Array.from(truth, (s) => (s >= 4 ? 1 : 0));
  const count = interesting.reduce((a, b) => a + b, 0);
  const entry: Report['researchers'][string] = { description: researcher.description, interesting: count, interesting_fraction: count / N, methods: {} };
  report.researchers[researcher.name] = entry;
  console.error(`\n${researcher.name}: ${count} interesting (${((100 * count) / N).toFixed(2)}%)`);
  const runs: Record<string, number[][]> = {};
  const seconds: Record<string, number> = {};
  for (const rep of seeds) {
    const anomaly = scoreIsolationForest(fitIsolationForest(g.features, { seed: rep }), g.features);
    for (const method of methods) {
      const t = performance.now();
      let curve: number[];
      const learnerOptions = VARIANTS[method] ?? parseVariant(method);
      if (learnerOptions) {
        const learner = new ActiveLearner(g.features, anomaly, { ...learnerOptions, seed: rep });
        curve = [];
        for (const n of checkpoints) {
          while (learner.labels.size < n) {
            for (const q of await learner.nextQueries(Math.min(BATCH, n - learner.labels.size))) learner.setLabel(q.row, truth[q.row]);
          }
          const { score } = await learner.rank();
          curve.push(precisionAtTop(score, interesting));
        }
      } else if (method === 'isolation-forest') {
        const learner = new ActiveLearner(g.features, anomaly);
        curve = orderedBaseline(argsortDescending(anomaly), learner.anomaly05, truth, interesting);
      } else if (method === 'random') {
        const rng = new Rng(rep, 'bench random order');
        const prior = Float64Array.from({ length: N }, () => 5 * rng.float());
        curve = orderedBaseline(argsortDescending(prior), prior, truth, interesting);
      } else throw new Error(`unknown method ${method}`);
      (runs[method] ??= []).push(curve);
      seconds[method] = (seconds[method] ?? 0) + (performance.now() - t) / 1000;
      console.error(`  repeat ${rep} ${method.padEnd(20)} ${curve.map((p) => p.toFixed(2)).join(' ')}  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }
  }
  for (const method of methods) {
    const m: Record<string, number | number[][]> = {};
    checkpoints.forEach((n, k) => {
      const v = runs[method].map((c) => c[k]);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      m[`top100_precision_at_${n}`] = round(mean);
      m[`top100_precision_at_${n}_std`] = round(Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(v.length - 1, 1)));
    });
    m.per_repeat = runs[method].map((c) => c.map(round));
    m.seconds_per_repeat = round(seconds[method] / repeats, 1);
    entry.methods[method] = m;
  }
}

const dir = args['report-dir']!;
const jsonPath = join(dir, 'anomaly.json');
const previous = await readFile(jsonPath, 'utf8').then((s) => JSON.parse(s) as Record<string, unknown>, () => ({}));
const merged = { ...previous, ...report };
await writeFile(jsonPath, JSON.stringify(merged, null, 2) + '\n');
await writeFile(join(dir, 'anomaly.svg'), renderPlot(report));
await writeFile(join(dir, 'anomaly.md'), renderMarkdown(merged as Report & Record<string, unknown>));
console.error(`\nwrote ${jsonPath}, ${join(dir, 'anomaly.md')}, ${join(dir, 'anomaly.svg')} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

function round(x: number, d = 3): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}
