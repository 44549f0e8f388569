/**
 * Choosing which galaxies to ask the researcher about next.
 *
 * Expected improvement (Jones et al. 1998), as in Walmsley et al. 2022 and Astronomaly's
 * "Protege": for a galaxy with posterior interest μ ± σ and best score seen so far y*,
 *
 *   EI = (μ − y* − ξ) Φ(z) + σ φ(z),  z = (μ − y* − ξ) / σ
 *
 * which is large where the model predicts high interest (exploitation) or is unsure
 * (exploration); the trade-off ξ (score units) shifts the balance towards exploration.
 *
 * EI grows with both μ and σ, and σ never exceeds the prior standard deviation σ₀, so
 * EI(μ, σ₀) bounds every galaxy's EI from its mean alone. The top-k search therefore
 * visits candidates by decreasing μ and computes σ (the expensive part: O(n²) per galaxy)
 * only until the bound drops below the k-th best EI found — exact, and usually a small
 * fraction of a 10⁶-galaxy survey.
 *
 * A batch is chosen one galaxy at a time with the kriging believer (Ginsbourger et al. 2010):
 * each pick is treated as observed at its predicted mean, which leaves the mean unchanged and
 * shrinks σ around it, so the next pick goes elsewhere (ConditionedVariance). σ only shrinks,
 * so the bound above still holds and the search stays exact.
 */
import type { FeatureMatrix } from './features.js';
import type { GaussianProcess } from './gp.js';

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 for erfc; |error| < 1e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Expected improvement over `best` by more than `xi`, for posterior mean μ and std σ. */
export function expectedImprovement(mu: number, sigma: number, best: number, xi: number): number {
  const gain = mu - best - xi;
  if (!(sigma > 0)) return Math.max(gain, 0);
  const z = gain / sigma;
  return gain * normalCdf(z) + sigma * INV_SQRT_2PI * Math.exp(-(z * z) / 2);
}

/** Options of {@link topExpectedImprovement}. */
export interface EiSearchOptions {
  /** Galaxies wanted. */
  count: number;
  /** Best score seen so far, y*. */
  best: number;
  /** Exploration trade-off ξ, in score units. */
  tradeoff: number;
  /** 1 marks rows that must not be chosen (labelled, skipped, already asked). */
  excluded: Uint8Array;
  /** Posterior mean of every row (from a mean-only prediction). */
  mean: Float64Array;
  /**
   * Kriging believer: after each pick, condition the GP on its own mean there before choosing
   * the next, so a batch spreads out instead of spending itself on one neighbourhood. false
   * takes the `count` rows of highest EI under the current posterior. @default true
   */
  believer?: boolean;
  /** Rows whose σ is computed per step. @default 2048 */
  blockSize?: number;
}

/** Result of {@link topExpectedImprovement}. */
export interface EiSelection {
  /** Chosen rows, in the order picked. */
  rows: number[];
  /** EI of each pick when it was picked (with the believer: given the earlier picks). */
  ei: number[];
  mean: number[];
  /** Posterior std of each pick when it was picked. */
  std: number[];
  /** Rows whose σ had to be computed. */
  evaluated: number;
}

/**
 * Posterior variances of a growing set of rows as the GP is conditioned on extra points whose
 * value is not known. Conditioning on a point with the model's own mean leaves the posterior
 * mean unchanged, and each new point changes the variance by a rank-1 term:
 *
 *   σ²ₜ(x) = σ²ₜ₋₁(x) − vₜ(x)²,  vₜ(x) = kₜ₋₁(x, pₜ) / √(σ²ₜ₋₁(pₜ) + σ²ₙ),
 *   kₜ₋₁(x, pₜ) = k₀(x, pₜ) − Σ_{i<t} vᵢ(x) vᵢ(pₜ)
 *
 * with k₀ the covariance of the fitted posterior (GaussianProcess.covarianceWith). Exact: it
 * equals refitting with the points added (same hyperparameters), at one pass over the rows per
 * point instead of an O(n³) refit.
 */
export class ConditionedVariance {
  /** Rows tracked. */
  readonly rows: number[] = [];
  /** Current posterior variance (target units²) of each tracked row. */
  readonly variance: number[] = [];
  /** Per conditioning point: index into `rows`, √(σ² + σ²ₙ) at the time, and v over `rows`. */
  private readonly points: { at: number; scale: number; v: number[] }[] = [];

  constructor(private readonly gp: GaussianProcess, private readonly x: FeatureMatrix) {}

  /** Track more rows, given their variance under the fitted posterior (before any conditioning). */
  async add(rows: ArrayLike<number>, variance: ArrayLike<number>): Promise<void> {
    const start = this.rows.length;
    for (let i = 0; i < rows.length; i++) {
      this.rows.push(rows[i]);
      this.variance.push(variance[i]);
    }
    for (let t = 0; t < this.points.length; t++) {
      const p = this.points[t];
      const c = await this.gp.covarianceWith(this.pointAt(p.at), this.x, rows);
      for (let i = 0; i < rows.length; i++) {
        const vi = this.nextV(c[i], start + i, t);
        p.v.push(vi);
        this.variance[start + i] = Math.max(0, this.variance[start + i] - vi * vi);
      }
    }
  }

  /** Condition on the tracked row at index `at` (its value unknown, believed to be the mean). */
  async condition(at: number): Promise<void> {
    const t = this.points.length;
    const scale = Math.sqrt(this.variance[at] + this.gp.noiseVariance);
    const c = await this.gp.covarianceWith(this.pointAt(at), this.x, this.rows);
    const p = { at, scale, v: [] as number[] };
    this.points.push(p);
    for (let i = 0; i < this.rows.length; i++) {
      const vi = this.nextV(c[i], i, t);
      p.v.push(vi);
      this.variance[i] = Math.max(0, this.variance[i] - vi * vi);
    }
  }

  /** vₜ at tracked index i from k₀(x_i, pₜ). */
  private nextV(k0: number, i: number, t: number): number {
    const p = this.points[t];
    let k = k0;
    for (let s = 0; s < t; s++) k -= this.points[s].v[i] * this.points[s].v[p.at];
    return k / p.scale;
  }

  private pointAt(at: number): Float32Array {
    const { data, dim } = this.x;
    return data.subarray(this.rows[at] * dim, this.rows[at] * dim + dim);
  }
}

/**
 * The `count` unexcluded rows chosen one at a time by highest EI — given the earlier picks
 * when `believer` is on, else simply the top `count` (exact; see the module comment).
 */
export async function topExpectedImprovement(gp: GaussianProcess, x: FeatureMatrix, o: EiSearchOptions): Promise<EiSelection> {
  const { mean, excluded, best, tradeoff: xi, count } = o;
  const candidates: number[] = [];
  for (let r = 0; r < x.rows; r++) if (!excluded[r]) candidates.push(r);
  const order = Uint32Array.from(candidates).sort((a, b) => mean[b] - mean[a]);
  const sigma0 = gp.prior.scale * Math.sqrt(gp.kernel.amplitude);
  const B = o.blockSize ?? 2048;
  const tracked = new ConditionedVariance(gp, x);
  const picked = new Set<number>();
  const out: EiSelection = { rows: [], ei: [], mean: [], std: [], evaluated: 0 };
  let next = 0;
  while (out.rows.length < count) {
    let at = -1, top = -Infinity;
    const scan = (from: number) => {
      for (let i = from; i < tracked.rows.length; i++) {
        if (picked.has(i)) continue;
        const ei = expectedImprovement(mean[tracked.rows[i]], Math.sqrt(tracked.variance[i]), best, xi);
        if (ei > top) [at, top] = [i, ei];
      }
    };
    scan(0);
    // σ only grows the EI of a row up to its bound at σ₀; rows are visited by decreasing mean.
    while (next < order.length && expectedImprovement(mean[order[next]], sigma0, best, xi) > top) {
      const rows = order.subarray(next, Math.min(next + B, order.length));
      const post = await gp.predict(x, { rows, std: true });
      const from = tracked.rows.length;
      await tracked.add(rows, Array.from(post.std!, (s) => s * s));
      out.evaluated += rows.length;
      next += rows.length;
      scan(from);
    }
    if (at < 0) break;
    picked.add(at);
    const row = tracked.rows[at];
    out.rows.push(row);
    out.ei.push(top);
    out.mean.push(mean[row]);
    out.std.push(Math.sqrt(tracked.variance[at]));
    if ((o.believer ?? true) && out.rows.length < count) await tracked.condition(at);
  }
  return out;
}
