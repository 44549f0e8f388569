/** Worker side of parallel.ts: posterior means for one contiguous part of the rows. */
import { parentPort } from 'node:worker_threads';
import { GaussianProcess, type GpMeanState } from './gp.js';

/** One part of a parallel prediction. */
export interface MeanJob {
  id: number;
  state: GpMeanState;
  /** All features, in shared memory, `[rows, dim]`. */
  data: Float32Array;
  dim: number;
  /** Rows [start, end) to predict. */
  start: number;
  end: number;
  /** Shared result for all rows. */
  out: Float64Array;
}

parentPort?.on('message', async (job: MeanJob) => {
  try {
    const gp = GaussianProcess.fromMeanState(job.state);
    const rows = job.end - job.start;
    const { mean } = await gp.predict({ rows, dim: job.dim, data: job.data.subarray(job.start * job.dim, job.end * job.dim) });
    job.out.set(mean, job.start);
    parentPort!.postMessage({ id: job.id });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).stack ?? String(e) });
  }
});
