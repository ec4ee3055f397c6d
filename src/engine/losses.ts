// Losses and metrics. Cross-entropies are computed from logits (the last softmax/sigmoid is folded into the
// loss), which is numerically stable and is what PyTorch's CrossEntropyLoss / BCEWithLogitsLoss compute.

import * as tf from '@tensorflow/tfjs-core';
import type { LossName } from '../config/types';

export interface LossSpec {
  name: LossName;
  /** True when the model's last layer outputs logits and the loss applies softmax/sigmoid itself. */
  fromLogits: boolean;
  classification: boolean;
}

/** Mean loss over the batch. `labels`: int32 class ids [B] for classification, float32 [B, k] otherwise. */
export function computeLoss(spec: LossSpec, output: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    // A regression loss on class labels (allowed, with a warning): compare with the one-hot targets.
    const targets = !spec.classification && labels.dtype === 'int32'
      ? tf.oneHot(labels as tf.Tensor1D, output.shape[output.shape.length - 1]!)
      : labels;
    switch (spec.name) {
      case 'sparseCategoricalCrossentropy':
      case 'categoricalCrossentropy': {
        const classes = output.shape[output.shape.length - 1]!;
        const logProbs = spec.fromLogits ? tf.logSoftmax(output) : tf.log(tf.clipByValue(output, 1e-7, 1));
        const oneHot = tf.oneHot(labels as tf.Tensor1D, classes);
        return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), -1))) as tf.Scalar;
      }
      case 'binaryCrossentropy': {
        const y = tf.reshape(tf.cast(labels, 'float32'), output.shape);
        if (spec.fromLogits) {
          // max(x, 0) − x·y + log(1 + e^(−|x|)): stable for any logit.
          const x = output;
          return tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))) as tf.Scalar;
        }
        const p = tf.clipByValue(output, 1e-7, 1 - 1e-7);
        return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p)))))) as tf.Scalar;
      }
      case 'meanSquaredError':
        return tf.mean(tf.squaredDifference(output, targets)) as tf.Scalar;
      case 'meanAbsoluteError':
        return tf.mean(tf.abs(tf.sub(output, targets))) as tf.Scalar;
      case 'huber': {
        // δ = 1: quadratic within 1, linear outside (robust to outliers).
        const err = tf.abs(tf.sub(output, targets));
        const quad = tf.minimum(err, 1);
        return tf.mean(tf.add(tf.mul(0.5, tf.square(quad)), tf.sub(err, quad))) as tf.Scalar;
      }
    }
  });
}

/** Number of correct predictions in the batch (classification), as a scalar tensor. */
export function correctCount(spec: LossSpec, output: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    if (spec.name === 'binaryCrossentropy') {
      const threshold = spec.fromLogits ? 0 : 0.5;
      const pred = tf.cast(tf.greater(tf.reshape(output, [-1]), threshold), 'int32');
      return tf.sum(tf.cast(tf.equal(pred, tf.cast(tf.reshape(labels, [-1]), 'int32')), 'float32')) as tf.Scalar;
    }
    return tf.sum(tf.cast(tf.equal(tf.argMax(output, -1), labels), 'float32')) as tf.Scalar;
  });
}
