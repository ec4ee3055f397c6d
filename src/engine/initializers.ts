// Orthogonal initialization (Saxe et al. 2014) with Keras' semantics, computed in JS: tfjs-layers' own
// orthogonal initializer runs a QR decomposition op by op and took 26 s for an LSTM of 512 units (130 s at
// 1000), the default recurrent initializer of every recurrent layer. This one: a seeded Gaussian matrix,
// orthonormalized by modified Gram–Schmidt in float64 — O(m·n²), ~0.3 s at 512 units.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SeededRandom } from './random';

/**
 * A `shape` tensor's values (row-major) whose 2-D flattening [prod(shape[:-1]), shape[-1]] has orthonormal
 * rows or columns (whichever are fewer), scaled by `gain`.
 */
export function orthogonalValues(shape: number[], gain: number, seed: number): Float32Array {
  const cols = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const rng = new SeededRandom(seed);
  // Orthonormalize the k = min(rows, cols) vectors of length n = max(rows, cols): as in Keras, a wide matrix
  // is transposed first, so its rows come out orthonormal.
  const k = Math.min(rows, cols);
  const n = Math.max(rows, cols);
  const v = new Float64Array(k * n); // k vectors of length n, contiguous
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  for (let j = 0; j < k; j++) {
    const vj = v.subarray(j * n, (j + 1) * n);
    // Twice ("twice is enough", Giraud et al. 2005): keeps orthogonality to working precision.
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const vi = v.subarray(i * n, (i + 1) * n);
        let dot = 0;
        for (let t = 0; t < n; t++) dot += vi[t] * vj[t];
        for (let t = 0; t < n; t++) vj[t] -= dot * vi[t];
      }
    }
    let norm = 0;
    for (let t = 0; t < n; t++) norm += vj[t] * vj[t];
    norm = Math.sqrt(norm);
    for (let t = 0; t < n; t++) vj[t] /= norm;
  }
  const out = new Float32Array(rows * cols);
  if (rows <= cols) {
    // k = rows vectors of length cols: they are the rows.
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * v[r * cols + c];
  } else {
    // k = cols vectors of length rows: they are the columns.
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out[r * cols + c] = gain * v[c * rows + r];
  }
  return out;
}

/**
 * `orthogonalValues` as a tfjs-layers initializer. tfjs-layers takes only instances of its Initializer class,
 * which its Node bundle does not export; it is the parent class of every built-in initializer, so it is
 * reached through one of them.
 */
export function fastOrthogonal(gain: number, seed: number): ReturnType<typeof tfl.initializers.zeros> {
  type Base = new () => ReturnType<typeof tfl.initializers.zeros>;
  const InitializerBase = Object.getPrototypeOf(tfl.initializers.zeros().constructor) as Base;
  class FastOrthogonal extends InitializerBase {
    static className = 'Orthogonal';
    override apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
      if (shape.length < 2) throw new Error(`An orthogonal initializer needs a matrix; the weight has shape [${shape.join(', ')}].`);
      return tf.tensor(orthogonalValues(shape, gain, seed), shape, dtype ?? 'float32');
    }
    override getConfig() {
      return { gain, seed };
    }
  }
  return new FastOrthogonal();
}
