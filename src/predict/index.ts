/** Survey-scale prediction and representation: sharded, streaming, resumable. See README.md. */
export { predictSurvey, type PredictOptions } from './predict.js';
export { predictionColumns } from './heads.js';
export { embedSurvey, type EmbedOptions, type EmbedResult, type EmbedPcaOption } from './embed.js';
export type { SurveyOptions, SurveyResult, SurveyModel } from './survey.js';
export { parseShard, shardRange, type Shard } from './shard.js';
export type { InputOptions } from './inputs.js';
export {
  fitPcaFromFiles, loadPca, savePca, applyPca, featureColumn, pcaColumn, CovarianceAccumulator, symmetricEigen,
  type PcaModel, type PcaFitOptions,
} from './pca.js';
export { summariseConcentrations } from './uncertainty.js';
export { openEncoder, INFERENCE_ENGINES, DEFAULT_INFERENCE_ENGINE, type InferenceEngine, type Encoder, type EncoderOptions } from './engine.js';
export { calibration, midPit, betaCdf, type CalibrationOptions, type CalibrationReport, type QuestionCalibration } from './calibration.js';
export {
  orientedRepresentation, dihedralTransform, checkOrientationMode, ORIENTATION_MODES, DEFAULT_ORIENTATIONS, DIHEDRAL_TRANSFORMS,
  type OrientationMode,
} from './orientation.js';
