/**
 * Radial light profiles as lookup tables, and the small amount of cosmology the population
 * model needs.
 *
 * A Sérsic profile I(u) = exp(−b_n (u^{1/n} − 1)), u = r / r_e, is tabulated once per n on a
 * grid uniform in s = √u (fine sampling near the cusp, where n ≥ 3 profiles are steep) and
 * tapered smoothly to zero between 3 and 4.5 r_e (below the sky noise of any survey here): real profiles do not extend to infinity and a
 * bounded profile lets the cutout hold (almost) all of the catalogue flux. The table is
 * normalised to unit total flux for r_e = 1 and axis ratio 1.
 */

/** Sérsic b_n (Ciotti & Bertin 1999 expansion, DESIGN.md §3b). */
export function sersicB(n: number): number {
  return 2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n * n);
}

/** Profile taper: full light inside TAPER_IN r_e, none beyond U_MAX r_e. */
const TAPER_IN = 3;
export const U_MAX = 4.5;
const S_MAX = Math.sqrt(U_MAX);
export const PROFILE_TABLE_SIZE = 2048;

/** A tabulated radial profile (unit total flux for r_e = 1, q = 1). */
export interface RadialProfile {
  readonly n: number;
  /** Intensity samples at s = i·ds, s = √(r / r_e), i = 0…SIZE (one guard entry). */
  readonly intensity: Float64Array;
  /** Enclosed flux fraction at the same samples. */
  readonly enclosed: Float64Array;
  /** 1 / ds: multiply √u by this to get a fractional table index. */
  readonly invDs: number;
}

const cache = new Map<number, RadialProfile>();

/** Sérsic index quantised to the table grid (0.05); truth stores this rounded value. */
export const quantiseSersic = (n: number): number => Math.round(Math.min(8, Math.max(0.5, n)) * 20) / 20;

/** The tabulated Sérsic profile of index n (cached; n is quantised to 0.05). */
export function sersicProfile(nIn: number): RadialProfile {
  const n = quantiseSersic(nIn);
  const hit = cache.get(n);
  if (hit) return hit;
  const m = PROFILE_TABLE_SIZE;
  const ds = S_MAX / m;
  const b = sersicB(n);
  const intensity = new Float64Array(m + 2);
  for (let i = 0; i <= m + 1; i++) {
    const s = i * ds;
    const u = s * s;
    let v = Math.exp(-b * (Math.pow(u, 1 / n) - 1));
    if (u > TAPER_IN) v *= u >= U_MAX ? 0 : 0.5 * (1 + Math.cos((Math.PI * (u - TAPER_IN)) / (U_MAX - TAPER_IN)));
    intensity[i] = v;
  }
  // Flux = ∫ I 2πu du with u = s², du = 2s ds  →  ∫ I 4π s³ ds (Simpson on a fine sub-grid
  // of the linear interpolant would be overkill: trapezoid on 2048 points is < 1e-5 here,
  // except for the cusp, whose flux weight s³ vanishes).
  const enclosed = new Float64Array(m + 2);
  let acc = 0;
  let prev = 0;
  for (let i = 1; i <= m + 1; i++) {
    const s0 = (i - 1) * ds;
    const s1 = i * ds;
    const f1 = intensity[i] * 4 * Math.PI * s1 * s1 * s1;
    const f0 = i === 1 ? 0 : prev;
    // Higher-order near the cusp: split the interval in 8 for the first few cells.
    if (i < 16) {
      let sub = 0;
      for (let k = 0; k < 8; k++) {
        const s = s0 + ((k + 0.5) / 8) * ds;
        const u = s * s;
        sub += Math.exp(-b * (Math.pow(u, 1 / n) - 1)) * 4 * Math.PI * s * s * s * (ds / 8);
      }
      acc += sub;
    } else {
      acc += 0.5 * (f0 + f1) * ds;
    }
    prev = f1;
    enclosed[i] = acc;
  }
  const total = acc;
  for (let i = 0; i <= m + 1; i++) {
    intensity[i] /= total;
    enclosed[i] /= total;
  }
  const p: RadialProfile = Object.freeze({ n, intensity, enclosed, invDs: 1 / ds });
  cache.set(n, p);
  return p;
}

/** Intensity (unit total flux, r_e = 1, q = 1) of a profile at u = r / r_e. */
export function profileIntensity(p: RadialProfile, u: number): number {
  const x = Math.sqrt(Math.max(u, 0)) * p.invDs;
  if (x >= PROFILE_TABLE_SIZE) return 0;
  const i = x | 0;
  return p.intensity[i] + (x - i) * (p.intensity[i + 1] - p.intensity[i]);
}

/** Enclosed flux fraction of a profile within u = r / r_e (circular). */
export function enclosedFraction(p: RadialProfile, u: number): number {
  if (u <= 0) return 0;
  const x = Math.sqrt(u) * p.invDs;
  if (x >= PROFILE_TABLE_SIZE) return 1;
  const i = x | 0;
  const f = x - i;
  return p.enclosed[i] + f * (p.enclosed[i + 1] - p.enclosed[i]);
}

/** One circular component for half-light computations. */
export interface ProfilePart {
  profile: RadialProfile;
  re: number;
  weight: number;
}

/** Radius enclosing a fraction `frac` of the summed light of circular profiles (bisection). */
export function compositeRadius(parts: readonly ProfilePart[], frac = 0.5): number {
  let total = 0;
  let hi = 0;
  for (const p of parts) {
    total += p.weight;
    hi = Math.max(hi, p.re * U_MAX);
  }
  if (total <= 0 || hi <= 0) return 0;
  let lo = 0;
  for (let it = 0; it < 50; it++) {
    const mid = 0.5 * (lo + hi);
    let e = 0;
    for (const p of parts) if (p.re > 0) e += p.weight * enclosedFraction(p.profile, mid / p.re);
    if (e / total < frac) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

// ---- cosmology (flat ΛCDM, H0 = 70, Ωm = 0.3) ----
const H0 = 70;
const OM = 0.3;
const C_KMS = 299792.458;

const DC_STEP = 0.0005;
const DC_MAX_Z = 2;
/** Comoving distance on a z grid (cumulative Simpson on half-steps), Mpc. */
const DC_TABLE: Float64Array = (() => {
  const n = Math.round(DC_MAX_Z / DC_STEP);
  const t = new Float64Array(n + 2);
  const e = (x: number): number => 1 / Math.sqrt(OM * (1 + x) ** 3 + 1 - OM);
  for (let i = 1; i <= n + 1; i++) {
    const z0 = (i - 1) * DC_STEP;
    t[i] = t[i - 1] + (DC_STEP / 6) * (e(z0) + 4 * e(z0 + DC_STEP / 2) + e(z0 + DC_STEP));
  }
  for (let i = 0; i <= n + 1; i++) t[i] *= C_KMS / H0;
  return t;
})();

/** Comoving distance in Mpc (flat ΛCDM; tabulated, linear interpolation, 0 ≤ z ≤ 2). */
export function comovingDistanceMpc(z: number): number {
  const x = Math.min(Math.max(z, 0), DC_MAX_Z) / DC_STEP;
  const i = Math.min(x | 0, DC_TABLE.length - 2);
  return DC_TABLE[i] + (x - i) * (DC_TABLE[i + 1] - DC_TABLE[i]);
}

/** Angular-diameter distance, Mpc. */
export const angularDiameterDistanceMpc = (z: number): number => comovingDistanceMpc(z) / (1 + z);

/** Distance modulus, mag. */
export const distanceModulus = (z: number): number => 5 * Math.log10(comovingDistanceMpc(z) * (1 + z) * 1e5);

/** Physical kpc per arcsec at redshift z. */
export const kpcPerArcsec = (z: number): number => (angularDiameterDistanceMpc(z) * 1000 * Math.PI) / (180 * 3600);
