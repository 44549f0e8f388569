/**
 * Measure training and inference throughput of an architecture on this machine, through the
 * same replicas `train()` uses (so workers = 2 measures data-parallel training on two cores).
 * Inputs are random; only speed is measured.
 */
import { initEngine, type BackendChoice } from '../engine/index.js';
import { createModel } from '../models/model.js';
import { getSchema, type Schema } from '../schema/index.js';
import { rng } from './random.js';
import { attachReplicas, readWeights, shareable, startReplicas, weightLayout, type Replica } from './replica.js';
import { AdamW } from './optimizer.js';

/** Options of {@link measureThroughput}. */
export interface ThroughputOptions {
  /** @default 'resnet-small' */
  architecture?: string;
  /** @default 64 */
  size?: number;
  /** @default 3 */
  bands?: 1 | 3;
  /** @default decals-dr5 */
  schema?: Schema;
  /** @default 2 */
  workers?: number;
  /** Images per step over all workers. @default 128 */
  batchSize?: number;
  /** Timed steps (after 2 warm-up steps). @default 5 */
  steps?: number;
  /** @default 'auto' */
  backend?: BackendChoice;
}

export interface ThroughputResult {
  architecture: string;
  size: number;
  workers: number;
  batchSize: number;
  parameters: number;
  /** Forward + backward + optimizer-free gradient exchange, images/s. */
  trainImagesPerSecond: number;
  /** Evaluation-mode forward, images/s. */
  forwardImagesPerSecond: number;
}

export async function measureThroughput(options: ThroughputOptions = {}): Promise<ThroughputResult> {
  const architecture = options.architecture ?? 'resnet-small';
  const size = options.size ?? 64;
  const bands = options.bands ?? 3;
  const workers = options.workers ?? 2;
  const batchSize = options.batchSize ?? 128;
  const steps = options.steps ?? 5;
  const backend = options.backend ?? 'auto';
  const schema = options.schema ?? getSchema('decals-dr5');
  await initEngine({ backend });
  const model = createModel({ schema, architecture, size, bands });
  const layout = weightLayout(model);
  const weights = shareable(readWeights(model), workers > 1);
  const parameters = model.countParams();
  const replicas: Replica[] = await startReplicas(model.config, workers, backend);
  model.dispose();
  const adam = new AdamW(weights.subarray(0, layout.trainableSize), new Uint8Array(layout.trainableSize), {}, workers > 1);
  await attachReplicas(replicas, layout, weights, adam);
  const random = rng(1);
  const per = Math.ceil(batchSize / workers);
  const images = () => Float32Array.from({ length: per * size * size * bands }, random);
  const counts = () => Float32Array.from({ length: per * schema.nAnswers }, () => Math.floor(4 * random()));
  const trainStep = () => Promise.all(replicas.map((r) => r.gradients({ images: images(), counts: counts(), n: per, dropoutSeed: 1 })));
  const forward = () => Promise.all(replicas.map((r) => r.evaluate(weights, images(), per)));
  try {
    const time = async (f: () => Promise<unknown>) => {
      await f();
      await f();
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await f();
      return (steps * per * replicas.length) / ((performance.now() - t0) / 1000);
    };
    const trainImagesPerSecond = await time(trainStep);
    const forwardImagesPerSecond = await time(forward);
    return { architecture, size, workers, batchSize: per * replicas.length, parameters, trainImagesPerSecond, forwardImagesPerSecond };
  } finally {
    await Promise.all(replicas.map((r) => r.dispose()));
  }
}
