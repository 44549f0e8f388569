import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from './index.js';

type Case = { shape: number[]; axis: number | number[]; keepDims: boolean; dtype?: 'float32' | 'int32' };
const CASES: Case[] = [
  { shape: [4, 5, 6, 3], axis: [0, 1, 2], keepDims: false }, // batch-norm's per-channel sums (fast path)
  { shape: [4, 5, 6, 3], axis: [2, 0, 1], keepDims: true },
  { shape: [7, 9], axis: 0, keepDims: false },
  { shape: [4, 5, 6, 3], axis: [1, 2], keepDims: false }, // global average pooling (built-in)
  { shape: [4, 5, 6, 3], axis: [0, 1, 2, 3], keepDims: false }, // full reduction (built-in)
  { shape: [4, 5], axis: -1, keepDims: true },
  { shape: [6, 4], axis: 0, keepDims: false, dtype: 'int32' },
];

describe('wasm Sum / Mean / Identity', () => {
  for (const c of CASES) {
    it(`sum and mean match the cpu backend: ${c.shape.join('×')} axis ${JSON.stringify(c.axis)} keepDims ${c.keepDims} ${c.dtype ?? 'float32'}`, async () => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, (_, i) => (c.dtype === 'int32' ? (i * 7) % 11 : Math.sin(i * 1.3) * 3));
      const run = () =>
        tf.tidy(() => {
          const x = tf.tensor(values, c.shape, c.dtype ?? 'float32');
          return [tf.sum(x, c.axis, c.keepDims), tf.mean(x, c.axis, c.keepDims)].map((t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync()) }));
        });
      await initEngine({ backend: 'wasm' });
      const before = { tensors: tf.memory().numTensors, data: tf.backend().numDataIds() };
      const wasm = run();
      assert.deepEqual({ tensors: tf.memory().numTensors, data: tf.backend().numDataIds() }, before);
      await initEngine({ backend: 'cpu' });
      const cpu = run();
      await initEngine({ backend: 'wasm' });
      for (let k = 0; k < 2; k++) {
        assert.deepEqual(wasm[k].shape, cpu[k].shape);
        assert.equal(wasm[k].dtype, cpu[k].dtype);
        wasm[k].data.forEach((v, i) => assert.ok(Math.abs(v - cpu[k].data[i]) <= 1e-5 * Math.max(1, Math.abs(cpu[k].data[i])), `${v} vs ${cpu[k].data[i]}`));
      }
    });
  }

  it('clones share the buffer and outlive the original', async () => {
    await initEngine({ backend: 'wasm' });
    const data = tf.backend().numDataIds();
    const x = tf.tensor([1, 2, 3]);
    const y = tf.clone(x);
    assert.equal(tf.backend().numDataIds(), data + 1);
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
    y.dispose();
    assert.equal(tf.backend().numDataIds(), data);
  });
});
