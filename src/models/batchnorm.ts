/**
 * Batch normalisation over the channel axis of NHWC tensors, with a closed-form backward.
 *
 * Why not tfjs-layers' BatchNormalization: in training mode it differentiates through
 * `moments` and the FusedBatchNorm gradient, which tiles per-channel vectors to the full
 * activation shape; on the wasm backend that Tile alone took ~27% of a resnet-small training
 * step. Here the whole training-mode forward is one `customGrad` with the textbook gradient
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·r·(dy − (dβ + x̂·dγ)/M),  r = 1/√(σ² + ε), M = N·H·W,
 * which needs only broadcasting element-wise ops and per-channel sums.
 * Weights and their names (gamma, beta, moving_mean, moving_variance) match Keras's layer.
 */
import { tf, tfl } from '../engine/index.js';

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
    const axes = [0, 1, 2];
    const m = x.shape[0]! * x.shape[1]! * x.shape[2]!;
    const forward = tf.customGrad((...args: unknown[]) => {
      const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const { y, xhat, r, mean, variance } = tf.tidy(() => {
        const { mean, variance } = tf.moments(xi, axes);
        const r = tf.rsqrt(tf.add(variance, eps));
        const xhat = tf.mul(tf.sub(xi, mean), r);
        return { y: tf.add(tf.mul(xhat, g), b), xhat, r, mean, variance };
      });
      this.updateMovingAverages(mean, variance, m);
      save([xhat, r, g]);
      tf.dispose([mean, variance, xhat, r]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const d = dy as tf.Tensor;
          const [sxhat, sr, sg] = saved;
          const dBeta = tf.sum(d, axes);
          const dGamma = tf.sum(tf.mul(d, sxhat), axes);
          const inner = tf.sub(d, tf.div(tf.add(tf.mul(sxhat, dGamma), dBeta), m));
          return [tf.mul(inner, tf.mul(sg, sr)), dGamma, dBeta];
        },
      };
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

tf.serialization.registerClass(BatchNorm);
