/**
 * Batch normalisation over the channel axis of NHWC tensors, with a closed-form backward.
 *
 * Why not tfjs-layers' BatchNormalization: in training mode it differentiates through
 * `moments` and the FusedBatchNorm gradient, which tiles per-channel vectors to the full
 * activation shape; on the wasm backend that Tile alone took ~27% of a resnet-small training
 * step. Here the whole training-mode forward is one `customGrad` with the textbook gradient
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·r·(dy − (dβ + x̂·dγ)/M),  r = 1/√(σ² + ε), M = N·H·W,
 * which needs only broadcasting element-wise ops and per-channel sums. On the native backend
 * (engine `nativeBatchNorm()`) the same forward and gradient are one oneDNN kernel each, and
 * inference mode's tf.batchNorm runs in oneDNN too.
 * Weights and their names (gamma, beta, moving_mean, moving_variance) match Keras's layer.
 */
import { nativeBatchNorm, tf, tfl, type BatchNormOps } from '../engine/index.js';

type Kwargs = Record<string, unknown>;

/** Options of {@link BatchNorm}. */
export interface BatchNormArgs {
  name?: string;
  /** Moving-average momentum (Keras convention: new = m·old + (1 − m)·batch). @default 0.9 */
  momentum?: number;
  /** @default 1e-3 */
  epsilon?: number;
  /** Initialise γ to zero (last BN of a residual branch) instead of one. @default false */
  zeroGamma?: boolean;
}

export class BatchNorm extends tfl.layers.Layer {
  static readonly className = 'GalmorphBatchNorm';
  readonly momentum: number;
  readonly epsilon: number;
  readonly zeroGamma: boolean;
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;
  private movingMean!: tfl.LayerVariable;
  private movingVariance!: tfl.LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super({ name: args.name });
    this.momentum = args.momentum ?? 0.9;
    this.epsilon = args.epsilon ?? 1e-3;
    this.zeroGamma = args.zeroGamma ?? false;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const c = shape[shape.length - 1] as number;
    const ones = tfl.initializers.ones();
    const zeros = tfl.initializers.zeros();
    this.gamma = this.addWeight('gamma', [c], 'float32', this.zeroGamma ? zeros : ones, undefined, true);
    this.beta = this.addWeight('beta', [c], 'float32', zeros, undefined, true);
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', zeros, undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', ones, undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const gamma = this.gamma.read();
    const beta = this.beta.read();
    // A frozen layer (trainable = false) always normalises with its moving statistics, as
    // in Keras: fine-tuning the layers above it must not shift the statistics it learnt.
    if (!kwargs['training'] || !this.trainable) {
      return tf.batchNorm(x, this.movingMean.read(), this.movingVariance.read(), beta, gamma, this.epsilon);
    }
    return this.trainingForward(x, gamma, beta);
  }

  private trainingForward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
    const eps = this.epsilon;
    const m = x.shape[0]! * x.shape[1]! * x.shape[2]!;
    const native = x.rank === 4 ? nativeBatchNorm() : undefined;
    const forward = tf.customGrad((...args: unknown[]) => {
      const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const pass = native ? nativePass(native, xi, g, b, eps) : opsPass(xi, g, b, eps, m);
      this.updateMovingAverages(pass.mean, pass.variance, m);
      save(pass.saved);
      tf.dispose([pass.mean, pass.variance, ...pass.temporaries]);
      return { value: pass.y, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => pass.grad(dy as tf.Tensor, saved) };
    });
    return forward(x, gamma, beta);
  }

  private updateMovingAverages(mean: tf.Tensor, variance: tf.Tensor, m: number): void {
    const k = this.momentum;
    // Unbiased batch variance for the running estimate, as PyTorch keeps it.
    const unbias = m > 1 ? m / (m - 1) : 1;
    tf.tidy(() => {
      this.movingMean.write(tf.add(tf.mul(this.movingMean.read(), k), tf.mul(mean, 1 - k)));
      this.movingVariance.write(tf.add(tf.mul(this.movingVariance.read(), k), tf.mul(variance, (1 - k) * unbias)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon, zeroGamma: this.zeroGamma };
  }
}

/** One training-mode forward: output, batch statistics, and how to differentiate it. */
interface TrainingPass {
  y: tf.Tensor;
  mean: tf.Tensor;
  /** Biased batch variance. */
  variance: tf.Tensor;
  /** What `grad` needs, kept by customGrad. */
  saved: tf.Tensor[];
  /** Created here, released once saved. */
  temporaries: tf.Tensor[];
  /** [dx, dγ, dβ] from dy and `saved`. */
  grad: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/** The closed form above in broadcasting tfjs ops: every backend. */
function opsPass(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, m: number): TrainingPass {
  const axes = [0, 1, 2];
  const { y, xhat, r, mean, variance } = tf.tidy(() => {
    const { mean, variance } = tf.moments(x, axes);
    const r = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(x, mean), r);
    return { y: tf.add(tf.mul(xhat, gamma), beta), xhat, r, mean, variance };
  });
  return {
    y,
    mean,
    variance,
    saved: [xhat, r, gamma],
    temporaries: [xhat, r],
    grad: (dy, [sxhat, sr, sg]) => {
      const dBeta = tf.sum(dy, axes);
      const dGamma = tf.sum(tf.mul(dy, sxhat), axes);
      const inner = tf.sub(dy, tf.div(tf.add(tf.mul(sxhat, dGamma), dBeta), m));
      return [tf.mul(inner, tf.mul(sg, sr)), dGamma, dBeta];
    },
  };
}

/**
 * The same in one oneDNN call each way (native backend): the ops above make about ten
 * element-wise passes over the activation, each its own wasm kernel; oneDNN's make two or three.
 */
function nativePass(ops: BatchNormOps, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): TrainingPass {
  const [y, mean, variance] = ops.forward(x, gamma, beta, eps);
  return {
    y,
    mean,
    variance,
    saved: [x, mean, variance, gamma, beta],
    temporaries: [],
    grad: (dy, [sx, smean, svariance, sg, sb]) => ops.backward(dy, sx, smean, svariance, sg, sb, eps),
  };
}

tf.serialization.registerClass(BatchNorm);
