/**
 * The transfer benchmark's binary tasks. A galaxy's label is what that survey's own volunteers
 * voted on that survey's images — the simulated Galaxy Zoo 2 campaign (30–70 volunteers per
 * galaxy, as GZ2 had), whose answers follow what each feature shows on the displayed cutout
 * (run.ts simulates with `--visibility image`; votes.ts) — not the simulator's intrinsic truth. So a galaxy can be smooth in the SDSS-like catalogue
 * and featured in the deeper, sharper DES-like one, as when a new survey is labelled by looking
 * at its own images. Classes are cut at vote fraction 0.7 and the ambiguous middle is left
 * out, as Domínguez Sánchez et al. (2019) trained on GZ2 fractions > 0.7.
 */
import type { Cell } from '../../src/data/index.js';

export interface TransferTask {
  name: string;
  /** Class names: [negative, positive]. */
  classes: [string, string];
  /** One-line definition for the report. */
  definition: string;
  /** Catalogue columns `label` reads. */
  columns: string[];
  /** A catalogue row's class, or null when the galaxy is not part of the task. */
  label(row: Record<string, Cell>): string | null;
}

/** The volunteer campaign the catalogues are simulated with (its decision tree). */
export const CAMPAIGN = 'gz2';
/** Vote fraction above which a class counts as confident (Domínguez Sánchez et al. 2019). */
const CONFIDENT = 0.7;
const Q1 = 'smooth-or-featured-gz2';
const EDGE = 'disk-edge-on-gz2';

/** Vote fraction of an answer among the votes its question got (0 when nobody reached it). */
function fraction(row: Record<string, Cell>, question: string, answer: string): number {
  const total = Number(row[`${question}_total`]);
  return total > 0 ? Number(row[`${question}_${answer}`]) / total : 0;
}

export const TASKS: readonly TransferTask[] = [
  {
    name: 'smooth-featured',
    classes: ['smooth', 'featured'],
    definition:
      `the survey's own volunteers' vote fractions for "smooth or features/disk?" (GZ2 Q1): smooth = smooth > ${CONFIDENT}; ` +
      `featured = features-or-disk > ${CONFIDENT}; galaxies with neither (ambiguous, or voted artifact) are not part of the task`,
    columns: [`${Q1}_smooth`, `${Q1}_featured-or-disk`, `${Q1}_total`],
    label(row) {
      return fraction(row, Q1, 'smooth') > CONFIDENT ? 'smooth' : fraction(row, Q1, 'featured-or-disk') > CONFIDENT ? 'featured' : null;
    },
  },
  {
    name: 'edge-on',
    classes: ['not-edge-on', 'edge-on'],
    definition:
      `galaxies most of the survey's volunteers call features/disk (fraction > 0.5, so ≥ 15 of them answer "edge-on?"): ` +
      `edge-on = edge-on yes > ${CONFIDENT}, not-edge-on = no > ${CONFIDENT}; the rest left out`,
    columns: [`${Q1}_featured-or-disk`, `${Q1}_total`, `${EDGE}_yes`, `${EDGE}_total`],
    label(row) {
      if (fraction(row, Q1, 'featured-or-disk') <= 0.5) return null;
      const yes = fraction(row, EDGE, 'yes');
      return yes > CONFIDENT ? 'edge-on' : yes < 1 - CONFIDENT ? 'not-edge-on' : null;
    },
  },
];

export function getTask(name: string): TransferTask {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown task "${name}"; valid: ${TASKS.map((x) => x.name).join(', ')}`);
  return t;
}
