// tfjs-core's Node build (tf-core.node.js) does not register the chained tensor methods (`t.flatten()`,
// `t.reshape()`…) that the @tensorflow/tfjs bundle adds and tfjs-layers relies on in places (e.g. the orthogonal
// initializer). This registers them the way that bundle does: each calls the op with the tensor first.

import * as tf from '@tensorflow/tfjs-core';

const SAME_NAME = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh',
  'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2d', 'cos',
  'cosh', 'cumprod', 'cumsum', 'depthToSpace', 'divNoNan', 'div', 'dot', 'elu', 'equal', 'erf', 'euclideanNorm', 'exp',
  'expandDims', 'expm1', 'floor', 'floorDiv', 'gather', 'greaterEqual', 'greater', 'isFinite', 'isInf', 'isNaN',
  'leakyRelu', 'lessEqual', 'less', 'logSigmoid', 'logSoftmax', 'logSumExp', 'log', 'log1p', 'logicalAnd', 'logicalNot',
  'logicalOr', 'logicalXor', 'matMul', 'max', 'maximum', 'mean', 'min', 'minimum', 'mirrorPad', 'mod', 'mul', 'neg',
  'norm', 'notEqual', 'oneHot', 'onesLike', 'pad', 'pool', 'pow', 'prelu', 'prod', 'reciprocal', 'relu', 'relu6',
  'reshape', 'reverse', 'round', 'rsqrt', 'selu', 'sigmoid', 'sign', 'sin', 'sinh', 'slice', 'softmax', 'softplus',
  'spaceToBatchND', 'split', 'sqrt', 'square', 'squaredDifference', 'squeeze', 'step', 'stridedSlice', 'sub',
  'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose', 'unique', 'unstack', 'zerosLike',
] as const;

type Chained = tf.Tensor & { throwIfDisposed(): void };

let registered = false;

export function registerChainedOps(): void {
  if (registered) return;
  registered = true;
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = tf as unknown as Record<string, (...args: unknown[]) => tf.Tensor>;
  const define = (name: string, f: (this: Chained, ...args: unknown[]) => unknown) => {
    if (typeof proto[name] !== 'function') proto[name] = f;
  };
  for (const name of SAME_NAME) {
    const op = ops[name];
    if (typeof op === 'function') define(name, function (...args) { this.throwIfDisposed(); return op(this, ...args); });
  }
  define('where', function (condition, x) { this.throwIfDisposed(); return tf.where(condition as tf.Tensor, this, x as tf.Tensor); });
  define('concat', function (x, axis) { this.throwIfDisposed(); return tf.concat([this, ...(x instanceof tf.Tensor ? [x] : x as tf.Tensor[])], axis as number); });
  define('stack', function (x, axis) { this.throwIfDisposed(); return tf.stack([this, ...(x instanceof tf.Tensor ? [x] : x as tf.Tensor[])], axis as number); });
  define('flatten', function () { this.throwIfDisposed(); return tf.reshape(this, [this.size]); });
  define('asScalar', function () { this.throwIfDisposed(); return tf.reshape(this, []); });
  define('as1D', function () { this.throwIfDisposed(); return tf.reshape(this, [this.size]); });
  for (const [name, rank] of [['as2D', 2], ['as3D', 3], ['as4D', 4], ['as5D', 5]] as const) {
    define(name, function (...dims) { this.throwIfDisposed(); return tf.reshape(this, dims.slice(0, rank) as number[]); });
  }
  define('asType', function (dtype) { this.throwIfDisposed(); return tf.cast(this, dtype as tf.DataType); });
  define('toFloat', function () { this.throwIfDisposed(); return tf.cast(this, 'float32'); });
  define('toInt', function () { this.throwIfDisposed(); return tf.cast(this, 'int32'); });
  define('toBool', function () { this.throwIfDisposed(); return tf.cast(this, 'bool'); });
  define('reshapeAs', function (x) { this.throwIfDisposed(); return tf.reshape(this, (x as tf.Tensor).shape); });
}
