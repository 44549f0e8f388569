/** End-to-end tests of the built `galmorph` binary (npm test builds dist/ first). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';

const BIN = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
const tmp = () => mkdtempSync(join(tmpdir(), 'gm-cli-'));
const digest = (dir: string) => {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (f.name !== 'manifest.json') h.update(f.name).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
};

test('simulate is deterministic across worker counts and resumes a partial run', () => {
  const a = join(tmp(), 'a');
  const b = join(tmp(), 'b');
  let r = run('simulate', '--n', '40', '--size', '64', '--seed', '3', '--out', a, '--workers', '2', '--fits');
  assert.equal(r.status, 0, r.stderr);
  r = run('simulate', '--n', '40', '--size', '64', '--seed', '3', '--out', b, '--workers', '1', '--fits');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(digest(a), digest(b));
  assert.equal(readdirSync(join(a, 'images')).length, 40);
  assert.ok(existsSync(join(a, 'catalog.parquet')) && existsSync(join(a, 'catalog.csv')));

  // A rerun of a complete survey does nothing; different options are refused.
  r = run('simulate', '--n', '40', '--size', '64', '--seed', '3', '--out', a, '--fits');
  assert.equal(r.status, 0);
  assert.match(r.stderr, /already holds all 40 galaxies/);
  r = run('simulate', '--n', '40', '--size', '64', '--seed', '4', '--out', a, '--fits');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /galmorph: error: .* seed=3, not 4/);
});

test('simulate resumes after kill -9 without redoing or duplicating galaxies', async () => {
  const args = ['simulate', '--n', '48', '--size', '48', '--seed', '9', '--chunk-size', '8'];
  const full = join(tmp(), 'full');
  assert.equal(run(...args, '--out', full).status, 0);
  const part = join(tmp(), 'part');
  const child = spawn(process.execPath, [BIN, ...args, '--out', part, '--workers', '1'], { env: { ...process.env, CI: '1' } });
  const parts = join(part, 'parts');
  const committed = () => (existsSync(parts) ? readdirSync(parts).filter((f) => f.endsWith('.parquet')).length : 0);
  while (committed() < 2) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const before = committed();
  assert.ok(before >= 2 && before < 6, `expected a partial run, found ${before} of 6 chunks`);
  assert.ok(!existsSync(join(part, 'catalog.parquet')), 'a partial run must not leave a final catalogue');
  const r = run(...args, '--out', part);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(digest(full), digest(part));
});

test('bad arguments give one clear line and a non-zero exit', () => {
  let r = run('simulate', '--n', 'ten', '--out', join(tmp(), 'x'));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--n.*expected an integer, got "ten"/);
  r = run('simulate', '--n', '5', '--survey', 'hubble', '--out', join(tmp(), 'x'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /galmorph: error: .*hubble.*decals, sdss, des/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  r = run('votes', '--catalog', join(tmp(), 'missing.csv'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.csv/);
  r = run('schema', 'gz3');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown schema "gz3"/);
});

test('mosaic and votes work on a simulated catalogue', () => {
  const dir = join(tmp(), 's');
  assert.equal(run('simulate', '--n', '24', '--size', '48', '--seed', '1', '--out', dir).status, 0);
  const out = join(dir, 'm.png');
  let r = run('mosaic', '--catalog', join(dir, 'catalog.parquet'), '--by', 'tags', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(readFileSync(out).subarray(1, 4).toString() === 'PNG');
  r = run('mosaic', '--catalog', join(dir, 'catalog.csv'), '--by', 'no_such_column', '--out', out);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no column "no_such_column"/);
  r = run('votes', '--catalog', join(dir, 'catalog.parquet'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /24 galaxies; volunteers per galaxy/);
  assert.match(r.stdout, /smooth-or-featured/);
  rmSync(dir, { recursive: true, force: true });
});
