// wasm Slice, SplitV, Unpack and Identity without copying the whole input at every call; Cast to the same dtype
// and Transpose by the identity permutation without copying at all.

import {
  CastAttrs, KernelConfig, KernelFunc, SliceAttrs, SplitVAttrs, TensorInfo, TransposeAttrs, UnpackAttrs, backend_util, slice_util, util,
} from '@tensorflow/tfjs-core';
import { WasmBackend } from './backend_access';
import { stockKernel } from './stock';
import { copyStrided } from './strided_copy';

type WasmArgs<Attrs> = { inputs: { x: TensorInfo }; attrs: Attrs; backend: WasmBackend };

const isPlainDtype = (x: TensorInfo) => x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';

/**
 * Stock wasm Slice starts with `readSync(x)`, a copy of the whole input off the heap, whatever the slice's
 * size; SplitV and Unpack call it once per piece. Unstacking a [32, 50, 64] sequence (every recurrent layer's
 * first step) copied 50 × 400 KB, 3.4 ms; the gate splits of LSTM/GRU cells copy their whole input 3-4 times
 * per time step in both passes. Here the input is read through a heap view.
 */
function sliceInto(backend: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (util.sizeFromShape(size) === 0) return out;
  const strides = util.computeStrides(x.shape);
  const offset = slice_util.computeFlatOffset(begin, strides);
  // Views after the allocation (a heap growth detaches earlier ones).
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  if (slice_util.isSliceContinous(x.shape, begin, size)) dst.set(src.subarray(offset, offset + dst.length));
  else copyStrided(src, offset, [...strides, 1], size, dst);
  return out;
}

function sliceWasm(args: WasmArgs<SliceAttrs>): TensorInfo {
  const { inputs: { x }, attrs, backend } = args;
  if (!isPlainDtype(x)) return stockKernel('Slice', 'wasm')(args as never) as TensorInfo;
  const [begin, size] = slice_util.parseSliceParams(x as never, attrs.begin, attrs.size);
  slice_util.assertParamsValid(x as never, begin, size);
  return sliceInto(backend, x, begin, size);
}

function splitVWasm(args: WasmArgs<SplitVAttrs>): TensorInfo[] {
  const { inputs: { x }, attrs: { numOrSizeSplits, axis }, backend } = args;
  if (!isPlainDtype(x)) return stockKernel('SplitV', 'wasm')(args as never) as TensorInfo[];
  const splitAxis = util.parseAxisParam(axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, splitAxis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((splitSize) => {
    const size = x.shape.slice();
    size[splitAxis] = splitSize;
    const piece = sliceInto(backend, x, begin, size);
    begin[splitAxis] += splitSize;
    return piece;
  });
}

function unpackWasm(args: { inputs: { value: TensorInfo }; attrs: UnpackAttrs; backend: WasmBackend }): TensorInfo[] {
  const { inputs: { value }, attrs, backend } = args;
  if (!isPlainDtype(value)) return stockKernel('Unpack', 'wasm')(args as never) as TensorInfo[];
  const axis = attrs.axis < 0 ? attrs.axis + value.shape.length : attrs.axis;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(value.shape.length).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const piece = sliceInto(backend, value, begin, size);
    outs.push({ dataId: piece.dataId, dtype: piece.dtype, shape: outShape });
  }
  return outs;
}

/**
 * Stock wasm Identity copies its input (Variable reads, tf.clone and several gradients go through it: ~780
 * calls per SimpleRNN step). Tensors are immutable, so sharing the buffer with one more reference is enough,
 * as the cpu backend's Identity and wasm's own Reshape do.
 */
function identityWasm(args: { inputs: { x: TensorInfo }; backend: WasmBackend & { incRef(dataId: object): void } }): TensorInfo {
  const { inputs: { x }, backend } = args;
  if (x.dtype === 'string') return stockKernel('Identity', 'wasm')(args as never) as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

type SharingBackend = WasmBackend & { incRef(dataId: object): void };

/**
 * Cast to the dtype x has already (ReLU's gradient casts its float32 step mask to float32; so do the losses) and
 * Transpose by the identity permutation (the Embedding gradient's, twice per step) copy x in stock wasm; the cpu
 * backend shares the buffer for both, as Identity above does (~0.1-0.15 ms each for [32,46,64] and [5000,64]).
 * Same data, same shape: nothing cached per tensor id (XNNPACK's packed weights) can tell the difference.
 */
function castWasm(args: { inputs: { x: TensorInfo }; attrs: CastAttrs; backend: SharingBackend }): TensorInfo {
  const { inputs: { x }, attrs: { dtype }, backend } = args;
  if (dtype !== x.dtype || x.dtype === 'string') return stockKernel('Cast', 'wasm')(args as never) as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function transposeWasm(args: { inputs: { x: TensorInfo }; attrs: TransposeAttrs; backend: SharingBackend }): TensorInfo {
  const { inputs: { x }, attrs: { perm }, backend } = args;
  // Only the identity: a transpose that moves just size-1 axes keeps the data too, but its other shape under the
  // same tensor id would meet XNNPACK's operators, cached by id (a Dense(1) kernel [k, 1] transposed to [1, k]
  // for its gradient got the forward's packed operator, and wrote out of bounds).
  if (x.dtype === 'string' || perm.some((axis, k) => axis !== k)) return stockKernel('Transpose', 'wasm')(args as never) as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const castWasmConfig: KernelConfig = { kernelName: 'Cast', backendName: 'wasm', kernelFunc: castWasm as unknown as KernelFunc };
export const transposeWasmConfig: KernelConfig = { kernelName: 'Transpose', backendName: 'wasm', kernelFunc: transposeWasm as unknown as KernelFunc };
export const sliceWasmConfig: KernelConfig = { kernelName: 'Slice', backendName: 'wasm', kernelFunc: sliceWasm as unknown as KernelFunc };
export const splitVWasmConfig: KernelConfig = { kernelName: 'SplitV', backendName: 'wasm', kernelFunc: splitVWasm as unknown as KernelFunc };
export const unpackWasmConfig: KernelConfig = { kernelName: 'Unpack', backendName: 'wasm', kernelFunc: unpackWasm as unknown as KernelFunc };
export const identityWasmConfig: KernelConfig = { kernelName: 'Identity', backendName: 'wasm', kernelFunc: identityWasm as unknown as KernelFunc };
