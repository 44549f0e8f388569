import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { writeTable, type Cell } from '../../data/index.js';
import { OptionError } from '../../errors.js';
import { buildIndex, openIndex, parseWhere, type Neighbour, type QueryItem, type SimilarityIndex } from '../../search/index.js';
import { renderMosaic, type MosaicGroup } from '../../viz/mosaic.js';
import { createProgress } from '../progress.js';
import { int, log, num } from '../util.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

/** `--query` text → an indexed id, else an existing image file; one clear error otherwise. */
function queryItem(index: SimilarityIndex, text: string): QueryItem {
  if (index.has(text)) return text;
  if (existsSync(text) && statSync(text).isFile()) return { image: text };
  const near = index.suggest(text);
  throw new OptionError(
    `"${text}" is neither an indexed galaxy id (${index.size} galaxies) nor an image file` +
      (near.length ? `; did you mean ${near.map((s) => `"${s}"`).join(', ')}?` : ''),
  );
}

function formatCell(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return String(v);
}

/** A plain, aligned text table (numbers right-aligned). */
function textTable(columns: string[], rows: Neighbour[]): string {
  const cells = rows.map((r) => columns.map((c) => (c === 'score' || c === 'distance' ? (r[c] as number).toFixed(4) : formatCell(r[c] ?? null))));
  const width = columns.map((c, j) => Math.min(60, Math.max(c.length, ...cells.map((row) => row[j].length))));
  const numeric = columns.map((c) => rows.every((r) => typeof r[c] === 'number' || r[c] === null));
  const line = (vals: string[]) =>
    vals.map((v, j) => (v.length > width[j] ? v.slice(0, width[j] - 1) + '…' : numeric[j] ? v.padStart(width[j]) : v.padEnd(width[j]))).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n') + '\n';
}

async function mosaic(index: SimilarityIndex, queries: QueryItem[], hits: Neighbour[], out: string): Promise<void> {
  const pathsOf = async (items: QueryItem[]): Promise<string[]> => {
    const ids = items.filter((q): q is string => typeof q === 'string');
    const fromIds = await index.imagePaths(ids);
    return [...items.filter((q): q is { image: string } => typeof q === 'object' && !(q instanceof Float32Array)).map((q) => q.image), ...fromIds.filter((p): p is string => p !== null)];
  };
  const groups: MosaicGroup[] = [{ label: `quer${queries.length === 1 ? 'y' : 'ies'}`, images: await pathsOf(queries) }];
  const rowsOfHits = await index.imagePaths(hits.map((h) => h.id));
  for (let s = 0; s < hits.length; s += 10) {
    const part = hits.slice(s, s + 10);
    groups.push({
      label: `${s + 1}–${s + part.length}  (${part[0].score.toFixed(2)}–${part[part.length - 1].score.toFixed(2)})`,
      images: rowsOfHits.slice(s, s + 10).filter((p): p is string => p !== null),
    });
  }
  await renderMosaic(groups, out, { title: `neighbours of ${queries.map((q) => (typeof q === 'string' ? q : 'image' in q ? q.image : 'vector')).join(', ')}` });
}

export function register(program: Command): void {
  program
    .command('index')
    .description('build a similarity index of an embeddings table (exact below 20 000 galaxies, else an HNSW graph)')
    .requiredOption('--embeddings <files...>', 'embedding table(s) from `galmorph embed` (.parquet/.csv; several shards allowed)')
    .requiredOption('--out <dir>', 'index directory to create')
    .option('--columns <which>', 'pca, feat, or a comma-separated list of columns (default: pca when present, else feat)')
    .option('--metric <metric>', 'cosine or l2 (default cosine)')
    .option('--no-center', 'do not subtract the mean vector before cosine normalisation')
    .option('--exact', 'brute-force index only, whatever the size')
    .option('--ann', 'HNSW graph, whatever the size')
    .option('--model <dir>', 'model that produced the embeddings, recorded so image queries work')
    .option('--pca <file>', 'PCA fit behind the pca_ columns (default: <embeddings>.pca.json when present)')
    .option('--catalog <files...>', 'catalogue recorded as the default for --where and --columns of `galmorph similar`')
    .option('--id-column <name>', 'id column of --catalog (default id)')
    .option('--connectivity <M>', 'HNSW graph degree (default 16)', int)
    .option('--expansion-add <ef>', 'HNSW build breadth (default 128)', int)
    .option('--expansion-search <ef>', 'HNSW default search breadth (default 64)', int)
    .option('--threads <n>', 'build threads, 0 = all cores (default 0)', int)
    .option('--overwrite', 'replace an existing index')
    .action(async (o: {
      embeddings: string[]; out: string; columns?: string; metric?: 'cosine' | 'l2'; center: boolean; exact?: boolean; ann?: boolean;
      model?: string; pca?: string; catalog?: string[]; idColumn?: string; connectivity?: number; expansionAdd?: number;
      expansionSearch?: number; threads?: number; overwrite?: boolean;
    }) => {
      if (o.exact && o.ann) throw new OptionError('give --exact or --ann, not both');
      const columns = o.columns === undefined || o.columns === 'pca' || o.columns === 'feat' ? o.columns : list(o.columns);
      const progress = createProgress('index', 'vectors');
      const t0 = performance.now();
      const m = await buildIndex({
        embeddings: o.embeddings, out: o.out, columns, metric: o.metric, center: o.center,
        method: o.exact ? 'exact' : o.ann ? 'ann' : undefined, model: o.model, pca: o.pca, catalog: o.catalog, idColumn: o.idColumn,
        connectivity: o.connectivity, expansionAdd: o.expansionAdd, expansionSearch: o.expansionSearch, threads: o.threads,
        overwrite: o.overwrite, onProgress: (d, t) => progress.update(d, t),
      }).finally(() => progress.stop());
      const skipped = m.skipped.status + m.skipped.nonFinite;
      log(
        `indexed ${m.count} galaxies × ${m.dim} (${m.columns[0]}…${m.columns[m.columns.length - 1]}), ${m.metric}, ` +
          `${m.method === 'ann' ? `HNSW (M=${m.ann!.connectivity})` : 'exact'} in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${o.out}` +
          (skipped ? `; skipped ${m.skipped.status} row${m.skipped.status === 1 ? '' : 's'} with an error status and ${m.skipped.nonFinite} with NaN values` : ''),
      );
    });

  program
    .command('similar')
    .description('find galaxies like one or more examples (ids or image files), with optional counter-examples and a filter')
    .requiredOption('--index <dir>', 'index from `galmorph index`')
    .requiredOption('--query <id|image>', 'example galaxy: an indexed id or an image file (repeat to average several)', collect)
    .option('--negative <id|image>', 'counter-example to steer away from (repeatable)', collect)
    .option('--negative-weight <beta>', 'weight of the negatives: q = mean(queries) − beta·mean(negatives) (default 0.5)', num)
    .option('--k <n>', 'number of neighbours (default 20)', int)
    .option('--where <sql>', "SQL WHERE on catalogue columns, e.g. \"has_tag(tags, 'ring') AND mag_r < 17\"")
    .option('--columns <list>', 'catalogue columns to show, comma-separated (columns used by --where are shown too)')
    .option('--catalog <files...>', 'catalogue for --where, --columns and --mosaic (default: the one recorded in the index, else the embeddings)')
    .option('--id-column <name>', 'id column of the catalogue')
    .option('--image-column <name>', 'image-path column of the catalogue (default image_path)')
    .option('--model <dir>', 'model for image queries (default: the one recorded in the index)')
    .option('--pca <file>', 'PCA fit for image queries on a pca_ index (default: the one recorded in the index)')
    .option('--exact', 'exhaustive search even on an HNSW index')
    .option('--expansion-search <ef>', 'HNSW search breadth (default: the index\'s)', int)
    .option('--out <file>', 'also write the neighbours as a table (.csv or .parquet)')
    .option('--mosaic <png>', 'also draw the queries and neighbours as a contact sheet')
    .action(async (o: {
      index: string; query: string[]; negative?: string[]; negativeWeight?: number; k?: number; where?: string; columns?: string;
      catalog?: string[]; idColumn?: string; imageColumn?: string; model?: string; pca?: string; exact?: boolean; expansionSearch?: number;
      out?: string; mosaic?: string;
    }) => {
      if (o.out && !['.csv', '.parquet'].includes(extname(o.out).toLowerCase())) throw new OptionError(`--out must end in .csv or .parquet, got ${o.out}`);
      const whereCols = o.where ? parseWhere(o.where).columns : [];
      const index = await openIndex(o.index, {
        catalog: o.catalog, idColumn: o.idColumn, imageColumn: o.imageColumn, model: o.model, pca: o.pca, expansionSearch: o.expansionSearch,
      });
      try {
        const positives = o.query.map((q) => queryItem(index, q));
        const negatives = (o.negative ?? []).map((q) => queryItem(index, q));
        const columns = [...new Set([...(o.columns ? list(o.columns) : []), ...whereCols.filter((c) => c !== 'id')])];
        const hits = await index.search({ positives, negatives, negativeWeight: o.negativeWeight, k: o.k, where: o.where, columns, exact: o.exact });
        const shown = ['rank', 'id', 'score', ...columns];
        process.stdout.write(textTable(shown, hits));
        if (hits.length < (o.k ?? 20)) log(`only ${hits.length} of the ${o.k ?? 20} asked for: ${o.where ? 'no more galaxies pass the filter' : 'the index holds no more besides the queries'}`);
        if (o.out) {
          await writeTable(o.out, { columns: ['rank', 'id', 'score', 'distance', ...columns], rows: hits });
          log(`wrote ${o.out}`);
        }
        if (o.mosaic) {
          await mosaic(index, positives, hits, o.mosaic);
          log(`wrote ${o.mosaic}`);
        }
      } finally {
        index.close();
      }
    });
}
