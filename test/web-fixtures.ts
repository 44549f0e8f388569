/**
 * A small simulated survey for the explorer tests: catalogue and images from the simulator,
 * predictions and embeddings written directly from the simulator's truth (no model to run),
 * so the tests take seconds.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTable, writeTable, type Cell } from '../src/data/index.js';
import { getSchema } from '../src/schema/index.js';
import { simulateSurvey } from '../src/sim/runner.js';
import { rng } from '../src/util/random.js';

export const tmp = (prefix = 'gm-web-'): string => mkdtempSync(join(tmpdir(), prefix));

export interface ExplorerFixture {
  dir: string;
  catalog: string;
  predictions: string;
  embeddings: string;
  /** Catalogue rows as the simulator wrote them. */
  rows: Record<string, Cell>[];
  /** The galaxy whose prediction failed (status "error: …", not in the embeddings' usable rows). */
  broken: string;
}

/**
 * `n` simulated 64-px galaxies. Predicted fractions are the simulator's true answer
 * probabilities (std 0.05); the representation is 8 of those probabilities plus a little
 * noise, so neighbours share morphology. The last galaxy's prediction and embedding failed.
 */
export async function makeExplorerSurvey(n = 24, dir = tmp()): Promise<ExplorerFixture> {
  const sim = await simulateSurvey({ n, out: join(dir, 'survey'), size: 64, seed: 7, workers: 1 });
  const { rows } = await readTable(sim.catalogParquet);
  const answers = getSchema('decals-dr5').answerColumns;
  const broken = String(rows[n - 1].id);
  const predColumns = ['id', 'status', ...answers.flatMap((c) => [`${c}_fraction`, `${c}_fraction_std`])];
  const featColumns = Array.from({ length: 8 }, (_, j) => `feat_${String(j).padStart(3, '0')}`);
  const noise = rng(99);
  const preds = rows.map((r) => {
    const ok = r.id !== broken;
    const rec: Record<string, Cell> = { id: r.id, status: ok ? 'ok' : 'error: unreadable image' };
    for (const c of answers) {
      rec[`${c}_fraction`] = ok ? (r[`oracle_${c}`] as number) : NaN;
      rec[`${c}_fraction_std`] = ok ? 0.05 : NaN;
    }
    return rec;
  });
  const emb = rows.map((r) => {
    const ok = r.id !== broken;
    const rec: Record<string, Cell> = { id: r.id, status: ok ? 'ok' : 'error: unreadable image' };
    featColumns.forEach((c, j) => (rec[c] = ok ? (r[`oracle_${answers[j]}`] as number) + 0.02 * noise() : NaN));
    return rec;
  });
  const predictions = join(dir, 'predictions.parquet');
  const embeddings = join(dir, 'embeddings.parquet');
  await writeTable(predictions, { columns: predColumns, rows: preds });
  await writeTable(embeddings, { columns: ['id', 'status', ...featColumns], rows: emb });
  return { dir, catalog: sim.catalogParquet, predictions, embeddings, rows, broken };
}
