/**
 * A STAND-IN representation, for validating the benchmark while the real model is still
 * training: vectors built from the simulator's truth and visible tags, mixed by a random
 * linear map into 64 dimensions with Gaussian noise. It is NOT a galmorph representation and
 * results on it are not galmorph results; rerun the benchmark with `--embeddings` from
 * `galmorph embed` for those.
 */
import type { Cell, Table } from '../../src/data/index.js';
import { writeTable } from '../../src/data/index.js';
import { Rng } from '../../src/sim/rng.js';

const TAGS = ['ring', 'lens', 'polar-ring', 'collisional-ring', 'merger', 'tidal', 'disturbed', 'edge-on', 'dust-lane', 'artifact', 'star', 'barred', 'spiral', 'clumpy', 'diffuse', 'overlapping', 'bright-star', 'elliptical', 'lenticular', 'irregular'];
const MORPHS = ['elliptical', 'lenticular', 'spiral', 'irregular', 'merger', 'star', 'artifact', 'lens', 'polar-ring', 'collisional-ring'];
const ARTIFACTS = ['trail', 'bad-column', 'missing-patch'];

const num = (v: Cell): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

const BINARY = TAGS.length + MORPHS.length + ARTIFACTS.length;

/** Semantic vector of one catalogue row: visible tags, true type, geometry, photometry (the first BINARY entries are 0/1). */
function semantic(row: Record<string, Cell>): number[] {
  const tags = new Set(String(row.tags ?? '').split(','));
  const arts = new Set(String(row.artifacts ?? '').split(','));
  return [
    ...TAGS.map((t) => (tags.has(t) ? 1 : 0)),
    ...MORPHS.map((m) => (row.morph_type === m ? 0.5 : 0)),
    ...ARTIFACTS.map((a) => (arts.has(a) ? 1 : 0)),
    num(row.inclination_deg) / 90, Math.min(num(row.dust_tau), 3) / 3, num(row.axis_ratio), num(row.bulge_fraction),
    num(row.bar_strength), num(row.arm_count) / 4, num(row.g_r), Math.log10(Math.max(num(row.r50_arcsec), 0.1)),
    (num(row.mag_r) - 16) / 2, num(row.redshift) * 10, num(row.psf_fwhm_arcsec), num(row.vis_snr) / 100,
  ];
}

/**
 * Write a stand-in embeddings table (`id`, `status`, `feat_000…feat_063`) for a simulated
 * catalogue: visible tags and type as 0/1 times `tagScale` (rare tags are not blown up by
 * z-scoring), continuous truth z-scored (the nuisances — size, brightness, redshift, seeing,
 * S/N — doubled), a fixed random 64-d mixing, then noise of standard deviation `noise` per
 * dimension.
 */
export async function writeStandIn(catalog: Table, out: string, noise = 0.7, tagScale = 3, seed = 0): Promise<void> {
  const sem = catalog.rows.map(semantic);
  const S = sem[0].length;
  const mean = new Float64Array(S), sd = new Float64Array(S);
  for (const v of sem) v.forEach((x, j) => (mean[j] += x / sem.length));
  for (const v of sem) v.forEach((x, j) => (sd[j] += (x - mean[j]) ** 2 / sem.length));
  const weight = Array.from({ length: S }, (_, j) => (j >= S - 5 ? 2 : 1));
  const D = 64;
  const rng = new Rng(seed, 'stand-in mixing');
  const W = Array.from({ length: S }, () => Array.from({ length: D }, () => rng.normal() / Math.sqrt(S)));
  const columns = ['id', 'status', ...Array.from({ length: D }, (_, k) => `feat_${String(k).padStart(3, '0')}`)];
  const noiseRng = new Rng(seed, 'stand-in noise');
  const rows = catalog.rows.map((row, i) => {
    const z = sem[i].map((x, j) => (j < BINARY ? x * tagScale : sd[j] > 0 ? ((x - mean[j]) / Math.sqrt(sd[j])) * weight[j] : 0));
    const r: Record<string, Cell> = { id: String(row.id), status: 'ok' };
    for (let k = 0; k < D; k++) {
      let s = 0;
      for (let j = 0; j < S; j++) s += z[j] * W[j][k];
      r[columns[2 + k]] = s + noise * noiseRng.normal();
    }
    return r;
  });
  await writeTable(out, { columns, rows });
}
