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

/** One representation choice of the trained network in the ablation. */
export interface AblationRow {
  /** How the representation was taken (see src/predict/orientation.ts). */
  orientations: 'single' | 'dihedral';
  /** e.g. `32 PCA` or `256 features`. */
  columns: string;
  precision_at_10_mean: number;
  precision_at_50_mean: number;
}

export interface PrecisionSection {
  command: string;
  generated: string;
  catalog: string;
  galaxies: number;
  queries: number;
  columns: string;
  /** How the networks' representations were taken (absent in runs before it was an option: single). */
  orientations?: 'single' | 'dihedral';
  metric: string;
  methods: Record<string, MethodPrecision>;
  tags: Record<string, TagRow>;
  /** Representation choices of the trained network (absent when not run). */
  ablation?: AblationRow[];
  seconds: Record<string, number>;
}

/** Latency and recall at one HNSW search breadth. */
export interface SpeedSetting {
  expansionSearch: number;
  p50_ms: number;
  p95_ms: number;
  recall_at_10: number;
}

/** One data set: build, open, search. */
export interface SpeedRun {
  data: 'embedding-like' | 'isotropic';
  description: string;
  vectors: number;
  dim: number;
  library: string;
  connectivity: number;
  expansion_add: number;
  build_seconds: number;
  build_threads: number;
  /** Peak RSS of the process that generated the vectors and built the index. */
  build_peak_rss_mb: number;
  index_file_mb: number;
  vectors_file_mb: number;
  /** openIndex: ids parsed, graph memory-mapped. */
  open_ms: number;
  /**
   * RSS of a fresh process after opening the index once per ef and running every approximate
   * query. Each open maps the graph and parses the ids anew, so this overstates one open index.
   */
  rss_mb_open_and_search: number;
  /** RSS after opening the index once and running the queries at the first ef (absent in runs before it was measured). */
  rss_mb_one_open?: number;
  /** Brute force over every vector, per query (through `search({ exact: true })`). */
  exact_query_ms_p50: number;
  queries: number;
  recall_queries: number;
  settings: SpeedSetting[];
  /** Smallest expansionSearch with recall@10 ≥ 0.95, or null. */
  chosen: SpeedSetting | null;
}

export interface SpeedSection {
  command: string;
  generated: string;
  machine: { cpus: number; loadavg: number[] };
  /** Headline figures: the first run (10⁶ embedding-like vectors) at its chosen setting. */
  vectors: number;
  dim: number;
  build_seconds: number;
  build_peak_rss_mb: number;
  query_p50_ms: number | null;
  query_p95_ms: number | null;
  recall_at_10: number | null;
  expansion_search: number | null;
  goal_met: boolean;
  runs: SpeedRun[];
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
      `(${p.queries} queries), ${p.metric} similarity on ${p.columns} columns` +
      (p.orientations === 'dihedral' ? ' of the networks\' representations averaged over the 8 rotations by 90° and mirror images of each image' : '') +
      `, the query itself excluded. precision@k = share of the k ` +
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
    ...(p.ablation ? ablationMd(p.ablation) : []),
    `Time (s): ${Object.entries(p.seconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}.`,
    '',
  ];
  return lines;
}

function ablationMd(rows: AblationRow[]): string[] {
  const sizes = [...new Set(rows.map((r) => r.columns))];
  const modes = [...new Set(rows.map((r) => r.orientations))];
  const cell = (m: string, c: string) => {
    const r = rows.find((x) => x.orientations === m && x.columns === c);
    return r ? `${f3(r.precision_at_10_mean)} / ${f3(r.precision_at_50_mean)}` : '–';
  };
  return [
    '### Representation choices (trained network)',
    '',
    'Mean precision@10 / @50 over tags, same queries and search; `single` = one pass on the image as given, ' +
      '`dihedral` = mean of the representation over the 8 rotations by 90° and mirror images (`galmorph embed --orientations`); PCA fitted on this catalogue.',
    '',
    `| orientations | ${sizes.join(' | ')} |`,
    `|---|${sizes.map(() => '---|').join('')}`,
    ...modes.map((m) => `| ${m} | ${sizes.map((c) => cell(m, c)).join(' | ')} |`),
    '',
  ];
}

function runMd(r: SpeedRun): string[] {
  return [
    `### ${r.vectors.toLocaleString('en')} × ${r.dim} ${r.data} vectors`,
    '',
    r.description,
    '',
    `- build (${r.library}, M = ${r.connectivity}, efConstruction = ${r.expansion_add}, ${r.build_threads} threads): ${r.build_seconds.toFixed(0)} s; ` +
      `peak RSS ${r.build_peak_rss_mb.toFixed(0)} MB (vectors generated in the same process); files: graph ${r.index_file_mb.toFixed(0)} MB + vectors ${r.vectors_file_mb.toFixed(0)} MB`,
    `- open (ids parsed, graph memory-mapped): ${r.open_ms.toFixed(0)} ms; RSS of the searching process: ` +
      (r.rss_mb_one_open !== undefined ? `${r.rss_mb_one_open.toFixed(0)} MB with the index opened once, ` : '') +
      `${r.rss_mb_open_and_search.toFixed(0)} MB after opening it once per ef (${r.settings.length} times; each open maps the graph and parses the ids anew, and earlier ones are freed only when collected, so this overstates one open index)`,
    `- exact search (brute force over all vectors, JS) per query: p50 ${r.exact_query_ms_p50.toFixed(0)} ms`,
    '',
    `Single queries through \`SimilarityIndex.search\` (k = 10, one thread, ${r.queries} held-out queries; recall@10 against exact search on ${r.recall_queries} of them):`,
    '',
    '| ef (expansionSearch) | p50 ms | p95 ms | recall@10 |',
    '|---|---|---|---|',
    ...r.settings.map((x) => `| ${x.expansionSearch} | ${x.p50_ms.toFixed(2)} | ${x.p95_ms.toFixed(2)} | ${x.recall_at_10.toFixed(3)} |`),
    '',
    r.chosen
      ? `Smallest ef with recall@10 ≥ 0.95: **ef = ${r.chosen.expansionSearch}: p50 ${r.chosen.p50_ms.toFixed(2)} ms, p95 ${r.chosen.p95_ms.toFixed(2)} ms, recall@10 ${r.chosen.recall_at_10.toFixed(3)}**.`
      : '**No ef tried reached recall@10 ≥ 0.95.**',
    '',
  ];
}

function speedMd(s: SpeedSection): string[] {
  return [
    '## Speed',
    '',
    `\`${s.command}\` (${s.generated.slice(0, 10)}), ${s.machine.cpus} cores; load average at the start ${s.machine.loadavg.map((x) => x.toFixed(1)).join(', ')} ` +
      '(other jobs shared the machine, so times are pessimistic). Goal: p50 < 10 ms with recall@10 ≥ 0.95 on 10⁶ × 64: ' +
      `**${s.goal_met ? 'met' : 'not met'}**${s.query_p50_ms !== null ? ` (p50 ${s.query_p50_ms.toFixed(2)} ms, recall@10 ${s.recall_at_10!.toFixed(3)} at ef = ${s.expansion_search})` : ''}.`,
    '',
    ...s.runs.flatMap(runMd),
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
