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
for (const [B, H, C, CO] of [[32, 64, 32, 64], [32, 32, 64, 128], [32, 16, 128, 256]]) {
  const Q = H / 2;
  console.log(`--- ${H}²×${C}->${CO} s2  (pieces)`);
  const dy = tf.randomNormal([B, Q, Q, CO]); const w = tf.randomNormal([3, 3, C, CO]);
  t('kernel (current)', () => { const o = tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [B, H, H, C], 2, 'same'); const r = info(o); be.incRef(o.dataId); o.dispose(); return r; });
  const f22 = ops.zeros(be, [2, 2, CO, 4 * C]);
  t('conv 2x2 -> 4C (16 taps)', () => ops.conv2d(be, info(dy), f22, [1, 1], [1, 1], { top: 1, bottom: 0, left: 1, right: 0 }));
  const y4 = ops.conv2d(be, info(dy), f22, [1, 1], [1, 1], { top: 1, bottom: 0, left: 1, right: 0 });
  t('d2s transpose', () => ops.depthToSpace(be, y4, 2));
  const fa = ops.zeros(be, [2, 2, CO, 2 * C]); const fb = ops.zeros(be, [1, 2, CO, 2 * C]);
  t('V1 conv rh0 [2,2,CO,2C]', () => ops.conv2d(be, info(dy), fa, [1, 1], [1, 1], { top: 1, bottom: 0, left: 1, right: 0 }));
  t('V1 conv rh1 [1,2,CO,2C]', () => ops.conv2d(be, info(dy), fb, [1, 1], [1, 1], { top: 0, bottom: 0, left: 1, right: 0 }));
  const ya = ops.conv2d(be, info(dy), fa, [1, 1], [1, 1], { top: 1, bottom: 0, left: 1, right: 0 });
  const yb = ops.conv2d(be, info(dy), fb, [1, 1], [1, 1], { top: 0, bottom: 0, left: 1, right: 0 });
  t('V1 concat rows', () => ops.concat(be, [ops.view(ya, [B, Q, 1, Q * 2 * C]), ops.view(yb, [B, Q, 1, Q * 2 * C])], 2));
  const f2x2 = ops.zeros(be, [2, 2, CO, C]), f2x1 = ops.zeros(be, [2, 1, CO, C]), f1x2 = ops.zeros(be, [1, 2, CO, C]), f1x1 = ops.zeros(be, [1, 1, CO, C]);
  t('V2 conv 2x2 C', () => ops.conv2d(be, info(dy), f2x2, [1, 1], [1, 1], { top: 1, bottom: 0, left: 1, right: 0 }));
  t('V2 conv 2x1 C', () => ops.conv2d(be, info(dy), f2x1, [1, 1], [1, 1], { top: 1, bottom: 0, left: 0, right: 0 }));
  t('V2 conv 1x2 C', () => ops.conv2d(be, info(dy), f1x2, [1, 1], [1, 1], { top: 0, bottom: 0, left: 1, right: 0 }));
  t('V2 conv 1x1 C', () => ops.conv2d(be, info(dy), f1x1, [1, 1], [1, 1], { top: 0, bottom: 0, left: 0, right: 0 }));
  const y1 = ops.conv2d(be, info(dy), f1x1, [1, 1], [1, 1], { top: 0, bottom: 0, left: 0, right: 0 });
  t('V2 concat cols (C runs)', () => ops.concat(be, [ops.view(y1, [B, Q, Q, 1, C]), ops.view(y1, [B, Q, Q, 1, C])], 3));
  tf.dispose([dy, w]);
}
