/** Aggregation, markdown table and SVG plot of the transfer benchmark (run.ts). */
import type { ClassificationScore } from '../../src/finetune/metrics.js';
import type { TransferTask } from './tasks.js';

/** One finished job: a model and its test scores. */
export interface Row {
  key: string;
  kind: 'sdss' | 'ceiling' | 'transfer' | 'decals' | 'scratch';
  task: string;
  /** Labels it was trained on (SDSS-like for `sdss`, DES-like otherwise; galaxies simulated for `ceiling`). */
  n: number;
  seed: number;
  /** On the DES-like test set. */
  des: ClassificationScore;
  /** DES-like test accuracy per r bin, brightest first. */
  desByMag: MagBinScore[];
  /** `sdss` only: the SDSS-like test galaxies (r < 17.77). */
  sdss?: ClassificationScore;
  trainSeconds: number;
  seconds: number;
}

/** Accuracy on the test galaxies of one r-magnitude bin. */
export interface MagBinScore {
  /** Its r range ("< 17.77", "17.77–19"). */
  bin: string;
  n: number;
  accuracy: number;
}

/** Mean over seeds of one arm at one N. */
export interface Aggregate {
  runs: number;
  accuracy: number;
  accuracyStd: number;
  completeness: Record<string, number | null>;
  purity: Record<string, number | null>;
  /** Mean accuracy per r bin, in the order of TaskSummary.magBins. */
  accuracyByMag: number[];
  seconds: number;
}

export interface TaskSummary {
  definition: string;
  classes: string[];
  /** Labelled galaxies per set and class. */
  counts: Record<string, Record<string, number>>;
  /** SDSS model on the DES-like test set. */
  before: ClassificationScore | null;
  /** Its DES-like test accuracy per r bin (the bins and their galaxy counts). */
  beforeByMag: MagBinScore[];
  /** SDSS model on SDSS-like test galaxies (r < 17.77). */
  sdssInDomain: ClassificationScore | null;
  /** DECaLS-sim base fine-tuned on thousands of DES-like labels, on the DES-like test set. */
  ceiling: ClassificationScore | null;
  ceilingByMag: MagBinScore[];
  sdssTrainSeconds: number | null;
  /** arm → N → aggregate. */
  arms: Record<string, Record<string, Aggregate>>;
}

export type Summary = Record<string, unknown> & {
  primaryTask: string;
  settings: Record<string, unknown>;
  tasks: Record<string, TaskSummary>;
};

const ARM_LABEL: Record<string, string> = {
  transfer: 'SDSS model fine-tuned on DES-like labels',
  decals: 'DECaLS-sim base fine-tuned on DES-like labels only',
  scratch: 'random init, trained on DES-like labels only',
};
const ARM_SHORT: Record<string, string> = { decals: 'DECaLS-sim base only', scratch: 'random init only' };
const ARM_COLOUR: Record<string, string> = { transfer: '#d62728', decals: '#1f77b4', scratch: '#7f7f7f' };

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanOrNull = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? mean(v) : null;
};

function aggregate(rows: Row[], classes: string[]): Aggregate {
  const acc = rows.map((r) => r.des.accuracy);
  const m = mean(acc);
  return {
    runs: rows.length,
    accuracy: m,
    accuracyStd: rows.length > 1 ? Math.sqrt(acc.reduce((a, x) => a + (x - m) ** 2, 0) / (rows.length - 1)) : 0,
    completeness: Object.fromEntries(classes.map((c) => [c, meanOrNull(rows.map((r) => r.des.perClass[c].completeness))])),
    purity: Object.fromEntries(classes.map((c) => [c, meanOrNull(rows.map((r) => r.des.perClass[c].purity))])),
    accuracyByMag: rows[0].desByMag.map((_, i) => mean(rows.map((r) => r.desByMag[i].accuracy))),
    seconds: mean(rows.map((r) => r.seconds)),
  };
}

/** Per task and arm; the primary (first) task's figures also as the top-level keys of transfer.json. */
export function summarise(rows: Row[], tasks: readonly TransferTask[], settings: Record<string, unknown> & { ns: number[] }, counts: Record<string, Record<string, Record<string, number>>>): Summary {
  const out: Summary = { primaryTask: tasks[0].name, settings, tasks: {} };
  for (const task of tasks) {
    const mine = rows.filter((r) => r.task === task.name);
    const sdss = mine.find((r) => r.kind === 'sdss');
    const ceiling = mine.find((r) => r.kind === 'ceiling');
    const arms: TaskSummary['arms'] = {};
    for (const arm of ['transfer', 'decals', 'scratch']) {
      for (const n of settings.ns) {
        const rs = mine.filter((r) => r.kind === arm && r.n === n);
        if (rs.length) (arms[arm] ??= {})[String(n)] = aggregate(rs, task.classes);
      }
    }
    out.tasks[task.name] = {
      definition: task.definition, classes: task.classes, counts: counts[task.name],
      before: sdss?.des ?? null, beforeByMag: sdss?.desByMag ?? [], sdssInDomain: sdss?.sdss ?? null, ceiling: ceiling?.des ?? null, ceilingByMag: ceiling?.desByMag ?? [], sdssTrainSeconds: sdss?.trainSeconds ?? null, arms,
    };
  }
  const primary = out.tasks[tasks[0].name];
  const rates = (s: ClassificationScore, k: 'completeness' | 'purity') => Object.fromEntries(primary.classes.map((c) => [c, s.perClass[c][k]]));
  if (primary.before) {
    out.accuracy_before = primary.before.accuracy;
    out.completeness_before = rates(primary.before, 'completeness');
    out.purity_before = rates(primary.before, 'purity');
  }
  for (const [n, a] of Object.entries(primary.arms.transfer ?? {})) {
    out[`accuracy_after_${n}`] = a.accuracy;
    out[`completeness_after_${n}`] = a.completeness;
    out[`purity_after_${n}`] = a.purity;
  }
  return out;
}

const f3 = (x: number | null) => (x === null ? '–' : x.toFixed(3));

export function renderMarkdown(s: Summary): string {
  const st = s.settings as Record<string, unknown>;
  const lines = [
    '# Survey transfer: SDSS-like → DES-like',
    '',
    `Simulated galaxies: an SDSS-like survey of the r < 17.77 population (SDSS spectroscopic; 0.396″/px, PSF 1.4″, 5σ depth r ≈ 22.2) and a DES-like survey drawn to r < ${st.desMagLimit} ` +
      '(0.263″/px, PSF 0.95″, r ≈ 24.0), so the DES-like sample holds fainter, smaller and more distant galaxies than the SDSS-like training set ever had; ' +
      "each survey's galaxies labelled by that survey's own simulated Galaxy Zoo 2 volunteers (30–70 per galaxy) looking at its own images, " +
      `so a DES-like label can show a feature the SDSS-like image hid (visibility: ${st.visibility ?? 'analytic'}; 'image' = volunteers judge features on the displayed cutout). ` +
      `A classifier trained on ${st.nTrain} simulated SDSS-like galaxies (the task's labelled share of them) is applied to DES-like images (before), ` +
      'then fine-tuned on N DES-like labels (after), against models that saw only those N labels. ' +
      `Test: ${st.test} labelled DES-like galaxies of a separate simulation; mean over seeds ${(st.seeds as number[]).join(', ')} (± sample std). ` +
      `SDSS model: \`finetune --mode ${st.sdssMode}\` of ${st.base} (${st.baseInputSize} px input, bytes ${st.baseId}; cutouts ${st.size} px), ≤ ${st.epochs} epochs; DES fine-tunes: \`--mode ${st.mode}\`` +
      ` (≤ ${st.transferEpochs} epochs where it trains); scratch: all layers from random init, lr 1e-3, ≤ ${st.scratchEpochs} epochs. ` +
      'N labels are split 80/20 into training and early-stopping validation, as `galmorph finetune` does. `npx tsx bench/transfer/run.ts`.',
    '',
  ];
  for (const [name, t] of Object.entries(s.tasks)) {
    const [a, b] = t.classes;
    lines.push(`## ${name}`, '', `Labels: ${t.definition}.`, '');
    lines.push(`Labelled galaxies: ${Object.entries(t.counts).map(([set, c]) => `${set} ${Object.entries(c).map(([k, v]) => `${v} ${k}`).join(' / ')}`).join('; ')}.`, '');
    lines.push(`| model | DES labels | accuracy | completeness ${a} | purity ${a} | completeness ${b} | purity ${b} | s/run |`, '|---|---|---|---|---|---|---|---|');
    const score = (label: string, x: ClassificationScore, secs: number | null, desLabels = 0) =>
      lines.push(`| ${label} | ${desLabels} | ${f3(x.accuracy)} | ${f3(x.perClass[a].completeness)} | ${f3(x.perClass[a].purity)} | ${f3(x.perClass[b].completeness)} | ${f3(x.perClass[b].purity)} | ${secs === null ? '' : secs.toFixed(0)} |`);
    if (t.sdssInDomain) score('SDSS model on SDSS-like test galaxies, r < 17.77 (in-domain)', t.sdssInDomain, t.sdssTrainSeconds);
    if (t.before) score('**SDSS model on DES-like images (before)**', t.before, null);
    const nCeiling = Object.values(t.counts['des-ceiling'] ?? {}).reduce((a, b) => a + b, 0);
    if (t.ceiling) score(`DECaLS-sim base fine-tuned like the SDSS model on the DES-like labels of another simulation (ceiling reference)`, t.ceiling, null, nCeiling);
    const ns = [...new Set(Object.values(t.arms).flatMap((m) => Object.keys(m)))].sort((x, y) => Number(x) - Number(y));
    for (const n of ns) {
      for (const [arm, byN] of Object.entries(t.arms)) {
        const g = byN[n];
        if (!g) continue;
        const acc = `${f3(g.accuracy)}${g.runs > 1 ? ` ± ${g.accuracyStd.toFixed(3)}` : ''}`;
        const label = arm === 'transfer' ? `**${ARM_LABEL[arm]}**` : ARM_LABEL[arm];
        lines.push(`| ${label} | ${n} | ${arm === 'transfer' ? `**${acc}**` : acc} | ${f3(g.completeness[a])} | ${f3(g.purity[a])} | ${f3(g.completeness[b])} | ${f3(g.purity[b])} | ${g.seconds.toFixed(0)} |`);
      }
    }
    lines.push('');
    if (t.beforeByMag.length) {
      const ns2 = Object.keys(t.arms.transfer ?? {});
      const big = ns[ns.length - 1];
      const others = Object.keys(t.arms).filter((arm) => arm !== 'transfer' && t.arms[arm][big]);
      lines.push(`DES-like test accuracy by r magnitude (SDSS model before; after = fine-tuned on N DES-like labels, mean over seeds):`, '');
      const ceil = t.ceilingByMag.length ? ' ceiling |' : '';
      lines.push(`| r | test galaxies | before | ${ns2.map((n) => `after ${n}`).join(' | ')} | ${others.map((arm) => `${ARM_SHORT[arm]}, ${big}`).join(' | ')} |${ceil}`);
      lines.push(`|---|---|---|${ns2.map(() => '---|').join('')}${others.map(() => '---|').join('')}${ceil ? '---|' : ''}`);
      t.beforeByMag.forEach((b, i) => {
        const cells = [...ns2.map((n) => t.arms.transfer[n].accuracyByMag[i]), ...others.map((arm) => t.arms[arm][big].accuracyByMag[i])];
        const c = t.ceilingByMag[i] ? ` ${f3(t.ceilingByMag[i].accuracy)} |` : '';
        lines.push(`| ${b.bin} | ${b.n} | ${f3(b.accuracy)} | ${cells.map(f3).join(' | ')} |${c}`);
      });
      lines.push('');
    }
  }
  lines.push('![accuracy on the DES-like test set against the number of DES-like labels](transfer.svg)', '');
  return lines.join('\n');
}

/** One panel per task: DES-like test accuracy against N, per arm (± std), with the before and in-domain levels. */
export function renderPlot(s: Summary): string {
  const tasks = Object.entries(s.tasks);
  const W = 380;
  const H = 280;
  const m = { l: 50, r: 10, t: 28, b: 40 };
  const ns = (s.settings as { ns: number[] }).ns;
  const parts: string[] = [];
  tasks.forEach(([name, t], k) => {
    const x0 = k * W;
    const vals = [t.before?.accuracy, t.sdssInDomain?.accuracy, t.ceiling?.accuracy, ...Object.values(t.arms).flatMap((m) => Object.values(m).map((g) => g.accuracy - g.accuracyStd))]
      .filter((v): v is number => typeof v === 'number');
    const lo = Math.max(0, Math.floor((Math.min(...vals, 0.9) - 0.02) * 20) / 20);
    const X = (i: number) => x0 + m.l + ((i + 0.5) / ns.length) * (W - m.l - m.r);
    const Y = (v: number) => m.t + ((1 - v) / (1 - lo)) * (H - m.t - m.b);
    parts.push(`<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-weight="bold">${name}</text>`);
    parts.push(`<line x1="${x0 + m.l}" y1="${Y(1)}" x2="${x0 + m.l}" y2="${Y(lo)}" stroke="#000"/><line x1="${x0 + m.l}" y1="${Y(lo)}" x2="${x0 + W - m.r}" y2="${Y(lo)}" stroke="#000"/>`);
    for (let v = lo; v <= 1.0001; v += 0.05) {
      parts.push(`<line x1="${x0 + m.l - 4}" y1="${Y(v)}" x2="${x0 + W - m.r}" y2="${Y(v)}" stroke="#eee"/><text x="${x0 + m.l - 6}" y="${Y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
    }
    ns.forEach((n, i) => parts.push(`<text x="${X(i)}" y="${H - m.b + 16}" text-anchor="middle">${n}</text>`));
    parts.push(`<text x="${x0 + m.l + (W - m.l - m.r) / 2}" y="${H - 6}" text-anchor="middle">DES-like labels</text>`);
    const hline = (v: number | undefined, colour: string, label: string) => {
      if (v === undefined) return;
      parts.push(`<line x1="${x0 + m.l}" y1="${Y(v)}" x2="${x0 + W - m.r}" y2="${Y(v)}" stroke="${colour}" stroke-dasharray="5,4"/><text x="${x0 + W - m.r - 2}" y="${Y(v) - 4}" text-anchor="end" fill="${colour}">${label}</text>`);
    };
    hline(t.before?.accuracy, '#d62728', 'SDSS model, before');
    hline(t.sdssInDomain?.accuracy, '#2ca02c', 'SDSS model on SDSS-like');
    hline(t.ceiling?.accuracy, '#9467bd', 'ceiling: thousands of DES-like labels');
    for (const [arm, byN] of Object.entries(t.arms)) {
      const pts = ns.map((n, i) => [i, byN[String(n)]] as const).filter(([, g]) => g);
      const c = ARM_COLOUR[arm];
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(([i, g]) => `${X(i)},${Y(g!.accuracy)}`).join(' ')}"/>`);
      for (const [i, g] of pts) {
        parts.push(`<circle cx="${X(i)}" cy="${Y(g!.accuracy)}" r="3" fill="${c}"/>`);
        if (g!.accuracyStd > 0) parts.push(`<line x1="${X(i)}" y1="${Y(Math.min(1, g!.accuracy + g!.accuracyStd))}" x2="${X(i)}" y2="${Y(Math.max(lo, g!.accuracy - g!.accuracyStd))}" stroke="${c}"/>`);
      }
    }
  });
  const legendY = H + 14;
  const arms = [...new Set(tasks.flatMap(([, t]) => Object.keys(t.arms)))];
  arms.forEach((arm, i) => parts.push(`<rect x="${10 + i * 300}" y="${legendY - 9}" width="14" height="3" fill="${ARM_COLOUR[arm]}"/><text x="${28 + i * 300}" y="${legendY - 4}">${ARM_LABEL[arm]}</text>`));
  const width = Math.max(W * tasks.length, 300 * arms.length);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 24}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}
