/**
 * The simulated galaxy population: latent physical parameters of one catalogue entry.
 *
 * `sampleTruth(index, seed, magLimit)` depends only on its arguments, so the same galaxy can be
 * rendered in several surveys. Geometry is in arcsec on the sky relative to the target's centre, with
 * north up and east left; position angles are east of north. Fluxes are fractions of the
 * target's total r-band flux (catalogue `magR`); companions, lensed arcs and stars carry their
 * own magnitudes because they are separate objects.
 */
import { Rng } from './rng.js';
import { clamp, DEG as deg, paVector } from './geometry.js';
import {
  addFieldStars, addInteraction, buildCollisionalRing, buildDisk, buildElliptical, buildIrregular, buildPolarRing, chooseFov,
  computeR50, MAG_FAINT, normaliseFractions, sampleDistance, starColour, type Builder,
} from './population.js';

export { diskAxisRatio, paVector } from './geometry.js';

export type MorphType =
  | 'elliptical' | 'lenticular' | 'spiral' | 'irregular' | 'merger'
  | 'star' | 'artifact' | 'lens' | 'polar-ring' | 'collisional-ring';
export type RingType = 'none' | 'inner' | 'outer' | 'polar' | 'collisional';
export type MergerState = 'none' | 'minor-disturbance' | 'major-disturbance' | 'merger';
export type BulgeShape = 'none' | 'rounded' | 'boxy';

/** A Sérsic component (bulge, companion). */
export interface SersicPart {
  /** r-band flux fraction of the target (bulge) — companions use `magR` instead. */
  fraction: number;
  n: number;
  reArcsec: number;
  /** Projected axis ratio b/a. */
  q: number;
  /** Position angle, deg east of north. */
  paDeg: number;
  /** Centre offset, arcsec (x east-left positive to the right of the image, y north/up). */
  dx: number;
  dy: number;
  /** g − r colour of the component, mag. */
  gr: number;
}

export interface Companion extends SersicPart {
  magR: number;
}

export interface DiskPart {
  fraction: number;
  /** Exponential scale length, arcsec. */
  scaleArcsec: number;
  /** Intrinsic thickness (edge-on axis ratio). */
  q0: number;
  /** Projected axis ratio from the inclination. */
  q: number;
  gr: number;
  /** Lopsided shift of the disk centre, arcsec (irregulars). */
  dx: number;
  dy: number;
  /** Radius inside which the disk is depleted (inside an inner ring), disk plane, arcsec; 0 = none. */
  holeArcsec: number;
}

export interface BarPart {
  /** 0 none, 0.25–0.55 weak, > 0.55 strong. */
  strength: number;
  fraction: number;
  /** Bar semi-major axis in the disk plane, arcsec. */
  lengthArcsec: number;
  /** Bar axis ratio in the disk plane. */
  q: number;
  /** Angle of the bar in the disk plane from the line of nodes, deg. */
  angleDeg: number;
  /** 2 = elliptical isophotes, up to 4 = boxy. */
  shapeExp: number;
  gr: number;
}

export interface ArmsPart {
  count: number;
  pitchDeg: number;
  fraction: number;
  flocculent: boolean;
  /** +1 or −1: winding sense on the sky. */
  sense: number;
  /** Radius where arms start (bar end / bulge edge), arcsec in the disk plane. */
  innerArcsec: number;
  /** Arm sharpness exponent (higher = narrower arms). */
  sharpness: number;
  phaseDeg: number;
  gr: number;
}

export interface RingPart {
  type: RingType;
  radiusArcsec: number;
  widthArcsec: number;
  fraction: number;
  /** Projected axis ratio and PA of the ring plane. */
  q: number;
  paDeg: number;
  dx: number;
  dy: number;
  /** Number of bright knots (collisional rings); 0 for smooth rings. */
  knots: number;
  gr: number;
}

export interface DustPart {
  /** Peak optical depth in r at the midplane (0 = no lane). */
  tau: number;
  /** Lane half-thickness (Gaussian σ), arcsec. */
  widthArcsec: number;
  /** Offset of the lane from the major axis (near side of the disk), arcsec. */
  offsetArcsec: number;
  /** Radial extent (exponential scale along the major axis), arcsec. */
  lengthArcsec: number;
  /** Position angle of the lane, deg east of north. */
  paDeg: number;
}

export interface Clump {
  dx: number;
  dy: number;
  sigmaArcsec: number;
  fraction: number;
  gr: number;
}

/** A tidal tail: a curved streak of Gaussian blobs leaving a galaxy. */
export interface Tail {
  fraction: number;
  originDx: number;
  originDy: number;
  /** Launch direction, deg east of north. */
  angleDeg: number;
  lengthArcsec: number;
  /** Total bend along the tail, deg. */
  curlDeg: number;
  widthArcsec: number;
  gr: number;
}

/** A shell: an arc of a thin ring around an elliptical. */
export interface Shell {
  fraction: number;
  radiusArcsec: number;
  widthArcsec: number;
  angleDeg: number;
  spanDeg: number;
  gr: number;
}

export interface LensArc {
  thetaEArcsec: number;
  magR: number;
  angleDeg: number;
  spanDeg: number;
  widthArcsec: number;
  /** Flux ratio of the counter-image (0 = none). */
  counterRatio: number;
  gr: number;
}

export interface FieldStar {
  dx: number;
  dy: number;
  magR: number;
  gr: number;
}

/** Latent physical parameters of one simulated catalogue entry. */
export interface GalaxyTruth {
  id: string;
  index: number;
  seed: number;
  /** Sky position, deg. */
  ra: number;
  dec: number;
  morphType: MorphType;
  /** Hubble stage of disks: 'Sa' … 'Sd', or '' for non-spirals. */
  hubbleStage: string;
  redshift: number;
  /** Total r magnitude of the target (observed, dust included), AB. */
  magR: number;
  absMagR: number;
  /** Integrated g − r of the target, mag. */
  gr: number;
  /** Circularised half-light radius of the target before the PSF, arcsec (0 for stars). */
  r50Arcsec: number;
  /** Field of view of the cutout, arcsec (scaled with the galaxy's size, as GZ DECaLS). */
  fovArcsec: number;
  /** Position angle of the main body, deg east of north. */
  positionAngleDeg: number;
  /** Projected axis ratio of the dominant component. */
  axisRatio: number;
  /** Disk inclination, deg (0 = face-on; 0 for objects without a disk). */
  inclinationDeg: number;
  /** The target is a point source (a star). */
  pointSource: boolean;
  bulge: SersicPart | null;
  bulgeShape: BulgeShape;
  disk: DiskPart | null;
  bar: BarPart | null;
  arms: ArmsPart | null;
  ring: RingPart | null;
  dust: DustPart | null;
  clumps: Clump[];
  mergerState: MergerState;
  companions: Companion[];
  tails: Tail[];
  shells: Shell[];
  lens: LensArc | null;
  stars: FieldStar[];
  /** Intrinsic features (what exists, whether or not a survey shows it). */
  tags: string[];
}

// ---------------------------------------------------------------------------------------

const MORPH_WEIGHTS: ReadonlyArray<[MorphType, number]> = [
  ['elliptical', 0.21], ['lenticular', 0.14], ['spiral', 0.495], ['irregular', 0.075], ['merger', 0.055],
  ['star', 0.008], ['artifact', 0.007], ['lens', 0.004], ['polar-ring', 0.003], ['collisional-ring', 0.003],
];
const MORPH_W = MORPH_WEIGHTS.map((m) => m[1]);

/** Sky patch the catalogue is spread over (deg). */
const RA0 = 150;
const RA_SPAN = 10;
const DEC0 = 0;
const DEC_SPAN = 10;

/** Catalogue id: stable across surveys. */
export function galaxyId(seed: number, index: number): string {
  return `sim-${seed}-${String(index).padStart(7, '0')}`;
}

/** A fresh truth record with nothing in it. */
function blank(index: number, seed: number, ra: number, dec: number, morphType: MorphType): GalaxyTruth {
  return {
    id: galaxyId(seed, index), index, seed, ra, dec, morphType, hubbleStage: '',
    redshift: 0, magR: 17, absMagR: 0, gr: 0.6, r50Arcsec: 0, fovArcsec: 30, positionAngleDeg: 0,
    axisRatio: 1, inclinationDeg: 0, pointSource: false, bulge: null, bulgeShape: 'none', disk: null,
    bar: null, arms: null, ring: null, dust: null, clumps: [], mergerState: 'none', companions: [],
    tails: [], shells: [], lens: null, stars: [], tags: [],
  };
}

/** Artifact entries are faint smudges: r within this many mag of the sample's faint limit. */
const ARTIFACT_DEPTH = MAG_FAINT - 17.2;

/**
 * Latent parameters of catalogue entry `index` for a simulation `seed` and faint limit
 * r < `magLimit`. Pure function of its arguments (every draw comes from a stream keyed by
 * (seed, index, purpose)); a deeper limit draws another, fainter and more distant population.
 */
export function sampleTruth(index: number, seed: number, magLimit = MAG_FAINT): GalaxyTruth {
  const pos = new Rng(seed, index, 'position');
  const ra = RA0 + RA_SPAN * pos.float();
  const sd0 = Math.sin(DEC0 * deg);
  const sd1 = Math.sin((DEC0 + DEC_SPAN) * deg);
  const dec = Math.asin(sd0 + (sd1 - sd0) * pos.float()) / deg;
  const rng = new Rng(seed, index, 'truth');
  const morph = MORPH_WEIGHTS[rng.choice(MORPH_W)][0];
  const t = blank(index, seed, ra, dec, morph);
  const b: Builder = { rng, t, kpcArc: 1, magLimit };
  switch (morph) {
    case 'elliptical':
    case 'lens':
      buildElliptical(b);
      break;
    case 'lenticular':
      buildDisk(b, 'lenticular');
      break;
    case 'spiral':
      buildDisk(b, 'spiral');
      break;
    case 'irregular':
      buildIrregular(b);
      break;
    case 'merger':
      if (rng.bool(0.6)) buildDisk(b, 'spiral');
      else buildElliptical(b);
      break;
    case 'polar-ring':
      buildPolarRing(b);
      break;
    case 'collisional-ring':
      buildCollisionalRing(b);
      break;
    case 'star': {
      const d = sampleDistance(rng, 'late', magLimit);
      t.magR = d.mag;
      t.pointSource = true;
      t.gr = starColour(rng);
      break;
    }
    case 'artifact':
      buildElliptical(b);
      t.magR = rng.uniform(magLimit - ARTIFACT_DEPTH, magLimit);
      if (t.bulge) t.bulge.reArcsec = Math.min(t.bulge.reArcsec, 1.5);
      break;
  }
  t.morphType = morph;
  if (!t.pointSource) {
    t.gr = integratedColour(t);
    t.r50Arcsec = computeR50(t);
  }
  // Interactions: mergers by construction; minor disturbances in ~12% of normal galaxies.
  if (morph === 'merger') addInteraction(b, rng.bool(0.5) ? 'merger' : 'major-disturbance');
  else if ((morph === 'elliptical' || morph === 'lenticular' || morph === 'spiral') && rng.bool(0.12)) addInteraction(b, 'minor-disturbance');
  if (morph === 'collisional-ring') t.mergerState = 'minor-disturbance';
  if (morph === 'lens') {
    const r50 = t.r50Arcsec;
    t.lens = {
      thetaEArcsec: clamp(r50 * rng.uniform(0.8, 1.6), 1.4, 4), magR: t.magR + rng.uniform(1.2, 2.5), angleDeg: rng.uniform(0, 360),
      spanDeg: rng.uniform(60, 150), widthArcsec: rng.uniform(0.25, 0.5), counterRatio: rng.bool(0.6) ? rng.uniform(0.2, 0.45) : 0,
      gr: rng.uniform(0.05, 0.3),
    };
  }
  if (!t.pointSource) {
    normaliseFractions(t);
    t.gr = integratedColour(t);
  }
  t.fovArcsec = chooseFov(t);
  if (morph === 'artifact') {
    // The catalogue entry is a faint smudge beside a very bright, saturated star.
    const [ux, uy] = paVector(rng.uniform(0, 360));
    const d = t.fovArcsec * rng.uniform(0.08, 0.25);
    t.stars.push({ dx: ux * d, dy: uy * d, magR: rng.uniform(8.5, 11.5), gr: starColour(rng) });
  } else if (!t.pointSource && rng.bool(0.015)) {
    // A bright foreground star in the frame (star-dominated cutout).
    const [ux, uy] = paVector(rng.uniform(0, 360));
    const d = t.fovArcsec * rng.uniform(0.12, 0.4);
    t.stars.push({ dx: ux * d, dy: uy * d, magR: rng.uniform(10.5, 14), gr: starColour(rng) });
  }
  addFieldStars(new Rng(seed, index, 'stars'), t);
  t.tags = intrinsicTags(t);
  return t;
}

/** Integrated g − r of the target from its components' colours and fractions. */
export function integratedColour(t: GalaxyTruth): number {
  let fr = 0;
  let fg = 0;
  const add = (f: number, gr: number): void => {
    fr += f;
    fg += f * Math.pow(10, -0.4 * gr);
  };
  if (t.bulge) add(t.bulge.fraction, t.bulge.gr);
  if (t.disk) add(t.disk.fraction, t.disk.gr);
  if (t.bar) add(t.bar.fraction, t.bar.gr);
  if (t.arms) add(t.arms.fraction, t.arms.gr);
  if (t.ring) add(t.ring.fraction, t.ring.gr);
  for (const c of t.clumps) add(c.fraction, c.gr);
  for (const c of t.tails) add(c.fraction, c.gr);
  for (const c of t.shells) add(c.fraction, c.gr);
  if (fr <= 0) return t.gr;
  return -2.5 * Math.log10(fg / fr);
}

/** Mean r surface brightness inside r50, mag/arcsec². */
export function mu50(t: GalaxyTruth): number {
  if (t.r50Arcsec <= 0) return t.magR;
  return t.magR + 2.5 * Math.log10(2 * Math.PI * t.r50Arcsec * t.r50Arcsec);
}

/** Tags for what the galaxy *has*; visible tags are a subset decided per survey (visibility.ts). */
function intrinsicTags(t: GalaxyTruth): string[] {
  const tags = new Set<string>(t.tags);
  switch (t.morphType) {
    case 'elliptical': tags.add('elliptical'); break;
    case 'lenticular': tags.add('lenticular'); break;
    case 'spiral': tags.add('spiral'); break;
    case 'irregular': tags.add('irregular'); tags.add('starforming'); break;
    case 'merger': tags.add('merger'); break;
    case 'star': tags.add('star'); break;
    case 'artifact': tags.add('artifact'); break;
    case 'lens': tags.add('lens'); tags.add('elliptical'); break;
    case 'polar-ring': tags.add('polar-ring'); tags.add('ring'); break;
    case 'collisional-ring': tags.add('ring'); tags.add('collisional-ring'); break;
  }
  if (t.arms) tags.add('spiral');
  if (t.bar && t.bar.strength > 0.25) tags.add('barred');
  if (t.ring && (t.ring.type === 'inner' || t.ring.type === 'outer')) tags.add('ring');
  if (t.disk && t.inclinationDeg > 80 && t.morphType !== 'irregular') tags.add('edge-on');
  if (t.dust && t.dust.tau > 0.5 && t.ring?.type !== 'polar') tags.add('dust-lane');
  if (t.clumps.length >= 4) tags.add('clumpy');
  if (t.tails.length || t.shells.length) tags.add('tidal');
  if (t.mergerState === 'major-disturbance' || t.mergerState === 'minor-disturbance') tags.add('disturbed');
  if (t.mergerState === 'merger') tags.add('merger');
  if (!t.pointSource && mu50(t) > 22.6) tags.add('diffuse');
  if (t.stars.some((s) => s.magR < 14.5)) tags.add('bright-star');
  return [...tags].sort();
}
