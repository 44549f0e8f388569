import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError, initEngine, nativeBatchNorm, tf, tfl } from './index.js';
import { loadAddon } from './native.js';
import { createModel } from '../models/index.js';
import { BatchNorm } from '../models/batchnorm.js';
import { values } from '../../test/conv-cases.js';
import { getSchema } from '../schema/index.js';
import { ReplicaCore, readWeights } from '../train/replica.js';

const addon = loadAddon();
/** tfjs-wasm's kernels that native ones replace (undefined: a galmorph-only kernel), before any switch. */
const TFJS_OWN = Object.fromEntries([tf.Conv2D, tf.FusedConv2D, tf.FusedBatchNorm, 'GalmorphBatchNormTraining', 'GalmorphReluGrad'].map((n) => [n, tf.getKernel(n, 'wasm')]));
const skip = 'error' in addon ? `skipped: ${addon.error}` : false;

/** max |a − b| / max(1, max |a|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let m = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

type Case = { x: [number, number, number, number]; f: [number, number, number, number]; s: number; pad: 'same' | 'valid'; act: 'linear' | 'relu' | 'elu' };
const CASES: Case[] = [
  { x: [4, 9, 9, 5], f: [3, 3, 5, 7], s: 1, pad: 'same', act: 'linear' },
  { x: [4, 10, 10, 5], f: [3, 3, 5, 7], s: 2, pad: 'same', act: 'relu' },
  { x: [2, 11, 11, 3], f: [3, 3, 3, 4], s: 2, pad: 'valid', act: 'linear' },
  { x: [2, 10, 12, 3], f: [3, 3, 3, 4], s: 2, pad: 'valid', act: 'relu' }, // last row and column unread
  { x: [3, 16, 16, 8], f: [1, 1, 8, 16], s: 2, pad: 'same', act: 'linear' }, // a projection's: odd rows and columns unread
  { x: [3, 8, 8, 6], f: [1, 1, 6, 5], s: 2, pad: 'same', act: 'relu' },
  { x: [2, 7, 7, 4], f: [3, 3, 4, 4], s: 3, pad: 'same', act: 'linear' },
  { x: [2, 6, 6, 3], f: [3, 3, 3, 2], s: 1, pad: 'same', act: 'elu' }, // falls back to wasm
];

/** Fused conv (+bias, activation) output and the gradients of a weighted sum of it wrt x, w, bias. */
function convAndGrads(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal(c.f, 0, 1, 'float32', 2) as tf.Tensor4D;
    const b = tf.randomNormal([c.f[3]], 0, 1, 'float32', 3) as tf.Tensor1D;
    const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
      const y = tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: c.s, pad: c.pad, bias: bb, activation: c.act });
      return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 4)));
    };
    const y = tf.fused.conv2d({ x, filter: w, strides: c.s, pad: c.pad, bias: b, activation: c.act });
    const grads = tf.grads(f)([x, w, b]);
    return [y, ...grads].map((t) => Float32Array.from(t.dataSync()));
  });
}

/** NHWC shapes for batch norm: odd channel counts and sizes, a tail past oneDNN's 8-wide vectors. */
const NORM_SHAPES: [number, number, number, number][] = [
  [4, 5, 6, 3],
  [2, 7, 7, 16],
  [3, 4, 4, 33],
];
const EPS = 1e-3;

/**
 * The galmorph BatchNorm layer on `shape`: training-mode output, gradients of Σ y·u wrt x, γ,
 * β, the moving statistics after those three training-mode passes, and the inference-mode output.
 */
function batchNormRun(shape: [number, number, number, number], seed: number): Record<'y' | 'dx' | 'dgamma' | 'dbeta' | 'movingMean' | 'movingVariance' | 'inference', Float32Array> {
  const c = shape[3];
  const size = shape.reduce((a, b) => a * b, 1);
  const bn = new BatchNorm({ name: `bn_case_${seed}`, momentum: 0.9, epsilon: EPS });
  bn.apply(tfl.input({ shape: shape.slice(1) }));
  const vector = (k: number) => tf.tensor1d(Float32Array.from(values(c, seed + k)));
  bn.setWeights([vector(1), vector(2), vector(3), tf.add(vector(4), 2)]);
  const x = tf.tensor4d(Float32Array.from(values(size, seed), (v, i) => 3 * v + (i % c)), shape);
  const u = tf.tensor4d(Float32Array.from(values(size, seed + 5)), shape);
  const [gamma, beta] = bn.trainableWeights.map((w) => w.read() as tf.Variable);
  const y = bn.apply(x, { training: true }) as tf.Tensor;
  const loss = (xi: tf.Tensor) => tf.sum(tf.mul(bn.apply(xi, { training: true }) as tf.Tensor, u)) as tf.Scalar;
  const dx = tf.grad(loss)(x);
  const { value, grads } = tf.variableGrads(() => loss(x), [gamma, beta]);
  const [movingMean, movingVariance] = bn.nonTrainableWeights.map((w) => w.read());
  const inference = bn.apply(x, { training: false }) as tf.Tensor;
  const out = { y, dx, dgamma: grads[gamma.name], dbeta: grads[beta.name], movingMean, movingVariance, inference };
  const arrays = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Float32Array.from(t.dataSync())])) as ReturnType<typeof batchNormRun>;
  tf.dispose([x, u, y, dx, value, inference, ...Object.values(grads)]);
  bn.dispose();
  return arrays;
}

/** The same training-mode quantities in float64 from the closed form (see models/batchnorm.ts). */
function batchNormReference(shape: [number, number, number, number], seed: number) {
  const c = shape[3];
  const size = shape.reduce((a, b) => a * b, 1);
  const m = size / c;
  const gamma = values(c, seed + 1);
  const beta = values(c, seed + 2);
  const x = values(size, seed).map((v, i) => 3 * v + (i % c));
  const u = values(size, seed + 5);
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  x.forEach((v, i) => (mean[i % c] += v / m));
  x.forEach((v, i) => (variance[i % c] += (v - mean[i % c]) ** 2 / m));
  const r = variance.map((v) => 1 / Math.sqrt(v + EPS));
  const xhat = x.map((v, i) => (v - mean[i % c]) * r[i % c]);
  const dbeta = new Float64Array(c);
  const dgamma = new Float64Array(c);
  u.forEach((d, i) => {
    dbeta[i % c] += d;
    dgamma[i % c] += d * xhat[i];
  });
  return {
    y: xhat.map((v, i) => v * gamma[i % c] + beta[i % c]),
    dx: u.map((d, i) => gamma[i % c] * r[i % c] * (d - (dbeta[i % c] + xhat[i] * dgamma[i % c]) / m)),
    dgamma,
    dbeta,
  };
}

/** Losses and final weights of `steps` plain-SGD steps of resnet-tiny from a fixed seed. */
function trainFew(steps: number): { losses: number[]; weights: Float32Array } {
  const schema = getSchema('decals-dr5');
  const probe = createModel({ schema, architecture: 'resnet-tiny', size: 32, seed: 7 });
  const core = new ReplicaCore(probe.config);
  probe.dispose();
  const weights = readWeights(core.model);
  const n = 8;
  let r = 12345;
  const rand = () => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const images = Float32Array.from({ length: n * 32 * 32 * 3 }, rand);
  const counts = Float32Array.from({ length: n * schema.nAnswers }, () => Math.floor(rand() * 8));
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const out = core.trainStep(weights, { images: images.slice(), counts: counts.slice(), n, dropoutSeed: 1 + s });
    losses.push(out.loss);
    for (let i = 0; i < out.grads.length; i++) weights[i] -= 0.05 * out.grads[i];
  }
  core.dispose();
  return { losses, weights };
}

describe('native (oneDNN) kernels', { skip }, () => {
  it('match the wasm kernels: conv forward (bias, ReLU), input and filter gradients, strides 1–3', async () => {
    await initEngine({ backend: 'wasm' });
    const wasm = CASES.map(convAndGrads);
    const info = await initEngine({ backend: 'native' });
    assert.match(info.native ?? '', /^oneDNN \d/);
    assert.equal(info.backend, 'wasm');
    const native = CASES.map(convAndGrads);
    CASES.forEach((c, i) => {
      ['y', 'dx', 'dw', 'db'].forEach((what, j) => {
        const e = relErr(wasm[i][j], native[i][j]);
        assert.ok(e < 1e-5, `${JSON.stringify(c)} ${what}: relative error ${e}`);
      });
    });
    await initEngine({ backend: 'wasm' });
  });

  it('batch norm: training forward, moving statistics, gradients and inference match float64 and wasm', async () => {
    await initEngine({ backend: 'wasm' });
    assert.equal(nativeBatchNorm(), undefined);
    const wasm = NORM_SHAPES.map((shape, i) => batchNormRun(shape, 10 * i));
    await initEngine({ backend: 'native' });
    assert.notEqual(nativeBatchNorm(), undefined);
    const native = NORM_SHAPES.map((shape, i) => batchNormRun(shape, 10 * i));
    await initEngine({ backend: 'wasm' });
    NORM_SHAPES.forEach((shape, i) => {
      const exact = batchNormReference(shape, 10 * i);
      for (const [what, ref] of Object.entries(exact)) {
        const e = relErr(native[i][what as keyof typeof exact], ref);
        assert.ok(e < 1e-5, `${shape} ${what} vs float64: relative error ${e}`);
      }
      for (const [what, ref] of Object.entries(wasm[i])) {
        const e = relErr(native[i][what as keyof typeof exact], ref);
        assert.ok(e < 1e-5, `${shape} ${what} vs wasm: relative error ${e}`);
      }
    });
  });

  it('tf.batchNorm: native with per-channel scale and offset, wasm without, same results', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(Float32Array.from(values(6 * 4, 1)), [6, 4]);
        const v = (seed: number) => tf.tensor1d(Float32Array.from(values(4, seed)));
        const variance = tf.add(v(3), 2);
        return [tf.batchNorm(x, v(2), variance, v(4), v(5)), tf.batchNorm(tf.reshape(x, [1, 2, 3, 4]), v(2), variance)].map((t) => t.dataSync());
      });
    await initEngine({ backend: 'wasm' });
    const wasm = run();
    await initEngine({ backend: 'native' });
    const native = run();
    await initEngine({ backend: 'wasm' });
    wasm.forEach((w, i) => assert.ok(relErr(native[i], w) < 1e-6, `case ${i}`));
  });

  it("ReLU's gradient: one native kernel, equal to tfjs's on wasm and cpu (zeros, negatives, NaN)", async () => {
    const x = Float32Array.from(values(2 * 5 * 5 * 7, 3), (v, i) => (i % 11 === 0 ? 0 : v));
    x[5] = NaN;
    const dy = Float32Array.from(values(x.length, 4));
    const shape: [number, number, number, number] = [2, 5, 5, 7];
    /** The gradient of Σ relu(x)·dy wrt x, and the kernels that computed it. */
    const run = async () => {
      const [xt, dyt] = [tf.tensor4d(x, shape), tf.tensor4d(dy, shape)];
      const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dyt)))(xt));
      const dx = info.result as tf.Tensor;
      const out = { dx: Float32Array.from(dx.dataSync()), kernels: info.kernels.map((k) => k.name) };
      tf.dispose([xt, dyt, dx]);
      return out;
    };
    await initEngine({ backend: 'cpu' });
    const cpu = await run();
    await initEngine({ backend: 'wasm' });
    const wasm = await run();
    await initEngine({ backend: 'native' });
    const native = await run();
    await initEngine({ backend: 'wasm' });
    assert.ok(native.kernels.includes('GalmorphReluGrad') && !native.kernels.includes('Step'), native.kernels.join());
    assert.ok(!wasm.kernels.includes('GalmorphReluGrad') && !cpu.kernels.includes('GalmorphReluGrad'));
    for (const other of [cpu, wasm]) {
      assert.ok(Number.isNaN(other.dx[5]) && Number.isNaN(native.dx[5]));
      native.dx.forEach((v, i) => i === 5 || assert.equal(v, other.dx[i], `element ${i} (x = ${x[i]})`));
    }
  });

  it('trains resnet-tiny like wasm: same losses and weights after 3 SGD steps', async () => {
    await initEngine({ backend: 'wasm' });
    let before = tf.memory().numTensors;
    const wasm = trainFew(3);
    const wasmKept = tf.memory().numTensors - before; // model-building leftovers of tfjs-layers
    await initEngine({ backend: 'native' });
    before = tf.memory().numTensors;
    const native = trainFew(3);
    assert.equal(tf.memory().numTensors - before, wasmKept, 'no tensors leaked beyond what wasm keeps');
    await initEngine({ backend: 'wasm' });
    native.losses.forEach((l, i) => assert.ok(Math.abs(l - wasm.losses[i]) <= 1e-4 * Math.abs(wasm.losses[i]), `step ${i}: ${l} vs ${wasm.losses[i]}`));
    const e = relErr(wasm.weights, native.weights);
    assert.ok(e < 1e-4, `weights differ by ${e}`);
  });

  it('switches back to the wasm kernels', async () => {
    await initEngine({ backend: 'native' });
    const info = await initEngine({ backend: 'wasm' });
    assert.equal(info.native, null);
    assert.ok(info.kernels.includes('Conv2DBackpropFilter'));
    assert.ok(!info.kernels.includes('FusedConv2D'));
    for (const [name, own] of Object.entries(TFJS_OWN)) assert.equal(tf.getKernel(name, 'wasm'), own, `${name} is tfjs's own again`);
  });
});

describe('native backend selection', () => {
  it("'native' without the addon is a clear error", { skip: 'error' in addon ? false : 'the addon is built here' }, async () => {
    await assert.rejects(initEngine({ backend: 'native' }), (e: unknown) => e instanceof EngineError && /native.*unavailable.*not built/.test(e.message));
  });
});
