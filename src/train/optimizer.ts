/**
 * AdamW (Adam with decoupled weight decay, Loshchilov & Hutter) over one flat parameter
 * vector, in plain JS float32. Keeping parameters and moments as flat arrays makes the
 * optimizer state trivially checkpointable and identical on every data-parallel replica,
 * and it costs a few ms per step for a ~1M-parameter network.
 */

/** Optimizer settings. */
export interface AdamWOptions {
  /** Step size. @default 1e-3 */
  learningRate?: number;
  /** Decoupled weight decay (applied as w ← w·(1 − lr·wd) to decayed parameters). @default 0.01 */
  weightDecay?: number;
  /** @default 0.9 */
  beta1?: number;
  /** @default 0.999 */
  beta2?: number;
  /** @default 1e-8 */
  epsilon?: number;
  /** Clip the global gradient L2 norm to this before the step (0 = off). @default 1 */
  clipNorm?: number;
}

/** Serializable optimizer state. */
export interface AdamWState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

export class AdamW implements AdamWSettings {
  readonly lr: number;
  readonly wd: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly clipNorm: number;
  /** Parameters updated in place. */
  readonly params: Float32Array;
  /** 1 where weight decay applies (conv/dense kernels), 0 for biases and batch-norm. */
  private readonly decayMask: Uint8Array;
  private state: AdamWState;

  /**
   * @param params trainable parameters, flat (updated in place by {@link step})
   * @param decayMask per-parameter 0/1: whether weight decay applies
   * @param shared keep the moments in SharedArrayBuffers (for updates by worker threads)
   */
  constructor(params: Float32Array, decayMask: Uint8Array, options: AdamWOptions = {}, shared = false) {
    this.params = params;
    this.decayMask = decayMask;
    this.lr = options.learningRate ?? 1e-3;
    this.wd = options.weightDecay ?? 0.01;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.epsilon ?? 1e-8;
    this.clipNorm = options.clipNorm ?? 1;
    const moments = () => (shared ? new Float32Array(new SharedArrayBuffer(4 * params.length)) : new Float32Array(params.length));
    this.state = { step: 0, m: moments(), v: moments() };
  }

  /**
   * One update from gradient `grad` (same layout as params; not modified).
   * @returns the gradient's global L2 norm before clipping
   */
  step(grad: Float32Array): number {
    const norm = l2Norm(grad);
    adamwUpdate(this.params, this.state.m, this.state.v, this.decayMask, grad, 0, this.params.length, this.advance(), clipScale(norm, this.clipNorm), this);
    return norm;
  }

  /**
   * Count one step whose update is applied elsewhere ({@link adamwUpdate} on parts of the
   * parameters, e.g. by data-parallel workers sharing `params`, `m` and `v`).
   * @returns the step number t (1 for the first step)
   */
  advance(): number {
    return ++this.state.step;
  }

  getState(): AdamWState {
    return this.state;
  }

  /** Restore a state (the moments are copied into this optimizer's own arrays). */
  setState(state: AdamWState): void {
    if (state.m.length !== this.params.length || state.v.length !== this.params.length) {
      throw new RangeError(`optimizer state holds ${state.m.length} moments for ${this.params.length} parameters`);
    }
    this.state.step = state.step;
    this.state.m.set(state.m);
    this.state.v.set(state.v);
  }
}

/** Global L2 norm of a gradient (summed in index order, in float64). */
export function l2Norm(grad: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < grad.length; i++) sq += grad[i] * grad[i];
  return Math.sqrt(sq);
}

/** Factor that clips a gradient of L2 norm `norm` to `clipNorm` (0 = no clipping). */
export function clipScale(norm: number, clipNorm: number): number {
  return clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
}

/** The settings {@link adamwUpdate} needs (an {@link AdamW} is one). */
export interface AdamWSettings {
  readonly lr: number;
  readonly wd: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/**
 * AdamW step `t` on parameters [from, to) with gradient `grad × scale`: what
 * {@link AdamW.step} does over the whole vector, so that threads sharing `params`, `m` and `v`
 * can each update a part, with the same result bit for bit.
 */
export function adamwUpdate(
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  decayMask: Uint8Array,
  grad: Float32Array,
  from: number,
  to: number,
  t: number,
  scale: number,
  o: AdamWSettings,
): void {
  const b1 = o.beta1;
  const b2 = o.beta2;
  const stepSize = o.lr / (1 - b1 ** t);
  const vCorr = 1 / (1 - b2 ** t);
  const decay = 1 - o.lr * o.wd;
  const eps = o.eps;
  for (let i = from; i < to; i++) {
    const g = grad[i] * scale;
    const mi = (m[i] = b1 * m[i] + (1 - b1) * g);
    const vi = (v[i] = b2 * v[i] + (1 - b2) * g * g);
    const w = decayMask[i] ? params[i] * decay : params[i];
    params[i] = w - (stepSize * mi) / (Math.sqrt(vi * vCorr) + eps);
  }
}
