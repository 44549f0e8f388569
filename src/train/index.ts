/** Training: the tree loss, augmentation, data, checkpoints and the `train()` loop. */
export { train, TrainingDivergedError, type TrainOptions, type TrainResult } from './train.js';
export { warmStart, type WarmStartSummary } from './warmstart.js';
export { treeLoss, dirichletMultinomialNll, logGamma, digamma, expectedFractions } from './loss.js';
export { openTrainingSet, ImageCache, type TrainingSet, type TrainingSetOptions } from './data.js';
export { augmentInto, randomAffine, type AugmentOptions } from './augment.js';
export { AdamW, type AdamWOptions, type AdamWState } from './optimizer.js';
export { readCheckpoint, CheckpointError, CHECKPOINT_FILE, type Checkpoint, type CheckpointState } from './checkpoint.js';
export type { EpochMetrics } from './metrics.js';
export { measureThroughput, type ThroughputOptions, type ThroughputResult } from './throughput.js';
export { syntheticTrainingSet, tinyTrainOptions, SYNTHETIC_SCHEMA } from './synthetic.js';
