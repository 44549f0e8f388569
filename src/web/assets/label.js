// Anomaly labelling: show the galaxy the active learner asks about, send the score (buttons or
// keys 0–5, s to skip), show the next one and the updated ranking. The server saves every answer.
const $ = (id) => document.getElementById(id);
const buttons = [...document.querySelectorAll('#scores button')];
let current = null;
let busy = false;

async function call(url, init) {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error);
  return body;
}

function show(state) {
  current = state.current;
  $('label-status').textContent = `${state.labelled} of ${state.galaxies} galaxies scored · batch ${state.batches} (${state.pending} of ${state.batchSize} left; the model is refitted after each batch)`;
  if (!current) {
    $('query-image').removeAttribute('src');
    $('query-caption').textContent = 'every galaxy has been asked about';
    buttons.forEach((b) => (b.disabled = true));
    return;
  }
  $('query-image').src = `/images/${encodeURIComponent(current.id)}`;
  $('query-image').alt = current.id;
  $('query').dataset.id = current.id;
  const guess = current.predicted === null ? 'first batch (random)' : `predicted ${current.predicted.toFixed(1)} ± ${current.uncertainty.toFixed(1)}`;
  $('query-caption').textContent = `${current.id} · ${guess} · anomaly ${current.anomaly.toFixed(3)}`;
}

async function refreshRanking() {
  const { galaxies } = await call('/api/label/ranking?limit=12');
  $('ranking').replaceChildren(...galaxies.map((g) => {
    const a = document.createElement('a');
    a.className = 'card';
    a.href = `/galaxy/${encodeURIComponent(g.id)}`;
    a.dataset.id = g.id;
    const img = document.createElement('img');
    img.src = `/images/${encodeURIComponent(g.id)}`;
    img.alt = g.id;
    const label = document.createElement('span');
    label.className = 'kv';
    label.textContent = `#${g.rank} · ${g.score.toFixed(1)} ${g.labelled ? 'yours' : 'pred.'}`;
    a.append(img, label);
    return a;
  }));
}

async function answer(score) {
  if (!current || busy) return;
  busy = true;
  buttons.forEach((b) => (b.disabled = true));
  const id = current.id;
  try {
    const body = score === 'skip' ? { id, skip: true } : { id, score };
    const state = await call('/api/label', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    $('label-message').textContent = `${score === 'skip' ? 'skipped' : `saved ${score} for`} ${id}${state.retrained ? ' · model refitted' : ''}`;
    show(state);
    await refreshRanking();
  } catch (e) {
    $('label-message').textContent = `not saved: ${e.message}`;
  } finally {
    busy = false;
    if (current) buttons.forEach((b) => (b.disabled = false));
  }
}

buttons.forEach((b) => b.addEventListener('click', () => answer(b.dataset.score === 'skip' ? 'skip' : Number(b.dataset.score))));
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (/^[0-5]$/.test(e.key)) answer(Number(e.key));
  else if (e.key === 's') answer('skip');
});

call('/api/label').then(show).then(refreshRanking).catch((e) => ($('label-status').textContent = e.message));
