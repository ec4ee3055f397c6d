// Gradients the project registers over stock tfjs 4.22. Its Max/Min gradient passes the full upstream gradient
// to every tied extremum (tf.grad(v => tf.max(v))([1,3,3,2]) is [0,1,1,0]), which is not a subgradient: on
// padded text, global max pooling ties often and the gradients came out several times too large. TensorFlow
// and PyTorch split it evenly among the ties ([0,.5,.5,0]); so do these. Backend-independent (one registry); on cpu
// and wasm the project's kernel (kernels/extremum_grad.ts) computes the same values in one pass.

import * as tf from '@tensorflow/tfjs-core';
import { EXTREMUM_GRAD } from './kernels/extremum_grad';

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
      // The same values in one pass where the project's kernel is registered (cpu, wasm: kernels/extremum_grad.ts)
      // and takes the case: float32, adjacent axes (GlobalMaxPool1D's time axis; all axes).
      const sorted = [...axes].sort((p, q) => p - q);
      const fused = sorted.length > 0 && sorted.every((axis, k) => axis === sorted[0] + k) &&
        [x, y, dy as tf.Tensor].every((t) => t.dtype === 'float32') && tf.getKernel(EXTREMUM_GRAD, tf.getBackend()) !== undefined;
      return {
        x: () => {
          if (fused) {
            return tf.engine().runKernel(EXTREMUM_GRAD, { x, y, dy: dy as tf.Tensor }, { axes: sorted } as unknown as tf.NamedAttrMap) as tf.Tensor;
          }
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
