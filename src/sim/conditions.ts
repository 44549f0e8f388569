/**
 * Observing conditions of one galaxy in one survey: the seeing of each band and the imaging
 * artifacts (satellite trails, bad columns, missing-data patches) that land in its cutout.
 * Drawn from a stream keyed by (seed, index, survey), so they do not depend on the cutout size
 * or on other galaxies.
 */
import { Rng } from './rng.js';
import { bandNoise, type SurveyProfile } from './surveys.js';
import type { GalaxyTruth } from './truth.js';

/** A satellite or aircraft trail: a straight line of light, PSF-wide, in one band or all. */
export interface TrailArtifact {
  kind: 'trail';
  /** Band index, or −1 for all bands. */
  band: number;
  angleDeg: number;
  /** Perpendicular distance of the line from the cutout centre, arcsec. */
  offsetArcsec: number;
  /** Flux per unit length, nanomaggies/arcsec. */
  linearFlux: number;
}

/** A hot or dead detector column (vertical line one native pixel wide). */
export interface ColumnArtifact {
  kind: 'bad-column';
  band: number;
  /** Horizontal position as a fraction of the field (0–1). */
  xFrac: number;
  /** Added surface brightness, nmgy/arcsec² (dead columns: NaN = set to 0). */
  level: number;
}

/** A region with no data in one band (chip gap, edge of coverage): set to 0. */
export interface PatchArtifact {
  kind: 'missing-patch';
  band: number;
  /** Field fractions of the rectangle. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export type Artifact = TrailArtifact | ColumnArtifact | PatchArtifact;

export interface Conditions {
  /** PSF FWHM per survey band, arcsec. */
  psfFwhmArcsec: number[];
  artifacts: Artifact[];
}

/** Seeing and artifacts for a galaxy in a survey (deterministic in seed, index, survey). */
export function observingConditions(truth: GalaxyTruth, survey: SurveyProfile, seed: number): Conditions {
  const rng = new Rng(seed, truth.index, survey.name, 'conditions');
  const seeing = survey.psfFwhmArcsec * Math.exp(survey.psfScatter * rng.truncGauss(0, 1, -2.5, 2.5));
  const psfFwhmArcsec = survey.bands.map((b) => seeing * (survey.psfBandScale[b] ?? 1) * Math.exp(0.02 * rng.normal()));
  const artifacts: Artifact[] = [];
  const nb = survey.bands.length;
  const rates = survey.artifactRates;
  const fov = truth.fovArcsec;
  if (rng.bool(rates.trail)) {
    const band = rng.bool(0.7) ? rng.int(nb) : -1;
    const noise = bandNoise(survey, survey.bands[band < 0 ? 1 : band]);
    // Peak per-native-pixel S/N of the trail, a few to tens (log-uniform): peak surface
    // brightness = snr·σ_area/pixscale, and a PSF-wide line of that peak carries √(2π)σ·peak.
    const snr = Math.exp(rng.uniform(Math.log(4), Math.log(60)));
    const sigma = psfFwhmArcsec[band < 0 ? 1 : band] / 2.355;
    const linearFlux = (snr * noise.sigmaArea * Math.sqrt(2 * Math.PI) * sigma) / survey.pixscale_arcsec;
    artifacts.push({ kind: 'trail', band, angleDeg: rng.uniform(0, 180), offsetArcsec: rng.uniform(-0.45, 0.45) * fov, linearFlux });
  }
  if (rng.bool(rates.badColumn)) {
    const band = rng.int(nb);
    const noise = bandNoise(survey, survey.bands[band]);
    const dead = rng.bool(0.4);
    artifacts.push({
      kind: 'bad-column', band, xFrac: rng.uniform(0.05, 0.95),
      level: dead ? NaN : rng.uniform(5, 40) * noise.sigmaPix / (survey.pixscale_arcsec * survey.pixscale_arcsec),
    });
  }
  if (rng.bool(rates.missingPatch)) {
    const band = rng.int(nb);
    // A strip entering from one side of the frame.
    const side = rng.int(4);
    const depth = rng.uniform(0.15, 0.6);
    const r = { x0: 0, x1: 1, y0: 0, y1: 1 };
    if (side === 0) r.x1 = depth;
    else if (side === 1) r.x0 = 1 - depth;
    else if (side === 2) r.y1 = depth;
    else r.y0 = 1 - depth;
    artifacts.push({ kind: 'missing-patch', band, ...r });
  }
  return { psfFwhmArcsec, artifacts };
}
