import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/program.js';
import { OptionError } from '../errors.js';
import { getSurvey, renderGalaxy, sampleTruth, simulateGalaxy, SIMULATOR_VERSION, toRgb, type GalaxyTruth } from './index.js';
import { simulateSurvey } from './runner.js';
import { featureDetectability, imageVisibility, outlineAxisRatio, SEEN_FEATURES, seenScore } from './seen.js';

const survey = getSurvey('decals');
const SIZE = 96;
const SEED = 5;

/** First galaxies (seed SEED) matching a predicate. */
function find(pred: (t: GalaxyTruth) => boolean, k = 1): GalaxyTruth[] {
  const out: GalaxyTruth[] = [];
  for (let i = 0; out.length < k && i < 5000; i++) {
    const t = sampleTruth(i, SEED);
    if (pred(t)) out.push(t);
  }
  assert.equal(out.length, k, 'no galaxy matched');
  return out;
}
const detectability = (t: GalaxyTruth) => {
  const rgb = toRgb(renderGalaxy(t, survey, { size: SIZE, seed: SEED }), survey);
  return featureDetectability(t, survey, { size: SIZE, seed: SEED }, rgb, renderGalaxy(t, survey, { size: SIZE, seed: SEED }).visibility.psfFwhmArcsec);
};

test('seen: each twin lacks only its feature and keeps the light where the eye cannot tell', () => {
  const [t] = find((g) => g.bar !== null && g.arms !== null && g.ring !== null);
  const f = (name: string) => SEEN_FEATURES.find((x) => x.name === name)!;
  const bar = structuredClone(t);
  f('bar').twin!(bar);
  assert.equal(bar.bar!.q, 1);
  assert.equal(bar.bar!.fraction, t.bar!.fraction);
  assert.deepEqual(bar.arms, t.arms);
  const ring = structuredClone(t);
  f('ring').twin!(ring);
  assert.ok(ring.ring!.widthArcsec > t.ring!.widthArcsec && ring.ring!.fraction === t.ring!.fraction);
  // Tails, like companions and arcs, are simply removed: the body keeps its light.
  const [tidal] = find((g) => g.tails.length > 0);
  const noTails = structuredClone(tidal);
  f('tidal').twin!(noTails);
  assert.equal(noTails.tails.length + noTails.shells.length, 0);
  assert.deepEqual({ ...noTails, tails: [], shells: [] }, { ...tidal, tails: [], shells: [] });
});

test('seen: tidal light counts only where it outshines the body beneath it', () => {
  const [t] = find((g) => g.tails.length === 0 && g.shells.length === 0 && g.disk !== null && g.r50Arcsec > 3 && !g.pointSource);
  const tail = (lengthArcsec: number) => {
    const g = structuredClone(t);
    g.tails = [{ fraction: 0.12, originDx: 0, originDy: 0, angleDeg: 30, lengthArcsec, curlDeg: 20, widthArcsec: 1.5, gr: 0.6 }];
    return detectability(g).get('tidal')!;
  };
  // Buried in the body: a brighter body, no tail to see. Launched far out: plain to see.
  const buried = tail(0.5 * t.r50Arcsec);
  const long = tail(6 * t.r50Arcsec);
  assert.ok(buried < 0.5, `buried tail d = ${buried}`);
  assert.ok(long > 1, `long tail d = ${long}`);
});

test('seen: a dust lane is seen where it darkens a trough across a resolved disk, not where the PSF only dims the midplane', () => {
  // A bright, large disk thick enough (q > 0.25) for the lane to have flanks.
  const [t] = find((g) => g.dust !== null && g.dust.tau > 2 && g.ring === null && g.r50Arcsec > 4 && g.magR < 16.5 && (g.disk?.q ?? 0) > 0.25);
  const lane = (widthArcsec: number) => {
    const g = structuredClone(t);
    g.dust!.widthArcsec = widthArcsec;
    return detectability(g).get('dust')!;
  };
  const thin = lane(0.05);
  const thick = lane(0.6);
  // Unresolved: below the eye's threshold (score < 0.5, d < 0.83); resolved: plain to see.
  assert.ok(seenScore(thin) < 0.5, `unresolved lane d = ${thin}`);
  assert.ok(thick > 1.5, `resolved lane d = ${thick}`);
});

test('seen: a feature made brighter is easier to see, one the galaxy lacks scores 0, and the scores are deterministic', () => {
  const [t] = find((g) => g.bar !== null && g.disk !== null && g.disk.q > 0.7 && g.r50Arcsec > 3);
  const faint = structuredClone(t);
  faint.bar!.fraction *= 0.05;
  const strong = structuredClone(t);
  strong.bar!.fraction = Math.max(0.3, t.bar!.fraction * 3);
  const dFaint = detectability(faint).get('bar')!;
  const dStrong = detectability(strong).get('bar')!;
  assert.ok(dStrong > 1 && dStrong > 3 * dFaint, `strong ${dStrong} vs faint ${dFaint}`);
  assert.equal(detectability(t).get('bar'), detectability(t).get('bar'));

  const [plain] = find((g) => g.morphType === 'elliptical' && g.tails.length === 0 && g.companions.length === 0 && g.lens === null && g.r50Arcsec > 2);
  const r = renderGalaxy(plain, survey, { size: SIZE, seed: SEED });
  const v = imageVisibility(plain, survey, { size: SIZE, seed: SEED }, toRgb(r, survey), r.visibility);
  for (const f of SEEN_FEATURES) assert.equal(v[f.name], 0, f.name);
  assert.equal(v.barContrast, 0);
  // Quantities that are not features stay analytic; a single spheroid's outline is its analytic shape.
  assert.equal(v.detail, r.visibility.detail);
  assert.ok(Math.abs(v.qObs - r.visibility.qObs) < 0.01, `outline ${v.qObs} vs analytic ${r.visibility.qObs}`);
});

test('seen: volunteers read the outline of the light, not the analytic rule, on bulge-dominated disks', () => {
  // population.ts sets an edge-on disk's axis ratio to the thin disk's whatever its bulge;
  // the image of a bulge-dominated one is far rounder.
  const [t] = find((g) => g.disk !== null && g.bulge !== null && g.bulge.fraction > 0.6 && g.inclinationDeg > 82 && g.r50Arcsec > 2);
  const r = renderGalaxy(t, survey, { size: SIZE, seed: SEED });
  const v = imageVisibility(t, survey, { size: SIZE, seed: SEED }, toRgb(r, survey), r.visibility);
  assert.ok(v.qObs > r.visibility.qObs + 0.1, `outline ${v.qObs} vs analytic ${r.visibility.qObs}`);
  assert.equal(v.qObs, outlineAxisRatio(renderGalaxy(t, survey, { size: SIZE, seed: SEED, noise: false, extras: false }), survey));
});

test('seen: the outline stops at the sky noise; a galaxy without extras reuses its one noise-free render', () => {
  // The same galaxy made fainter: its outskirts sink into the noise, so the outline shrinks
  // to the brighter inner light (never beyond the 90%-light isophote of the bright one).
  const [t] = find((g) => g.disk !== null && g.bulge !== null && g.bulge.fraction > 0.3 && g.inclinationDeg > 75 && !g.stars.length && !g.companions.length && !g.lens);
  const bare = (truth: GalaxyTruth) => renderGalaxy(truth, survey, { size: SIZE, seed: SEED, noise: false, extras: false });
  const faint = { ...structuredClone(t), magR: t.magR + 4 };
  const qBright = outlineAxisRatio(bare(t), survey), qFaint = outlineAxisRatio(bare(faint), survey);
  assert.ok(qFaint > qBright + 0.05, `faint outline ${qFaint} vs bright ${qBright}`);
  const invisible = { ...structuredClone(t), magR: t.magR + 12 };
  assert.equal(outlineAxisRatio(bare(invisible), survey), 1);
  // Sharing the render changes nothing: the scores equal those of separate renders.
  const r = renderGalaxy(t, survey, { size: SIZE, seed: SEED });
  assert.equal(r.conditions.artifacts.length, 0, 'pick a galaxy without artifacts');
  const v = imageVisibility(t, survey, { size: SIZE, seed: SEED }, toRgb(r, survey), r.visibility);
  for (const [name, d] of detectability(t)) if (name !== 'bar' && name !== 'arms' && name !== 'ring') assert.equal(v[name], seenScore(d), name);
});

test('seen: a bulge is seen where it swells out of an edge-on disk; boxy isophotes only where the image shows them', () => {
  const f = (name: string) => SEEN_FEATURES.find((x) => x.name === name)!;
  const [t] = find((g) => g.disk !== null && g.bulge !== null && g.bulge.fraction > 0.3 && g.inclinationDeg > 80 && g.r50Arcsec > 3);
  const bulgeless = structuredClone(t);
  f('bulge').twin!(bulgeless);
  assert.equal(bulgeless.bulge, null);
  assert.ok(Math.abs(bulgeless.disk!.fraction - (t.disk!.fraction + t.bulge!.fraction)) < 1e-12, 'the twin keeps the light');
  assert.ok(detectability(t).get('bulge')! > 1, 'a large bulge in an edge-on disk is seen');
  // Boxy: judged only for boxy bulges; one given more of the disk's light shows its shape better.
  const boxy = structuredClone(t);
  boxy.bulgeShape = 'boxy';
  const bright = structuredClone(boxy);
  const moved = Math.min(0.3, bright.disk!.fraction - 0.1);
  bright.bulge!.fraction += moved;
  bright.disk!.fraction -= moved;
  if (t.bulgeShape !== 'boxy') assert.equal(detectability(t).get('boxy'), undefined);
  assert.ok(detectability(bright).get('boxy')! > detectability(boxy).get('boxy')!, 'brighter boxy bulge');
});

test('seen: faint tidal tails the analytic score calls visible are not seen on the image', () => {
  // Minor disturbances: tails of 0.6–1.6% of the light (population.ts).
  const minor = find((g) => g.mergerState === 'minor-disturbance' && g.tails.length > 0 && g.companions.length === 0, 6);
  let analyticSeen = 0;
  let imageSeen = 0;
  for (const t of minor) {
    const r = renderGalaxy(t, survey, { size: SIZE, seed: SEED });
    const v = imageVisibility(t, survey, { size: SIZE, seed: SEED }, toRgb(r, survey), r.visibility);
    if (r.visibility.tidal > 0.5) analyticSeen++;
    if (v.tidal > 0.5) imageSeen++;
  }
  assert.ok(imageSeen < analyticSeen, `image ${imageSeen} vs analytic ${analyticSeen} of ${minor.length}`);
});

test('seen: --visibility is checked, changes only votes/visibility, and is recorded for resuming', async () => {
  assert.throws(() => simulateGalaxy(0, { seed: 1, survey: 'decals', visibility: 'eyes' as never }), (e: unknown) => e instanceof OptionError && /--visibility must be one of analytic, image, got 'eyes'/.test((e as Error).message));
  for (let i = 0; i < 12; i++) {
    const a = simulateGalaxy(i, { seed: 2, survey: 'decals', size: 48, visibility: 'analytic' });
    const b = simulateGalaxy(i, { seed: 2, survey: 'decals', size: 48 });
    assert.deepEqual(b.row, simulateGalaxy(i, { seed: 2, survey: 'decals', size: 48, visibility: 'image' }).row, 'image is the default');
    assert.deepEqual(b.rgb, a.rgb, 'same image');
    assert.equal(b.row.vis_detail, a.row.vis_detail);
    assert.equal(b.row.mag_r, a.row.mag_r);
  }
  const dir = await mkdtemp(join(tmpdir(), 'gm-seen-'));
  try {
    const opts = { n: 3, size: 32, seed: 3, workers: 1 };
    await simulateSurvey({ ...opts, out: join(dir, 'a'), visibility: 'analytic' });
    const manifest = join(dir, 'a', 'manifest.json');
    assert.equal(JSON.parse(await readFile(manifest, 'utf8')).visibility, 'analytic');
    await assert.rejects(simulateSurvey({ ...opts, out: join(dir, 'a') }), /visibility=analytic, not image/);
    // A manifest from before the mode was recorded every time meant analytic.
    const legacy = JSON.parse(await readFile(manifest, 'utf8'));
    delete legacy.visibility;
    await writeFile(manifest, JSON.stringify(legacy));
    await assert.rejects(simulateSurvey({ ...opts, out: join(dir, 'a') }), /visibility=analytic, not image/);
    await simulateSurvey({ ...opts, out: join(dir, 'b') });
    assert.equal(JSON.parse(await readFile(join(dir, 'b', 'manifest.json'), 'utf8')).visibility, 'image');
    // A complete survey made by an older simulator (no version recorded) is not reused.
    const older = JSON.parse(await readFile(join(dir, 'b', 'manifest.json'), 'utf8'));
    assert.equal(older.simulator, SIMULATOR_VERSION);
    delete older.simulator;
    await writeFile(join(dir, 'b', 'manifest.json'), JSON.stringify(older));
    await assert.rejects(simulateSurvey({ ...opts, out: join(dir, 'b') }), new RegExp(`simulator version 3; this galmorph simulates version ${SIMULATOR_VERSION}`));
    assert.equal(await runCli(['node', 'galmorph', 'simulate', '--n', '2', '--out', join(dir, 'c'), '--visibility', 'pixels']), 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
