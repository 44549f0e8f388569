/**
 * Seeded pseudo-random numbers for the simulator. Every random stream is derived by hashing
 * its purpose — `(seed, galaxy index, what it is for, survey…)` — never from how many numbers
 * an earlier galaxy consumed, so a galaxy can be rebuilt alone, in any order, on any worker.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 32-bit integer arithmetic only, seeded from a
 * 64-bit hash of the stream key through splitmix32. Samplers: uniform, Gaussian (polar
 * Box–Muller), Poisson (inversion / PTRS), gamma (Marsaglia–Tsang), beta, categorical.
 */
import { hashString } from '../util/random.js';

const TWO32 = 4294967296;

/** 32-bit avalanche (murmur3 finaliser). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A stream key part: integers (any safe integer, negative allowed) or strings. */
export type KeyPart = number | string;

/**
 * 64-bit hash (two 32-bit lanes) of a stream key. Integers are folded in with both their low
 * and high 32 bits, so seeds above 2^32 stay distinct.
 */
export function hashKey(parts: readonly KeyPart[]): [number, number] {
  let h1 = 0x9e3779b9;
  let h2 = 0x7f4a7c15;
  const mix = (w: number): void => {
    h1 = fmix32((h1 ^ w) + 0x6d2b79f5);
    h2 = fmix32(Math.imul(h2 ^ w, 0x2c1b3c6d) + h1);
  };
  for (const p of parts) {
    if (typeof p === 'string') {
      mix(0x53545247); // tag: string
      mix(hashString(p));
      mix(p.length);
    } else {
      const n = Math.trunc(p);
      const lo = ((n % TWO32) + TWO32) % TWO32;
      const hi = Math.floor(n / TWO32);
      mix(0x4e554d42); // tag: number
      mix(lo >>> 0);
      mix(hi >>> 0);
    }
  }
  return [h1 >>> 0, h2 >>> 0];
}

/** xoshiro128** generator with distribution samplers. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = 0;
  private hasSpare = false;

  /** A generator for a stream key, e.g. `new Rng(seed, index, 'noise', 'decals')`. */
  constructor(...key: KeyPart[]) {
    const [a, b] = hashKey(key);
    // splitmix32 expands the 64-bit key into the 128-bit state (never all zero).
    let x = a ^ Math.imul(b, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x ^ b;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    // Keep the state as int32 so V8 holds it in small-integer fields (a double field makes
    // every draw several times slower).
    this.s0 = next() | 0;
    this.s1 = next() | 0;
    this.s2 = next() | 0;
    this.s3 = next() | 1;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    return this.i32() >>> 0;
  }

  /** Uniform 32 random bits as a signed int32 (stays a small integer in V8). */
  i32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.u32() / TWO32;
  }

  /** Uniform in (0, 1): safe to take a logarithm of. */
  floatOpen(): number {
    return (this.u32() + 0.5) / TWO32;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** True with probability p. */
  bool(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal deviate (Marsaglia polar method; the second deviate is kept). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.float() - 1;
      v = 2 * this.float() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }

  /**
   * Fast approximate standard normal for pixel noise: the sum of two draws from a 4096-level
   * quantile table (small enough to stay in L1 cache), over √2 — one 32-bit draw, no
   * transcendental functions. Zero mean, unit variance, symmetric; tails end near 5σ.
   */
  fastNormal(): number {
    const u = this.i32();
    return (NORMAL_TABLE[u & 0xfff] + NORMAL_TABLE[(u >>> 12) & 0xfff]) * Math.SQRT1_2;
  }

  /** Normal deviate with mean and standard deviation. */
  gauss(mean: number, sd: number): number {
    return mean + sd * this.normal();
  }

  /** Normal deviate clipped to [lo, hi] by resampling (falls back to clamping). */
  truncGauss(mean: number, sd: number, lo: number, hi: number): number {
    for (let k = 0; k < 32; k++) {
      const x = mean + sd * this.normal();
      if (x >= lo && x <= hi) return x;
    }
    return Math.min(hi, Math.max(lo, mean));
  }

  /** Log-normal deviate: exp(N(ln median, sigmaLn)). */
  logNormal(median: number, sigmaLn: number): number {
    return median * Math.exp(sigmaLn * this.normal());
  }

  /** Gamma(shape k, scale 1) by Marsaglia & Tsang (2000). */
  gamma(k: number): number {
    if (k < 1) return this.gamma(k + 1) * Math.pow(this.floatOpen(), 1 / k);
    const d = k - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.floatOpen();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) deviate. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    return x / (x + this.gamma(b));
  }

  /** Poisson deviate: inversion for small means, PTRS (Hörmann 1993) for large ones. */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 12) {
      const l = Math.exp(-lambda);
      let k = 0;
      let p = this.float();
      while (p > l) {
        k++;
        p *= this.float();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.float() - 0.5;
      const v = this.floatOpen();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k)) return k;
    }
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  choice(weights: ArrayLike<number>, start = 0, end = weights.length): number {
    let total = 0;
    for (let i = start; i < end; i++) total += weights[i];
    let r = this.float() * total;
    for (let i = start; i < end; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    // Rounding left r ≥ 0: return the last index with positive weight.
    for (let i = end - 1; i >= start; i--) if (weights[i] > 0) return i;
    return start;
  }

  /** A random element of a list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Inverse standard normal CDF (Acklam's rational approximation, |rel. error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Standard normal quantiles at (i + ½)/4096, rescaled to exactly unit variance. */
const NORMAL_TABLE: Float64Array = (() => {
  const n = 4096;
  const t = new Float64Array(n);
  let v = 0;
  for (let i = 0; i < n; i++) {
    t[i] = normalQuantile((i + 0.5) / n);
    v += t[i] * t[i];
  }
  const s = 1 / Math.sqrt(v / n);
  for (let i = 0; i < n; i++) t[i] *= s;
  return t;
})();

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LOG_FACT: number[] = [0];
/** ln(k!) — exact sums for small k, Stirling series beyond. */
export function logFactorial(k: number): number {
  if (k < 256) {
    for (let i = LOG_FACT.length; i <= k; i++) LOG_FACT[i] = LOG_FACT[i - 1] + Math.log(i);
    return LOG_FACT[k];
  }
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x);
}
