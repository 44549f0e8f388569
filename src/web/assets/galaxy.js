// Galaxy page: predicted vote fractions as bars (Observable Plot) and "find similar".
// Data comes from the page's #galaxy-data JSON block; images and neighbours from the server.
const data = JSON.parse(document.getElementById('galaxy-data').textContent);
const css = getComputedStyle(document.documentElement);
const colour = (name) => css.getPropertyValue(name).trim();

function drawQuestion(q) {
  const rows = q.answers.map((a) => ({ ...a, lo: Math.max(0, a.predicted - a.std), hi: Math.min(1, a.predicted + a.std) }));
  const marks = [
    Plot.barX(rows, { y: 'answer', x: 'predicted', fill: colour('--pred'), fillOpacity: 0.75 }),
    Plot.ruleY(rows, { y: 'answer', x1: 'lo', x2: 'hi', stroke: '#e6e8eb', strokeWidth: 1.5 }),
    Plot.ruleX([0]),
  ];
  if (rows.some((a) => Number.isFinite(a.votes))) marks.push(Plot.dot(rows, { y: 'answer', x: 'votes', fill: colour('--votes'), r: 3.5 }));
  if (rows.some((a) => Number.isFinite(a.oracle))) marks.push(Plot.tickX(rows, { y: 'answer', x: 'oracle', stroke: colour('--oracle'), strokeWidth: 2 }));
  const figure = document.createElement('figure');
  const title = document.createElement('h3');
  title.textContent = q.question;
  if (Number.isFinite(q.volunteers) && q.volunteers > 0) {
    const n = document.createElement('span');
    n.className = 'n';
    n.textContent = ` · ${q.volunteers} volunteer${q.volunteers === 1 ? '' : 's'}`;
    title.append(n);
  }
  figure.append(title, Plot.plot({
    width: 330, height: 30 + 21 * rows.length, marginLeft: 120, marginRight: 12,
    style: { background: 'transparent', color: colour('--text'), fontSize: '11px' },
    x: { domain: [0, 1], grid: true, ticks: 5, label: null },
    y: { domain: rows.map((a) => a.answer), label: null },
    marks,
  }));
  return figure;
}

const votes = document.getElementById('votes');
for (const q of data.questions) votes.append(drawQuestion(q));

function neighbourCard(n) {
  const a = document.createElement('a');
  a.className = 'card';
  a.href = `/galaxy/${encodeURIComponent(n.id)}`;
  a.dataset.id = n.id;
  const img = document.createElement('img');
  img.src = `/images/${encodeURIComponent(n.id)}`;
  img.alt = n.id;
  img.loading = 'lazy';
  const id = document.createElement('span');
  id.className = 'id';
  id.textContent = n.id;
  const score = document.createElement('span');
  score.className = 'kv';
  score.textContent = `#${n.rank} · similarity ${n.score.toFixed(3)}`;
  a.append(img, id, score);
  return a;
}

const button = document.getElementById('find-similar');
const status = document.getElementById('similar-status');
button.addEventListener('click', async () => {
  const k = document.getElementById('k').value;
  status.textContent = 'searching…';
  button.disabled = true;
  try {
    const res = await fetch(`/api/galaxies/${encodeURIComponent(data.id)}/similar?k=${encodeURIComponent(k)}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.error);
    document.getElementById('similar').replaceChildren(...body.neighbours.map(neighbourCard));
    status.textContent = `${body.neighbours.length} nearest in representation space`;
  } catch (e) {
    status.textContent = e.message;
    status.className = 'error';
  } finally {
    button.disabled = false;
  }
});
