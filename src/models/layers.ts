/**
 * The two custom layers of galmorph networks. Registered with tfjs serialization on import,
 * so saved models load wherever this module has been imported.
 */
import { tf, tfl } from '../engine/index.js';
import { mix } from '../train/random.js';

type Kwargs = Record<string, unknown>;

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

/** Smallest concentration the head can emit, and the width of its range: α ∈ (1, 101), as in Zoobot. */
export const CONCENTRATION_MIN = 1;
export const CONCENTRATION_RANGE = 100;

/**
 * Least slope of the sigmoid in the backward pass when the loss asks for a larger α (its
 * largest is 1/4, at 0): σ'(x) ≈ e^(−|x|) vanishes as a logit saturates, and an answer whose
 * logit the loss once pushed far below 0 (rare answers, whose votes are mostly 0, are pushed
 * towards α = 1 on every galaxy) would never move again — dead, however learnable its votes
 * become. With the slope kept at 10⁻² (|x| ≳ 4.6) for the galaxies whose votes pull α up,
 * they can bring it back (at 10⁻³, four epochs left a restarted "merger" answer at α ≈ 1.05
 * on mergers the volunteers all called mergers). The push down keeps the true slope: floored,
 * it would send every galaxy's saturated answers a constant "lower this logit" into the
 * shared encoder.
 */
const SIGMOID_SLOPE_FLOOR = 1e-2;

const concentrationsOf = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [logits, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const s = tf.sigmoid(logits);
  save([s]);
  return {
    value: tf.add(CONCENTRATION_MIN, tf.mul(CONCENTRATION_RANGE, s)),
    gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => {
      const slope = tf.mul(saved, tf.sub(1, saved));
      // dy < 0: the loss falls as α grows.
      return tf.mul(dy, tf.mul(CONCENTRATION_RANGE, tf.where(tf.less(dy, 0), tf.maximum(slope, SIGMOID_SLOPE_FLOOR), slope)));
    },
  };
});

/**
 * Map unbounded head outputs to concentrations: 1 + 100·sigmoid(x); in the backward pass the
 * sigmoid's slope is kept ≥ 10⁻² where the loss asks for a larger α, so saturated answers stay
 * trainable.
 */
export function toConcentrations(logits: tf.Tensor): tf.Tensor {
  return concentrationsOf(logits);
}

/** Zoobot head activation: concentrations 1 + 100·sigmoid(x), always in (1, 101). */
export class Concentration extends tfl.layers.Layer {
  static readonly className = 'GalmorphConcentration';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return toConcentrations(single(inputs));
  }
}

/** Options of {@link SeededDropout}. */
export interface SeededDropoutArgs {
  name?: string;
  /** Fraction of units dropped in training mode. */
  rate: number;
  /** Seed of the mask stream (0 = any). */
  seed?: number;
}

/**
 * Dropout whose masks come from a reproducible stream: mask k after `reseed(s)` depends only
 * on (s, k). tfjs's own Dropout either uses Math.random (irreproducible) or a fixed seed
 * (the same mask on every step), neither of which suits seeded, resumable training.
 * Active only when called with `training: true` — which is also how MC-dropout passes run.
 */
export class SeededDropout extends tfl.layers.Layer {
  static readonly className = 'GalmorphDropout';
  readonly rate: number;
  private streamSeed: number;
  private calls = 0;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    this.rate = args.rate;
    this.streamSeed = args.seed ?? 0;
  }

  /** Restart the mask stream from `seed`. */
  reseed(seed: number): void {
    this.streamSeed = seed >>> 0;
    this.calls = 0;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = single(inputs);
    if (!kwargs['training'] || this.rate <= 0) return tf.clone(x);
    const seed = this.streamSeed === 0 ? Math.floor(Math.random() * 2 ** 31) : mix(this.streamSeed, this.calls++) >>> 1;
    return tf.tidy(() => {
      const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), this.rate), 'float32');
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.rate)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

tf.serialization.registerClass(Concentration);
tf.serialization.registerClass(SeededDropout);
