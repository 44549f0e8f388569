import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getSchema, checkVoteCounts, type Schema } from '../schema/index.js';
import {
  sampleTruth, getSurvey, observingConditions, computeVisibility, simulateVotes, simulateGalaxy, answerModel, redshiftTruth, perceivedMergerStage,
  type GalaxyTruth, type SurveyName, type Visibility,
} from './index.js';

const dr5 = getSchema('decals-dr5');

function seen(t: GalaxyTruth, survey: SurveyName = 'decals', seed = 1): Visibility {
  const s = getSurvey(survey);
  return computeVisibility(t, s, observingConditions(t, s, seed));
}

/** Oracle probability of a column for a galaxy. */
function oracle(t: GalaxyTruth, column: string, v = seen(t), schema: Schema = dr5): number {
  const o = simulateVotes(t, v, schema, 1).oracle;
  return o[schema.answerColumns.indexOf(column)];
}

/** First galaxies (seed 1) matching a predicate. */
function find(pred: (t: GalaxyTruth) => boolean, n: number, limit = 6000): GalaxyTruth[] {
  const out: GalaxyTruth[] = [];
  for (let i = 0; i < limit && out.length < n; i++) {
    const t = sampleTruth(i, 1);
    if (pred(t)) out.push(t);
  }
  return out;
}

test('votes: counts obey the tree for hundreds of galaxies; oracle slices are distributions', () => {
  for (const schemaName of ['decals-dr5', 'gz2']) {
    const schema = getSchema(schemaName);
    for (let i = 0; i < 400; i++) {
      const t = sampleTruth(i, 3);
      const { counts, oracle: o, volunteers } = simulateVotes(t, seen(t, 'decals', 3), schema, 3);
      assert.equal(checkVoteCounts(schema, counts), null);
      for (const q of schema.questions) {
        let s = 0;
        for (let k = q.start; k < q.end; k++) {
          assert.ok(o[k] > 0 && o[k] < 1);
          s += o[k];
        }
        assert.ok(Math.abs(s - 1) < 1e-9, `${q.name} oracle sums to ${s}`);
        if (q.parent < 0) {
          let total = 0;
          for (let k = q.start; k < q.end; k++) total += counts[k];
          assert.equal(total, volunteers);
        }
      }
    }
  }
});

test('votes: volunteer numbers like GZ DECaLS (~45% with 30–60, the rest ~5)', () => {
  let many = 0;
  let few = 0;
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const t = sampleTruth(i, 4);
    const { volunteers } = simulateVotes(t, seen(t), dr5, 4);
    if (volunteers >= 30) {
      many++;
      assert.ok(volunteers <= 60);
    } else {
      assert.ok(volunteers >= 3 && volunteers <= 7);
      few++;
    }
  }
  assert.ok(Math.abs(many / n - 140 / 314) < 0.04, `≥30 volunteers for ${many / n}`);
  assert.equal(many + few, n);
});

test('votes: archetypes get the answers volunteers would give', () => {
  // Well-resolved face-on grand-design spirals: featured 0.8–0.95, arms seen.
  const spirals = find((t) => t.morphType === 'spiral' && !!t.arms && !t.arms.flocculent && t.inclinationDeg < 50 && t.r50Arcsec > 4, 5);
  assert.ok(spirals.length >= 3);
  for (const t of spirals) {
    const f = oracle(t, 'smooth-or-featured_featured-or-disk');
    assert.ok(f > 0.8 && f < 0.97, `spiral featured ${f}`);
    assert.ok(oracle(t, 'has-spiral-arms_yes') > 0.7);
  }
  // Edge-on disks.
  const edgeOn = find((t) => t.morphType === 'spiral' && t.inclinationDeg > 84 && t.r50Arcsec > 1.5, 5);
  assert.equal(edgeOn.length, 5);
  for (const t of edgeOn) {
    assert.ok(oracle(t, 'disk-edge-on_yes') > 0.7, `edge-on yes ${oracle(t, 'disk-edge-on_yes')}`);
  }
  // Big strong bars seen face-on: "strong" is the most likely bar answer.
  const barred = find((t) => (t.bar?.strength ?? 0) > 0.7 && t.inclinationDeg < 45 && t.r50Arcsec > 3.5, 4);
  assert.equal(barred.length, 4);
  for (const t of barred) {
    const o = simulateVotes(t, seen(t), dr5, 1).oracle;
    const q = dr5.question('bar');
    assert.equal(o.indexOf(Math.max(...o.slice(q.start, q.end)), q.start), q.start, 'bar_strong should be the top answer');
  }
  // Ellipticals are smooth; stars and artifacts draw the artifact answer.
  const ellipticals = find((t) => t.morphType === 'elliptical' && t.mergerState === 'none' && t.stars.every((s) => s.magR > 16), 5);
  assert.equal(ellipticals.length, 5);
  for (const t of ellipticals) {
    assert.ok(oracle(t, 'smooth-or-featured_smooth') > 0.8);
  }
  const junk = find((t) => t.morphType === 'star' || t.morphType === 'artifact', 5);
  assert.equal(junk.length, 5);
  for (const t of junk) {
    assert.ok(oracle(t, 'smooth-or-featured_artifact') > 0.6, `${t.morphType} artifact ${oracle(t, 'smooth-or-featured_artifact')}`);
  }
  // Merger state drives the merging answers.
  const mean = (ts: GalaxyTruth[], col: string): number => ts.reduce((s, t) => s + oracle(t, col), 0) / ts.length;
  const mergers = find((t) => t.mergerState === 'merger', 10);
  assert.equal(mergers.length, 10);
  const quiet = find((t) => t.mergerState === 'none' && t.morphType !== 'star' && t.morphType !== 'artifact', 10);
  assert.ok(mean(mergers, 'merging_merger') + mean(mergers, 'merging_major-disturbance') > 0.6);
  assert.ok(mean(quiet, 'merging_none') > 0.8);
});

test('votes: the same galaxy further away looks smoother (redshift bias)', () => {
  const spirals = find((t) => t.morphType === 'spiral' && !!t.arms && t.inclinationDeg < 60 && t.r50Arcsec > 2.5, 20);
  let smoother = 0;
  let fewerArms = 0;
  for (const t of spirals) {
    const far = redshiftTruth(t, Math.min(0.4, t.redshift * 3));
    const near = answerModel(t, seen(t));
    const away = answerModel(far, seen(far));
    if (away['smooth-or-featured']['featured-or-disk'] < near['smooth-or-featured']['featured-or-disk']) smoother++;
    if (away['has-spiral-arms'].yes < near['has-spiral-arms'].yes) fewerArms++;
    // Fainter alone (same size, 2 mag fainter) also lowers the featured fraction.
    const faint = { ...t, magR: t.magR + 2.5 };
    assert.ok(answerModel(faint, seen(faint))['smooth-or-featured']['featured-or-disk'] <= near['smooth-or-featured']['featured-or-disk'] + 1e-9);
  }
  assert.ok(smoother >= 0.9 * spirals.length, `smoother for ${smoother}/${spirals.length}`);
  assert.ok(fewerArms >= 0.9 * spirals.length, `fewer arms for ${fewerArms}/${spirals.length}`);
});

test('votes: a shallower, blurrier survey shows fewer features of the same galaxies', () => {
  const galaxies = find((t) => !!t.arms && t.inclinationDeg < 60, 60);
  const mean = (s: SurveyName): number => galaxies.reduce((acc, t) => acc + answerModel(t, seen(t, s))['has-spiral-arms'].yes, 0) / galaxies.length;
  assert.ok(mean('sdss') < mean('decals') && mean('decals') < mean('des'), `${mean('sdss')} ${mean('decals')} ${mean('des')}`);
});

test('simulateGalaxy: one catalogue row per galaxy, stable columns, labels consistent with truth', () => {
  let keys: string[] | null = null;
  let rings = 0;
  const n = 150;
  for (let i = 0; i < n; i++) {
    const g = simulateGalaxy(i, { seed: 9, survey: 'decals', size: 64 });
    const r = g.row;
    if (!keys) keys = Object.keys(r);
    assert.deepEqual(Object.keys(r), keys);
    assert.equal(g.id, `sim-9-${String(i).padStart(7, '0')}`);
    assert.equal(r.id, g.id);
    assert.equal(g.rgb.length, 64 * 64 * 3);
    assert.equal(g.bands.length, 3);
    assert.deepEqual(g.bandNames, ['g', 'r', 'z']);
    const tags = String(r.tags).split(',').filter(Boolean);
    assert.equal(r.ring === 1, tags.includes('ring') || tags.includes('polar-ring'), `ring label vs tags ${r.tags}`);
    if (r.ring === 1) assert.notEqual(r.ring_type, 'none');
    if (tags.includes('edge-on')) assert.ok(Number(r.inclination_deg) > 80);
    if (tags.includes('spiral')) assert.ok(Number(r.arm_count) > 0);
    if (tags.includes('barred')) assert.ok(Number(r.bar_strength) > 0.25);
    if (tags.includes('star')) assert.equal(r.morph_type, 'star');
    for (const q of dr5.questions) {
      let s = 0;
      for (const c of q.columns) s += Number(r[c]);
      assert.equal(r[`${q.name}_total`], s);
    }
    assert.equal(r['smooth-or-featured_total'], r.volunteers);
    rings += Number(r.ring);
  }
  assert.ok(rings / n > 0.03 && rings / n < 0.2, `ring label rate ${rings / n}`);
  // The same galaxy in another survey: same id and truth columns, different pixels.
  const a = simulateGalaxy(5, { seed: 9, survey: 'decals', size: 32 });
  const b = simulateGalaxy(5, { seed: 9, survey: 'sdss', size: 32 });
  assert.equal(a.id, b.id);
  assert.equal(a.row.mag_r, b.row.mag_r);
  assert.equal(b.row.survey, 'sdss');
  assert.deepEqual(b.bandNames, ['g', 'r', 'i']);
});

test('votes: a second campaign adds its columns and leaves the first one\'s votes unchanged', () => {
  for (let i = 0; i < 40; i++) {
    const one = simulateGalaxy(i, { seed: 9, survey: 'decals', size: 32 });
    const two = simulateGalaxy(i, { seed: 9, survey: 'decals', size: 32, schema: 'decals-dr5+gz2' });
    for (const [k, v] of Object.entries(one.row)) assert.equal(two.row[k], v, k);
    assert.deepEqual(two.rgb, one.rgb);
    assert.equal(two.row['odd-feature-gz2_total'], two.row['something-odd-gz2_yes']);
    assert.ok((two.row['smooth-or-featured-gz2_total'] as number) >= 30, 'GZ2 classified every galaxy 30+ times');
  }
});

test('votes: GZ2 volunteers name rings, lenses and mergers as the odd feature', () => {
  const gz2 = getSchema('gz2');
  const share = (pred: (t: GalaxyTruth) => boolean, col: string) => {
    const ts = find(pred, 12);
    let s = 0;
    for (const t of ts) s += oracle(t, col, seen(t), gz2);
    return s / ts.length;
  };
  const ringed = (t: GalaxyTruth) => !!t.ring && seen(t).ring > 0.6;
  assert.ok(share(ringed, 'odd-feature-gz2_ring') > 0.6);
  assert.ok(share((t) => !t.ring, 'odd-feature-gz2_ring') < 0.2);
  assert.ok(share((t) => !!t.lens && seen(t).lens > 0.6, 'odd-feature-gz2_lens-or-arc') > 0.5);
  assert.ok(share((t) => t.mergerState === 'merger' && seen(t).companion > 0.6, 'odd-feature-gz2_merger') > 0.4);
});

test('votes: image-judged visibility lets no hidden disturbance into the merging and odd-feature answers', () => {
  const disturbed = find((t) => t.mergerState === 'major-disturbance', 3);
  assert.equal(disturbed.length, 3);
  for (const t of disturbed) {
    const hidden: Visibility = { ...seen(t), tidal: 0, companion: 0, detail: 1 };
    const analytic = answerModel(t, hidden);
    const image = answerModel(t, { ...hidden, fromImage: true });
    // The analytic model still passes 35% of the stage (μ = 0.7 → mostly "minor").
    assert.ok(analytic.merging.none < 0.6, `analytic none ${analytic.merging.none}`);
    assert.ok(image.merging.none > 0.9, `image none ${image.merging.none}`);
    assert.ok(analytic['odd-feature'].disturbed > 0.2);
    assert.equal(image['odd-feature'].disturbed, 0);
    // Once the tails show clearly, they read as a major disturbance.
    const shown = answerModel(t, { ...hidden, tidal: 1, tidalContrast: 4, fromImage: true });
    assert.ok(shown.merging['major-disturbance'] > 0.6, `shown major ${shown.merging['major-disturbance']}`);
  }
});

test('votes: judged on the image, the interaction stage is what shows, whatever the true one', () => {
  const [merger] = find((t) => t.mergerState === 'merger', 1);
  const [quiet] = find((t) => t.mergerState === 'none' && t.companions.length === 0, 1);
  const base: Visibility = { ...seen(merger), detail: 1, fromImage: true };
  // An equal companion overlapping the galaxy, seen, with clear tails: a merger.
  const pair = structuredClone(merger);
  pair.companions = [{ ...merger.companions[0], magR: merger.magR, dx: 0.5 * Math.max(merger.r50Arcsec, 0.8), dy: 0 }];
  const both = { ...base, companion: 1, tidal: 1, tidalContrast: 6 };
  assert.ok(perceivedMergerStage(pair, both) > 3);
  assert.ok(answerModel(pair, both).merging.merger > 0.9);
  // The same image with its merger state changed gets the same answers.
  const relabelled = { ...pair, mergerState: 'none' as const };
  assert.deepEqual(answerModel(relabelled, both), answerModel(pair, both));
  // The companion unseen, tails alone read mostly as a major disturbance however clear.
  const tails = { ...base, companion: 0, tidal: 1, tidalContrast: 100 };
  assert.ok(perceivedMergerStage(pair, tails) <= 2.4);
  const m = answerModel(pair, tails).merging;
  assert.ok(m['major-disturbance'] > m.merger + 0.2, `major ${m['major-disturbance']} vs merger ${m.merger}`);
  // Nothing seen: no interaction, whatever the truth.
  assert.equal(perceivedMergerStage(pair, { ...base, companion: 0, tidal: 0, tidalContrast: 0 }), 0);
  assert.equal(perceivedMergerStage(quiet, { ...seen(quiet), fromImage: true, tidalContrast: 0 }), 0);
  // A faint, distant companion reads as at most a minor disturbance.
  const far = structuredClone(pair);
  far.companions[0] = { ...far.companions[0], magR: merger.magR + 3.5, dx: 3.5 * Math.max(merger.r50Arcsec, 0.8) };
  assert.ok(perceivedMergerStage(far, { ...base, companion: 1, tidalContrast: 0 }) < 1);
});

test('votes: judged on the image, bar strength and bulge shape follow what shows, not the hidden truth', () => {
  const [barred] = find((t) => t.bar !== null && t.bar.strength > 0.6 && t.disk !== null && t.disk.q > 0.7, 1);
  const base: Visibility = { ...seen(barred), bar: 0.9, detail: 1, fromImage: true };
  // The same strong bar, barely past the threshold vs far past it.
  const faint = answerModel(barred, { ...base, barContrast: 1 });
  const clear = answerModel(barred, { ...base, barContrast: 8 });
  assert.ok(faint.bar.weak > faint.bar.strong, `barely seen: weak ${faint.bar.weak} vs strong ${faint.bar.strong}`);
  assert.ok(clear.bar.strong > 0.8, `clear: strong ${clear.bar.strong}`);
  // A weak bar that shows as clearly reads as strongly.
  const weakBar = structuredClone(barred);
  weakBar.bar!.strength = 0.2;
  assert.deepEqual(answerModel(weakBar, { ...base, barContrast: 8 }).bar, clear.bar);

  const [edgeOn] = find((t) => t.disk !== null && t.bulge !== null && t.inclinationDeg > 80, 1);
  const eo: Visibility = { ...seen(edgeOn), detail: 1, fromImage: true };
  const shape = (bulge: number, boxy: number, bulgeShape: GalaxyTruth['bulgeShape']) =>
    answerModel({ ...edgeOn, bulgeShape }, { ...eo, bulge, boxy })['edge-on-bulge'];
  // Whatever the truth says, an unseen bulge reads "none" and unseen boxiness "rounded".
  for (const truth of ['boxy', 'rounded', 'none'] as const) {
    const hidden = shape(0, 0, truth);
    assert.ok(hidden.none > 0.8, `${truth}, bulge unseen: none ${hidden.none}`);
    const round = shape(1, 0, truth);
    assert.ok(round.rounded > 0.8, `${truth}, bulge seen: rounded ${round.rounded}`);
    assert.ok(shape(1, 1, truth).boxy > 0.8, `${truth}, boxy seen`);
    const sum = Object.values(shape(0.6, 0.3, truth)).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12, `probabilities sum to ${sum}`);
  }
});
