import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  getSchema, createSchema, votesToFractions, reachProbabilities, checkVoteCounts, schemaToSpec, schemaNames,
} from './index.js';
import { SchemaError } from '../errors.js';

test('decals-dr5 has 10 questions and 34 answers with the published dependencies', () => {
  const s = getSchema('decals-dr5');
  assert.equal(s.questions.length, 10);
  assert.equal(s.nAnswers, 34);
  assert.equal(s.answerColumns[0], 'smooth-or-featured_smooth');
  assert.equal(s.question('spiral-winding').askedIf, 'has-spiral-arms_yes');
  assert.equal(s.questions[s.question('spiral-winding').parent].name, 'has-spiral-arms');
  assert.equal(s.answerColumns[s.question('bar').parentAnswer], 'disk-edge-on_no');
  assert.equal(s.question('merging').parent, -1);
  assert.deepEqual(schemaNames().sort(), ['decals-dr5', 'gz2']);
});

test('fractions per question, NaN for unanswered questions', () => {
  const s = getSchema('decals-dr5');
  const counts = new Array(34).fill(0);
  counts[0] = 3; counts[1] = 1; // smooth-or-featured: 3 smooth, 1 featured
  counts[s.question('merging').start] = 4;
  const f = votesToFractions(s, counts);
  assert.equal(f[0], 0.75);
  assert.equal(f[1], 0.25);
  assert.ok(Number.isNaN(f[s.question('bar').start]));
  const reach = reachProbabilities(s, f.map((v) => (Number.isNaN(v) ? 0 : v)));
  assert.equal(reach[s.question('disk-edge-on').index], 0.25);
  assert.equal(reach[s.question('spiral-winding').index], 0);
});

test('vote-count consistency: child questions cannot exceed the parent answer', () => {
  const s = getSchema('decals-dr5');
  const counts = new Array(34).fill(0);
  counts[1] = 2; // featured-or-disk
  counts[s.question('disk-edge-on').start + 1] = 3; // 3 said not edge-on
  assert.match(checkVoteCounts(s, counts)!, /disk-edge-on has 3 votes but only 2 volunteers answered smooth-or-featured_featured-or-disk/);
  counts[s.question('disk-edge-on').start + 1] = 2;
  assert.equal(checkVoteCounts(s, counts), null);
  counts[5] = -1;
  assert.match(checkVoteCounts(s, counts)!, /non-negative integer/);
});

test('custom schemas load from JSON and bad ones fail clearly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gm-schema-'));
  const good = join(dir, 'rings.json');
  writeFileSync(good, JSON.stringify({
    name: 'rings', questions: [
      { name: 'ring', answers: ['yes', 'no'], askedIf: null },
      { name: 'ring-type', answers: ['inner', 'outer'], askedIf: 'ring_yes' },
    ],
  }));
  const s = getSchema(good);
  assert.equal(s.nAnswers, 4);
  assert.deepEqual(schemaToSpec(s).questions[1], { name: 'ring-type', answers: ['inner', 'outer'], askedIf: 'ring_yes' });
  assert.throws(() => getSchema('nope'), /unknown schema "nope"; built-in schemas: decals-dr5, gz2/);
  assert.throws(() => createSchema({ name: 'x', questions: [{ name: 'a', answers: ['b', 'c'], askedIf: 'zz_y' }] }),
    (e: unknown) => e instanceof SchemaError && /askedIf "zz_y" is not an answer of an earlier question/.test((e as Error).message));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ nope');
  assert.throws(() => getSchema(bad), /is not valid JSON/);
});

test('trees combine with +: questions of each in turn, both sets of columns, clashes refused', () => {
  const s = getSchema('decals-dr5+gz2');
  assert.equal(s.name, 'decals-dr5+gz2');
  assert.equal(s.nAnswers, 34 + getSchema('gz2').nAnswers);
  assert.equal(s.answerColumns[34], 'smooth-or-featured-gz2_smooth');
  assert.equal(s.question('odd-feature-gz2').askedIf, 'something-odd-gz2_yes');
  assert.equal(s.question('odd-feature-gz2').parent, s.question('something-odd-gz2').index);
  assert.deepEqual(createSchema(schemaToSpec(s)).answerColumns, s.answerColumns);
  assert.throws(() => getSchema('decals-dr5+decals-dr5'), /duplicate question "smooth-or-featured"/);
  assert.throws(() => getSchema('decals-dr5+nope'), /unknown schema "nope"/);
});
