/**
 * Colour images like the GZ DECaLS JPEGs: three bands (bluest → blue … reddest → red), each
 * scaled per band, in surface-brightness units (so a galaxy looks the same whatever the
 * cutout's pixel scale), through a colour-preserving asinh stretch (Lupton et al. 2004): the
 * stretch is applied to the mean intensity and every channel is scaled by the same factor.
 * Stretch constants are fixed (not per image), so a shallower survey looks noisier.
 */
import type { SurveyProfile } from './surveys.js';

/** asinh softening, nanomaggies/arcsec² (about the sky noise of one DECaLS pixel). */
const SOFT = 0.35;
/** Surface brightness mapped to full scale, nanomaggies/arcsec² (≈ 19 mag/arcsec²). */
const WHITE = 60;

/** Minimal shape of a rendered cutout that `toRgb` needs. */
export interface RgbSource {
  size: number;
  bands: readonly Float32Array[];
  pixscale_arcsec: number;
}

/**
 * Interleaved 8-bit RGB (size·size·3) of a rendered cutout.
 * @example toRgb(renderGalaxy(t, getSurvey('decals'), { size: 128, seed: 0 }), getSurvey('decals')).length // 49152
 */
export function toRgb(r: RgbSource, survey: SurveyProfile): Uint8Array {
  const n = r.size * r.size;
  const out = new Uint8Array(n * 3);
  const toSb = 1 / (r.pixscale_arcsec * r.pixscale_arcsec);
  const [sb, sg, sr] = survey.rgbScales;
  const kB = sb * toSb;
  const kG = sg * toSb;
  const kR = sr * toSb;
  const [bB, bG, bR] = r.bands;
  const norm = 1 / Math.asinh(WHITE / SOFT);
  for (let i = 0; i < n; i++) {
    const xb = bB[i] * kB;
    const xg = bG[i] * kG;
    const xr = bR[i] * kR;
    const I = (xb + xg + xr) / 3;
    let R = 0;
    let G = 0;
    let B = 0;
    if (I > 0) {
      const f = (Math.asinh(I / SOFT) * norm) / I;
      R = xr * f;
      G = xg * f;
      B = xb * f;
      const m = Math.max(R, G, B);
      if (m > 1) {
        R /= m;
        G /= m;
        B /= m;
      }
    }
    const o = 3 * i;
    out[o] = R <= 0 ? 0 : Math.round(R * 255);
    out[o + 1] = G <= 0 ? 0 : Math.round(G * 255);
    out[o + 2] = B <= 0 ? 0 : Math.round(B * 255);
  }
  return out;
}
