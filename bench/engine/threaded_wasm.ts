/**
 * Benchmark-only: loads tfjs-backend-wasm's *threaded* SIMD build in Node, which tfjs 4.22
 * refuses there (its WASM_HAS_MULTITHREAD_SUPPORT flag is false under Node, see
 * tensorflow/tfjs#3830). Forcing the flag is not enough; three things break, and this module
 * works around each (measurement only — not fit for the product):
 *
 * 1. Emscripten starts pthread workers from `blob:` URLs, which Node's Worker rejects: we
 *    intercept Blob/URL.createObjectURL and hand it files in a temp directory instead.
 * 2. Each worker then evaluates the main script from a Blob built from the bundled factory,
 *    whose rollup-renamed `require$$N` references are undefined there: we point it at the
 *    package's own wasm-out/tfjs-backend-wasm-threaded-simd.js.
 * 3. The backend sizes its XNNPACK pool as logical cores / 2 (capped 1..4) when the module
 *    loads, i.e. 1 on a 2-core machine: we make os.cpus() report 2·threads cores meanwhile.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export async function initThreadedWasm(threads: number): Promise<number> {
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const mainScript = readFileSync(path.join(pkgDir, '..', 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js'), 'utf8');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'galmorph-threaded-wasm-'));
  const mainPath = path.join(dir, 'main.js');
  writeFileSync(mainPath, mainScript);

  const RealBlob = globalThis.Blob;
  const texts = new WeakMap<object, string>();
  class RecordingBlob extends RealBlob {
    constructor(parts: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      texts.set(this, parts.map(String).join(''));
    }
  }
  const realCreateObjectURL = URL.createObjectURL;
  const realCpus = os.cpus;
  let n = 0;
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (blob: Blob) => {
    const text = texts.get(blob);
    if (text === undefined) return realCreateObjectURL(blob);
    const file = path.join(dir, `worker${n++}.js`);
    writeFileSync(
      file,
      text.replace(
        'var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)',
        `importScripts(${JSON.stringify(mainPath)})`,
      ),
    );
    return file;
  };
  os.cpus = () => Array.from({ length: 2 * threads }, () => realCpus()[0]);
  try {
    tfwasm.setWasmPaths(pkgDir + path.sep);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    tfwasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('threaded wasm backend failed to initialise');
  } finally {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreateObjectURL;
    os.cpus = realCpus;
  }
  return tfwasm.getThreadsCount();
}
