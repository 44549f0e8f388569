/** Networks: architectures, building, MC dropout, preprocessing, save/load. */
export { getArchitecture, architectureNames, DEFAULT_ARCHITECTURE, type ArchitectureSpec, type StageSpec } from './architectures.js';
export { Concentration, SeededDropout, toConcentrations, CONCENTRATION_MIN, CONCENTRATION_RANGE, type SeededDropoutArgs } from './layers.js';
export { BatchNorm, type BatchNormArgs } from './batchnorm.js';
export { createModel, buildNetwork, GalaxyModel, REPRESENTATION_LAYER, type ModelConfig, type CreateModelOptions } from './model.js';
export { saveModel, loadModel, readModelConfig, serializeNetwork, deserializeNetwork, ModelLoadError, MODEL_JSON, WEIGHTS_BIN, CONFIG_JSON } from './io.js';
export {
  prepareImages,
  decodeSize,
  resampleInto,
  centreCropMap,
  identityNormalisation,
  type ImageLike,
  type InputSpec,
  type Normalisation,
  type AffineMap,
} from './preprocess.js';
export { loadTerrestrialMobileNetV2, mobileNetBlockOf, TerrestrialEncoder, TERRESTRIAL_MOBILENET_V2, TERRESTRIAL_DEFAULT_SIZE, type TerrestrialConfig } from './terrestrial.js';
