/** Data I/O: tables and vote catalogues (CSV/Parquet), images (PNG/JPEG/FITS). See README.md. */
export * from './table.js';
export { readVoteCatalog, type VoteCatalog, type VoteCatalogOptions } from './catalog.js';
export * from './fits.js';
export * from './image.js';
export { produceAtomic, tempPathFor, writeFileAtomic } from './atomic.js';
