/**
 * Start a worker thread from a module URL, whether galmorph runs compiled (`dist/*.js`) or
 * from source under tsx (`src/*.ts`). Worker threads do not inherit tsx's loader hooks, so a
 * `.ts` worker is started through a tiny bootstrap that registers tsx first.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * @param moduleUrl URL of the worker module, e.g. `new URL('./sim-worker.js', import.meta.url)`;
 *   a `.js` URL is swapped for its `.ts` sibling when the caller itself is a `.ts` file.
 * @param callerUrl the caller's `import.meta.url`
 */
export function startWorker(moduleUrl: URL, callerUrl: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(moduleUrl, options);
  const tsUrl = moduleUrl.href.replace(/\.js$/, '.ts');
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(tsUrl)});`;
  return new Worker(new URL('data:text/javascript,' + encodeURIComponent(boot)), options);
}
