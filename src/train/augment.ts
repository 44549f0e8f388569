/**
 * Zoobot-style training augmentations, done in JS as one bilinear resample per image:
 * a random rotation (any angle up to ±180°), a random horizontal flip (with the rotation this
 * covers every orientation), and a random resized crop covering 70–80% of the image area with
 * aspect ratio 0.9–1.1, resized to the network input. Borders mirror, so rotated corners
 * show sky rather than black wedges.
 */
import { resampleInto, type AffineMap, type ImageLike, type InputSpec } from '../models/preprocess.js';

/** Augmentation ranges. */
export interface AugmentOptions {
  /** Largest rotation in degrees (uniform in ±this). @default 180 */
  maxRotation?: number;
  /** Flip horizontally with probability 0.5. @default true */
  flip?: boolean;
  /** Crop area as a fraction of the image, [min, max]. @default [0.7, 0.8] */
  cropScale?: [number, number];
  /** Crop aspect ratio (width / height), [min, max]. @default [0.9, 1.1] */
  cropRatio?: [number, number];
}

/** Draw a random augmentation as an affine map from output to source coordinates. */
export function randomAffine(random: () => number, options: AugmentOptions = {}): AffineMap {
  const maxRot = ((options.maxRotation ?? 180) * Math.PI) / 180;
  const [sMin, sMax] = options.cropScale ?? [0.7, 0.8];
  const [rMin, rMax] = options.cropRatio ?? [0.9, 1.1];
  const theta = (2 * random() - 1) * maxRot;
  const flip = (options.flip ?? true) && random() < 0.5 ? -1 : 1;
  const scale = sMin + (sMax - sMin) * random();
  // Log-uniform aspect ratio, as torchvision's RandomResizedCrop draws it.
  const ratio = Math.exp(Math.log(rMin) + (Math.log(rMax) - Math.log(rMin)) * random());
  const w = Math.min(1, Math.sqrt(scale * ratio));
  const h = Math.min(1, Math.sqrt(scale / ratio));
  // Crop centre anywhere that keeps the crop inside the (rotated) frame.
  const cx = (random() - 0.5) * (1 - w);
  const cy = (random() - 0.5) * (1 - h);
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  // src = R · (cropCentre + diag(flip·w, h) · dst)
  return {
    a00: c * flip * w,
    a01: -s * h,
    a10: s * flip * w,
    a11: c * h,
    tx: c * cx - s * cy,
    ty: s * cx + c * cy,
  };
}

/**
 * Write one augmented image into `out` at `offset` (`[inputSize, inputSize, bands]`),
 * including band conversion and normalisation from `spec`.
 */
export function augmentInto(
  image: ImageLike,
  out: Float32Array,
  offset: number,
  spec: InputSpec,
  random: () => number,
  options?: AugmentOptions,
): void {
  resampleInto(image, out, offset, spec.inputSize, spec.bands, randomAffine(random, options), spec.normalisation);
}
