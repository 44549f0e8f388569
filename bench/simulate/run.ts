/**
 * bench/simulate: simulator throughput (galaxies/s at 128 px, 3 bands, 2 workers, PNG output
 * included) and the vote-distribution sanity report of a 10k-galaxy DECaLS-like survey.
 *
 *   npx tsx bench/simulate/run.ts [--n 10000]
 *
 * Writes reports/simulate.json and reports/votes.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { simulateSurvey } from '../../src/sim/runner.js';
import { readVoteCatalog } from '../../src/data/index.js';
import { getSchema, summarizeVotes, formatVoteSummary } from '../../src/schema/index.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, keep: { type: 'boolean', default: false } } });
const n = Number(values.n);
const dir = mkdtempSync(join(tmpdir(), 'gm-bench-sim-'));
const rows: { workers: number; n: number; seconds: number; perSecond: number }[] = [];
for (const workers of [1, 2]) {
  const count = workers === 1 ? Math.min(n, 1000) : n;
  const r = await simulateSurvey({ n: count, out: join(dir, `w${workers}`), size: 128, seed: 7, workers });
  rows.push({ workers, n: count, seconds: r.seconds, perSecond: r.rendered / r.seconds });
}
console.log('workers  galaxies  seconds  galaxies/s');
for (const r of rows) console.log(`${String(r.workers).padStart(7)}  ${String(r.n).padStart(8)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.perSecond.toFixed(1).padStart(10)}`);

const schema = getSchema('decals-dr5');
const cat = await readVoteCatalog(join(dir, 'w2', 'catalog.parquet'), { schema });
const summary = summarizeVotes(schema, cat.counts);
const text = formatVoteSummary(summary);
console.log('\n' + text);

await mkdir('reports', { recursive: true });
await writeFile('reports/simulate.json', JSON.stringify({
  date: new Date().toISOString(), cpu: cpus()[0]?.model, size_px: 128, bands: 3,
  galaxies_per_second_2_workers: rows[1].perSecond, galaxies_per_second_1_worker: rows[0].perSecond, runs: rows,
}, null, 2) + '\n');
await writeFile('reports/votes.md', `# Vote-distribution sanity report\n\nSimulated DECaLS-like survey, ${n} galaxies, seed 7 (\`npx tsx bench/simulate/run.ts --n ${n}\`).\n\n\`\`\`\n${text}\n\`\`\`\n`);
await writeFile('reports/votes.json', JSON.stringify(summary, null, 2) + '\n');
if (!values.keep) rmSync(dir, { recursive: true, force: true });
