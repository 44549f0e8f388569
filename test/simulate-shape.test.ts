/** src/sim/shape.ts and bench/simulate/axis-ratio.ts: image axis ratios on synthetic galaxies of known shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisRatioOfMoments, isophoteAxisRatios } from '../src/sim/shape.js';
import { adaptiveAxisRatio } from '../bench/simulate/axis-ratio.js';

const near = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want} (± ${tol})`);

/**
 * A `size`² image of a profile of elliptical radius (major-axis units) centred at (cx, cy),
 * major axis at `paDeg` from the x axis, sampled at pixel centres.
 */
function ellipticalImage(size: number, q: number, paDeg: number, profile: (r: number) => number, cx = size / 2 - 0.3, cy = size / 2 + 0.4): Float64Array {
  const c = Math.cos((paDeg * Math.PI) / 180), s = Math.sin((paDeg * Math.PI) / 180);
  const img = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = c * (x - cx) + s * (y - cy), v = -s * (x - cx) + c * (y - cy);
      img[y * size + x] = profile(Math.hypot(u, v / q));
    }
  }
  return img;
}
const gaussian = (sigma: number) => (r: number) => Math.exp(-0.5 * (r / sigma) ** 2);
/** Sérsic profile of index n, half-light radius re (b_n from Ciotti & Bertin 1999). */
const sersic = (n: number, re: number) => {
  const b = 2 * n - 1 / 3 + 4 / (405 * n);
  return (r: number) => Math.exp(-b * ((r / re) ** (1 / n) - 1));
};

test('axisRatioOfMoments is b/a of the ellipse, whatever its orientation', () => {
  near(axisRatioOfMoments(4, 1, 0), 0.5, 1e-12, 'aligned');
  near(axisRatioOfMoments(1, 4, 0), 0.5, 1e-12, 'along y');
  // diag(4, 1) turned by 45°: xx = yy = 2.5, xy = 1.5.
  near(axisRatioOfMoments(2.5, 2.5, 1.5), 0.5, 1e-12, 'rotated');
  near(axisRatioOfMoments(3, 3, 0), 1, 1e-12, 'round');
});

test('elliptical Gaussian: isophote and adaptive axis ratios recover q', () => {
  for (const [q, pa] of [[0.5, 30], [0.25, -70], [0.8, 90]]) {
    const img = ellipticalImage(96, q, pa, gaussian(10));
    const [q50, q90] = isophoteAxisRatios(img, 96, [0.5, 0.9]);
    // Isophote regions are pixelised ellipses (minor semi-axis ≥ 3 px here): ± 0.01.
    near(q50, q, 0.01, `q_iso50 (q ${q}, pa ${pa})`);
    near(q90, q, 0.01, `q_iso90 (q ${q}, pa ${pa})`);
    const am = adaptiveAxisRatio(img, 96, 4);
    assert.ok(am.converged, 'adaptive moments converge');
    // The matched weight is the image's covariance, sampled finely enough to be exact: ± 0.001.
    near(am.q, q, 0.001, `q_am (q ${q}, pa ${pa})`);
    near(am.sigma, 10 * Math.sqrt(q), 0.01, 'adaptive σ = geometric-mean σ');
  }
});

test('Sérsic profiles: the isophote measure recovers q of elliptical isophotes, cusp or not', () => {
  for (const [n, re, q, pa] of [[4, 5, 0.7, -60], [4, 8, 0.4, 45], [1, 8, 0.4, 20]]) {
    const img = ellipticalImage(128, q, pa, sersic(n, re));
    const [q90] = isophoteAxisRatios(img, 128, [0.9]);
    near(q90, q, 0.01, `q_iso90 (n ${n}, q ${q})`);
  }
  // Adaptive moments need a resolved core (rendered images are PSF-convolved): n ≤ 2 here.
  for (const [n, re, q, pa] of [[2, 6, 0.7, -60], [1, 8, 0.4, 20]]) {
    const am = adaptiveAxisRatio(ellipticalImage(128, q, pa, sersic(n, re)), 128, 3);
    assert.ok(am.converged);
    near(am.q, q, 0.01, `q_am (n ${n}, q ${q})`);
  }
});

test('a round bulge in a flat disk: the outline follows the disk, the core the bulge', () => {
  const disk = ellipticalImage(128, 0.3, 10, sersic(1, 12));
  const bulge = ellipticalImage(128, 1, 0, sersic(4, 2));
  // Equal peak-normalised light would hide the bulge; give it ~ 40% of the total.
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  const k = (0.4 / 0.6) * (sum(disk) / sum(bulge));
  const img = disk.map((v, i) => v + k * bulge[i]);
  const [q90] = isophoteAxisRatios(img, 128, [0.9]);
  const am = adaptiveAxisRatio(img, 128, 4);
  assert.ok(q90 < 0.45, `outline is disk-like: q_iso90 ${q90}`);
  assert.ok(am.q > q90 + 0.15, `core is rounder: q_am ${am.q} vs q_iso90 ${q90}`);
});

test('no positive light: NaN, not a shape', () => {
  const img = new Float64Array(64 * 64);
  assert.ok(isophoteAxisRatios(img, 64, [0.9]).every(Number.isNaN));
  assert.ok(Number.isNaN(adaptiveAxisRatio(img, 64, 3).q));
});

test('a floor stops the outline at that brightness: only the light above it shapes it', () => {
  // A round core inside a faint, flat halo: the 90% region is the halo's shape, the region above
  // a floor between the two is the core's; a floor above the peak leaves no outline.
  const core = ellipticalImage(128, 1, 0, sersic(1, 4));
  const halo = ellipticalImage(128, 0.3, 30, sersic(1, 40));
  const img = core.map((v, i) => v + 0.02 * halo[i]);
  const [q] = isophoteAxisRatios(img, 128, [0.9]);
  const [qCore] = isophoteAxisRatios(img, 128, [0.9], 0.5);
  assert.ok(q < 0.5, `halo outline ${q}`);
  assert.ok(qCore > 0.9, `core outline ${qCore}`);
  assert.ok(isophoteAxisRatios(img, 128, [0.9], 10).every(Number.isNaN));
});
