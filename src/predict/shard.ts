/**
 * Deterministic sharding: shard i of N takes a contiguous slice of the input order, so the
 * shards of a survey are disjoint, cover it exactly, and concatenate (in shard order) to the
 * unsharded order. Indices are 0-based, as Slurm arrays (`--array=0-N-1`) and Kubernetes
 * indexed Jobs (`JOB_COMPLETION_INDEX`) number their tasks.
 */
import { OptionError } from '../errors.js';

/** One shard of a survey: `index` in [0, count). */
export interface Shard {
  index: number;
  count: number;
}

/** Validate a shard, throwing an OptionError that says what is wrong. */
export function checkShard(shard: Shard): Shard {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1) throw new OptionError(`shard count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new OptionError(`shard index must be an integer from 0 to ${count - 1} (shards are numbered from 0), got ${index}/${count}`);
  }
  return shard;
}

/**
 * Parse `i/N` (e.g. `3/16`).
 * @example parseShard('3/16') // { index: 3, count: 16 }
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new OptionError(`shard must look like i/N with 0 ≤ i < N (e.g. 0/8), got "${text}"`);
  return checkShard({ index: Number(m[1]), count: Number(m[2]) });
}

/**
 * Rows `[start, end)` of shard `index` of `count` over `n` rows: ⌊i·n/N⌋ to ⌊(i+1)·n/N⌋, so
 * shard sizes differ by at most one.
 * @example shardRange(10, { index: 1, count: 3 }) // [3, 6]
 */
export function shardRange(n: number, shard: Shard): [number, number] {
  checkShard(shard);
  const at = (i: number) => Math.floor((i * n) / shard.count);
  return [at(shard.index), at(shard.index + 1)];
}
