/**
 * galmorph library API. Hand-curated: everything a user can import is listed here.
 */
export * from './errors.js';
export * from './schema/index.js';
export {
  readTable, writeTable, iterateTable, openTable, readVoteCatalog,
  readImage, writePng, readFits, readFitsFile, writeFits,
  type Cell, type Table, type TableStream, type ReadTableOptions,
  type VoteCatalog, type VoteCatalogOptions,
  type ImageTensor, type ReadImageOptions, type FitsStretchOptions, type FitsImage, type FitsValue,
} from './data/index.js';
export { renderMosaic, catalogMosaic, type MosaicGroup, type MosaicOptions, type CatalogMosaicOptions } from './viz/mosaic.js';
export * from './predict/index.js';
export { initEngine, engineInfo, type EngineInfo, type EngineOptions, type BackendChoice } from './engine/index.js';
export {
  createModel, loadModel, saveModel, readModelConfig, GalaxyModel, getArchitecture, architectureNames, prepareImages, decodeSize, ModelLoadError, loadTerrestrialMobileNetV2, TERRESTRIAL_MOBILENET_V2,
  type ModelConfig, type CreateModelOptions, type ArchitectureSpec,
} from './models/index.js';
export {
  exportOnnx, modelToOnnx, networkToOnnx, onnxGraphSpec, OnnxExportError, ONNX_INPUT, ONNX_REPRESENTATION, ONNX_OPSET,
  type OnnxExportResult, type OnnxGraphSpec,
} from './models/onnx.js';
export {
  train, warmStart, TrainingDivergedError, CheckpointError, treeLoss, dirichletMultinomialNll, expectedFractions, measureThroughput,
  type TrainOptions, type TrainResult, type WarmStartSummary, type EpochMetrics, type TrainingSet,
} from './train/index.js';
export {
  simulateGalaxy, sampleTruth, renderGalaxy, simulateVotes, getSurvey, surveyNames,
  type SurveyName, type SurveyProfile, type GalaxyTruth, type SimulatedGalaxy,
} from './sim/index.js';
export { simulateSurvey, type SimulateOptions, type SimulateResult } from './sim/runner.js';
export {
  buildIndex, openIndex, SimilarityIndex, parseWhere, exactSearch,
  type BuildIndexOptions, type VectorSource, type ColumnChoice, type OpenIndexOptions, type SimilarityQuery,
  type QueryItem, type Neighbour, type SearchInfo, type IndexManifest, type AnnSettings,
  type SimilarityMetric, type RowHit, type ExactSearchOptions, type WhereFilter,
} from './search/index.js';
export {
  AnomalySession, rankAnomalies, unsupervisedScores, runLabelLoop, writeRanking, readLabels, writeLabels,
  ActiveLearner, GaussianProcess,
  type SessionOptions, type SessionQuery, type RankOptions, type RankResult, type UnsupervisedOptions,
  type LabelLoopOptions, type LabelLoopResult, type LabelRecord, type Ranking, type ActiveLearnerOptions,
} from './anomaly/index.js';
export {
  finetune, loadFinetuned, loadAnyModel, FinetunedModel, readLabels as readFinetuneLabels, fitLinear, rocAuc, FINETUNE_TASKS, FINETUNE_MODES,
  loadBase, NAMED_BASES, completenessPurity,
  type FinetuneBase, type ClassScore, type ClassificationScore, type FinetuneOptions, type FinetuneResult, type FinetuneEpoch, type ValidationPrediction, type FinetuneConfig,
  type FinetuneTask, type FinetuneMode, type FinetunePrediction,
} from './finetune/index.js';
export {
  createExplorer, serve, Survey, LabelDesk,
  type Explorer, type ExplorerOptions, type RunningExplorer, type SurveyOptions, type GridQuery, type GridPage,
  type QuestionView, type AnswerView, type LabelState, type LabelQuestion, type RankedGalaxy,
} from './web/index.js';
