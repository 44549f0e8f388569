/**
 * The web explorer: an HTTP server (fastify) over a survey's catalogue, predictions,
 * similarity index and anomaly-labelling session.
 *
 *   GET  /                          grid of thumbnails; ?where= &sort= &order= &show= &page= &limit=
 *   GET  /galaxy/:id                image, predicted vote fractions, catalogue values, "find similar"
 *   GET  /label                     anomaly labelling (needs a session)
 *   GET  /images/:id                a catalogued galaxy's image file
 *   GET  /api/galaxies              JSON grid: ?where= &sort= &order= &offset= &limit= &columns=
 *   GET  /api/galaxies/:id          JSON: catalogue values and per-question predictions
 *   GET  /api/galaxies/:id/similar  JSON neighbours: ?k= &where=
 *   GET  /api/label                 the labelling state (draws the next batch when due)
 *   POST /api/label                 { id, score: 0–5 } or { id, skip: true }: saved at once
 *   GET  /api/label/ranking         the current most interesting galaxies: ?limit=
 *
 * Safety: files are served only from a fixed list (assets) or by galaxy id through the
 * catalogue's image column — no path from a URL ever reaches the file system; every
 * parameter is validated (JSON schemas); bodies are capped at 1 KiB; on a loopback address
 * only loopback Host headers are answered, so other web sites cannot reach the server through
 * DNS rebinding; pages allow scripts from the server only.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { GalmorphError, OptionError } from '../errors.js';
import { buildIndex, openIndex, type SimilarityIndex } from '../search/index.js';
import { LabelDesk } from './labelling.js';
import { errorPage, galaxyPage, gridPage, labelPage, type Card } from './pages.js';
import { Survey, type SurveyOptions } from './survey.js';

/** Options of {@link createExplorer} and {@link serve}. */
export interface ExplorerOptions extends SurveyOptions {
  /** Embeddings table (`galmorph embed` output): the labelling session's features and, without `index`, the similarity index. */
  embeddings: string;
  /** Similarity index directory (`galmorph index`). @default an exact index built from `embeddings` into a temporary folder */
  index?: string;
  /** Anomaly-labelling session folder, shared with `galmorph anomalies label` (created when new). @default no labelling page */
  session?: string;
  /** TCP port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Address to bind. @default '127.0.0.1' (this machine only) */
  host?: string;
  /** Called with unexpected server errors (answered with status 500). @default print to stderr */
  onServerError?: (error: Error) => void;
}

/** An explorer, ready to answer requests (`app.inject` in tests) or listening (from {@link serve}). */
export interface Explorer {
  app: FastifyInstance;
  survey: Survey;
  /** Stop listening, close the index, remove the temporary index. */
  close(): Promise<void>;
}

/** A listening explorer. */
export interface RunningExplorer extends Explorer {
  /** Where to point the browser, e.g. `http://127.0.0.1:8080/`. */
  url: string;
}

/** A request the explorer cannot answer as asked: status 400 or 404, the message shown as is. */
class RequestError extends GalmorphError {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

const MAX_LIMIT = 200;
const MAX_SHOW = 8;
const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' };
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True for addresses only this machine can reach. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK.has(host);

/** Browser files served under /assets: ours, and the chart library from node_modules (no network at run time). */
function assetFiles(): Map<string, { path: string; type: string }> {
  const own = (name: string) => fileURLToPath(new URL(`../../src/web/assets/${name}`, import.meta.url));
  const require = createRequire(import.meta.url);
  const fromPackage = (pkg: string, file: string) => {
    // The UMD bundles are not in the packages' `exports`, so look for the file beside the package on node's search path.
    for (const dir of require.resolve.paths(pkg) ?? []) {
      const p = join(dir, pkg, file);
      if (existsSync(p)) return p;
    }
    throw new OptionError(`cannot find ${pkg}/${file}: reinstall galmorph's dependencies (npm ci)`);
  };
  const js = 'text/javascript; charset=utf-8';
  return new Map([
    ['explorer.css', { path: own('explorer.css'), type: 'text/css; charset=utf-8' }],
    ['galaxy.js', { path: own('galaxy.js'), type: js }],
    ['label.js', { path: own('label.js'), type: js }],
    ['d3.min.js', { path: fromPackage('d3', 'dist/d3.min.js'), type: js }],
    ['plot.umd.min.js', { path: fromPackage('@observablehq/plot', 'dist/plot.umd.min.js'), type: js }],
  ]);
}

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 256 } },
  required: ['id'],
} as const;

const gridProperties = {
  where: { type: 'string', maxLength: 1000, default: '' },
  sort: { type: 'string', maxLength: 200, default: '' },
  order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
  limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 60 },
} as const;

interface GridQs {
  where: string;
  sort: string;
  order: 'asc' | 'desc';
  limit: number;
}

/** A comma-separated list of column names, resolved against the survey (at most {@link MAX_SHOW}). */
function columnList(survey: Survey, text: string): string[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length > MAX_SHOW) throw new RequestError(400, `show at most ${MAX_SHOW} columns, got ${names.length}`);
  return names.map((n) => survey.resolve(n));
}

/**
 * Build the explorer without listening: opens the survey, the index (or builds a temporary
 * exact one) and the labelling session.
 * @throws CatalogError / OptionError for unreadable inputs, SchemaError when the predictions match no schema
 */
export async function createExplorer(options: ExplorerOptions): Promise<Explorer> {
  const survey = await Survey.open(options);
  const catalogue = { catalog: options.catalog, idColumn: options.idColumn, imageColumn: options.imageColumn };
  let tempIndex: string | null = null;
  let index: SimilarityIndex;
  if (options.index) {
    index = await openIndex(options.index, catalogue);
  } else {
    tempIndex = await mkdtemp(join(tmpdir(), 'galmorph-explorer-'));
    await buildIndex({ embeddings: options.embeddings, out: join(tempIndex, 'index'), method: 'exact' });
    index = await openIndex(join(tempIndex, 'index'), catalogue);
  }
  const desk = options.session ? await LabelDesk.open(options.session, { embeddings: options.embeddings, ...catalogue }) : null;
  const assets = assetFiles();
  const onServerError = options.onServerError ?? ((e: Error) => process.stderr.write(`galmorph serve: ${e.stack ?? e.message}\n`));
  const host = options.host ?? '127.0.0.1';

  // Unknown body fields are refused rather than silently dropped (fastify's default).
  const app = Fastify({ bodyLimit: 1024, routerOptions: { maxParamLength: 300 }, logger: false, ajv: { customOptions: { removeAdditional: false } } });

  if (isLoopbackHost(host)) {
    app.addHook('onRequest', async (req) => {
      if (!isLoopbackHost(req.hostname)) throw new RequestError(403, `this explorer answers requests for localhost only, not for host "${req.hostname}"`);
    });
  }
  app.addHook('onSend', async (_req, reply) => {
    reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'");
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
  });

  const isApi = (req: FastifyRequest) => req.url.startsWith('/api/');
  const fail = (req: FastifyRequest, reply: FastifyReply, status: number, message: string) =>
    isApi(req) ? reply.code(status).send({ error: message, statusCode: status }) : reply.code(status).type('text/html; charset=utf-8').send(errorPage(status, message));

  app.setNotFoundHandler((req, reply) => fail(req, reply, 404, `no page ${req.url.split('?')[0]}`));
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err instanceof RequestError) return fail(req, reply, err.statusCode, err.message);
    if (err instanceof GalmorphError) return fail(req, reply, 400, err.message);
    if (err.validation) return fail(req, reply, 400, `invalid request: ${err.message}`);
    // Framework errors about the request itself (body too large, bad JSON, wrong content type).
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return fail(req, reply, err.statusCode, err.message);
    onServerError(err);
    return fail(req, reply, 500, 'internal error (see the server log)');
  });

  const rowOf = (id: string): number => {
    const row = survey.row(id);
    if (row === undefined) throw new RequestError(404, `no galaxy "${id}" in the catalogue`);
    return row;
  };
  const cards = async (rows: number[], columns: string[]): Promise<Card[]> => {
    const values = await survey.load(columns);
    return rows.map((r) => ({ id: survey.ids[r], values: columns.map((c) => [c, values.get(c)![r]]) }));
  };

  app.get<{ Querystring: GridQs & { show: string; page: number } }>('/', {
    schema: { querystring: { type: 'object', properties: { ...gridProperties, show: { type: 'string', maxLength: 1000, default: '' }, page: { type: 'integer', minimum: 1, maximum: 1e7, default: 1 } } } },
  }, async (req, reply) => {
    const q = req.query;
    const show = columnList(survey, q.show);
    const sort = q.sort ? survey.resolve(q.sort) : '';
    const { total, rows } = await survey.select({ where: q.where, sort, order: q.order, offset: (q.page - 1) * q.limit, limit: q.limit });
    const shown = sort && !show.includes(sort) ? [sort, ...show] : show;
    const page = gridPage({ ...q, sort }, survey.columns, total, survey.size, await cards(rows, shown));
    return reply.type('text/html; charset=utf-8').send(page);
  });

  app.get<{ Params: { id: string } }>('/galaxy/:id', { schema: { params: idParams } }, async (req, reply) => {
    const row = rowOf(req.params.id);
    const details = survey.describingColumns;
    const rec = await survey.record(row, details);
    const tags = typeof rec.tags === 'string' ? rec.tags.split(',').map((t) => t.trim()).filter(Boolean) : [];
    const status = survey.columns.includes('status') ? (await survey.record(row, ['status'])).status : null;
    const page = galaxyPage(req.params.id, tags, details.map((c) => [c, rec[c]]), await survey.questions(row), status);
    return reply.type('text/html; charset=utf-8').send(page);
  });

  // Browsers ask for it on every page; no icon rather than a logged 404.
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  app.get('/label', async (_req, reply) => reply.type('text/html; charset=utf-8').send(labelPage(desk !== null)));

  app.get<{ Params: { id: string } }>('/images/:id', { schema: { params: idParams } }, async (req, reply) => {
    const path = await survey.imagePath(rowOf(req.params.id));
    const type = path ? IMAGE_TYPES[extname(path).toLowerCase()] : undefined;
    if (!path) throw new RequestError(404, `galaxy "${req.params.id}" has no image in the catalogue`);
    if (!type) throw new RequestError(404, `galaxy "${req.params.id}": only PNG and JPEG images can be shown, not ${extname(path) || 'this file'}`);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new RequestError(404, `image of galaxy "${req.params.id}" not found on disk`);
    return reply.type(type).header('Content-Length', info.size).header('Cache-Control', 'private, max-age=3600').send(createReadStream(path));
  });

  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a) throw new RequestError(404, `no asset "${req.params.name}"`);
    return reply.type(a.type).header('Cache-Control', 'no-cache').send(createReadStream(a.path));
  });

  app.get<{ Querystring: GridQs & { offset: number; columns: string } }>('/api/galaxies', {
    schema: {
      querystring: {
        type: 'object',
        properties: { ...gridProperties, offset: { type: 'integer', minimum: 0, maximum: 1e9, default: 0 }, columns: { type: 'string', maxLength: 1000, default: '' } },
      },
    },
  }, async (req) => {
    const q = req.query;
    const columns = columnList(survey, q.columns);
    const { total, rows } = await survey.select(q);
    const values = await survey.load(columns);
    return { total, galaxies: rows.map((r) => ({ id: survey.ids[r], ...Object.fromEntries(columns.map((c) => [c, values.get(c)![r]])) })) };
  });

  app.get<{ Params: { id: string } }>('/api/galaxies/:id', { schema: { params: idParams } }, async (req) => {
    const row = rowOf(req.params.id);
    return { id: req.params.id, catalogue: await survey.record(row, survey.describingColumns), questions: await survey.questions(row) };
  });

  app.get<{ Params: { id: string }; Querystring: { k: number; where: string } }>('/api/galaxies/:id/similar', {
    schema: {
      params: idParams,
      querystring: { type: 'object', properties: { k: { type: 'integer', minimum: 1, maximum: 100, default: 12 }, where: { type: 'string', maxLength: 1000, default: '' } } },
    },
  }, async (req) => {
    const { id } = req.params;
    if (!index.has(id)) throw new RequestError(404, `galaxy "${id}" is not in the similarity index (no usable representation)`);
    const hits = await index.search({ positives: [id], k: req.query.k, where: req.query.where || undefined });
    return { id, neighbours: hits.map((h) => ({ rank: h.rank, id: h.id, score: h.score })) };
  });

  const requireDesk = (): LabelDesk => {
    if (!desk) throw new RequestError(404, 'no labelling session: start the explorer with a session folder (--session DIR)');
    return desk;
  };

  app.get('/api/label', async () => requireDesk().state());

  app.post<{ Body: { id: string; score?: number; skip?: boolean } }>('/api/label', {
    schema: {
      body: {
        type: 'object',
        properties: { id: { type: 'string', minLength: 1, maxLength: 256 }, score: { type: 'integer', minimum: 0, maximum: 5 }, skip: { type: 'boolean', const: true } },
        required: ['id'],
        additionalProperties: false,
      },
    },
  }, async (req) => {
    const { id, score, skip } = req.body;
    if ((score === undefined) === (skip === undefined)) throw new RequestError(400, 'give either a score (0–5) or skip: true');
    return requireDesk().answer(id, skip ? 'skip' : score!);
  });

  app.get<{ Querystring: { limit: number } }>('/api/label/ranking', {
    schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 12 } } } },
  }, async (req) => ({ galaxies: await requireDesk().top(req.query.limit) }));

  await app.ready();
  return {
    app,
    survey,
    async close() {
      await app.close();
      index.close();
      if (tempIndex) await rm(tempIndex, { recursive: true, force: true });
    },
  };
}

/**
 * Start the explorer and listen (127.0.0.1:8080 by default).
 * @example
 * const ex = await serve({ catalog: 'survey/catalog.parquet', predictions: 'preds.parquet', embeddings: 'emb.parquet', session: 'my-rings/' });
 * console.log(ex.url); // http://127.0.0.1:8080/
 * await ex.close();
 */
export async function serve(options: ExplorerOptions): Promise<RunningExplorer> {
  const port = options.port ?? 8080;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new OptionError(`port must be an integer from 0 to 65535, got ${port}`);
  const explorer = await createExplorer(options);
  const host = options.host ?? '127.0.0.1';
  try {
    await explorer.app.listen({ port, host });
  } catch (e) {
    await explorer.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new OptionError(`cannot listen on ${host}:${port} (${code}); choose another --port or --host`);
    throw e;
  }
  const address = explorer.app.server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return { ...explorer, url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/` };
}
