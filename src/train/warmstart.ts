/**
 * Warm start: begin a training run from another model's weights. Zoobot grows its schema this
 * way (a model pretrained on one campaign's tree continues on several trees at once): every
 * layer is copied by name, and the head keeps the rows of the answers both trees share, so
 * the old questions start exactly where they were and only the new answers start from scratch.
 *
 * An answer whose concentration sits at the head's floor (α = 1) for every probe image is dead:
 * its sigmoid is saturated, so its gradient vanishes and training cannot bring it back. That
 * happens when the votes for a rare answer once looked unpredictable from the pixels (e.g.
 * volunteers judging features the cutout hid): the loss pushes α towards 1 for every galaxy,
 * the logit runs off to −∞ and stays there after the votes become learnable. Such answers
 * restart from the fresh initialisation instead of being copied.
 */
import { tf } from '../engine/index.js';
import { OptionError } from '../errors.js';
import { createSchema } from '../schema/index.js';
import { loadModel, type ArchitectureSpec, type GalaxyModel } from '../models/index.js';

/** What {@link warmStart} copied. */
export interface WarmStartSummary {
  /** Layers copied whole. */
  layers: number;
  /** Layers of blocks the source lacks (a deeper architecture), left at their identity initialisation. */
  newLayers: number;
  /** Head answers copied from the source (the rest keep their fresh initialisation). */
  answersCopied: number;
  answers: number;
  /** Answers found dead on the probe images and restarted from their fresh initialisation. */
  revived: string[];
}

/** α below this on every probe image marks a dead answer (the floor is 1, the range 1–101). */
const DEAD_CONCENTRATION = 1 + 1e-3;

const HEAD = 'head_dense';

/**
 * Whether a network of architecture `to` can start from one of architecture `from`: the same
 * stem, activation and stages (widths, strides), each with at least as many blocks — deepening
 * by identity blocks (Net2DeeperNet, Chen et al. 2016), e.g. resnet-small → resnet-medium.
 */
function canGrow(from: ArchitectureSpec, to: ArchitectureSpec): boolean {
  const shape = (a: ArchitectureSpec) => JSON.stringify({ stem: a.stem, activation: a.activation, stages: a.stages.map((s) => [s.channels, s.stride]) });
  return shape(from) === shape(to) && from.stages.every((s, i) => s.blocks <= to.stages[i].blocks);
}

/**
 * Copy `source`'s weights (a model directory) into `model`. Bands must match; the architecture
 * too, or be a deeper one of the same shape ({@link canGrow}), whose extra blocks start as the identity.
 * `probe`: images prepared for `model` (e.g. a few hundred training images) on which to look
 * for dead answers; without it every shared answer is copied.
 */
export async function warmStart(model: GalaxyModel, source: string, probe?: Float32Array): Promise<WarmStartSummary> {
  const from = await loadModel(source);
  try {
    const a = model.config;
    const b = from.config;
    // The input size may differ: the encoder is convolutions and a global average pool, so its
    // weights fit any size (as when a model is refined at a higher resolution).
    if (a.bands !== b.bands) throw new OptionError(`--init-from ${source}: the model has ${b.bands} input bands, this run ${a.bands}; they must match`);
    if (!canGrow(b.architecture, a.architecture)) {
      throw new OptionError(
        `--init-from ${source}: architecture ${b.architecture.name} differs from this run's ${a.architecture.name} ` +
          '(it may only have fewer blocks per stage, with the same stem, widths, strides and activation)',
      );
    }
    let layers = 0;
    let newLayers = 0;
    const sourceNames = new Set(from.net.layers.map((l) => l.name));
    for (const layer of model.net.layers) {
      if (layer.name === HEAD || layer.getWeights().length === 0) continue;
      // A block the source lacks keeps its fresh initialisation, which is the identity (its last
      // batch norm starts at γ = 0 and it has no projection), so the grown network computes
      // exactly what the source did and training starts from there.
      if (!sourceNames.has(layer.name)) {
        newLayers++;
        continue;
      }
      layer.setWeights(from.net.getLayer(layer.name).getWeights());
      layers++;
    }
    const [kernel, bias] = model.net.getLayer(HEAD).getWeights();
    const [srcKernel, srcBias] = from.net.getLayer(HEAD).getWeights();
    const cols = createSchema(a.schema).answerColumns;
    const srcIndex = new Map(createSchema(b.schema).answerColumns.map((c, i) => [c, i]));
    const dim = a.representationDim;
    const k = kernel.dataSync().slice() as Float32Array;
    const bi = bias.dataSync().slice() as Float32Array;
    // The fresh initialisation, for answers that turn out dead (getWeights() returns the live
    // variables, so they must be copied before the head is overwritten).
    const freshK = k.slice();
    const freshB = bi.slice();
    const sk = srcKernel.dataSync();
    const sb = srcBias.dataSync();
    const A = cols.length;
    const srcA = srcIndex.size;
    let answersCopied = 0;
    cols.forEach((c, j) => {
      const i = srcIndex.get(c);
      if (i === undefined) return;
      for (let d = 0; d < dim; d++) k[d * A + j] = sk[d * srcA + i];
      bi[j] = sb[i];
      answersCopied++;
    });
    const setHead = (kv: Float32Array, bv: Float32Array) => {
      const head = [tf.tensor2d(kv, [dim, A]), tf.tensor1d(bv)];
      model.net.getLayer(HEAD).setWeights(head);
      tf.dispose(head);
    };
    setHead(k, bi);
    const revived: string[] = [];
    if (probe && probe.length > 0) {
      const alpha = await model.predictConcentrations(probe);
      const n = alpha.length / A;
      cols.forEach((c, j) => {
        if (!srcIndex.has(c)) return;
        for (let i = 0; i < n; i++) if (alpha[i * A + j] >= DEAD_CONCENTRATION) return;
        for (let d = 0; d < dim; d++) k[d * A + j] = freshK[d * A + j];
        bi[j] = freshB[j];
        revived.push(c);
      });
      if (revived.length) setHead(k, bi);
    }
    return { layers, newLayers, answersCopied: answersCopied - revived.length, answers: A, revived };
  } finally {
    from.dispose();
  }
}
