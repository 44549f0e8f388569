import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImageDecodeError, OptionError } from '../errors.js';
import { readFits, readFitsFile, writeFits } from './fits.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galmorph-fits-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// An independent, hand-rolled FITS builder, so the reader is not only checked against our writer.
type CardValue = string | number | boolean;
function headerBlock(cards: [string, CardValue][]): Buffer {
  const text = cards
    .map(([k, v]) => {
      const val = typeof v === 'boolean' ? (v ? 'T' : 'F').padStart(20) : typeof v === 'number' ? String(v).padStart(20) : `'${v.padEnd(8)}'`;
      return `${k.padEnd(8)}= ${val} / test card`.padEnd(80).slice(0, 80);
    })
    .join('') + 'END'.padEnd(80);
  const out = Buffer.alloc(Math.ceil(text.length / 2880) * 2880, 0x20);
  out.write(text, 'latin1');
  return out;
}
function padData(data: Buffer): Buffer {
  const out = Buffer.alloc(Math.ceil(data.length / 2880) * 2880);
  data.copy(out);
  return out;
}
/** Big-endian pixel bytes, stored bottom row first (FITS order), from a top-row-first array. */
function pixels(values: number[], width: number, bitpix: number): Buffer {
  const bytes = Math.abs(bitpix) / 8;
  const height = values.length / width;
  const buf = Buffer.alloc(values.length * bytes);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = values[(height - 1 - y) * width + x];
      const o = (y * width + x) * bytes;
      if (bitpix === 8) buf.writeUInt8(v, o);
      else if (bitpix === 16) buf.writeInt16BE(v, o);
      else if (bitpix === 32) buf.writeInt32BE(v, o);
      else if (bitpix === -32) buf.writeFloatBE(v, o);
      else buf.writeDoubleBE(v, o);
    }
  }
  return buf;
}
function imageHdu(primary: boolean, bitpix: number, w: number, h: number, values: number[], extra: [string, CardValue][] = []): Buffer {
  const first: [string, CardValue][] = primary ? [['SIMPLE', true]] : [['XTENSION', 'IMAGE']];
  const cards: [string, CardValue][] = [...first, ['BITPIX', bitpix], ['NAXIS', 2], ['NAXIS1', w], ['NAXIS2', h]];
  if (!primary) cards.push(['PCOUNT', 0], ['GCOUNT', 1]);
  return Buffer.concat([headerBlock([...cards, ...extra]), padData(pixels(values, w, bitpix))]);
}
const emptyPrimary = () => headerBlock([['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0], ['EXTEND', true]]);

describe('writeFits / readFits', () => {
  it('round-trips a BITPIX -32 image and its header', async () => {
    const p = join(dir, 'one.fits');
    const plane = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1);
    plane[5] = NaN;
    await writeFits(p, [plane], 4, 3, { OBJECT: "O'Brien's galaxy", PIXSCALE: 0.262, EXPTIME: 90, SKYSUB: true, tiny: 1e-7 });
    const buf = await readFile(p);
    assert.equal(buf.length % 2880, 0);
    const img = await readFitsFile(p);
    assert.equal(img.width, 4);
    assert.equal(img.height, 3);
    assert.equal(img.data.length, 1);
    assert.deepEqual([...img.data[0]], [...plane]);
    assert.equal(img.header.BITPIX, -32);
    assert.equal(img.header.NAXIS, 2);
    assert.equal(img.header.OBJECT, "O'Brien's galaxy");
    assert.equal(img.header.PIXSCALE, 0.262);
    assert.equal(img.header.EXPTIME, 90);
    assert.equal(img.header.SKYSUB, true);
    assert.equal(img.header.TINY, 1e-7);
  });

  it('writes cubes with NAXIS3 = planes, stored bottom row first, and names bands from BANDS', async () => {
    const p = join(dir, 'cube.fits');
    const planes = [0, 1, 2].map((b) => Float32Array.from({ length: 6 }, (_, i) => b * 100 + i));
    await writeFits(p, planes, 3, 2, { BANDS: 'g,r,z' });
    const buf = await readFile(p);
    assert.match(buf.subarray(0, 2880).toString('latin1'), /NAXIS3  =                    3/);
    // First stored value = bottom-left pixel = top-first index 3 of plane 0.
    assert.equal(buf.readFloatBE(2880), 3);
    const img = readFits(buf, p);
    assert.equal(img.data.length, 3);
    assert.deepEqual(img.bands, ['g', 'r', 'z']);
    planes.forEach((pl, b) => assert.deepEqual([...img.data[b]], [...pl]));
  });

  it('rejects bad writer input with OptionError', async () => {
    await assert.rejects(writeFits(join(dir, 'x.fits'), [new Float32Array(5)], 2, 3), OptionError);
    await assert.rejects(writeFits(join(dir, 'x.fits'), [new Float32Array(6)], 2, 3, { NAXIS: 4 }), /set by writeFits itself/);
    await assert.rejects(writeFits(join(dir, 'x.fits'), [new Float32Array(6)], 2, 3, { 'TOO LONG KEY': 1 }), OptionError);
    await assert.rejects(writeFits(join(dir, 'x.fits'), [new Float32Array(6)], 2, 3, { BAD: NaN }), OptionError);
  });
});

describe('readFits on hand-built files', () => {
  it('applies BSCALE/BZERO to 16-bit data (unsigned convention) and maps BLANK to NaN', () => {
    const raw = [-32768, -1, 0, 1, 32767, -999];
    const buf = imageHdu(true, 16, 3, 2, raw, [['BSCALE', 1], ['BZERO', 32768], ['BLANK', -999]]);
    const img = readFits(buf, 'u16.fits');
    assert.deepEqual([...img.data[0]], [0, 32767, 32768, 32769, 65535, NaN]);
    const scaled = readFits(imageHdu(true, 16, 2, 1, [10, -4], [['BSCALE', 0.5], ['BZERO', 100]]));
    assert.deepEqual([...scaled.data[0]], [105, 98]);
  });

  it('reads 8-bit, 32-bit and -64 data', () => {
    assert.deepEqual([...readFits(imageHdu(true, 8, 2, 2, [0, 7, 128, 255])).data[0]], [0, 7, 128, 255]);
    assert.deepEqual([...readFits(imageHdu(true, 32, 2, 1, [-100000, 2000000])).data[0]], [-100000, 2000000]);
    const d = readFits(imageHdu(true, -64, 2, 2, [1.25, -3.5, 1e-3, 12345.678]));
    assert.deepEqual([...d.data[0]], [1.25, -3.5, Math.fround(1e-3), Math.fround(12345.678)]);
  });

  it('reads several IMAGE extensions as bands, skipping masks, tables and other sizes', () => {
    const bintable = Buffer.concat([
      headerBlock([['XTENSION', 'BINTABLE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 4], ['NAXIS2', 2], ['PCOUNT', 0], ['GCOUNT', 1], ['TFIELDS', 1]]),
      padData(Buffer.alloc(8)),
    ]);
    const buf = Buffer.concat([
      emptyPrimary(),
      imageHdu(false, -32, 2, 2, [1, 2, 3, 4], [['EXTNAME', 'g']]),
      imageHdu(false, 16, 2, 2, [1, 1, 0, 0], [['EXTNAME', 'MASK']]),
      bintable,
      imageHdu(false, -32, 3, 1, [9, 9, 9], [['EXTNAME', 'thumb']]),
      imageHdu(false, -32, 2, 2, [5, 6, 7, 8], [['EXTNAME', 'r'], ['BUNIT', 'nanomaggy']]),
    ]);
    const img = readFits(buf, 'mef.fits');
    assert.deepEqual(img.bands, ['g', 'r']);
    assert.deepEqual([...img.data[1]], [5, 6, 7, 8]);
    assert.equal(img.header.EXTEND, true); // from the primary header
    assert.equal(img.header.EXTNAME, 'g'); // overlaid by the first band's HDU
  });

  it('reads gzip-compressed FITS', async () => {
    const p = join(dir, 'g.fits.gz');
    await writeFile(p, gzipSync(imageHdu(true, -32, 2, 1, [1, 2])));
    assert.deepEqual([...(await readFitsFile(p)).data[0]], [1, 2]);
  });

  const failures: [string, () => Uint8Array, RegExp][] = [
    ['truncated data', () => imageHdu(true, -32, 40, 40, new Array(1600).fill(1)).subarray(0, 2880 + 1000), /t\.fits: truncated FITS file: HDU 0 needs 9280 bytes, the file has 3880/],
    ['a header without END', () => headerBlock([['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0]]).subarray(0, 240), /t\.fits \(HDU 0\): truncated FITS header/],
    ['non-FITS bytes', () => Buffer.from('\x89PNG\r\n\x1a\n' + 'x'.repeat(200)), /t\.fits: not a FITS file/],
    ['an empty file', () => new Uint8Array(0), /t\.fits: not a FITS file/],
    ['BITPIX 24', () => headerBlock([['SIMPLE', true], ['BITPIX', 24], ['NAXIS', 0]]), /unsupported BITPIX 24/],
    ['only a table', () => Buffer.concat([emptyPrimary(), headerBlock([['XTENSION', 'BINTABLE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 1], ['NAXIS2', 1], ['PCOUNT', 0], ['GCOUNT', 1]]), padData(Buffer.alloc(1))]), /no 2-D image data/],
    ['a tile-compressed image', () => Buffer.concat([emptyPrimary(), headerBlock([['XTENSION', 'BINTABLE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 8], ['NAXIS2', 1], ['PCOUNT', 0], ['GCOUNT', 1], ['ZIMAGE', true]]), padData(Buffer.alloc(8))]), /tile-compressed .* not supported; decompress it first/],
    ['a corrupt NAXIS', () => headerBlock([['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 'two']]), /corrupt FITS header: NAXIS = two/],
  ];
  for (const [what, make, re] of failures) {
    it(`rejects ${what} with ImageDecodeError naming the file`, () => {
      assert.throws(() => readFits(make(), 't.fits'), (e: Error) => e instanceof ImageDecodeError && re.test(e.message));
    });
  }

  it('reports a missing file', async () => {
    await assert.rejects(readFitsFile(join(dir, 'none.fits')), /cannot read FITS file .*none\.fits: ENOENT/);
  });
});
