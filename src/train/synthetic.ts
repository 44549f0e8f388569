/**
 * A tiny synthetic training set for tests and smoke runs: noisy elliptical blobs whose
 * simulated votes depend on what the image shows, so a network can learn them within a
 * couple of epochs. Two questions: `shape` (round / elongated, always asked) and `size`
 * (small / large, asked when `shape_round`).
 */
import { createSchema, type Schema } from '../schema/index.js';
import type { TrainingSet } from './data.js';
import type { TrainOptions } from './train.js';
import { mix, rng } from './random.js';

/** The schema of {@link syntheticTrainingSet}. */
export const SYNTHETIC_SCHEMA: Schema = createSchema({
  name: 'synthetic-blobs',
  description: 'Toy tree for tests: shape, then size of round blobs',
  questions: [
    { name: 'shape', answers: ['round', 'elongated'], askedIf: null },
    { name: 'size', answers: ['small', 'large'], askedIf: 'shape_round' },
  ],
});

/** `n` galaxies `blob-0000…`, ~10 votes each; images rendered at any requested size. */
export function syntheticTrainingSet(n: number, seed = 1): TrainingSet {
  const params = Array.from({ length: n }, (_, i) => {
    const r = rng(mix(seed, i));
    return { q: 0.25 + 0.75 * r(), radius: 0.08 + 0.17 * r(), angle: Math.PI * r(), noiseSeed: mix(seed, i, 7) };
  });
  const counts = new Float64Array(n * 4);
  params.forEach((p, i) => {
    const r = rng(mix(seed, i, 3));
    const pElongated = 1 / (1 + Math.exp(-(0.6 - p.q) * 14));
    const pLarge = 1 / (1 + Math.exp(-(p.radius - 0.165) * 60));
    const voters = 8 + Math.floor(r() * 6);
    for (let v = 0; v < voters; v++) {
      if (r() < pElongated) counts[i * 4 + 1]++;
      else {
        counts[i * 4]++;
        counts[i * 4 + (r() < pLarge ? 3 : 2)]++;
      }
    }
  });
  return {
    ids: params.map((_, i) => `blob-${String(i).padStart(4, '0')}`),
    counts,
    async image(i, size, bands) {
      const p = params[i];
      const noise = rng(p.noiseSeed);
      const data = new Float32Array(size * size * bands);
      const c = Math.cos(p.angle);
      const s = Math.sin(p.angle);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const u = (x + 0.5) / size - 0.5;
          const v = (y + 0.5) / size - 0.5;
          const a = (c * u + s * v) / p.radius;
          const b = (-s * u + c * v) / (p.radius * p.q);
          const light = Math.exp(-0.5 * (a * a + b * b));
          for (let k = 0; k < bands; k++) {
            data[(y * size + x) * bands + k] = Math.min(1, Math.max(0, 0.05 + 0.85 * light * (1 - 0.15 * k) + 0.03 * (noise() - 0.5)));
          }
        }
      }
      return { data, height: size, width: size, channels: bands };
    },
  };
}

/**
 * The tiny configuration the test suite trains: 120 synthetic galaxies, resnet-tiny at 32 px,
 * 2 epochs of batch 8 in the calling thread, on wasm — a few seconds on one core.
 */
export function tinyTrainOptions(out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    data: syntheticTrainingSet(120, 3),
    schema: SYNTHETIC_SCHEMA,
    out,
    architecture: 'resnet-tiny',
    size: 32,
    epochs: 2,
    batchSize: 8,
    learningRate: 3e-3,
    valFraction: 0.2,
    workers: 1,
    seed: 11,
    backend: 'wasm',
    progress: false,
    ...extra,
  };
}
