/**
 * The transfer benchmark's binary tasks, labelled from the simulator's *truth* (not from
 * votes), so a label means the same thing in every survey. Each keeps only galaxies whose
 * class is unambiguous in the truth, as Domínguez Sánchez et al. (2019) trained on galaxies
 * with confident (> 0.7) volunteer fractions; the ambiguous middle is left out.
 */
import type { Cell } from '../../src/data/index.js';

export interface TransferTask {
  name: string;
  /** Class names: [negative, positive]. */
  classes: [string, string];
  /** One-line definition for the report. */
  definition: string;
  /** A catalogue row's class, or null when the galaxy is not part of the task. */
  label(row: Record<string, Cell>): string | null;
}

export const TASKS: readonly TransferTask[] = [
  {
    name: 'smooth-featured',
    classes: ['smooth', 'featured'],
    definition:
      'smooth = truth morph_type elliptical; featured = spiral (Sa–Sd) or irregular; lenticulars (a disk without features — ' +
      'volunteers split on them), mergers, rings, lenses, stars and artifacts are not part of the task',
    label(row) {
      const t = row.morph_type;
      return t === 'elliptical' ? 'smooth' : t === 'spiral' || t === 'irregular' ? 'featured' : null;
    },
  },
  {
    name: 'edge-on',
    classes: ['not-edge-on', 'edge-on'],
    definition:
      'disk galaxies only (truth morph_type spiral or lenticular): edge-on = inclination ≥ 80°, not-edge-on = inclination ≤ 70°; ' +
      '70–80° left out',
    label(row) {
      if (row.morph_type !== 'spiral' && row.morph_type !== 'lenticular') return null;
      const i = Number(row.inclination_deg);
      return i >= 80 ? 'edge-on' : i <= 70 ? 'not-edge-on' : null;
    },
  },
];

export function getTask(name: string): TransferTask {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown task "${name}"; valid: ${TASKS.map((x) => x.name).join(', ')}`);
  return t;
}
