/**
 * The wasm depthwise-conv gradient kernels against finite differences of a float64 JS
 * depthwise convolution and against the tfjs `cpu` backend, through `tf.grads` of
 * `depthwiseConv2d` (the path tfjs-layers' DepthwiseConv2D takes when training).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from './index.js';
import { caseLabel, geometry, relErr, values, type ConvCase } from '../../test/conv-cases.js';

const CASES: ConvCase[] = [];
for (const stride of [1, 2]) {
  for (const pad of ['same', 'valid'] as const) {
    for (const m of [1, 2]) CASES.push({ x: [2, 7, 6, 3], f: [3, 3, 3, m], stride, pad });
  }
}
// MobileNetV2's stride-2 blocks: asymmetric explicit padding (ZeroPadding2D) then 'valid'.
CASES.push({ x: [2, 8, 8, 4], f: [3, 3, 4, 1], stride: 2, pad: [[0, 0], [0, 1], [0, 1], [0, 0]] });
CASES.push({ x: [1, 9, 9, 2], f: [5, 5, 2, 1], stride: 1, pad: 'same' });

/** Σ depthwise(x, f) · dy in float64 — linear in x and in f, so central differences are exact. */
function loss64(c: ConvCase, x: Float64Array, f: Float64Array, dy: Float64Array): number {
  const [b, h, w, ch] = c.x;
  const [kh, kw, , m] = c.f;
  const { t, l, oh, ow } = geometry(c);
  let sum = 0;
  for (let n = 0; n < b; n++)
    for (let p = 0; p < oh; p++)
      for (let q = 0; q < ow; q++)
        for (let k = 0; k < ch; k++)
          for (let u = 0; u < m; u++) {
            let y = 0;
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const r = p * c.stride + i - t;
                const col = q * c.stride + j - l;
                if (r >= 0 && r < h && col >= 0 && col < w) y += x[((n * h + r) * w + col) * ch + k] * f[((i * kw + j) * ch + k) * m + u];
              }
            sum += y * dy[((n * oh + p) * ow + q) * ch * m + k * m + u];
          }
  return sum;
}

function finiteDiff(c: ConvCase, x: Float64Array, f: Float64Array, dy: Float64Array, wrt: 'x' | 'f'): Float64Array {
  const v = wrt === 'x' ? x : f;
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + 0.5;
    const up = loss64(c, x, f, dy);
    v[i] = keep - 0.5;
    out[i] = up - loss64(c, x, f, dy);
    v[i] = keep;
  }
  return out;
}

async function gradsOn(backend: 'wasm' | 'cpu', c: ConvCase, x: Float64Array, f: Float64Array, dy: Float64Array, dyShape: number[]) {
  await initEngine({ backend });
  const xt = tf.tensor4d(Float32Array.from(x), c.x);
  const ft = tf.tensor4d(Float32Array.from(f), c.f);
  const dyt = tf.tensor4d(Float32Array.from(dy), dyShape as [number, number, number, number]);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad));
  const [dx, df] = g([xt, ft], dyt);
  const out = { dx: dx.dataSync().slice(), df: df.dataSync().slice() };
  tf.dispose([xt, ft, dyt, dx, df]);
  return out;
}

describe('wasm DepthwiseConv2dNativeBackpropInput / …BackpropFilter', () => {
  after(async () => {
    await initEngine({ backend: 'wasm' });
  });

  it('are registered on wasm', async () => {
    const info = await initEngine({ backend: 'wasm' });
    assert.ok(info.kernels.includes(tf.DepthwiseConv2dNativeBackpropInput));
    assert.ok(info.kernels.includes(tf.DepthwiseConv2dNativeBackpropFilter));
  });

  for (const [index, c] of CASES.entries()) {
    it(`match finite differences and the cpu backend: ${caseLabel(c)}`, async () => {
      const { oh, ow } = geometry(c);
      const dyShape = [c.x[0], oh, ow, c.f[2] * c.f[3]];
      const x = values(tf.util.sizeFromShape(c.x), 1 + index);
      const f = values(tf.util.sizeFromShape(c.f), 100 + index);
      const dy = values(tf.util.sizeFromShape(dyShape), 200 + index);
      await initEngine({ backend: 'wasm' });
      const before = { tensors: tf.memory().numTensors, data: tf.backend().numDataIds() };
      const wasm = await gradsOn('wasm', c, x, f, dy, dyShape);
      assert.deepEqual({ tensors: tf.memory().numTensors, data: tf.backend().numDataIds() }, before, 'leak');
      assert.ok(relErr(wasm.dx, finiteDiff(c, x, f, dy, 'x')) < 1e-5, 'dx vs finite differences');
      assert.ok(relErr(wasm.df, finiteDiff(c, x, f, dy, 'f')) < 1e-5, 'dW vs finite differences');
      const cpu = await gradsOn('cpu', c, x, f, dy, dyShape);
      assert.ok(relErr(wasm.dx, cpu.dx) < 1e-5, `dx vs cpu: ${relErr(wasm.dx, cpu.dx)}`);
      assert.ok(relErr(wasm.df, cpu.df) < 1e-5, `dW vs cpu: ${relErr(wasm.df, cpu.df)}`);
    });
  }
});
