/**
 * bench/simulate/visibility: do the simulated volunteers see what the images show?
 *
 * Volunteers answer from visibility scores. The analytic ones (src/sim/visibility.ts) are
 * estimated from the truth; the image ones (src/sim/seen.ts, `simulate --visibility image`)
 * are measured on the displayed cutout against a featureless twin of the galaxy. This bench
 * scores every feature of a sample both ways and prints how often they agree on "visible"
 * (score > 0.5), and which way they disagree. Features the analytic score calls visible but
 * the image does not show give volunteers information no image model can have (it bounds
 * the MAE of a model against the oracle on those questions); features shown but scored
 * invisible make the votes contradict the pixels.
 *
 *   npx tsx bench/simulate/visibility.ts [--n 3000] [--seed 4242] [--survey decals]
 *
 * Writes reports/visibility.json and prints the table.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getSurvey, renderGalaxy, sampleTruth, toRgb } from '../../src/sim/index.js';
import { imageVisibility, SEEN_FEATURES } from '../../src/sim/seen.js';
import { VISIBLE } from '../../src/sim/visibility.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '3000' },
    seed: { type: 'string', default: '4242' },
    survey: { type: 'string', default: 'decals' },
    size: { type: 'string', default: '128' },
    out: { type: 'string', default: 'reports/visibility.json' },
  },
});
const n = Number(values.n);
const seed = Number(values.seed);
const size = Number(values.size);
const survey = getSurvey(values.survey!);

type Counts = { galaxies: number; both: number; analytic_only: number; image_only: number; neither: number };
const counts = new Map<string, Counts>(SEEN_FEATURES.map((f) => [f.name, { galaxies: 0, both: 0, analytic_only: 0, image_only: 0, neither: 0 }]));
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const truth = sampleTruth(i, seed);
  const present = SEEN_FEATURES.filter((f) => f.has(truth));
  if (!present.length) continue;
  const r = renderGalaxy(truth, survey, { size, seed });
  const image = imageVisibility(truth, survey, { size, seed }, toRgb(r, survey), r.visibility);
  for (const f of present) {
    const c = counts.get(f.name)!;
    const a = (r.visibility[f.name] as number) > VISIBLE;
    const m = (image[f.name] as number) > VISIBLE;
    c.galaxies++;
    if (a && m) c.both++;
    else if (a) c.analytic_only++;
    else if (m) c.image_only++;
    else c.neither++;
  }
}
const seconds = (performance.now() - t0) / 1000;

const pct = (x: number, of: number) => (of ? `${((100 * x) / of).toFixed(0)}%` : '–');
console.log('feature     galaxies  analytic visible  image visible  agree  analytic only (not in image)  image only (scored invisible)');
const rows = [...counts].map(([feature, c]) => {
  console.log(
    `${feature.padEnd(10)} ${String(c.galaxies).padStart(9)}  ${pct(c.both + c.analytic_only, c.galaxies).padStart(16)}  ${pct(c.both + c.image_only, c.galaxies).padStart(13)}  ${pct(c.both + c.neither, c.galaxies).padStart(5)}  ${pct(c.analytic_only, c.both + c.analytic_only).padStart(28)}  ${pct(c.image_only, c.both + c.image_only).padStart(29)}`,
  );
  return {
    feature, ...c,
    agreement: (c.both + c.neither) / Math.max(1, c.galaxies),
    // Of the features the analytic score calls visible, the share the image does not show.
    analytic_visible_not_in_image: c.analytic_only / Math.max(1, c.both + c.analytic_only),
    // Of the features the image shows, the share the analytic score calls invisible.
    in_image_scored_invisible: c.image_only / Math.max(1, c.both + c.image_only),
  };
});
await mkdir('reports', { recursive: true });
await writeFile(values.out!, JSON.stringify({ generated: new Date().toISOString(), survey: survey.name, seed, galaxies: n, size, seconds, rows }, null, 2) + '\n');
console.log(`${n} galaxies in ${seconds.toFixed(0)} s → ${values.out}`);
