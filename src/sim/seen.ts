/**
 * Visibility measured on the displayed cutout: what a volunteer looking at this image can see.
 *
 * The analytic scores of visibility.ts estimate from the truth how detectable each feature
 * is; `bench/simulate/visibility.ts` shows they agree only loosely with the pixels (of the bars
 * they call visible, 70% are not in the image; 57% of the clumps the image shows they call
 * invisible). Here each feature is judged on the image:
 *   1. render the galaxy noise-free, and a twin that lacks the feature *as the eye perceives
 *      it*, its light kept where the eye would not tell the difference (changes in the truth,
 *      so the PSF blurs the twin exactly as it blurs the galaxy):
 *        - bar: a round lens of the same light and second moment (the profile stays, the
 *          elongation goes); arms: 64 arms instead of a few, which the PSF blends into a
 *          smooth ring of the same radial profile;
 *        - ring, clumps: the same light spread 4× wider in place, so the eye loses the sharp
 *          bump or knot but not the light;
 *        - bulge: its light returned to the disk; boxy bulge: the same bulge with elliptical
 *          isophotes (what the edge-on bulge question asks);
 *        - dust lane: no twin; a lane is seen as a dark band, so the dusty image itself must
 *          dip below both flanks across the lane (see laneDip: a lane the PSF does not resolve
 *          only dims the disk's midplane, and any twin of it differs from the galaxy by just
 *          that dimming, which the eye test below would pass);
 *        - tidal features, companions, lensed arcs: simply removed (light outside the body);
 *          tidal light counts only where it outshines the body beneath it;
 *   2. put both through the colour stretch volunteers look at and take the grey-level
 *      difference Δ; the display noise comes from the noisy cutout itself (local variance);
 *   3. a feature is seen where some element stands out: over boxes of 1, 2 and 4 PSF widths,
 *      the mean Δ must beat both the noise (Rose criterion, S/N ≈ 5) and the eye's contrast
 *      threshold (2 grey levels of 255 on the sky, 4% of the local brightness on the galaxy,
 *      so a high-S/N change of 1% in a bright core stays invisible);
 *   4. score = 1 − 2^(−d²) for the best element's d = min(S/N / 5, contrast / threshold):
 *      0.5 at threshold, the meaning VISIBLE = 0.5 already has for the analytic scores — times
 *      the viewing factor of visibility.ts for bars, arms and rings (seen, but not as a bar
 *      when edge-on).
 * The axis ratio volunteers read is the outline of the noise-free light down to the sky noise
 * (outlineAxisRatio); a bar's strength is judged by how far it clears the threshold
 * (barContrast), an interaction by how far its tidal light does (tidalContrast) and by its
 * companions (votes.ts, perceivedMergerStage).
 * Costs one or two noise-free renders per galaxy (one when it has no extras) plus one per
 * feature present.
 */
import { hasExtras, renderGalaxy, type Rendered } from './render.js';
import { toRgb } from './rgb.js';
import { bandNoise, type SurveyProfile } from './surveys.js';
import type { GalaxyTruth } from './truth.js';
import { paVector } from './geometry.js';
import { isophoteAxisRatios } from './shape.js';
import { viewingFactor, type Visibility } from './visibility.js';

/** How simulated volunteers judge what is visible: analytic estimates or the displayed image. */
export const VISIBILITY_MODES = ['analytic', 'image'] as const;
export type VisibilityMode = (typeof VISIBILITY_MODES)[number];
/**
 * Volunteers judge the image by default: the analytic estimates let votes carry features the
 * pixels hide (reports/visibility.json). 'analytic' reproduces surveys made before the switch.
 */
export const DEFAULT_VISIBILITY: VisibilityMode = 'image';

/** Rose criterion: an element must stand out at this S/N. */
const ROSE_SNR = 5;
/**
 * Smallest difference the eye picks out on a display: 2 grey levels (of 255) on the dark sky,
 * and a Weber fraction of the local brightness on the galaxy (4%: a 1% change in a bright
 * core is invisible however high its S/N).
 */
const CONTRAST_GREY = 2;
const WEBER = 0.04;

interface Feature {
  name: keyof Visibility;
  has: (t: GalaxyTruth) => boolean;
  /** The featureless twin: a copy of the truth, changed in place (none for a `dip` feature). */
  twin?: (t: GalaxyTruth) => void;
  /**
   * Seen only where its light outshines the body's: tidal light lying over the body reads as
   * a slightly brighter body, not as a tail (the eye test would otherwise pass on any
   * 4% brightening of the body by a tail's base).
   */
  beyondBody?: true;
  /** Judged by the dip it makes across itself (laneDip), not against a twin. */
  dip?: true;
}

/** The features judged on the image, and each one's featureless twin. */
export const SEEN_FEATURES: readonly Feature[] = [
  {
    // A round "lens" of the same light and second moment in the disk plane: the radial
    // profile stays, the elongation goes.
    name: 'bar', has: (t) => t.bar !== null,
    twin: (t) => { const b = t.bar!; b.lengthArcsec *= Math.sqrt((1 + b.q * b.q) / 2); b.q = 1; b.shapeExp = 2; },
  },
  {
    // So many arms that the PSF blends them: the same light at the same radii, no pattern.
    name: 'arms', has: (t) => t.arms !== null,
    twin: (t) => { t.arms!.count = 64; t.arms!.flocculent = false; },
  },
  {
    // The same light in a broad, smooth annulus: a ring is seen as a sharp bump of the
    // profile, not as the small change of the profile that returning its light to the body makes.
    name: 'ring', has: (t) => t.ring !== null,
    twin: (t) => { const r = t.ring!; r.widthArcsec = Math.max(r.widthArcsec, Math.min(4 * r.widthArcsec, 0.6 * r.radiusArcsec)); r.knots = 0; },
  },
  {
    // Each clump's light spread 4× wider in place: the same light, no knot.
    name: 'clumps', has: (t) => t.clumps.length > 0,
    twin: (t) => { for (const c of t.clumps) c.sigmaArcsec *= 4; },
  },
  {
    // The bulge's light returned to the disk: a bulge is seen where the centre swells out of
    // the disk (edge-on) or stands out as a core the disk's profile lacks.
    name: 'bulge', has: (t) => t.bulge !== null && t.disk !== null,
    twin: (t) => { t.disk!.fraction += t.bulge!.fraction; t.bulge = null; t.bulgeShape = 'none'; },
  },
  // The same bulge with elliptical isophotes (the renderer keeps its light).
  { name: 'boxy', has: (t) => t.bulge !== null && t.bulgeShape === 'boxy', twin: (t) => { t.bulgeShape = 'rounded'; } },
  { name: 'dust', has: (t) => t.dust !== null && t.dust.tau > 0 && t.ring?.type !== 'polar', dip: true },
  // Tails, shells, companions and lensed arcs lie outside the body: the twin simply lacks
  // them. (Returning tidal light to the body instead brightens it by the tails' share, a
  // change the eye test sees on the body even where no tail shows.)
  { name: 'tidal', has: (t) => t.tails.length + t.shells.length > 0, twin: (t) => { t.tails = []; t.shells = []; }, beyondBody: true },
  { name: 'companion', has: (t) => t.companions.length > 0, twin: (t) => { t.companions = []; } },
  { name: 'lens', has: (t) => t.lens !== null, twin: (t) => { t.lens = null; } },
];

/** The truth's featureless twin for one feature (see SEEN_FEATURES). */
function twinOf(t: GalaxyTruth, feature: Feature): GalaxyTruth {
  const twin = structuredClone(t);
  feature.twin!(twin);
  return twin;
}

/** Grey level (mean of R, G, B) of a displayed cutout. */
function grey(rgb: Uint8Array): Float64Array {
  const out = new Float64Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) out[i] = (rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3;
  return out;
}

/** Summed-area table ((size+1)² entries) for O(1) box sums. */
function integral(v: Float64Array, size: number): Float64Array {
  const s = new Float64Array((size + 1) * (size + 1));
  for (let y = 0; y < size; y++) {
    let row = 0;
    for (let x = 0; x < size; x++) {
      row += v[y * size + x];
      s[(y + 1) * (size + 1) + x + 1] = s[y * (size + 1) + x + 1] + row;
    }
  }
  return s;
}
const boxSum = (s: Float64Array, size: number, x0: number, y0: number, x1: number, y1: number): number =>
  s[y1 * (size + 1) + x1] - s[y0 * (size + 1) + x1] - s[y1 * (size + 1) + x0] + s[y0 * (size + 1) + x0];

/**
 * How far the best element of a grey-level difference image stands out against the image
 * `grey` it sits on: over square boxes of half-widths `scales` (pixels),
 * d = min(S/N / 5, |mean Δ| / max(2, 4% of mean grey)); 1 = threshold.
 */
export function elementDetectability(
  delta: Float64Array, variance: Float64Array, greyLevels: Float64Array, size: number, scales: readonly number[],
): number {
  const sd = integral(delta, size);
  const sv = integral(variance, size);
  const sg = integral(greyLevels, size);
  let best = 0;
  for (const h of scales) {
    const side = 2 * h + 1;
    const n = side * side;
    const step = Math.max(1, h >> 1);
    for (let y = 0; y + side <= size; y += step) {
      for (let x = 0; x + side <= size; x += step) {
        const d = Math.abs(boxSum(sd, size, x, y, x + side, y + side));
        const snr = d / Math.sqrt(boxSum(sv, size, x, y, x + side, y + side));
        const threshold = Math.max(CONTRAST_GREY, (WEBER * boxSum(sg, size, x, y, x + side, y + side)) / n);
        best = Math.max(best, Math.min(snr / ROSE_SNR, d / n / threshold));
      }
    }
  }
  return best;
}

/**
 * Per-feature detectability d (1 = threshold) of a galaxy's features in its displayed cutout.
 * `clean` is the noise-free render (with extras) when the caller already has it.
 */
export function featureDetectability(
  t: GalaxyTruth, survey: SurveyProfile, opts: { size: number; seed: number }, noisyRgb: Uint8Array, psfFwhmArcsec: number,
  clean?: Rendered,
): Map<keyof Visibility, number> {
  const { size, seed } = opts;
  const out = new Map<keyof Visibility, number>();
  const present = SEEN_FEATURES.filter((f) => f.has(t));
  if (!present.length) return out;
  const render = (truth: GalaxyTruth) => renderGalaxy(truth, survey, { size, seed, noise: false });
  const base = grey(toRgb(clean ?? render(t), survey));
  const noisy = grey(noisyRgb);
  // Local display variance over 7×7 pixels; 8-bit quantisation (1/12 grey²) is the floor.
  const sSq = integral(noisy.map((x, i) => (x - base[i]) ** 2), size);
  const variance = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const x0 = Math.max(0, x - 3), x1 = Math.min(size, x + 4), y0 = Math.max(0, y - 3), y1 = Math.min(size, y + 4);
      variance[y * size + x] = Math.max(boxSum(sSq, size, x0, y0, x1, y1) / ((x1 - x0) * (y1 - y0)), 1 / 12);
    }
  }
  const h0 = Math.max(1, Math.round(psfFwhmArcsec / (t.fovArcsec / size) / 2));
  const scales = [h0, 2 * h0, 4 * h0].filter((h) => 2 * h + 1 <= size);
  for (const f of present) {
    if (f.dip) {
      // A dip compares the lane with its flanks: the noise of both counts.
      out.set(f.name, elementDetectability(laneDip(t, base, size, psfFwhmArcsec), variance.map((x) => 2 * x), base, size, scales));
      continue;
    }
    const g = grey(toRgb(render(twinOf(t, f)), survey));
    const delta = base.map((x, i) => (f.beyondBody && Math.abs(x - g[i]) < g[i] ? 0 : x - g[i]));
    out.set(f.name, elementDetectability(delta, variance, base, size, scales));
  }
  return out;
}

/**
 * How far the lane's core lies below its flanks in the displayed grey levels: for each pixel
 * within the lane's half-thickness (≥ 1 px) of its centre line, the darker of the two flanks
 * (one lane thickness plus one PSF σ further out, across the lane) minus the pixel, where
 * positive; 0 elsewhere. Along the lane, where the disk is bright, a resolved lane makes a
 * trough; an unresolved one leaves the midplane a (dimmer) ridge and no dip.
 */
function laneDip(t: GalaxyTruth, g: Float64Array, size: number, psfFwhmArcsec: number): Float64Array {
  const d = t.dust!;
  const pix = t.fovArcsec / size;
  const c = (size - 1) / 2;
  // The renderer's lane frame (applyDust): a along the lane, b across it, in pixels.
  const [ca, sa] = paVector(d.paDeg);
  const wid = Math.max(d.widthArcsec / pix, 0.3);
  const off = d.offsetArcsec / pix;
  const reach = 2 * wid + psfFwhmArcsec / pix / 2.355;
  const core = Math.max(1, wid);
  const at = (x: number, y: number): number => {
    // Bilinear sample, edge-clamped.
    const xf = Math.min(size - 1, Math.max(0, x)), yf = Math.min(size - 1, Math.max(0, y));
    const x0 = Math.min(size - 2, Math.floor(xf)), y0 = Math.min(size - 2, Math.floor(yf));
    const fx = xf - x0, fy = yf - y0;
    const i = y0 * size + x0;
    return (1 - fy) * ((1 - fx) * g[i] + fx * g[i + 1]) + fy * ((1 - fx) * g[i + size] + fx * g[i + size + 1]);
  };
  const out = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const X = x - c, Y = y - c;
      const b = -X * sa - Y * ca - off;
      if (Math.abs(b) > core) continue;
      // Foot of the pixel on the centre line, then out along ±(−sa, −ca).
      const fx = x + b * sa, fy = y + b * ca;
      const flank = Math.min(at(fx - reach * sa, fy - reach * ca), at(fx + reach * sa, fy + reach * ca));
      out[y * size + x] = Math.max(0, flank - g[y * size + x]);
    }
  }
  return out;
}

/** Score of a detectability: 1 − 2^(−d²), 0.5 at the eye's threshold. */
export const seenScore = (d: number): number => 1 - Math.pow(2, -d * d);

/**
 * `analytic` with its feature scores replaced by what the displayed cutout (`noisyRgb`,
 * rendered with `opts`) shows; features the galaxy lacks score 0.
 */
export function imageVisibility(
  t: GalaxyTruth, survey: SurveyProfile, opts: { size: number; seed: number }, noisyRgb: Uint8Array, analytic: Visibility,
): Visibility {
  const bare = renderGalaxy(t, survey, { ...opts, noise: false, extras: false });
  const v: Visibility = {
    ...analytic, fromImage: true, barContrast: 0, tidalContrast: 0, qObs: t.pointSource ? 1 : outlineAxisRatio(bare, survey),
  };
  for (const f of SEEN_FEATURES) (v[f.name] as number) = 0;
  const clean = hasExtras(t, bare.conditions) ? undefined : bare;
  for (const [name, d] of featureDetectability(t, survey, opts, noisyRgb, analytic.psfFwhmArcsec, clean)) {
    const view = name === 'bar' || name === 'arms' || name === 'ring' ? viewingFactor[name](t) : 1;
    (v[name] as number) = seenScore(d) * view;
    if (name === 'bar') v.barContrast = d * view;
    if (name === 'tidal') v.tidalContrast = d;
  }
  return v;
}

/**
 * The axis ratio of the galaxy's outline in a noise-free render without field stars,
 * companions, arcs and artifacts (objects an eye does not count in the galaxy's shape): b/a of
 * the r-band isophote enclosing 90% of the light, or of the isophote where the light of a PSF
 * element sinks to OUTLINE_SNR times the sky noise, when that lies further in (light lost in
 * the noise does not shape what the eye sees; a galaxy entirely below it reads as round). On
 * bright single-Sérsic galaxies it matches the analytic axis ratio through the PSF to ~0.002
 * (bench/simulate/shape.ts); on bulge + disk galaxies it is what the image shows, where the
 * analytic one is a rule.
 */
export function outlineAxisRatio(bare: Rendered, survey: SurveyProfile): number {
  const r = Math.max(0, survey.bands.indexOf('r'));
  // Surface brightness of OUTLINE_SNR σ over a FWHM² element, as flux per cutout pixel.
  const floor = (OUTLINE_SNR * bandNoise(survey, 'r').sigmaArea * bare.pixscale_arcsec ** 2) / bare.psfFwhmArcsec[r];
  const q = isophoteAxisRatios(bare.bands[r], bare.size, [0.9], floor)[0];
  return Number.isFinite(q) ? q : 1;
}
/** S/N per PSF element (FWHM²) of the faintest light that shapes the outline. */
const OUTLINE_SNR = 2;
