/**
 * Model replicas for data-parallel training. There is one copy of the weights (a flat
 * Float32Array: trainable parameters, then batch-norm moving statistics), of the AdamW moments
 * and of each replica's gradient, in {@link SharedBuffers} that every replica sees
 * (SharedArrayBuffers when the replicas are worker threads, so nothing is copied between
 * threads). A step: each replica computes its shard's gradient from the shared weights; the
 * replicas average the gradients, each over a part of the vector; then each applies the AdamW
 * update to its part of the weights ({@link batchGradients}, then {@link optimizerStep}). A replica is
 * either in-process ({@link LocalReplica}, workers = 1) or a worker thread
 * ({@link WorkerReplica}); both run the same {@link ReplicaCore}.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker.js';
import { tf, initEngine, type BackendChoice } from '../engine/index.js';
import { buildNetwork, GalaxyModel, type ModelConfig } from '../models/model.js';
import { treeLoss } from './loss.js';
import { adamwUpdate, clipScale, l2Norm, type AdamW, type AdamWSettings } from './optimizer.js';

/** Where each weight lives in the flat vector. Trainable weights come first. */
export interface WeightLayout {
  names: string[];
  shapes: number[][];
  offsets: number[];
  sizes: number[];
  /** Floats in the trainable part (the gradient length). */
  trainableSize: number;
  /** Total floats. */
  size: number;
}

/** Result of one replica's forward/backward pass on its shard. */
export interface ShardResult {
  /** Gradient of the shard's mean loss, `[layout.trainableSize]`. */
  grads: Float32Array;
  /** The non-trainable weights (batch-norm moving statistics) after the pass. */
  state: Float32Array;
  /** Mean loss over the shard. */
  loss: number;
}

/** A shard of a batch: prepared images and vote counts. */
export interface Shard {
  images: Float32Array;
  counts: Float32Array;
  n: number;
  /** Seed of the dropout masks for this shard. */
  dropoutSeed: number;
}

/** What the replicas of a run share (see the file comment). */
export interface SharedBuffers {
  /** All weights in layout order: read by every replica at the start of a step. */
  weights: Float32Array;
  /** AdamW moments of the trainable weights. */
  m: Float32Array;
  v: Float32Array;
  /** One per replica: its shard's gradient; {@link averageGradients} leaves the batch's in `grads[0]`. */
  grads: Float32Array[];
  adam: AdamWSettings & { clipNorm: number };
}

/**
 * Share `weights` and `optimizer`'s moments with `replicas` (attached as replicas 0…n−1), with
 * one gradient vector per replica. The weights and moments must live in SharedArrayBuffers when
 * the replicas are threads (see {@link shareable} and AdamW's `shared`).
 */
export async function attachReplicas(replicas: Replica[], layout: WeightLayout, weights: Float32Array, optimizer: AdamW): Promise<SharedBuffers> {
  const inShared = weights.buffer instanceof SharedArrayBuffer;
  const grads = replicas.map(() => (inShared ? new Float32Array(new SharedArrayBuffer(4 * layout.trainableSize)) : new Float32Array(layout.trainableSize)));
  const { m, v } = optimizer.getState();
  const { lr, wd, beta1, beta2, eps, clipNorm } = optimizer;
  const shared: SharedBuffers = { weights, m, v, grads, adam: { lr, wd, beta1, beta2, eps, clipNorm } };
  await Promise.all(replicas.map((r, k) => r.attach(shared, k)));
  return shared;
}

/** A copy of `a` in a SharedArrayBuffer when `shared`, else `a` itself. */
export function shareable(a: Float32Array, shared: boolean): Float32Array {
  if (!shared || a.buffer instanceof SharedArrayBuffer) return a;
  const out = new Float32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/**
 * `grads[0][from, to)` ← Σₖ weightsₖ · `grads[k][from, to)`, accumulated in float32 in replica
 * order (the rounding of summing the replicas' gradients one by one into a zeroed vector).
 */
export function averageGradients(grads: Float32Array[], from: number, to: number, weights: number[]): void {
  const out = grads[0];
  if (weights.length === 2) {
    const [a, b] = grads;
    const [wa, wb] = weights;
    for (let i = from; i < to; i++) out[i] = Math.fround(0 + wa * a[i]) + wb * b[i];
    return;
  }
  for (let i = from; i < to; i++) {
    let g = 0;
    for (let k = 0; k < weights.length; k++) g = Math.fround(g + weights[k] * grads[k][i]);
    out[i] = g;
  }
}

/**
 * AdamW step `t` on trainable weights [from, to) with the batch gradient `grads[0]` clipped to
 * `clipNorm` by its global norm (computed over the whole vector, in index order, by every
 * caller alike). Returns that norm.
 */
export function updateWeights(shared: SharedBuffers, decay: Uint8Array, from: number, to: number, t: number): number {
  const g = shared.grads[0];
  const norm = l2Norm(g);
  adamwUpdate(shared.weights, shared.m, shared.v, decay, g, from, to, t, clipScale(norm, shared.adam.clipNorm), shared.adam);
  return norm;
}

/** The interface the training loop drives; see the file comment for a step's three phases. */
export interface Replica {
  /** Work on these buffers from now on, as replica `index`. */
  attach(shared: SharedBuffers, index: number): Promise<void>;
  /** Forward/backward of `shard` with the shared weights; the gradient goes to `grads[index]`. */
  gradients(shard: Shard): Promise<ShardGradients>;
  /** {@link averageGradients} over [from, to). */
  average(from: number, to: number, weights: number[]): Promise<void>;
  /** {@link updateWeights} over [from, to); returns the gradient norm. */
  update(from: number, to: number, t: number): Promise<number>;
  /** Concentrations `[n, nAnswers]` in evaluation mode. */
  evaluate(weights: Float32Array, images: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** A replica's shard result besides its gradient. */
export interface ShardGradients {
  /** The non-trainable weights (batch-norm moving statistics) after the pass. */
  state: Float32Array;
  /** Mean loss over the shard. */
  loss: number;
}

function weightsOf(net: GalaxyModel['net']) {
  return [...net.trainableWeights, ...net.nonTrainableWeights];
}

/** The flat layout of a network's weights. */
export function weightLayout(model: GalaxyModel): WeightLayout {
  const ws = weightsOf(model.net);
  const layout: WeightLayout = { names: [], shapes: [], offsets: [], sizes: [], trainableSize: 0, size: 0 };
  for (const w of ws) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    layout.names.push(w.originalName);
    layout.shapes.push(shape.slice());
    layout.offsets.push(layout.size);
    layout.sizes.push(n);
    layout.size += n;
  }
  layout.trainableSize = layout.sizes.slice(0, model.net.trainableWeights.length).reduce((a, b) => a + b, 0);
  return layout;
}

/** Read all weights into one flat vector in layout order. */
export function readWeights(model: GalaxyModel): Float32Array {
  const layout = weightLayout(model);
  const out = new Float32Array(layout.size);
  weightsOf(model.net).forEach((w, i) => out.set(w.read().dataSync() as Float32Array, layout.offsets[i]));
  return out;
}

/** Write a flat vector (layout order) into the network's weights. */
export function writeWeights(model: GalaxyModel, flat: Float32Array): void {
  const layout = weightLayout(model);
  if (flat.length !== layout.size) throw new RangeError(`weights vector has ${flat.length} floats, the network ${layout.size}`);
  weightsOf(model.net).forEach((w, i) => {
    const t = tf.tensor(flat.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]), layout.shapes[i], 'float32');
    w.write(t);
    t.dispose();
  });
}

/** Per trainable parameter: 1 where weight decay applies (kernels), 0 for biases and batch-norm. */
export function decayMask(layout: WeightLayout): Uint8Array {
  const mask = new Uint8Array(layout.trainableSize);
  layout.names.forEach((name, i) => {
    if (layout.offsets[i] < layout.trainableSize && /kernel$/.test(name)) mask.fill(1, layout.offsets[i], layout.offsets[i] + layout.sizes[i]);
  });
  return mask;
}

/** One network plus the forward/backward logic, independent of where it runs. */
export class ReplicaCore {
  readonly model: GalaxyModel;
  readonly layout: WeightLayout;
  private shared: { buffers: SharedBuffers; index: number; decay: Uint8Array } | undefined;

  constructor(config: ModelConfig) {
    this.model = new GalaxyModel(buildNetwork(config, 0), config);
    this.layout = weightLayout(this.model);
  }

  attach(buffers: SharedBuffers, index: number): void {
    if (buffers.weights.length !== this.layout.size) throw new RangeError(`shared weights hold ${buffers.weights.length} floats, the network ${this.layout.size}`);
    this.shared = { buffers, index, decay: decayMask(this.layout) };
  }

  private attached() {
    if (!this.shared) throw new Error('replica: no shared buffers attached');
    return this.shared;
  }

  gradients(shard: Shard): ShardGradients {
    const { buffers, index } = this.attached();
    const { state, loss } = this.trainStep(buffers.weights, shard, buffers.grads[index]);
    return { state, loss };
  }

  average(from: number, to: number, weights: number[]): void {
    averageGradients(this.attached().buffers.grads, from, to, weights);
  }

  update(from: number, to: number, t: number): number {
    const { buffers, decay } = this.attached();
    return updateWeights(buffers, decay, from, to, t);
  }

  /** Forward/backward of `shard` with `weights`; the gradient is written to `out` when given. */
  trainStep(weights: Float32Array, shard: Shard, out?: Float32Array): ShardResult {
    writeWeights(this.model, weights);
    const { inputSize: s, bands } = this.model.config;
    const A = this.model.schema.nAnswers;
    this.model.dropout.reseed(shard.dropoutSeed);
    const x = tf.tensor4d(shard.images, [shard.n, s, s, bands]);
    const y = tf.tensor2d(shard.counts, [shard.n, A]);
    const vars = this.model.net.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => treeLoss(y, this.model.apply(x, { training: true }), this.model.schema), vars);
    const flat = out ?? new Float32Array(this.layout.trainableSize);
    vars.forEach((v, i) => flat.set(grads[v.name].dataSync() as Float32Array, this.layout.offsets[i]));
    const loss = value.dataSync()[0];
    tf.dispose([x, y, value, ...Object.values(grads)]);
    const state = new Float32Array(this.layout.size - this.layout.trainableSize);
    this.model.net.nonTrainableWeights.forEach((w, j) => {
      const i = this.model.net.trainableWeights.length + j;
      state.set(w.read().dataSync() as Float32Array, this.layout.offsets[i] - this.layout.trainableSize);
    });
    return { grads: flat, state, loss };
  }

  evaluate(weights: Float32Array, images: Float32Array, n: number): Float32Array {
    writeWeights(this.model, weights);
    const s = this.model.config.inputSize;
    const x = tf.tensor4d(images, [n, s, s, this.model.config.bands]);
    const y = this.model.apply(x);
    const out = y.dataSync() as Float32Array;
    tf.dispose([x, y]);
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** A replica in the calling thread. */
export class LocalReplica implements Replica {
  private readonly core: ReplicaCore;
  constructor(config: ModelConfig) {
    this.core = new ReplicaCore(config);
  }
  async attach(shared: SharedBuffers, index: number): Promise<void> {
    this.core.attach(shared, index);
  }
  async gradients(shard: Shard): Promise<ShardGradients> {
    return this.core.gradients(shard);
  }
  async average(from: number, to: number, weights: number[]): Promise<void> {
    this.core.average(from, to, weights);
  }
  async update(from: number, to: number, t: number): Promise<number> {
    return this.core.update(from, to, t);
  }
  async evaluate(weights: Float32Array, images: Float32Array, n: number): Promise<Float32Array> {
    return this.core.evaluate(weights, images, n);
  }
  async dispose(): Promise<void> {
    this.core.dispose();
  }
}

/** Messages to a replica worker. */
export type WorkerRequest =
  | { kind: 'init'; config: ModelConfig; backend: BackendChoice }
  | { kind: 'attach'; shared: SharedBuffers; index: number }
  | { kind: 'gradients'; shard: Shard }
  | { kind: 'average'; from: number; to: number; weights: number[] }
  | { kind: 'update'; from: number; to: number; t: number }
  | { kind: 'eval'; weights: Float32Array; images: Float32Array; n: number };

/** Replies from a replica worker. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'gradients'; result: ShardGradients }
  | { kind: 'update'; norm: number }
  | { kind: 'eval'; concentrations: Float32Array }
  | { kind: 'error'; message: string; stack?: string };

/** A replica in a worker thread (see worker.ts). One request at a time. */
export class WorkerReplica implements Replica {
  private readonly worker: Worker;
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (reply.kind === 'error') {
        const e = new Error(`training worker: ${reply.message}`);
        e.stack = reply.stack ?? e.stack;
        p.reject(e);
      } else p.resolve(reply);
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.pending?.reject(e);
      this.pending = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`training worker exited (code ${code})`)));
  }

  /** Start a worker holding a network for `config` on `backend`. */
  static async start(config: ModelConfig, backend: BackendChoice): Promise<WorkerReplica> {
    const worker = startWorker(new URL('./worker.js', import.meta.url), import.meta.url);
    worker.unref();
    const r = new WorkerReplica(worker);
    await r.request({ kind: 'init', config, backend });
    return r;
  }

  private request(msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('training worker is busy'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer);
    });
  }

  async attach(shared: SharedBuffers, index: number): Promise<void> {
    if (!(shared.weights.buffer instanceof SharedArrayBuffer)) throw new TypeError('a worker replica needs SharedArrayBuffer-backed buffers');
    await this.request({ kind: 'attach', shared, index });
  }

  async gradients(shard: Shard): Promise<ShardGradients> {
    const reply = await this.request({ kind: 'gradients', shard }, [shard.images.buffer as ArrayBuffer, shard.counts.buffer as ArrayBuffer]);
    return (reply as Extract<WorkerReply, { kind: 'gradients' }>).result;
  }

  async average(from: number, to: number, weights: number[]): Promise<void> {
    await this.request({ kind: 'average', from, to, weights });
  }

  async update(from: number, to: number, t: number): Promise<number> {
    const reply = await this.request({ kind: 'update', from, to, t });
    return (reply as Extract<WorkerReply, { kind: 'update' }>).norm;
  }

  async evaluate(weights: Float32Array, images: Float32Array, n: number): Promise<Float32Array> {
    const reply = await this.request({ kind: 'eval', weights, images, n }, [images.buffer as ArrayBuffer]);
    return (reply as Extract<WorkerReply, { kind: 'eval' }>).concentrations;
  }

  async dispose(): Promise<void> {
    this.failure ??= new Error('training worker disposed');
    await this.worker.terminate();
  }
}

/** Start `count` replicas: in-process for 1, worker threads otherwise. */
export async function startReplicas(config: ModelConfig, count: number, backend: BackendChoice): Promise<Replica[]> {
  if (count <= 1) {
    await initEngine({ backend });
    return [new LocalReplica(config)];
  }
  const started = await Promise.allSettled(Array.from({ length: count }, () => WorkerReplica.start(config, backend)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.dispose() : undefined)));
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<WorkerReplica>).value);
}

/**
 * The gradients of one batch: split into contiguous shards, one per replica, computed
 * concurrently. The batch-norm moving statistics in `shared.weights` (after `trainableSize`)
 * become the shard-size-weighted mean of the replicas' updates.
 * @returns the batch loss (the shard-size-weighted mean of the replicas') and the shard sizes,
 *   for {@link optimizerStep}
 */
export async function batchGradients(
  replicas: Replica[],
  shared: SharedBuffers,
  trainableSize: number,
  batch: { images: Float32Array; counts: Float32Array; n: number },
  dropoutSeed: (replica: number) => number,
): Promise<{ loss: number; shardSizes: number[] }> {
  const { images, counts, n } = batch;
  const per = images.length / n;
  const A = counts.length / n;
  const k = Math.min(replicas.length, n);
  const base = Math.floor(n / k);
  const extra = n % k;
  const jobs: Promise<ShardGradients>[] = [];
  const shardSizes: number[] = [];
  for (let w = 0, from = 0; w < k; w++) {
    const m = base + (w < extra ? 1 : 0);
    const shard = { images: images.slice(from * per, (from + m) * per), counts: counts.slice(from * A, (from + m) * A), n: m, dropoutSeed: dropoutSeed(w) };
    jobs.push(replicas[w].gradients(shard));
    shardSizes.push(m);
    from += m;
  }
  const results = await Promise.all(jobs);
  const state = shared.weights.subarray(trainableSize);
  state.fill(0);
  let loss = 0;
  results.forEach((result, w) => {
    const share = shardSizes[w] / n;
    for (let i = 0; i < state.length; i++) state[i] += share * result.state[i];
    loss += share * result.loss;
  });
  return { loss, shardSizes };
}

/**
 * The optimizer step on the replicas' gradients, shared out: every replica averages the
 * gradients (weighted by shard size) over its part of the vector, then applies AdamW to its
 * part of the weights. Returns the gradient's global norm before clipping.
 */
export async function optimizerStep(replicas: Replica[], shardSizes: number[], shared: SharedBuffers, optimizer: AdamW): Promise<number> {
  const total = shardSizes.reduce((s, n) => s + n, 0);
  const shardWeights = shardSizes.map((n) => n / total);
  const size = shared.grads[0].length;
  const part = (k: number) => [Math.floor((k * size) / replicas.length), Math.floor(((k + 1) * size) / replicas.length)] as const;
  await Promise.all(replicas.map((x, k) => x.average(...part(k), shardWeights)));
  const t = optimizer.advance();
  const norms = await Promise.all(replicas.map((x, k) => x.update(...part(k), t)));
  return norms[0];
}
