/**
 * Registry of network architectures, as data. Each is a small ResNet: a strided 3×3 stem,
 * stages of basic residual blocks (two 3×3 convs, batch-norm, a 1×1 projection when the
 * shape changes), global average pooling → the `representation` layer, then the Zoobot-style
 * head (dropout → dense → concentrations in (1, 101)).
 *
 * Only dense 3×3/1×1 convs, batch-norm, ReLU/SiLU, pooling, dropout and dense appear: the
 * kernel set the wasm engine can train (no depthwise convs). See README.md for how the sizes
 * were chosen.
 */
import { OptionError } from '../errors.js';

/** One stage of residual blocks at a fixed width. */
export interface StageSpec {
  /** Output channels of every conv in the stage. */
  channels: number;
  /** Number of basic residual blocks. */
  blocks: number;
  /** Stride of the first block (2 halves the spatial size). */
  stride: 1 | 2;
}

/** A network architecture. */
export interface ArchitectureSpec {
  name: string;
  description: string;
  /** Stem: one 3×3 conv (+BN+activation), optionally followed by 2×2 max pooling. */
  stem: { channels: number; stride: 1 | 2; maxPool: boolean };
  stages: readonly StageSpec[];
  /** Non-linearity throughout ('swish' is SiLU). */
  activation: 'relu' | 'swish';
  /** Dropout rate before the head (kept on for MC-dropout passes). Zoobot uses 0.2. */
  dropout: number;
  /** Input size (px) the architecture was designed and measured for. */
  defaultSize: number;
}

const ARCHITECTURES: Readonly<Record<string, ArchitectureSpec>> = deepFreeze({
  'resnet-small': {
    name: 'resnet-small',
    description: 'ResNet-10-like, widths 32-64-128-256, 256-d representation; ~1.2M parameters; default for 64-96 px',
    stem: { channels: 32, stride: 2, maxPool: false },
    stages: [
      { channels: 32, blocks: 1, stride: 1 },
      { channels: 64, blocks: 1, stride: 2 },
      { channels: 128, blocks: 1, stride: 2 },
      { channels: 256, blocks: 1, stride: 2 },
    ],
    activation: 'relu',
    dropout: 0.2,
    defaultSize: 64,
  },
  'resnet-medium': {
    name: 'resnet-medium',
    description: 'ResNet-18-like, widths 32-64-128-256, two blocks per stage; ~2.8M parameters, ~2x the compute of resnet-small',
    stem: { channels: 32, stride: 2, maxPool: false },
    stages: [
      { channels: 32, blocks: 2, stride: 1 },
      { channels: 64, blocks: 2, stride: 2 },
      { channels: 128, blocks: 2, stride: 2 },
      { channels: 256, blocks: 2, stride: 2 },
    ],
    activation: 'relu',
    dropout: 0.2,
    defaultSize: 64,
  },
  'resnet-tiny': {
    name: 'resnet-tiny',
    description: 'Two narrow stages, 32-d representation; for tests and smoke runs only',
    stem: { channels: 8, stride: 2, maxPool: false },
    stages: [
      { channels: 16, blocks: 1, stride: 2 },
      { channels: 32, blocks: 1, stride: 2 },
    ],
    activation: 'relu',
    dropout: 0.2,
    defaultSize: 32,
  },
});

/** Name of the architecture used when none is given. */
export const DEFAULT_ARCHITECTURE = 'resnet-small';

/** Names of the registered architectures. */
export const architectureNames = (): string[] => Object.keys(ARCHITECTURES);

/**
 * A registered architecture by name (frozen).
 * @example getArchitecture('resnet-small').stages.length // 4
 */
export function getArchitecture(name: string = DEFAULT_ARCHITECTURE): ArchitectureSpec {
  const a = ARCHITECTURES[name];
  if (!a) throw new OptionError(`unknown architecture "${name}"; available: ${architectureNames().join(', ')}`);
  return a;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
