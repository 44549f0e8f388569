import { initEngine, tf } from './index.js';
import * as ops from './wasm_ops.js';
await initEngine({ backend: 'wasm' });
const be = tf.backend() as any;
function t(name: string, fn: () => ops.Info | void, n = 5) {
  let r = fn(); if (r) ops.release(be, r);
  let best = Infinity;
  for (let i = 0; i < n; i++) { const c0 = process.cpuUsage(); r = fn(); if (r) ops.release(be, r); const c = process.cpuUsage(c0); best = Math.min(best, (c.user + c.system) / 1000); }
  console.log(name.padEnd(50), best.toFixed(1), 'ms cpu');
  return best;
}
const info = (x: tf.Tensor) => ({ dataId: x.dataId, shape: x.shape, dtype: 'float32' } as ops.Info);

function chunked(xT: ops.Info, dyT: ops.Info, KH: number, s: number, pt: number, R: number) {
  const [C, H, W, B] = xT.shape; const [OH, OW, , CO] = dyT.shape;
  const acc = new Float32Array(C * KH * KH * CO);
  for (let o0 = 0; o0 < OH; o0 += R) {
    const o1 = Math.min(OH, o0 + R);
    const lo = o0 * s - pt, hi = (o1 - 1) * s - pt + KH - 1; // inclusive
    const r0 = Math.max(0, lo), r1 = Math.min(H - 1, hi);
    const rows = r1 - r0 + 1;
    const chunk = be.makeOutput([C, rows, W, B], 'float32');
    const dyc = be.makeOutput([o1 - o0, OW, B, CO], 'float32');
    {
      const src = be.typedArrayFromHeap(xT) as Float32Array; const dst = be.typedArrayFromHeap(chunk) as Float32Array;
      const plane = H * W * B, run = rows * W * B;
      for (let c = 0; c < C; c++) dst.set(src.subarray(c * plane + r0 * W * B, c * plane + r0 * W * B + run), c * run);
      const dsrc = be.typedArrayFromHeap(dyT) as Float32Array; const ddst = be.typedArrayFromHeap(dyc) as Float32Array;
      ddst.set(dsrc.subarray(o0 * OW * B * CO, o1 * OW * B * CO));
    }
    const padTop = r0 - lo, padBottom = hi - r1;
    const g = ops.conv2d(be, chunk, dyc, [1, 1], [s, s], { top: padTop, bottom: padBottom, left: pt, right: Math.max(0, KH - 1 + (OW - 1) * s + 1 - W - pt) });
    const gv = be.typedArrayFromHeap(g) as Float32Array;
    for (let i = 0; i < acc.length; i++) acc[i] += gv[i];
    ops.release(be, g, chunk, dyc);
  }
  const out = be.makeOutput([C, KH, KH, CO], 'float32');
  (be.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

for (const [B, H, C, CO, S] of [[32, 64, 32, 32, 1], [32, 32, 64, 64, 1], [32, 16, 128, 128, 1], [32, 64, 32, 64, 2], [32,32,64,128,2]]) {
  console.log(`--- ${H}²×${C}->${CO} s${S}`);
  const OH = H / S; const pt = S === 1 ? 1 : 0;
  const x = tf.randomNormal([B, H, H, C]); const dy = tf.randomNormal([B, OH, OH, CO]);
  const xT = ops.swapBatchChannels(be, info(x)); const dyT = ops.transpose(be, info(dy), [1, 2, 0, 3]);
  const flop = 2 * B * OH * OH * 9 * C * CO / 1e9;
  const pb = Math.max(0, 3 - 1 + (OH - 1) * S + 1 - H - pt);
  const base = t('whole swapped conv', () => ops.conv2d(be, xT, dyT, [1, 1], [S, S], { top: pt, left: pt, bottom: pb, right: pb }));
  const ref = ops.conv2d(be, xT, dyT, [1, 1], [S, S], { top: pt, left: pt, bottom: pb, right: pb });
  for (const R of [1, 2, 4, 8]) {
    if (R > OH) continue;
    const ms = t(`chunked R=${R}`, () => chunked(xT, dyT, 3, S, pt, R));
    const o = chunked(xT, dyT, 3, S, pt, R); const a = be.typedArrayFromHeap(o), b = be.typedArrayFromHeap(ref);
    let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); ops.release(be, o);
    console.log('   err', m.toExponential(1), 'GFLOP/s', (flop / ms * 1000).toFixed(1), 'vs', (flop / base * 1000).toFixed(1));
  }
  ops.release(be, xT, dyT, ref); tf.dispose([x, dy]);
}
