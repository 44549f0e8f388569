import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CatalogError } from '../errors.js';
import { getSchema } from '../schema/index.js';
import { readVoteCatalog } from './catalog.js';
import { readTable, writeTable } from './table.js';

const schema = getSchema('decals-dr5');
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galmorph-catalog-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Votes = Record<string, number | string>;

/** A featured spiral with votes down every branch (each child ≤ its parent answer). */
const SPIRAL: Votes = {
  'smooth-or-featured_smooth': 3, 'smooth-or-featured_featured-or-disk': 6, 'smooth-or-featured_artifact': 1,
  'disk-edge-on_yes': 2, 'disk-edge-on_no': 4,
  'has-spiral-arms_yes': 3, 'has-spiral-arms_no': 1,
  'bar_strong': 1, 'bar_weak': 1, 'bar_no': 2,
  'bulge-size_dominant': 0, 'bulge-size_large': 1, 'bulge-size_moderate': 2, 'bulge-size_small': 1, 'bulge-size_none': 0,
  'how-rounded_round': 1, 'how-rounded_in-between': 1, 'how-rounded_cigar-shaped': 1,
  'edge-on-bulge_boxy': 1, 'edge-on-bulge_none': 0, 'edge-on-bulge_rounded': 1,
  'spiral-winding_tight': 1, 'spiral-winding_medium': 1, 'spiral-winding_loose': 1,
  'spiral-arm-count_1': 1, 'spiral-arm-count_2': 2, 'spiral-arm-count_3': 0, 'spiral-arm-count_4': 0,
  'spiral-arm-count_more-than-4': 0, 'spiral-arm-count_cant-tell': 0,
  'merging_none': 8, 'merging_minor-disturbance': 1, 'merging_major-disturbance': 1, 'merging_merger': 0,
};
/** A smooth galaxy: questions nobody reached have empty count cells, as in the release. */
const SMOOTH: Votes = Object.fromEntries(schema.answerColumns.map((c) => [c, '']));
Object.assign(SMOOTH, {
  'smooth-or-featured_smooth': 5, 'smooth-or-featured_featured-or-disk': 0, 'smooth-or-featured_artifact': 0,
  'how-rounded_round': 4, 'how-rounded_in-between': 1, 'how-rounded_cigar-shaped': 0,
  'merging_none': 5, 'merging_minor-disturbance': 0, 'merging_major-disturbance': 0, 'merging_merger': 0,
});

/** Columns in the GZ DECaLS volunteer-catalogue layout. */
function decalsColumns(): string[] {
  const cols = ['iauname', 'ra', 'dec'];
  for (const q of schema.questions) {
    cols.push(`${q.name}_total-votes`);
    for (const c of q.columns) cols.push(c, `${c}_fraction`, `${c}_debiased`);
  }
  return cols;
}

function decalsRow(id: string, votes: Votes): Record<string, string | number> {
  const row: Record<string, string | number> = { iauname: id, ra: 150.1, dec: 2.2 };
  for (const q of schema.questions) {
    const total = q.columns.reduce((s, c) => s + (typeof votes[c] === 'number' ? (votes[c] as number) : 0), 0);
    const reached = q.columns.some((c) => votes[c] !== '');
    row[`${q.name}_total-votes`] = reached ? total : '';
    for (const c of q.columns) {
      row[c] = votes[c];
      row[`${c}_fraction`] = total > 0 ? (votes[c] as number) / total : '';
      row[`${c}_debiased`] = total > 0 ? 0.5 : '';
    }
  }
  return row;
}

async function writeCsv(name: string, rows: Record<string, string | number>[], columns = decalsColumns()): Promise<string> {
  const p = join(dir, name);
  const text = [columns.join(','), ...rows.map((r) => columns.map((c) => String(r[c] ?? '')).join(','))].join('\n') + '\n';
  await writeFile(p, text);
  return p;
}

const opts = { schema, idColumn: 'iauname' };

/** Assert a CatalogError whose message matches every pattern. */
async function rejectsWith(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof CatalogError, `expected CatalogError, got ${e}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

describe('readVoteCatalog', () => {
  it('reads the GZ DECaLS volunteer layout as-is (iauname, _fraction, _debiased, _total-votes)', async () => {
    const p = await writeCsv('decals.csv', [decalsRow('J095120.01+021004.9', SPIRAL), decalsRow('J100000.00+020000.0', SMOOTH)]);
    const cat = await readVoteCatalog(p, opts);
    assert.equal(cat.nRows, 2);
    assert.deepEqual(cat.ids, ['J095120.01+021004.9', 'J100000.00+020000.0']);
    assert.equal(cat.counts.length, 2 * schema.nAnswers);
    assert.deepEqual([...cat.countsOf(0)], schema.answerColumns.map((c) => SPIRAL[c]));
    // Empty count cells (questions nobody reached) are 0 votes.
    const smooth = cat.countsOf(1);
    assert.equal(smooth[schema.answerColumns.indexOf('smooth-or-featured_smooth')], 5);
    assert.equal(smooth[schema.answerColumns.indexOf('bar_weak')], 0);
    // Vote columns are not held twice: only the other columns stay in the table.
    assert.deepEqual(cat.table.columns, ['iauname', 'ra', 'dec']);
    assert.deepEqual(cat.table.rows[0], { iauname: 'J095120.01+021004.9', ra: 150.1, dec: 2.2 });
    assert.equal(cat.indexOf('J100000.00+020000.0'), 1);
    assert.equal(cat.indexOf('nope'), -1);
    assert.deepEqual(cat.missingColumns, []);
  });

  it('reads a Parquet catalogue with a default id column and resolves image paths', async () => {
    const p = join(dir, 'sub', 'votes.parquet');
    const cols = ['id', 'file', ...schema.answerColumns];
    const rows = [
      { id: 'a', file: 'img/a.png', ...SPIRAL },
      { id: 'b', file: '/abs/b.png', ...Object.fromEntries(schema.answerColumns.map((c) => [c, SMOOTH[c] === '' ? null : SMOOTH[c]])) },
    ];
    await writeTable(p, { columns: cols, rows: rows as never });
    const cat = await readVoteCatalog(p, { schema, imageColumn: 'file' });
    assert.deepEqual(cat.ids, ['a', 'b']);
    assert.deepEqual(cat.images, [join(dir, 'sub', 'img/a.png'), '/abs/b.png']);
    assert.equal(cat.countsOf(0)[1], 6);
  });

  it('keeps ids exactly as written (leading zeros, numeric-looking)', async () => {
    const cols = ['id', ...schema.answerColumns];
    const p = await writeCsv('ids.csv', [{ id: '007', ...SPIRAL }, { id: '7', ...SPIRAL }], cols);
    const cat = await readVoteCatalog(p, { schema });
    assert.deepEqual(cat.ids, ['007', '7']);
  });

  it('accepts a catalogue without votes when requireVotes is false', async () => {
    const p = await writeCsv('novotes.csv', [{ id: 'x', ra: 1 }], ['id', 'ra']);
    const cat = await readVoteCatalog(p, { schema, requireVotes: false });
    assert.equal(cat.missingColumns.length, schema.nAnswers);
    assert.ok(cat.counts.every((v) => v === 0));
  });

  it('names missing count columns and the expected layout', async () => {
    const cols = decalsColumns().filter((c) => c !== 'bar_weak' && c !== 'merging_merger');
    const p = await writeCsv('missing.csv', [decalsRow('J1', SPIRAL)], cols);
    await rejectsWith(readVoteCatalog(p, opts), /missing\.csv: missing 2 of 34 vote count columns/, /bar_weak, merging_merger/, /<question>_<answer> count columns as in the GZ DECaLS release/, /fractions cannot stand in/);
  });

  it('names a missing id column and suggests idColumn', async () => {
    const p = await writeCsv('noid.csv', [decalsRow('J1', SPIRAL)]);
    await rejectsWith(readVoteCatalog(p, { schema }), /noid\.csv: missing id column "id"/, /idColumn, e\.g\. 'iauname'/);
  });

  const bad: [string, string, number | string, RegExp][] = [
    ['non-numeric', 'bar_no', 'lots', /"lots" is not a number/],
    ['NaN', 'bar_no', 'nan', /NaN is not a vote count/],
    ['negative', 'bar_no', -1, /-1 is negative/],
    ['non-integer', 'bar_no', 1.5, /1\.5 is not a whole number/],
  ];
  for (const [what, col, value, re] of bad) {
    it(`rejects a ${what} count naming file, row, id and column`, async () => {
      const row = decalsRow('J2', { ...SPIRAL, [col]: value });
      const p = await writeCsv(`bad-${what}.csv`, [decalsRow('J1', SPIRAL), row]);
      await rejectsWith(readVoteCatalog(p, { ...opts, crossCheck: false }), new RegExp(`bad-${what}\\.csv: row 2 \\(iauname J2\\), column "${col}": `), re);
    });
  }

  it('rejects duplicate ids naming both rows', async () => {
    const p = await writeCsv('dup.csv', [decalsRow('J1', SPIRAL), decalsRow('J2', SPIRAL), decalsRow('J1', SMOOTH)]);
    await rejectsWith(readVoteCatalog(p, opts), /dup\.csv: row 3 \(iauname J1\), column "iauname": duplicate id, also in row 1/);
  });

  it('rejects an empty id', async () => {
    const p = await writeCsv('emptyid.csv', [decalsRow('', SPIRAL)]);
    await rejectsWith(readVoteCatalog(p, opts), /emptyid\.csv: row 1, column "iauname": empty id/);
  });

  it('rejects a child question with more votes than its parent answer', async () => {
    const p = await writeCsv('tree.csv', [decalsRow('J1', { ...SPIRAL, 'bar_no': 5 })]);
    await rejectsWith(readVoteCatalog(p, opts), /tree\.csv: row 1 \(iauname J1\): bar has 7 votes but only 4 volunteers answered disk-edge-on_no/);
  });

  it('cross-checks totals and fractions, and can skip that', async () => {
    const row = decalsRow('J1', SPIRAL);
    row['bar_total-votes'] = 9;
    const p = await writeCsv('total.csv', [row]);
    await rejectsWith(readVoteCatalog(p, opts), /total\.csv: row 1 \(iauname J1\), column "bar_total-votes": total 9 does not equal the sum of the bar counts \(4\)/, /crossCheck: false/);
    assert.equal((await readVoteCatalog(p, { ...opts, crossCheck: false })).nRows, 1);
    const row2 = decalsRow('J1', SPIRAL);
    row2['bar_weak_fraction'] = 0.9;
    const p2 = await writeCsv('fraction.csv', [row2]);
    await rejectsWith(readVoteCatalog(p2, opts), /column "bar_weak_fraction": fraction 0\.9 does not match count\/total = 1\/4/);
  });

  it('rejects empty and header-only files', async () => {
    const empty = join(dir, 'empty.csv');
    await writeFile(empty, '');
    await rejectsWith(readVoteCatalog(empty, opts), /empty\.csv: empty file/);
    const header = await writeCsv('header.csv', []);
    await rejectsWith(readVoteCatalog(header, opts), /header\.csv: no data rows/);
  });

  it('rejects an empty image path', async () => {
    const cols = ['id', 'file', ...schema.answerColumns];
    const p = await writeCsv('noimg.csv', [{ id: 'a', file: '', ...SPIRAL }], cols);
    await rejectsWith(readVoteCatalog(p, { schema, imageColumn: 'file' }), /noimg\.csv: row 1 \(id a\), column "file": empty image path/);
  });

  it('agrees with readTable on a streamed catalogue of many rows', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => decalsRow(`J${i}`, i % 2 ? SPIRAL : SMOOTH));
    const p = await writeCsv('many.csv', rows);
    const cat = await readVoteCatalog(p, opts);
    assert.equal(cat.nRows, 3000);
    const t = await readTable(p);
    const col = schema.answerColumns.indexOf('merging_none');
    assert.equal(cat.countsOf(2999)[col], t.rows[2999]['merging_none']);
  });
});
