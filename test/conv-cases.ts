/** Shared by the conv and depthwise-conv gradient tests: case shapes, values, TF padding, errors. */
import assert from 'node:assert/strict';

export type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

export interface ConvCase {
  x: [number, number, number, number];
  /** [KH, KW, C_in, C_out] for conv; [KH, KW, C, M] for depthwise. */
  f: [number, number, number, number];
  stride: number;
  pad: Pad;
}

export const caseLabel = (c: ConvCase) => `x${c.x.join('×')} f${c.f.join('×')} s${c.stride} ${JSON.stringify(c.pad)}`;

/** Deterministic values in [-1, 1). */
export function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Per-side padding and output size, as TensorFlow defines them. */
export function geometry(c: ConvCase) {
  const [, h, w] = c.x;
  const [kh, kw] = c.f;
  const s = c.stride;
  if (Array.isArray(c.pad)) {
    const [, [t, b], [l, r]] = c.pad;
    return { t, l, oh: Math.floor((h + t + b - kh) / s) + 1, ow: Math.floor((w + l + r - kw) / s) + 1 };
  }
  if (c.pad === 'valid') {
    return { t: 0, l: 0, oh: Math.floor((h - kh) / s) + 1, ow: Math.floor((w - kw) / s) + 1 };
  }
  const oh = Math.ceil(h / s);
  const ow = Math.ceil(w / s);
  const ph = Math.max(0, (oh - 1) * s + kh - h);
  const pw = Math.max(0, (ow - 1) * s + kw - w);
  return { t: Math.floor(ph / 2), l: Math.floor(pw / 2), oh, ow };
}

/** max |a − b| / max |b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
