/**
 * Survey simulator: a galaxy population with known truth, imaged as DECaLS-, SDSS- or
 * DES-like surveys would, with Galaxy Zoo-style volunteer votes that follow what is visible.
 */
export { getSurvey, surveyNames, bandNoise, magToNmgy, nmgyToMag, type SurveyName, type SurveyProfile, type BandNoise } from './surveys.js';
export { sampleTruth, galaxyId, diskAxisRatio, mu50, type GalaxyTruth, type MorphType, type RingType, type MergerState, type BulgeShape } from './truth.js';
export { renderGalaxy, type Rendered, type RenderOptions } from './render.js';
export { observingConditions, type Conditions, type Artifact } from './conditions.js';
export { computeVisibility, visibleTags, ringLabel, type Visibility } from './visibility.js';
export { toRgb } from './rgb.js';
export { simulateVotes, answerModel, perceivedMergerStage, oracleFor, volunteerCount, type SimulatedVotes } from './votes.js';
export { simulateGalaxy, catalogueRow, SIMULATOR_VERSION, type SimulateGalaxyOptions, type SimulatedGalaxy } from './simulate.js';
export { imageVisibility, featureDetectability, DEFAULT_VISIBILITY, VISIBILITY_MODES, type VisibilityMode } from './seen.js';
export { redshiftTruth } from './redshift.js';
export { Rng } from './rng.js';
