// cpu Slice, SplitV and Transpose: strided copies instead of the stock per-element index walks.

import {
  KernelConfig, KernelFunc, SliceAttrs, SplitVAttrs, TensorInfo, TransposeAttrs, backend_util, slice_util, util,
} from '@tensorflow/tfjs-core';
import { CpuBackend, TypedArray, cpuValues } from './backend_access';
import { stockKernel } from './stock';
import { copyStrided } from './strided_copy';

type CpuArgs<Attrs> = { inputs: { x: TensorInfo }; attrs: Attrs; backend: CpuBackend };

/** string and complex64 tensors keep the stock kernels: their values are not one typed array. */
const isPlainDtype = (x: TensorInfo) => x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';

function newLike(values: TypedArray, size: number): TypedArray {
  return new (values.constructor as new (size: number) => TypedArray)(size);
}

function sliceValues(backend: CpuBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const values = cpuValues(backend, x);
  const strides = util.computeStrides(x.shape);
  const offset = slice_util.computeFlatOffset(begin, strides);
  if (slice_util.isSliceContinous(x.shape, begin, size)) {
    // Same as stock: a contiguous slice shares the parent's buffer (cpu tensors are never written in place).
    return backend.makeTensorInfo(size, x.dtype, values.subarray(offset, offset + util.sizeFromShape(size)));
  }
  const out = newLike(values, util.sizeFromShape(size));
  copyStrided(values, offset, [...strides, 1], size, out);
  return backend.makeTensorInfo(size, x.dtype, out);
}

function sliceCpu(args: CpuArgs<SliceAttrs>): TensorInfo {
  const { inputs: { x }, attrs, backend } = args;
  if (!isPlainDtype(x)) return stockKernel('Slice', 'cpu')(args as never) as TensorInfo;
  const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  slice_util.assertParamsValid(x, begin, size);
  return sliceValues(backend, x, begin, size);
}

/** LSTM and GRU cells split their gate pre-activations along axis 1 at every step, in both passes. */
function splitVCpu(args: CpuArgs<SplitVAttrs>): TensorInfo[] {
  const { inputs: { x }, attrs: { numOrSizeSplits, axis }, backend } = args;
  if (!isPlainDtype(x)) return stockKernel('SplitV', 'cpu')(args as never) as TensorInfo[];
  const splitAxis = util.parseAxisParam(axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, splitAxis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((splitSize) => {
    const size = x.shape.slice();
    size[splitAxis] = splitSize;
    const piece = sliceValues(backend, x, begin, size);
    begin[splitAxis] += splitSize;
    return piece;
  });
}

function transposeCpu(args: CpuArgs<TransposeAttrs>): TensorInfo {
  const { inputs: { x }, attrs: { perm }, backend } = args;
  if (!isPlainDtype(x)) return stockKernel('Transpose', 'cpu')(args as never) as TensorInfo;
  const values = cpuValues(backend, x);
  const strides = [...util.computeStrides(x.shape), 1];
  const shape = perm.map((axis) => x.shape[axis]);
  const out = newLike(values, values.length);
  copyStrided(values, 0, perm.map((axis) => strides[axis]), shape, out);
  return backend.makeTensorInfo(shape, x.dtype, out);
}

export const sliceCpuConfig: KernelConfig = { kernelName: 'Slice', backendName: 'cpu', kernelFunc: sliceCpu as unknown as KernelFunc };
export const splitVCpuConfig: KernelConfig = { kernelName: 'SplitV', backendName: 'cpu', kernelFunc: splitVCpu as unknown as KernelFunc };
export const transposeCpuConfig: KernelConfig = { kernelName: 'Transpose', backendName: 'cpu', kernelFunc: transposeCpu as unknown as KernelFunc };
