import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, tfl, initEngine } from '../engine/index.js';
import { BatchNorm } from './batchnorm.js';

await initEngine({ backend: 'wasm' });

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** The textbook batch-norm as plain differentiable ops (autodiff reference). */
function reference(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

function layerWith(gamma: number[], beta: number[], shape: number[]): BatchNorm {
  const input = tfl.input({ shape: shape.slice(1) });
  const bn = new BatchNorm({ name: `bn_${Math.random().toString(36).slice(2)}`, momentum: 0.9, epsilon: 1e-3 });
  bn.apply(input);
  bn.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta), tf.zeros([gamma.length]), tf.ones([gamma.length])]);
  return bn;
}

test('training-mode forward and gradients match autodiff of the textbook formula', () => {
  const shape = [3, 4, 5, 6];
  const r = lcg(1);
  const xv = Array.from({ length: 3 * 4 * 5 * 6 }, () => 3 * r() - 1);
  const gv = [0.5, 1, 1.5, -0.7, 2, 0.1];
  const bv = [0, 0.1, -0.2, 0.3, 1, -1];
  const upstream = tf.tensor4d(Array.from({ length: xv.length }, () => r() - 0.5), shape as [number, number, number, number]);
  const x = tf.tensor4d(xv, shape as [number, number, number, number]);
  const bn = layerWith(gv, bv, shape);
  const [gamma, beta] = bn.trainableWeights.map((w) => w.read() as tf.Variable);
  const y1 = (bn.apply(x, { training: true }) as tf.Tensor).dataSync();
  const y2 = reference(x, tf.tensor1d(gv), tf.tensor1d(bv), 1e-3).dataSync();
  y1.forEach((v, i) => assert.ok(Math.abs(v - y2[i]) < 1e-5, `y[${i}]`));
  // Ours: dx through the customGrad, dγ/dβ through the layer's variables.
  const dxOurs = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(bn.apply(xi, { training: true }) as tf.Tensor, upstream)))(x).dataSync();
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(x, { training: true }) as tf.Tensor, upstream)), [gamma, beta]);
  const theirs = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(reference(xi as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3), upstream)),
  );
  const [dxRef, dgRef, dbRef] = theirs([x, tf.tensor1d(gv), tf.tensor1d(bv)]).map((t) => t.dataSync());
  dxOurs.forEach((v, i) => assert.ok(Math.abs(v - dxRef[i]) < 1e-4, `dx[${i}]: ${v} vs ${dxRef[i]}`));
  grads[gamma.name].dataSync().forEach((v, i) => assert.ok(Math.abs(v - dgRef[i]) < 1e-4, `dgamma[${i}]`));
  grads[beta.name].dataSync().forEach((v, i) => assert.ok(Math.abs(v - dbRef[i]) < 1e-4, `dbeta[${i}]`));
});

test('moving statistics follow the batch (unbiased variance) and drive inference mode', () => {
  const shape = [2, 3, 3, 2];
  const r = lcg(2);
  const xv = Array.from({ length: 36 }, () => 4 * r() + 1);
  const x = tf.tensor4d(xv, shape as [number, number, number, number]);
  const bn = layerWith([1, 1], [0, 0], shape);
  tf.dispose(bn.apply(x, { training: true }) as tf.Tensor);
  const [mm, mv] = bn.nonTrainableWeights.map((w) => w.read().dataSync());
  for (let c = 0; c < 2; c++) {
    const vals = xv.filter((_, i) => i % 2 === c);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const unbiased = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1);
    assert.ok(Math.abs(mm[c] - 0.1 * mean) < 1e-5);
    assert.ok(Math.abs(mv[c] - (0.9 + 0.1 * unbiased)) < 1e-4);
  }
  const y = (bn.apply(x, { training: false }) as tf.Tensor).dataSync();
  xv.forEach((v, i) => {
    const c = i % 2;
    assert.ok(Math.abs(y[i] - (v - mm[c]) / Math.sqrt(mv[c] + 1e-3)) < 1e-4);
  });
});
