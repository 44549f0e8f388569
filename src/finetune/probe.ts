/**
 * Linear probe: an L2-regularised linear model on frozen embeddings, fitted in float64 JS by
 * L-BFGS (the objectives are smooth and strictly convex, so it converges to the unique
 * optimum in tens of iterations). Binary: logistic regression; multiclass: softmax
 * regression; regression: ridge. The objective is the mean loss + (l2 / 2)·‖W‖², bias
 * unpenalised, on features standardised with the training set's mean and std.
 */

/** A fitted linear model on standardised features: `z = ((x − mean) / std) · W + b`. */
export interface LinearFit {
  /** `[dim, units]` row-major. */
  weights: Float64Array;
  /** `[units]`. */
  bias: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  units: number;
  /** Final objective and L-BFGS iterations. */
  objective: number;
  iterations: number;
}

export type ProbeKind = 'logistic' | 'softmax' | 'ridge';

/**
 * Fit a linear probe.
 * @param x features `[n, dim]` row-major
 * @param y class index (logistic: 0/1; softmax: 0…classes−1) or target value (ridge)
 * @param sampleWeights per-sample loss weights (class weights); the loss is their weighted mean
 */
export function fitLinear(
  x: Float32Array | Float64Array,
  y: ArrayLike<number>,
  dim: number,
  kind: ProbeKind,
  options: { classes?: number; l2?: number; sampleWeights?: ArrayLike<number>; maxIterations?: number } = {},
): LinearFit {
  const n = y.length;
  const l2 = options.l2 ?? 1e-2;
  const units = kind === 'softmax' ? options.classes! : 1;
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += x[i * dim + d] / n;
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) std[d] += (x[i * dim + d] - mean[d]) ** 2 / n;
  for (let d = 0; d < dim; d++) std[d] = Math.sqrt(std[d]) || 1;
  const z = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) z[i * dim + d] = (x[i * dim + d] - mean[d]) / std[d];
  const sw = new Float64Array(n).fill(1);
  if (options.sampleWeights) for (let i = 0; i < n; i++) sw[i] = options.sampleWeights[i];
  const wSum = sw.reduce((a, b) => a + b, 0);

  const P = dim * units + units;
  // Parameters: W row-major [dim, units], then bias [units].
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    const s = new Float64Array(units);
    for (let i = 0; i < n; i++) {
      for (let u = 0; u < units; u++) {
        let v = theta[dim * units + u];
        for (let d = 0; d < dim; d++) v += z[i * dim + d] * theta[d * units + u];
        s[u] = v;
      }
      // r = dLoss_i/ds
      const r = new Float64Array(units);
      if (kind === 'logistic') {
        const t = s[0];
        // log(1 + e^t) − y·t, stably
        loss += sw[i] * (Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))) - y[i] * t);
        r[0] = 1 / (1 + Math.exp(-t)) - y[i];
      } else if (kind === 'softmax') {
        let mx = -Infinity;
        for (let u = 0; u < units; u++) mx = Math.max(mx, s[u]);
        let sum = 0;
        for (let u = 0; u < units; u++) sum += Math.exp(s[u] - mx);
        loss += sw[i] * (mx + Math.log(sum) - s[y[i]]);
        for (let u = 0; u < units; u++) r[u] = Math.exp(s[u] - mx) / sum - (u === y[i] ? 1 : 0);
      } else {
        const e = s[0] - y[i];
        loss += (sw[i] * e * e) / 2;
        r[0] = e;
      }
      for (let u = 0; u < units; u++) {
        const g = (sw[i] * r[u]) / wSum;
        grad[dim * units + u] += g;
        for (let d = 0; d < dim; d++) grad[d * units + u] += g * z[i * dim + d];
      }
    }
    let reg = 0;
    for (let k = 0; k < dim * units; k++) {
      reg += theta[k] * theta[k];
      grad[k] += l2 * theta[k];
    }
    return loss / wSum + (l2 / 2) * reg;
  };
  const { theta, value, iterations } = lbfgs(objective, new Float64Array(P), options.maxIterations ?? 500);
  return { weights: theta.slice(0, dim * units), bias: theta.slice(dim * units), mean, std, units, objective: value, iterations };
}

/** Outputs `[n, units]` (logits, or values for ridge) of a fit on raw features `[n, dim]`. */
export function applyLinear(fit: LinearFit, x: Float32Array | Float64Array, dim: number): Float64Array {
  const n = x.length / dim;
  const out = new Float64Array(n * fit.units);
  for (let i = 0; i < n; i++) {
    for (let u = 0; u < fit.units; u++) {
      let v = fit.bias[u];
      for (let d = 0; d < dim; d++) v += ((x[i * dim + d] - fit.mean[d]) / fit.std[d]) * fit.weights[d * fit.units + u];
      out[i * fit.units + u] = v;
    }
  }
  return out;
}

/** Minimise a smooth function by L-BFGS (memory 10) with a backtracking Armijo line search. */
function lbfgs(f: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, maxIter: number): { theta: Float64Array; value: number; iterations: number } {
  const P = x0.length;
  const m = 10;
  let x = x0.slice();
  let g = new Float64Array(P);
  let fx = f(x, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  let it = 0;
  for (; it < maxIter; it++) {
    if (Math.sqrt(dot(g, g)) < 1e-9) break;
    // Two-loop recursion: d = −H·g.
    const q = g.slice();
    const alpha: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const a = dot(S[k], q) / dot(Y[k], S[k]);
      alpha[k] = a;
      for (let i = 0; i < P; i++) q[i] -= a * Y[k][i];
    }
    const gamma = S.length > 0 ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < P; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const b = dot(Y[k], q) / dot(Y[k], S[k]);
      for (let i = 0; i < P; i++) q[i] += S[k][i] * (alpha[k] - b);
    }
    const d = q.map((v) => -v);
    let slope = dot(g, d);
    if (slope >= 0) {
      // Not a descent direction (should not happen for convex f): restart with steepest descent.
      S.length = 0;
      Y.length = 0;
      for (let i = 0; i < P; i++) d[i] = -g[i];
      slope = dot(g, d);
    }
    let step = 1;
    const xn = new Float64Array(P);
    const gn = new Float64Array(P);
    let fn = Infinity;
    for (let tries = 0; tries < 50; tries++) {
      for (let i = 0; i < P; i++) xn[i] = x[i] + step * d[i];
      fn = f(xn, gn);
      if (fn <= fx + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(fn < fx)) break; // no further progress in float64
    const s = new Float64Array(P);
    const yv = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      s[i] = xn[i] - x[i];
      yv[i] = gn[i] - g[i];
    }
    if (dot(s, yv) > 1e-12) {
      S.push(s);
      Y.push(yv);
      if (S.length > m) {
        S.shift();
        Y.shift();
      }
    }
    const converged = Math.abs(fx - fn) <= 1e-12 * Math.max(1, Math.abs(fx));
    x = xn.slice();
    g = gn.slice();
    fx = fn;
    if (converged) break;
  }
  return { theta: x, value: fx, iterations: it };
}
