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

export class AdamW {
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
   */
  constructor(params: Float32Array, decayMask: Uint8Array, options: AdamWOptions = {}) {
    this.params = params;
    this.decayMask = decayMask;
    this.lr = options.learningRate ?? 1e-3;
    this.wd = options.weightDecay ?? 0.01;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.epsilon ?? 1e-8;
    this.clipNorm = options.clipNorm ?? 1;
    this.state = { step: 0, m: new Float32Array(params.length), v: new Float32Array(params.length) };
  }

  /**
   * One update from gradient `grad` (same layout as params; clipped in place).
   * @returns the gradient's global L2 norm before clipping
   */
  step(grad: Float32Array): number {
    const { m, v } = this.state;
    const p = this.params;
    let sq = 0;
    for (let i = 0; i < grad.length; i++) sq += grad[i] * grad[i];
    const norm = Math.sqrt(sq);
    const scale = this.clipNorm > 0 && norm > this.clipNorm ? this.clipNorm / norm : 1;
    const t = ++this.state.step;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const stepSize = this.lr / (1 - b1 ** t);
    const vCorr = 1 / (1 - b2 ** t);
    const decay = 1 - this.lr * this.wd;
    for (let i = 0; i < p.length; i++) {
      const g = grad[i] * scale;
      const mi = (m[i] = b1 * m[i] + (1 - b1) * g);
      const vi = (v[i] = b2 * v[i] + (1 - b2) * g * g);
      const w = this.decayMask[i] ? p[i] * decay : p[i];
      p[i] = w - (stepSize * mi) / (Math.sqrt(vi * vCorr) + this.eps);
    }
    return norm;
  }

  getState(): AdamWState {
    return this.state;
  }

  setState(state: AdamWState): void {
    if (state.m.length !== this.params.length || state.v.length !== this.params.length) {
      throw new RangeError(`optimizer state holds ${state.m.length} moments for ${this.params.length} parameters`);
    }
    this.state = { step: state.step, m: state.m, v: state.v };
  }
}
