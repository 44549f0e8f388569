/**
 * Axis ratios measured on an image: the shape a galaxy's pixels show. Simulated volunteers
 * judge roundness and edge-on-ness by the outline of the rendered light (seen.ts), not by an
 * analytic axis ratio, which for bulge + disk galaxies need not follow the image
 * (bench/simulate/shape.ts measured the difference).
 *
 * Images are single-band, row-major `[height, width]` flux arrays (any linear unit); shapes are
 * b/a in (0, 1], independent of the position angle.
 */

/** Axis ratio b/a of the ellipse with second moments (mxx, myy, mxy) (pixels², central). */
export function axisRatioOfMoments(mxx: number, myy: number, mxy: number): number {
  const mean = (mxx + myy) / 2, half = Math.hypot((mxx - myy) / 2, mxy);
  return Math.sqrt(Math.max(0, mean - half) / (mean + half));
}

/**
 * Axis ratios of the regions above the isophotes that enclose `fractions` of the image's
 * (positive) light: the pixels brightest first, until their sum reaches the fraction, and
 * the unweighted second moments of that region (exact for an elliptical region, whatever the
 * profile inside it). An isophote does not depend on the display stretch, so this is the
 * outline an eye sees at that brightness; the 90% one matches the analytic axis ratio of
 * single-Sérsic galaxies through the PSF.
 * With a `floor`, the region also stops at the isophote of that brightness: light fainter than
 * it (lost in the noise of an observed image) does not shape the outline, so a faint galaxy's
 * outline is that of the part of it that shows.
 * @param image `[height, width]` row-major
 * @param width pixels per row
 * @param fractions light fractions in (0, 1], ascending
 * @param floor faintest pixel value counted (same unit as the image)
 * @returns one b/a per fraction; NaN for an image without positive light above the floor
 */
export function isophoteAxisRatios(image: ArrayLike<number>, width: number, fractions: readonly number[], floor = 0): number[] {
  const n = image.length;
  let total = 0;
  for (let i = 0; i < n; i++) if (image[i] > 0) total += image[i];
  if (!(total > 0)) return fractions.map(() => NaN);
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => image[b] - image[a]);
  if (!(image[order[0]] > floor)) return fractions.map(() => NaN);
  const out: number[] = [];
  let cum = 0, k = 0, s0 = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (const f of fractions) {
    while (k < n && cum < f * total && image[order[k]] > floor) {
      const i = order[k++];
      cum += image[i];
      const x = i % width, y = (i - x) / width;
      s0++; sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
    }
    const mx = sx / s0, my = sy / s0;
    // + 1/12: a pixel's own second moment (matters only for regions a few pixels across).
    out.push(axisRatioOfMoments(sxx / s0 - mx * mx + 1 / 12, syy / s0 - my * my + 1 / 12, sxy / s0 - mx * my));
  }
  return out;
}
