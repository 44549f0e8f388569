/**
 * Query images that are not in the survey: embedded with the model the index's embeddings
 * came from, through the same path as `embedSurvey` (readImage → prepareImages → encoder,
 * averaged over the 8 dihedral transforms as `embed` does by default), then mapped to the
 * indexed columns (the PCA fit for `pca_` columns). Embeddings written with
 * `orientations: 'single'` hold the same representation plus orientation noise, so the
 * orientation-free query is the better estimate for them too (and costs 8 passes of one image).
 */
import { readImage } from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { OptionError } from '../errors.js';
import { loadModel, prepareImages, decodeSize, type GalaxyModel } from '../models/index.js';
import { applyPca, loadPca, type PcaModel } from '../predict/pca.js';
import { orientedRepresentation } from '../predict/orientation.js';
import type { IndexManifest } from './manifest.js';

const PCA_RE = /^pca_(\d+)$/;
const FEAT_RE = /^feat_(\d+)$/;

/** Turns image files into vectors in the index's source columns (before centring/normalising). */
export class ImageEmbedder {
  private constructor(
    private readonly model: GalaxyModel,
    private readonly pca: PcaModel | null,
    /** Per index column, the component (pca) or feature (feat) it holds. */
    private readonly pick: number[],
  ) {}

  /**
   * Load the model (and PCA fit) for an index.
   * @throws OptionError when the index's columns cannot come from a model (not feat_/pca_),
   *   the model or PCA is unknown or missing, or their dimensions disagree with the index
   */
  static async open(manifest: IndexManifest, modelDir: string | null, pcaPath: string | null): Promise<ImageEmbedder> {
    const cols = manifest.columns;
    const kind = cols.every((c) => PCA_RE.test(c)) ? 'pca' : cols.every((c) => FEAT_RE.test(c)) ? 'feat' : null;
    if (kind === null) throw new OptionError('image queries need an index of feat_ or pca_ columns from `galmorph embed`; this one has other columns');
    if (!modelDir) {
      throw new OptionError('image queries need the model that produced the embeddings: pass model (--model DIR), or record it with `galmorph index --model DIR`');
    }
    if (kind === 'pca' && !pcaPath) {
      throw new OptionError('this index holds pca_ columns, so image queries need the PCA fit behind them (<embeddings>.pca.json): pass pca (--pca FILE)');
    }
    const pca = kind === 'pca' ? await loadPca(pcaPath!) : null;
    await initEngine();
    const model = await loadModel(modelDir);
    try {
      const rep = model.config.representationDim;
      if (manifest.representationDim > 0 && manifest.representationDim !== rep) {
        throw new OptionError(`dimension mismatch: model ${modelDir} gives ${rep}-d representations, the indexed embeddings have ${manifest.representationDim}`);
      }
      if (pca && pca.dim !== rep) throw new OptionError(`dimension mismatch: PCA ${pcaPath} expects ${pca.dim}-d representations, model ${modelDir} gives ${rep}`);
      const pick = cols.map((c) => Number((kind === 'pca' ? PCA_RE : FEAT_RE).exec(c)![1]));
      const limit = pca ? pca.components.length : rep;
      const bad = pick.find((p) => p >= limit);
      if (bad !== undefined) throw new OptionError(`dimension mismatch: the index has column ${cols[pick.indexOf(bad)]} but the ${pca ? 'PCA' : 'model'} gives only ${limit}`);
      return new ImageEmbedder(model, pca, pick);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** Vectors `[paths.length, index dim]` row-major. @throws ImageDecodeError for an unreadable image */
  async embed(paths: readonly string[]): Promise<Float32Array> {
    const { config } = this.model;
    const images = await Promise.all(paths.map((p) => readImage(p, { size: decodeSize(config), channels: config.bands })));
    const n = paths.length;
    const rep = await orientedRepresentation((x) => this.model.embed(x), prepareImages(images, config), n, config, 'dihedral');
    const full = this.pca ? applyPca(this.pca, rep, n) : rep;
    const width = this.pca ? this.pca.components.length : config.representationDim;
    const d = this.pick.length;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = full[i * width + this.pick[j]];
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
