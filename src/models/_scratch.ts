import { tf, initEngine } from '../engine/index.js';
import { createModel } from './model.js';
import { getSchema } from '../schema/index.js';
const be = process.argv[2] ?? 'wasm';
await initEngine({ backend: be as 'wasm' });
for (const [arch, size] of [['resnet-tiny', 32], ['resnet-small', 64], ['resnet-small', 96], ['resnet-medium', 64]] as const) {
  const m = createModel({ schema: getSchema('decals-dr5'), architecture: arch, size });
  const B = 32;
  const x = tf.randomUniform([B, size, size, 3]) as tf.Tensor4D;
  for (let i = 0; i < 2; i++) { const y = m.apply(x); await y.data(); y.dispose(); }
  const t0 = performance.now(); const N = 5;
  for (let i = 0; i < N; i++) { const y = m.apply(x); await y.data(); y.dispose(); }
  const dt = (performance.now() - t0) / 1000;
  const y = m.apply(x); const d = y.dataSync();
  console.log(arch, size, 'params', m.countParams(), 'fwd img/s', (B * N / dt).toFixed(1), 'min', Math.min(...d).toFixed(2), 'max', Math.max(...d).toFixed(2), y.shape);
  y.dispose(); x.dispose(); m.dispose();
}
