/** Small embeddings tables for the anomaly tests: a Gaussian crowd plus planted outliers. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTable, type Cell } from '../src/data/index.js';
import { Rng } from '../src/sim/rng.js';

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'galmorph-anomaly-'));

export interface EmbeddingsFixture {
  path: string;
  ids: string[];
  /** Ids of the planted outliers (also the "interesting" ones: feature 0 shifted far). */
  outliers: string[];
}

/**
 * `n` galaxies with `dim`-d representations; the first `outliers` sit 8σ out along feature 0.
 * One extra row has status "error: unreadable" and NaN features (must be skipped).
 */
export async function makeEmbeddings(dir: string, n: number, dim: number, outliers: number, ext: 'csv' | 'parquet' = 'parquet', seed = 1): Promise<EmbeddingsFixture> {
  const rng = new Rng(seed, 'fixture');
  const columns = ['id', 'ra', 'dec', 'status', ...Array.from({ length: dim }, (_, j) => `feat_${String(j).padStart(3, '0')}`)];
  const rows: Record<string, Cell>[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `G${String(i).padStart(5, '0')}`;
    ids.push(id);
    const row: Record<string, Cell> = { id, ra: 150 + i * 1e-3, dec: 2, status: 'ok' };
    for (let j = 0; j < dim; j++) row[columns[4 + j]] = rng.normal() + (i < outliers && j === 0 ? 8 : 0);
    rows.push(row);
  }
  const bad: Record<string, Cell> = { id: 'BROKEN', ra: 0, dec: 0, status: 'error: unreadable' };
  for (let j = 0; j < dim; j++) bad[columns[4 + j]] = NaN;
  rows.push(bad);
  const path = join(dir, `emb.${ext}`);
  await writeTable(path, { columns, rows });
  return { path, ids, outliers: ids.slice(0, outliers) };
}
