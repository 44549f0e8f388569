/**
 * Exact Gaussian-process regression with a rational-quadratic + white-noise kernel — the
 * interest model of Walmsley et al. (2022) — written for galmorph's sizes: up to a few
 * thousand labelled galaxies (O(n³) fit) and predictions for ~10⁶ galaxies in blocks.
 *
 *   k(x, x') = A · (1 + |x − x'|² / (2αℓ²))^(−α) + σ²ₙ · [x = x']
 *
 * Targets are centred on their mean and scaled to unit variance; the four hyperparameters
 * maximise the log marginal likelihood (BFGS in log space, analytic gradient).
 * Prediction: the cross-distances come from one tfjs-wasm matrix product per block, and the
 * kernel from a 65 537-entry table of s^α, s = 1 / (1 + t) (relative error < 1e-6 for α ≤ 50),
 * so scoring a block costs one GEMM and a few flops per (galaxy, label) pair.
 */
import { OptionError } from '../errors.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initEngine, tf } from '../engine/index.js';
import { matMul as wasmMatMul, release } from '../engine/wasm_ops.js';
import type { FeatureMatrix } from './features.js';

/** Hyperparameters of the rational-quadratic + white kernel, in normalised target units. */
export interface RqKernelParams {
  /** Signal variance A. */
  amplitude: number;
  /** Length scale ℓ (feature units). */
  lengthScale: number;
  /** Shape α: small → heavy tails (many length scales), large → squared-exponential. */
  alpha: number;
  /** White-noise variance σ²ₙ (label scatter). */
  noise: number;
}

/** Options of {@link GaussianProcess.fit}. */
export interface GpFitOptions {
  /**
   * Start of the hyperparameter search, e.g. the previous round's fit; a second search starts
   * from the fallback (amplitude 1, lengthScale = median distance, alpha 1, noise 0.1) and the
   * better fit is kept. @default the fallback alone
   */
  initial?: RqKernelParams;
  /**
   * Maximise the log marginal likelihood over the hyperparameters; false keeps `initial`.
   * With equal targets there is nothing to maximise: the fallback is used. @default true
   */
  optimise?: boolean;
  /** BFGS iterations at most. @default 40 */
  maxIterations?: number;
}

/** Options of {@link GaussianProcess.predict}. */
export interface GpPredictOptions {
  /** Rows of the matrix to predict. @default every row */
  rows?: ArrayLike<number>;
  /** Also return the posterior standard deviation of the latent function. @default false */
  std?: boolean;
  /** Rows per block. @default 4096 */
  blockSize?: number;
}

/** The parts of a fitted GP that posterior means need (see {@link GaussianProcess.meanState}). */
export interface GpMeanState {
  kernel: RqKernelParams;
  inputs: Float32Array;
  n: number;
  dim: number;
  prior: { mean: number; scale: number };
  weights: Float64Array;
}

/** Posterior at the predicted rows, in target units. */
export interface GpPosterior {
  mean: Float64Array;
  /** Latent-function standard deviation (without the white noise); only with `std: true`. */
  std?: Float64Array;
}

const LOG_BOUNDS: readonly [number, number][] = [
  [Math.log(1e-3), Math.log(1e3)], // amplitude
  [Math.log(1e-2), Math.log(1e4)], // length scale
  [Math.log(0.05), Math.log(50)], // alpha (table accuracy holds up to 50)
  [Math.log(1e-5), Math.log(10)], // noise
];
const TABLE = 65536;

/** A fitted Gaussian process. */
export class GaussianProcess {
  private constructor(
    /** Fitted hyperparameters. */
    readonly kernel: RqKernelParams,
    /** Log marginal likelihood of the normalised targets at `kernel`. */
    readonly logMarginalLikelihood: number,
    /** Training inputs, `[n, dim]`. */
    readonly inputs: Float32Array,
    readonly n: number,
    readonly dim: number,
    /** Prior mean and scale of the targets. */
    readonly prior: { mean: number; scale: number },
    /** K⁻¹ỹ. */
    private readonly weights: Float64Array,
    /** K⁻¹ (float64, for exact single-point predictions). */
    private readonly kInv: Float64Array,
  ) {}

  /**
   * Fit on `n` points of dimension `dim`.
   * @param x `[n, dim]` row-major
   * @param y targets, length n
   */
  static fit(x: Float32Array, dim: number, y: ArrayLike<number>, options: GpFitOptions = {}): GaussianProcess {
    const n = y.length;
    if (n < 1) throw new OptionError('a Gaussian process needs at least one labelled point');
    if (x.length !== n * dim) throw new OptionError(`GP inputs hold ${x.length} values, expected ${n} × ${dim}`);
    const prior = meanAndScale(y);
    const yt = new Float64Array(n);
    for (let i = 0; i < n; i++) yt[i] = (y[i] - prior.mean) / prior.scale;
    const d2 = pairwiseSquaredDistances(x, n, dim);
    const fallback = { amplitude: 1, lengthScale: Math.sqrt(Math.max(median(d2, n), 1e-6)), alpha: 1, noise: 0.1 };
    const toTheta = (k: RqKernelParams) => clampTheta([k.amplitude, k.lengthScale, k.alpha, k.noise].map(Math.log));
    const optimise = options.optimise ?? true;
    let theta = toTheta(options.initial ?? fallback);
    // Equal targets carry no information on the kernel: the likelihood then drives the signal
    // variance to 0 and the length scale to ∞ — a flat GP that knows nothing and is sure of
    // it, so σ stops guiding the search. Keep the fallback kernel until the targets differ.
    if (optimise && yt.every((v) => v === 0)) theta = toTheta(fallback);
    else if (optimise) {
      const search = (start: number[]) => minimise((t) => negLml(t, d2, yt, n, true), start, options.maxIterations ?? 40);
      theta = search(theta);
      // A warm start can sit in a flat corner of the likelihood (e.g. the previous round's
      // fit at its bounds); a second search from the fallback finds the ridge again.
      if (options.initial) {
        const fresh = search(toTheta(fallback));
        if (lml(fresh, d2, yt, n, false).value > lml(theta, d2, yt, n, false).value) theta = fresh;
      }
    }
    const final = lml(theta, d2, yt, n, false);
    const kernel = { amplitude: Math.exp(theta[0]), lengthScale: Math.exp(theta[1]), alpha: Math.exp(theta[2]), noise: Math.exp(theta[3]) };
    return new GaussianProcess(kernel, final.value, Float32Array.from(x), n, dim, prior, final.weights, final.kInv);
  }

  /** What a worker needs to compute posterior means (no K⁻¹): plain data, structured-clonable. */
  meanState(): GpMeanState {
    return { kernel: this.kernel, inputs: this.inputs, n: this.n, dim: this.dim, prior: this.prior, weights: this.weights };
  }

  /** A GP that predicts means only, from {@link meanState} (asking it for `std` throws). */
  static fromMeanState(s: GpMeanState): GaussianProcess {
    return new GaussianProcess(s.kernel, NaN, s.inputs, s.n, s.dim, s.prior, s.weights, new Float64Array(0));
  }

  /**
   * Exact posterior at one point, in float64 (no table, no GEMM): the reference that
   * {@link predict} is tested against.
   */
  predictPoint(point: ArrayLike<number>): { mean: number; std: number } {
    const { n, dim, inputs, kernel: k } = this;
    const r = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += (point[c] - inputs[j * dim + c]) ** 2;
      r[j] = k.amplitude * Math.pow(1 + s / (2 * k.alpha * k.lengthScale ** 2), -k.alpha);
    }
    let mean = 0, quad = 0;
    for (let i = 0; i < n; i++) {
      mean += r[i] * this.weights[i];
      let row = 0;
      for (let j = 0; j < n; j++) row += this.kInv[i * n + j] * r[j];
      quad += r[i] * row;
    }
    return { mean: this.prior.mean + this.prior.scale * mean, std: this.prior.scale * Math.sqrt(Math.max(0, k.amplitude - quad)) };
  }

  /**
   * Posterior covariance of the latent function between rows of `x` and one point, in target
   * units²: k(x, p) − k(x, X) K⁻¹ k(X, p). It is the mean of a GP whose training inputs are
   * X and p with weights (−A K⁻¹r(X, p), 1), so it runs through the same blocked GEMM path as
   * {@link predict}.
   */
  async covarianceWith(point: ArrayLike<number>, x: FeatureMatrix, rows: ArrayLike<number>): Promise<Float64Array> {
    const { n, dim, kernel: k } = this;
    if (point.length !== dim) throw new OptionError(`GP was fitted on ${dim}-d features, got a ${point.length}-d point`);
    if (this.kInv.length !== n * n) throw new OptionError('this GP was rebuilt for means only');
    const r = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += (point[c] - this.inputs[j * dim + c]) ** 2;
      r[j] = Math.pow(1 + s / (2 * k.alpha * k.lengthScale ** 2), -k.alpha);
    }
    const weights = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.kInv[i * n + j] * r[j];
      weights[i] = -k.amplitude * s;
    }
    weights[n] = 1;
    const inputs = new Float32Array((n + 1) * dim);
    inputs.set(this.inputs);
    inputs.set(Array.from(point), n * dim);
    const cross = new GaussianProcess(k, NaN, inputs, n + 1, dim, { mean: 0, scale: this.prior.scale ** 2 }, weights, new Float64Array(0));
    return (await cross.predict(x, { rows })).mean;
  }

  /** Noise variance σ²ₙ of one label, in target units². */
  get noiseVariance(): number {
    return this.kernel.noise * this.prior.scale ** 2;
  }

  /**
   * Posterior mean (and optionally std) at rows of `x`, in blocks: per block one tfjs matrix
   * product for the cross-distances, a table lookup per (row, training point) for the kernel,
   * and — only for `std` — a second product with K⁻¹.
   */
  async predict(x: FeatureMatrix, options: GpPredictOptions = {}): Promise<GpPosterior> {
    if (x.dim !== this.dim) throw new OptionError(`GP was fitted on ${this.dim}-d features, got ${x.dim}-d`);
    if (options.std && this.kInv.length !== this.n * this.n) throw new OptionError('this GP was rebuilt for means only');
    await initEngine();
    const rows = options.rows;
    const m = rows ? rows.length : x.rows;
    const B = options.blockSize ?? 4096;
    const { n, dim } = this;
    const { amplitude, lengthScale, alpha } = this.kernel;
    const lut = rqTable(alpha);
    const c = 1 / (2 * alpha * lengthScale * lengthScale);
    const trainNorm = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += this.inputs[j * dim + k] ** 2;
      trainNorm[j] = s;
    }
    const w = Float64Array.from(this.weights, (v) => v * amplitude);
    const mean = new Float64Array(m);
    const std = options.std ? new Float64Array(m) : undefined;
    const trainT = tf.tidy(() => tf.transpose(tf.tensor2d(this.inputs, [n, dim]))) as tf.Tensor2D;
    const kInv = std ? tf.tensor2d(Float32Array.from(this.kInv), [n, n]) : undefined;
    const block = new Float32Array(Math.min(B, m) * dim);
    const kb = std ? new Float32Array(Math.min(B, m) * n) : undefined;
    const qNorm = new Float64Array(Math.min(B, m));
    try {
      for (let s = 0; s < m; s += B) {
        const b = Math.min(B, m - s);
        let q: Float32Array;
        if (rows) {
          for (let i = 0; i < b; i++) block.set(x.data.subarray(rows[s + i] * dim, rows[s + i] * dim + dim), i * dim);
          q = block.subarray(0, b * dim);
        } else q = x.data.subarray(s * dim, (s + b) * dim);
        for (let i = 0; i < b; i++) {
          let t = 0;
          for (let k = 0; k < dim; k++) t += q[i * dim + k] * q[i * dim + k];
          qNorm[i] = t;
        }
        product(q, b, dim, trainT, (g) => kernelBlock(g, qNorm, trainNorm, b, n, c, lut, w, mean, s, kb));
        if (std && kb && kInv) {
          product(kb.subarray(0, b * n), b, n, kInv, (v) => {
            for (let i = 0; i < b; i++) {
              let quad = 0;
              const o = i * n;
              for (let j = 0; j < n; j++) quad += v[o + j] * kb[o + j];
              std[s + i] = this.prior.scale * Math.sqrt(Math.max(0, amplitude - amplitude * amplitude * quad));
            }
          });
        }
      }
    } finally {
      trainT.dispose();
      kInv?.dispose();
    }
    for (let i = 0; i < m; i++) mean[i] = this.prior.mean + this.prior.scale * mean[i];
    return std ? { mean, std } : { mean };
  }
}

/**
 * a [rows, k] × b → handed to `use` as a Float32Array. On wasm the product is read in place
 * from the heap (a 10⁶-galaxy re-rank would otherwise copy ~1 GB out of it).
 */
function product(a: Float32Array, rows: number, k: number, b: tf.Tensor2D, use: (out: Float32Array) => void): void {
  const at = tf.tensor2d(a, [rows, k]);
  try {
    if (tf.getBackend() === 'wasm') {
      const backend = tf.backend() as BackendWasm;
      const out = wasmMatMul(backend, at, b);
      try {
        use(backend.typedArrayFromHeap(out) as Float32Array);
      } finally {
        release(backend, out);
      }
    } else {
      const out = tf.matMul(at, b);
      use(out.dataSync() as Float32Array);
      out.dispose();
    }
  } finally {
    at.dispose();
  }
}

/** Kernel values from cross inner products, accumulated into the mean (and kept for the variance). */
function kernelBlock(
  g: Float32Array, qNorm: Float64Array, trainNorm: Float64Array, b: number, n: number, c: number,
  lut: Float32Array, w: Float64Array, mean: Float64Array, at: number, keep: Float32Array | undefined,
): void {
  for (let i = 0; i < b; i++) {
    const qq = qNorm[i];
    const o = i * n;
    let acc = 0;
    for (let j = 0; j < n; j++) {
      let r2 = qq + trainNorm[j] - 2 * g[o + j];
      if (r2 < 0) r2 = 0;
      const u = TABLE / (1 + r2 * c);
      const k0 = u | 0;
      const lo = lut[k0];
      const kv = lo + (u - k0) * (lut[k0 + 1] - lo);
      acc += w[j] * kv;
      if (keep) keep[o + j] = kv;
    }
    mean[at + i] = acc;
  }
}

const tables = new Map<number, Float32Array>();

/** s^α at s = i / TABLE (one extra entry so interpolation at s = 1 stays in range). */
function rqTable(alpha: number): Float32Array {
  let t = tables.get(alpha);
  if (!t) {
    t = new Float32Array(TABLE + 2);
    for (let i = 0; i <= TABLE; i++) t[i] = Math.pow(i / TABLE, alpha);
    t[TABLE + 1] = 1;
    if (tables.size > 8) tables.clear();
    tables.set(alpha, t);
  }
  return t;
}

function meanAndScale(y: ArrayLike<number>): { mean: number; scale: number } {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i] / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (y[i] - mean) ** 2;
  const sd = Math.sqrt(ss / n);
  return { mean, scale: sd > 1e-9 ? sd : 1 };
}

function pairwiseSquaredDistances(x: Float32Array, n: number, dim: number): Float64Array {
  const d2 = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const t = x[i * dim + k] - x[j * dim + k];
        s += t * t;
      }
      d2[i * n + j] = d2[j * n + i] = s;
    }
  }
  return d2;
}

function median(d2: Float64Array, n: number): number {
  const v: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) v.push(d2[i * n + j]);
  if (v.length === 0) return 1;
  v.sort((a, b) => a - b);
  return v[v.length >> 1];
}

function clampTheta(t: number[]): number[] {
  return t.map((v, i) => Math.min(LOG_BOUNDS[i][1], Math.max(LOG_BOUNDS[i][0], Number.isFinite(v) ? v : 0)));
}

interface Lml {
  value: number;
  grad: number[];
  weights: Float64Array;
  kInv: Float64Array;
}

function negLml(theta: number[], d2: Float64Array, y: Float64Array, n: number, grad: boolean): { f: number; g: number[] } {
  const r = lml(theta, d2, y, n, grad);
  return { f: -r.value, g: r.grad.map((v) => -v) };
}

/** Log marginal likelihood of y under the kernel at log-parameters θ, with its gradient in θ. */
function lml(theta: number[], d2: Float64Array, y: Float64Array, n: number, withGrad: boolean): Lml {
  const [A, l, a, s2] = theta.map(Math.exp);
  const c = 1 / (2 * a * l * l);
  const K = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) K[i] = A * Math.pow(1 + d2[i] * c, -a);
  for (let i = 0; i < n; i++) K[i * n + i] = A + s2;
  let jitter = 0;
  let L: Float64Array | null = null;
  for (let attempt = 0; attempt < 6 && !L; attempt++) {
    if (attempt > 0) {
      jitter = jitter === 0 ? 1e-10 * (A + s2) : jitter * 100;
      for (let i = 0; i < n; i++) K[i * n + i] = A + s2 + jitter;
    }
    L = cholesky(K, n);
  }
  if (!L) return { value: -Infinity, grad: [0, 0, 0, 0], weights: new Float64Array(n), kInv: new Float64Array(n * n) };
  const U = invertLowerTransposed(L, n); // U = L⁻ᵀ (upper triangular)
  const kInv = new Float64Array(n * n); // K⁻¹ = U Uᵀ
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      const oi = i * n, oj = j * n;
      for (let k = j; k < n; k++) s += U[oi + k] * U[oj + k];
      kInv[i * n + j] = kInv[j * n + i] = s;
    }
  }
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += kInv[i * n + j] * y[j];
    w[i] = s;
  }
  let value = -0.5 * n * Math.log(2 * Math.PI);
  for (let i = 0; i < n; i++) value += -0.5 * y[i] * w[i] - Math.log(L[i * n + i]);
  const grad = [0, 0, 0, 0];
  if (withGrad) {
    // ∂LML/∂θ = ½ tr((wwᵀ − K⁻¹) ∂K/∂θ), θ in log space.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const W = w[i] * w[j] - kInv[i * n + j];
        const t = d2[i * n + j] * c;
        const R = Math.pow(1 + t, -a);
        grad[0] += W * A * R;
        grad[1] += W * A * R * ((2 * a * t) / (1 + t));
        grad[2] += W * A * R * a * (t / (1 + t) - Math.log1p(t));
      }
      grad[3] += (w[i] * w[i] - kInv[i * n + i]) * s2;
    }
    for (let k = 0; k < 4; k++) grad[k] *= 0.5;
  }
  return { value, grad, weights: w, kInv };
}

/** Lower Cholesky factor of a symmetric positive-definite matrix, or null. */
export function cholesky(K: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * n;
    for (let j = 0; j <= i; j++) {
      const oj = j * n;
      let s = K[oi + j];
      for (let k = 0; k < j; k++) s -= L[oi + k] * L[oj + k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[oi + i] = Math.sqrt(s);
      } else L[oi + j] = s / L[oj + j];
    }
  }
  return L;
}

/** U = L⁻ᵀ for lower-triangular L, row-major (row j of U is column j of L⁻¹). */
function invertLowerTransposed(L: Float64Array, n: number): Float64Array {
  const U = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const oj = j * n;
    U[oj + j] = 1 / L[oj + j];
    for (let i = j + 1; i < n; i++) {
      const oi = i * n;
      let s = 0;
      for (let k = j; k < i; k++) s += L[oi + k] * U[oj + k];
      U[oj + i] = -s / L[oi + i];
    }
  }
  return U;
}

/** Box-constrained BFGS (projected, Armijo backtracking) minimising f over log-parameters. */
function minimise(fg: (t: number[]) => { f: number; g: number[] }, start: number[], maxIter: number): number[] {
  const m = start.length;
  let x = clampTheta(start);
  let { f, g } = fg(x);
  if (!Number.isFinite(f)) return x;
  let H = identity(m);
  for (let it = 0; it < maxIter; it++) {
    const p = H.map((row) => -row.reduce((s, h, k) => s + h * g[k], 0));
    // Drop components that push a parameter further into the bound it sits on.
    for (let k = 0; k < m; k++) {
      if ((x[k] <= LOG_BOUNDS[k][0] && p[k] < 0) || (x[k] >= LOG_BOUNDS[k][1] && p[k] > 0)) p[k] = 0;
    }
    let slope = p.reduce((s, v, k) => s + v * g[k], 0);
    if (slope >= 0) {
      H = identity(m);
      for (let k = 0; k < m; k++) p[k] = -g[k];
      slope = -g.reduce((s, v) => s + v * v, 0);
      if (slope === 0) break;
    }
    // Long BFGS steps in log space are rarely useful; cap each parameter's move.
    const big = Math.max(...p.map(Math.abs));
    let step = big > 2 ? 2 / big : 1;
    let xn = x, fn = f, gn = g, ok = false;
    for (let ls = 0; ls < 20; ls++) {
      xn = clampTheta(x.map((v, k) => v + step * p[k]));
      const r = fg(xn);
      const dec = xn.reduce((s, v, k) => s + g[k] * (v - x[k]), 0);
      if (Number.isFinite(r.f) && r.f <= f + 1e-4 * dec) {
        fn = r.f;
        gn = r.g;
        ok = true;
        break;
      }
      step *= 0.5;
    }
    if (!ok) break;
    const s = xn.map((v, k) => v - x[k]);
    const yv = gn.map((v, k) => v - g[k]);
    const sy = s.reduce((acc, v, k) => acc + v * yv[k], 0);
    const done = Math.abs(f - fn) < 1e-7 * (1 + Math.abs(f)) || Math.max(...s.map(Math.abs)) < 1e-6;
    x = xn;
    f = fn;
    g = gn;
    if (done) break;
    if (sy > 1e-12) {
      const Hy = H.map((row) => row.reduce((acc, h, k) => acc + h * yv[k], 0));
      const yHy = yv.reduce((acc, v, k) => acc + v * Hy[k], 0);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) H[i][j] += ((sy + yHy) * s[i] * s[j]) / (sy * sy) - (Hy[i] * s[j] + s[i] * Hy[j]) / sy;
      }
    }
  }
  return x;
}

function identity(m: number): number[][] {
  return Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 1 : 0)));
}
