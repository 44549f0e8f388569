/**
 * Re-rank speed on 10⁶ galaxies: synthetic 40-d standardised features, n labelled galaxies
 * (scores from a smooth function of the features), then the GP fit, one re-rank (posterior
 * mean of every galaxy + ordering) and one batch of 10 queries (EI search). Also the
 * isolation forest on all of them. Merges `rerank` into reports/anomaly.json.
 *
 *   npx tsx bench/anomaly/speed.ts [--galaxies 1000000] [--labels 100,300,400]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ActiveLearner, argsortDescending, fitIsolationForest, scoreIsolationForest } from '../../src/anomaly/index.js';
import { Rng } from '../../src/sim/rng.js';
import { defaultThreads, predictMean } from '../../src/anomaly/parallel.js';
import { renderMarkdown, type Report, type SpeedReport } from './report.js';

const { values: args } = parseArgs({
  options: {
    galaxies: { type: 'string', default: '1000000' },
    labels: { type: 'string', default: '100,300,400' },
    'report-dir': { type: 'string', default: 'reports' },
  },
});
const N = Number(args.galaxies);
const D = 40;
const load = loadavg();
const rng = new Rng(0, 'speed');
const data = new Float32Array(N * D);
for (let i = 0; i < data.length; i++) data[i] = rng.fastNormal();
const features = { rows: N, dim: D, data };
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

let t = performance.now();
const anomaly = scoreIsolationForest(fitIsolationForest(features), features);
const ifSeconds = (performance.now() - t) / 1000;
console.error(`isolation forest on ${N}: ${ifSeconds.toFixed(1)} s`);

const runs: SpeedReport['runs'] = [];
for (const n of args.labels!.split(',').map(Number)) {
  const learner = new ActiveLearner(features, anomaly, { seed: 1 });
  const pick = new Rng(n, 'labelled');
  while (learner.labels.size < n) {
    const r = pick.int(N);
    const interest = 2.5 + 2.5 * Math.tanh(data[r * D] + 0.5 * data[r * D + 1] - 0.5);
    learner.setLabel(r, Math.max(0, Math.min(5, Math.round(interest))));
  }
  t = performance.now();
  const gp = learner.fit()!;
  const fit = (performance.now() - t) / 1000;
  await predictMean(gp, { rows: 60_000, dim: D, data: data.subarray(0, 60_000 * D) }); // start the engine and the worker threads
  t = performance.now();
  const c0 = cpu();
  const ranking = await learner.rank();
  const rankSeconds = (performance.now() - t) / 1000;
  const rankCpu = cpu() - c0;
  t = performance.now();
  const mean = await predictMean(gp, features, learner.threads);
  const predict = (performance.now() - t) / 1000;
  t = performance.now();
  argsortDescending(mean);
  const sort = (performance.now() - t) / 1000;
  t = performance.now();
  const batch = await learner.nextQueries(10);
  const next = (performance.now() - t) / 1000;
  // σ rows: re-run the search to count them (nextQueries does not report it).
  const { topExpectedImprovement } = await import('../../src/anomaly/acquisition.js');
  const excluded = new Uint8Array(N);
  for (const r of learner.labels.keys()) excluded[r] = 1;
  const sel = await topExpectedImprovement(gp, features, { count: 10, best: 4, tradeoff: 0.5, excluded, mean });
  runs.push({ labels: n, rank_seconds: rankSeconds, rank_cpu_seconds: rankCpu, predict_seconds: predict, sort_seconds: sort, fit_seconds: fit, next_batch_seconds: next, next_batch_sigma_rows: sel.evaluated });
  console.error(`${n} labels: fit ${fit.toFixed(2)} s; re-rank ${rankSeconds.toFixed(2)} s wall, ${rankCpu.toFixed(2)} s CPU (predict ${predict.toFixed(2)}, sort ${sort.toFixed(2)}); next batch ${next.toFixed(2)} s (σ for ${sel.evaluated} rows; top ${batch[0]?.predicted.toFixed(2)}); ${ranking.order.length} ranked`);
}

const speed: SpeedReport = {
  galaxies: N, dim: D, threads: defaultThreads(), runs, isolation_forest_seconds: ifSeconds, load_average: load,
  command: `npx tsx bench/anomaly/speed.ts --galaxies ${N} --labels ${args.labels}`,
};
const path = join(args['report-dir']!, 'anomaly.json');
const previous = await readFile(path, 'utf8').then((s) => JSON.parse(s) as Record<string, unknown>, () => ({}));
const merged = { ...previous, rerank: speed };
await writeFile(path, JSON.stringify(merged, null, 2) + '\n');
if ('researchers' in merged) await writeFile(join(args['report-dir']!, 'anomaly.md'), renderMarkdown(merged as unknown as Report & { rerank: SpeedReport }));
console.error(`wrote ${path}`);
