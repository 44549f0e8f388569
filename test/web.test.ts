/** Web explorer over HTTP (fastify inject, no browser): pages, JSON API, validation, file safety, errors. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createExplorer, serve, type Explorer } from '../src/web/index.js';
import { OptionError } from '../src/errors.js';
import { cli } from './run-cli.js';
import { makeExplorerSurvey, tmp, type ExplorerFixture } from './web-fixtures.js';

let fx: ExplorerFixture;
let ex: Explorer;
let session: string;

before(async () => {
  fx = await makeExplorerSurvey(24);
  session = join(tmp(), 'session');
  ex = await createExplorer({ catalog: fx.catalog, predictions: fx.predictions, embeddings: fx.embeddings, session });
});
after(async () => ex?.close());

const get = (url: string, headers: Record<string, string> = {}) => ex.app.inject({ method: 'GET', url, headers });
const json = <T = Record<string, unknown>>(body: string) => JSON.parse(body) as T;
const cardIds = (page: string) => [...page.matchAll(/class="card" href="\/galaxy\/[^"]+" data-id="([^"]+)"/g)].map((m) => m[1]);
const withTag = (tag: string) => fx.rows.filter((r) => String(r.tags).split(',').includes(tag)).map((r) => String(r.id));

describe('grid', () => {
  test('shows every galaxy, pages them and sorts by any column', async () => {
    const all = await get('/?limit=200');
    assert.equal(all.statusCode, 200);
    assert.match(all.headers['content-type'] as string, /text\/html/);
    assert.deepEqual(cardIds(all.body), fx.rows.map((r) => String(r.id)));

    const page2 = await get('/?limit=10&page=2&sort=mag_r&order=desc&show=tags');
    const byMag = [...fx.rows].sort((a, b) => (b.mag_r as number) - (a.mag_r as number)).map((r) => String(r.id));
    assert.deepEqual(cardIds(page2.body), byMag.slice(10, 20));
    assert.match(page2.body, /rel="prev"/);
    assert.match(page2.body, /<span class="k">mag_r<\/span>/, 'the sort column is shown on the cards');
  });

  test('filters with SQL over catalogue and prediction columns', async () => {
    const tag = String(fx.rows[0].tags).split(',')[0];
    const page = await get(`/?limit=200&where=${encodeURIComponent(`has_tag(tags, '${tag}')`)}`);
    assert.deepEqual(cardIds(page.body), withTag(tag));
    const r = await get(`/api/galaxies?limit=200&where=${encodeURIComponent('"smooth-or-featured_smooth_fraction" > 0.5')}&columns=smooth-or-featured_smooth_fraction`);
    const body = json<{ total: number; galaxies: { id: string; 'smooth-or-featured_smooth_fraction': number }[] }>(r.body);
    const expected = fx.rows.filter((x) => x.id !== fx.broken && (x['oracle_smooth-or-featured_smooth'] as number) > 0.5);
    assert.equal(body.total, expected.length);
    assert.ok(body.galaxies.every((g) => g['smooth-or-featured_smooth_fraction'] > 0.5));
  });

  test('text from the request or the catalogue is escaped in pages', async () => {
    const page = await get(`/?where=${encodeURIComponent("id = '<b>x</b>'")}`);
    assert.equal(page.statusCode, 200);
    assert.ok(!page.body.includes('<b>x</b>'));
    assert.match(page.body, /&lt;b&gt;x&lt;\/b&gt;/);
  });

  test('bad parameters are 400 with a one-line reason (JSON for the API, HTML for pages)', async () => {
    const cases: [string, RegExp][] = [
      ['/api/galaxies?limit=0', /limit must be >= 1/],
      ['/api/galaxies?limit=5000', /limit must be <= 200/],
      ['/api/galaxies?offset=-1', /offset must be >= 0/],
      ['/api/galaxies?order=sideways', /order must be equal to one of the allowed values/],
      ['/api/galaxies?sort=magnitude', /no column "magnitude"/],
      ['/api/galaxies?where=mag_r%20%3C', /where: .* at character/],
      [`/api/galaxies?where=${'x'.repeat(1001)}`, /where must NOT have more than 1000 characters/],
      ['/api/galaxies?columns=a,b,c,d,e,f,g,h,i', /at most 8 columns/],
    ];
    for (const [url, message] of cases) {
      const r = await get(url);
      assert.equal(r.statusCode, 400, url);
      assert.match(json<{ error: string }>(r.body).error, message, url);
    }
    const page = await get('/?page=0');
    assert.equal(page.statusCode, 400);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /id="error-message">invalid request: querystring\/page must be &gt;= 1/);
  });
});

describe('galaxy page and similar', () => {
  test('the page has the image, tags, catalogue values and per-question predictions', async () => {
    const g = fx.rows[2];
    const page = await get(`/galaxy/${g.id}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, new RegExp(`<img class="large" src="/images/${g.id}"`));
    for (const t of String(g.tags).split(',')) assert.match(page.body, new RegExp(`<span class="tag">${t}</span>`));
    assert.match(page.body, /<th>mag_r<\/th>/);
    const api = json<{ questions: { question: string; volunteers: number; answers: { answer: string; predicted: number; std: number; votes: number; oracle: number }[] }[] }>((await get(`/api/galaxies/${g.id}`)).body);
    assert.equal(api.questions.length, 10);
    const smooth = api.questions[0].answers[0];
    assert.equal(api.questions[0].volunteers, g['smooth-or-featured_total']);
    assert.equal(smooth.predicted, g['oracle_smooth-or-featured_smooth']);
    assert.equal(smooth.std, 0.05);
    assert.equal(smooth.votes, (g['smooth-or-featured_smooth'] as number) / (g['smooth-or-featured_total'] as number));
  });

  test('find similar returns k neighbours from the index, never the galaxy itself', async () => {
    const id = String(fx.rows[0].id);
    const r = json<{ neighbours: { rank: number; id: string; score: number }[] }>((await get(`/api/galaxies/${id}/similar?k=5`)).body);
    assert.equal(r.neighbours.length, 5);
    assert.ok(!r.neighbours.some((n) => n.id === id || n.id === fx.broken));
    assert.deepEqual(r.neighbours.map((n) => n.rank), [1, 2, 3, 4, 5]);
    assert.ok(r.neighbours[0].score >= r.neighbours[4].score);
    assert.equal((await get(`/api/galaxies/${id}/similar?k=0`)).statusCode, 400);
    const broken = await get(`/api/galaxies/${fx.broken}/similar`);
    assert.equal(broken.statusCode, 404);
    assert.match(json<{ error: string }>(broken.body).error, /not in the similarity index/);
  });

  test('unknown galaxies are 404', async () => {
    const page = await get('/galaxy/no-such-galaxy');
    assert.equal(page.statusCode, 404);
    assert.match(page.body, /no galaxy &quot;no-such-galaxy&quot; in the catalogue/);
    assert.equal((await get('/api/galaxies/no-such-galaxy')).statusCode, 404);
    assert.equal((await get('/nowhere')).statusCode, 404);
  });
});

describe('files', () => {
  test('images are served by catalogue id only', async () => {
    const g = fx.rows[1];
    const r = await get(`/images/${g.id}`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.deepEqual(r.rawPayload, readFileSync(join(fx.dir, 'survey', String(g.image_path))));
    for (const url of ['/images/..%2F..%2F..%2Fetc%2Fpasswd', '/images/%2Fetc%2Fpasswd', '/images/../package.json', '/assets/..%2F..%2Fpackage.json', '/assets/explorer.ts']) {
      const bad = await get(url);
      assert.equal(bad.statusCode, 404, url);
      assert.ok(!bad.body.includes('root:'), url);
    }
  });

  test('assets come from the package, with a strict content security policy', async () => {
    for (const name of ['explorer.css', 'galaxy.js', 'label.js', 'd3.min.js', 'plot.umd.min.js']) {
      const r = await get(`/assets/${name}`);
      assert.equal(r.statusCode, 200, name);
      assert.match(r.headers['content-security-policy'] as string, /script-src 'self'/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
    }
  });

  test('only loopback Host headers are answered on a loopback address (no DNS rebinding)', async () => {
    const r = await get('/api/label', { host: 'attacker.example:8080' });
    assert.equal(r.statusCode, 403);
    assert.equal((await get('/', { host: 'localhost:8080' })).statusCode, 200);
  });
});

describe('labelling', () => {
  test('scores are saved to the session on disk at once; bad answers are refused', async () => {
    const state = json<{ current: { id: string }; labelled: number; batchSize: number }>((await get('/api/label')).body);
    assert.equal(state.labelled, 0);
    const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      ex.app.inject({ method: 'POST', url: '/api/label', headers, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    const first = state.current.id;
    const r = await post({ id: first, score: 4 });
    assert.equal(r.statusCode, 200);
    const next = json<{ current: { id: string }; labelled: number }>(r.body);
    assert.equal(next.labelled, 1);
    assert.notEqual(next.current.id, first);
    assert.match(readFileSync(join(session, 'labels.csv'), 'utf8'), new RegExp(`^${first},4$`, 'm'));
    assert.equal((await post({ id: next.current.id, skip: true })).statusCode, 200);
    assert.ok(json<{ skipped: string[] }>(readFileSync(join(session, 'session.json'), 'utf8')).skipped.includes(next.current.id));

    const refused: [unknown, number, RegExp][] = [
      [{ id: first, score: 6 }, 400, /score must be <= 5/],
      [{ id: first, score: 2.5 }, 400, /score must be integer/],
      [{ id: first }, 400, /either a score/],
      [{ id: first, score: 1, skip: true }, 400, /either a score/],
      [{ id: 'no-such-galaxy', score: 1 }, 400, /no galaxy "no-such-galaxy"/],
      [{ id: first, score: 1, path: '/etc/passwd' }, 400, /must NOT have additional properties/],
      [{ id: 'x'.repeat(2000), score: 1 }, 413, /Request body is too large/],
      ['{"id": ', 400, /JSON/],
    ];
    for (const [body, status, message] of refused) {
      const res = await post(body);
      assert.equal(res.statusCode, status, JSON.stringify(body).slice(0, 60));
      assert.match(json<{ error: string }>(res.body).error, message);
    }
    assert.equal((await post('id=1&score=2', { 'content-type': 'application/x-www-form-urlencoded' })).statusCode, 415);
    assert.equal(readFileSync(join(session, 'labels.csv'), 'utf8').trim().split('\n').length, 2, 'only the one valid score was saved');

    const ranking = json<{ galaxies: { rank: number; id: string; score: number; labelled: boolean }[] }>((await get('/api/label/ranking?limit=200')).body);
    assert.equal(ranking.galaxies.length, fx.rows.length - 1, 'every galaxy with a representation is ranked');
    assert.deepEqual(ranking.galaxies.filter((g) => g.labelled).map((g) => [g.id, g.score]), [[first, 4]]);
  });

  test('without a session the page says how to start one and the API is 404', async () => {
    const plain = await createExplorer({ catalog: fx.catalog, predictions: fx.predictions, embeddings: fx.embeddings });
    try {
      const page = await plain.app.inject({ method: 'GET', url: '/label' });
      assert.match(page.body, /--session DIR/);
      assert.equal((await plain.app.inject({ method: 'GET', url: '/api/label' })).statusCode, 404);
    } finally {
      await plain.close();
    }
  });
});

test('serve listens on 127.0.0.1 and refuses a port in use', async () => {
  const running = await serve({ catalog: fx.catalog, predictions: fx.predictions, embeddings: fx.embeddings, port: 0 });
  try {
    assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await fetch(new URL('/api/galaxies?limit=1', running.url));
    assert.equal(r.status, 200);
    const port = Number(new URL(running.url).port);
    await assert.rejects(serve({ catalog: fx.catalog, predictions: fx.predictions, embeddings: fx.embeddings, port }), (e: Error) => e instanceof OptionError && /EADDRINUSE/.test(e.message));
  } finally {
    await running.close();
  }
});

test('galmorph serve: unusable inputs are one line and exit code 2', async () => {
  const wrong = await cli('serve', '--catalog', fx.catalog, '--predictions', fx.embeddings, '--embeddings', fx.embeddings, '--port', '0');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^galmorph: error: .*match no built-in schema.*--schema/);
  const missing = await cli('serve', '--catalog', join(fx.dir, 'nope.parquet'), '--predictions', fx.predictions, '--embeddings', fx.embeddings);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.parquet: file not found/);
});
