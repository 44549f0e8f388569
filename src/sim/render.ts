/**
 * Render a galaxy as a survey would image it: light components at the cutout's pixel scale,
 * dust, PSF convolution (FFT), stars, imaging artifacts and noise, in nanomaggies per pixel.
 *
 * The cutout's field of view comes from the truth (it scales with the galaxy's size, as in
 * GZ DECaLS), so the cutout pixel scale `pix` differs from the survey's native pixel `p₀`.
 * The survey still sets what the image can show:
 *   - PSF: Moffat with the survey's seeing (per band, per galaxy), in cutout pixels;
 *   - native pixels: when pix < p₀ the image is convolved with a p₀-wide box (the detector
 *     pixel), so upsampling cannot invent detail finer than the detector recorded;
 *   - noise: sky + read noise is defined per native pixel (σ₀, from the 5σ depth). White noise
 *     of variance σ₀² per native pixel has variance σ₀²·A/A₀ per cutout pixel of area A
 *     (sum of A/A₀ native pixels), i.e. the same noise per arcsec², which is what sets the S/N
 *     of any feature larger than a pixel. When pix < p₀ (upsampling) resampled noise is
 *     correlated over a native pixel: the white field is smoothed with a p₀-wide box, which
 *     keeps the noise per arcsec² and gives each pixel the interpolated amplitude ≈ σ₀·A/A₀.
 *     Source Poisson noise adds F/gain per pixel (flux F in nanomaggies).
 */
import { OptionError } from '../errors.js';
import {
  clearBox, drawArc, drawArms, drawBar, drawGaussian, drawRing, drawSersic, skyToPix, sumBox, unionBox,
  EMPTY_BOX, type Box, type Grid,
} from './components.js';
import { observingConditions, type Conditions } from './conditions.js';
import { convolvePair, nextPow2 } from './fft.js';
import { sersicProfile } from './profiles.js';
import { drawStar, moffatAlpha, moffatTransfer } from './psf.js';
import { Rng } from './rng.js';
import { DUST_BAND_RATIO, bandMinusR, bandNoise, magToNmgy, type SurveyProfile } from './surveys.js';
import { paVector } from './geometry.js';
import type { GalaxyTruth } from './truth.js';
import { computeVisibility, type Visibility } from './visibility.js';

/** Options of {@link renderGalaxy}. */
export interface RenderOptions {
  /** Cutout side, pixels. */
  size: number;
  /** Simulation seed (noise and artifacts are keyed by seed, galaxy index and survey). */
  seed: number;
  /** Add sky, read and source noise. @default true */
  noise?: boolean;
  /** Add field stars, companions, lensed arcs and imaging artifacts. @default true */
  extras?: boolean;
}

/**
 * Whether `extras` would change a render of this galaxy: it has field stars, companions or a
 * lensed arc, or its conditions bring imaging artifacts. Without any, a render with extras
 * equals one without.
 */
export function hasExtras(t: GalaxyTruth, cond: Conditions): boolean {
  return t.stars.length > 0 || t.companions.length > 0 || t.lens !== null || cond.artifacts.length > 0;
}

/** A rendered cutout. */
export interface Rendered {
  size: number;
  /** One image per survey band (bluest first), size×size row-major, nanomaggies per pixel. */
  bands: Float32Array[];
  bandNames: string[];
  /** Pixel scale of the cutout, arcsec/pixel. */
  pixscale_arcsec: number;
  visibility: Visibility;
  /** PSF FWHM per band, arcsec. */
  psfFwhmArcsec: number[];
  /** Sky + read noise per cutout pixel (1σ, nanomaggies) per band. */
  noiseSigma: number[];
  conditions: Conditions;
}

interface Work {
  n: number;
  pre: Float64Array[];
  scratch: Float64Array;
  tau: Float64Array;
  re: Float64Array;
  im: Float64Array;
  re2: Float64Array;
  im2: Float64Array;
  kt: Float64Array[];
  noise: Float64Array;
  noiseBig: Float64Array;
  noiseTmp: Float64Array;
}

const works = new Map<number, Work>();

function workFor(n: number): Work {
  let w = works.get(n);
  if (w) return w;
  const a = (): Float64Array => new Float64Array(n * n);
  w = {
    n, pre: [], scratch: a(), tau: a(), re: a(), im: a(), re2: a(), im2: a(),
    kt: [a(), a(), a()], noise: a(), noiseBig: new Float64Array(0), noiseTmp: new Float64Array(0),
  };
  // The band images are drawn straight into the FFT buffers (g → re, r → im, z → re2).
  w.pre = [w.re, w.im, w.re2];
  works.set(n, w);
  return w;
}

/** Flux of a component in each band, from its r flux and g − r colour. */
function bandFluxes(bands: readonly string[], fluxR: number, gr: number, out: number[]): number[] {
  for (let b = 0; b < bands.length; b++) out[b] = fluxR * Math.pow(10, -0.4 * bandMinusR(bands[b], gr));
  return out;
}

/**
 * Add scratch·(flux_b / norm) to each band over a box, then clear the scratch there. A
 * feature too small to hit any pixel centre (norm 0) keeps its flux as a small Gaussian at
 * `fallback` (pixel position and σ), so no light ever goes missing inside the cutout.
 */
function distribute(w: Work, g: Grid, box: Box, fluxes: number[], norm: number, fallback?: [number, number, number]): void {
  if (box.x1 <= box.x0 || !(norm > 0)) {
    clearBox(w.scratch, g, box);
    if (!fallback) return;
    const b = drawGaussian(w.scratch, g, fallback[0], fallback[1], Math.max(0.5, fallback[2]), 1);
    distribute(w, g, b, fluxes, 1);
    return;
  }
  const s = w.scratch;
  const nb = fluxes.length;
  const w0 = fluxes[0] / norm;
  const w1 = fluxes[1] / norm;
  const w2 = nb > 2 ? fluxes[2] / norm : 0;
  const [p0, p1, p2] = w.pre;
  for (let y = box.y0; y < box.y1; y++) {
    const row = y * g.stride;
    for (let x = box.x0; x < box.x1; x++) {
      const i = row + x;
      const v = s[i];
      if (v === 0) continue;
      p0[i] += w0 * v;
      p1[i] += w1 * v;
      p2[i] += w2 * v;
      s[i] = 0;
    }
  }
}

/**
 * Render `truth` as imaged by `survey` into a size×size cutout. Deterministic in
 * (truth, survey, size, seed).
 */
export function renderGalaxy(truth: GalaxyTruth, survey: SurveyProfile, opts: RenderOptions): Rendered {
  const size = opts.size;
  if (!Number.isInteger(size) || size < 16 || size > 2048) throw new OptionError(`size must be an integer from 16 to 2048 px, got ${size}`);
  if (survey.bands.length !== 3) throw new OptionError(`survey ${survey.name} must have 3 bands, has ${survey.bands.length}`);
  const noiseOn = opts.noise ?? true;
  const extras = opts.extras ?? true;
  const cond = observingConditions(truth, survey, opts.seed);
  const n = nextPow2(size);
  const w = workFor(n);
  const pix = truth.fovArcsec / size;
  const g: Grid = { size, stride: n, pix, centre: (size - 1) / 2 };
  const bands = survey.bands;
  const F = magToNmgy(truth.magR);
  for (const p of w.pre) p.fill(0);
  w.scratch.fill(0); // renderers leave it clean; clearing again makes that independent of bugs
  const fl = [0, 0, 0];

  drawTarget(w, g, truth, bands, F, fl);
  if (truth.dust && truth.dust.tau > 0) applyDust(w, g, truth, bands);
  if (extras) drawExtras(w, g, truth, bands, fl);

  // PSF per band (cutout pixels), with the native-pixel box when the cutout oversamples it.
  const fwhmPx = cond.psfFwhmArcsec.map((f) => f / pix);
  const boxW = survey.pixscale_arcsec / pix;
  for (let b = 0; b < 3; b++) moffatTransfer(w.kt[b], n, fwhmPx[b], survey.psfBeta, boxW);
  convolvePair(w.re, w.im, w.kt[0], w.kt[1], n);
  w.im2.fill(0);
  convolvePair(w.re2, w.im2, w.kt[2], w.kt[2], n);
  const conv = [w.re, w.im, w.re2];

  // Per-band noise per cutout pixel (white-equivalent) and the source-noise gain.
  const areaRatio = (pix * pix) / (survey.pixscale_arcsec * survey.pixscale_arcsec);
  const noises = bands.map((b) => bandNoise(survey, b));
  const sigmaWhite = noises.map((nz) => nz.sigmaPix * Math.sqrt(areaRatio));

  if (truth.pointSource) {
    const c = g.centre;
    for (let b = 0; b < 3; b++) {
      const fb = F * Math.pow(10, -0.4 * bandMinusR(bands[b], truth.gr));
      drawStar(conv[b], g, c, c, fb, fwhmPx[b], survey.psfBeta, 0.1 * sigmaWhite[b]);
    }
  }
  if (extras) {
    for (const s of truth.stars) {
      const [cx, cy] = skyToPix(g, s.dx, s.dy);
      const fr = magToNmgy(s.magR);
      for (let b = 0; b < 3; b++) {
        const fb = fr * Math.pow(10, -0.4 * bandMinusR(bands[b], s.gr));
        drawStar(conv[b], g, cx, cy, fb, fwhmPx[b], survey.psfBeta, 0.1 * sigmaWhite[b]);
      }
    }
    for (const a of cond.artifacts) if (a.kind === 'trail') drawTrail(conv, g, a.band, a.angleDeg, a.offsetArcsec, a.linearFlux, cond.psfFwhmArcsec);
  }

  const noiseSigma = sigmaWhite.slice();
  if (noiseOn) {
    const rng = new Rng(opts.seed, truth.index, survey.name, 'noise', size);
    for (let b = 0; b < 3; b++) noiseSigma[b] = addNoise(w, g, conv[b], rng, sigmaWhite[b], noises[b].gain, boxW);
  }
  if (extras) {
    applySaturation(conv, g, truth, survey, fwhmPx);
    applyDetectorArtifacts(conv, g, cond, survey);
  }

  const out: Float32Array[] = [];
  for (let b = 0; b < 3; b++) {
    const img = new Float32Array(size * size);
    const src = conv[b];
    for (let y = 0; y < size; y++) {
      const row = y * n;
      for (let x = 0; x < size; x++) img[y * size + x] = src[row + x];
    }
    out.push(img);
  }
  return {
    size, bands: out, bandNames: [...bands], pixscale_arcsec: pix, visibility: computeVisibility(truth, survey, cond),
    psfFwhmArcsec: cond.psfFwhmArcsec, noiseSigma, conditions: cond,
  };
}

/** Draw the target's own light (everything its catalogue magnitude includes). */
function drawTarget(w: Work, g: Grid, t: GalaxyTruth, bands: readonly string[], F: number, fl: number[]): void {
  const s = w.scratch;
  if (t.bulge) {
    const b = t.bulge;
    const boxy = t.bulgeShape === 'boxy' ? 0.6 : 0;
    const box = drawSersic(s, g, sersicProfile(b.n), b.reArcsec, b.q, b.paDeg, b.dx, b.dy, 1, boxy);
    // Boxy isophotes enclose more area than the table's ellipses: renormalise by the drawn sum.
    const norm = boxy > 0 ? sumBox(s, g, box) : 1;
    distribute(w, g, box, bandFluxes(bands, F * b.fraction, b.gr, fl), norm);
  }
  const d = t.disk;
  const frame = d ? { dx: d.dx, dy: d.dy, q: d.q, paDeg: t.positionAngleDeg } : null;
  if (d && frame) {
    const box = drawSersic(s, g, sersicProfile(1), 1.678 * d.scaleArcsec, d.q, t.positionAngleDeg, d.dx, d.dy, 1, 0, d.holeArcsec);
    distribute(w, g, box, bandFluxes(bands, F * d.fraction, d.gr, fl), d.holeArcsec > 0 ? sumBox(s, g, box) : 1);
  }
  if (t.arms && d && frame) {
    const a = t.arms;
    const { box, sum } = drawArms(s, g, frame, {
      count: a.count, pitchDeg: a.pitchDeg, sense: a.sense, innerPx: a.innerArcsec / g.pix, scalePx: d.scaleArcsec / g.pix,
      sharpness: a.sharpness, phaseDeg: a.phaseDeg, flocculent: a.flocculent,
    });
    distribute(w, g, box, bandFluxes(bands, F * a.fraction, a.gr, fl), sum, [...skyToPix(g, d.dx, d.dy), (2 * d.scaleArcsec) / g.pix]);
  }
  if (t.bar && frame) {
    const b = t.bar;
    const { box, sum } = drawBar(s, g, frame, { lengthPx: b.lengthArcsec / g.pix, q: b.q, angleDeg: b.angleDeg, shapeExp: b.shapeExp });
    distribute(w, g, box, bandFluxes(bands, F * b.fraction, b.gr, fl), sum, [...skyToPix(g, frame.dx, frame.dy), (0.5 * b.lengthArcsec) / g.pix]);
  }
  if (t.ring) {
    const r = t.ring;
    const rf = { dx: r.dx, dy: r.dy, q: r.q, paDeg: r.paDeg };
    const knotPhase = ((t.index * 2654435761) % 6283) / 1000;
    const { box, sum } = drawRing(s, g, rf, r.radiusArcsec / g.pix, r.widthArcsec / g.pix, r.knots, knotPhase);
    distribute(w, g, box, bandFluxes(bands, F * r.fraction, r.gr, fl), sum, [...skyToPix(g, r.dx, r.dy), (0.7 * r.radiusArcsec) / g.pix]);
  }
  for (const c of t.clumps) {
    const [cx, cy] = skyToPix(g, c.dx, c.dy);
    const box = drawGaussian(s, g, cx, cy, c.sigmaArcsec / g.pix, 1);
    distribute(w, g, box, bandFluxes(bands, F * c.fraction, c.gr, fl), 1);
  }
  for (const tl of t.tails) {
    const box = drawTail(s, g, tl.originDx, tl.originDy, tl.angleDeg, tl.lengthArcsec, tl.curlDeg, tl.widthArcsec);
    distribute(w, g, box, bandFluxes(bands, F * tl.fraction, tl.gr, fl), 1);
  }
  for (const sh of t.shells) {
    const [cx, cy] = skyToPix(g, 0, 0);
    const R = sh.radiusArcsec / g.pix;
    const wd = sh.widthArcsec / g.pix;
    const { box, sum } = drawArc(s, g, cx, cy, R, wd, 0.25 * wd, sh.angleDeg, sh.spanDeg);
    distribute(w, g, box, bandFluxes(bands, F * sh.fraction, sh.gr, fl), sum, [cx, cy, R]);
  }
}

/**
 * A tidal tail as a chain of Gaussian blobs along a curving path, fading and widening
 * outwards; blob weights sum to one (light beyond the frame is lost).
 */
function drawTail(s: Float64Array, g: Grid, ox: number, oy: number, angleDeg: number, lengthArcsec: number, curlDeg: number, widthArcsec: number): Box {
  const L = lengthArcsec / g.pix;
  const w0 = Math.max(widthArcsec / g.pix, 0.5);
  const nb = Math.min(120, Math.max(8, Math.ceil(L / (0.5 * w0))));
  let total = 0;
  const weights: number[] = [];
  for (let k = 0; k < nb; k++) {
    const t = (k + 0.5) / nb;
    const wt = (1 - 0.75 * t) * Math.min(1, t / 0.15);
    weights.push(wt);
    total += wt;
  }
  let box: Box = EMPTY_BOX;
  const [sx, sy] = skyToPix(g, ox, oy);
  let x = sx;
  let y = sy;
  const step = L / nb;
  for (let k = 0; k < nb; k++) {
    const t = (k + 0.5) / nb;
    const ang = angleDeg + curlDeg * t;
    const [ux, uy] = paVector(ang);
    x += ux * step;
    y -= uy * step;
    const b = drawGaussian(s, g, x, y, w0 * (0.6 + 0.8 * t), weights[k] / total);
    box = unionBox(box, b);
  }
  return box;
}

/** Companions and lensed arcs: separate objects with their own magnitudes. */
function drawExtras(w: Work, g: Grid, t: GalaxyTruth, bands: readonly string[], fl: number[]): void {
  const s = w.scratch;
  for (const c of t.companions) {
    const box = drawSersic(s, g, sersicProfile(c.n), c.reArcsec, c.q, c.paDeg, c.dx, c.dy);
    distribute(w, g, box, bandFluxes(bands, magToNmgy(c.magR), c.gr, fl), 1);
  }
  if (t.lens) {
    const L = t.lens;
    const fluxArc = magToNmgy(L.magR) / (1 + L.counterRatio);
    const [cx, cy] = skyToPix(g, 0, 0);
    const wd = L.widthArcsec / g.pix / 2.355;
    const { box, sum } = drawArc(s, g, cx, cy, L.thetaEArcsec / g.pix, wd, wd, L.angleDeg, L.spanDeg);
    distribute(w, g, box, bandFluxes(bands, fluxArc, L.gr, fl), sum);
    if (L.counterRatio > 0) {
      const [ux, uy] = paVector(L.angleDeg + 180);
      const r = 0.6 * L.thetaEArcsec;
      const [px, py] = skyToPix(g, ux * r, uy * r);
      const b2 = drawGaussian(s, g, px, py, Math.max(wd, 0.6), 1);
      distribute(w, g, b2, bandFluxes(bands, fluxArc * L.counterRatio, L.gr, fl), 1);
    }
  }
}

/**
 * Dust: optical depth τ(x, y) of an edge-on lane (or a polar ring's near side), attenuating
 * exp(−τ·A_b/A_r) per band. The catalogue magnitude is the observed one, so each band is then
 * rescaled to its pre-dust total: dust moves light around, it does not change the magnitude.
 */
function applyDust(w: Work, g: Grid, t: GalaxyTruth, bands: readonly string[]): void {
  const d = t.dust!;
  const tau = w.tau;
  const [cx, cy] = skyToPix(g, 0, 0);
  const [ca, sa] = paVector(d.paDeg);
  const L = d.lengthArcsec / g.pix;
  const wid = Math.max(d.widthArcsec / g.pix, 0.3);
  const off = d.offsetArcsec / g.pix;
  const polar = t.ring?.type === 'polar';
  const ring = t.ring;
  const box: Box = { x0: 0, x1: g.size, y0: 0, y1: g.size };
  for (let y = 0; y < g.size; y++) {
    const Y = y - cy;
    for (let x = 0; x < g.size; x++) {
      const X = x - cx;
      const a = X * ca - Y * sa;
      const b = -X * sa - Y * ca;
      let v = 0;
      if (polar && ring) {
        // Near half of the ring, seen in front of the host.
        const q = ring.q;
        const r = Math.sqrt(a * a + (b / q) * (b / q));
        const dr = r - ring.radiusArcsec / g.pix;
        if (b > 0) v = d.tau * Math.exp(-(dr * dr) / (2 * wid * wid)) * Math.min(1, b / (0.3 * q * ring.radiusArcsec / g.pix));
      } else {
        const db = (b - off) / wid;
        v = d.tau * Math.exp(-Math.abs(a) / L - 0.5 * db * db);
      }
      tau[y * g.stride + x] = v;
    }
  }
  for (let bi = 0; bi < 3; bi++) {
    const k = DUST_BAND_RATIO[bands[bi]] ?? 1;
    const p = w.pre[bi];
    const before = sumBox(p, g, box);
    for (let y = 0; y < g.size; y++) {
      const row = y * g.stride;
      for (let x = 0; x < g.size; x++) {
        const tv = tau[row + x];
        if (tv > 1e-4) p[row + x] *= Math.exp(-k * tv);
      }
    }
    const after = sumBox(p, g, box);
    if (after > 0) {
      const s = before / after;
      for (let i = 0; i < p.length; i++) p[i] *= s;
    }
  }
}

/** A straight trail of light, Gaussian across (PSF width), in one band or all (−1). */
function drawTrail(conv: Float64Array[], g: Grid, band: number, angleDeg: number, offsetArcsec: number, linearFlux: number, fwhm: number[]): void {
  const [ux, uy] = paVector(angleDeg);
  // Normal to the line, in pixel coordinates (x right, y down).
  const nx = -uy;
  const ny = -ux;
  const c = g.centre;
  const off = offsetArcsec / g.pix;
  for (let b = 0; b < 3; b++) {
    if (band >= 0 && band !== b) continue;
    const sig = Math.max(fwhm[b] / 2.355 / g.pix, 0.5);
    const peak = (linearFlux * g.pix) / (Math.sqrt(2 * Math.PI) * sig);
    const img = conv[b];
    for (let y = 0; y < g.size; y++) {
      for (let x = 0; x < g.size; x++) {
        const d = (x - c) * nx + (c - y) * -ny - off;
        if (Math.abs(d) > 5 * sig) continue;
        img[y * g.stride + x] += peak * Math.exp((-0.5 * d * d) / (sig * sig));
      }
    }
  }
}

/**
 * Add noise to one band in place; returns the sky + read σ per pixel actually produced.
 * boxW > 1: the cutout oversamples native pixels by boxW; the sky field is smoothed by a
 * boxW-wide box (see the module comment).
 */
function addNoise(w: Work, g: Grid, img: Float64Array, rng: Rng, sigmaWhite: number, gain: number, boxW: number): number {
  const n = g.stride;
  const size = g.size;
  const nz = w.noise;
  if (boxW <= 1.3) {
    // White noise: sky, read and source noise in one draw per pixel.
    const s2 = sigmaWhite * sigmaWhite;
    const invG = 1 / gain;
    for (let y = 0; y < size; y++) {
      const row = y * n;
      for (let x = 0; x < size; x++) {
        const f = img[row + x];
        img[row + x] = f + Math.sqrt(s2 + (f > 0 ? f * invG : 0)) * rng.fastNormal();
      }
    }
    return sigmaWhite;
  }
  // Correlated sky noise: a white field (with a margin, so no edge handling) smoothed by a
  // separable box of width boxW — full weight for whole pixels, partial weight at the ends.
  const half = boxW / 2;
  const r = Math.ceil(half - 0.5);
  const kern = new Float64Array(2 * r + 1);
  let ks = 0;
  for (let k = -r; k <= r; k++) {
    const v = Math.max(0, Math.min(k + 0.5, half) - Math.max(k - 0.5, -half));
    kern[k + r] = v;
    ks += v;
  }
  let k2 = 0;
  for (let k = 0; k < kern.length; k++) {
    kern[k] /= ks;
    k2 += kern[k] * kern[k];
  }
  const m = size + 2 * r;
  const big = w.noiseBig.length >= m * m ? w.noiseBig : (w.noiseBig = new Float64Array(m * m));
  for (let i = 0; i < m * m; i++) big[i] = sigmaWhite * rng.fastNormal();
  const tmp = w.noiseTmp.length >= m * size ? w.noiseTmp : (w.noiseTmp = new Float64Array(m * size));
  const k0 = kern[0];
  const k1 = kern[1];
  const kk2 = kern[2];
  for (let y = 0; y < m; y++) {
    const src = y * m;
    const dst = y * size;
    if (r === 1) {
      for (let x = 0; x < size; x++) tmp[dst + x] = k0 * big[src + x] + k1 * big[src + x + 1] + kk2 * big[src + x + 2];
    } else {
      for (let x = 0; x < size; x++) {
        let acc = 0;
        for (let k = 0; k <= 2 * r; k++) acc += kern[k] * big[src + x + k];
        tmp[dst + x] = acc;
      }
    }
  }
  for (let y = 0; y < size; y++) {
    const dst = y * n;
    if (r === 1) {
      const a0 = y * size;
      const a1 = a0 + size;
      const a2 = a1 + size;
      for (let x = 0; x < size; x++) nz[dst + x] = k0 * tmp[a0 + x] + k1 * tmp[a1 + x] + kk2 * tmp[a2 + x];
    } else {
      for (let x = 0; x < size; x++) {
        let acc = 0;
        for (let k = 0; k <= 2 * r; k++) acc += kern[k] * tmp[(y + k) * size + x];
        nz[dst + x] = acc;
      }
    }
  }
  const sigmaOut = sigmaWhite * k2; // separable: variance × (Σk²)² overall
  // Source Poisson noise (white), skipped where it is < 1% of the sky variance.
  const invGain = 1 / gain;
  const minF = 0.01 * sigmaOut * sigmaOut * gain;
  for (let y = 0; y < size; y++) {
    const row = y * n;
    for (let x = 0; x < size; x++) {
      const i = row + x;
      const f = img[i];
      img[i] = f > minF ? f + nz[i] + Math.sqrt(f * invGain) * rng.fastNormal() : f + nz[i];
    }
  }
  return sigmaOut;
}

/** Saturated stars: flat-topped cores and bleed trails along the detector columns. */
function applySaturation(conv: Float64Array[], g: Grid, t: GalaxyTruth, survey: SurveyProfile, fwhmPx: number[]): void {
  const fSat = magToNmgy(survey.saturationMag);
  const alphaArc = moffatAlpha(survey.psfFwhmArcsec, survey.psfBeta);
  // Peak surface brightness (nmgy/arcsec²) of a star at the saturation magnitude.
  const satSb = (fSat * (survey.psfBeta - 1)) / (Math.PI * alphaArc * alphaArc);
  const level = satSb * g.pix * g.pix;
  const halfW = Math.max(0.5, (0.5 * survey.pixscale_arcsec) / g.pix);
  for (const s of t.stars) {
    const f = magToNmgy(s.magR);
    if (f <= fSat) continue;
    const [cx, cy] = skyToPix(g, s.dx, s.dy);
    const lenPx = (2.5 * Math.sqrt(f / fSat) * survey.psfFwhmArcsec) / g.pix;
    const coreR = (0.5 * Math.sqrt(Math.log10(f / fSat) + 0.2) * fwhmPx[1]) / 1;
    const x0 = Math.max(0, Math.floor(cx - Math.max(halfW, coreR)));
    const x1 = Math.min(g.size - 1, Math.ceil(cx + Math.max(halfW, coreR)));
    const y0 = Math.max(0, Math.floor(cy - lenPx));
    const y1 = Math.min(g.size - 1, Math.ceil(cy + lenPx));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x - cx;
        const dy = y - cy;
        const inCore = dx * dx + dy * dy < coreR * coreR;
        const inBleed = Math.abs(dx) <= halfW;
        if (!inCore && !inBleed) continue;
        for (let b = 0; b < 3; b++) {
          const i = y * g.stride + x;
          if (conv[b][i] < level) conv[b][i] = inCore ? Math.max(conv[b][i], level) : level * (1 - 0.5 * Math.abs(dy) / lenPx);
        }
      }
    }
  }
}

/** Bad columns and missing-data patches, applied after noise. */
function applyDetectorArtifacts(conv: Float64Array[], g: Grid, cond: Conditions, survey: SurveyProfile): void {
  for (const a of cond.artifacts) {
    if (a.kind === 'bad-column') {
      const img = conv[a.band];
      const wPx = Math.max(1, Math.round(survey.pixscale_arcsec / g.pix));
      const x0 = Math.min(g.size - wPx, Math.floor(a.xFrac * g.size));
      for (let y = 0; y < g.size; y++) {
        for (let x = x0; x < x0 + wPx; x++) {
          const i = y * g.stride + x;
          img[i] = Number.isNaN(a.level) ? 0 : img[i] + a.level * g.pix * g.pix;
        }
      }
    } else if (a.kind === 'missing-patch') {
      const img = conv[a.band];
      const x0 = Math.round(a.x0 * g.size);
      const x1 = Math.round(a.x1 * g.size);
      const y0 = Math.round(a.y0 * g.size);
      const y1 = Math.round(a.y1 * g.size);
      for (let y = y0; y < y1; y++) img.fill(0, y * g.stride + x0, y * g.stride + x1);
    }
  }
}
