/**
 * Moving gradients between data-parallel workers as one transferable Float32Array: each
 * worker flattens its gradient map, posts the buffer (transfer list, no copy), the receiver
 * averages and unflattens. Variable order is fixed by the layout, so both sides must build it
 * from the same model.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Names, shapes and offsets of a flattened gradient map. */
export interface GradLayout {
  names: string[];
  shapes: number[][];
  offsets: number[];
  /** Total number of floats. */
  size: number;
}

/** Layout for a gradient map, in the map's key order. */
export function gradLayout(grads: tf.NamedTensorMap): GradLayout {
  const names = Object.keys(grads);
  const shapes = names.map((n) => grads[n].shape.slice());
  const offsets: number[] = [];
  let size = 0;
  for (const shape of shapes) {
    offsets.push(size);
    size += tf.util.sizeFromShape(shape);
  }
  return { names, shapes, offsets, size };
}

/**
 * Copies every gradient into one Float32Array (`out` when given, else a new one). Does not
 * dispose the gradients. Reads with dataSync, outside any tidy (see DESIGN.md §4 gotcha).
 */
export function flattenGrads(
  grads: tf.NamedTensorMap,
  out?: Float32Array,
): { data: Float32Array; layout: GradLayout } {
  const layout = gradLayout(grads);
  const data = out ?? new Float32Array(layout.size);
  if (data.length !== layout.size) {
    throw new RangeError(`flattenGrads: buffer holds ${data.length} floats, gradients ${layout.size}`);
  }
  layout.names.forEach((name, i) => {
    data.set(grads[name].dataSync() as Float32Array, layout.offsets[i]);
  });
  return { data, layout };
}

/** Tensors for each gradient of a flat buffer; the caller owns (and disposes) them. */
export function unflattenGrads(data: Float32Array, layout: GradLayout): tf.NamedTensorMap {
  if (data.length !== layout.size) {
    throw new RangeError(`unflattenGrads: buffer holds ${data.length} floats, layout ${layout.size}`);
  }
  const grads: tf.NamedTensorMap = {};
  layout.names.forEach((name, i) => {
    const n = tf.util.sizeFromShape(layout.shapes[i]);
    grads[name] = tf.tensor(data.subarray(layout.offsets[i], layout.offsets[i] + n), layout.shapes[i], 'float32');
  });
  return grads;
}

/**
 * In place: target = (target·weight + source·(1 − weight)); weight 0.5 gives the plain
 * average of two workers' gradients. For unequal shard sizes use weight = nTarget / nTotal.
 */
export function averageInto(target: Float32Array, source: Float32Array, weight = 0.5): Float32Array {
  if (target.length !== source.length) {
    throw new RangeError(`averageInto: lengths differ (${target.length} vs ${source.length})`);
  }
  const u = 1 - weight;
  for (let i = 0; i < target.length; i++) target[i] = target[i] * weight + source[i] * u;
  return target;
}
