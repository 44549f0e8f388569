/**
 * Exact (brute-force) nearest neighbours: blocked float32 dot products and a bounded heap per
 * query. Used for small indexes, for searches restricted to a filtered subset, and as the
 * reference that approximate search is measured against.
 */

/** How similarity is scored. `cosine` expects unit-length rows (the index stores them so). */
export type SimilarityMetric = 'cosine' | 'l2';

/** One neighbour: a row of the index and its score (larger = more similar). */
export interface RowHit {
  row: number;
  /** Cosine similarity for `cosine`; minus the squared Euclidean distance for `l2`. */
  score: number;
}

/** Options of {@link exactSearch}. */
export interface ExactSearchOptions {
  /** Only these rows are candidates (sorted or not). @default every row */
  rows?: ArrayLike<number>;
  /** Rows never returned (e.g. the query galaxies themselves). @default none */
  exclude?: ReadonlySet<number>;
  /** Squared norm of every row, for `l2` (computed on the fly when absent). @default undefined */
  squaredNorms?: Float32Array;
}

/**
 * A min-heap of the best `k` (score, row) pairs seen so far. Ties are broken by the lower
 * row, so results are reproducible whatever the scan order.
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly rows: Int32Array;
  size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.rows = new Int32Array(k);
  }

  /** True when (a, ra) ranks below (b, rb). */
  private static worse(a: number, ra: number, b: number, rb: number): boolean {
    return a < b || (a === b && ra > rb);
  }

  /** Smallest score kept, or −∞ while the heap is not full (a cheap pre-check for callers). */
  get threshold(): number {
    return this.size < this.k ? -Infinity : this.scores[0];
  }

  push(score: number, row: number): void {
    const { scores, rows, k } = this;
    if (k === 0) return;
    if (this.size < k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopK.worse(score, row, scores[p], rows[p])) break;
        scores[i] = scores[p];
        rows[i] = rows[p];
        i = p;
      }
      scores[i] = score;
      rows[i] = row;
      return;
    }
    if (!TopK.worse(scores[0], rows[0], score, row)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      const r = l + 1;
      const c = r < k && TopK.worse(scores[r], rows[r], scores[l], rows[l]) ? r : l;
      if (!TopK.worse(scores[c], rows[c], score, row)) break;
      scores[i] = scores[c];
      rows[i] = rows[c];
      i = c;
    }
    scores[i] = score;
    rows[i] = row;
  }

  /** The kept pairs, best first. */
  sorted(): RowHit[] {
    const out: RowHit[] = [];
    for (let i = 0; i < this.size; i++) out.push({ row: this.rows[i], score: this.scores[i] });
    return out.sort((a, b) => b.score - a.score || a.row - b.row);
  }
}

/** Rows scanned per block: the block (≤ 256 × d floats) stays in cache while every query passes over it. */
const BLOCK = 256;

/**
 * Exact top-`k` for each of `nq` queries over `vectors` (`[n, dim]` row-major float32).
 * Rows are taken in blocks and every query is scored against a block before the next one, so
 * a batch of queries reads the vectors once.
 * @param queries `[nq, dim]` row-major, in the same space as `vectors` (unit length for cosine)
 * @returns per query, up to `k` hits, best first
 */
export function exactSearch(
  vectors: Float32Array,
  dim: number,
  queries: Float32Array,
  k: number,
  metric: SimilarityMetric,
  options: ExactSearchOptions = {},
): RowHit[][] {
  const n = Math.floor(vectors.length / dim);
  const nq = Math.floor(queries.length / dim);
  const heaps = Array.from({ length: nq }, () => new TopK(k));
  const { exclude, squaredNorms } = options;
  const subset = options.rows;
  const total = subset ? subset.length : n;
  const qNorm = new Float64Array(nq);
  if (metric === 'l2') for (let q = 0; q < nq; q++) qNorm[q] = dot(queries, q * dim, queries, q * dim, dim);
  for (let b0 = 0; b0 < total; b0 += BLOCK) {
    const b1 = Math.min(total, b0 + BLOCK);
    for (let q = 0; q < nq; q++) {
      const heap = heaps[q];
      const qo = q * dim;
      for (let b = b0; b < b1; b++) {
        const row = subset ? subset[b] : b;
        if (exclude !== undefined && exclude.has(row)) continue;
        const ro = row * dim;
        let s = dot(vectors, ro, queries, qo, dim);
        // −‖x − q‖² = 2 x·q − ‖x‖² − ‖q‖²
        if (metric === 'l2') s = 2 * s - (squaredNorms ? squaredNorms[row] : dot(vectors, ro, vectors, ro, dim)) - qNorm[q];
        if (s >= heap.threshold) heap.push(s, row);
      }
    }
  }
  return heaps.map((h) => h.sorted());
}

/** Dot product of `dim` floats at offsets `ao` of `a` and `bo` of `b`, four lanes at a time. */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < dim; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + s2 + s3;
}
