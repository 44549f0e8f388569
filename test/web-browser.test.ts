/**
 * The web explorer in a real headless browser (Debian's chromium driven by playwright-core):
 * grid, filter, galaxy page with its charts, find similar, and three scores that must land in
 * the labelling session on disk. Skips when no chromium is installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { serve, type RunningExplorer } from '../src/web/index.js';
import { makeExplorerSurvey, tmp, type ExplorerFixture } from './web-fixtures.js';

/** Chromium from $CHROMIUM_PATH or the PATH (Debian: `apt-get install chromium`). */
function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const chromiumPath = findChromium();
const skip = chromiumPath ? false : 'no chromium found (apt-get install chromium, or set CHROMIUM_PATH): browser test skipped';

let fx: ExplorerFixture;
let explorer: RunningExplorer;
let browser: Browser;
let session: string;

before(async () => {
  if (skip) return;
  fx = await makeExplorerSurvey(24);
  session = join(tmp(), 'session');
  explorer = await serve({ catalog: fx.catalog, predictions: fx.predictions, embeddings: fx.embeddings, session, port: 0 });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await explorer?.close();
});

/** A page that records script errors, console errors (a CSP violation shows up there) and failed requests. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
  });
  return { page, errors };
}

test('browse, filter, open a galaxy, find similar, score three galaxies', { skip, timeout: 120_000 }, async () => {
  const { page, errors } = await openPage();
  const url = (path: string) => new URL(path, explorer.url).href;

  await page.goto(url('/'));
  assert.equal(await page.locator('#grid .card').count(), fx.rows.length);
  const tag = String(fx.rows[0].tags).split(',')[0];
  const tagged = fx.rows.filter((r) => String(r.tags).split(',').includes(tag) && r.id !== fx.broken).map((r) => String(r.id));
  // A catalogue column and a prediction column in one filter.
  await page.fill('input[name=where]', `has_tag(tags, '${tag}') AND status = 'ok'`);
  await page.fill('input[name=sort]', 'mag_r');
  await Promise.all([page.waitForURL(/where=/), page.click('button[type=submit]')]);
  assert.equal(await page.locator('#total').textContent(), String(tagged.length));
  const shown = await page.locator('#grid .card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.id!));
  assert.deepEqual([...shown].sort(), [...tagged].sort());
  assert.ok(await page.locator('#grid img').first().evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0), 'thumbnails load');

  await Promise.all([page.waitForURL(/\/galaxy\//), page.locator('#grid .card').first().click()]);
  assert.match(page.url(), new RegExp(`/galaxy/${shown[0]}$`));
  await page.locator('#votes figure svg').nth(9).waitFor();
  assert.equal(await page.locator('#votes figure').count(), 10, 'one chart per question');
  assert.ok(await page.locator('img.large').evaluate((img) => (img as HTMLImageElement).naturalWidth > 0), 'the image loads');

  await page.selectOption('#k', '8');
  await page.click('#find-similar');
  await page.locator('#similar .card').nth(7).waitFor();
  const neighbours = await page.locator('#similar .card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.id!));
  assert.equal(neighbours.length, 8);
  assert.ok(!neighbours.includes(shown[0]), 'the galaxy is not its own neighbour');

  await page.goto(url('/label'));
  const scored: [string, number][] = [];
  for (const [i, score] of [3, 5, 0].entries()) {
    const query = page.locator(`#query[data-id]`);
    await query.waitFor();
    const id = (await query.getAttribute('data-id'))!;
    if (i === 1) await page.click(`#scores button[data-score="${score}"]`);
    else await page.keyboard.press(String(score));
    await page.locator('#label-message', { hasText: `saved ${score} for ${id}` }).waitFor();
    scored.push([id, score]);
  }
  assert.equal(new Set(scored.map(([id]) => id)).size, 3, 'each answer brings the next galaxy');
  const saved = readFileSync(join(session, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  assert.deepEqual(new Map(saved.map(([id, s]) => [id, Number(s)])), new Map(scored));
  await page.locator('#ranking .card').nth(11).waitFor();
  assert.deepEqual(errors, [], 'no script or console errors');
});
