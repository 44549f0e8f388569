/**
 * bench/simulate/shape: does the image show the analytic axis ratio?
 *
 * Before simulator version 4, volunteers judged roundness (how-rounded) and edge-on-ness from
 * an analytic axis ratio, qObs (src/sim/visibility.ts: the truth's `axisRatio` through the
 * PSF); analytic-visibility surveys still do. Image-visibility surveys now read the outline this
 * bench measures (src/sim/shape.ts, seen.ts outlineAxisRatio; the catalogue's q_obs), so this
 * report is the size of the leak that change removed. For galaxies made
 * of one component that is the shape the image shows; for bulge + disk galaxies
 * src/sim/population.ts sets `axisRatio` by rule (the disk's q below B/T 0.6, the rounder of
 * disk and 0.9 × bulge above, the disk's again beyond 80° inclination), which the pixels need
 * not follow. Wherever the two differ, the votes carry information the image does not hold.
 *
 * For each galaxy of a simulated catalogue, the truth is regenerated (sampleTruth, checked
 * against the catalogue's columns), rendered noise-free through the survey PSF as the
 * simulator renders it, without the extras (field stars, companions, arcs, artifacts: objects
 * an eye does not count in the galaxy's outline), and measured on the r band
 * (./axis-ratio.ts):
 *  - q_iso90: b/a of the isophote enclosing 90% of the light, the outline. On ellipticals it
 *    matches qObs to ~0.002, so on them the formula and the measure agree;
 *  - q_am: adaptive moments, the shape at the half-light scale (the core).
 * Δq = image − qObs (positive: the image is rounder than the volunteers read it). Point
 * sources (stars) are skipped: both are 1 by construction.
 *
 * Prints, and writes as JSON: Δq by morphology and, for disk galaxies, by bulge fraction; the
 * medians of qObs and the image q of inclined disks across the B/T = 0.6 switch; and the
 * bulge-dominated edge-on disks (inclination > 80°, B/T > 0.6), whose axis ratio the rule
 * resets to the disk's. A simulator without the leak shows |Δq| near the ellipticals' on
 * every row and no step at 0.6.
 *
 *   npx tsx bench/simulate/shape.ts [--catalog data/test-v4/catalog.parquet] [--seed 4242] [--n N] [--out reports/shape.json]
 *
 * Survey and cutout size come from the catalogue's manifest.json (--survey / --size override).
 * About a minute for 3000 galaxies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { readTable, writeFileAtomic, type Cell } from '../../src/data/index.js';
import { CatalogError, GalmorphError } from '../../src/errors.js';
import { getSurvey, renderGalaxy, sampleTruth, type GalaxyTruth, type SurveyName } from '../../src/sim/index.js';
import { isophoteAxisRatios } from '../../src/sim/shape.js';
import { adaptiveAxisRatio } from './axis-ratio.js';

const { values } = parseArgs({
  options: {
    catalog: { type: 'string', default: 'data/test-v4/catalog.parquet' },
    seed: { type: 'string', default: '4242' },
    n: { type: 'string' },
    survey: { type: 'string' },
    size: { type: 'string' },
    out: { type: 'string', default: 'reports/shape.json' },
  },
});

/** One measured galaxy (kept in memory only; the report holds summaries). */
interface Shape {
  morph: string;
  bt: number;
  qDisk: number;
  inclination: number;
  qObs: number;
  qIso90: number;
  qAm: number;
}

/** Columns regenerated from the truth, with the decimals catalogueRow rounds them to. */
const CHECKED: readonly [column: string, decimals: number, value: (t: GalaxyTruth) => number | string][] = [
  ['morph_type', 0, (t) => t.morphType],
  ['axis_ratio', 3, (t) => t.axisRatio],
  ['r50_arcsec', 3, (t) => t.r50Arcsec],
  ['bulge_fraction', 4, (t) => t.bulge?.fraction ?? 0],
  ['inclination_deg', 2, (t) => t.inclinationDeg],
];

/** `null` when the catalogue's cell holds `want` (to its rounding), else a description. */
function mismatch(cell: Cell, want: number | string, decimals: number): string | null {
  if (typeof want === 'string') return cell === want ? null : `catalogue ${JSON.stringify(cell)}, regenerated ${JSON.stringify(want)}`;
  // Half a unit of the last decimal, a little more for float32 storage.
  return Math.abs(Number(cell) - want) <= 0.6 * 10 ** -decimals ? null : `catalogue ${cell}, regenerated ${want.toFixed(decimals + 2)}`;
}

async function measure(): Promise<{ shapes: Shape[]; skipped: number; survey: string; size: number; seed: number }> {
  const seed = Number(values.seed);
  const manifestPath = join(dirname(values.catalog!), 'manifest.json');
  const manifest = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as { survey?: string; size?: number }) : {};
  const survey = getSurvey((values.survey ?? manifest.survey ?? 'decals') as SurveyName);
  const size = Number(values.size ?? manifest.size ?? 128);
  const table = await readTable(values.catalog!, { columns: ['id', 'psf_fwhm_arcsec', ...CHECKED.map(([c]) => c)] });
  const rows = table.rows.slice(0, values.n ? Number(values.n) : undefined);
  const band = survey.bands.indexOf('r');
  const shapes: Shape[] = [];
  let skipped = 0;
  const t0 = performance.now();
  for (const [k, row] of rows.entries()) {
    const id = String(row.id);
    const index = new RegExp(`^sim-${seed}-(\\d+)$`).exec(id)?.[1];
    if (index === undefined) throw new CatalogError(`${values.catalog}: galaxy ${id} was not simulated with seed ${seed} (pass the catalogue's --seed)`);
    const t = sampleTruth(Number(index), seed);
    for (const [column, decimals, value] of CHECKED) {
      const why = mismatch(row[column], value(t), decimals);
      if (why) throw new CatalogError(`${values.catalog}: galaxy ${id}, column ${column}: ${why}; the catalogue was made by another simulator version or settings, regenerate it or check out that version`);
    }
    if (t.pointSource) {
      skipped++;
      continue;
    }
    const r = renderGalaxy(t, survey, { size, seed, noise: false, extras: false });
    const why = mismatch(row.psf_fwhm_arcsec, r.visibility.psfFwhmArcsec, 3);
    if (why) throw new CatalogError(`${values.catalog}: galaxy ${id}, column psf_fwhm_arcsec: ${why}; survey ${survey.name} at ${size} px is not how it was simulated (--survey, --size)`);
    const img = r.bands[band];
    // Start the weight at the Gaussian of the galaxy's r50 through the PSF.
    const sigma0 = Math.hypot(t.r50Arcsec / 1.177, r.visibility.psfFwhmArcsec / 2.355) / r.pixscale_arcsec;
    shapes.push({
      morph: t.morphType, bt: t.bulge?.fraction ?? 0, qDisk: t.disk?.q ?? NaN, inclination: t.inclinationDeg,
      qObs: r.visibility.qObs, qIso90: isophoteAxisRatios(img, size, [0.9])[0], qAm: adaptiveAxisRatio(img, size, sigma0).q,
    });
    if ((k + 1) % 1000 === 0) console.error(`${k + 1}/${rows.length} galaxies, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  return { shapes, skipped, survey: survey.name, size, seed };
}

const median = (xs: readonly number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r4 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

/** Δq statistics of one image measure against qObs. */
function deltas(shapes: readonly Shape[], measure: (s: Shape) => number) {
  const d = shapes.map((s) => measure(s) - s.qObs);
  return {
    median_abs: r4(median(d.map(Math.abs))),
    share_over_0_1: r4(d.filter((x) => Math.abs(x) > 0.1).length / Math.max(1, d.length)),
    median: r4(median(d)),
  };
}
const deltaRow = (group: string, shapes: readonly Shape[]) => ({
  group, galaxies: shapes.length, q_iso90: deltas(shapes, (s) => s.qIso90), q_am: deltas(shapes, (s) => s.qAm),
});

const DISK_MORPHS = new Set(['spiral', 'lenticular', 'merger']);
const BT_BINS: readonly [number, number][] = [[0, 0.01], [0.01, 0.1], [0.1, 0.3], [0.3, 0.45], [0.45, 0.6], [0.6, 1.01]];
/** Bins (lo, hi] of B/T around population.ts's switch at 0.6. */
const SWITCH_BINS: readonly [number, number][] = [[0.2, 0.3], [0.3, 0.4], [0.4, 0.5], [0.5, 0.55], [0.55, 0.6], [0.6, 0.65], [0.65, 0.7]];
/** votes.ts answers how-rounded "cigar-shaped" mostly below this qObs (its ordinal's lower cut). */
const CIGAR_Q = 0.45;

async function main(): Promise<void> {
  const t0 = performance.now();
  const { shapes, skipped, survey, size, seed } = await measure();
  const seconds = (performance.now() - t0) / 1000;

  const morphs = [...new Set(shapes.map((s) => s.morph))].sort();
  const byMorphology = [deltaRow('all', shapes), ...morphs.map((m) => deltaRow(m, shapes.filter((s) => s.morph === m)))];
  const disks = shapes.filter((s) => DISK_MORPHS.has(s.morph) && !Number.isNaN(s.qDisk));
  const byBulgeFraction = BT_BINS.map(([lo, hi]) => deltaRow(`B/T [${lo}, ${hi === 1.01 ? 1 : hi})`, disks.filter((s) => s.bt >= lo && s.bt < hi)));
  // Inclined, not edge-on disks: the disk's own q is the same on both sides of the switch.
  const inclined = disks.filter((s) => s.qDisk > 0.25 && s.qDisk < 0.9);
  const btSwitch = SWITCH_BINS.map(([lo, hi]) => {
    const bin = inclined.filter((s) => s.bt > lo && s.bt <= hi);
    const med = (f: (s: Shape) => number) => r4(median(bin.map(f)));
    return { bt: `(${lo}, ${hi}]`, galaxies: bin.length, q_disk: med((s) => s.qDisk), q_obs: med((s) => s.qObs), q_iso90: med((s) => s.qIso90), q_am: med((s) => s.qAm) };
  });
  const edgeOn = shapes.filter((s) => !Number.isNaN(s.qDisk) && s.inclination > 80 && s.bt > 0.6);
  const edgeOnOverride = {
    galaxies: edgeOn.length,
    median_q_obs: r4(median(edgeOn.map((s) => s.qObs))),
    median_q_iso90: r4(median(edgeOn.map((s) => s.qIso90))),
    median_q_am: r4(median(edgeOn.map((s) => s.qAm))),
    q_iso90_over_q_obs_by_0_1: edgeOn.filter((s) => s.qIso90 - s.qObs > 0.1).length,
    q_obs_below_0_45: edgeOn.filter((s) => s.qObs < CIGAR_Q).length,
    q_iso90_below_0_45: edgeOn.filter((s) => s.qIso90 < CIGAR_Q).length,
  };

  const f3 = (x: number | null, w = 7) => (x === null ? '–' : x.toFixed(3)).padStart(w);
  const f3s = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`).padStart(7);
  const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(0)}%`).padStart(4);
  const cols = (d: ReturnType<typeof deltas>) => `${f3(d.median_abs)}  ${pct(d.share_over_0_1)}  ${f3s(d.median)}`;
  const printDeltas = (title: string, rows: ReturnType<typeof deltaRow>[]) => {
    console.log(`\n${title}\n${''.padEnd(30)}${'q_iso90 (outline)'.padEnd(26)}q_am (core)`);
    console.log(`${'group'.padEnd(18)} ${'galaxies'.padStart(8)}   ${'med|Δq|  >0.1    medΔq'}    ${'med|Δq|  >0.1    medΔq'}`);
    for (const r of rows) console.log(`${r.group.padEnd(18)} ${String(r.galaxies).padStart(8)}   ${cols(r.q_iso90)}    ${cols(r.q_am)}`);
  };
  console.log(`Δq = image axis ratio − analytic qObs (volunteers'); ${shapes.length} galaxies (${skipped} point sources skipped), ${survey}, ${size} px, seed ${seed}`);
  printDeltas('By morphology', byMorphology);
  printDeltas('Disks (spiral, lenticular, merger) by bulge fraction', byBulgeFraction);
  console.log('\nB/T = 0.6 switch: inclined disks (0.25 < q_disk < 0.9), medians');
  console.log(`${'B/T'.padEnd(13)} galaxies   q_disk    q_obs  q_iso90     q_am`);
  for (const r of btSwitch) console.log(`${r.bt.padEnd(13)} ${String(r.galaxies).padStart(8)}  ${[r.q_disk, r.q_obs, r.q_iso90, r.q_am].map((x) => f3(x)).join('  ')}`);
  const e = edgeOnOverride;
  console.log(`\nEdge-on override (inclination > 80°, B/T > 0.6): ${e.galaxies} galaxies; median q_obs ${f3(e.median_q_obs, 0)}, q_iso90 ${f3(e.median_q_iso90, 0)}, q_am ${f3(e.median_q_am, 0)}`);
  console.log(`  image rounder than q_obs by > 0.1: ${e.q_iso90_over_q_obs_by_0_1}; q_obs < ${CIGAR_Q} (cigar): ${e.q_obs_below_0_45}, q_iso90 < ${CIGAR_Q}: ${e.q_iso90_below_0_45}`);

  await writeFileAtomic(values.out!, JSON.stringify({
    generated: new Date().toISOString(),
    command: `npx tsx bench/simulate/shape.ts ${process.argv.slice(2).join(' ')}`.trim(),
    catalog: values.catalog, survey, size, seed, galaxies: shapes.length, point_sources_skipped: skipped, seconds: r4(seconds),
    delta: 'image axis ratio − analytic qObs; q_iso90: 90%-light isophote (outline), q_am: adaptive moments (core); r band, noise-free, no extras',
    by_morphology: byMorphology, disks_by_bulge_fraction: byBulgeFraction, bt_switch: btSwitch, edge_on_override: edgeOnOverride,
  }, null, 2) + '\n');
  console.log(`\n${shapes.length + skipped} galaxies in ${seconds.toFixed(0)} s → ${values.out}`);
}

try {
  await main();
} catch (e) {
  if (!(e instanceof GalmorphError)) throw e;
  console.error(`error: ${e.message}`);
  process.exitCode = 1;
}
