/**
 * Survey-to-survey transfer (Domínguez Sánchez et al. 2019), simulated: a classifier trained on
 * thousands of SDSS-like labels (r < 17.77, the SDSS spectroscopic sample) is applied to a
 * deeper, sharper DES-like survey drawn to r < --des-mag-limit ("before"), then adapted with
 * 100 / 300 / 500 DES-like labels ("after"), and compared with models that saw only those
 * DES-like labels. Per task (tasks.ts), each survey's galaxies are labelled by that survey's own
 * simulated volunteers, so the DES-like labels show what DES-like images show. The volunteers
 * judge features on the displayed cutout (`--visibility image`, the default here): with the
 * simulator's analytic estimates ('analytic') a label can follow a bar or ring the image does
 * not show, which capped every DES-like model at ≈ 0.91 whatever the labels and mode:
 *
 *   sdss      the shipped DECaLS-sim base fine-tuned on the SDSS-like labels (--sdss-mode);
 *             evaluated on the DES-like test set (before) and on SDSS-like test galaxies
 *             (r < 17.77, in-domain reference); cached across runs in data/transfer/sdss-models
 *             under a hash of everything it depends on (base model bytes included)
 *   transfer  that SDSS model fine-tuned on N DES-like labels (--mode)
 *   decals    the DECaLS-sim base fine-tuned on the same N labels, the same way (no SDSS labels)
 *   scratch   the same architecture from random initialisation, all layers trained on the N labels
 *   ceiling   the DECaLS-sim base fine-tuned like the SDSS model, but on all labelled galaxies of
 *             a --ceiling-n DES-like simulation: what this network reaches at DES depth with
 *             thousands of DES-like labels, the level the "after" rows can hope for
 *
 * Every fine-tune is the library's `finetune()`, as `galmorph finetune` runs it: N labels are
 * split 80/20 into training and early-stopping validation. Test: `--test` labelled galaxies
 * of a separate DES-like simulation (a third seed), never used for any choice; its accuracy is
 * also reported per r-magnitude bin, to show where the gap is.
 *
 *   nice -n 10 npx tsx bench/transfer/run.ts     # full run: ~45 min on a busy 2-core machine (64 px base, native engine), plus ~20 min to simulate the sets once
 *   npx tsx bench/transfer/run.ts --n-train 600 --ns 100 --seeds 0 --test 200 --epochs 2 --scratch-epochs 3 --ceiling-n 0
 *   npx tsx bench/transfer/run.ts --simulate-only   # only the simulated sets (e.g. while the base trains)
 *
 * Jobs run in `--jobs` child processes (the wasm engine is single-threaded). Each finished
 * row is appended to data/transfer/rows-<fingerprint>.jsonl; a rerun skips finished rows and
 * re-simulates missing data from the seeds. Writes reports/transfer.json, .md and .svg.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readImage, readTable, writeTable, type Cell } from '../../src/data/index.js';
import { initEngine } from '../../src/engine/index.js';
import { finetune, loadFinetuned, type FinetuneMode } from '../../src/finetune/index.js';
import { completenessPurity } from '../../src/finetune/metrics.js';
import { createModel, decodeSize, loadModel, prepareImages, saveModel } from '../../src/models/index.js';
import { getSchema } from '../../src/schema/index.js';
import { MAG_FAINT } from '../../src/sim/population.js';
import { simulateSurvey } from '../../src/sim/runner.js';
import { checkMagLimit, checkVisibilityMode, SIMULATOR_VERSION } from '../../src/sim/simulate.js';
import { hashString, rng } from '../../src/util/random.js';
import { CAMPAIGN, getTask, TASKS, type TransferTask } from './tasks.js';
import { renderMarkdown, renderPlot, summarise, type Row } from './report.js';

const { values: args } = parseArgs({
  options: {
    'n-train': { type: 'string', default: '4000' },
    'des-mag-limit': { type: 'string', default: '20' },
    visibility: { type: 'string', default: 'image' },
    ns: { type: 'string', default: '100,300,500' },
    seeds: { type: 'string', default: '0,1,2' },
    test: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '6' },
    'scratch-epochs': { type: 'string', default: '20' },
    'transfer-epochs': { type: 'string', default: '30' },
    mode: { type: 'string', default: 'linear-probe' },
    'sdss-mode': { type: 'string', default: 'partial' },
    tasks: { type: 'string', default: 'smooth-featured,edge-on' },
    arms: { type: 'string', default: 'transfer,decals,scratch' },
    'scratch-tasks': { type: 'string', default: 'smooth-featured' },
    'ceiling-n': { type: 'string', default: '4000' },
    'ceiling-tasks': { type: 'string', default: 'smooth-featured' },
    base: { type: 'string', default: 'models/galmorph-decals-sim' },
    size: { type: 'string', default: 'auto' },
    jobs: { type: 'string', default: '2' },
    data: { type: 'string', default: 'data/transfer' },
    'report-dir': { type: 'string', default: 'reports' },
    job: { type: 'string' },
    // Simulate the sets (resumable) and stop: the data can be made while the base still trains.
    'simulate-only': { type: 'boolean', default: false },
  },
});

/** Simulation seeds: SDSS-like training survey, DES-like label pool, test galaxies (both surveys). */
const SEED = { sdssTrain: 9201, desPool: 9202, test: 9203, desCeiling: 9204 } as const;
/**
 * Lowest share of simulated galaxies a task labels, with a margin: edge-on in the r < 20
 * DES-like survey labels ≈ 0.41 with analytic visibility but ≈ 0.31 when volunteers judge the
 * image (fewer galaxies are voted "featured" by a majority, so fewer reach the edge-on question),
 * and 0.247 since simulator version 4 (bulge-dominated edge-on disks no longer read as edge-on).
 */
const MIN_LABEL_RATE = 0.2;
/** Bright edges of the r bins the DES-like test accuracy is broken down by (SDSS's own range first). */
const MAG_BINS = [MAG_FAINT, 19];

const base = resolve(args.base!);
const baseConfig = JSON.parse(await readFile(join(base, 'config.json'), 'utf8')) as { inputSize: number };
const settings = {
  nTrain: int(args['n-train']!, 'n-train'),
  desMagLimit: checkMagLimit(Number(args['des-mag-limit'])),
  // How the simulated volunteers judge features (see the header).
  visibility: checkVisibilityMode(args.visibility!),
  ns: args.ns!.split(',').map((s) => int(s, 'ns')),
  seeds: args.seeds!.split(',').map((s) => int(s, 'seeds')),
  test: int(args.test!, 'test'),
  epochs: int(args.epochs!, 'epochs'),
  scratchEpochs: int(args['scratch-epochs']!, 'scratch-epochs'),
  transferEpochs: int(args['transfer-epochs']!, 'transfer-epochs'),
  mode: args.mode as FinetuneMode,
  sdssMode: args['sdss-mode'] as FinetuneMode,
  tasks: args.tasks!.split(','),
  arms: args.arms!.split(','),
  scratchTasks: args['scratch-tasks']!.split(','),
  nCeiling: int(args['ceiling-n']!, 'ceiling-n'),
  ceilingTasks: args['ceiling-tasks']!.split(','),
  base: args.base!,
  // The shipped model's decode size unless told: it sees the pixels it was trained on.
  size: args.size === 'auto' ? decodeSize(baseConfig) : int(args.size!, 'size'),
};
/** Identity of the base model's bytes: a replaced shipped model retrains every arm. */
const baseId = createHash('sha256')
  .update(await readFile(join(base, 'config.json')))
  .update(await readFile(join(base, 'weights.bin')))
  .digest('hex')
  .slice(0, 12);
const data = resolve(args.data!);
// Task definitions and the simulator's version are part of the fingerprint: a changed label
// rule or changed votes retrain everything.
const fingerprint = hashString(
  JSON.stringify({
    ...settings, baseId, simulator: SIMULATOR_VERSION, ns: undefined, seeds: undefined, tasks: undefined, arms: undefined, scratchTasks: undefined, nCeiling: undefined, ceilingTasks: undefined,
    // Analytic runs keep the fingerprints (and caches) they had before the option existed.
    visibility: settings.visibility === 'analytic' ? undefined : settings.visibility,
    labels: TASKS.map((t) => t.definition),
  }),
).toString(16);
const runDir = join(data, `run-${fingerprint}`);
const rowsFile = join(data, `rows-${fingerprint}.jsonl`);
const nPool = Math.ceil(Math.max(...settings.ns) / MIN_LABEL_RATE);
const nTestSim = Math.ceil(settings.test / MIN_LABEL_RATE);
const sim = (survey: 'sdss' | 'des', seed: number, n: number, magLimit: number) => ({
  survey, seed, n, magLimit, dir: join(data, 'sim', `${survey}-s${seed}-n${n}-px${settings.size}-${CAMPAIGN}${magLimit === MAG_FAINT ? '' : `-r${magLimit}`}${settings.visibility === 'analytic' ? '' : `-${settings.visibility}`}-sim${SIMULATOR_VERSION}`),
});
type SetName = 'sdss-train' | 'des-pool' | 'des-test' | 'sdss-test' | 'des-ceiling';
const SETS: Partial<Record<SetName, ReturnType<typeof sim>>> = {
  'sdss-train': sim('sdss', SEED.sdssTrain, settings.nTrain, MAG_FAINT),
  'des-pool': sim('des', SEED.desPool, nPool, settings.desMagLimit),
  'des-test': sim('des', SEED.test, nTestSim, settings.desMagLimit),
  'sdss-test': sim('sdss', SEED.test, nTestSim, MAG_FAINT),
  ...(settings.nCeiling > 0 ? { 'des-ceiling': sim('des', SEED.desCeiling, settings.nCeiling, settings.desMagLimit) } : {}),
};
const labelsFile = (task: string, set: string) => join(runDir, 'labels', task, `${set}.csv`);
const poolFile = (task: string, n: number, seed: number) => join(runDir, 'labels', task, `des-pool-n${n}-seed${seed}.csv`);
/** The SDSS model depends only on these, not on the DES-like side: reruns reuse it. */
const sdssModel = (task: string) =>
  join(data, 'sdss-models', `${task}-${hashString(JSON.stringify({ baseId, size: settings.size, nTrain: settings.nTrain, mode: settings.sdssMode, epochs: settings.epochs, seed: SEED.sdssTrain, label: getTask(task).definition, simulator: SIMULATOR_VERSION, ...(settings.visibility === 'analytic' ? {} : { visibility: settings.visibility }) })).toString(16)}`);

interface Job {
  key: string;
  kind: Row['kind'];
  task: string;
  n: number;
  seed: number;
  after?: string;
}

function int(s: string, name: string): number {
  const v = Number(s);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: expected a non-negative integer, got "${s}"`);
  return v;
}

// ---------------------------------------------------------------------------------------
// A child process runs one job.

if (args.job) {
  const job = JSON.parse(args.job) as Job & { baseId: string };
  // A base model replaced mid-run would silently mix two bases (and move every path).
  if (job.baseId !== baseId) throw new Error(`${settings.base} changed since the run started (bytes ${job.baseId} → ${baseId}); rerun the bench`);
  await runJob(job);
  process.exit(0);
}

async function runJob(job: Job): Promise<void> {
  await initEngine(); // GALMORPH_BACKEND chooses, as in the CLI
  const task = getTask(job.task);
  const log = (line: string) => process.stderr.write(`[${job.key}] ${line}\n`);
  const t0 = performance.now();
  const common = { task: 'binary' as const, classes: task.classes, valFraction: 0.2, log };
  let out: string;
  if (job.kind === 'sdss' || job.kind === 'ceiling') {
    // Thousands of labels of one survey: the SDSS-like training set, or the DES-like ceiling set.
    const [labels, dir] = job.kind === 'sdss' ? [labelsFile(job.task, 'sdss-train'), sdssModel(job.task)] : [labelsFile(job.task, 'des-ceiling'), join(runDir, 'models', job.task, `ceiling-n${job.n}`)];
    out = dir;
    // finetune() writes config.json last: its presence means the model is complete.
    if (!existsSync(join(out, 'config.json'))) {
      await finetune({ ...common, base: settings.base, labels, out, mode: settings.sdssMode, epochs: settings.epochs, valFraction: 0.1, patience: 3 });
    }
  } else {
    out = join(runDir, 'models', job.task, `${job.kind}-n${job.n}-seed${job.seed}`);
    const labels = poolFile(job.task, job.n, job.seed);
    if (job.kind === 'scratch') {
      const init = join(runDir, 'models', `scratch-init-${job.seed}`);
      if (!existsSync(join(init, 'config.json'))) {
        const base = await loadModel(settings.base);
        const fresh = createModel({ schema: getSchema('decals-dr5'), architecture: base.config.architecture.name, size: base.config.inputSize, seed: job.seed });
        base.dispose();
        await saveModel(fresh, init, { note: 'random initialisation (bench/transfer scratch baseline)' });
        fresh.dispose();
      }
      // From scratch: every layer trained, at train()'s learning rate.
      await finetune({ ...common, base: init, labels, out, mode: 'full', learningRate: 1e-3, epochs: settings.scratchEpochs, patience: 5, seed: job.seed });
    } else {
      const base = job.kind === 'transfer' ? sdssModel(job.task) : settings.base;
      await finetune({ ...common, base, labels, out, mode: settings.mode, epochs: settings.transferEpochs, seed: job.seed });
    }
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const model = await loadFinetuned(out);
  const score = async (set: SetName) => {
    const { truth, paths, mags } = await readLabelFile(labelsFile(job.task, set));
    const images = await Promise.all(paths.map((p) => readImage(p, { size: decodeSize(model.config), channels: model.config.bands })));
    const probs = await model.predictPrepared(prepareImages(images, model.config));
    const predicted = truth.map((_, i) => (probs[2 * i + 1] > probs[2 * i] ? task.classes[1] : task.classes[0]));
    const byMag = magBins(settings.desMagLimit).map(([lo, hi]) => {
      const idx = mags.flatMap((m, i) => (m >= lo && m < hi ? [i] : []));
      return { bin: lo === -Infinity ? `< ${hi}` : `${lo}–${hi}`, n: idx.length, accuracy: idx.filter((i) => predicted[i] === truth[i]).length / Math.max(1, idx.length) };
    });
    return { score: completenessPurity(truth, predicted, task.classes), byMag };
  };
  const des = await score('des-test');
  const row: Row = {
    key: job.key, kind: job.kind, task: job.task, n: job.n, seed: job.seed,
    des: des.score,
    desByMag: des.byMag,
    sdss: job.kind === 'sdss' ? (await score('sdss-test')).score : undefined,
    trainSeconds, seconds: (performance.now() - t0) / 1000,
  };
  model.dispose();
  await appendFile(rowsFile, JSON.stringify(row) + '\n');
  log(`DES accuracy ${row.des.accuracy.toFixed(3)} (${row.seconds.toFixed(0)} s)`);
}

/** A test label file: truth, image paths and r magnitudes. */
async function readLabelFile(path: string): Promise<{ truth: string[]; paths: string[]; mags: number[] }> {
  const t = await readTable(path, { rawColumns: ['id', 'label', 'image_path'] });
  return { truth: t.rows.map((r) => String(r.label)), paths: t.rows.map((r) => String(r.image_path)), mags: t.rows.map((r) => Number(r.mag_r)) };
}

/** [bright, faint) r bins of the DES-like test set: the SDSS-like range, then fainter ones. */
function magBins(limit: number): [number, number][] {
  const edges = [-Infinity, ...MAG_BINS.filter((m) => m < limit), limit];
  return edges.slice(1).map((hi, i) => [edges[i], hi]);
}

// ---------------------------------------------------------------------------------------
// The orchestrator: data, label files, jobs, report.

const t0 = performance.now();
await mkdir(runDir, { recursive: true });
console.error(`base ${settings.base} (input ${baseConfig.inputSize} px, bytes ${baseId}); cutouts ${settings.size} px`);
for (const { survey, seed, n, magLimit, dir } of Object.values(SETS)) {
  const r = await simulateSurvey({ n, out: dir, survey, seed, size: settings.size, schema: CAMPAIGN, magLimit, visibility: settings.visibility });
  if (r.rendered > 0) console.error(`simulated ${r.rendered} ${survey}-like galaxies (r < ${magLimit}) → ${dir} (${r.seconds.toFixed(0)} s)`);
}
if (args['simulate-only']) process.exit(0);
const tasks = settings.tasks.map(getTask);
const counts: Record<string, Record<string, Record<string, number>>> = {};
for (const task of tasks) counts[task.name] = await writeLabelFiles(task);

/** Label tables of one task: all of each simulated set (tests cut to --test), and the seeded DES pool subsets. */
async function writeLabelFiles(task: TransferTask): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [set, { dir }] of Object.entries(SETS) as [SetName, ReturnType<typeof sim>][]) {
    const cat = await readTable(join(dir, 'catalog.parquet'), { columns: ['id', 'image_path', 'mag_r', ...task.columns] });
    let rows = cat.rows.flatMap((r) => {
      const label = task.label(r);
      return label === null ? [] : [{ id: String(r.id), label, image_path: resolve(dir, String(r.image_path)), mag_r: Number(r.mag_r) }];
    });
    const need = set === 'des-pool' ? Math.max(...settings.ns) : set.endsWith('test') ? settings.test : 0;
    if (rows.length < need) throw new Error(`${task.name}: ${dir} has ${rows.length} labelled galaxies, fewer than the ${need} needed`);
    if (set.endsWith('test')) rows = rows.slice(0, settings.test);
    await writeRows(labelsFile(task.name, set), rows);
    out[set] = Object.fromEntries(task.classes.map((c) => [c, rows.filter((r) => r.label === c).length]));
    if (set !== 'des-pool') continue;
    for (const seed of settings.seeds) {
      // Nested subsets: the first N of one seeded shuffle, so 100 ⊂ 300 ⊂ 500 for a seed.
      const rand = rng(hashString(`transfer-pool:${task.name}`, seed + 1));
      const order = rows.map((r) => ({ r, k: rand() })).sort((a, b) => a.k - b.k).map((x) => x.r);
      for (const n of settings.ns) await writeRows(poolFile(task.name, n, seed), order.slice(0, n));
    }
  }
  return out;
}

/** A label table as `galmorph finetune` reads it, plus the r magnitude the test breakdown needs. */
async function writeRows(path: string, rows: { id: string; label: string; image_path: string; mag_r: number }[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeTable(path, { columns: ['id', 'label', 'image_path', 'mag_r'], rows: rows as unknown as Record<string, Cell>[] });
}

const jobs: Job[] = [];
for (const task of tasks) {
  const sdssKey = `sdss:${task.name}`;
  jobs.push({ key: sdssKey, kind: 'sdss', task: task.name, n: settings.nTrain, seed: 0 });
  if (settings.nCeiling > 0 && settings.ceilingTasks.includes(task.name)) {
    jobs.push({ key: `ceiling:${task.name}:${settings.nCeiling}`, kind: 'ceiling', task: task.name, n: settings.nCeiling, seed: 0 });
  }
  for (const arm of settings.arms) {
    if (arm === 'scratch' && !settings.scratchTasks.includes(task.name)) continue;
    if (!['transfer', 'decals', 'scratch'].includes(arm)) throw new Error(`--arms: unknown arm "${arm}"`);
    for (const n of settings.ns) {
      for (const seed of settings.seeds) {
        jobs.push({ key: `${arm}:${task.name}:${n}:${seed}`, kind: arm as Job['kind'], task: task.name, n, seed, after: arm === 'transfer' ? sdssKey : undefined });
      }
    }
  }
}
const done = await readRows();
// The slow scratch baselines last, so the transfer rows finish first on a busy machine.
const todo = jobs.filter((j) => !done.has(j.key)).sort((a, b) => Number(a.kind === 'scratch') - Number(b.kind === 'scratch'));
console.error(`${jobs.length} rows, ${jobs.length - todo.length} done (${rowsFile}); running ${todo.length} on ${args.jobs} processes`);
await runQueue(todo, int(args.jobs!, 'jobs') || 1);

async function readRows(): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  if (!existsSync(rowsFile)) return out;
  for (const line of (await readFile(rowsFile, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as Row;
      out.set(r.key, r);
    } catch {
      // A line cut short by a kill: that row simply runs again.
    }
  }
  return out;
}

/** Run jobs in child processes, at most `slots` at a time, each after the job it depends on. */
async function runQueue(queue: Job[], slots: number): Promise<void> {
  const finished = new Set(jobs.filter((j) => !queue.includes(j)).map((j) => j.key));
  const running = new Set<Promise<void>>();
  const pending = [...queue];
  const script = fileURLToPath(import.meta.url);
  while (pending.length > 0 || running.size > 0) {
    const i = pending.findIndex((j) => !j.after || finished.has(j.after));
    if (running.size < slots && i >= 0) {
      const job = pending.splice(i, 1)[0];
      const p: Promise<void> = new Promise<void>((ok, fail) => {
        const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2), '--job', JSON.stringify({ ...job, baseId })], { stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`job ${job.key} exited with code ${code}`))));
      }).then(() => {
        finished.add(job.key);
        running.delete(p);
      });
      running.add(p);
      continue;
    }
    if (running.size === 0) throw new Error(`jobs waiting on unfinished dependencies: ${pending.map((j) => j.key).join(', ')}`);
    await Promise.race(running);
  }
}

// Report.
const rows = [...(await readRows()).values()].filter((r) => jobs.some((j) => j.key === r.key));
const summary = summarise(rows, tasks, { ...settings, baseId, baseInputSize: baseConfig.inputSize }, counts);
const reportDir = resolve(args['report-dir']!);
await mkdir(reportDir, { recursive: true });
await writeFile(join(reportDir, 'transfer.json'), JSON.stringify({ ...summary, rows }, null, 2) + '\n');
await writeFile(join(reportDir, 'transfer.svg'), renderPlot(summary));
const md = renderMarkdown(summary);
await writeFile(join(reportDir, 'transfer.md'), md);
console.log(md);
console.error(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s → ${join(reportDir, 'transfer.{json,md,svg}')}`);
