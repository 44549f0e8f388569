import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, hashKey } from './rng.js';
import { fft2d, convolvePair } from './fft.js';
import { moffatAlpha, moffatTransfer } from './psf.js';
import { sersicB, sersicProfile, enclosedFraction, comovingDistanceMpc, distanceModulus } from './profiles.js';

test('rng: streams are keyed by their purpose, not by call order', () => {
  const a = new Rng(1, 5, 'noise');
  const b = new Rng(1, 5, 'noise');
  const xs = Array.from({ length: 8 }, () => a.u32());
  assert.deepEqual(Array.from({ length: 8 }, () => b.u32()), xs);
  assert.notDeepEqual(Array.from({ length: 8 }, () => new Rng(1, 6, 'noise').u32()), xs);
  assert.notDeepEqual(hashKey([1, 5, 'noise']), hashKey([1, 5, 'truth']));
  // Seeds beyond 32 bits stay distinct.
  assert.notDeepEqual(hashKey([2 ** 32 + 1]), hashKey([1]));
});

test('rng: samplers have the right moments', () => {
  const r = new Rng(42, 'moments');
  const n = 40000;
  const moments = (f: () => number): [number, number] => {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = f();
      s += x;
      s2 += x * x;
    }
    const m = s / n;
    return [m, s2 / n - m * m];
  };
  const [mn, vn] = moments(() => r.normal());
  assert.ok(Math.abs(mn) < 0.03 && Math.abs(vn - 1) < 0.03, `normal ${mn} ${vn}`);
  const [mf, vf] = moments(() => r.fastNormal());
  assert.ok(Math.abs(mf) < 0.03 && Math.abs(vf - 1) < 0.03, `fastNormal ${mf} ${vf}`);
  for (const lam of [0.7, 4, 30, 300]) {
    const [mp, vp] = moments(() => r.poisson(lam));
    assert.ok(Math.abs(mp - lam) < 0.05 * lam + 0.02 && Math.abs(vp - lam) < 0.1 * lam + 0.05, `poisson(${lam}) ${mp} ${vp}`);
  }
  for (const k of [0.5, 3]) {
    const [mg, vg] = moments(() => r.gamma(k));
    assert.ok(Math.abs(mg - k) < 0.05 * k && Math.abs(vg - k) < 0.1 * k, `gamma(${k}) ${mg} ${vg}`);
  }
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[r.choice([1, 2, 7])]++;
  assert.ok(Math.abs(counts[2] / 30000 - 0.7) < 0.02);
});

test('fft: forward + inverse is the identity; pair convolution matches a direct sum', () => {
  const n = 32;
  const r = new Rng(3, 'fft');
  const re = new Float64Array(n * n).map(() => r.normal());
  const im = new Float64Array(n * n).map(() => r.normal());
  const re0 = re.slice();
  const im0 = im.slice();
  fft2d(re, im, n);
  fft2d(re, im, n, true);
  for (let i = 0; i < n * n; i++) assert.ok(Math.abs(re[i] - re0[i]) < 1e-12 && Math.abs(im[i] - im0[i]) < 1e-12);
  // Two different symmetric kernels, transformed; convolve two images at once.
  const ka = new Float64Array(n * n);
  const kb = new Float64Array(n * n);
  const wrap = (v: number): number => (v + n) % n;
  for (let y = -3; y <= 3; y++) for (let x = -3; x <= 3; x++) {
    ka[wrap(y) * n + wrap(x)] = Math.exp(-(x * x + y * y) / 2);
    kb[wrap(y) * n + wrap(x)] = Math.exp(-(x * x + y * y) / 6);
  }
  const tf = (k: Float64Array): Float64Array => {
    const a = k.slice();
    const b = new Float64Array(n * n);
    fft2d(a, b, n);
    return a; // real: the kernels are point-symmetric
  };
  const KA = tf(ka);
  const KB = tf(kb);
  const a = re0.slice();
  const b = im0.slice();
  convolvePair(a, b, KA, KB, n);
  for (const [yy, xx] of [[0, 0], [5, 31], [17, 3]]) {
    let sa = 0;
    let sb = 0;
    for (let y = -3; y <= 3; y++) for (let x = -3; x <= 3; x++) {
      const j = wrap(yy - y) * n + wrap(xx - x);
      sa += re0[j] * ka[wrap(y) * n + wrap(x)];
      sb += im0[j] * kb[wrap(y) * n + wrap(x)];
    }
    assert.ok(Math.abs(sa - a[yy * n + xx]) < 1e-10 && Math.abs(sb - b[yy * n + xx]) < 1e-10);
  }
});

test('psf: analytic Moffat transfer function matches the FFT of a pixel-integrated Moffat', () => {
  const n = 64;
  for (const [fwhm, beta] of [[4, 2.8], [3, 3.5]]) {
    const a = moffatAlpha(fwhm, beta);
    const re = new Float64Array(n * n);
    const im = new Float64Array(n * n);
    const sub = 6;
    let sum = 0;
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
      const dx = x <= n / 2 ? x : x - n;
      const dy = y <= n / 2 ? y : y - n;
      let v = 0;
      for (let j = 0; j < sub; j++) for (let i = 0; i < sub; i++) {
        const xx = dx + (i + 0.5) / sub - 0.5;
        const yy = dy + (j + 0.5) / sub - 0.5;
        v += Math.pow(1 + (xx * xx + yy * yy) / (a * a), -beta);
      }
      re[y * n + x] = v;
      sum += v;
    }
    for (let i = 0; i < n * n; i++) re[i] /= sum;
    fft2d(re, im, n);
    const K = new Float64Array(n * n);
    moffatTransfer(K, n, fwhm, beta, 1);
    assert.equal(K[0], 1);
    let err = 0;
    for (let i = 0; i < n * n; i++) err = Math.max(err, Math.abs(K[i] - re[i]));
    assert.ok(err < 3e-3, `max OTF difference ${err}`);
    // FWHM check: the sampled profile halves at FWHM/2.
    assert.ok(Math.abs(Math.pow(1 + (fwhm / 2) ** 2 / (a * a), -beta) - 0.5) < 1e-9);
  }
});

test('profiles: Sérsic b_n, half-light radii, distances', () => {
  assert.ok(Math.abs(sersicB(1) - 1.678) < 1e-3);
  assert.ok(Math.abs(sersicB(4) - 7.669) < 1e-3);
  // The exponential loses only ~4% beyond the taper, so the enclosed fraction at r_e is ≈ 0.5/0.96.
  const e1 = enclosedFraction(sersicProfile(1), 1);
  assert.ok(e1 > 0.5 && e1 < 0.54, `n=1 enclosed(re) ${e1}`);
  assert.equal(enclosedFraction(sersicProfile(4), 100), 1);
  // Flat ΛCDM (H0 = 70, Ωm = 0.3): D_C(0.1) ≈ 418.5 Mpc, DM ≈ 38.32.
  assert.ok(Math.abs(comovingDistanceMpc(0.1) - 418.5) < 0.5);
  assert.ok(Math.abs(distanceModulus(0.1) - 38.32) < 0.01);
});
