/**
 * Synthetic vectors for similarity benchmarks and tests.
 *
 * `embeddingLike`: shaped like galaxy embeddings rather than isotropic noise — a mixture of
 * 1000 Gaussian clusters whose per-dimension spread falls as j^−0.75, so that the first 10 of
 * 64 dimensions hold 84% of the variance, as the first 10 PCA components of the GZ DECaLS
 * representation do (Walmsley et al. 2022). Queries drawn with the same `centres` come from
 * the same distribution without being in the index.
 *
 * `isotropic`: independent N(0, 1) coordinates — the worst case for any nearest-neighbour
 * graph (intrinsic dimension = full dimension), far from what a network's features look like.
 */

/** Seeded uniform (0, 1) and standard normal generators. */
export function generators(seed: number): { u: () => number; g: () => number } {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 0.5) / 4294967296;
  const g = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return { u, g };
}

export const CLUSTERS = 1000;

/** `n` embedding-like vectors `[n, dim]`; pass the returned `centres` to draw more from the same mixture. */
export function embeddingLike(n: number, dim: number, seed: number, centres?: Float32Array): { data: Float32Array; centres: Float32Array } {
  const { u, g } = generators(seed);
  const sd = Float32Array.from({ length: dim }, (_, j) => (j + 1) ** -0.75);
  const cent = centres ?? Float32Array.from({ length: CLUSTERS * dim }, (_, i) => Math.sqrt(0.75) * sd[i % dim] * g());
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(u() * CLUSTERS);
    for (let j = 0; j < dim; j++) data[i * dim + j] = cent[c * dim + j] + 0.5 * sd[j] * g();
  }
  return { data, centres: cent };
}

/** `n` isotropic Gaussian vectors `[n, dim]`. */
export function isotropic(n: number, dim: number, seed: number): Float32Array {
  const { g } = generators(seed);
  return Float32Array.from({ length: n * dim }, g);
}
