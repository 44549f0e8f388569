/**
 * The wasm conv-gradient kernels against three references: finite differences of a float64
 * JS convolution, the tfjs `cpu` backend's reference kernels, and PyTorch (fixtures).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEngine, tf } from './index.js';
import { caseLabel, geometry, relErr, values, type ConvCase, type Pad } from '../../test/conv-cases.js';

const CASES: ConvCase[] = [];
for (const k of [1, 3]) {
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const [h, w] of [
        [6, 6],
        [7, 5],
      ]) {
        CASES.push({ x: [2, h, w, 3], f: [k, k, 3, 4], stride, pad });
      }
    }
  }
}
CASES.push({ x: [2, 7, 7, 3], f: [3, 3, 3, 2], stride: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] });
CASES.push({ x: [1, 7, 6, 2], f: [1, 1, 2, 3], stride: 2, pad: [[0, 0], [1, 0], [1, 1], [0, 0]] });
CASES.push({ x: [2, 9, 8, 2], f: [5, 5, 2, 3], stride: 3, pad: 'same' });
CASES.push({ x: [3, 4, 4, 5], f: [3, 3, 5, 6], stride: 1, pad: 'same' });

/** Float64 NHWC/HWIO convolution. */
function conv64(c: ConvCase, x: Float64Array, f: Float64Array): Float64Array {
  const [b, h, w, ci] = c.x;
  const [kh, kw, , co] = c.f;
  const { t, l, oh, ow } = geometry(c);
  const y = new Float64Array(b * oh * ow * co);
  for (let n = 0; n < b; n++)
    for (let p = 0; p < oh; p++)
      for (let q = 0; q < ow; q++)
        for (let i = 0; i < kh; i++) {
          const yi = p * c.stride + i - t;
          if (yi < 0 || yi >= h) continue;
          for (let j = 0; j < kw; j++) {
            const xj = q * c.stride + j - l;
            if (xj < 0 || xj >= w) continue;
            for (let a = 0; a < ci; a++) {
              const xv = x[((n * h + yi) * w + xj) * ci + a];
              const fo = ((i * kw + j) * ci + a) * co;
              const yo = ((n * oh + p) * ow + q) * co;
              for (let o = 0; o < co; o++) y[yo + o] += xv * f[fo + o];
            }
          }
        }
  return y;
}

/** Central finite difference of L = Σ conv(x, f) · dy with respect to every element of `wrt`. */
function finiteDiff(c: ConvCase, x: Float64Array, f: Float64Array, dy: Float64Array, wrt: 'x' | 'f'): Float64Array {
  const target = wrt === 'x' ? x : f;
  const loss = () => conv64(c, x, f).reduce((acc, v, i) => acc + v * dy[i], 0);
  const eps = 1e-3;
  const g = new Float64Array(target.length);
  for (let i = 0; i < target.length; i++) {
    const keep = target[i];
    target[i] = keep + eps;
    const up = loss();
    target[i] = keep - eps;
    const down = loss();
    target[i] = keep;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

/** Both gradients through the active backend's kernels. */
function kernelGrads(c: ConvCase, x: Float64Array, f: Float64Array, dy: Float64Array, dyShape: number[]) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(Float32Array.from(x), c.x);
    const ft = tf.tensor4d(Float32Array.from(f), c.f);
    const dyt = tf.tensor4d(Float32Array.from(dy), dyShape as [number, number, number, number]);
    const dx = tf.conv2dTranspose(dyt, ft, c.x, c.stride, c.pad);
    const df = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xt, dy: dyt }, {
      strides: c.stride,
      pad: c.pad,
      dataFormat: 'NHWC',
      filterShape: c.f,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return [dx, df];
  });
}

async function onBackend(name: 'wasm' | 'cpu', c: ConvCase, x: Float64Array, f: Float64Array, dy: Float64Array, dyShape: number[]) {
  await initEngine({ backend: name });
  const [dx, df] = kernelGrads(c, x, f, dy, dyShape);
  const out = { dx: dx.dataSync().slice(), df: df.dataSync().slice() };
  tf.dispose([dx, df]);
  return out;
}

describe('wasm Conv2DBackpropInput / Conv2DBackpropFilter', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
  });
  after(async () => {
    await initEngine({ backend: 'wasm' });
  });

  for (const [index, c] of CASES.entries()) {
    it(`matches finite differences and the cpu backend: ${caseLabel(c)}`, async () => {
      const { oh, ow } = geometry(c);
      const dyShape = [c.x[0], oh, ow, c.f[3]];
      const x = values(tf.util.sizeFromShape(c.x), 1 + index);
      const f = values(tf.util.sizeFromShape(c.f), 100 + index);
      const dy = values(tf.util.sizeFromShape(dyShape), 200 + index);

      await initEngine({ backend: 'wasm' });
      const backend = tf.backend();
      const before = { tensors: tf.memory().numTensors, data: backend.numDataIds() };
      const wasm = await onBackend('wasm', c, x, f, dy, dyShape);
      assert.deepEqual({ tensors: tf.memory().numTensors, data: backend.numDataIds() }, before, 'leak');

      const fdX = finiteDiff(c, x, f, dy, 'x');
      const fdF = finiteDiff(c, x, f, dy, 'f');
      assert.ok(relErr(wasm.dx, fdX) < 1e-5, `dx vs finite differences: ${relErr(wasm.dx, fdX)}`);
      assert.ok(relErr(wasm.df, fdF) < 1e-5, `dW vs finite differences: ${relErr(wasm.df, fdF)}`);

      const cpu = await onBackend('cpu', c, x, f, dy, dyShape);
      assert.ok(relErr(wasm.dx, cpu.dx) < 1e-5, `dx vs cpu: ${relErr(wasm.dx, cpu.dx)}`);
      assert.ok(relErr(wasm.df, cpu.df) < 1e-5, `dW vs cpu: ${relErr(wasm.df, cpu.df)}`);
    });
  }

  it('rejects NCHW and unequal strides with a clear error', async () => {
    await initEngine({ backend: 'wasm' });
    const dy = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 2, 2]) as tf.Tensor4D;
    assert.throws(
      () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: f }, {
        strides: [1, 2],
        pad: 'same',
        dataFormat: 'NHWC',
        inputShape: [1, 4, 8, 2],
      } as unknown as tf.NamedAttrMap),
      /equal strides/,
    );
    assert.throws(
      () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: dy, dy }, {
        strides: 1,
        pad: 'same',
        dataFormat: 'NCHW',
        filterShape: [3, 3, 4, 4],
      } as unknown as tf.NamedAttrMap),
      /NHWC/,
    );
    tf.dispose([dy, f]);
  });
});

interface Fixture {
  name: string;
  stride: number;
  pad: Pad;
  x: { shape: number[]; data: number[] };
  filter: { shape: number[]; data: number[] };
  dy: { shape: number[]; data: number[] };
  y: { shape: number[]; data: number[] };
  dx: { shape: number[]; data: number[] };
  dfilter: { shape: number[]; data: number[] };
}

describe('against PyTorch fixtures (bench/engine/make_fixtures.py)', () => {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
  const files = readdirSync(dir).filter((n) => n.startsWith('conv') && n.endsWith('.json'));
  it('has fixtures', () => assert.ok(files.length > 0));
  for (const file of files) {
    const fx = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Fixture;
    it(`${fx.name}: forward, input and filter gradients`, async () => {
      await initEngine({ backend: 'wasm' });
      const [y, dx, df] = tf.tidy(() => {
        const x = tf.tensor4d(fx.x.data, fx.x.shape as [number, number, number, number]);
        const f = tf.tensor4d(fx.filter.data, fx.filter.shape as [number, number, number, number]);
        const dy = tf.tensor4d(fx.dy.data, fx.dy.shape as [number, number, number, number]);
        const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, fx.stride, fx.pad),
        )([x, f], dy);
        return [tf.conv2d(x, f, fx.stride, fx.pad), gx, gf];
      });
      assert.deepEqual(y.shape, fx.y.shape);
      assert.deepEqual(dx.shape, fx.dx.shape);
      assert.deepEqual(df.shape, fx.dfilter.shape);
      assert.ok(relErr(y.dataSync(), fx.y.data) < 1e-5, `y: ${relErr(y.dataSync(), fx.y.data)}`);
      assert.ok(relErr(dx.dataSync(), fx.dx.data) < 1e-5, `dx: ${relErr(dx.dataSync(), fx.dx.data)}`);
      assert.ok(relErr(df.dataSync(), fx.dfilter.data) < 1e-5, `dW: ${relErr(df.dataSync(), fx.dfilter.data)}`);
      tf.dispose([y, dx, df]);
    });
  }
});
