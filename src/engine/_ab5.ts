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
for (const [B, Q, C] of [[32, 32, 32], [32, 16, 64], [32, 8, 128]]) {
  console.log('---', B, Q, C);
  const ys = [0, 1, 2, 3].map(() => ops.zeros(be, [B, Q, Q, C]));
  t('concat axis0 of 4', () => ops.concat(be, ys.map((y) => ops.view(y, [1, B * Q * Q * C])), 0));
  const st = ops.concat(be, ys.map((y) => ops.view(y, [1, B * Q * Q * C])), 0);
  t('6D transpose [2,3,0,4,1,5]', () => ops.transpose(be, ops.view(st, [2, 2, B, Q, Q, C]), [2, 3, 0, 4, 1, 5]));
  t('5D transpose merge (rh outer) [1,2,0,3,4]?', () => ops.transpose(be, ops.view(st, [2, B * Q, 2 * Q, C /* fake */]), [1, 0, 2, 3]));
}
