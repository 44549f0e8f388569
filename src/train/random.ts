/**
 * Seeded randomness for training. Every random choice is a pure function of (seed, purpose,
 * epoch, index), never of a stream's history, so a run resumed from any step draws exactly
 * what the uninterrupted run would have drawn, and no generator state needs saving.
 */
import { hashString, rng } from '../util/random.js';

export { hashString, rng };

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
