/**
 * Survey imaging profiles (DECaLS-, SDSS- and DES-like) and the noise model derived from them.
 * Numbers follow DESIGN.md §3: native pixel scale, r-band PSF FWHM, 5σ point-source depth,
 * dark-sky brightness. Per-band values come from the published survey characteristics
 * (rounded); they only need to be realistic enough that the domain gap between surveys is real.
 */
import { OptionError } from '../errors.js';

export type SurveyName = 'decals' | 'sdss' | 'des';

/** A survey's imaging characteristics (frozen objects). All magnitudes AB; fluxes in nanomaggies. */
export interface SurveyProfile {
  readonly name: SurveyName;
  /** Human-readable description. */
  readonly description: string;
  /** Native detector pixel scale, arcsec/pixel. */
  readonly pixscale_arcsec: number;
  /** Median r-band PSF FWHM, arcsec. */
  readonly psfFwhmArcsec: number;
  /** Log-normal scatter of the per-galaxy seeing (natural log). */
  readonly psfScatter: number;
  /** Moffat β of the PSF. */
  readonly psfBeta: number;
  /** r-band 5σ point-source depth, mag. */
  readonly depthMag5sigma: number;
  /** Band names, bluest first (mapped to B, G, R of colour images). */
  readonly bands: string[];
  /** 5σ point-source depth per band, mag. */
  readonly depthMag: Record<string, number>;
  /** Sky surface brightness per band, mag/arcsec². */
  readonly skyMagPerArcsec2: Record<string, number>;
  /** PSF FWHM relative to r per band (seeing ∝ λ^-0.2). */
  readonly psfBandScale: Record<string, number>;
  /** Fraction of the per-pixel sky variance that is read noise. */
  readonly readNoiseFraction: number;
  /** Point sources brighter than this (r mag) saturate and bleed along columns. */
  readonly saturationMag: number;
  /** Probability per cutout of a satellite/aircraft trail, a bad column, a missing-data patch. */
  readonly artifactRates: Readonly<{ trail: number; badColumn: number; missingPatch: number }>;
  /** Colour-image stretch: per-band multipliers (bluest first) of the asinh RGB mapping. */
  readonly rgbScales: number[];
  /**
   * asinh softening of the colour stretch, nmgy/arcsec² — about twice the r-band sky noise of
   * a native pixel, as each survey's own image pipeline sets it (so a shallow survey's JPEGs
   * are not dominated by noise, but hide faint features).
   */
  readonly rgbSoftening: number;
}

/** Dust attenuation per band relative to r (Cardelli-like, A_λ/A_r). */
export const DUST_BAND_RATIO: Readonly<Record<string, number>> = Object.freeze({ g: 1.38, r: 1, i: 0.76, z: 0.56 });

/** Colour of a band relative to r for a source of given g−r (linear fits to galaxy/star colours). */
export function bandMinusR(band: string, gr: number): number {
  switch (band) {
    case 'g':
      return gr;
    case 'r':
      return 0;
    case 'i':
      return -(0.45 * gr + 0.03);
    case 'z':
      return -(0.88 * gr + 0.03);
    default:
      throw new OptionError(`unknown band "${band}"`);
  }
}

/** Freeze a profile and everything in it (the registry is immutable at run time). */
function profile(p: SurveyProfile): SurveyProfile {
  for (const v of Object.values(p)) if (v && typeof v === 'object') Object.freeze(v);
  return Object.freeze(p);
}

const SURVEYS: Readonly<Record<SurveyName, SurveyProfile>> = Object.freeze({
  decals: profile({
    name: 'decals',
    description: 'DECaLS-like (DECam Legacy Survey DR5): 0.262"/px, r PSF ~1.25", r ≈ 23.6, g r z',
    pixscale_arcsec: 0.262,
    psfFwhmArcsec: 1.25,
    psfScatter: 0.1,
    psfBeta: 2.8,
    depthMag5sigma: 23.6,
    bands: ['g', 'r', 'z'],
    depthMag: { g: 24.1, r: 23.6, z: 22.7 },
    skyMagPerArcsec2: { g: 22.0, r: 21.0, z: 18.9 },
    psfBandScale: { g: 1.08, r: 1, z: 0.92 },
    readNoiseFraction: 0.05,
    saturationMag: 13.5,
    artifactRates: { trail: 0.012, badColumn: 0.008, missingPatch: 0.01 },
    rgbScales: [2.7, 1.55, 1.0],
    rgbSoftening: 0.25,
  }),
  sdss: profile({
    name: 'sdss',
    description: 'SDSS-like (SDSS DR7 imaging): 0.396"/px, r PSF ~1.4", r ≈ 22.2, g r i',
    pixscale_arcsec: 0.396,
    psfFwhmArcsec: 1.42,
    psfScatter: 0.1,
    psfBeta: 3.0,
    depthMag5sigma: 22.2,
    bands: ['g', 'r', 'i'],
    depthMag: { g: 22.3, r: 22.2, i: 21.4 },
    skyMagPerArcsec2: { g: 21.9, r: 20.9, i: 20.2 },
    psfBandScale: { g: 1.07, r: 1, i: 0.95 },
    readNoiseFraction: 0.05,
    saturationMag: 14.0,
    artifactRates: { trail: 0.006, badColumn: 0.006, missingPatch: 0.004 },
    rgbScales: [2.5, 1.45, 1.2],
    rgbSoftening: 0.55,
  }),
  des: profile({
    name: 'des',
    description: 'DES-like (Dark Energy Survey DR1): 0.263"/px, r PSF ~0.95", r ≈ 24.0, g r i',
    pixscale_arcsec: 0.263,
    psfFwhmArcsec: 0.95,
    psfScatter: 0.08,
    psfBeta: 3.0,
    depthMag5sigma: 24.0,
    bands: ['g', 'r', 'i'],
    depthMag: { g: 24.3, r: 24.0, i: 23.4 },
    skyMagPerArcsec2: { g: 22.1, r: 21.1, i: 20.3 },
    psfBandScale: { g: 1.07, r: 1, i: 0.95 },
    readNoiseFraction: 0.05,
    saturationMag: 14.5,
    artifactRates: { trail: 0.01, badColumn: 0.008, missingPatch: 0.008 },
    rgbScales: [2.5, 1.45, 1.2],
    rgbSoftening: 0.23,
  }),
});

/** Names of the built-in survey profiles. */
export const surveyNames = (): SurveyName[] => Object.keys(SURVEYS) as SurveyName[];

/**
 * A built-in survey profile by name.
 * @example getSurvey('decals').pixscale_arcsec // 0.262
 */
export function getSurvey(name: string): SurveyProfile {
  const s = (SURVEYS as Record<string, SurveyProfile>)[name];
  if (!s) throw new OptionError(`unknown survey "${name}"; surveys: ${surveyNames().join(', ')}`);
  return s;
}

/** AB magnitude → nanomaggies. */
export const magToNmgy = (m: number): number => Math.pow(10, (22.5 - m) / 2.5);
/** Nanomaggies → AB magnitude. */
export const nmgyToMag = (f: number): number => 22.5 - 2.5 * Math.log10(f);

/** Noise of one band at the survey's native pixel scale. */
export interface BandNoise {
  /** Sky + read noise per native pixel, nanomaggies (1σ). */
  sigmaPix: number;
  /** Same, per unit area: noise of an aperture of area A arcsec² is sigmaArea·√A. */
  sigmaArea: number;
  /** Source counts per nanomaggy: Poisson variance of a flux F (nmgy) is F / gain. */
  gain: number;
}

/**
 * Per-pixel noise from the 5σ point-source depth. An optimally weighted point-source flux has
 * error σ_pix·√NEA, with NEA = 4π σ_psf² / pixel area (Gaussian PSF, σ_psf = FWHM/2.355), so
 * σ_pix = (f₅/5)/√NEA. The sky is background-limited: its Poisson variance (1 − readFrac)·σ_pix²
 * equals sky flux per pixel / gain, which fixes the gain used for source Poisson noise.
 */
export function bandNoise(survey: SurveyProfile, band: string, psfFwhmArcsec?: number): BandNoise {
  const depth = survey.depthMag[band];
  const sky = survey.skyMagPerArcsec2[band];
  if (depth === undefined || sky === undefined) throw new OptionError(`survey ${survey.name} has no band "${band}"`);
  const fwhm = psfFwhmArcsec ?? survey.psfFwhmArcsec * (survey.psfBandScale[band] ?? 1);
  const sigPsf = fwhm / 2.355;
  const pixArea = survey.pixscale_arcsec * survey.pixscale_arcsec;
  const nea = (4 * Math.PI * sigPsf * sigPsf) / pixArea;
  const sigmaPix = magToNmgy(depth) / 5 / Math.sqrt(nea);
  const skyPix = magToNmgy(sky) * pixArea;
  const gain = skyPix / ((1 - survey.readNoiseFraction) * sigmaPix * sigmaPix);
  return { sigmaPix, sigmaArea: sigmaPix / survey.pixscale_arcsec, gain };
}
