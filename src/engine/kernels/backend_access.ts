// The few internals of the cpu and wasm backends (tfjs 4.22) that the project's kernels read and write.

import { backend, getBackend, type DataId, type DataType, type Tensor, type TensorInfo, type backend_util } from '@tensorflow/tfjs-core';

export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** What a cpu kernel needs from MathBackendCPU: tensor values live in JS typed arrays. */
export interface CpuBackend {
  data: { get(dataId: DataId): { values: backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: backend_util.BackendValues): TensorInfo;
  disposeData(dataId: DataId): boolean;
  refCount(dataId: DataId): number;
}

/**
 * What a wasm kernel needs from BackendWasm: tensor values live on the wasm heap. A view from
 * typedArrayFromHeap is only valid until the next allocation, because growing the heap detaches it;
 * so kernels allocate every output first and take their views afterwards.
 */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(tensor: TensorInfo): TypedArray;
  disposeData(dataId: DataId): boolean;
  refCount(dataId: DataId): number;
}

export function cpuValues(backend: CpuBackend, tensor: TensorInfo): TypedArray {
  return backend.data.get(tensor.dataId).values as TypedArray;
}

/**
 * A float32 tensor's values without copying them off the backend, to be read at once and never written:
 * on wasm a view of the heap (valid until the next wasm allocation, which may grow and detach the heap), on
 * cpu the backend's own array; any other backend (or dtype) gets a copy from dataSync. Monitoring reads every
 * gradient and weight at every monitored step: dataSync on wasm copies each one into a fresh ArrayBuffer.
 */
export function readFloats(tensor: Tensor): Float32Array {
  if (tensor.dtype === 'float32') {
    const name = getBackend();
    if (name === 'wasm') {
      const view = (backend() as unknown as WasmBackend).typedArrayFromHeap(tensor);
      if (view instanceof Float32Array) return view;
    } else if (name === 'cpu') {
      const values = (backend() as unknown as CpuBackend).data.get(tensor.dataId)?.values;
      if (values instanceof Float32Array && values.length === tensor.size) return values;
    }
  }
  const values = tensor.dataSync();
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}
