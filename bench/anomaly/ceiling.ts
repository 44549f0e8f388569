/**
 * What the representation allows, independent of the active learner: for each simulated
 * researcher, (1) how many of each interesting galaxy's 10 nearest neighbours (PCA space) are
 * interesting too, and (2) a GP fitted on many labels — half of the interesting galaxies and
 * `--negatives` random others — ranking the held-out galaxies: precision of its top k, k = the
 * held-out interesting count (so 1.0 is perfect). If (2) is low the limit is the
 * representation, not the learner. `--components 10,40,256` repeats (1) on the first k standardised
 * PCA components (and on the same k unstandardised, `raw`); (2) runs on the first k listed.
 *
 *   npx tsx bench/anomaly/ceiling.ts --catalog data/anomaly-60k/catalog.parquet --embeddings data/anomaly-60k/embeddings-gz.parquet [--components 40] [--negatives 0]
 */
import { parseArgs } from 'node:util';
import { readTable } from '../../src/data/index.js';
import { GaussianProcess, argsortDescending, loadFeatures, type FeatureMatrix } from '../../src/anomaly/index.js';
import { Rng } from '../../src/sim/rng.js';
import { RESEARCHERS, scoreOf } from './researchers.js';

const { values: args } = parseArgs({
  options: {
    catalog: { type: 'string' },
    embeddings: { type: 'string' },
    components: { type: 'string', default: '40' },
    negatives: { type: 'string', default: '800' },
    seed: { type: 'string', default: '0' },
  },
});
if (!args.catalog || !args.embeddings) throw new Error('give --catalog and --embeddings');
const catalog = await readTable(args.catalog, { rawColumns: ['id'] });
const ks = args.components!.split(',').map(Number);
const all = await loadFeatures(args.embeddings, { components: Math.max(...ks) });
const byId = new Map(catalog.rows.map((r) => [String(r.id), r]));
const rows = all.ids.map((id) => byId.get(id)!);
const N = all.features.rows;
/** The first k standardised components, or (raw) scaled back by √variance. */
function firstComponents(k: number, raw: boolean): FeatureMatrix {
  const D = all.features.dim;
  const out = new Float32Array(N * k);
  for (let i = 0; i < N; i++) for (let c = 0; c < k; c++) out[i * k + c] = all.features.data[i * D + c] * (raw ? Math.sqrt(all.pca.explainedVariance[c]) : 1);
  return { rows: N, dim: k, data: out };
}

function neighbourShare(x: FeatureMatrix, truth: Int8Array, pos: number[]): number {
  const { data, dim } = x;
  let share = 0;
  const d2 = new Float64Array(N);
  for (const p of pos) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += (data[p * dim + k] - data[j * dim + k]) ** 2;
      d2[j] = -s;
    }
    d2[p] = -Infinity;
    const nn = argsortDescending(d2).subarray(0, 10);
    share += nn.reduce((a, j) => a + (truth[j] >= 4 ? 1 : 0), 0) / 10;
  }
  return share / pos.length;
}

for (const researcher of RESEARCHERS) {
  const truth = Int8Array.from(rows, (r) => scoreOf(researcher, r));
  const pos: number[] = [];
  truth.forEach((s, i) => s >= 4 && pos.push(i));
  // (1) neighbourhoods of the interesting galaxies.
  for (const k of ks) {
    for (const raw of [false, true]) {
      console.log(`${researcher.name}: ${pos.length} interesting; 10-NN share interesting, ${k} components${raw ? ' (unstandardised)' : ''}: ${neighbourShare(firstComponents(k, raw), truth, pos).toFixed(3)}`);
    }
  }
  if (Number(args.negatives) === 0) continue;
  const g = { features: firstComponents(ks[0], false) };
  const { data, dim } = g.features;
  // (2) a GP on many labels.
  const rng = new Rng(Number(args.seed), 'anomaly ceiling');
  const train = new Set(pos.filter((_, i) => i % 2 === 0));
  while (train.size < pos.length / 2 + Number(args.negatives)) train.add(rng.int(N));
  const tr = [...train];
  const x = new Float32Array(tr.length * dim);
  tr.forEach((r, i) => x.set(data.subarray(r * dim, r * dim + dim), i * dim));
  const t0 = performance.now();
  const gp = GaussianProcess.fit(x, dim, tr.map((r) => truth[r]));
  const { mean } = await gp.predict(g.features);
  for (const r of tr) mean[r] = -Infinity;
  const held = pos.filter((p) => !train.has(p)).length;
  const order = argsortDescending(mean);
  let hits = 0;
  for (let i = 0; i < held; i++) hits += truth[order[i]] >= 4 ? 1 : 0;
  let hits100 = 0;
  for (let i = 0; i < 100; i++) hits100 += truth[order[i]] >= 4 ? 1 : 0;
  console.log(
    `${researcher.name} (${dim} components): GP on ${tr.length} labels (${train.size - Number(args.negatives)} interesting) in ${((performance.now() - t0) / 1000).toFixed(0)} s: ` +
      `held-out precision@${held} ${(hits / held).toFixed(3)}, top-100 of unlabelled ${hits100 / 100} (ℓ ${gp.kernel.lengthScale.toFixed(2)}, α ${gp.kernel.alpha.toFixed(2)}, noise ${gp.kernel.noise.toFixed(3)})`,
  );
}
