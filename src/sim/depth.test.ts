import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/program.js';
import { OptionError } from '../errors.js';
import { sampleTruth, simulateGalaxy } from './index.js';
import { redshiftLimit } from './population.js';
import { simulateSurvey } from './runner.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Digests of the population and of rendered catalogue entries: the default faint limit must
// keep the bytes a survey had before the limit was an option (analytic visibility; image
// visibility changes only votes). Updated when the simulator's physics changes on purpose
// (last: the catalogue's q_obs column, 2026-12-07).
const TRUTH_DIGEST = '1f6ca6bab4abd44f3f8fdadb6afa2b49ac2d5163f5f82f66fa32d4ebbfca8091';
const GALAXY_DIGEST: Record<string, string> = {
  sdss: '0c39bfcec5f53feb8e2809290f3221af0aeed67eee58591cffc3d051514968ba',
  des: '77f940be54a8baa0f5e9bc7edcff7338ce9c8ba4081037f9476850b78424fe6e',
};

test('mag limit: the default (and an explicit 17.77) draws the same galaxies, byte for byte', () => {
  for (const magLimit of [undefined, 17.77]) {
    const h = createHash('sha256');
    // 3000 entries hold every morphology, artifacts (drawn near the faint limit) included.
    for (let i = 0; i < 3000; i++) h.update(JSON.stringify(magLimit === undefined ? sampleTruth(i, 7) : sampleTruth(i, 7, magLimit)));
    assert.equal(h.digest('hex'), TRUTH_DIGEST);
  }
  for (const survey of ['sdss', 'des'] as const) {
    const h = createHash('sha256');
    for (let i = 0; i < 60; i++) {
      const g = simulateGalaxy(i, { seed: 7, survey, size: 48, schema: 'gz2', visibility: 'analytic' });
      h.update(JSON.stringify(g.row));
      h.update(g.rgb);
    }
    assert.equal(h.digest('hex'), GALAXY_DIGEST[survey], survey);
  }
});

test('mag limit: a deeper limit gives fainter, smaller, more distant galaxies', () => {
  const draw = (magLimit: number) => Array.from({ length: 600 }, (_, i) => sampleTruth(i, 11, magLimit)).filter((t) => !t.pointSource);
  const sdss = draw(17.77);
  const deep = draw(20);
  assert.ok(redshiftLimit(20) > 0.3 && redshiftLimit(20) < 0.5, `z max ${redshiftLimit(20)}`);
  for (const t of deep) {
    assert.ok(t.magR >= 14 && t.magR <= 20 + 1e-9, `mag ${t.magR}`);
    assert.ok(t.redshift <= redshiftLimit(20) + 1e-9, `z ${t.redshift}`);
  }
  const fainter = deep.filter((t) => t.magR > 17.77).length / deep.length;
  assert.ok(fainter > 0.7, `only ${fainter} of the r < 20 sample is fainter than 17.77`);
  assert.ok(median(deep.map((t) => t.magR)) > median(sdss.map((t) => t.magR)) + 1.5);
  assert.ok(median(deep.map((t) => t.r50Arcsec)) < 0.6 * median(sdss.map((t) => t.r50Arcsec)));
  assert.ok(median(deep.map((t) => t.redshift)) > 1.8 * median(sdss.map((t) => t.redshift)));
  // A shallower limit keeps the default redshift range.
  assert.equal(redshiftLimit(17), redshiftLimit(17.77));
});

test('mag limit: checked, recorded in the manifest only when not the default, and part of resuming', async () => {
  assert.throws(() => simulateGalaxy(0, { seed: 1, survey: 'des', magLimit: 30 }), (e: unknown) => e instanceof OptionError && /--mag-limit .* got 30/.test((e as Error).message));
  assert.throws(() => simulateGalaxy(0, { seed: 1, survey: 'des', magLimit: Number.NaN }), OptionError);
  const dir = await mkdtemp(join(tmpdir(), 'gm-depth-'));
  try {
    const opts = { n: 4, survey: 'des' as const, size: 32, seed: 3, workers: 1 };
    await simulateSurvey({ ...opts, out: join(dir, 'default') });
    assert.equal('magLimit' in JSON.parse(await readFile(join(dir, 'default', 'manifest.json'), 'utf8')), false);
    // Resuming a default survey with the default written out is the same survey.
    assert.equal((await simulateSurvey({ ...opts, out: join(dir, 'default'), magLimit: 17.77 })).rendered, 0);
    await assert.rejects(simulateSurvey({ ...opts, out: join(dir, 'default'), magLimit: 20 }), /magLimit=17.77, not 20/);
    await simulateSurvey({ ...opts, out: join(dir, 'deep'), magLimit: 20 });
    assert.equal(JSON.parse(await readFile(join(dir, 'deep', 'manifest.json'), 'utf8')).magLimit, 20);
    await assert.rejects(simulateSurvey({ ...opts, out: join(dir, 'deep') }), /magLimit=20, not 17.77/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('mag limit: galmorph simulate --mag-limit refuses a limit out of range before rendering', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gm-depth-cli-'));
  try {
    assert.equal(await runCli(['node', 'galmorph', 'simulate', '--n', '2', '--mag-limit', '30', '--out', join(dir, 'x')]), 2);
    assert.notEqual(await runCli(['node', 'galmorph', 'simulate', '--n', '2', '--mag-limit', 'deep', '--out', join(dir, 'x')]), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
