/** Fine-tuning a pretrained model on a new question from few labels (Zoobot's recipe), and the linear probe. */
export { finetune, rocAuc, type FinetuneOptions, type FinetuneResult, type FinetuneEpoch, type ValidationPrediction } from './finetune.js';
export {
  FinetunedModel,
  loadFinetuned,
  loadAnyModel,
  saveFinetuned,
  attachHead,
  TASKS as FINETUNE_TASKS,
  MODES as FINETUNE_MODES,
  type FinetuneConfig,
  type FinetuneTask,
  type FinetuneMode,
  type FinetunePrediction,
} from './model.js';
export { loadBase, encoderBlocks, NAMED_BASES, type FinetuneBase } from './base.js';
export { readLabels, splitLabels, MIN_LABELS, MIN_PER_CLASS, type Labels, type LabelOptions } from './labels.js';
export { fitLinear, applyLinear, type LinearFit, type ProbeKind } from './probe.js';
export { completenessPurity, type ClassScore, type ClassificationScore } from './metrics.js';
