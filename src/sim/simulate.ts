/**
 * One simulated catalogue entry end to end: truth → survey rendering → colour image →
 * volunteer votes, flattened into a catalogue row (GZ column names at the file edge).
 */
import { OptionError } from '../errors.js';
import { schemaTrees, type Schema } from '../schema/index.js';
import { renderGalaxy, type Rendered } from './render.js';
import { toRgb } from './rgb.js';
import { getSurvey, type SurveyName } from './surveys.js';
import { MAG_BRIGHT, MAG_FAINT, MAG_LIMIT_MAX } from './population.js';
import { DEFAULT_VISIBILITY, imageVisibility, VISIBILITY_MODES, type VisibilityMode } from './seen.js';
import { sampleTruth, type GalaxyTruth } from './truth.js';
import { ringLabel, visibleTags } from './visibility.js';
import { perceivedMergerStage, simulateVotes, type SimulatedVotes } from './votes.js';

/**
 * Version of what the simulator makes: bumped whenever a galaxy's catalogue row, votes or
 * images change for the same options, so a survey on disk made by another version is not
 * resumed into, or reused as, this one (runner.ts checks its manifest).
 *   4: volunteers judge the axis ratio, the edge-on bulge and the bar's strength on the image;
 *      the catalogue records q_obs (and vis_bulge, vis_boxy, vis_bar_contrast in image mode).
 *   5: image mode only: the interaction stage is read off the image (tidal light's contrast,
 *      companions' brightness and distance; catalogue merging_seen, vis_companion), the outline
 *      stops at the sky noise, and bars are called strong/weak on a recalibrated scale.
 */
export const SIMULATOR_VERSION = 5;

/** Options of {@link simulateGalaxy}. */
export interface SimulateGalaxyOptions {
  /** Simulation seed. */
  seed: number;
  /** Survey profile to image the galaxy with. */
  survey: SurveyName;
  /** Cutout side, pixels. @default 128 */
  size?: number;
  /**
   * Decision tree(s) volunteers answer; `a+b` simulates each campaign with its own
   * volunteers (adding a tree leaves the others' votes unchanged). @default 'decals-dr5'
   */
  schema?: string;
  /**
   * Faint limit of the population, r-band AB mag: 17.77 is the SDSS spectroscopic sample GZ2
   * drew from; a deeper limit (e.g. 20 for a DES-like sample) adds fainter, smaller and more
   * distant galaxies. @default 17.77
   */
  magLimit?: number;
  /**
   * How the volunteers judge what is visible: `image`, measured on the displayed cutout, so
   * votes use only what the pixels show (seen.ts), or `analytic` estimates from the truth
   * (≈ 2× faster; what surveys made before the switch used). @default 'image'
   */
  visibility?: VisibilityMode;
}

/** Check a visibility mode (the library and CLI share the message). */
export function checkVisibilityMode(mode: string): VisibilityMode {
  if (!(VISIBILITY_MODES as readonly string[]).includes(mode)) {
    throw new OptionError(`--visibility must be one of ${VISIBILITY_MODES.join(', ')}, got '${mode}'`);
  }
  return mode as VisibilityMode;
}

/** Check a faint limit (the library and CLI share the message). */
export function checkMagLimit(magLimit: number): number {
  if (!(Number.isFinite(magLimit) && magLimit > MAG_BRIGHT + 1 && magLimit <= MAG_LIMIT_MAX)) {
    throw new OptionError(`--mag-limit must be an r magnitude above ${MAG_BRIGHT + 1} and at most ${MAG_LIMIT_MAX}, got ${magLimit}`);
  }
  return magLimit;
}

/** A simulated catalogue entry. */
export interface SimulatedGalaxy {
  id: string;
  /** Catalogue row: truth, visibility, tags, ring label, votes and oracle probabilities. */
  row: Record<string, string | number | boolean>;
  /** size·size·3 interleaved 8-bit RGB. */
  rgb: Uint8Array;
  /** Per-band images in nanomaggies/pixel (bluest first). */
  bands: Float32Array[];
  pixscale_arcsec: number;
  bandNames: string[];
}

const round = (x: number, d: number): number => {
  const k = 10 ** d;
  return Math.round(x * k) / k;
};

/** Build the catalogue row of a galaxy (fixed column order, every row has every column). */
export function catalogueRow(
  t: GalaxyTruth, r: Rendered, campaigns: readonly { schema: Schema; votes: SimulatedVotes }[], surveyName: string,
): Record<string, string | number | boolean> {
  const v = r.visibility;
  const row: Record<string, string | number | boolean> = {
    id: t.id,
    ra: round(t.ra, 6),
    dec: round(t.dec, 6),
    survey: surveyName,
    pixscale_arcsec: round(r.pixscale_arcsec, 5),
    fov_arcsec: round(t.fovArcsec, 3),
    psf_fwhm_arcsec: round(v.psfFwhmArcsec, 3),
    morph_type: t.morphType,
    hubble_stage: t.hubbleStage,
    redshift: round(t.redshift, 5),
    mag_r: round(t.magR, 3),
    abs_mag_r: round(t.absMagR, 3),
    g_r: round(t.gr, 3),
    r50_arcsec: round(t.r50Arcsec, 3),
    mu50_mag_per_arcsec2: round(v.mu50, 3),
    axis_ratio: round(t.axisRatio, 3),
    position_angle_deg: round(t.positionAngleDeg, 2),
    inclination_deg: round(t.inclinationDeg, 2),
    bulge_fraction: round(t.bulge?.fraction ?? 0, 4),
    bulge_sersic_n: t.bulge?.n ?? 0,
    bulge_re_arcsec: round(t.bulge?.reArcsec ?? 0, 3),
    bulge_shape: t.bulgeShape,
    disk_scale_arcsec: round(t.disk?.scaleArcsec ?? 0, 3),
    bar_strength: round(t.bar?.strength ?? 0, 3),
    bar_length_arcsec: round(t.bar?.lengthArcsec ?? 0, 3),
    arm_count: t.arms?.count ?? 0,
    pitch_angle_deg: round(t.arms?.pitchDeg ?? 0, 2),
    ring_type: t.ring?.type ?? 'none',
    ring_radius_arcsec: round(t.ring?.radiusArcsec ?? 0, 3),
    dust_tau: round(t.dust?.tau ?? 0, 3),
    merger_state: t.mergerState,
    n_companions: t.companions.length,
    n_tidal_features: t.tails.length + t.shells.length,
    n_clumps: t.clumps.length,
    lens_theta_e_arcsec: round(t.lens?.thetaEArcsec ?? 0, 3),
    n_stars: t.stars.length,
    artifacts: r.conditions.artifacts.map((a) => a.kind).join(','),
    vis_snr: round(v.snr, 2),
    vis_resolution: round(v.resolution, 3),
    vis_detail: round(v.detail, 3),
    vis_arms: round(v.arms, 3),
    vis_bar: round(v.bar, 3),
    vis_ring: round(v.ring, 3),
    vis_tidal: round(v.tidal, 3),
    vis_artifact: round(v.artifact, 3),
    // The axis ratio volunteers read: the outline of the light when judged on the image.
    q_obs: round(v.qObs, 3),
    // Scores only the image judges (seen.ts); absent from analytic-mode catalogues.
    ...(v.fromImage ? {
      vis_bulge: round(v.bulge ?? 0, 3), vis_boxy: round(v.boxy ?? 0, 3), vis_bar_contrast: round(v.barContrast ?? 0, 3),
      vis_companion: round(v.companion, 3), merging_seen: round(perceivedMergerStage(t, v), 3),
    } : {}),
    ring: ringLabel(t, v),
    tags: visibleTags(t, v).join(','),
    volunteers: campaigns[0].votes.volunteers,
  };
  for (const { schema, votes } of campaigns) {
    for (let i = 0; i < schema.nAnswers; i++) row[schema.answerColumns[i]] = votes.counts[i];
    for (const q of schema.questions) {
      let s = 0;
      for (let i = q.start; i < q.end; i++) s += votes.counts[i];
      row[`${q.name}_total`] = s;
    }
  }
  for (const { schema, votes } of campaigns) {
    for (let i = 0; i < schema.nAnswers; i++) row[`oracle_${schema.answerColumns[i]}`] = round(votes.oracle[i], 5);
  }
  return row;
}

/**
 * Simulate catalogue entry `index`: sample its truth, image it in a survey, make the colour
 * cutout and the volunteers' votes (GZ DECaLS DR5 tree by default). Deterministic in (index,
 * seed, survey, size, schema, magLimit); the id and truth are the same in every survey.
 */
export function simulateGalaxy(index: number, opts: SimulateGalaxyOptions): SimulatedGalaxy {
  if (!Number.isSafeInteger(index) || index < 0) throw new OptionError(`galaxy index must be a non-negative integer, got ${index}`);
  if (!Number.isSafeInteger(opts.seed)) throw new OptionError(`seed must be an integer, got ${opts.seed}`);
  const survey = getSurvey(opts.survey);
  const schemas = schemaTrees(opts.schema ?? 'decals-dr5');
  const truth = sampleTruth(index, opts.seed, checkMagLimit(opts.magLimit ?? MAG_FAINT));
  const size = opts.size ?? 128;
  const rendered = renderGalaxy(truth, survey, { size, seed: opts.seed });
  const rgb = toRgb(rendered, survey);
  const r = checkVisibilityMode(opts.visibility ?? DEFAULT_VISIBILITY) === 'image'
    ? { ...rendered, visibility: imageVisibility(truth, survey, { size, seed: opts.seed }, rgb, rendered.visibility) }
    : rendered;
  const campaigns = schemas.map((schema) => ({ schema, votes: simulateVotes(truth, r.visibility, schema, opts.seed) }));
  return {
    id: truth.id,
    row: catalogueRow(truth, r, campaigns, survey.name),
    rgb,
    bands: r.bands,
    pixscale_arcsec: r.pixscale_arcsec,
    bandNames: r.bandNames,
  };
}
