/**
 * bench/rings reporting: mean and spread over seeds per (method, N), a Markdown table and a
 * small hand-written SVG (accuracy and ROC-AUC against the number of labels, log axis).
 */

/** One fine-tuning run evaluated on the held-out set. */
export interface Row {
  n: number;
  method: string;
  seed: number;
  accuracy: number;
  auc: number;
  /** Epochs run and the epoch kept (null for the linear probe). */
  epochs: number | null;
  bestEpoch: number | null;
  seconds: number;
}

export interface Summary {
  method: string;
  n: number;
  runs: number;
  accuracy: { mean: number; sd: number };
  auc: { mean: number; sd: number };
}

const stats = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd };
};

/** Per (method, N), in the order methods and Ns first appear; sd is the sample std over seeds. */
export function summarise(rows: readonly Row[]): Summary[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.method}\u0000${r.n}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()]
    .map((g) => ({ method: g[0].method, n: g[0].n, runs: g.length, accuracy: stats(g.map((r) => r.accuracy)), auc: stats(g.map((r) => r.auc)) }))
    .sort((a, b) => a.n - b.n);
}

const fmt = (s: { mean: number; sd: number }) => `${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)}`;

/** Markdown: one row per N, one accuracy and one ROC-AUC column per method. */
export function markdownTable(summary: readonly Summary[], methods: readonly string[]): string {
  const ns = [...new Set(summary.map((s) => s.n))].sort((a, b) => a - b);
  const cell = (m: string, n: number, k: 'accuracy' | 'auc') => {
    const s = summary.find((x) => x.method === m && x.n === n);
    return s ? fmt(s[k]) : '—';
  };
  const lines = [
    `| labels | ${methods.map((m) => `${m} accuracy`).join(' | ')} | ${methods.map((m) => `${m} ROC-AUC`).join(' | ')} |`,
    `|---|${methods.map(() => '---|').join('')}${methods.map(() => '---|').join('')}`,
    ...ns.map((n) => `| ${n} | ${methods.map((m) => cell(m, n, 'accuracy')).join(' | ')} | ${methods.map((m) => cell(m, n, 'auc')).join(' | ')} |`),
  ];
  return lines.join('\n');
}

const COLOURS = ['#1b6ca8', '#d1495b', '#66a182', '#edae49', '#8d6a9f', '#2e4057'];

/** Two panels (accuracy, ROC-AUC) against N on a log axis; mean per method with ±1 sd bars. */
export function renderSvg(summary: readonly Summary[], methods: readonly string[]): string {
  const W = 360, H = 260, L = 48, R = 12, T = 28, B = 40;
  const ns = [...new Set(summary.map((s) => s.n))].sort((a, b) => a - b);
  const lo = Math.log(ns[0] / 1.3), hi = Math.log(ns.at(-1)! * 1.3);
  const x = (n: number) => L + ((Math.log(n) - lo) / (hi - lo)) * (W - L - R);
  const y = (v: number) => (T + (1 - (Math.min(1, Math.max(0.4, v)) - 0.4) / 0.6) * (H - T - B)).toFixed(1); // 0.4 … 1.0, clamped
  const panel = (k: 'accuracy' | 'auc', title: string, dx: number) => {
    const parts = [`<g transform="translate(${dx},0)">`, `<text x="${(L + W - R) / 2}" y="16" text-anchor="middle" font-weight="bold">${title}</text>`];
    for (const v of [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]) {
      parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 6}" y="${Number(y(v)) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
    }
    for (const n of ns) parts.push(`<text x="${x(n).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${n}</text>`);
    parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">labels (log scale)</text>`);
    methods.forEach((m, i) => {
      const pts = summary.filter((s) => s.method === m).sort((a, b) => a.n - b.n);
      const c = COLOURS[i % COLOURS.length];
      if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${x(p.n).toFixed(1)},${y(p[k].mean)}`).join(' ')}"/>`);
      for (const p of pts) {
        const cx = x(p.n).toFixed(1);
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(p[k].mean - p[k].sd)}" y2="${y(p[k].mean + p[k].sd)}" stroke="${c}"/>`);
        parts.push(`<circle cx="${cx}" cy="${y(p[k].mean)}" r="3" fill="${c}"/>`);
      }
    });
    parts.push('</g>');
    return parts.join('\n');
  };
  const legend = methods.map((m, i) => `<g transform="translate(${L + i * 150},${H + 14})"><rect width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/><text x="16" y="11">${m}</text></g>`).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 36}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel('accuracy', 'Accuracy (balanced test set)', 0),
    panel('auc', 'ROC-AUC', W),
    legend,
    '</svg>',
  ].join('\n') + '\n';
}
