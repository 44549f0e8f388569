/**
 * Axis ratios measured on an image (for bench/simulate/shape.ts): what shape a galaxy's
 * pixels show, to set against the analytic axis ratio the simulated volunteers read.
 *
 * Images are single-band, row-major `[height, width]` flux arrays (any linear unit); shapes are
 * b/a in (0, 1], independent of the position angle. The outline measures (isophotes) live in
 * src/sim/shape.ts, where the simulated volunteers read them.
 */
import { axisRatioOfMoments } from '../../src/sim/shape.js';

/** Result of {@link adaptiveAxisRatio}. */
export interface AdaptiveShape {
  /** b/a of the matched Gaussian weight (NaN if the iteration lost the light). */
  q: number;
  /** Geometric-mean σ of the matched weight, pixels. */
  sigma: number;
  /** Whether the weight settled within the iteration limit. */
  converged: boolean;
}

/**
 * Adaptive moments (Bernstein & Jarvis 2002): the elliptical Gaussian weight whose
 * covariance equals twice the weighted covariance of the light it weights (for a Gaussian
 * image, the image's own covariance). The shape at the half-light scale, where a bulge
 * dominates; set beside the isophote shape it says how much the outline differs from the core.
 * Needs a core resolved by the pixels (as PSF-convolved renders are): on a pixel-sampled
 * Sérsic n = 4 cusp the weight shrinks onto the central pixels and reads their shape.
 * @param image `[height, width]` row-major
 * @param width pixels per row
 * @param sigma0 starting weight σ, pixels (about the light's; the result does not depend on it)
 */
export function adaptiveAxisRatio(image: ArrayLike<number>, width: number, sigma0: number): AdaptiveShape {
  const height = image.length / width;
  let cx = (width - 1) / 2, cy = (height - 1) / 2;
  let mxx = sigma0 * sigma0, myy = mxx, mxy = 0;
  for (let it = 0; it < 100; it++) {
    const det = mxx * myy - mxy * mxy;
    const ixx = myy / det, iyy = mxx / det, ixy = -mxy / det;
    let s0 = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (let y = 0; y < height; y++) {
      const dy = y - cy;
      for (let x = 0; x < width; x++) {
        const dx = x - cx;
        const r2 = ixx * dx * dx + 2 * ixy * dx * dy + iyy * dy * dy;
        if (r2 > 40) continue;
        const w = Math.exp(-0.5 * r2) * image[y * width + x];
        s0 += w; sx += w * dx; sy += w * dy; sxx += w * dx * dx; syy += w * dy * dy; sxy += w * dx * dy;
      }
    }
    if (!(s0 > 0)) return { q: NaN, sigma: NaN, converged: false };
    const mx = sx / s0, my = sy / s0;
    // Image covariance C, weight M: the weighted covariance is (C⁻¹ + M⁻¹)⁻¹, = M/2 when M = C.
    const nxx = 2 * (sxx / s0 - mx * mx), nyy = 2 * (syy / s0 - my * my), nxy = 2 * (sxy / s0 - mx * my);
    cx += mx; cy += my;
    const change = Math.abs(nxx - mxx) + Math.abs(nyy - myy) + Math.abs(nxy - mxy);
    mxx = Math.max(nxx, 0.1); myy = Math.max(nyy, 0.1); mxy = nxy;
    if (mxy * mxy >= mxx * myy) mxy = Math.sign(mxy) * 0.999 * Math.sqrt(mxx * myy);
    if (change < 1e-6 * (mxx + myy)) return { q: axisRatioOfMoments(mxx, myy, mxy), sigma: Math.pow(mxx * myy - mxy * mxy, 0.25), converged: true };
  }
  return { q: axisRatioOfMoments(mxx, myy, mxy), sigma: Math.pow(mxx * myy - mxy * mxy, 0.25), converged: false };
}
