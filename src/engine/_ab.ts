import { initEngine, tf } from './index.js';
import * as ops from './wasm_ops.js';
await initEngine({ backend: 'wasm' });
const be = tf.backend() as any;
export function t(name: string, fn: () => ops.Info | void, n = 7) {
  let r = fn(); if (r) ops.release(be, r);
  let best = Infinity;
  for (let i = 0; i < n; i++) { const c0 = process.cpuUsage(); r = fn(); if (r) ops.release(be, r); const c = process.cpuUsage(c0); best = Math.min(best, (c.user + c.system) / 1000); }
  console.log(name.padEnd(50), best.toFixed(1), 'ms cpu');
  return best;
}
const info = (x: tf.Tensor) => ({ dataId: x.dataId, shape: x.shape, dtype: 'float32' } as ops.Info);
{
  const B = 32, H = 64, C = 32, CO = 64;
  const x = tf.randomNormal([B, H, H, C]); const dy = tf.randomNormal([B, H / 2, H / 2, CO]);
  const xi = info(x), dyi = info(dy);
  console.log('--- 1x1 s2 filter grad 64x32->64');
  t('whole kernel', () => { const o = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [1, 1, C, CO] } as any) as tf.Tensor; const r = info(o); be.incRef(o.dataId); o.dispose(); return r; });
  t('strided slice x', () => { const s = tf.stridedSlice(x, [0, 0, 0, 0], [B, H, H, C], [1, 2, 2, 1]); const r = info(s); be.incRef(s.dataId); s.dispose(); return r; });
  const xs = tf.stridedSlice(x, [0, 0, 0, 0], [B, H, H, C], [1, 2, 2, 1]);
  const xsi = ops.view(info(xs), [B * H * H / 4, C]);
  t('transpose xs [1,0]', () => ops.transpose(be, xsi, [1, 0]));
  const xsT = ops.transpose(be, xsi, [1, 0]);
  t('matmul [C,N]x[N,CO]', () => ops.matMul(be, xsT, ops.view(dyi, [B * H * H / 4, CO])));
  const dyT = ops.transpose(be, ops.view(dyi, [B * H * H / 4, CO]), [1, 0]);
  t('matmul [CO,N]x[N,C]', () => ops.matMul(be, dyT, xsi));
}
