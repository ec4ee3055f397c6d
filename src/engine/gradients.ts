// Gradients the project registers over stock tfjs 4.22. Its Max/Min gradient passes the full upstream gradient
// to every tied extremum (tf.grad(v => tf.max(v))([1,3,3,2]) is [0,1,1,0]), which is not a subgradient: on
// padded text, global max pooling ties often and the gradients came out several times too large. TensorFlow
// and PyTorch split it evenly among the ties ([0,.5,.5,0]); so do these. Backend-independent (one registry).

import * as tf from '@tensorflow/tfjs-core';

let registered = false;

function extremumGradient(kernelName: 'Max' | 'Min'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as tf.Tensor[];
      // Max calls its axes reductionIndices, Min calls them axis; null means every axis.
      const a = attrs as unknown as { reductionIndices?: number | number[] | null; axis?: number | number[] | null };
      const spec = 'reductionIndices' in a ? a.reductionIndices : a.axis;
      const axes = tf.util.parseAxisParam(spec ?? null as unknown as number[], x.shape);
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      return {
        x: () => {
          const mask = tf.cast(tf.equal(x, tf.reshape(y, kept)), (dy as tf.Tensor).dtype);
          return tf.mul(tf.reshape(dy as tf.Tensor, kept), tf.div(mask, tf.sum(mask, axes, true)));
        },
      };
    },
  };
}

export function registerProjectGradients(): void {
  if (registered) return;
  registered = true;
  // tfjs logs a warning when a gradient is overridden; that is the point here, so keep the console clean.
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    tf.registerGradient(extremumGradient('Max'));
    tf.registerGradient(extremumGradient('Min'));
  } finally {
    console.warn = warn;
  }
}
