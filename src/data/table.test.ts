import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CatalogError } from '../errors.js';
import { iterateTable, openTable, readTable, writeTable, type Table } from './table.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galmorph-table-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sample: Table = {
  columns: ['id', 'n', 'x', 'flag', 'text', 'empty'],
  rows: [
    { id: '007', n: 3, x: 0.25, flag: true, text: 'a, "quoted"\nline', empty: null },
    { id: 'J000001.00+000000.0', n: -12, x: NaN, flag: false, text: '', empty: null },
    { id: '1e5', n: null, x: Infinity, flag: null, text: 'true', empty: null },
    { id: ' padded ', n: 9007199254740991, x: -1.5e-7, flag: true, text: 'plain', empty: null },
  ],
};

describe('CSV tables', () => {
  it('round-trips types, nulls, non-finite numbers and strings that look like other types', async () => {
    const p = join(dir, 'round.csv');
    await writeTable(p, sample);
    const t = await readTable(p);
    assert.deepEqual(t.columns, sample.columns);
    assert.deepEqual(t.rows, sample.rows);
  });

  it('types unquoted cells: numbers, nan/inf spellings, booleans, empty → null, big integers stay text', async () => {
    const p = join(dir, 'typed.csv');
    await writeFile(p, '\ufeffa,b,c,d,e\n1,2.5e3,nan,True,\n.5,-inf,12345678901234567890,x y,"3"\n');
    const t = await readTable(p);
    assert.deepEqual(t.rows[0], { a: 1, b: 2500, c: NaN, d: true, e: null });
    assert.deepEqual(t.rows[1], { a: 0.5, b: -Infinity, c: '12345678901234567890', d: 'x y', e: '3' });
  });

  it('keeps rawColumns exactly as written', async () => {
    const p = join(dir, 'raw.csv');
    await writeFile(p, 'id,v\n0012,0012\n,1\n');
    const t = await readTable(p, { rawColumns: ['id'] });
    assert.deepEqual(t.rows, [{ id: '0012', v: 12 }, { id: null, v: 1 }]);
  });

  it('reads a header-only file as an empty table and rejects an empty file', async () => {
    const p = join(dir, 'header.csv');
    await writeFile(p, 'a,b\n');
    assert.deepEqual(await readTable(p), { columns: ['a', 'b'], rows: [] });
    const e = join(dir, 'empty.csv');
    await writeFile(e, '');
    await assert.rejects(readTable(e), (err: Error) => err instanceof CatalogError && /empty\.csv: empty file/.test(err.message));
  });

  it('reports malformed CSV with the file and line', async () => {
    const p = join(dir, 'ragged.csv');
    await writeFile(p, 'a,b\n1,2\n3,4,5\n');
    await assert.rejects(readTable(p), (err: Error) => err instanceof CatalogError && /ragged\.csv: malformed CSV \(line 3\)/.test(err.message));
  });

  it('rejects duplicate and empty header names', async () => {
    const p = join(dir, 'dup.csv');
    await writeFile(p, 'a,b,a\n1,2,3\n');
    await assert.rejects(readTable(p), /dup\.csv: header repeats column "a" \(columns 1 and 3\)/);
  });

  it('streams rows lazily', async () => {
    const p = join(dir, 'big.csv');
    const lines = ['i,sq'];
    for (let i = 0; i < 5000; i++) lines.push(`${i},${i * i}`);
    await writeFile(p, lines.join('\n') + '\n');
    let n = 0;
    for await (const row of iterateTable(p)) {
      assert.equal(row.sq, n * n);
      n++;
      if (n === 10) break; // leaving early must not hang or leak
    }
    assert.equal(n, 10);
    const { columns } = await openTable(p);
    assert.deepEqual(columns, ['i', 'sq']);
  });
});

describe('Parquet tables', () => {
  it('round-trips inferred types (int64, double, string, bool) and nulls', async () => {
    const p = join(dir, 'round.parquet');
    const t: Table = {
      columns: ['id', 'n', 'x', 'flag', 'none', 'mixed'],
      rows: [
        { id: 'a', n: 1, x: 0.5, flag: true, none: null, mixed: 1 },
        { id: null, n: null, x: NaN, flag: null, none: null, mixed: 'b' },
        { id: 'c', n: 2 ** 40, x: 3, flag: false, none: null, mixed: null },
      ],
    };
    await writeTable(p, t);
    const back = await readTable(p);
    assert.deepEqual(back.columns, t.columns);
    assert.deepEqual(back.rows, [
      { id: 'a', n: 1, x: 0.5, flag: true, none: null, mixed: '1' },
      { id: null, n: null, x: NaN, flag: null, none: null, mixed: 'b' },
      { id: 'c', n: 2 ** 40, x: 3, flag: false, none: null, mixed: null },
    ]);
  });

  it('streams a multi-row-group file in order', async () => {
    const p = join(dir, 'groups.parquet');
    const rows = Array.from({ length: 70000 }, (_, i) => ({ i, half: i / 2 }));
    await writeTable(p, { columns: ['i', 'half'], rows });
    let n = 0;
    for await (const row of iterateTable(p)) {
      assert.equal(row.i, n);
      n++;
    }
    assert.equal(n, 70000);
  });

  it('writes atomically (no temp file left) and rejects a non-Parquet file', async () => {
    const p = join(dir, 'bad.parquet');
    await writeFile(p, 'not parquet at all');
    await assert.rejects(readTable(p), (err: Error) => err instanceof CatalogError && /bad\.parquet: not a readable Parquet file/.test(err.message));
    const files = await import('node:fs/promises').then((fs) => fs.readdir(dir));
    assert.ok(!files.some((f) => f.endsWith('.tmp')));
  });
});

describe('table formats', () => {
  it('rejects unsupported extensions naming the file and the supported ones', async () => {
    await assert.rejects(readTable(join(dir, 'x.fits')), /x\.fits: unsupported table extension "\.fits"; supported: \.csv, \.parquet/);
    await assert.rejects(writeTable(join(dir, 'x.txt'), sample), CatalogError);
  });

  it('reports a missing file', async () => {
    await assert.rejects(readTable(join(dir, 'nope.csv')), /nope\.csv: file not found/);
    await assert.rejects(readTable(join(dir, 'nope.parquet')), /nope\.parquet: file not found/);
  });

  it('writes CSV that pandas-style readers understand', async () => {
    const p = join(dir, 'plain.csv');
    await writeTable(p, { columns: ['a', 'b'], rows: [{ a: 1, b: NaN }, { a: null, b: 'x' }] });
    assert.equal(await readFile(p, 'utf8'), 'a,b\n1,nan\n,x\n');
  });
});

describe('column selection', () => {
  for (const ext of ['csv', 'parquet']) {
    it(`reads only the requested columns, in the requested order (${ext})`, async () => {
      const p = join(dir, `select.${ext}`);
      await writeTable(p, sample);
      const t = await readTable(p, { columns: ['text', 'id'], rawColumns: ['id'] });
      assert.deepEqual(t.columns, ['text', 'id']);
      assert.deepEqual(t.rows[0], { text: 'a, "quoted"\nline', id: '007' });
      await assert.rejects(readTable(p, { columns: ['id', 'nope'] }), (e: unknown) => e instanceof CatalogError && /no column "nope"/.test((e as Error).message));
    });
  }
});
