/**
 * End to end: a small tfjs-layers net with every layer kind galmorph's CNNs use (3×3 and 1×1
 * convs at stride 1 and 2, batch norm, ReLU, swish, max/avg pooling, global average pooling,
 * dropout, dense, a residual add) trains on wasm, and every gradient matches the cpu backend.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf, tfl } from './index.js';

function buildNet(): tfl.LayersModel {
  const input = tfl.input({ shape: [16, 16, 3] });
  const conv = (filters: number, kernelSize: number, strides: number, name: string) =>
    tfl.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, name, kernelInitializer: tfl.initializers.glorotUniform({ seed: name.length }) });
  let x = conv(8, 3, 1, 'stem').apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tfl.SymbolicTensor;
  const a = tfl.layers.activation({ activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
  let b = conv(16, 3, 2, 'down').apply(a) as tfl.SymbolicTensor;
  b = tfl.layers.batchNormalization({ name: 'down_bn' }).apply(b) as tfl.SymbolicTensor;
  b = tfl.layers.activation({ activation: 'swish' }).apply(b) as tfl.SymbolicTensor;
  const shortcut = conv(16, 1, 2, 'shortcut').apply(a) as tfl.SymbolicTensor;
  x = tfl.layers.add().apply([b, shortcut]) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .conv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu', name: 'mid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .conv2d({ filters: 10, kernelSize: 1, activation: 'relu', name: 'pointwise', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dropout({ rate: 0.3, seed: 7 }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers
    .dense({ units: 5, name: 'head', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

function lossOf(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  const pred = model.apply(xs, { training: true }) as tf.Tensor;
  return tf.losses.meanSquaredError(ys, pred) as tf.Scalar;
}

/** Loss and every trainable weight's gradient, read back to plain arrays. */
function gradients(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor) {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => lossOf(model, xs, ys), vars);
  const out: Record<string, Float32Array> = {};
  for (const [name, g] of Object.entries(grads)) out[name] = g.dataSync() as Float32Array;
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

describe('training a small conv net on wasm', () => {
  it('runs tfjs-layers on the wasm backend with the project kernels', async () => {
    const info = await initEngine({ backend: 'wasm' });
    assert.equal(info.backend, 'wasm');
    const model = buildNet();
    const y = model.predict(tf.zeros([1, 16, 16, 3])) as tf.Tensor;
    assert.equal(tf.getBackend(), 'wasm');
    assert.ok(tf.engine().backend === tf.findBackend('wasm'));
    assert.deepEqual(y.shape, [1, 5]);
    tf.dispose(y);
    model.dispose();
  });

  it('computes every gradient as the cpu backend does', async () => {
    await initEngine({ backend: 'wasm' });
    const model = buildNet();
    const xs = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', 11);
    const ys = tf.randomNormal([4, 5], 0, 1, 'float32', 12);
    const wasm = gradients(model, xs, ys);
    await initEngine({ backend: 'cpu' });
    const cpu = gradients(model, xs, ys);
    await initEngine({ backend: 'wasm' });

    const names = Object.keys(cpu.grads);
    assert.equal(names.length, model.trainableWeights.length);
    assert.deepEqual(Object.keys(wasm.grads), names);
    assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-5 * Math.max(1, cpu.loss), `loss ${wasm.loss} vs ${cpu.loss}`);
    for (const name of names) {
      const a = wasm.grads[name];
      const b = cpu.grads[name];
      let num = 0;
      let den = 1e-12;
      for (let i = 0; i < a.length; i++) {
        num = Math.max(num, Math.abs(a[i] - b[i]));
        den = Math.max(den, Math.abs(b[i]));
      }
      assert.ok(den > 1e-8, `${name}: gradient is zero on cpu`);
      assert.ok(num / den < 1e-4, `${name}: max relative difference ${num / den}`);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('lowers the loss with an optimizer and leaks no tensors', async () => {
    await initEngine({ backend: 'wasm' });
    const model = buildNet();
    const xs = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 21);
    const ys = tf.randomNormal([8, 5], 0, 1, 'float32', 22);
    const optimizer = tf.train.adam(0.01);
    const step = () => {
      const loss = optimizer.minimize(() => lossOf(model, xs, ys), true) as tf.Scalar;
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    };
    const first = step(); // creates optimizer slots
    const tensors = tf.memory().numTensors;
    const data = tf.backend().numDataIds();
    let last = first;
    for (let i = 0; i < 15; i++) last = step();
    assert.equal(tf.memory().numTensors, tensors, 'tensors leaked per step');
    assert.equal(tf.backend().numDataIds(), data, 'backend buffers leaked per step');
    assert.ok(last < first * 0.7, `loss ${first} -> ${last}`);
    optimizer.dispose();
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
