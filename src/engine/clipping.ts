// Gradient clipping with Keras' meanings, which tfjs lacks: `value` clips each element to [−t, t]
// (clipvalue), `norm` rescales each tensor whose L2 norm exceeds t (clipnorm, tf.clip_by_norm), `globalNorm`
// rescales all tensors together by t / max(‖g‖, t) over the joint norm (global_clipnorm,
// tf.clip_by_global_norm), which keeps the update's direction (Pascanu et al. 2013).

import * as tf from '@tensorflow/tfjs-core';
import type { ClippingConfig } from '../config/types';

/** Returns new tensors (the caller disposes inputs and outputs); applies the modes in the given order. */
export function clipGradients(gradients: tf.Tensor[], clipping: ClippingConfig[]): tf.Tensor[] {
  if (clipping.length === 0) return gradients.map(g => g.clone());
  return tf.tidy(() => {
    let gs = gradients;
    for (const c of clipping) {
      const t = c.threshold;
      switch (c.mode) {
        case 'value':
          gs = gs.map(g => tf.clipByValue(g, -t, t));
          break;
        case 'norm':
          gs = gs.map(g => tf.mul(g, tf.div(t, tf.maximum(tf.norm(g), t))));
          break;
        case 'globalNorm': {
          const norm = globalNorm(gs);
          const scale = tf.div(t, tf.maximum(norm, t));
          gs = gs.map(g => tf.mul(g, scale));
          break;
        }
      }
    }
    return gs;
  });
}

/** √Σ‖gᵢ‖² as a scalar tensor (NaN/Inf propagate, as in TensorFlow). */
export function globalNorm(gradients: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(gradients.map(g => tf.sum(tf.square(g))))) as tf.Scalar);
}

export { clippedGlobalNorm } from './stepStats';
