/**
 * bench/simulate/visibility: does the simulator's volunteer model see only what its images show?
 *
 * Simulated volunteers answer from analytic visibility scores (src/sim/visibility.ts), which
 * estimate from the truth how detectable a bar, a tidal tail, a companion… is. This audit
 * tests them on the pixels: each feature is removed from the truth (its light returned to the
 * body), both versions are rendered noise-free and put through the colour stretch volunteers
 * look at, and the grey-level difference Δ is compared with the display noise (one noisy
 * rendering, local variance over 7×7 pixels):
 *   - ideal S/N = sqrt(Σ_pixels Δ²/σ²), an observer who knows the galaxy's exact featureless twin;
 *   - best element S/N: the largest 3×3-box mean of Δ against its noise (the eye's Rose test).
 * Both are UPPER BOUNDS on what a volunteer (or a network) can see: Δ also holds the change of
 * the body's profile where the feature's light went, which no eye attributes to a bar or arms
 * (bars that pass the element test are often invisible by eye). So the audit can prove a
 * feature invisible (element S/N < 5: volunteers who "see" it answer from information the
 * image does not carry), not that one is visible — except for companions and lenses, separate
 * objects whose removal leaves the body unchanged.
 *
 *   npx tsx bench/simulate/visibility.ts [--n 2000] [--seed 4242] [--survey decals]
 *
 * Writes reports/visibility.json and prints a table per feature and visibility bin.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { renderGalaxy } from '../../src/sim/render.js';
import { toRgb } from '../../src/sim/rgb.js';
import { getSurvey } from '../../src/sim/surveys.js';
import { scaleFractions } from '../../src/sim/population.js';
import { sampleTruth, type GalaxyTruth } from '../../src/sim/truth.js';
import type { Visibility } from '../../src/sim/visibility.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
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

/** Each audited feature: whether a galaxy has it, and the truth without it. */
const FEATURES: { name: keyof Visibility; has: (t: GalaxyTruth) => boolean; remove: (t: GalaxyTruth) => void }[] = [
  { name: 'bar', has: (t) => t.bar !== null, remove: (t) => { t.bar = null; } },
  { name: 'arms', has: (t) => t.arms !== null, remove: (t) => { t.arms = null; } },
  { name: 'ring', has: (t) => t.ring !== null, remove: (t) => { t.ring = null; } },
  { name: 'tidal', has: (t) => t.tails.length + t.shells.length > 0, remove: (t) => { t.tails = []; t.shells = []; } },
  { name: 'companion', has: (t) => t.companions.length > 0, remove: (t) => { t.companions = []; } },
  { name: 'dust', has: (t) => (t.dust?.tau ?? 0) > 0, remove: (t) => { t.dust = null; } },
  { name: 'lens', has: (t) => t.lens !== null, remove: (t) => { t.lens = null; } },
];

/** Light of the body components (those scaleFractions scales), as fractions of the total. */
const bodyLight = (t: GalaxyTruth) =>
  (t.bulge?.fraction ?? 0) + (t.disk?.fraction ?? 0) + (t.bar?.fraction ?? 0) + (t.arms?.fraction ?? 0) + (t.ring?.fraction ?? 0) +
  t.clumps.reduce((s, c) => s + c.fraction, 0);
const tidalLight = (t: GalaxyTruth) => t.tails.reduce((s, c) => s + c.fraction, 0) + t.shells.reduce((s, c) => s + c.fraction, 0);

/**
 * The galaxy's twin without a feature: the feature's light goes back into the body, so the
 * total flux is unchanged and only the feature's *shape* differs (a matched filter would
 * otherwise "see" a bar as a 10% dimmer galaxy).
 */
function without(t: GalaxyTruth, remove: (t: GalaxyTruth) => void): GalaxyTruth {
  const twin = structuredClone(t);
  const total = bodyLight(t) + tidalLight(t);
  remove(twin);
  const body = bodyLight(twin);
  if (body > 0) scaleFractions(twin, (total - tidalLight(twin)) / body);
  return twin;
}

/** Grey level (mean of R, G, B) of the displayed cutout. */
function grey(t: GalaxyTruth, noise: boolean): Float64Array {
  const rgb = toRgb(renderGalaxy(t, survey, { size, seed, noise }), survey);
  const out = new Float64Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = (rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3;
  return out;
}

/** Local variance of the display noise: box mean of the squared noise over (2h+1)² pixels. */
function localVariance(noisy: Float64Array, clean: Float64Array, h = 3): Float64Array {
  const sq = noisy.map((v, i) => (v - clean[i]) ** 2);
  const out = new Float64Array(sq.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let s = 0;
      let c = 0;
      for (let dy = -h; dy <= h; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= size) continue;
        for (let dx = -h; dx <= h; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= size) continue;
          s += sq[yy * size + xx];
          c++;
        }
      }
      // Quantisation to 8 bits is the floor: a grey level is ±0.5 even without noise.
      out[y * size + x] = Math.max(s / c, 1 / 12);
    }
  }
  return out;
}

interface Sample { vis: number; snr: number; element: number }

/**
 * S/N of the feature's most visible element: the largest |mean Δ| over a 3×3-pixel box (about
 * one PSF at 128 px) against that mean's noise. The Rose criterion of human vision (an element
 * stands out at S/N ≈ 5) makes this the eye's test, where the sum over all pixels is an ideal
 * observer's who knows the galaxy's exact featureless twin.
 */
function bestElement(a: Float64Array, b: Float64Array, variance: Float64Array): number {
  let best = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      let d = 0;
      let v = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const p = (y + dy) * size + x + dx;
          d += a[p] - b[p];
          v += variance[p];
        }
      }
      best = Math.max(best, Math.abs(d) / Math.sqrt(v));
    }
  }
  return best;
}
const samples = new Map<string, Sample[]>(FEATURES.map((f) => [f.name, []]));
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const truth = sampleTruth(i, seed);
  const present = FEATURES.filter((f) => f.has(truth));
  if (!present.length) continue;
  const r = renderGalaxy(truth, survey, { size, seed, noise: false });
  const clean = grey(truth, false);
  const variance = localVariance(grey(truth, true), clean);
  for (const f of present) {
    const g = grey(without(truth, f.remove), false);
    let chi2 = 0;
    for (let p = 0; p < g.length; p++) chi2 += (clean[p] - g[p]) ** 2 / variance[p];
    samples.get(f.name)!.push({ vis: r.visibility[f.name] as number, snr: Math.sqrt(chi2), element: bestElement(clean, g, variance) });
  }
}
const seconds = (performance.now() - t0) / 1000;

const BINS: [number, number][] = [[0, 0.25], [0.25, 0.5], [0.5, 0.75], [0.75, 1.0001]];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const rows: { feature: string; bin: string; galaxies: number; median_display_snr: number; undetectable_fraction: number; median_element_snr: number; invisible_to_eye_fraction: number }[] = [];
const summary: Record<string, { scored_visible: number; scored_visible_but_undetectable: number; scored_visible_but_invisible_to_eye: number }> = {};
console.log('feature    analytic vis  galaxies  ideal S/N (median)  ideal S/N < 3  best element S/N (median)  element S/N < 5');
for (const f of FEATURES) {
  const ss = samples.get(f.name)!;
  for (const [lo, hi] of BINS) {
    const inBin = ss.filter((s) => s.vis >= lo && s.vis < hi);
    if (!inBin.length) continue;
    const row = {
      feature: f.name, bin: `${lo.toFixed(2)}–${Math.min(hi, 1).toFixed(2)}`, galaxies: inBin.length,
      median_display_snr: median(inBin.map((s) => s.snr)), undetectable_fraction: inBin.filter((s) => s.snr < 3).length / inBin.length,
      median_element_snr: median(inBin.map((s) => s.element)), invisible_to_eye_fraction: inBin.filter((s) => s.element < 5).length / inBin.length,
    };
    rows.push(row);
    console.log(`${f.name.padEnd(10)} ${row.bin.padStart(12)}  ${String(row.galaxies).padStart(8)}  ${row.median_display_snr.toFixed(1).padStart(18)}  ${(100 * row.undetectable_fraction).toFixed(0).padStart(12)}%  ${row.median_element_snr.toFixed(1).padStart(25)}  ${(100 * row.invisible_to_eye_fraction).toFixed(0).padStart(14)}%`);
  }
  const visible = ss.filter((s) => s.vis >= 0.5);
  summary[f.name] = {
    scored_visible: visible.length,
    scored_visible_but_undetectable: visible.filter((s) => s.snr < 3).length / Math.max(1, visible.length),
    scored_visible_but_invisible_to_eye: visible.filter((s) => s.element < 5).length / Math.max(1, visible.length),
  };
}
await mkdir('reports', { recursive: true });
await writeFile(values.out!, JSON.stringify({
  generated: new Date().toISOString(), survey: survey.name, seed, galaxies: n, size, seconds,
  note: 'display S/N = ideal observer S/N of the feature in the colour-stretched cutout; S/N < 3 = not in the image',
  summary, rows,
}, null, 2) + '\n');
console.log(`${n} galaxies in ${seconds.toFixed(0)} s → ${values.out}`);
