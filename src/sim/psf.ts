/**
 * Moffat point-spread functions: transfer functions for FFT convolution of the galaxy light
 * and direct rendering of point sources (stars) on top of the convolved image.
 *
 * Moffat I(r) ∝ [1 + (r/α)²]^−β with FWHM = 2α√(2^{1/β} − 1) (DESIGN.md §3b); its total flux
 * is πα²/(β − 1) times the peak.
 */
import type { Grid } from './components.js';

/** Moffat α (pixels or arcsec, like the FWHM) for a FWHM and β. */
export const moffatAlpha = (fwhm: number, beta: number): number => fwhm / (2 * Math.sqrt(Math.pow(2, 1 / beta) - 1));

/** Tabulated Moffat transfer function f_β(x), x = 2π·k·α (k in cycles per unit of α). */
interface MoffatOtf {
  table: Float64Array;
  invDx: number;
}

const OTF_X_MAX = 60;
const OTF_SIZE = 4096;
const otfCache = new Map<number, MoffatOtf>();

/** x^ν K_ν(x) by quadrature of K_ν(x) = ∫₀^∞ exp(−x cosh t) cosh(νt) dt. */
function xnuKnu(x: number, nu: number): number {
  const dt = 0.01;
  let s = 0.5 * Math.exp(-x);
  for (let t = dt; ; t += dt) {
    const e = x * Math.cosh(t);
    const v = Math.exp(nu * t - e) + Math.exp(-nu * t - e);
    s += 0.5 * v;
    if (e > 60 + nu * t) break;
  }
  return Math.pow(x, nu) * s * dt;
}

/**
 * The optical transfer function of a Moffat PSF is circular and, for x = 2π|k|α,
 * f_β(x) = x^ν K_ν(x) / lim_{x→0} x^ν K_ν(x) with ν = β − 1 (so f(0) = 1: flux is conserved).
 * Tabulated once per β.
 */
function moffatOtf(beta: number): MoffatOtf {
  const hit = otfCache.get(beta);
  if (hit) return hit;
  const nu = beta - 1;
  const norm = xnuKnu(1e-7, nu);
  const table = new Float64Array(OTF_SIZE + 2);
  const dx = OTF_X_MAX / OTF_SIZE;
  table[0] = 1;
  for (let i = 1; i <= OTF_SIZE + 1; i++) table[i] = i * dx > 50 ? 0 : xnuKnu(i * dx, nu) / norm;
  const otf = { table, invDx: 1 / dx };
  otfCache.set(beta, otf);
  return otf;
}

/**
 * Transfer function (Fourier transform of the PSF, real and even) of a Moffat PSF of FWHM
 * `fwhmPx` cutout pixels on an n×n FFT grid, times the transform of a square pixel response
 * of width max(1, boxW) pixels: sampling a point-sampled model at pixel centres after this
 * box equals integrating it over pixels, and when the cutout oversamples the detector (boxW
 * native pixels per cutout pixel > 1) the wider box removes detail the detector never saw.
 * Computed analytically (no kernel image, no FFT); aliasing beyond Nyquist is neglected.
 */
export function moffatTransfer(out: Float64Array, n: number, fwhmPx: number, beta: number, boxW: number): void {
  const { table, invDx } = moffatOtf(beta);
  const alpha = moffatAlpha(fwhmPx, beta);
  const w = Math.max(1, boxW);
  const half = n >> 1;
  const sinc = scratch(n);
  const freq2 = scratch2(n);
  for (let k = 0; k <= half; k++) {
    const f = k / n;
    freq2[k] = f * f;
    const x = Math.PI * f * w;
    sinc[k] = x === 0 ? 1 : Math.sin(x) / x;
  }
  const scale = 2 * Math.PI * alpha * invDx;
  // The transfer function depends on |kx| and |ky| only: fill one quadrant and mirror it.
  for (let y = 0; y <= half; y++) {
    const fy = freq2[y];
    const sy = sinc[y];
    const r1 = y * n;
    const r2 = ((n - y) % n) * n;
    for (let x = 0; x <= half; x++) {
      const t = Math.sqrt(fy + freq2[x]) * scale;
      let v = 0;
      if (t < OTF_SIZE) {
        const i = t | 0;
        v = table[i] + (t - i) * (table[i + 1] - table[i]);
      }
      v *= sy * sinc[x];
      const xm = (n - x) % n;
      out[r1 + x] = v;
      out[r1 + xm] = v;
      out[r2 + x] = v;
      out[r2 + xm] = v;
    }
  }
}

let scratchA = new Float64Array(0);
let scratchB = new Float64Array(0);
const scratch = (n: number): Float64Array => (scratchA.length > n ? scratchA : (scratchA = new Float64Array(n + 1)));
const scratch2 = (n: number): Float64Array => (scratchB.length > n ? scratchB : (scratchB = new Float64Array(n + 1)));

/**
 * Add a point source of total `flux` at pixel (cx, cy) into a band image, with a Moffat PSF
 * (normalised analytically, so flux beyond the drawn radius is lost as it would be off the
 * frame). The drawn radius reaches where the wings fall below `floor` per pixel.
 */
export function drawStar(
  img: Float32Array | Float64Array, g: Grid, cx: number, cy: number, flux: number, fwhmPx: number, beta: number, floor: number,
): void {
  const alpha = moffatAlpha(fwhmPx, beta);
  const a2 = alpha * alpha;
  const peak = (flux * (beta - 1)) / (Math.PI * a2);
  // Radius where peak·(1 + r²/α²)^−β = floor.
  const ratio = peak / Math.max(floor, 1e-12);
  const r = ratio <= 1 ? 2 : alpha * Math.sqrt(Math.pow(ratio, 1 / beta) - 1) + 1;
  const R = Math.min(r, 2 * g.size);
  const x0 = Math.max(0, Math.floor(cx - R));
  const x1 = Math.min(g.size, Math.ceil(cx + R) + 1);
  const y0 = Math.max(0, Math.floor(cy - R));
  const y1 = Math.min(g.size, Math.ceil(cy + R) + 1);
  const inv = 1 / a2;
  const sub = fwhmPx < 4 ? 4 : 1;
  for (let y = y0; y < y1; y++) {
    const Y = y - cy;
    for (let x = x0; x < x1; x++) {
      const X = x - cx;
      const d2 = X * X + Y * Y;
      let v: number;
      if (sub > 1 && d2 < 4) {
        v = 0;
        for (let j = 0; j < sub; j++) {
          const yy = Y + (j + 0.5) / sub - 0.5;
          for (let i = 0; i < sub; i++) {
            const xx = X + (i + 0.5) / sub - 0.5;
            v += Math.pow(1 + (xx * xx + yy * yy) * inv, -beta);
          }
        }
        v /= sub * sub;
      } else {
        v = Math.pow(1 + d2 * inv, -beta);
      }
      img[y * g.stride + x] += peak * v;
    }
  }
}
