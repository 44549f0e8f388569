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
  /** Twiddles W_n^k = cos[k] + i·sin[k] = e^{−2πik/n}, k < n/2. */
  cos: Float64Array;
  sin: Float64Array;
  rev: Uint32Array;
  /** log₂ n is odd: one plain radix-2 stage before the fused pairs. */
  oddStages: boolean;
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
  p = { n, cos, sin, rev, oddStages: bits % 2 === 1 };
  plans.set(n, p);
  return p;
}

/** Smallest power of two ≥ n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Bit-reversal permutation of the rows of an n×n image (whole rows swapped). */
function permuteRows(re: Float64Array, im: Float64Array, n: number, rev: Uint32Array): void {
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
}

/*
 * Both passes use radix-2 decimation in time with pairs of stages fused ("radix-2²"): for a
 * block of 4h points, stage 2h (twiddle w1 = W_{2h}^k) and stage 4h (twiddle w2 = W_{4h}^k,
 * and −i·w2 for the odd pair) are applied while the four values sit in registers, halving
 * the passes over memory. With log₂n odd, one plain radix-2 stage (no twiddles) goes first.
 * Rows and columns differ only in where the points of a butterfly lie (`d` apart: h for a
 * row, h rows for a column) and which butterflies share a twiddle, so both call the two
 * routines below.
 */

/** Plain radix-2 butterflies on (p, p + d) for p = start, start + step, … < end. */
function radix2(re: Float64Array, im: Float64Array, start: number, end: number, step: number, d: number): void {
  for (let p0 = start; p0 < end; p0 += step) {
    const p1 = p0 + d;
    const ar = re[p0];
    const ai = im[p0];
    const br = re[p1];
    const bi = im[p1];
    re[p0] = ar + br;
    im[p0] = ai + bi;
    re[p1] = ar - br;
    im[p1] = ai - bi;
  }
}

/**
 * Fused radix-2² butterflies on (p, p + d, p + 2d, p + 3d) for p = start, start + step, … < end,
 * all with twiddles w1, w2; `sg` is −1 for the inverse transform.
 */
function radix4(re: Float64Array, im: Float64Array, start: number, end: number, step: number, d: number, w1r: number, w1i: number, w2r: number, w2i: number, sg: number): void {
  for (let p0 = start; p0 < end; p0 += step) {
    const p1 = p0 + d;
    const p2 = p1 + d;
    const p3 = p2 + d;
    const a0r = re[p0];
    const a0i = im[p0];
    const a1r = re[p1];
    const a1i = im[p1];
    const a2r = re[p2];
    const a2i = im[p2];
    const a3r = re[p3];
    const a3i = im[p3];
    const t1r = a1r * w1r - a1i * w1i;
    const t1i = a1r * w1i + a1i * w1r;
    const t3r = a3r * w1r - a3i * w1i;
    const t3i = a3r * w1i + a3i * w1r;
    const b0r = a0r + t1r;
    const b0i = a0i + t1i;
    const b1r = a0r - t1r;
    const b1i = a0i - t1i;
    const b2r = a2r + t3r;
    const b2i = a2i + t3i;
    const b3r = a2r - t3r;
    const b3i = a2i - t3i;
    const t2r = b2r * w2r - b2i * w2i;
    const t2i = b2r * w2i + b2i * w2r;
    const ur = b3r * w2r - b3i * w2i;
    const ui = b3r * w2i + b3i * w2r;
    // t4 = −i·sg·u
    const t4r = sg * ui;
    const t4i = -sg * ur;
    re[p0] = b0r + t2r;
    im[p0] = b0i + t2i;
    re[p2] = b0r - t2r;
    im[p2] = b0i - t2i;
    re[p1] = b1r + t4r;
    im[p1] = b1i + t4i;
    re[p3] = b1r - t4r;
    im[p3] = b1i - t4i;
  }
}

/** Column FFTs of an n×n row-major image: each butterfly acts on whole rows. */
function fftCols(re: Float64Array, im: Float64Array, p: Plan, inverse: boolean): void {
  const { n, cos, sin, rev } = p;
  permuteRows(re, im, n, rev);
  const sg = inverse ? -1 : 1;
  let h = 1;
  if (p.oddStages) {
    for (let i = 0; i < n; i += 2) radix2(re, im, i * n, (i + 1) * n, 1, n);
    h = 2;
  }
  for (; h < n; h *= 4) {
    const s1 = n / (2 * h);
    const s2 = n / (4 * h);
    for (let i = 0; i < n; i += 4 * h) {
      for (let k = 0; k < h; k++) {
        const p0 = (i + k) * n;
        radix4(re, im, p0, p0 + n, 1, h * n, cos[k * s1], sg * sin[k * s1], cos[k * s2], sg * sin[k * s2], sg);
      }
    }
  }
}

/** In-place 1-D FFTs of every row of an n×n image (each row stays in L1 cache). */
function fftRows(re: Float64Array, im: Float64Array, p: Plan, inverse: boolean): void {
  const { n, cos, sin, rev } = p;
  const sg = inverse ? -1 : 1;
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
    let h = 1;
    if (p.oddStages) {
      radix2(re, im, off, end, 2, 1);
      h = 2;
    }
    for (; h < n; h *= 4) {
      const s1 = n / (2 * h);
      const s2 = n / (4 * h);
      for (let k = 0; k < h; k++) radix4(re, im, off + k, end, 4 * h, h, cos[k * s1], sg * sin[k * s1], cos[k * s2], sg * sin[k * s2], sg);
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
