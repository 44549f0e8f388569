import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from './index.js';

type Pool = { shape: [number, number, number, number]; size: number; stride: number; pad: 'same' | 'valid' };
const CASES: Pool[] = [
  { shape: [2, 8, 8, 4], size: 2, stride: 2, pad: 'same' },
  { shape: [2, 9, 7, 3], size: 3, stride: 2, pad: 'same' },
  { shape: [1, 7, 7, 5], size: 3, stride: 1, pad: 'valid' },
  { shape: [3, 6, 6, 2], size: 3, stride: 2, pad: 'valid' },
];

function grad(c: Pool, x: tf.Tensor, dy: tf.Tensor): Float32Array {
  const g = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad))(x, dy);
  const out = g.dataSync() as Float32Array;
  g.dispose();
  return out;
}

describe('wasm MaxPoolGrad', () => {
  for (const c of CASES) {
    it(`matches the cpu backend with negative windows: ${c.shape.join('×')} ${c.size}×${c.size} s${c.stride} ${c.pad}`, async () => {
      await initEngine({ backend: 'wasm' });
      // Mostly negative inputs with exact ties: the built-in wasm kernel fails on both.
      const x = tf.tidy(() => tf.div(tf.round(tf.mul(tf.randomNormal(c.shape, -1, 1, 'float32', 3), 4)), 4));
      const dy = tf.tidy(() => tf.randomNormal(tf.maxPool(x as tf.Tensor4D, c.size, c.stride, c.pad).shape, 0, 1, 'float32', 4));
      const before = { tensors: tf.memory().numTensors, data: tf.backend().numDataIds() };
      const wasm = grad(c, x, dy);
      assert.deepEqual({ tensors: tf.memory().numTensors, data: tf.backend().numDataIds() }, before);
      await initEngine({ backend: 'cpu' });
      const cpu = grad(c, x, dy);
      await initEngine({ backend: 'wasm' });
      // Same routing; overlapping windows may sum in another order (1-ulp differences).
      assert.equal(wasm.length, cpu.length);
      for (let i = 0; i < cpu.length; i++) {
        assert.ok(Math.abs(wasm[i] - cpu[i]) <= 1e-6 * Math.max(1, Math.abs(cpu[i])), `dx[${i}]: ${wasm[i]} vs ${cpu[i]}`);
      }
      tf.dispose([x, dy]);
    });
  }
});
