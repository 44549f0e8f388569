/**
 * The explorer's HTML pages, rendered on the server. Scripts are files under /assets (the
 * Content-Security-Policy allows no inline script); data a script needs travels in a
 * `<script type="application/json">` block.
 */
import type { Cell } from '../data/index.js';
import { html, jsonForScript, type SafeHtml } from './html.js';
import type { QuestionView } from './survey.js';

/** A galaxy card of a grid: id and the values of the columns shown. */
export interface Card {
  id: string;
  values: [string, Cell][];
}

/** What the grid page was asked for (echoed into the form and the paging links). */
export interface GridForm {
  where: string;
  sort: string;
  order: 'asc' | 'desc';
  show: string;
  page: number;
  limit: number;
}

/** Numbers to 4 significant digits, missing values as a dash. */
export function formatCell(v: Cell): string {
  if (v === null || (typeof v === 'number' && Number.isNaN(v))) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  return String(v);
}

const imageUrl = (id: string) => `/images/${encodeURIComponent(id)}`;
const galaxyUrl = (id: string) => `/galaxy/${encodeURIComponent(id)}`;

function layout(title: string, body: SafeHtml, scripts: string[] = []): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · galmorph</title>
<link rel="stylesheet" href="/assets/explorer.css">
${scripts.map((s) => html`<script src="/assets/${s}" defer></script>`)}
</head>
<body>
<nav><a class="brand" href="/">galmorph</a><a href="/">Galaxies</a><a href="/label">Label anomalies</a></nav>
<main>
${body}
</main>
</body>
</html>
`.text;
}

function card(c: Card): SafeHtml {
  return html`<a class="card" href="${galaxyUrl(c.id)}" data-id="${c.id}">
<img src="${imageUrl(c.id)}" alt="${c.id}" loading="lazy" width="160" height="160">
<span class="id">${c.id}</span>
${c.values.map(([k, v]) => html`<span class="kv" title="${k}">${formatCell(v)} <span class="k">${k}</span></span>`)}
</a>`;
}

/** The grid: filter form, one page of thumbnails, paging links. */
export function gridPage(form: GridForm, columns: readonly string[], total: number, galaxies: number, cards: Card[]): string {
  const pages = Math.max(1, Math.ceil(total / form.limit));
  const link = (page: number) => {
    const p = new URLSearchParams({ where: form.where, sort: form.sort, order: form.order, show: form.show, page: String(page), limit: String(form.limit) });
    return `/?${p}`;
  };
  const body = html`
<form class="filters" method="get" action="/">
<label class="wide">where <input name="where" value="${form.where}" placeholder="has_tag(tags, 'ring') AND mag_r &lt; 17" maxlength="1000" spellcheck="false"></label>
<label>sort by <input name="sort" value="${form.sort}" list="columns" placeholder="column" spellcheck="false"></label>
<label>order <select name="order">
<option value="asc"${form.order === 'asc' ? html` selected` : ''}>ascending</option>
<option value="desc"${form.order === 'desc' ? html` selected` : ''}>descending</option>
</select></label>
<label>show <input name="show" value="${form.show}" placeholder="columns, comma-separated" spellcheck="false"></label>
<input type="hidden" name="limit" value="${form.limit}">
<button type="submit">Apply</button>
<datalist id="columns">${columns.map((c) => html`<option value="${c}">`)}</datalist>
</form>
<p class="summary"><span id="total">${total}</span> of ${galaxies} galaxies${form.where ? html` match <code>${form.where}</code>` : ''} · page ${Math.min(form.page, pages)} of ${pages}</p>
<section class="grid" id="grid">${cards.map(card)}</section>
<p class="paging">${form.page > 1 ? html`<a href="${link(form.page - 1)}" rel="prev">← previous</a>` : ''} ${form.page < pages ? html`<a href="${link(form.page + 1)}" rel="next">next →</a>` : ''}</p>`;
  return layout('Galaxies', body);
}

/** A galaxy: image, predicted vote fractions (drawn by galaxy.js), catalogue values, similar galaxies. */
export function galaxyPage(id: string, tags: string[], details: [string, Cell][], questions: QuestionView[], status: Cell): string {
  const body = html`
<h1>${id}</h1>
${tags.length > 0 ? html`<p class="tags">${tags.map((t) => html`<span class="tag">${t}</span>`)}</p>` : ''}
<div class="galaxy">
<figure><img class="large" src="${imageUrl(id)}" alt="${id}" width="320" height="320"></figure>
<section class="votes">
<h2>Predicted vote fractions</h2>
${status !== null && status !== 'ok' ? html`<p class="error">prediction: ${String(status)}</p>` : ''}
<p class="legend"><span class="swatch pred"></span> predicted ± std <span class="swatch votes"></span> volunteers <span class="swatch oracle"></span> truth (simulated)</p>
<div id="votes"></div>
</section>
</div>
<section>
<h2>Similar galaxies</h2>
<p><label>neighbours <select id="k"><option>8</option><option selected>12</option><option>24</option><option>48</option></select></label>
<button id="find-similar" type="button">Find similar</button> <span id="similar-status"></span></p>
<section class="grid" id="similar"></section>
</section>
<section>
<h2>Catalogue</h2>
<table class="details">${details.map(([k, v]) => html`<tr><th>${k}</th><td>${formatCell(v)}</td></tr>`)}</table>
</section>
<script type="application/json" id="galaxy-data">${jsonForScript({ id, questions })}</script>`;
  return layout(id, body, ['d3.min.js', 'plot.umd.min.js', 'galaxy.js']);
}

/** The labelling page (driven by label.js), or how to enable it. */
export function labelPage(enabled: boolean): string {
  if (!enabled) {
    return layout('Label anomalies', html`<h1>Label anomalies</h1>
<p>No labelling session: start the explorer with <code>--session DIR</code> (a new folder, or one made by
<code>galmorph anomalies label</code>) to score galaxies here.</p>`);
  }
  const body = html`
<h1>Label anomalies</h1>
<p class="summary" id="label-status">loading…</p>
<div class="labelling">
<figure id="query"><img class="huge" id="query-image" alt="" width="424" height="424"><figcaption id="query-caption"></figcaption></figure>
<section>
<p>How interesting is this galaxy to you? Keys <kbd>0</kbd>–<kbd>5</kbd>, <kbd>s</kbd> to skip. Every answer is saved at once.</p>
<div class="scores" id="scores">
${[0, 1, 2, 3, 4, 5].map((s) => html`<button type="button" data-score="${s}">${s}</button>`)}
<button type="button" data-score="skip">skip</button>
</div>
<p id="label-message" role="status"></p>
<h2>Most interesting so far</h2>
<section class="grid small" id="ranking"></section>
</section>
</div>`;
  return layout('Label anomalies', body, ['label.js']);
}

/** An error page: what went wrong, in one line, and a way back. */
export function errorPage(status: number, message: string): string {
  return layout(`Error ${status}`, html`<h1>Error ${status}</h1><p class="error" id="error-message">${message}</p><p><a href="/">Back to the galaxies</a></p>`);
}
