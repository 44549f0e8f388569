import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError } from '../errors.js';
import {
  getSurvey, surveyNames, sampleTruth, renderGalaxy, toRgb, magToNmgy, bandNoise, redshiftTruth, type GalaxyTruth,
} from './index.js';
import { bandMinusR } from './surveys.js';

const sum = (a: Float32Array): number => {
  let s = 0;
  for (const v of a) s += v;
  return s;
};

test('surveys: frozen registry, unknown names list the valid ones, depth ↔ noise consistent', () => {
  assert.deepEqual(surveyNames().sort(), ['decals', 'des', 'sdss']);
  const d = getSurvey('decals');
  assert.equal(d.pixscale_arcsec, 0.262);
  assert.equal(d.bands.length, 3);
  assert.ok(Object.isFrozen(d));
  assert.throws(() => getSurvey('hsc'), (e: unknown) => e instanceof OptionError && /decals, sdss, des/.test((e as Error).message));
  for (const name of surveyNames()) {
    const s = getSurvey(name);
    const nz = bandNoise(s, 'r');
    // 5σ point source: σ_pix·√NEA·5 must give back the depth.
    const sig = s.psfFwhmArcsec / 2.355;
    const nea = (4 * Math.PI * sig * sig) / (s.pixscale_arcsec * s.pixscale_arcsec);
    assert.ok(Math.abs(5 * nz.sigmaPix * Math.sqrt(nea) - magToNmgy(s.depthMag5sigma)) < 1e-9);
  }
  // Noise per arcsec²: SDSS is shallower than DECaLS, which is shallower than DES.
  const area = (n: string): number => bandNoise(getSurvey(n), 'r').sigmaArea;
  assert.ok(area('sdss') > area('decals') && area('decals') > area('des'));
});

test('truth: depends only on (index, seed); realistic ranges; edge-on disks are thin', () => {
  const a = sampleTruth(17, 5);
  sampleTruth(3, 5);
  assert.deepEqual(sampleTruth(17, 5), a);
  assert.notDeepEqual(sampleTruth(17, 6), a);
  assert.equal(a.id, 'sim-5-0000017');
  let edgeOn = 0;
  for (let i = 0; i < 600; i++) {
    const t = sampleTruth(i, 11);
    assert.ok(t.magR >= 14 && t.magR <= 17.77 + 1e-9, `mag ${t.magR}`);
    assert.ok(t.ra >= 150 && t.ra < 160 && t.dec >= 0 && t.dec < 10);
    if (t.pointSource) continue;
    assert.ok(t.redshift > 0.01 && t.redshift < 0.17, `z ${t.redshift}`);
    assert.ok(t.r50Arcsec > 0.2 && t.r50Arcsec < 30, `r50 ${t.r50Arcsec}`);
    assert.ok(t.fovArcsec >= 16 && t.fovArcsec <= 240);
    if (t.disk && t.inclinationDeg > 80 && t.morphType !== 'irregular') {
      edgeOn++;
      assert.ok(t.disk.q < 0.3 && t.axisRatio < 0.3, `edge-on axis ratio ${t.axisRatio}`);
      assert.ok(t.tags.includes('edge-on'));
    }
    let frac = (t.bulge?.fraction ?? 0) + (t.disk?.fraction ?? 0) + (t.bar?.fraction ?? 0) + (t.arms?.fraction ?? 0) + (t.ring?.fraction ?? 0);
    for (const c of [...t.clumps, ...t.tails, ...t.shells]) frac += c.fraction;
    assert.ok(Math.abs(frac - 1) < 1e-9, `fractions sum to ${frac}`);
  }
  assert.ok(edgeOn > 20, `only ${edgeOn} edge-on disks in 600`);
});

test('truth: population mix — rare objects (lenses, polar and collisional rings) at ~1%', () => {
  const n = 4000;
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const m = sampleTruth(i, 2).morphType;
    counts[m] = (counts[m] ?? 0) + 1;
  }
  const rare = (counts.lens ?? 0) + (counts['polar-ring'] ?? 0) + (counts['collisional-ring'] ?? 0);
  assert.ok(rare / n > 0.005 && rare / n < 0.016, `rare fraction ${rare / n}`);
  assert.ok((counts.spiral ?? 0) / n > 0.4 && (counts.elliptical ?? 0) / n > 0.15);
  assert.ok((counts.star ?? 0) + (counts.artifact ?? 0) > 0.008 * n);
});

test('render: same (index, seed, survey, size) gives identical bytes; another seed differs', () => {
  const s = getSurvey('decals');
  const t = sampleTruth(9, 1);
  const a = renderGalaxy(t, s, { size: 64, seed: 1 });
  sampleTruth(10, 1);
  renderGalaxy(sampleTruth(10, 1), s, { size: 64, seed: 1 });
  const b = renderGalaxy(t, s, { size: 64, seed: 1 });
  assert.equal(a.bands.length, 3);
  for (let k = 0; k < 3; k++) assert.deepEqual(Buffer.from(a.bands[k].buffer), Buffer.from(b.bands[k].buffer));
  assert.deepEqual(toRgb(a, s), toRgb(b, s));
  const c = renderGalaxy(t, s, { size: 64, seed: 2 });
  assert.notDeepEqual(Buffer.from(a.bands[1].buffer), Buffer.from(c.bands[1].buffer));
  assert.throws(() => renderGalaxy(t, s, { size: 8, seed: 1 }), OptionError);
});

test('render: noiseless flux equals the catalogue magnitude in every band', () => {
  for (const name of ['decals', 'sdss'] as const) {
    const s = getSurvey(name);
    for (let i = 0; i < 120; i++) {
      const t = sampleTruth(i, 21);
      const r = renderGalaxy(t, s, { size: 96, seed: 21, noise: false, extras: false });
      const F = magToNmgy(t.magR);
      const fr = sum(r.bands[1]);
      assert.ok(Math.abs(fr / F - 1) < 0.02, `${name} #${i} ${t.morphType}: r flux ${fr} vs ${F}`);
      if (t.pointSource || t.dust) continue;
      // Other bands follow the integrated colour.
      const fb = sum(r.bands[0]);
      const expected = F * Math.pow(10, -0.4 * bandMinusR(s.bands[0], t.gr));
      assert.ok(Math.abs(fb / expected - 1) < 0.03, `${name} #${i} ${s.bands[0]} flux ${fb} vs ${expected}`);
    }
  }
});

/** Fraction of the noiseless r light in the 5×5 pixels around the centre (a concentration). */
function centralFraction(t: GalaxyTruth, survey: string, size: number): number {
  const r = renderGalaxy(t, getSurvey(survey), { size, seed: 1, noise: false, extras: false });
  const img = r.bands[1];
  const c = Math.floor(size / 2);
  let inner = 0;
  for (let y = c - 3; y <= c + 2; y++) for (let x = c - 3; x <= c + 2; x++) inner += img[y * size + x];
  return inner / sum(img);
}

test('render: the same galaxy is blurrier and noisier in SDSS than in DES', () => {
  let blurrier = 0;
  let noisier = 0;
  let n = 0;
  for (let i = 0; n < 12; i++) {
    const t = sampleTruth(i, 8);
    if (t.pointSource) continue;
    n++;
    if (centralFraction(t, 'sdss', 64) < centralFraction(t, 'des', 64)) blurrier++;
    const noise = (survey: string): number => {
      const s = getSurvey(survey);
      const clean = renderGalaxy(t, s, { size: 64, seed: 1, noise: false, extras: false }).bands[1];
      const noisy = renderGalaxy(t, s, { size: 64, seed: 1, extras: false }).bands[1];
      let s2 = 0;
      for (let k = 0; k < clean.length; k++) s2 += (noisy[k] - clean[k]) ** 2;
      return Math.sqrt(s2 / clean.length);
    };
    if (noise('sdss') > noise('des')) noisier++;
  }
  assert.equal(blurrier, n, `SDSS blurrier for ${blurrier}/${n}`);
  assert.equal(noisier, n, `SDSS noisier for ${noisier}/${n}`);
});

test('render: residual noise matches the survey depth (σ per pixel from the 5σ limit)', () => {
  const s = getSurvey('decals');
  // A faint point source: the image is sky-noise dominated.
  const t = { ...sampleTruth(0, 1), magR: 30, stars: [] as GalaxyTruth['stars'] };
  t.fovArcsec = (s.pixscale_arcsec * 1.25) * 64; // cutout pixels coarser than native: white noise
  const r = renderGalaxy(t, s, { size: 64, seed: 4 });
  for (let b = 0; b < 3; b++) {
    let s2 = 0;
    for (const v of r.bands[b]) s2 += v * v;
    const sd = Math.sqrt(s2 / r.bands[b].length);
    const expected = bandNoise(s, s.bands[b]).sigmaPix * 1.25;
    assert.ok(Math.abs(sd / expected - 1) < 0.08, `band ${s.bands[b]}: σ ${sd} vs ${expected}`);
  }
});

test('render: oversampled cutouts keep the noise per arcsec² (correlated, like resampled images)', () => {
  const s = getSurvey('sdss');
  const t = { ...sampleTruth(0, 1), magR: 30, stars: [] as GalaxyTruth['stars'] };
  const size = 128;
  t.fovArcsec = (s.pixscale_arcsec / 2.5) * size; // 2.5 cutout pixels per native pixel
  const r = renderGalaxy(t, s, { size, seed: 5 });
  const img = r.bands[1];
  const native = bandNoise(s, 'r').sigmaPix;
  const a = (r.pixscale_arcsec / s.pixscale_arcsec) ** 2;
  let s2 = 0;
  for (const v of img) s2 += v * v;
  const perPixel = Math.sqrt(s2 / img.length);
  // Interpolated noise: each cutout pixel carries about σ₀·A/A₀.
  assert.ok(Math.abs(perPixel / r.noiseSigma[1] - 1) < 0.1, `per-pixel σ ${perPixel} vs reported ${r.noiseSigma[1]}`);
  assert.ok(perPixel < native * Math.sqrt(a), 'noise must be smoothed below white per-pixel noise');
  // Sums over 16×16 blocks: the same noise as the native pixels they cover (σ₀²·A_block/A₀).
  const B = 16;
  let v2 = 0;
  let nb = 0;
  for (let by = 0; by + B <= size; by += B) for (let bx = 0; bx + B <= size; bx += B) {
    let sum = 0;
    for (let y = by; y < by + B; y++) for (let x = bx; x < bx + B; x++) sum += img[y * size + x];
    v2 += sum * sum;
    nb++;
  }
  const expected = native * Math.sqrt(a * B * B);
  const got = Math.sqrt(v2 / nb);
  assert.ok(Math.abs(got / expected - 1) < 0.3, `block noise ${got} vs ${expected}`);
});

test('render: artificially redshifted galaxies are fainter and smaller', () => {
  const t = sampleTruth(30, 4);
  const far = redshiftTruth(t, t.redshift * 2.5);
  assert.ok(far.magR > t.magR + 1.5 && far.r50Arcsec < t.r50Arcsec / 2);
});

test('toRgb: interleaved 8-bit RGB of the cutout, black for an empty image', () => {
  const s = getSurvey('decals');
  const r = renderGalaxy(sampleTruth(2, 3), s, { size: 32, seed: 3 });
  const rgb = toRgb(r, s);
  assert.equal(rgb.length, 32 * 32 * 3);
  assert.ok(rgb.some((v) => v > 100));
  const empty = toRgb({ size: 4, pixscale_arcsec: 0.3, bands: [new Float32Array(16), new Float32Array(16), new Float32Array(16)] }, s);
  assert.ok(empty.every((v) => v === 0));
});
