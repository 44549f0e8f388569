/**
 * Worker of bench/engine/threads.ts: one network replica on its own wasm backend — the plain
 * single-threaded build, or tfjs's threaded build with an XNNPACK pool of `threads`; with
 * backend 'native', the plain build with oneDNN convolutions on `threads` threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initEngine } from '../../src/engine/index.js';
import type { ModelConfig } from '../../src/models/index.js';
import { ReplicaCore, type Shard } from '../../src/train/replica.js';
import { initThreadedWasm } from './threaded_wasm.js';
import { threadCpuMs } from './thread_cpu.js';

const { config, threads, backend } = workerData as { config: ModelConfig; threads: number; backend: 'wasm' | 'native' };
let actual = threads;
if (backend === 'native') await initEngine({ backend, threads });
else {
  actual = threads > 1 ? await initThreadedWasm(threads) : 1;
  await initEngine({ backend: 'wasm' });
}
const core = new ReplicaCore(config);
parentPort!.on('message', (msg: { weights: Float32Array; shard: Shard }) => {
  const c0 = threadCpuMs();
  const t0 = performance.now();
  const result = core.trainStep(msg.weights, msg.shard);
  const ms = performance.now() - t0;
  const cpuMs = threadCpuMs() - c0;
  parentPort!.postMessage({ grads: result.grads, ms, cpuMs }, [result.grads.buffer as ArrayBuffer]);
});
parentPort!.postMessage({ ready: true, threads: actual });
