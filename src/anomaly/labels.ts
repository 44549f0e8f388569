/**
 * The researcher's scores on disk: a table with columns `id` and `score` (0–5; fractions are
 * allowed in imports), read with precise errors and written atomically.
 */
import { readTable, writeTable } from '../data/index.js';
import { CatalogError } from '../errors.js';
import { isValidScore } from './learner.js';

/** One galaxy's score. */
export interface LabelRecord {
  id: string;
  /** Interest from 0 (boring) to 5 (exactly what I am looking for). */
  score: number;
}

const SHOWN = 5;

/**
 * Read scores from a `.csv` or `.parquet` table with columns `id` and `score`.
 * @param known ids that exist (e.g. the embeddings' ids); any other id is an error
 * @throws CatalogError naming the file, the row and the value: missing columns, scores outside
 *   0–5 or not numbers, an id scored twice with different scores, ids not in `known`
 */
export async function readLabels(path: string, known?: ReadonlySet<string> | ReadonlyMap<string, unknown>): Promise<LabelRecord[]> {
  const table = await readTable(path, { rawColumns: ['id'] });
  const missing = ['id', 'score'].filter((c) => !table.columns.includes(c));
  if (missing.length > 0) {
    throw new CatalogError(`${path}: a scores table needs columns "id" and "score" (0–5); missing ${missing.join(', ')} (found ${table.columns.join(', ') || 'no columns'})`);
  }
  const byId = new Map<string, number>();
  const unknown: string[] = [];
  table.rows.forEach((row, i) => {
    const line = i + 2; // 1-based, after the header
    const id = row.id === null ? '' : String(row.id).trim();
    if (id === '') throw new CatalogError(`${path} row ${line}: empty id`);
    const raw = row.score;
    const score = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (!isValidScore(score)) {
      throw new CatalogError(`${path} row ${line}: score ${raw === null ? '(empty)' : JSON.stringify(raw)} for "${id}" is not a number from 0 to 5`);
    }
    const before = byId.get(id);
    if (before !== undefined && before !== score) throw new CatalogError(`${path} row ${line}: "${id}" is scored twice (${before} and ${score})`);
    if (known && !known.has(id)) unknown.push(id);
    byId.set(id, score);
  });
  if (unknown.length > 0) {
    const shown = unknown.slice(0, SHOWN).map((u) => `"${u}"`).join(', ');
    throw new CatalogError(
      `${path}: ${unknown.length} id${unknown.length === 1 ? '' : 's'} not in the embeddings (${shown}${unknown.length > SHOWN ? ', …' : ''}); scores must use the embeddings' ids`,
    );
  }
  return [...byId].map(([id, score]) => ({ id, score }));
}

/** Write scores as a table (by extension), atomically: a crash leaves the old file or the new one. */
export async function writeLabels(path: string, labels: Iterable<LabelRecord>): Promise<void> {
  await writeTable(path, { columns: ['id', 'score'], rows: [...labels].map((l) => ({ id: l.id, score: l.score })) });
}
