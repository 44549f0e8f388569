/**
 * bench/pretrain: how well a trained model predicts volunteer votes on a held-out simulated
 * survey, against the noise floor of the votes themselves.
 *
 *   npx tsx bench/pretrain/run.ts --model models/galmorph-decals-sim --catalog data/test-v5/catalog.parquet
 *
 * Per question, over galaxies with at least one vote on it:
 *  - MAE of the predicted vote fractions vs the observed vote fractions;
 *  - oracle MAE: the same for the true answer probabilities the simulated volunteers sampled
 *    from (`oracle_*` columns) — the best any model can do against finite votes;
 *  - accuracy on confidently voted galaxies (leading vote fraction > 0.8): predicted leading
 *    answer = voted leading answer (also for the oracle); and per answer, the recall on the
 *    galaxies confidently voted that answer, so an answer the model never names (a dead head
 *    unit: accuracy stays high when the answer is rare) shows as 0%.
 * Writes reports/pretrain.json (and prints a table).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { predictSurvey } from '../../src/predict/index.js';
import { readTable, readVoteCatalog } from '../../src/data/index.js';
import { readModelConfig } from '../../src/models/index.js';
import { createSchema, schemaTrees } from '../../src/schema/index.js';
import { answerMatrix, oracleProbabilities, scoreQuestion, type QuestionScore } from './score.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/galmorph-decals-sim' },
    catalog: { type: 'string', default: 'data/test-v5/catalog.parquet' },
    passes: { type: 'string', default: '5' },
    out: { type: 'string', default: 'reports/pretrain.json' },
  },
});
const config = await readModelConfig(values.model!);
const schema = createSchema(config.schema);
const dir = mkdtempSync(join(tmpdir(), 'gm-pretrain-'));
const predPath = join(dir, 'pred.parquet');
const t0 = performance.now();
const run = await predictSurvey({ model: values.model!, catalog: values.catalog!, out: predPath, passes: Number(values.passes) });
const seconds = (performance.now() - t0) / 1000;
const votes = await readVoteCatalog(values.catalog!, { schema });
const truth = await readTable(values.catalog!);
const preds = await readTable(predPath);
rmSync(dir, { recursive: true, force: true });
// Fractions of galaxies without an ok prediction read NaN: scoreQuestion leaves them out.
const pred = answerMatrix(schema, votes.ids, preds.rows, (column) => `${column}_fraction`, (r) => r.status === 'ok');
const oracle = oracleProbabilities(schema, votes.ids, truth.rows);
const rows = schema.questions.map((q) => scoreQuestion(schema, q, votes.counts, pred, oracle));
console.log('question               galaxies     MAE  oracle MAE  ratio  confident  accuracy  oracle acc');
for (const r of rows) {
  console.log(
    `${r.question.padEnd(22)} ${String(r.galaxies).padStart(8)}  ${r.mae.toFixed(4)}      ${r.oracle_mae.toFixed(4)}  ${r.mae_ratio.toFixed(2).padStart(5)}  ${String(r.confident).padStart(9)}  ${(100 * r.confident_accuracy).toFixed(1).padStart(7)}%  ${(100 * r.oracle_confident_accuracy).toFixed(1).padStart(9)}%`,
  );
}
// Answers the model seldom names where the volunteers agree (a dead head answer shows as 0%):
// recall below 50% on at least 10 confidently voted galaxies.
const weakAnswers = rows.flatMap((r) =>
  Object.entries(r.answers)
    .filter(([, a]) => a.confident >= 10 && a.recall < 0.5)
    .map(([answer, a]) => ({ column: `${r.question}_${answer}`, confident: a.confident, named: Math.round(a.recall * a.confident), oracle_recall: a.oracle_recall })),
);
if (weakAnswers.length) console.log(`answers named on < 50% of the galaxies confidently voted them (≥ 10 such galaxies): ${weakAnswers.map((w) => `${w.column} ${w.named}/${w.confident}`).join(', ')}`);
// Means per tree of a combined schema ("decals-dr5+gz2"); the top-level means are the first
// tree's (GZ DECaLS), so they stay comparable with models trained on that tree alone.
const means = (tree: QuestionScore[]) => {
  const mean = (f: (r: QuestionScore) => number) => tree.reduce((s, r) => s + f(r), 0) / tree.length;
  return { mean_mae: mean((r) => r.mae), mean_oracle_mae: mean((r) => r.oracle_mae), mean_mae_ratio: mean((r) => r.mae_ratio) };
};
const trees = Object.fromEntries(
  schemaTrees(schema.name).map((tree) => {
    const names = new Set(tree.questions.map((q) => q.name));
    return [tree.name, means(rows.filter((r) => names.has(r.question)))];
  }),
);
const report = {
  generated: new Date().toISOString(),
  model: values.model, catalog: values.catalog, passes: Number(values.passes),
  galaxies: run.rows, predict_seconds: seconds,
  ...Object.values(trees)[0],
  trees,
  questions: rows,
  weak_answers: weakAnswers,
};
for (const [tree, m] of Object.entries(trees)) {
  console.log(`${tree}: mean MAE ${m.mean_mae.toFixed(4)} vs oracle ${m.mean_oracle_mae.toFixed(4)} (ratio ${m.mean_mae_ratio.toFixed(2)})`);
}
await mkdir('reports', { recursive: true });
await writeFile(values.out!, JSON.stringify(report, null, 2) + '\n');
