/** k-nearest-neighbour regression, brute force, for bench/pretrain/ceiling.ts. */
import { standardiseColumns } from '../../src/anomaly/features.js';
import { exactSearch } from '../../src/search/index.js';

/**
 * Predict each query's targets as the mean of its `k` nearest training rows' targets, by
 * Euclidean distance on features standardised with the training rows' mean and standard
 * deviation (a feature constant over the training rows is ignored). Deterministic: equal
 * distances go to the lower training row.
 * @param train `[n, dim]` row-major features (not modified)
 * @param targets `[n, width]` row-major
 * @param queries `[nq, dim]` row-major features (not modified)
 * @returns `[nq, width]` predictions
 * @example knnRegress(Float32Array.of(0, 1, 10), Float64Array.of(0, 2, 9), Float32Array.of(0.2), 1, 2) // Float64Array [1]
 */
export function knnRegress(train: Float32Array, targets: Float64Array, queries: Float32Array, dim: number, k: number): Float64Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be a positive integer, got ${k}`);
  const n = train.length / dim;
  const nq = queries.length / dim;
  if (!(n >= 1 && Number.isInteger(n) && Number.isInteger(nq))) throw new RangeError(`train (${train.length}) and queries (${queries.length}) must hold whole rows of ${dim}, train at least one`);
  const width = targets.length / n;
  if (!Number.isInteger(width)) throw new RangeError(`targets (${targets.length}) must hold one row per training row (${n})`);
  const x = Float32Array.from(train);
  const scaling = standardiseColumns(x, n, dim);
  const q = Float32Array.from(queries);
  standardiseColumns(q, nq, dim, scaling);
  const squaredNorms = new Float32Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) squaredNorms[i] += x[i * dim + j] ** 2;
  const hits = exactSearch(x, dim, q, k, 'l2', { squaredNorms });
  const out = new Float64Array(nq * width);
  hits.forEach((nearest, i) => {
    for (const { row } of nearest) for (let j = 0; j < width; j++) out[i * width + j] += targets[row * width + j];
    for (let j = 0; j < width; j++) out[i * width + j] /= nearest.length;
  });
  return out;
}
