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
