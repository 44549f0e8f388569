/** Similarity search: "more galaxies like this one", exact or approximate (HNSW). See README.md. */
export { buildIndex, type BuildIndexOptions, type VectorSource, type ColumnChoice } from './build.js';
export {
  openIndex, SimilarityIndex,
  type OpenIndexOptions, type SimilarityQuery, type QueryItem, type Neighbour, type SearchInfo,
} from './similarity.js';
export { exactSearch, type SimilarityMetric, type RowHit, type ExactSearchOptions } from './exact.js';
export { parseWhere, type WhereFilter } from './where.js';
export type { IndexManifest, AnnSettings } from './manifest.js';
