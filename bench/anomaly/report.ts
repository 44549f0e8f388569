/** The anomaly benchmark's report: types, an SVG plot and the markdown page. */

export interface Report {
  generated: string;
  representation: string;
  catalog: string;
  galaxies: number;
  components: number;
  repeats: number;
  label_counts: number[];
  protocol: string;
  /** How the catalogue was simulated and the benchmark run. */
  commands: string[];
  machine: { cpus: number; node: string };
  researchers: Record<string, { description: string; interesting: number; interesting_fraction: number; methods: Record<string, Record<string, number | number[][]>> }>;
}

/** Re-rank timing written by speed.ts. */
export interface SpeedReport {
  galaxies: number;
  dim: number;
  threads: number;
  runs: { labels: number; rank_seconds: number; rank_cpu_seconds: number; predict_seconds: number; sort_seconds: number; fit_seconds: number; next_batch_seconds: number; next_batch_sigma_rows: number }[];
  isolation_forest_seconds: number;
  command: string;
  load_average: number[];
}

const COLORS: Record<string, string> = { galmorph: '#d62728', 'gp-walmsley': '#ff7f0e', 'isolation-forest': '#1f77b4', random: '#7f7f7f' };
const LABELS: Record<string, string> = {
  galmorph: 'galmorph (GP + EI over min(best, 4))',
  'gp-walmsley': 'GP + EI over best (Walmsley et al.)',
  'isolation-forest': 'isolation-forest order',
  random: 'random order',
};

const esc = (s: string) => s.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`);

/** One panel per researcher: mean top-100 precision against labels, ±1 std as a band. */
export function renderPlot(r: Report): string {
  const names = Object.keys(r.researchers);
  const W = 460, H = 330, m = { l: 52, r: 16, t: 40, b: 46 };
  const maxX = Math.max(...r.label_counts);
  const parts: string[] = [];
  names.forEach((name, p) => {
    const ox = p * W;
    const x = (n: number) => ox + m.l + ((W - m.l - m.r) * n) / maxX;
    const y = (v: number) => m.t + (H - m.t - m.b) * (1 - v);
    parts.push(`<text x="${ox + W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(name)}</text>`);
    for (let v = 0; v <= 1.0001; v += 0.25) {
      parts.push(`<line x1="${x(0)}" x2="${x(maxX)}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
      parts.push(`<text x="${x(0) - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(2)}</text>`);
    }
    for (const n of r.label_counts) parts.push(`<text x="${x(n)}" y="${H - m.b + 16}" text-anchor="middle" font-size="11">${n}</text>`);
    parts.push(`<text x="${ox + W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">labels</text>`);
    if (p === 0) parts.push(`<text transform="translate(14 ${H / 2}) rotate(-90)" text-anchor="middle" font-size="12">precision of the top 100</text>`);
    const methods = r.researchers[name].methods;
    for (const [method, vals] of Object.entries(methods)) {
      const c = COLORS[method] ?? '#000';
      const mean = r.label_counts.map((n) => vals[`top100_precision_at_${n}`] as number);
      const sd = r.label_counts.map((n) => vals[`top100_precision_at_${n}_std`] as number);
      const upper = r.label_counts.map((n, i) => `${x(n)},${y(Math.min(1, mean[i] + sd[i]))}`);
      const lower = r.label_counts.map((n, i) => `${x(n)},${y(Math.max(0, mean[i] - sd[i]))}`).reverse();
      parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${c}" opacity="0.15"/>`);
      parts.push(`<polyline points="${r.label_counts.map((n, i) => `${x(n)},${y(mean[i])}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
      for (const [i, n] of r.label_counts.entries()) parts.push(`<circle cx="${x(n)}" cy="${y(mean[i])}" r="3" fill="${c}"/>`);
    }
  });
  const legendY = H + 10;
  const methods = Object.keys(r.researchers[names[0]].methods);
  methods.forEach((method, i) => {
    const lx = 60 + (i % 2) * 380;
    const ly = legendY + Math.floor(i / 2) * 20;
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${COLORS[method] ?? '#000'}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}" font-size="12">${esc(LABELS[method] ?? method)}</text>`);
  });
  const rowsUsed = Math.ceil(methods.length / 2) * 20;
  const note = r.representation.startsWith('STAND-IN') ? 'STAND-IN representation (simulator truth + noise) — not galmorph results' : `representation: ${r.representation}`;
  parts.push(`<text x="${(names.length * W) / 2}" y="${legendY + rowsUsed + 8}" text-anchor="middle" font-size="12" fill="#a00">${esc(note)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${names.length * W}" height="${legendY + rowsUsed + 24}" font-family="DejaVu Sans, sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

/** The markdown report: setup, precision table per researcher, re-rank speed. */
export function renderMarkdown(r: Report & { rerank?: SpeedReport }): string {
  const L: string[] = ['# Personalised anomaly detection — benchmark', ''];
  if (r.representation.startsWith('STAND-IN')) {
    L.push('> **Stand-in representation.** These figures come from vectors built from the simulator\'s', '> truth columns and visible tags plus noise (`bench/anomaly/standin.ts`), because the galmorph', '> model is still pretraining. They validate the benchmark and compare methods on equal footing;', '> they are **not** galmorph results. Rerun with `--embeddings` from `galmorph embed` for those.', '');
  } else L.push(`Representation: \`${r.representation}\``, '');
  L.push(`- ${r.galaxies} simulated galaxies (\`${r.catalog}\`), ${r.components} standardised PCA components; ${r.repeats} repeats (seeds 0…${r.repeats - 1}).`);
  L.push(`- Protocol: ${r.protocol}.`);
  if (r.commands?.length) L.push(`- Reproduce: ${r.commands.map((c) => `\`${c}\``).join(', then ')}.`);
  L.push('- Methods: **galmorph** = exact GP (rational-quadratic + white kernel) on the PCA features (fixed kernel while every score is equal), queries by expected improvement over min(best score, 4) with trade-off 0.5 until some galaxy has scored ≥ 4 and 0 from then on, each batch of 10 picked one at a time with the kriging believer; **gp(xi=0)** = the same with trade-off 0 throughout; **GP + EI over best** = the same with trade-off 0.5 throughout and improvement over the best score so far (Walmsley et al. 2022); **isolation-forest order** = the researcher labels down the anomaly ranking, the rest ranked by anomaly score; **random order** = labels in random order, the rest in random order.');
  L.push(`- Generated ${r.generated} on ${r.machine.cpus} cores, Node ${r.machine.node}.`, '');
  for (const [name, e] of Object.entries(r.researchers)) {
    L.push(`## ${name}`, '', `${e.description}. Interesting (score ≥ 4): ${e.interesting} galaxies (${(100 * e.interesting_fraction).toFixed(2)}%).`, '');
    L.push(`| method | ${r.label_counts.map((n) => `${n} labels`).join(' | ')} |`, `|---|${r.label_counts.map(() => '---').join('|')}|`);
    for (const [method, v] of Object.entries(e.methods)) {
      L.push(`| ${LABELS[method] ?? method} | ${r.label_counts.map((n) => `${(v[`top100_precision_at_${n}`] as number).toFixed(2)} ± ${(v[`top100_precision_at_${n}_std`] as number).toFixed(2)}`).join(' | ')} |`);
    }
    const g = e.methods.galmorph;
    const reached = g ? r.label_counts.find((n) => (g[`top100_precision_at_${n}`] as number) >= 0.95) : undefined;
    L.push('', 'Mean ± std over repeats of the share of truly interesting galaxies in the top 100.');
    if (g) L.push(`Goal (≥ 0.95 with ≤ 300 labels): ${reached !== undefined && reached <= 300 ? `met — ${(g[`top100_precision_at_${reached}`] as number).toFixed(2)} at ${reached} labels` : `not met — ${(g.top100_precision_at_300 as number)?.toFixed(2)} at 300 labels${reached !== undefined ? `, ${(g[`top100_precision_at_${reached}`] as number).toFixed(2)} at ${reached}` : ''}`}.`);
    L.push('');
  }
  L.push('![top-100 precision against labels](anomaly.svg)', '');
  const s = r.rerank;
  if (s) {
    L.push('## Re-rank speed', '', `${s.galaxies.toLocaleString('en')} synthetic ${s.dim}-d galaxies, ${s.threads} threads (\`${s.command}\`; load average at start ${s.load_average.map((x) => x.toFixed(1)).join(', ')} on 2 cores shared with other jobs).`, '');
    L.push('| labels | re-rank (predict + sort), wall s | re-rank, CPU s (all threads) | predict alone, wall s (second run) | sort alone, s | GP fit s | next batch of 10 (EI), s | rows whose σ was computed |', '|---|---|---|---|---|---|---|---|');
    for (const x of s.runs) {
      L.push(`| ${x.labels} | ${x.rank_seconds.toFixed(2)} | ${x.rank_cpu_seconds.toFixed(2)} | ${x.predict_seconds.toFixed(2)} | ${x.sort_seconds.toFixed(2)} | ${x.fit_seconds.toFixed(2)} | ${x.next_batch_seconds.toFixed(2)} | ${x.next_batch_sigma_rows.toLocaleString('en')} |`);
    }
    L.push('', `Isolation forest (200 trees, fit + score of all ${s.galaxies.toLocaleString('en')}): ${s.isolation_forest_seconds.toFixed(1)} s (once per session).`);
    L.push('', 'The CPU column is the work; wall time below it is the prediction threads running side by side, wall ≈ CPU means they took turns on cores busy with other jobs (see the load average).', '');
  }
  return L.join('\n');
}
