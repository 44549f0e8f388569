/**
 * The on-disk similarity index: a directory holding
 *
 *   manifest.json   what the index is (this type), written last
 *   ids.json        galaxy ids, a JSON array in row order
 *   vectors.f32     the vectors searched, float32 little-endian, `[count, dim]` row-major —
 *                   after centring and (for cosine) unit-length normalisation
 *   ann.usearch     the HNSW graph (usearch), only for approximate indexes
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OptionError } from '../errors.js';
import type { SimilarityMetric } from './exact.js';

export const MANIFEST_JSON = 'manifest.json';
export const IDS_JSON = 'ids.json';
export const VECTORS_F32 = 'vectors.f32';
export const ANN_FILE = 'ann.usearch';

/** Settings of the approximate (HNSW) part of an index. */
export interface AnnSettings {
  library: 'usearch';
  /** usearch version that wrote the file. */
  version: string;
  file: string;
  /** usearch metric: `ip` on unit vectors for cosine, `l2sq` for l2. */
  metric: 'ip' | 'l2sq';
  /** Graph degree M. */
  connectivity: number;
  /** Candidate list size while building (efConstruction). */
  expansionAdd: number;
  /** Candidate list size while searching (ef), the default for searches. */
  expansionSearch: number;
}

/** Contents of `manifest.json`. */
export interface IndexManifest {
  format: 'galmorph-similarity-index';
  formatVersion: 1;
  /** ISO time of the build. */
  created: string;
  /** Embedding tables the vectors came from (absolute paths), or [] when built from memory. */
  source: string[];
  /** Source columns, in vector order (e.g. `pca_00`…, `feat_000`…). */
  columns: string[];
  /** Number of `feat_` columns in the source (the representation length), 0 if unknown. */
  representationDim: number;
  dim: number;
  count: number;
  /** Source rows left out: error status, or a non-finite value. */
  skipped: { status: number; nonFinite: number };
  metric: SimilarityMetric;
  /** What was done to every vector (queries get the same): subtract `mean`, then scale to unit length. */
  normalisation: { center: boolean; unitLength: boolean };
  /** Mean subtracted when `center` (length `dim`), else null. */
  mean: number[] | null;
  /** `exact`: brute force only; `ann`: HNSW graph, exact on small filtered subsets. */
  method: 'exact' | 'ann';
  ann: AnnSettings | null;
  /** Model that produced the embeddings (absolute path), for image queries; null when unknown. */
  model: string | null;
  /** PCA fit that produced `pca_` columns (absolute path), for image queries; null when none. */
  pca: string | null;
  /** Default catalogue for filters and output columns (absolute paths); null → the source tables. */
  catalog: string[] | null;
  /** Id column of `catalog`. */
  idColumn: string;
}

/** Read and check an index manifest. @throws OptionError when `dir` is not a galmorph index */
export async function readManifest(dir: string): Promise<IndexManifest> {
  const path = join(dir, MANIFEST_JSON);
  let m: IndexManifest;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as IndexManifest;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OptionError(
      code === 'ENOENT' ? `${dir} is not a similarity index (no ${MANIFEST_JSON}); build one with \`galmorph index\`` : `cannot read ${path}: ${code ?? (e as Error).message}`,
    );
  }
  if (m?.format !== 'galmorph-similarity-index') throw new OptionError(`${path} is not a galmorph similarity index manifest`);
  if (m.formatVersion !== 1) throw new OptionError(`${path}: unsupported formatVersion ${m.formatVersion} (this galmorph reads 1)`);
  return m;
}
