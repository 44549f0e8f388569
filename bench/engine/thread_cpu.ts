import { readFileSync } from 'node:fs';

/**
 * CPU time of the calling thread alone, ms: utime + stime from /proc/thread-self/stat
 * (Linux; 10 ms ticks). process.cpuUsage() would add up every thread of the process.
 */
export function threadCpuMs(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
