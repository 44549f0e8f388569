/**
 * The one place models and training get their tensor library from. Everything in
 * src/models and src/train imports `tf`/`tfl` from here, so switching to the project
 * engine seam (src/engine) is a one-file change.
 *
 * Interim: until src/engine lands, this selects tfjs's pure-JS `cpu` backend (slow, but it
 * trains) or `wasm` (fast forward; training needs the engine's backward kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export { tf, tfl };

/** Which tensor backend to run on. */
export type BackendName = 'auto' | 'wasm' | 'cpu';

/** Initialise the tensor backend once per thread (idempotent). */
export async function initBackend(backend: BackendName = 'auto'): Promise<string> {
  const want = backend === 'auto' ? 'cpu' : backend;
  if (tf.getBackend() !== want) {
    await tf.setBackend(want);
  }
  await tf.ready();
  return tf.getBackend();
}
