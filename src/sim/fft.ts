/**
 * Radix-2 complex FFT on square N×N images (N a power of two), used for PSF convolution.
 *
 * Rows are transformed one at a time (each stays in L1 cache); columns "all at once": each
 * butterfly combines two whole rows, so the inner loop runs over contiguous memory.
 * Two real images are convolved per complex transform (one in the real part, one in the
 * imaginary part) and separated in Fourier space through Hermitian symmetry, so three bands
 * cost two forward and two inverse transforms.
 */

interface Plan {
  n: number;
  /** Twiddles e^{-2πik/n}, k < n/2 (column passes). */
  cos: Float64Array;
  sin: Float64Array;
  /** Per-stage twiddles e^{-2πik/len} stored at [len/2 + k] (row passes). */
  twr: Float64Array;
  twi: Float64Array;
  rev: Uint32Array;
}

const plans = new Map<number, Plan>();

function plan(n: number): Plan {
  let p = plans.get(n);
  if (p) return p;
  if (n < 2 || (n & (n - 1)) !== 0) throw new RangeError(`FFT size must be a power of two ≥ 2, got ${n}`);
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  const bits = Math.log2(n);
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const twr = new Float64Array(n);
  const twi = new Float64Array(n);
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    for (let k = 0; k < half; k++) {
      twr[half + k] = Math.cos((2 * Math.PI * k) / len);
      twi[half + k] = -Math.sin((2 * Math.PI * k) / len);
    }
  }
  p = { n, cos, sin, twr, twi, rev };
  plans.set(n, p);
  return p;
}

/** Smallest power of two ≥ n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Column FFTs of an n×n row-major image: each butterfly acts on two whole rows. */
function fftCols(re: Float64Array, im: Float64Array, p: Plan, inverse: boolean): void {
  const { n, cos, sin, rev } = p;
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      const a = i * n;
      const b = j * n;
      for (let x = 0; x < n; x++) {
        let t = re[a + x];
        re[a + x] = re[b + x];
        re[b + x] = t;
        t = im[a + x];
        im[a + x] = im[b + x];
        im[b + x] = t;
      }
    }
  }
  const sgn = inverse ? -1 : 1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sgn * sin[k * step];
        const a = (i + k) * n;
        const b = a + half * n;
        if (k === 0) {
          for (let x = 0; x < n; x++) {
            const xr = re[b + x];
            const xi = im[b + x];
            re[b + x] = re[a + x] - xr;
            im[b + x] = im[a + x] - xi;
            re[a + x] += xr;
            im[a + x] += xi;
          }
        } else {
          for (let x = 0; x < n; x++) {
            const br = re[b + x];
            const bi = im[b + x];
            const xr = br * wr - bi * wi;
            const xi = br * wi + bi * wr;
            re[b + x] = re[a + x] - xr;
            im[b + x] = im[a + x] - xi;
            re[a + x] += xr;
            im[a + x] += xi;
          }
        }
      }
    }
  }
}

/** In-place 1-D FFTs of every row of an n×n image (each row stays in L1 cache for all stages). */
function fftRows(re: Float64Array, im: Float64Array, p: Plan, inverse: boolean): void {
  const { n, rev, twr, twi } = p;
  const sgn = inverse ? -1 : 1;
  for (let off = 0; off < n * n; off += n) {
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        const a = off + i;
        const b = off + j;
        let t = re[a];
        re[a] = re[b];
        re[b] = t;
        t = im[a];
        im[a] = im[b];
        im[b] = t;
      }
    }
    const end = off + n;
    for (let i = off; i < end; i += 2) {
      const ar = re[i];
      const ai = im[i];
      const br = re[i + 1];
      const bi = im[i + 1];
      re[i] = ar + br;
      im[i] = ai + bi;
      re[i + 1] = ar - br;
      im[i + 1] = ai - bi;
    }
    for (let len = 4; len <= n; len <<= 1) {
      const half = len >> 1;
      for (let i = off; i < end; i += len) {
        for (let k = 0; k < half; k++) {
          const wr = twr[half + k];
          const wi = sgn * twi[half + k];
          const a = i + k;
          const b = a + half;
          const br = re[b];
          const bi = im[b];
          const xr = br * wr - bi * wi;
          const xi = br * wi + bi * wr;
          const ar = re[a];
          const ai = im[a];
          re[b] = ar - xr;
          im[b] = ai - xi;
          re[a] = ar + xr;
          im[a] = ai + xi;
        }
      }
    }
  }
}

/**
 * In-place 2-D FFT of an n×n complex image (row-major). The inverse is scaled by 1/n², so
 * `fft2d(x, false); fft2d(x, true)` returns x.
 */
export function fft2d(re: Float64Array, im: Float64Array, n: number, inverse = false): void {
  const p = plan(n);
  fftRows(re, im, p, inverse);
  fftCols(re, im, p, inverse);
  if (inverse) {
    const s = 1 / (n * n);
    for (let i = 0; i < n * n; i++) {
      re[i] *= s;
      im[i] *= s;
    }
  }
}

/**
 * Convolve two real images at once with two different real, point-symmetric kernels.
 * On entry re = image a, im = image b (n×n); ka, kb are the kernels' (real) transforms.
 * On exit re = a ⊛ ka, im = b ⊛ kb (circular convolution).
 *
 * With Z = F(a + i b): A[k] = (Z[k] + Z*[−k]) / 2 and i·B[k] = (Z[k] − Z*[−k]) / 2, so
 * Y = A·Ka + i·B·Kb = Z[k]·(Ka + Kb)/2 + Z*[−k]·(Ka − Kb)/2, whose inverse is a⊛ka + i b⊛kb.
 */
export function convolvePair(re: Float64Array, im: Float64Array, ka: Float64Array, kb: Float64Array, n: number): void {
  fft2d(re, im, n, false);
  const mask = n - 1;
  // Process each pair (k, −k) once, writing both outputs.
  for (let y = 0; y < n; y++) {
    const ny = (n - y) & mask;
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      const j = ny * n + ((n - x) & mask);
      if (j < i) continue;
      const zr = re[i];
      const zi = im[i];
      const cr = re[j];
      const ci = im[j];
      const sI = 0.5 * (ka[i] + kb[i]);
      const dI = 0.5 * (ka[i] - kb[i]);
      const sJ = 0.5 * (ka[j] + kb[j]);
      const dJ = 0.5 * (ka[j] - kb[j]);
      // Y[i] = Z[i]·s_i + conj(Z[j])·d_i ;  Y[j] = Z[j]·s_j + conj(Z[i])·d_j
      re[i] = zr * sI + cr * dI;
      im[i] = zi * sI - ci * dI;
      if (j !== i) {
        re[j] = cr * sJ + zr * dJ;
        im[j] = ci * sJ - zi * dJ;
      }
    }
  }
  fft2d(re, im, n, true);
}
