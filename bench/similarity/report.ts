/**
 * reports/similarity.json and reports/similarity.md, written by two scripts: `tags.ts`
 * (precision by tag) and `speed.ts` (10⁶-vector speed). Each updates its own section and the
 * Markdown is regenerated from the whole JSON, so either can be rerun alone.
 */
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../../src/data/index.js';

export interface MethodPrecision {
  description: string;
  precision_at_10_mean: number;
  precision_at_50_mean: number;
  /** Tags rarer than 2% whose precision@10 is ≥ 5× their base rate, out of how many. */
  rare_tags_at_5x_base_rate: string;
}

export interface TagRow {
  count: number;
  base_rate: number;
  /** method → precision@k */
  precision_at_10: Record<string, number>;
  precision_at_50: Record<string, number>;
}

export interface PrecisionSection {
  command: string;
  generated: string;
  catalog: string;
  galaxies: number;
  queries: number;
  columns: string;
  metric: string;
  methods: Record<string, MethodPrecision>;
  tags: Record<string, TagRow>;
  seconds: Record<string, number>;
}

export interface SpeedSection {
  command: string;
  generated: string;
  machine: { cpus: number; loadavg: number[] };
  vectors: number;
  dim: number;
  data: string;
  library: string;
  build_seconds: number;
  build_threads: number;
  index_file_mb: number;
  vectors_file_mb: number;
  rss_mb_after_build: number;
  rss_mb_open_and_search: number;
  open_ms: number;
  settings: Record<string, number>[];
  chosen: Record<string, number> | null;
  exact_query_ms_p50: number;
  queries: number;
  recall_queries: number;
}

export interface SimilarityReport {
  /** Mean over tags of precision@10 for `primary_method`. */
  precision_at_10_mean?: number;
  /** Which method the headline figure is for: the trained model when given, else the untrained network. */
  primary_method?: string;
  precision?: PrecisionSection;
  speed?: SpeedSection;
}

export const JSON_PATH = 'reports/similarity.json';
export const MD_PATH = 'reports/similarity.md';

export function readReport(): SimilarityReport {
  return existsSync(JSON_PATH) ? (JSON.parse(readFileSync(JSON_PATH, 'utf8')) as SimilarityReport) : {};
}

const f3 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));

function precisionMd(p: PrecisionSection): string[] {
  const methods = Object.keys(p.methods);
  const lines = [
    `## Precision by tag`,
    '',
    `\`${p.command}\` (${p.generated.slice(0, 10)}): ${p.galaxies} galaxies of \`${p.catalog}\`, every tagged galaxy used as a query ` +
      `(${p.queries} queries), ${p.metric} similarity on ${p.columns} columns, the query itself excluded. precision@k = share of the k ` +
      `neighbours carrying the query's tag, averaged over the queries with that tag; base rate = share of all galaxies with the tag.`,
    '',
    '| method | what | mean precision@10 | mean precision@50 | rare tags (< 2%) at ≥ 5× base rate |',
    '|---|---|---|---|---|',
    ...methods.map((m) => {
      const r = p.methods[m];
      return `| ${m} | ${r.description} | ${f3(r.precision_at_10_mean)} | ${f3(r.precision_at_50_mean)} | ${r.rare_tags_at_5x_base_rate} |`;
    }),
    '',
    `| tag | galaxies | base rate | ${methods.map((m) => `${m} p@10`).join(' | ')} | ${methods.map((m) => `${m} p@50`).join(' | ')} |`,
    `|---|---|---|${methods.map(() => '---|').join('')}${methods.map(() => '---|').join('')}`,
    ...Object.entries(p.tags)
      .sort((a, b) => b[1].count - a[1].count)
      .map(([tag, t]) => `| ${tag} | ${t.count} | ${f3(t.base_rate)} | ${methods.map((m) => f3(t.precision_at_10[m])).join(' | ')} | ${methods.map((m) => f3(t.precision_at_50[m])).join(' | ')} |`),
    '',
    `Time (s): ${Object.entries(p.seconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}.`,
    '',
  ];
  return lines;
}

function speedMd(s: SpeedSection): string[] {
  return [
    `## Speed on ${s.vectors.toLocaleString('en')} × ${s.dim} vectors`,
    '',
    `\`${s.command}\` (${s.generated.slice(0, 10)}), ${s.library}, ${s.machine.cpus} cores (load average at start ${s.machine.loadavg.map((x) => x.toFixed(1)).join(', ')}: ` +
      `other jobs shared the machine). Data: ${s.data}`,
    '',
    `- build: ${s.build_seconds.toFixed(0)} s on ${s.build_threads} threads; index file ${s.index_file_mb.toFixed(0)} MB + vectors ${s.vectors_file_mb.toFixed(0)} MB; ` +
      `RSS ${s.rss_mb_after_build.toFixed(0)} MB after building, ${s.rss_mb_open_and_search.toFixed(0)} MB in a fresh process that opens the index and searches`,
    `- opening the index (memory-mapped graph + ids): ${s.open_ms.toFixed(0)} ms`,
    `- exact search (brute force over all ${s.vectors.toLocaleString('en')}) per query: p50 ${s.exact_query_ms_p50.toFixed(1)} ms`,
    '',
    `Query latency through \`SimilarityIndex.search\` (single query, one thread, k = 10, ${s.queries} queries not in the index; recall@10 against exact search on ${s.recall_queries} of them):`,
    '',
    '| ef (expansionSearch) | p50 ms | p95 ms | recall@10 |',
    '|---|---|---|---|',
    ...s.settings.map((r) => `| ${r.expansionSearch} | ${r.p50_ms.toFixed(2)} | ${r.p95_ms.toFixed(2)} | ${r.recall_at_10.toFixed(3)} |`),
    '',
    s.chosen
      ? `Smallest ef meeting recall@10 ≥ 0.95: ef = ${s.chosen.expansionSearch}, p50 ${s.chosen.p50_ms.toFixed(2)} ms, p95 ${s.chosen.p95_ms.toFixed(2)} ms, recall@10 ${s.chosen.recall_at_10.toFixed(3)}.`
      : 'No ef tried reached recall@10 ≥ 0.95.',
    '',
  ];
}

/** Write both files from `report`. */
export async function writeReport(report: SimilarityReport): Promise<void> {
  await writeFileAtomic(JSON_PATH, JSON.stringify(report, null, 2) + '\n');
  const lines = [
    '# Similarity search',
    '',
    'Generated by `bench/similarity/tags.ts` and `bench/similarity/speed.ts`; figures in `similarity.json`.',
    '',
  ];
  if (report.precision_at_10_mean !== undefined) {
    lines.push(
      `Headline: mean precision@10 over tags = **${f3(report.precision_at_10_mean)}** for \`${report.primary_method}\`` +
        (report.primary_method === 'model' ? '.' : ' (no trained model was given: this is the untrained-network baseline, not galmorph\'s result).'),
      '',
    );
  }
  if (report.precision) lines.push(...precisionMd(report.precision));
  if (report.speed) lines.push(...speedMd(report.speed));
  await writeFileAtomic(MD_PATH, lines.join('\n'));
}
