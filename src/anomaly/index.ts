/** Personalised anomaly detection with active learning. See README.md. */
export { unsupervisedScores, rankAnomalies, writeRanking, type UnsupervisedOptions, type RankOptions, type RankResult } from './rank.js';
export { AnomalySession, type SessionOptions, type SessionQuery } from './session.js';
export { runLabelLoop, type LabelLoopOptions, type LabelLoopResult } from './loop.js';
export { ActiveLearner, argsortDescending, type ActiveLearnerOptions, type Ranking, type Query } from './learner.js';
export { GaussianProcess, type RqKernelParams, type GpFitOptions, type GpPredictOptions, type GpPosterior } from './gp.js';
export { ConditionedVariance, expectedImprovement, topExpectedImprovement, type EiSearchOptions, type EiSelection } from './acquisition.js';
export { fitIsolationForest, scoreIsolationForest, type IsolationForest, type IsolationForestOptions } from './iforest.js';
export { loadFeatures, type FeatureMatrix, type FeatureOptions, type GalaxyFeatures, type EmbeddingsSource } from './features.js';
export { readLabels, writeLabels, type LabelRecord } from './labels.js';
