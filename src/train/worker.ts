/**
 * Worker-thread entry of a training replica: one network on its own tensor backend,
 * answering the requests of {@link WorkerReplica} one at a time.
 */
import { parentPort } from 'node:worker_threads';
import { initEngine } from '../engine/index.js';
import { ReplicaCore, type WorkerReply, type WorkerRequest } from './replica.js';

let core: ReplicaCore | undefined;

function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}

parentPort!.on('message', async (msg: WorkerRequest) => {
  try {
    if (msg.kind === 'init') {
      await initEngine({ backend: msg.backend });
      core = new ReplicaCore(msg.config);
      reply({ kind: 'ready' });
    } else if (!core) {
      throw new Error(`request "${msg.kind}" before init`);
    } else if (msg.kind === 'attach') {
      core.attach(msg.shared, msg.index);
      reply({ kind: 'ready' });
    } else if (msg.kind === 'gradients') {
      const result = core.gradients(msg.shard);
      reply({ kind: 'gradients', result }, [result.state.buffer as ArrayBuffer]);
    } else if (msg.kind === 'average') {
      core.average(msg.from, msg.to, msg.weights);
      reply({ kind: 'ready' });
    } else if (msg.kind === 'update') {
      reply({ kind: 'update', norm: core.update(msg.from, msg.to, msg.t) });
    } else {
      const concentrations = core.evaluate(msg.weights, msg.images, msg.n);
      reply({ kind: 'eval', concentrations }, [concentrations.buffer as ArrayBuffer]);
    }
  } catch (e) {
    const err = e as Error;
    reply({ kind: 'error', message: err.message ?? String(e), stack: err.stack });
  }
});
