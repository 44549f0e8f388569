/**
 * Seeded randomness for training. Every random choice is a pure function of (seed, purpose,
 * epoch, index), never of a stream's history, so a run resumed from any step draws exactly
 * what the uninterrupted run would have drawn, and no generator state needs saving.
 */

/** 32-bit FNV-1a hash of a string, continuing from `h`. */
export function hashString(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Avalanche-mix a list of integers into one 32-bit value (murmur3 finaliser per step). */
export function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A small fast PRNG (mulberry32) returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Purposes, so different uses of one seed never share draws. */
export const Stream = { split: 1, shuffle: 2, augment: 3, dropout: 4 } as const;

/**
 * Whether galaxy `id` falls in the validation set. Depends only on (seed, id): adding or
 * reordering catalogue rows never moves a galaxy between train and validation.
 */
export function isValidation(id: string, seed: number, valFraction: number): boolean {
  // FNV alone leaves ids that differ in one character with similar high bits; mix avalanches.
  return mix(hashString(id), seed, Stream.split) / 4294967296 < valFraction;
}

/** Fisher–Yates permutation of `n` items for (seed, epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const r = rng(mix(seed, Stream.shuffle, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
