// The few internals of the cpu and wasm backends (tfjs 4.22) that the project's kernels read and write.

import type { DataId, DataType, TensorInfo, backend_util } from '@tensorflow/tfjs-core';

export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** What a cpu kernel needs from MathBackendCPU: tensor values live in JS typed arrays. */
export interface CpuBackend {
  data: { get(dataId: DataId): { values: backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: backend_util.BackendValues): TensorInfo;
  disposeData(dataId: DataId): boolean;
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
}

export function cpuValues(backend: CpuBackend, tensor: TensorInfo): TypedArray {
  return backend.data.get(tensor.dataId).values as TypedArray;
}
