/**
 * Calibration of a trained model on held-out simulated galaxies: predicts the catalogue, then
 * checks how often the observed vote counts and the simulator's true answer probabilities
 * (`oracle_…` columns) fall within the predicted central 68% / 95% intervals, per question.
 * Merges the figures into reports/predict.json under `calibration`.
 *
 *   npx tsx bench/predict/calibration.ts --model models/<trained> --catalog <held-out sim>/catalog.parquet [--passes 5]
 *
 * Use galaxies the model was not trained on (e.g. `galmorph simulate --seed <other seed>`).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTable } from '../../src/data/index.js';
import { initEngine } from '../../src/engine/index.js';
import { loadModel } from '../../src/models/index.js';
import { calibration, predictSurvey } from '../../src/predict/index.js';

const argv = process.argv.slice(2);
const flag = (name: string, def?: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const modelDir = flag('model');
const catalog = flag('catalog');
if (!modelDir || !catalog) {
  console.error('usage: npx tsx bench/predict/calibration.ts --model DIR --catalog CATALOG [--passes 5] [--id-column id]');
  process.exit(2);
}
const passes = Number(flag('passes', '5'));
const idColumn = flag('id-column', 'id')!;

await initEngine();
const model = await loadModel(modelDir);
const out = join(mkdtempSync(join(tmpdir(), 'gm-calib-')), 'preds.parquet');
const run = await predictSurvey({ model, catalog, out, passes, idColumn });
const preds = (await readTable(out, { rawColumns: ['id'] })).rows;
const votes = (await readTable(catalog, { rawColumns: [idColumn] })).rows;
const opts = { schema: model.schema, votesIdColumn: idColumn };
const byVotes = calibration(preds, votes, opts);
const hasTruth = Object.keys(votes[0] ?? {}).some((c) => c.startsWith('oracle_'));
const byTruth = hasTruth ? calibration(preds, votes, { ...opts, truthPrefix: 'oracle_' }) : null;
const table = (r: typeof byVotes) =>
  Object.fromEntries(r.questions.map((q) => [q.question, { galaxies: q.galaxies, ...q.coverage }]));
const result = {
  command: `npx tsx bench/predict/calibration.ts ${argv.join(' ')}`,
  model: modelDir,
  catalog,
  galaxies: run.rows,
  passes,
  levels: byVotes.levels,
  observed_votes: { overall: byVotes.overall, per_question: table(byVotes) },
  true_probabilities: byTruth ? { overall: byTruth.overall, per_question: table(byTruth) } : null,
};
console.log(JSON.stringify(result, null, 2));
let report: Record<string, unknown> = {};
try {
  report = JSON.parse(readFileSync('reports/predict.json', 'utf8'));
} catch {
  /* first figures in the report */
}
mkdirSync('reports', { recursive: true });
writeFileSync('reports/predict.json', JSON.stringify({ ...report, calibration: result }, null, 2) + '\n');
model.dispose();
