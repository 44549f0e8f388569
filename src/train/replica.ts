/**
 * Model replicas for data-parallel training. The training loop owns the one true copy of the
 * weights (a flat Float32Array: trainable parameters, then batch-norm moving statistics) and
 * the optimizer; each replica receives those weights with its shard of the batch, returns
 * the gradient and its updated moving statistics, and the loop combines them. A replica is
 * either in-process ({@link LocalReplica}, workers = 1) or a worker thread
 * ({@link WorkerReplica}); both run the same {@link ReplicaCore}.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker.js';
import { tf, initEngine, type BackendChoice } from '../engine/index.js';
import { buildNetwork, GalaxyModel, type ModelConfig } from '../models/model.js';
import { treeLoss } from './loss.js';

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

/** The interface the training loop drives. */
export interface Replica {
  trainStep(weights: Float32Array, shard: Shard): Promise<ShardResult>;
  /** Concentrations `[n, nAnswers]` in evaluation mode. */
  evaluate(weights: Float32Array, images: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
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

  constructor(config: ModelConfig) {
    this.model = new GalaxyModel(buildNetwork(config, 0), config);
    this.layout = weightLayout(this.model);
  }

  trainStep(weights: Float32Array, shard: Shard): ShardResult {
    writeWeights(this.model, weights);
    const { inputSize: s, bands } = this.model.config;
    const A = this.model.schema.nAnswers;
    this.model.dropout.reseed(shard.dropoutSeed);
    const x = tf.tensor4d(shard.images, [shard.n, s, s, bands]);
    const y = tf.tensor2d(shard.counts, [shard.n, A]);
    const vars = this.model.net.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => treeLoss(y, this.model.apply(x, { training: true }), this.model.schema), vars);
    const flat = new Float32Array(this.layout.trainableSize);
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
  async trainStep(weights: Float32Array, shard: Shard): Promise<ShardResult> {
    return this.core.trainStep(weights, shard);
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
  | { kind: 'step'; weights: Float32Array; shard: Shard }
  | { kind: 'eval'; weights: Float32Array; images: Float32Array; n: number };

/** Replies from a replica worker. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'step'; result: ShardResult }
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

  async trainStep(weights: Float32Array, shard: Shard): Promise<ShardResult> {
    const reply = await this.request({ kind: 'step', weights, shard }, [shard.images.buffer as ArrayBuffer, shard.counts.buffer as ArrayBuffer]);
    return (reply as Extract<WorkerReply, { kind: 'step' }>).result;
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
