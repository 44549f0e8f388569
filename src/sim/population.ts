/**
 * The population model: how many galaxies of each kind, how bright, how far, how big, and
 * which features they carry. Builders fill a truth record from a seeded stream; the numbers
 * follow DESIGN.md §3b (Sérsic indices, thick-disk inclinations, pitch angles, bar and ring
 * frequencies, red sequence vs blue cloud colours) and a flux-limited sample: r < 17.77 (the SDSS
 * spectroscopic limit) unless a deeper limit is asked for.
 */
import { Rng } from './rng.js';
import { clamp, DEG as deg, diskAxisRatio, diskToSky, paVector } from './geometry.js';
import {
  sersicProfile, compositeRadius, quantiseSersic, distanceModulus, kpcPerArcsec, type ProfilePart,
} from './profiles.js';
import type { Companion, GalaxyTruth, MergerState, Tail } from './truth.js';

/** Schechter luminosity-function parameters (r band, h = 0.7) per population. */
const LF: Record<'early' | 'late' | 'dwarf', { mStar: number; alpha: number }> = {
  early: { mStar: -21.4, alpha: -0.7 },
  late: { mStar: -21.0, alpha: -1.1 },
  dwarf: { mStar: -19.6, alpha: -1.3 },
};

export const MAG_BRIGHT = 14.0;
/** Default faint limit: the SDSS main galaxy sample (Strauss et al. 2002), as GZ2 drew from. */
export const MAG_FAINT = 17.77;
/** Deepest faint limit accepted: beyond it the survey profiles' images carry no morphology. */
export const MAG_LIMIT_MAX = 22.5;
const Z_MIN = 0.015;
const Z_MAX = 0.16;

/** K-correction in r (rough, colour dependent): redder galaxies dim faster with z. */
const kCorrection = (z: number, red: boolean): number => z * (red ? 1.1 : 0.4);

const PHI_MAX = new Map<string, number>();
const M_LO = -24;
const M_HI = -15;

/** Schechter function in magnitudes (unnormalised). */
function schechter(M: number, mStar: number, alpha: number): number {
  const x = Math.pow(10, 0.4 * (mStar - M));
  return Math.pow(x, alpha + 1) * Math.exp(-x);
}

const Z_MAX_BY_LIMIT = new Map<number, number>();

/**
 * Outer redshift of a sample limited at r < magLimit. A deeper limit sees the same galaxies
 * further out: the range grows until the distance modulus has gained (magLimit − 17.77) over
 * z = 0.16, so a galaxy that sits at the limit at z = 0.16 in the default sample sits at the
 * deeper limit at the new edge. The volume element stays Euclidean (z²), which over-weights
 * z ≈ 0.4 by ~1.5× — fine for a survey-transfer test, not for number counts.
 */
export function redshiftLimit(magLimit: number): number {
  if (magLimit <= MAG_FAINT) return Z_MAX;
  let z = Z_MAX_BY_LIMIT.get(magLimit);
  if (z === undefined) {
    const target = distanceModulus(Z_MAX) + magLimit - MAG_FAINT;
    let [lo, hi] = [Z_MAX, 5];
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (distanceModulus(mid) < target) lo = mid;
      else hi = mid;
    }
    z = lo;
    Z_MAX_BY_LIMIT.set(magLimit, z);
  }
  return z;
}

/**
 * Sample (z, M_r, m_r) for a Schechter population under the flux limit: p(z, M) ∝ z² φ(M)
 * (Euclidean volume element) restricted to MAG_BRIGHT ≤ m ≤ magLimit and z ≤ redshiftLimit,
 * by rejection.
 */
export function sampleDistance(rng: Rng, pop: keyof typeof LF, magLimit = MAG_FAINT): { z: number; absMag: number; mag: number } {
  const { mStar, alpha } = LF[pop];
  const red = pop === 'early';
  const zMax = redshiftLimit(magLimit);
  let pmax = PHI_MAX.get(pop);
  if (pmax === undefined) {
    pmax = 0;
    for (let M = M_LO; M <= M_HI; M += 0.01) pmax = Math.max(pmax, schechter(M, mStar, alpha));
    PHI_MAX.set(pop, pmax);
  }
  for (let tries = 0; tries < 100000; tries++) {
    const z = Math.cbrt(Z_MIN ** 3 + rng.float() * (zMax ** 3 - Z_MIN ** 3));
    const M = rng.uniform(M_LO, M_HI);
    const m = M + distanceModulus(z) + kCorrection(z, red);
    if (m < MAG_BRIGHT || m > magLimit) continue;
    if (rng.float() * pmax <= schechter(M, mStar, alpha)) return { z, absMag: M, mag: m };
  }
  return { z: 0.08, absMag: -21, mag: 17.2 };
}

/** Half-light radius in kpc from size–luminosity relations (Shen et al. 2003-like). */
function sizeKpc(rng: Rng, absMag: number, kind: 'early' | 'late' | 'dwarf'): number {
  if (kind === 'early') return rng.logNormal(4.3 * Math.pow(10, -0.4 * 0.6 * (absMag + 21)), 0.3);
  if (kind === 'late') return rng.logNormal(6.0 * Math.pow(10, -0.4 * 0.3 * (absMag + 21)), 0.3);
  return rng.logNormal(4.2 * Math.pow(10, -0.4 * 0.25 * (absMag + 19)), 0.35);
}

const redColour = (rng: Rng, z: number): number => rng.gauss(0.76, 0.03) + 0.9 * z;
export const starColour = (rng: Rng): number => clamp(0.3 + rng.gamma(2) * 0.3, 0.2, 1.5);

/** Build state: the stream, the record being filled, and kpc per arcsec at its redshift. */
export interface Builder {
  rng: Rng;
  t: GalaxyTruth;
  kpcArc: number;
  /** Faint r limit of the sample. */
  magLimit: number;
}

function setDistance(b: Builder, pop: keyof typeof LF): void {
  const d = sampleDistance(b.rng, pop, b.magLimit);
  b.t.redshift = d.z;
  b.t.absMagR = d.absMag;
  b.t.magR = d.mag;
  b.kpcArc = kpcPerArcsec(d.z);
}

/** Elliptical: a single Sérsic spheroid. */
export function buildElliptical(b: Builder): void {
  const { rng, t } = b;
  setDistance(b, 'early');
  const re = sizeKpc(rng, t.absMagR, 'early') / b.kpcArc;
  const n = quantiseSersic(rng.truncGauss(4 - 0.35 * (t.absMagR + 21.5), 0.7, 2.5, 6.5));
  const q = rng.truncGauss(0.74, 0.16, 0.3, 1);
  t.positionAngleDeg = rng.uniform(0, 180);
  t.bulge = { fraction: 1, n, reArcsec: re, q, paDeg: t.positionAngleDeg, dx: 0, dy: 0, gr: redColour(rng, t.redshift) };
  t.bulgeShape = 'rounded';
  t.axisRatio = q;
}

type Stage = 'Sa' | 'Sb' | 'Sc' | 'Sd';
const STAGE_PARAMS: Record<Stage, { bt: [number, number]; n: [number, number]; pitch: [number, number]; gr: number }> = {
  Sa: { bt: [0.25, 0.5], n: [3.0, 0.6], pitch: [6, 13], gr: 0.62 },
  Sb: { bt: [0.1, 0.3], n: [2.2, 0.6], pitch: [10, 20], gr: 0.55 },
  Sc: { bt: [0.02, 0.12], n: [1.4, 0.4], pitch: [15, 28], gr: 0.46 },
  Sd: { bt: [0, 0.04], n: [1.0, 0.2], pitch: [18, 32], gr: 0.4 },
};

/** Disk galaxy (spiral or lenticular) with bulge, optional bar, arms, rings, dust, clumps. */
export function buildDisk(b: Builder, kind: 'spiral' | 'lenticular'): void {
  const { rng, t } = b;
  const spiral = kind === 'spiral';
  const stage: Stage = spiral ? (['Sa', 'Sb', 'Sc', 'Sd'] as const)[rng.choice([0.25, 0.35, 0.3, 0.1])] : 'Sa';
  t.hubbleStage = spiral ? stage : 'S0';
  setDistance(b, spiral ? 'late' : 'early');
  const sp = STAGE_PARAMS[stage];
  const r50Kpc = sizeKpc(rng, t.absMagR, spiral ? 'late' : 'early') * (spiral ? 1 : 1.1);
  const h = r50Kpc / 1.678 / b.kpcArc;
  const bt = spiral ? rng.uniform(sp.bt[0], sp.bt[1]) : rng.uniform(0.3, 0.7);
  const z = t.redshift;
  t.positionAngleDeg = rng.uniform(0, 180);
  const inc = Math.acos(rng.float()) / deg;
  t.inclinationDeg = inc;
  const q0 = spiral ? rng.uniform(0.1, 0.18) : rng.uniform(0.14, 0.22);
  const qd = diskAxisRatio(inc, q0);
  const edgeOn = inc > 80;
  const diskGr = spiral ? rng.gauss(sp.gr, 0.04) + 0.5 * z + 0.15 * (1 - Math.cos(inc * deg)) ** 2 : rng.gauss(0.72, 0.03) + 0.9 * z;
  let rest = 1;
  if (bt > 0.01) {
    const n = quantiseSersic(spiral ? rng.truncGauss(sp.n[0], sp.n[1], 0.8, 5) : rng.truncGauss(3, 0.7, 1.5, 5));
    const reb = h * (spiral ? rng.uniform(0.15, 0.35) : rng.uniform(0.25, 0.55)) * (1 + bt);
    // Bulges are rounder than disks; a nearly face-on view keeps them round.
    const qb = Math.max(qd, rng.uniform(0.65, 0.95));
    t.bulge = { fraction: bt, n, reArcsec: reb, q: qb, paDeg: t.positionAngleDeg, dx: 0, dy: 0, gr: redColour(rng, z) - 0.02 };
    rest -= bt;
  }
  // Bars: strong in ~30% of disks, weak in another ~28% (DESIGN §3b). Light fractions of
  // 0.09–0.18 (0.06–0.15 before) make weak bars visible on nearby disks' cutouts as often as
  // GZ DECaLS volunteers report them (src/sim/votes.ts, bar).
  const barDraw = rng.float();
  const barStrength = barDraw < 0.3 ? rng.uniform(0.58, 1) : barDraw < 0.58 ? rng.uniform(0.27, 0.52) : 0;
  if (barStrength > 0) {
    const len = h * rng.uniform(0.6, 1.6) * (0.7 + 0.5 * barStrength);
    const frac = (0.06 + 0.12 * barStrength) * (spiral ? 1 : 0.8);
    t.bar = {
      strength: barStrength, fraction: frac, lengthArcsec: len, q: rng.uniform(0.22, 0.45), angleDeg: rng.uniform(0, 180),
      shapeExp: rng.uniform(2, 4), gr: redColour(rng, z) - 0.08,
    };
    rest -= frac;
  }
  const barLen = t.bar?.lengthArcsec ?? 0;
  if (spiral) {
    const countIdx = rng.choice([0.03, 0.55, 0.17, 0.1, 0.15]);
    let flocculent = countIdx === 4 || ((stage === 'Sc' || stage === 'Sd') && rng.bool(0.25));
    const count = countIdx === 4 || flocculent ? 5 + rng.int(3) : countIdx + 1;
    if (count >= 5) flocculent = true;
    const frac = flocculent ? rng.uniform(0.15, 0.28) : rng.uniform(0.22, 0.42);
    const reb = t.bulge?.reArcsec ?? 0;
    t.arms = {
      count, pitchDeg: rng.uniform(sp.pitch[0], sp.pitch[1]), fraction: frac, flocculent, sense: rng.bool(0.5) ? 1 : -1,
      innerArcsec: Math.max(barLen * 1.02, 1.4 * reb, 0.5 * h), sharpness: flocculent ? 2 : rng.uniform(2.5, 6),
      phaseDeg: rng.uniform(0, 360), gr: diskGr - 0.14,
    };
    // Arms leave the bar ends: the arm crest at the inner radius lies along the bar.
    if (t.bar) t.arms.phaseDeg = (((-count * t.arms.sense * t.bar.angleDeg) % 360) + 360) % 360;
    rest -= frac;
    if ((stage === 'Sc' || stage === 'Sd') && rng.bool(0.6)) addArmClumps(b, rng.int(6) + 2, h, qd);
  }
  // Rings: inner rings in about a third of disks (more often around bars), outer rings rarer.
  // An inner ring gathers the disk light inside it (the zone the bar sweeps is depleted) and
  // the spiral arms start from it.
  const ringDraw = rng.float();
  const pInner = barStrength > 0 ? 0.38 : 0.24;
  let hole = 0;
  if (ringDraw < pInner) {
    const radius = barLen > 0 ? barLen * rng.uniform(1.0, 1.15) : h * rng.uniform(1.0, 1.8);
    const frac = rng.uniform(0.08, 0.18);
    t.ring = {
      type: 'inner', radiusArcsec: radius, widthArcsec: radius * rng.uniform(0.06, 0.11), fraction: frac, q: qd,
      paDeg: t.positionAngleDeg, dx: 0, dy: 0, knots: 0, gr: diskGr - 0.08,
    };
    hole = 0.85 * radius;
    if (t.arms) t.arms.innerArcsec = Math.max(t.arms.innerArcsec, radius);
    rest -= frac;
  } else if (ringDraw < pInner + 0.09) {
    const radius = barLen > 0 ? barLen * rng.uniform(2.0, 2.5) : h * rng.uniform(2.2, 3.2);
    const frac = rng.uniform(0.06, 0.14);
    t.ring = {
      type: 'outer', radiusArcsec: radius, widthArcsec: radius * rng.uniform(0.05, 0.09), fraction: frac, q: qd,
      paDeg: t.positionAngleDeg, dx: 0, dy: 0, knots: 0, gr: diskGr - 0.1,
    };
    rest -= frac;
  }
  // Dust lanes in highly inclined disks.
  if (inc > 72 && (spiral || rng.bool(0.35))) {
    t.dust = {
      tau: spiral ? rng.uniform(2.5, 5.0) : rng.uniform(0.6, 1.5), widthArcsec: Math.max(0.08, 1.678 * h * q0 * rng.uniform(0.18, 0.3)),
      offsetArcsec: h * q0 * 0.5 * Math.cos(inc * deg) * 4 * (rng.bool(0.5) ? 1 : -1), lengthArcsec: h * 1.5,
      paDeg: t.positionAngleDeg,
    };
  }
  t.bulgeShape = bt < 0.04 ? 'none' : barStrength > 0.55 && rng.bool(0.7) ? 'boxy' : barStrength > 0 && rng.bool(0.25) ? 'boxy' : 'rounded';
  for (const c of t.clumps) rest -= c.fraction;
  // Keep at least a fifth of the light in the smooth disk: shrink the other parts if needed.
  if (rest < 0.2) {
    const k = 0.8 / (1 - rest);
    scaleFractions(t, k);
    rest = 0.2;
  }
  t.disk = { fraction: rest, scaleArcsec: h, q0, q: qd, gr: diskGr, dx: 0, dy: 0, holeArcsec: hole };
  t.axisRatio = bt > 0.6 && t.bulge ? Math.max(qd, t.bulge.q * 0.9) : qd;
  if (edgeOn) t.axisRatio = qd;
}

/** Star-forming clumps placed along the spiral arms (disk plane), projected to the sky. */
function addArmClumps(b: Builder, count: number, h: number, q: number): void {
  const { rng, t } = b;
  const arms = t.arms;
  if (!arms) return;
  const tanP = Math.tan(arms.pitchDeg * deg);
  for (let k = 0; k < count; k++) {
    const r = arms.innerArcsec + rng.uniform(0, 2.5 * h);
    const j = rng.int(arms.count);
    const theta = arms.sense * ((2 * Math.PI * j - arms.phaseDeg * deg) / arms.count + Math.log(r / arms.innerArcsec) / tanP) + rng.gauss(0, 0.08);
    const [dx, dy] = diskToSky(r * Math.cos(theta), r * Math.sin(theta), q, t.positionAngleDeg);
    t.clumps.push({ dx, dy, sigmaArcsec: Math.max(0.12, rng.uniform(0.15, 0.5) / b.kpcArc), fraction: rng.uniform(0.006, 0.02), gr: rng.uniform(0.1, 0.3) });
  }
}

/** Irregular / clumpy star-forming galaxy: a thick, lopsided low-surface-brightness disk plus knots. */
export function buildIrregular(b: Builder): void {
  const { rng, t } = b;
  setDistance(b, 'dwarf');
  const h = (sizeKpc(rng, t.absMagR, 'dwarf') * 1.25) / 1.678 / b.kpcArc;
  t.positionAngleDeg = rng.uniform(0, 180);
  const inc = Math.acos(rng.float()) / deg;
  const q0 = rng.uniform(0.35, 0.55);
  const q = diskAxisRatio(inc, q0);
  t.inclinationDeg = inc;
  const nClumps = 3 + rng.int(9);
  let clumpFrac = rng.uniform(0.15, 0.4);
  const [ox, oy] = [rng.gauss(0, 0.25 * h), rng.gauss(0, 0.25 * h)];
  // Clumps biased to one side (lopsided star formation).
  const sideAngle = rng.uniform(0, 2 * Math.PI);
  for (let k = 0; k < nClumps; k++) {
    const r = h * Math.abs(rng.gauss(0.9, 0.7));
    const th = sideAngle + rng.gauss(0, 1.3);
    const [dx, dy] = diskToSky(r * Math.cos(th), r * Math.sin(th), q, t.positionAngleDeg);
    const f = (clumpFrac / nClumps) * rng.uniform(0.5, 1.5);
    t.clumps.push({ dx, dy, sigmaArcsec: Math.max(0.12, rng.uniform(0.2, 0.6) / b.kpcArc), fraction: f, gr: rng.uniform(0.05, 0.3) });
  }
  clumpFrac = t.clumps.reduce((s, c) => s + c.fraction, 0);
  t.disk = { fraction: 1 - clumpFrac, scaleArcsec: h, q0, q, gr: rng.gauss(0.38, 0.05) + 0.3 * t.redshift, dx: ox, dy: oy, holeArcsec: 0 };
  t.axisRatio = q;
  t.hubbleStage = 'Irr';
}

/** Tidal tail leaving a point, curving by curlDeg. */
function makeTail(rng: Rng, ox: number, oy: number, angle: number, length: number, fraction: number, gr: number, kpcArc: number): Tail {
  return {
    fraction, originDx: ox, originDy: oy, angleDeg: angle, lengthArcsec: length,
    curlDeg: rng.uniform(40, 110) * (rng.bool(0.5) ? 1 : -1), widthArcsec: Math.max(0.6, rng.uniform(1.0, 2.5) / kpcArc), gr,
  };
}

/** Interaction features: companions, tails, shells. `strength` selects the merger state. */
export function addInteraction(b: Builder, state: MergerState): void {
  const { rng, t } = b;
  t.mergerState = state;
  const r50 = Math.max(t.r50Arcsec, 0.8);
  const hostGr = t.gr;
  const isEarly = t.morphType === 'elliptical' || t.morphType === 'lenticular' || (t.disk === null && t.bulge !== null);
  const addCompanion = (fluxRatio: number, sep: number): Companion => {
    const ang = rng.uniform(0, 360);
    const [ux, uy] = paVector(ang);
    const n = quantiseSersic(rng.bool(0.5) ? rng.uniform(0.8, 1.5) : rng.uniform(2.5, 4.5));
    const c: Companion = {
      fraction: 0, magR: t.magR - 2.5 * Math.log10(fluxRatio), n, reArcsec: r50 * Math.sqrt(fluxRatio) * rng.uniform(0.7, 1.2),
      q: rng.uniform(0.4, 1), paDeg: rng.uniform(0, 180), dx: ux * sep, dy: uy * sep, gr: n > 2 ? redColour(rng, t.redshift) : rng.uniform(0.35, 0.6),
    };
    t.companions.push(c);
    return c;
  };
  let tidal = 0;
  if (state === 'merger') {
    const c = addCompanion(rng.uniform(0.3, 1), r50 * rng.uniform(0.5, 2.0));
    const nT = 1 + rng.int(2);
    for (let k = 0; k < nT; k++) {
      const f = rng.uniform(0.05, 0.12);
      const fromCompanion = k === 1;
      const ox = fromCompanion ? c.dx : 0;
      const oy = fromCompanion ? c.dy : 0;
      const away = (Math.atan2(-(oy - (fromCompanion ? 0 : c.dy)), -(ox - (fromCompanion ? 0 : c.dx))) / deg) + 90;
      t.tails.push(makeTail(rng, ox, oy, away + rng.gauss(0, 30), r50 * rng.uniform(2, 4), f, hostGr - 0.05, b.kpcArc));
      tidal += f;
    }
    t.tags.push(Math.hypot(c.dx, c.dy) < 1.2 * r50 ? 'double-nucleus' : 'pair');
  } else if (state === 'major-disturbance') {
    if (rng.bool(0.5)) addCompanion(rng.uniform(0.1, 0.4), r50 * rng.uniform(1.5, 3.0));
    const nT = 1 + rng.int(2);
    for (let k = 0; k < nT; k++) {
      const f = rng.uniform(0.04, 0.09);
      t.tails.push(makeTail(rng, 0, 0, rng.uniform(0, 360), r50 * rng.uniform(2, 4), f, hostGr - 0.05, b.kpcArc));
      tidal += f;
    }
    if (isEarly && rng.bool(0.5)) tidal += addShells(b, rng.uniform(0.02, 0.05));
  } else if (state === 'minor-disturbance') {
    const kind = rng.float();
    if (kind < 0.45) addCompanion(rng.uniform(0.04, 0.15), r50 * rng.uniform(1.5, 3.5));
    else if (kind < 0.75 || !isEarly) {
      const f = rng.uniform(0.006, 0.016);
      t.tails.push(makeTail(rng, 0, 0, rng.uniform(0, 360), r50 * rng.uniform(2, 3.5), f, hostGr, b.kpcArc));
      tidal += f;
    } else tidal += addShells(b, rng.uniform(0.01, 0.03));
  }
  scaleFractions(t, 1 - tidal);
}

function addShells(b: Builder, total: number): number {
  const { rng, t } = b;
  const n = 2 + rng.int(3);
  const base = Math.max(t.r50Arcsec, 0.8);
  const axis = rng.uniform(0, 360);
  for (let k = 0; k < n; k++) {
    t.shells.push({
      fraction: total / n, radiusArcsec: base * (1.6 + 0.9 * k) * rng.uniform(0.9, 1.1), widthArcsec: base * rng.uniform(0.12, 0.22),
      angleDeg: axis + (k % 2) * 180 + rng.gauss(0, 15), spanDeg: rng.uniform(70, 140), gr: t.gr,
    });
  }
  return total;
}

/** Rescale the target's components so their r-band fractions sum to exactly 1. */
export function normaliseFractions(t: GalaxyTruth): void {
  let total = (t.bulge?.fraction ?? 0) + (t.disk?.fraction ?? 0) + (t.bar?.fraction ?? 0) + (t.arms?.fraction ?? 0) + (t.ring?.fraction ?? 0);
  for (const c of t.clumps) total += c.fraction;
  for (const c of t.tails) total += c.fraction;
  for (const c of t.shells) total += c.fraction;
  if (total <= 0) return;
  scaleFractions(t, 1 / total);
  for (const c of t.tails) c.fraction /= total;
  for (const c of t.shells) c.fraction /= total;
}

/** Scale every target component by f (to make room for tidal light). */
export function scaleFractions(t: GalaxyTruth, f: number): void {
  if (t.bulge) t.bulge.fraction *= f;
  if (t.disk) t.disk.fraction *= f;
  if (t.bar) t.bar.fraction *= f;
  if (t.arms) t.arms.fraction *= f;
  if (t.ring) t.ring.fraction *= f;
  for (const c of t.clumps) c.fraction *= f;
}

/** Polar-ring galaxy: an S0 host with a ring orbiting over its poles. */
export function buildPolarRing(b: Builder): void {
  const { rng, t } = b;
  buildDisk(b, 'lenticular');
  t.morphType = 'polar-ring';
  t.bar = null;
  t.dust = null;
  // A mostly face-on-ish host would hide the geometry: force a fairly inclined S0.
  t.inclinationDeg = rng.uniform(60, 85);
  if (t.disk) t.disk.q = diskAxisRatio(t.inclinationDeg, t.disk.q0);
  t.axisRatio = t.disk?.q ?? t.axisRatio;
  const r50 = computeR50(t);
  const frac = rng.uniform(0.15, 0.28);
  const radius = r50 * rng.uniform(1.7, 2.8);
  t.ring = {
    type: 'polar', radiusArcsec: radius, widthArcsec: radius * rng.uniform(0.12, 0.2), fraction: frac, q: rng.uniform(0.12, 0.35),
    paDeg: t.positionAngleDeg + 90 + rng.gauss(0, 8), dx: 0, dy: 0, knots: 0, gr: rng.uniform(0.35, 0.5),
  };
  t.dust = { tau: rng.uniform(0.4, 1.0), widthArcsec: radius * 0.08, offsetArcsec: 0, lengthArcsec: radius * 2, paDeg: t.ring.paDeg };
  if (t.bulge) t.bulge.fraction *= 1 - frac;
  if (t.disk) t.disk.fraction *= 1 - frac;
  if (t.ring) t.ring.fraction = frac;
}

/** Collisional (Cartwheel-like) ring: an expanding, knotty blue ring around an offset nucleus. */
export function buildCollisionalRing(b: Builder): void {
  const { rng, t } = b;
  setDistance(b, 'late');
  const r50Kpc = sizeKpc(rng, t.absMagR, 'late');
  const R = (r50Kpc * rng.uniform(1.2, 1.8)) / b.kpcArc;
  t.positionAngleDeg = rng.uniform(0, 180);
  t.inclinationDeg = Math.acos(rng.uniform(0.5, 1)) / deg;
  const q = diskAxisRatio(t.inclinationDeg, 0.15);
  const [ux, uy] = paVector(rng.uniform(0, 360));
  const off = R * rng.uniform(0.15, 0.35);
  t.bulge = { fraction: 0.18, n: 2, reArcsec: R * 0.12, q: 0.9, paDeg: t.positionAngleDeg, dx: ux * off, dy: uy * off, gr: 0.7 + 0.9 * t.redshift };
  t.ring = {
    type: 'collisional', radiusArcsec: R, widthArcsec: R * rng.uniform(0.1, 0.16), fraction: 0.47, q, paDeg: t.positionAngleDeg,
    dx: 0, dy: 0, knots: 6 + rng.int(8), gr: rng.uniform(0.15, 0.3),
  };
  t.disk = { fraction: 0.35, scaleArcsec: R * 0.45, q0: 0.15, q, gr: 0.5, dx: ux * off * 0.5, dy: uy * off * 0.5, holeArcsec: 0.8 * R };
  t.axisRatio = q;
  t.bulgeShape = 'rounded';
  t.hubbleStage = 'Ring';
  const sep = R * rng.uniform(2, 3);
  const [cx, cy] = paVector(rng.uniform(0, 360));
  const ratio = rng.uniform(0.1, 0.3);
  t.companions.push({
    fraction: 0, magR: t.magR - 2.5 * Math.log10(ratio), n: 1.5, reArcsec: R * 0.3 * Math.sqrt(ratio * 3), q: rng.uniform(0.5, 1),
    paDeg: rng.uniform(0, 180), dx: cx * sep, dy: cy * sep, gr: rng.uniform(0.4, 0.7),
  });
}

/**
 * Half-light radius of the target's smooth components in circular apertures (like a
 * Petrosian r50): each elliptical component counts with an effective radius
 * r_e·((1 + q)/2)^0.8, which interpolates between face-on (r_e) and edge-on (≈ 0.6 r_e).
 */
export function computeR50(t: GalaxyTruth): number {
  const circ = (re: number, q: number): number => re * Math.pow((1 + q) / 2, 0.8);
  const parts: ProfilePart[] = [];
  if (t.bulge) parts.push({ profile: sersicProfile(t.bulge.n), re: circ(t.bulge.reArcsec, t.bulge.q), weight: t.bulge.fraction });
  if (t.disk) {
    const other = (t.bar?.fraction ?? 0) + (t.arms?.fraction ?? 0) + t.clumps.reduce((s, c) => s + c.fraction, 0);
    parts.push({ profile: sersicProfile(1), re: circ(1.678 * t.disk.scaleArcsec, t.disk.q), weight: t.disk.fraction + other });
  }
  if (t.ring) {
    // A ring as a narrow profile: approximated by a Sérsic n = 0.5 of the ring radius.
    parts.push({ profile: sersicProfile(0.5), re: circ(t.ring.radiusArcsec, t.ring.q), weight: t.ring.fraction });
  }
  return compositeRadius(parts, 0.5);
}

/** Field stars in the cutout (≈0.5 per arcmin² to r = 23, counts rising ∝ 10^{0.25 m}). */
export function addFieldStars(rng: Rng, t: GalaxyTruth): void {
  const half = t.fovArcsec / 2;
  const areaArcmin2 = (t.fovArcsec / 60) ** 2;
  const n = rng.poisson(0.5 * areaArcmin2);
  for (let k = 0; k < n; k++) {
    const u = rng.float();
    // Inverse CDF of p(m) ∝ 10^{0.25 m} on [14, 23].
    const a = Math.pow(10, 0.25 * 14);
    const bb = Math.pow(10, 0.25 * 23);
    const m = Math.log10(a + u * (bb - a)) / 0.25;
    let dx = rng.uniform(-half, half);
    let dy = rng.uniform(-half, half);
    // Keep random stars off the galaxy core (a star on top is a separate, rarer case).
    if (Math.hypot(dx, dy) < Math.max(2, t.r50Arcsec)) {
      dx = Math.sign(dx || 1) * Math.max(Math.abs(dx), 0.5 * half);
    }
    t.stars.push({ dx, dy, magR: m, gr: starColour(rng) });
  }
}

/** Cutout field of view: ~9 r50 (so the galaxy fills the frame), widened to hold companions/tails. */
export function chooseFov(t: GalaxyTruth): number {
  let extent = 4.5 * Math.max(t.r50Arcsec, 0.3);
  // Along the major axis an inclined disk reaches further than its circular r50 suggests.
  if (t.disk) extent = Math.max(extent, 3.6 * 1.678 * t.disk.scaleArcsec);
  if (t.bulge) extent = Math.max(extent, 3.6 * t.bulge.reArcsec);
  for (const c of t.companions) extent = Math.max(extent, 1.15 * (Math.hypot(c.dx, c.dy) + 3 * c.reArcsec));
  for (const tl of t.tails) extent = Math.max(extent, 1.1 * (Math.hypot(tl.originDx, tl.originDy) + 0.8 * tl.lengthArcsec));
  if (t.ring) extent = Math.max(extent, 1.35 * (t.ring.radiusArcsec + Math.hypot(t.ring.dx, t.ring.dy)));
  for (const s of t.shells) extent = Math.max(extent, 1.15 * s.radiusArcsec);
  return clamp(2 * extent, 16, 240);
}

