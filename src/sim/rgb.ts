/**
 * Colour images like the GZ DECaLS JPEGs: three bands (bluest → blue … reddest → red), each
 * scaled per band, in surface-brightness units (so a galaxy looks the same whatever the
 * cutout's pixel scale), through a colour-preserving asinh stretch (Lupton et al. 2004): the
 * stretch is applied to the mean intensity and every channel is scaled by the same factor.
 * Stretch constants are fixed per survey (not per image): the softening follows the survey's
 * sky noise, as each survey's image pipeline does.
 */
import type { SurveyProfile } from './surveys.js';

/** Surface brightness mapped to full scale, nanomaggies/arcsec² (≈ 18.8 mag/arcsec²). */
const WHITE = 30;

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
  const { table, invSoft, invDt, norm } = stretchTable(survey.rgbSoftening);
  const tMax = TABLE_SIZE;
  for (let i = 0; i < n; i++) {
    const xb = bB[i] * kB;
    const xg = bG[i] * kG;
    const xr = bR[i] * kR;
    const I = (xb + xg + xr) * (1 / 3);
    const o = 3 * i;
    if (!(I > 0)) {
      out[o] = 0;
      out[o + 1] = 0;
      out[o + 2] = 0;
      continue;
    }
    // f(I) = asinh(I/soft)·norm / I, tabulated in t = √(I/soft).
    const t = Math.sqrt(I * invSoft) * invDt;
    let f: number;
    if (t < tMax) {
      const j = t | 0;
      f = table[j] + (t - j) * (table[j + 1] - table[j]);
    } else {
      f = (Math.asinh(I * invSoft) * norm) / I;
    }
    let R = xr * f;
    let G = xg * f;
    let B = xb * f;
    const m = R > G ? (R > B ? R : B) : G > B ? G : B;
    if (m > 1) {
      const s = 1 / m;
      R *= s;
      G *= s;
      B *= s;
    }
    out[o] = R <= 0 ? 0 : (R * 255 + 0.5) | 0;
    out[o + 1] = G <= 0 ? 0 : (G * 255 + 0.5) | 0;
    out[o + 2] = B <= 0 ? 0 : (B * 255 + 0.5) | 0;
  }
  return out;
}

const TABLE_SIZE = 4096;
/** Largest √(I/soft) tabulated; beyond it the stretch is computed exactly (rare, saturated). */
const T_MAX = 24;

interface Stretch {
  table: Float64Array;
  invSoft: number;
  invDt: number;
  norm: number;
}

const stretches = new Map<number, Stretch>();

/** The asinh stretch factor f(I) = asinh(I/soft)·norm/I tabulated on t = √(I/soft). */
function stretchTable(soft: number): Stretch {
  const hit = stretches.get(soft);
  if (hit) return hit;
  const invSoft = 1 / soft;
  const norm = 1 / Math.asinh(WHITE * invSoft);
  const dt = T_MAX / TABLE_SIZE;
  const table = new Float64Array(TABLE_SIZE + 2);
  for (let j = 0; j <= TABLE_SIZE + 1; j++) {
    const x = (j * dt) ** 2; // I / soft
    table[j] = x === 0 ? norm * invSoft : (Math.asinh(x) * norm) / (x * soft);
  }
  const st = { table, invSoft, invDt: 1 / dt, norm };
  stretches.set(soft, st);
  return st;
}
