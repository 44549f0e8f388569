/**
 * How well a survey shows each feature of a galaxy. Volunteers can only vote for what they can
 * see: a feature needs to be resolved (its scale against the PSF) and detected (its flux
 * against sky, read and source noise, per resolution element). The scores here drive the vote
 * model (votes.ts) and decide which Talk-style tags are "visible" in a given survey.
 *
 * Scores are analytic (computed from the truth and the observing conditions, not from the
 * noisy pixels), so they are deterministic and cheap, and the same galaxy moved further away
 * (fainter, smaller) gets lower scores — the "redshift bias" of Galaxy Zoo.
 */
import type { Conditions } from './conditions.js';
import { bandNoise, magToNmgy, type SurveyName, type SurveyProfile } from './surveys.js';
import { mu50, type GalaxyTruth } from './truth.js';
import { profileIntensity, sersicProfile } from './profiles.js';

/** Visibility of a galaxy's features in one survey rendering. Scores are in [0, 1]. */
export interface Visibility {
  survey: SurveyName;
  /** r-band PSF FWHM of this rendering, arcsec. */
  psfFwhmArcsec: number;
  /** Half-light radius over PSF FWHM. */
  resolution: number;
  /** S/N of the target's flux inside r50 (r band). */
  snr: number;
  /** Mean surface brightness inside r50, mag/arcsec². */
  mu50: number;
  /** 1σ surface-brightness noise over 1 arcsec², mag/arcsec². */
  sbLimit: number;
  /** Axis ratio as seen through the PSF. */
  qObs: number;
  /** Structure inside the galaxy is resolved and detected at all (0 = a blob). */
  detail: number;
  /** A disk (vs a pure spheroid) can be told apart. */
  disk: number;
  arms: number;
  bar: number;
  ring: number;
  tidal: number;
  companion: number;
  dust: number;
  clumps: number;
  lens: number;
  /** How much stars or imaging artifacts dominate the cutout. */
  artifact: number;
  /**
   * Judged on the displayed cutout only (seen.ts): a bulge stands out of the disk (the eye
   * tells it from a bulgeless twin), and its isophotes look boxy rather than round.
   */
  bulge?: number;
  boxy?: number;
  /**
   * Judged on the displayed cutout only: how far the bar clears the eye's threshold (its
   * detectability d, 1 = threshold, unbounded, times the viewing factor). Volunteers call a
   * bar strong or weak by this, not by its hidden strength.
   */
  barContrast?: number;
  /** Judged on the displayed cutout only: the same for tidal light (tails, shells). */
  tidalContrast?: number;
  /**
   * Feature scores were judged from the displayed cutout (seen.ts). Volunteers' answers
   * then depend on nothing the image does not show: no share of a hidden interaction stage,
   * and qObs is the outline of the rendered light (the 90%-light isophote, or the one at the
   * sky noise when fainter light would be lost in it), not the analytic axis ratio.
   */
  fromImage?: true;
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
/** Resolving factor: 0.5 when the scale equals the PSF FWHM. */
const resolve = (scale: number, fwhm: number): number => (scale <= 0 ? 0 : 1 / (1 + Math.pow(fwhm / scale, 2.5)));
/** Detection factor from a signal-to-noise ratio. */
const detect = (snr: number, k: number): number => (snr <= 0 ? 0 : 1 - Math.exp(-snr / k));
const smoothstep = (lo: number, hi: number, x: number): number => {
  const t = clamp01((x - lo) / (hi - lo));
  return t * t * (3 - 2 * t);
};

/**
 * How well the viewing angle lets a feature be recognised as what it is, whatever the image
 * depth (a bar or arms in a near edge-on disk, a ring seen edge-on, read as something else).
 */
export const viewingFactor = {
  arms: (t: GalaxyTruth): number => (t.disk ? smoothstep(0.22, 0.5, t.disk.q) : 1),
  bar: (t: GalaxyTruth): number => (t.disk ? smoothstep(0.3, 0.55, t.disk.q) : 1),
  ring: (t: GalaxyTruth): number => (!t.ring || t.ring.type === 'polar' ? 1 : smoothstep(0.2, 0.45, t.ring.q)),
};

/**
 * Axis ratio of a galaxy as seen through the PSF: the second moments of the galaxy and the
 * PSF add, so a galaxy small against the PSF looks round whatever its shape.
 * @param axisRatio intrinsic (projected) axis ratio, b/a
 * @param r50Arcsec half-light radius, arcsec
 * @param psfFwhmArcsec PSF FWHM, arcsec
 */
export function observedAxisRatio(axisRatio: number, r50Arcsec: number, psfFwhmArcsec: number): number {
  const q = Math.max(0.05, axisRatio);
  const sMaj = r50Arcsec / Math.sqrt(q) / 1.177;
  const sMin = sMaj * q;
  const sP = psfFwhmArcsec / 2.355;
  return Math.sqrt((sMin * sMin + sP * sP) / (sMaj * sMaj + sP * sP));
}

/** Compute the visibility scores of a galaxy observed under `cond` in `survey`. */
export function computeVisibility(t: GalaxyTruth, survey: SurveyProfile, cond: Conditions): Visibility {
  const rIdx = Math.max(0, survey.bands.indexOf('r'));
  const fwhm = cond.psfFwhmArcsec[rIdx];
  const noise = bandNoise(survey, 'r');
  const sA = noise.sigmaArea;
  const F = magToNmgy(t.magR);
  const r50 = t.r50Arcsec;
  /** S/N of a flux spread over an area (arcsec²) on top of background light bg (nmgy). */
  const snrOf = (flux: number, area: number, bg = 0): number =>
    flux / Math.sqrt(sA * sA * Math.max(area, 1.133 * fwhm * fwhm) + Math.max(flux + bg, 0) / noise.gain);
  const elementArea = (s: number): number => Math.max(s, fwhm) ** 2;

  const snr = snrOf(0.5 * F, Math.PI * (r50 * r50 + fwhm * fwhm));
  const resolution = r50 / fwhm;
  const qObs = t.pointSource ? 1 : observedAxisRatio(t.axisRatio, r50, fwhm);
  const detail = t.pointSource ? 0 : resolve(0.9 * r50, fwhm) * detect(snr, 15);

  const disk = t.disk ? resolve(0.8 * r50, fwhm) * detect(snr, 20) : 0;
  const inPlaneView = viewingFactor.arms(t);

  let arms = 0;
  if (t.arms && t.disk) {
    const a = t.arms;
    const h = t.disk.scaleArcsec;
    const r = Math.max(2 * h, a.innerArcsec * 1.5);
    const spacing = r * (Math.exp((2 * Math.PI * Math.tan((a.pitchDeg * Math.PI) / 180)) / a.count) - 1);
    const scale = 0.5 * spacing * Math.sqrt(t.disk.q);
    const area = Math.PI * (3 * h) ** 2 * t.disk.q;
    const fa = a.fraction * F;
    const perEl = snrOf(fa, area, t.disk.fraction * F * 0.8) / Math.sqrt(area / elementArea(scale));
    const contrast = a.fraction / (a.fraction + 0.6 * t.disk.fraction);
    arms = resolve(scale, fwhm) * detect(perEl, 2.5) * smoothstep(0.05, 0.3, contrast) * inPlaneView;
  }
  let bar = 0;
  if (t.bar && t.disk) {
    const L = t.bar.lengthArcsec;
    const fb = t.bar.fraction * F;
    const area = 4 * L * L * t.bar.q * t.disk.q;
    const bg = ((t.bulge?.fraction ?? 0) * 0.5 + t.disk.fraction * 0.2) * F;
    const contrast = t.bar.fraction / (t.bar.fraction + (t.bulge?.fraction ?? 0) * 0.4 + 0.1 * t.disk.fraction);
    bar = resolve(1.2 * L, fwhm) * detect(snrOf(fb, area, bg), 8) * smoothstep(0.05, 0.35, contrast) * viewingFactor.bar(t);
  }
  let ring = 0;
  if (t.ring) {
    // A ring is seen when, after the PSF, it stands out above the light underneath it and
    // its central hole is resolved.
    const rg = t.ring;
    const R = rg.radiusArcsec;
    const w = rg.widthArcsec;
    const qr = Math.max(rg.q, 0.2);
    const peak = (rg.fraction * F) / (2 * Math.PI * R * Math.sqrt(2 * Math.PI) * w * qr);
    const sBlur = Math.sqrt(w * w + (fwhm / 2.355) ** 2);
    const blurred = (peak * w) / sBlur;
    const under = surfaceBrightnessAt(t, R, F);
    const contrast = blurred / (under + 1e-9);
    const area = 2 * Math.PI * R * 2.355 * sBlur * qr;
    const perEl = snrOf(blurred * area, area, under * area) / Math.sqrt(area / elementArea(2.355 * sBlur));
    const viewing = viewingFactor.ring(t);
    ring = resolve(R, 1.6 * fwhm) * smoothstep(0.15, 0.7, contrast) * detect(perEl, 3) * viewing;
  }
  let tidal = 0;
  {
    let best = 0;
    for (const tl of t.tails) {
      const area = tl.lengthArcsec * Math.max(2 * tl.widthArcsec, fwhm);
      best = Math.max(best, detect(snrOf(tl.fraction * F, area) / Math.sqrt(Math.max(1, area / (4 * tl.widthArcsec ** 2))), 6));
    }
    for (const s of t.shells) {
      const area = s.radiusArcsec * ((s.spanDeg * Math.PI) / 180) * Math.max(2 * s.widthArcsec, fwhm);
      best = Math.max(best, detect(snrOf(s.fraction * F, area, 0.05 * F) / Math.sqrt(Math.max(1, area / (4 * s.widthArcsec ** 2))), 6));
    }
    tidal = best;
  }
  let companion = 0;
  for (const c of t.companions) {
    const fc = magToNmgy(c.magR);
    const sep = Math.hypot(c.dx, c.dy);
    companion = Math.max(companion, detect(snrOf(fc, Math.PI * (c.reArcsec ** 2 + fwhm * fwhm)), 10) * resolve(sep, 1.2 * fwhm));
  }
  let dust = 0;
  if (t.dust && t.dust.tau > 0) {
    const contrast = 1 - Math.exp(-t.dust.tau);
    dust = contrast * resolve(5 * t.dust.widthArcsec, fwhm) * detect(snr, 20);
  }
  let clumps = 0;
  if (t.clumps.length) {
    let fc = 0;
    let s = 0;
    for (const c of t.clumps) {
      fc += c.fraction;
      s += c.sigmaArcsec;
    }
    s /= t.clumps.length;
    const per = (fc * F) / t.clumps.length;
    const spacing = Math.max(r50, 0.5) / Math.sqrt(t.clumps.length);
    clumps = resolve(Math.max(spacing, 2.355 * s), fwhm) * detect(snrOf(per, 1.133 * Math.max(2.355 * s, fwhm) ** 2, 0.1 * F), 4) *
      Math.min(1, t.clumps.length / 4) * smoothstep(0.02, 0.12, fc);
  }
  let lens = 0;
  if (t.lens) {
    const fl = magToNmgy(t.lens.magR);
    const arcLen = (t.lens.thetaEArcsec * t.lens.spanDeg * Math.PI) / 180;
    const area = arcLen * Math.max(2.5 * t.lens.widthArcsec, fwhm);
    lens = resolve(0.8 * t.lens.thetaEArcsec, fwhm) * detect(snrOf(fl, area, 0.15 * F), 8);
  }
  const artifact = artifactScore(t, survey, cond, F, fwhm);
  return {
    survey: survey.name, psfFwhmArcsec: fwhm, resolution, snr, mu50: mu50(t), sbLimit: 22.5 - 2.5 * Math.log10(sA), qObs,
    detail, disk, arms, bar, ring, tidal, companion, dust, clumps, lens, artifact,
  };
}

/**
 * Mean surface brightness (nmgy/arcsec²) of the target's bulge and disk (with its arms) at
 * disk-plane radius r, averaged around the ellipse (projected).
 */
function surfaceBrightnessAt(t: GalaxyTruth, r: number, F: number): number {
  let sb = 0;
  if (t.bulge) {
    const re = t.bulge.reArcsec;
    sb += (t.bulge.fraction * F * profileIntensity(sersicProfile(t.bulge.n), (r * Math.sqrt(t.bulge.q)) / re)) / (re * re * t.bulge.q);
  }
  if (t.disk) {
    const h = t.disk.scaleArcsec;
    const frac = t.disk.fraction + (t.arms?.fraction ?? 0) + (t.bar && r < t.bar.lengthArcsec ? t.bar.fraction : 0);
    const depleted = t.disk.holeArcsec > 0 ? 1 - 0.75 * Math.exp(-((r / t.disk.holeArcsec) ** 4)) : 1;
    sb += (frac * F * Math.exp(-r / h) * depleted) / (2 * Math.PI * h * h * t.disk.q);
  }
  return sb;
}

/** How strongly stars and imaging artifacts dominate the cutout, 0–1. */
function artifactScore(t: GalaxyTruth, survey: SurveyProfile, cond: Conditions, F: number, fwhm: number): number {
  const parts: number[] = [];
  if (t.pointSource) parts.push(0.85);
  else if (t.r50Arcsec < 0.6 * fwhm) parts.push(0.35 * (1 - t.r50Arcsec / (0.6 * fwhm)));
  const half = t.fovArcsec / 2;
  for (const s of t.stars) {
    const ratio = magToNmgy(s.magR) / F;
    if (ratio < 0.3) continue;
    const d = Math.hypot(s.dx, s.dy) / half;
    parts.push(clamp01(0.35 * Math.log10(ratio) + 0.3 - 0.5 * d + (s.magR < survey.saturationMag ? 0.15 : 0)));
  }
  const galSb = F / (2 * Math.PI * Math.max(t.r50Arcsec, 0.5) ** 2);
  for (const a of cond.artifacts) {
    if (a.kind === 'trail') {
      const sigma = fwhm / 2.355;
      const peak = a.linearFlux / (Math.sqrt(2 * Math.PI) * sigma);
      const near = Math.abs(a.offsetArcsec) < 2 * Math.max(t.r50Arcsec, 1) ? 1 : 0.6;
      parts.push(clamp01(0.5 * (peak / galSb)) * near * 0.7);
    } else if (a.kind === 'bad-column') {
      parts.push(Number.isNaN(a.level) ? 0.08 : 0.15);
    } else {
      const covers = a.x0 <= 0.5 && a.x1 >= 0.5 && a.y0 <= 0.5 && a.y1 >= 0.5;
      parts.push(covers ? 0.6 : 0.3 * (a.x1 - a.x0) * (a.y1 - a.y0));
    }
  }
  let keep = 1;
  for (const p of parts) keep *= 1 - p;
  return 1 - keep;
}

/** Visibility threshold above which a feature counts as visible for tags and labels. */
export const VISIBLE = 0.5;
/** Rings must be clearer than other features to be labelled (a ring label is a claim). */
export const RING_VISIBLE = 0.65;

/**
 * Talk-style tags for what this survey's image shows (a subset of the intrinsic tags, plus
 * image-level ones such as `artifact` and `overlapping`).
 */
export function visibleTags(t: GalaxyTruth, v: Visibility): string[] {
  const tags = new Set<string>();
  const has = (tag: string): boolean => t.tags.includes(tag);
  if (t.pointSource) tags.add('star');
  if (has('elliptical')) tags.add('elliptical');
  if (t.morphType === 'lenticular' && v.disk > VISIBLE) tags.add('lenticular');
  if (t.morphType === 'irregular' && v.detail > 0.3) tags.add('irregular');
  if (has('starforming') && v.detail > 0.3) tags.add('starforming');
  if (t.arms && v.arms > VISIBLE) tags.add('spiral');
  if (has('barred') && v.bar > VISIBLE) tags.add('barred');
  if (t.ring && t.ring.type !== 'polar' && v.ring > RING_VISIBLE) tags.add('ring');
  if (t.ring?.type === 'polar' && v.ring > RING_VISIBLE) tags.add('polar-ring');
  if (t.ring?.type === 'collisional' && v.ring > RING_VISIBLE) tags.add('collisional-ring');
  if (has('edge-on') && v.qObs < 0.45) tags.add('edge-on');
  if (has('dust-lane') && v.dust > VISIBLE) tags.add('dust-lane');
  if (has('clumpy') && v.clumps > VISIBLE) tags.add('clumpy');
  if ((t.tails.length || t.shells.length) && v.tidal > VISIBLE) tags.add('tidal');
  if (t.mergerState === 'merger' && (v.companion > VISIBLE || v.tidal > VISIBLE)) tags.add('merger');
  if ((t.mergerState === 'major-disturbance' || t.mergerState === 'minor-disturbance') && (v.tidal > VISIBLE || v.companion > VISIBLE)) tags.add('disturbed');
  if (t.companions.length && v.companion > VISIBLE && t.companions.some((c) => Math.hypot(c.dx, c.dy) < 2.5 * Math.max(t.r50Arcsec, 1))) tags.add('overlapping');
  if (t.lens && v.lens > VISIBLE) tags.add('lens');
  if (has('diffuse')) tags.add('diffuse');
  if (v.artifact > 0.45 && !t.pointSource) tags.add('artifact');
  if (t.stars.some((s) => s.magR < 14.5 && Math.hypot(s.dx, s.dy) < 0.3 * t.fovArcsec)) tags.add('overlapping');
  return [...tags].sort();
}

/** Visible ring label (inner/outer/collisional/polar ring shown by this survey): 0 or 1. */
export function ringLabel(t: GalaxyTruth, v: Visibility): 0 | 1 {
  return t.ring && t.ring.type !== 'none' && v.ring > RING_VISIBLE ? 1 : 0;
}
