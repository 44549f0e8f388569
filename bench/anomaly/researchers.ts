/**
 * Simulated researchers: each one's interest in a galaxy is a function of the simulator's
 * truth and of what is visible (the catalogue's `tags`), from 0 to 1; their score is
 * round(5 × interest), as Walmsley et al. (2022) simulated their users. A galaxy counts as
 * truly interesting to them when the score is 4 or 5.
 */
import type { Cell } from '../../src/data/index.js';

export interface Researcher {
  name: string;
  description: string;
  interest(row: Record<string, Cell>): number;
}

const tagsOf = (row: Record<string, Cell>): Set<string> => new Set(String(row.tags ?? '').split(',').filter(Boolean));
const ramp = (x: number, lo: number, hi: number): number => Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
const num = (v: Cell): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const spoiled = (row: Record<string, Cell>, tags: Set<string>): boolean =>
  String(row.artifacts ?? '') !== '' || tags.has('artifact') || row.morph_type === 'artifact' || row.morph_type === 'star';

export const RESEARCHERS: readonly Researcher[] = [
  {
    name: 'rings-lenses-mergers',
    description: 'likes strong lenses, polar and collisional rings (5), mergers (3), ordinary rings and tidal features (2); bored by artifacts and stars (×0.2)',
    interest(row) {
      const tags = tagsOf(row);
      let base = 0;
      if (tags.has('lens') || tags.has('polar-ring') || (row.morph_type === 'collisional-ring' && tags.has('ring'))) base = 1;
      else if (tags.has('merger')) base = 0.5;
      else if (tags.has('ring') || tags.has('tidal')) base = 0.3;
      return base * (spoiled(row, tags) ? 0.2 : 1);
    },
  },
  {
    name: 'edge-on-dust-lanes',
    description: 'likes edge-on disks (inclination 80–88°) with strong dust lanes (τ 1–2.5, visible lane); artifacts halve the interest',
    interest(row) {
      const tags = tagsOf(row);
      return ramp(num(row.inclination_deg), 80, 88) * ramp(num(row.dust_tau), 1, 2.5) * (tags.has('dust-lane') ? 1 : 0.6) * (spoiled(row, tags) ? 0.5 : 1);
    },
  },
];

/** The researcher's score, 0–5. */
export const scoreOf = (r: Researcher, row: Record<string, Cell>): number => Math.round(5 * r.interest(row));
