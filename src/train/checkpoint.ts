/**
 * Training checkpoints: one file, `<out>/checkpoint.bin`, written atomically, so a run killed
 * at any instant (kill -9 included) resumes from the last checkpoint with nothing lost and
 * nothing half-written. Layout: "GMCK" magic, u32 version, u32 JSON byte length, the JSON
 * state, zero padding to 4 bytes, then float32 blobs (weights, Adam m, Adam v) whose lengths
 * the JSON records. No RNG state is stored: every random draw is a function of
 * (seed, epoch, step, index) — see random.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import { GalmorphError } from '../errors.js';
import type { EpochMetrics } from './metrics.js';

export const CHECKPOINT_FILE = 'checkpoint.bin';
const MAGIC = 0x4b434d47; // "GMCK" little-endian
const VERSION = 1;

/** The JSON part of a checkpoint. */
export interface CheckpointState {
  /** Settings that must match for a run to resume (see `fingerprint` in train.ts). */
  fingerprint: Record<string, unknown>;
  /** Epoch in progress (0-based); equals the number of finished epochs when `step` is 0. */
  epoch: number;
  /** Next step within `epoch`. */
  step: number;
  /** Sum and count of training losses so far in `epoch`. */
  trainLossSum: number;
  trainCount: number;
  /** Seconds spent in `epoch` before this checkpoint. */
  epochSeconds: number;
  /** One entry per finished epoch. */
  history: EpochMetrics[];
  bestValLoss: number | null;
  bestEpoch: number | null;
  /** Epochs since the best one (early-stopping counter). */
  badEpochs: number;
  /** Set when training ended (all epochs run or stopped early). */
  finished: boolean;
  optimizerStep: number;
}

/** A checkpoint: state plus weights and optimizer moments. */
export interface Checkpoint {
  state: CheckpointState;
  /** All weights, flat, in the replica layout (trainable first). */
  weights: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** A checkpoint file exists but cannot be used. */
export class CheckpointError extends GalmorphError {}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Write `<dir>/checkpoint.bin` atomically. */
export async function writeCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  const json = Buffer.from(JSON.stringify({ ...ckpt.state, sizes: [ckpt.weights.length, ckpt.m.length, ckpt.v.length] }), 'utf8');
  const head = 12;
  const body = align4(head + json.length);
  const total = body + 4 * (ckpt.weights.length + ckpt.m.length + ckpt.v.length);
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, json.length, true);
  buf.set(json, head);
  let off = body;
  for (const a of [ckpt.weights, ckpt.m, ckpt.v]) {
    buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), buf);
}

/** Read `<dir>/checkpoint.bin`, or `undefined` when there is none. */
export async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const path = join(dir, CHECKPOINT_FILE);
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 12 || view.getUint32(0, true) !== MAGIC) throw new CheckpointError(`${path} is not a galmorph checkpoint`);
  if (view.getUint32(4, true) !== VERSION) throw new CheckpointError(`${path}: unsupported checkpoint version ${view.getUint32(4, true)}`);
  const jsonLen = view.getUint32(8, true);
  const parsed = JSON.parse(buf.subarray(12, 12 + jsonLen).toString('utf8')) as CheckpointState & { sizes: number[] };
  const { sizes, ...state } = parsed;
  let off = align4(12 + jsonLen);
  const expected = off + 4 * sizes.reduce((a, b) => a + b, 0);
  if (buf.length !== expected) throw new CheckpointError(`${path} is truncated or corrupt (${buf.length} bytes, expected ${expected})`);
  const [weights, m, v] = sizes.map((n) => {
    // Copy into fresh, aligned arrays (the file buffer may not be 4-byte aligned).
    const a = new Float32Array(n);
    new Uint8Array(a.buffer).set(buf.subarray(off, off + 4 * n));
    off += 4 * n;
    return a;
  });
  return { state, weights, m, v };
}
