import { readFileSync } from 'node:fs';

/**
 * CPU time of the calling thread alone, ms: the scheduler's on-CPU time from
 * /proc/thread-self/schedstat (Linux; nanoseconds — /proc/thread-self/stat counts 10 ms ticks,
 * too coarse for steps of ~100 ms). process.cpuUsage() would add up every thread of the process.
 */
export function threadCpuMs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
}
