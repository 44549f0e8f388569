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
for (const [B, H, C, CO, S] of [[32, 64, 32, 32, 1], [32, 64, 32, 64, 2]]) {
  console.log(`--- ${H}²×${C}->${CO} s${S}`);
  const OH = H / S; const pt = S === 1 ? 1 : 0;
  const x = tf.randomNormal([B, H, H, C]); const dy = tf.randomNormal([B, OH, OH, CO]);
  t('kernel', () => { const o = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: S, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, C, CO] } as any) as tf.Tensor; const r = info(o); be.incRef(o.dataId); o.dispose(); return r; });
  t('swapBatchChannels', () => ops.swapBatchChannels(be, info(x)));
  t('  step1 [B,HW,C]->[B,C,HW]', () => ops.transpose(be, ops.view(info(x), [B, H * H, C]), [0, 2, 1]));
  t('  step2 [B,CHW]->[CHW,B]', () => ops.transpose(be, ops.view(info(x), [B, H * H * C]), [1, 0]));
  t('dy transpose', () => ops.transpose(be, info(dy), [1, 2, 0, 3]));
  const xT = ops.swapBatchChannels(be, info(x)); const dyT = ops.transpose(be, info(dy), [1, 2, 0, 3]);
  const pb = Math.max(0, 3 - 1 + (OH - 1) * S + 1 - H - pt);
  t('swapped conv', () => ops.conv2d(be, xT, dyT, [1, 1], [S, S], { top: pt, left: pt, bottom: pb, right: pb }));
  t('alloc 4M + fill', () => { const o = be.makeOutput([B * H * H * C], 'float32'); (be.typedArrayFromHeap(o) as Float32Array).fill(1); return o; });
  ops.release(be, xT, dyT); tf.dispose([x, dy]);
}
