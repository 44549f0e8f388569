import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageDecodeError, OptionError } from '../errors.js';
import { writeFits } from './fits.js';
import { asinhStretch, readImage, resizePlane, writePng } from './image.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galmorph-image-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 4×2 RGB test card: top row red, green, blue, white; bottom row black, grey, (10,20,30), yellow. */
const CARD = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128, 10, 20, 30, 255, 255, 0]);

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('readImage: PNG/JPEG', () => {
  it('reads a PNG written by writePng as HWC float32 value/255', async () => {
    const p = join(dir, 'card.png');
    await writePng(p, CARD, 4, 2);
    const t = await readImage(p);
    assert.deepEqual([t.height, t.width, t.channels], [2, 4, 3]);
    assert.deepEqual([...t.data].map((v) => Math.round(v * 255)), [...CARD]);
  });

  it('converts to greyscale (band mean, as Zoobot does) and resizes', async () => {
    const p = join(dir, 'card.png');
    await writePng(p, CARD, 4, 2);
    const g = await readImage(p, { channels: 1 });
    assert.equal(g.channels, 1);
    close(g.data[0], 1 / 3, 0.01); // pure red
    close(g.data[3], 1, 0.01); // white
    const big = join(dir, 'flat.png');
    await writePng(big, new Uint8Array(32 * 24 * 3).fill(51), 32, 24);
    const r = await readImage(big, { size: 8 });
    assert.deepEqual([r.height, r.width, r.channels], [8, 8, 3]);
    for (const v of r.data) close(v, 0.2, 0.005);
  });

  it('reads greyscale PNG as 1 channel and replicates it to 3 on request', async () => {
    const p = join(dir, 'grey.png');
    await writePng(p, Uint8Array.from([0, 64, 128, 255]), 2, 2, 1);
    const g = await readImage(p);
    assert.equal(g.channels, 1);
    assert.deepEqual([...g.data].map((v) => Math.round(v * 255)), [0, 64, 128, 255]);
    const c = await readImage(p, { channels: 3 });
    assert.equal(c.channels, 3);
    assert.deepEqual([...c.data.subarray(3, 6)].map((v) => Math.round(v * 255)), [64, 64, 64]);
  });

  it('flattens RGBA onto black', async () => {
    const p = join(dir, 'rgba.png');
    await sharp(Buffer.from([255, 255, 255, 255, 255, 255, 255, 0]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(p);
    const t = await readImage(p);
    assert.equal(t.channels, 3);
    assert.deepEqual([...t.data].map((v) => Math.round(v * 255)), [255, 255, 255, 0, 0, 0]);
  });

  it('reads 16-bit PNG on the same [0, 1] scale', async () => {
    const p = join(dir, 'deep.png');
    const px = new Uint16Array([0, 65535, 32768, 16384]);
    await sharp(px, { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('grey16').png().toFile(p);
    const t = await readImage(p);
    assert.equal(t.channels, 1);
    assert.deepEqual([...t.data].map((v) => Math.round(v * 100)), [0, 100, 50, 25]);
  });

  it('reads a JPEG, with resize and greyscale', async () => {
    const p = join(dir, 'galaxy.jpg');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 100, b: 50 } } }).jpeg({ quality: 95 }).toFile(p);
    const t = await readImage(p, { size: 16 });
    assert.deepEqual([t.height, t.width, t.channels], [16, 16, 3]);
    close(t.data[0], 200 / 255, 0.03);
    close(t.data[2], 50 / 255, 0.03);
    const g = await readImage(p, { size: 16, channels: 1 });
    assert.equal(g.data.length, 256);
    close(g.data[100], (200 + 100 + 50) / 3 / 255, 0.03);
  });

  it('names the file for corrupt, truncated and missing images', async () => {
    const garbage = join(dir, 'garbage.jpg');
    await writeFile(garbage, 'definitely not a jpeg');
    await assert.rejects(readImage(garbage), (e: Error) => e instanceof ImageDecodeError && /cannot decode image .*garbage\.jpg/.test(e.message));
    const good = join(dir, 'whole.png');
    await writePng(good, new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 256), 64, 64);
    const cut = join(dir, 'cut.png');
    const bytes = await readFile(good);
    await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(readImage(cut), (e: Error) => e instanceof ImageDecodeError && /cut\.png/.test(e.message));
    await assert.rejects(readImage(join(dir, 'missing.png')), /cannot read image .*missing\.png: ENOENT/);
  });

  it('rejects invalid options', async () => {
    await assert.rejects(readImage(join(dir, 'x.png'), { size: 0 }), OptionError);
    await assert.rejects(readImage(join(dir, 'x.png'), { channels: 2 as 1 }), OptionError);
    await assert.rejects(writePng(join(dir, 'x.png'), new Uint8Array(5), 2, 2), /got 5 bytes, expected 2×2×3 = 12/);
  });
});

describe('readImage: FITS', () => {
  it('stretches each band to [0, 1], turns NaN/inf into 0 and keeps the top row on top', async () => {
    const p = join(dir, 'cube.fits');
    const w = 16, h = 16;
    const planes = [1, 3, 10].map((gain) =>
      Float32Array.from({ length: w * h }, (_, i) => {
        const x = (i % w) - 7.5, y = Math.floor(i / w) - 7.5;
        return 0.01 * ((i * 7919) % 13) + gain * Math.exp(-(x * x + y * y) / 8) + (i < w ? 50 * gain : 0);
      }),
    );
    planes[0][40] = NaN;
    planes[1][41] = Infinity;
    planes[2][42] = -Infinity;
    await writeFits(p, planes, w, h);
    const t = await readImage(p);
    assert.deepEqual([t.height, t.width, t.channels], [16, 16, 3]);
    for (const v of t.data) assert.ok(v >= 0 && v <= 1 && Number.isFinite(v));
    assert.equal(t.data[40 * 3], 0);
    assert.equal(t.data[41 * 3 + 1], 0);
    // Top row (the bright strip) is brightest in every band, as written.
    for (let b = 0; b < 3; b++) assert.ok(t.data[b] > 0.99);
    // Bands are scaled separately: the galaxy centre reaches a similar level in each.
    const centre = (8 * w + 8) * 3;
    close(t.data[centre], t.data[centre + 2], 0.1);
    const g = await readImage(p, { size: 8, channels: 1 });
    assert.deepEqual([g.height, g.width, g.channels], [8, 8, 1]);
  });

  it('replicates one band to 3 channels and refuses impossible channel counts', async () => {
    const one = join(dir, 'one.fits');
    await writeFits(one, [Float32Array.from({ length: 16 }, (_, i) => i)], 4, 4);
    const t = await readImage(one, { channels: 3 });
    assert.equal(t.channels, 3);
    assert.equal(t.data[45], t.data[46]);
    const five = join(dir, 'five.fits');
    await writeFits(five, Array.from({ length: 5 }, () => new Float32Array(16)), 4, 4);
    assert.equal((await readImage(five)).channels, 5);
    await assert.rejects(readImage(five, { channels: 3 }), /five\.fits: has 5 bands; cannot make 3 channels/);
  });

  it('gives zeros for an all-NaN or flat band instead of crashing', async () => {
    const p = join(dir, 'nan.fits');
    await writeFits(p, [new Float32Array(9).fill(NaN), new Float32Array(9).fill(4)], 3, 3);
    const t = await readImage(p);
    assert.ok(t.data.every((v) => v === 0));
  });

  it('detects FITS by content whatever the extension, and reports corrupt FITS', async () => {
    const p = join(dir, 'cutout.dat');
    await writeFits(join(dir, 'tmp.fits'), [Float32Array.from({ length: 4 }, (_, i) => i)], 2, 2);
    await writeFile(p, await readFile(join(dir, 'tmp.fits')));
    assert.equal((await readImage(p)).channels, 1);
    const bad = join(dir, 'bad.fits');
    await writeFile(bad, 'SIMPLE  =                    T');
    await assert.rejects(readImage(bad), (e: Error) => e instanceof ImageDecodeError && /bad\.fits/.test(e.message));
  });
});

describe('resizePlane and asinhStretch', () => {
  it('area-averages when shrinking and interpolates when enlarging', () => {
    const p = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    assert.deepEqual([...resizePlane(p, 4, 4, 2, 2)], [3.5, 5.5, 11.5, 13.5]);
    assert.deepEqual([...resizePlane(p, 4, 4, 1, 1)], [8.5]);
    const third = resizePlane(Float32Array.from([0, 3, 6]), 3, 1, 2, 1);
    assert.deepEqual([...third].map((v) => +v.toFixed(5)), [1, 5]); // 1.5-pixel boxes
    const up = resizePlane(Float32Array.from([0, 1]), 2, 1, 4, 1);
    assert.deepEqual([...up], [0, 0.25, 0.75, 1]);
  });

  it('maps lo → 0 and hi → 1 monotonically', () => {
    const p = Float32Array.from({ length: 1000 }, (_, i) => i);
    const s = asinhStretch(p, { lowPercentile: 0, highPercentile: 100 });
    assert.equal(s[0], 0);
    close(s[999], 1, 1e-6);
    for (let i = 1; i < 1000; i++) assert.ok(s[i] >= s[i - 1]);
    assert.ok(s[100] > 0.2, 'faint light is lifted well above a linear scale (0.1)');
  });
});
