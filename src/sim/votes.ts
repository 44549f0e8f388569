/**
 * Simulated Galaxy Zoo volunteers. Each galaxy gets a number of volunteers drawn like GZ
 * DECaLS (most about 5, a large minority 30–60); each volunteer walks the decision tree from
 * the root, answering every question they reach by sampling the "oracle" answer probabilities,
 * so a downstream question only ever gets the votes of volunteers who took its branch.
 *
 * The oracle probabilities depend on the truth *as seen*: every feature enters through its
 * visibility score (visibility.ts), so distant, small or noisy galaxies collect more smooth,
 * more uncertain votes (the Galaxy Zoo redshift bias), and artifacts/stars draw "artifact".
 */
import type { Schema } from '../schema/index.js';
import { Rng } from './rng.js';
import type { GalaxyTruth } from './truth.js';
import type { Visibility } from './visibility.js';

/** Volunteer vote counts and the answer probabilities they were sampled from. */
export interface SimulatedVotes {
  /** Vote counts in `schema.answerColumns` order. */
  counts: Int32Array;
  /** Per-question answer probabilities (each question's slice sums to 1), schema order. */
  oracle: Float64Array;
  /** Number of volunteers who classified the galaxy (= votes on each root question). */
  volunteers: number;
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

/** Standard normal CDF (Abramowitz & Stegun 26.2.17, |error| < 7.5e-8). */
function normCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const d = 0.3989422804014327 * Math.exp((-x * x) / 2);
  const p = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return x > 0 ? 1 - p : p;
}

/**
 * Ordinal answer model: a volunteer perceives x + N(0, s²) and picks the bin between the
 * cuts (ascending). Returns one probability per bin (cuts.length + 1 bins, ascending x).
 */
function ordinal(x: number, s: number, cuts: readonly number[]): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const c of cuts) {
    const p = normCdf((c - x) / s);
    out.push(Math.max(0, p - prev));
    prev = p;
  }
  out.push(Math.max(0, 1 - prev));
  return out;
}

/**
 * The bar's strength as volunteers perceive it. Analytic mode: the true strength once the bar
 * shows (square root of its score up to the threshold). Image mode: how far it clears the
 * eye's threshold in the cutout (barContrast), mapped onto the same scale: 1 − exp(−c / 2.3).
 * Calibrated (with the image mode's weak cut, BAR_CUTS) on Géron et al.'s (2021)
 * volume-limited cut (see src/sim/README.md): resampling the votes of simulator version 4
 * (scale 3, weak cut 0.15: 11.1% strong / 19.9% weak / 69.0% unbarred) gave 15.1 / 27.1 / 57.8;
 * data/pretrain-v5, simulated with them, votes 15.2 / 27.4 / 57.4 (GZ DECaLS 15.5 / 28.1 / 56.4).
 */
function barStrength(t: GalaxyTruth, v: Visibility): number {
  if (!v.fromImage) return (t.bar?.strength ?? 0) * Math.sqrt(Math.min(1, v.bar / 0.5));
  const c = v.barContrast ?? 0;
  return c <= 0 ? 0 : 1 - Math.exp(-c / BAR_CONTRAST_SCALE);
}
const BAR_CONTRAST_SCALE = 2.3;
/** Ordinal cuts no/weak and weak/strong: volunteers answer "weak" readily. */
const BAR_CUTS = { analytic: [0.15, 0.55], image: [0.05, 0.55] };

/**
 * The interaction stage (0 none, 1 minor, 2 major disturbance, 3 merger) volunteers read off
 * the image: tidal light by how far it clears the eye's threshold (tidalContrast; tails alone
 * read as a disturbance, at most 2.4), a seen companion by how bright and how close it is
 * (an equal, overlapping one reads as a merger); both together add up. Only image mode has it.
 */
export function perceivedMergerStage(t: GalaxyTruth, v: Visibility): number {
  const tidal = 2.4 * (1 - Math.exp(-(v.tidalContrast ?? 0) / 2.5));
  let pair = 0;
  const F = Math.pow(10, -0.4 * t.magR);
  const r50 = Math.max(t.r50Arcsec, 0.8);
  for (const c of t.companions) {
    const ratio = Math.pow(10, -0.4 * c.magR) / F;
    const near = clamp01(1.25 - Math.hypot(c.dx, c.dy) / r50 / 4);
    pair = Math.max(pair, 3 * Math.min(1, Math.sqrt(ratio / 0.3)) * near);
  }
  pair *= v.companion;
  return Math.max(tidal, pair) + 0.5 * Math.min(tidal, pair);
}
/** How much a perceived stage looks like a merger: 0 up to 1.5, 1 from 3. */
const mergerLook = (stage: number): number => clamp01((stage - 1.5) / 1.5);

/** Answer probabilities per question concept (decals-dr5 names), before mixing with noise. */
export type AnswerModel = Record<string, Record<string, number>>;

/** The volunteer answer model for a galaxy as seen (see the module comment). */
export function answerModel(t: GalaxyTruth, v: Visibility): AnswerModel {
  const isDisk = t.disk !== null && t.morphType !== 'irregular';
  const bt = t.bulge?.fraction ?? 0;
  // Interaction as seen: judged on the image, a merger is what looks like one.
  const isMerger = t.mergerState === 'merger';
  const stageSeen = v.fromImage ? perceivedMergerStage(t, v) : 0;
  const mergerSeen = v.fromImage ? mergerLook(stageSeen) : isMerger ? v.companion : 0;

  // --- smooth or featured
  const edgeVis = isDisk ? clamp01((0.52 - v.qObs) / 0.25) * clamp01(v.snr / 20) : 0;
  const contributions = [
    0.93 * edgeVis,
    0.96 * v.arms,
    0.85 * v.bar * Math.min(1, barStrength(t, v) / 0.6),
    0.75 * v.ring,
    0.85 * v.clumps,
    isDisk ? 0.45 * (1 - bt) * v.disk : 0,
    0.7 * v.dust,
    0.4 * v.tidal,
    0.35 * mergerSeen,
    0.45 * v.lens,
    t.morphType === 'irregular' ? 0.8 * v.detail : 0,
  ];
  let keep = 1;
  for (const c of contributions) keep *= 1 - clamp01(c);
  const pFeat = 0.03 + 0.94 * (1 - keep);
  const pArt = clamp01(0.005 + 0.95 * Math.pow(v.artifact, 1.2));
  const model: AnswerModel = {};
  model['smooth-or-featured'] = { smooth: (1 - pArt) * (1 - pFeat), 'featured-or-disk': (1 - pArt) * pFeat, artifact: pArt };

  // --- edge-on
  const yesEdge = (0.04 + 0.92 * logistic((0.4 - v.qObs) / 0.06)) * (isDisk ? 1 : 0.55);
  model['disk-edge-on'] = { yes: yesEdge, no: 1 - yesEdge };

  // --- spiral arms
  const armsYes = clamp01(0.06 + 0.9 * Math.pow(v.arms, 0.8) + 0.2 * v.ring * (1 - v.arms));
  model['has-spiral-arms'] = { yes: armsYes, no: 1 - armsYes };

  // --- bar: perceived strength (barStrength) on an ordinal scale.
  const [barNo, barWeak, barStrong] = ordinal(barStrength(t, v), 0.13 + 0.12 * (1 - v.detail), v.fromImage ? BAR_CUTS.image : BAR_CUTS.analytic);
  model.bar = { strong: barStrong, weak: barWeak, no: barNo };

  // --- bulge size: perceived B/T, inflated when the disk is poorly resolved
  const btSeen = Math.min(1, bt + 0.5 * (t.bar?.fraction ?? 0) + 0.25 * (1 - v.detail));
  const [none, small, moderate, large, dominant] = ordinal(btSeen, 0.06 + 0.12 * (1 - v.detail), [0.04, 0.15, 0.35, 0.6]);
  model['bulge-size'] = { dominant, large, moderate, small, none };

  // --- how rounded (smooth branch): observed axis ratio
  const [cigar, between, round] = ordinal(v.qObs, 0.07 + 0.06 * (1 - v.detail), [0.45, 0.78]);
  model['how-rounded'] = { round, 'in-between': between, 'cigar-shaped': cigar };

  // --- edge-on bulge shape: the true shape (analytic mode), or what the image shows: a
  // bulge standing out of the disk, boxy if its isophotes visibly are (a spheroid is all bulge).
  // Each impression comes with the same confusions, mixed by how likely it is.
  const conf = 0.45 + 0.45 * v.detail;
  const other = (1 - conf) / 2;
  const seenBulge = !v.fromImage ? (t.bulgeShape === 'none' ? 0 : 1) : isDisk ? v.bulge ?? 0 : 1;
  const boxy = !v.fromImage ? (t.bulgeShape === 'boxy' ? 1 : 0) : seenBulge * (v.boxy ?? 0);
  const noBulge = 1 - seenBulge, rounded = seenBulge - boxy;
  model['edge-on-bulge'] = {
    boxy: conf * boxy + other * 0.6 * (noBulge + rounded),
    none: conf * noBulge + other * (0.6 * boxy + 1.4 * rounded),
    rounded: conf * rounded + other * 1.4 * (boxy + noBulge),
  };

  // --- spiral winding: perceived pitch angle; judged on the image, arms that do not show
  // give no hint of their pitch (the guess drifts to a medium 15°).
  const pitch = !t.arms ? 15 : v.fromImage ? v.arms * t.arms.pitchDeg + (1 - v.arms) * 15 : t.arms.pitchDeg;
  const pitchSd = t.arms ? 2.5 + 7 * (1 - v.arms) : 8;
  const [tight, medium, loose] = ordinal(pitch, pitchSd, [11.5, 19]);
  model['spiral-winding'] = { tight, medium, loose };

  // --- arm count
  const flocc = t.arms?.flocculent ?? false;
  const count = t.arms ? Math.min(t.arms.count, 5) : 2;
  const cant = clamp01(0.04 + 0.45 * (1 - v.arms) + (flocc ? 0.15 : 0) + (t.arms ? 0 : 0.2));
  const lambda = 0.6 + 2.4 * v.arms;
  // Judged on the image, only the arms that show point to their count; the rest of the
  // guess is the two-armed default.
  const countShown = v.fromImage ? v.arms : 1;
  const w: number[] = [];
  let ws = 0;
  for (let k = 1; k <= 5; k++) {
    const e = (countShown * Math.exp(-lambda * Math.abs(k - count)) + (1 - countShown) * Math.exp(-lambda * Math.abs(k - 2))) * (k === 2 ? 1.3 : 1);
    w.push(e);
    ws += e;
  }
  model['spiral-arm-count'] = {
    1: ((1 - cant) * w[0]) / ws, 2: ((1 - cant) * w[1]) / ws, 3: ((1 - cant) * w[2]) / ws, 4: ((1 - cant) * w[3]) / ws,
    'more-than-4': ((1 - cant) * w[4]) / ws, 'cant-tell': cant,
  };

  // --- merging: perceived interaction stage. Judged on the image, what the cutout shows
  // (perceivedMergerStage); the analytic model lets 35% of the true stage through whatever
  // its scores say.
  const stage = { none: 0, 'minor-disturbance': 1, 'major-disturbance': 2, merger: 3 }[t.mergerState];
  const mu = v.fromImage ? stageSeen : stage * (0.35 + 0.65 * Math.max(v.tidal, v.companion));
  const [mNone, mMinor, mMajor, mMerger] = ordinal(mu, 0.3 + 0.15 * (1 - v.detail), [0.5, 1.5, 2.5]);
  model.merging = { none: mNone, 'minor-disturbance': mMinor, 'major-disturbance': mMajor, merger: mMerger };

  // --- GZ2's "anything odd?" (rings, lenses, mergers, dust lanes, irregulars)
  const odd = [0.8 * v.ring, 0.8 * v.lens, 0.7 * v.tidal, 0.6 * mergerSeen, 0.5 * v.dust,
    t.morphType === 'irregular' ? 0.6 * v.detail : 0];
  let oddKeep = 0.95;
  for (const o of odd) oddKeep *= 1 - o;
  model['something-odd'] = { yes: 1 - oddKeep, no: oddKeep };

  // --- GZ2's "which odd feature?": asked after "yes", so each answer is the share of the
  // oddness its feature explains; a small "other" for what volunteers cannot name.
  // Tidal light reads as a disturbance, or (judged on the image) as part of a merger where the
  // galaxy looks like one. Analytic mode: the true state, a resolved body standing in for an
  // unseen disturbance.
  const disturbedState = t.mergerState === 'minor-disturbance' || t.mergerState === 'major-disturbance';
  const disturbed = v.fromImage ? v.tidal * (0.6 - 0.3 * mergerSeen) : disturbedState ? 0.6 * Math.max(v.tidal, v.detail) : 0.3 * v.tidal;
  const merger = v.fromImage ? 0.7 * mergerSeen : isMerger ? 0.7 * Math.max(v.companion, v.tidal) : 0;
  const feature = {
    ring: 0.8 * v.ring, 'lens-or-arc': 0.8 * v.lens, disturbed, irregular: odd[5], 'dust-lane': odd[4], merger, other: 0.06,
  };
  const total = Object.values(feature).reduce((a, b) => a + b, 0);
  model['odd-feature'] = Object.fromEntries(Object.entries(feature).map(([k, p]) => [k, p / total]));
  return model;
}

/** GZ2 answer names that merge or rename decals-dr5 answers. */
const GZ2_ALIASES: Record<string, Record<string, string[]>> = {
  bar: { yes: ['strong', 'weak'], no: ['no'] },
  'bulge-size': { dominant: ['dominant'], obvious: ['large', 'moderate'], 'just-noticeable': ['small'], no: ['none'] },
  'how-rounded': { cigar: ['cigar-shaped'] },
  'bulge-shape': { round: ['rounded'], boxy: ['boxy'], 'no-bulge': ['none'] },
};

/**
 * The answer-model concept (decals-dr5 question name) a schema question is answered from:
 * its name without a `-gz2` suffix; GZ2's bulge shape is the edge-on bulge.
 * @example answerConcept('bulge-shape-gz2') // 'edge-on-bulge'
 */
export function answerConcept(question: string): string {
  const base = question.replace(/-gz2$/, '');
  return base === 'bulge-shape' ? 'edge-on-bulge' : base;
}

/** Volunteer noise: a small share of every vote is a random click. */
const CLICK_NOISE = 0.02;

/**
 * Oracle probabilities for a schema: each question's answers looked up in the answer model
 * (by question name, without a `-gz2` suffix; GZ2 answers via aliases), mixed with a little
 * volunteer noise. Questions the model does not know get uniform probabilities.
 */
export function oracleFor(model: AnswerModel, schema: Schema): Float64Array {
  const out = new Float64Array(schema.nAnswers);
  for (const q of schema.questions) {
    const base = q.name.replace(/-gz2$/, '');
    const probs = model[answerConcept(q.name)];
    const k = q.answers.length;
    let sum = 0;
    q.answers.forEach((a, i) => {
      let p = 0;
      if (probs) {
        const alias = GZ2_ALIASES[base]?.[a];
        if (alias) for (const x of alias) p += probs[x] ?? 0;
        else p = probs[a] ?? 0;
      }
      out[q.start + i] = p;
      sum += p;
    });
    for (let i = 0; i < k; i++) {
      const p = sum > 0 ? out[q.start + i] / sum : 1 / k;
      out[q.start + i] = (1 - CLICK_NOISE) * p + CLICK_NOISE / k;
    }
  }
  return out;
}

/**
 * Number of volunteers for a galaxy in a campaign: GZ DECaLS had 140k of 314k galaxies (≈45%)
 * with ≥ 30 classifications (the DR1/2 campaigns, 30–60 each) and the rest about 5 (DR5
 * retirement); GZ2 (`campaign` 'gz2') classified every galaxy 30–70 times.
 */
export function volunteerCount(rng: Rng, campaign = 'decals-dr5'): number {
  // GZ2 retired a galaxy after ~40–50 classifications (median 44, Willett et al. 2013).
  if (campaign === 'gz2') return 30 + Math.min(40, Math.round(rng.gamma(4) * 4));
  if (rng.bool(140 / 314)) return 30 + Math.min(30, Math.round(rng.gamma(3) * 4));
  const u = rng.float();
  return u < 0.05 ? 3 : u < 0.15 ? 4 : u < 0.85 ? 5 : u < 0.95 ? 6 : 7;
}

/**
 * Simulate volunteer votes for a galaxy: each volunteer walks the tree (a question is asked
 * only if the volunteer gave its `askedIf` answer) and samples answers from the oracle.
 */
export function simulateVotes(truth: GalaxyTruth, vis: Visibility, schema: Schema, seed: number): SimulatedVotes {
  const oracle = oracleFor(answerModel(truth, vis), schema);
  const rng = new Rng(seed, truth.index, 'votes', schema.name, vis.survey);
  const volunteers = volunteerCount(rng, schema.name);
  const counts = new Int32Array(schema.nAnswers);
  const chosen = new Int32Array(schema.questions.length);
  for (let v = 0; v < volunteers; v++) {
    chosen.fill(-1);
    for (const q of schema.questions) {
      if (q.parent >= 0 && chosen[q.parent] !== q.parentAnswer) continue;
      const a = rng.choice(oracle, q.start, q.end);
      counts[a]++;
      chosen[q.index] = a;
    }
  }
  return { counts, oracle, volunteers };
}
