// GatherV2 (the Embedding lookup) for cpu and wasm: one contiguous row copy per index.

import { GatherV2Attrs, KernelConfig, KernelFunc, TensorInfo, backend_util, util } from '@tensorflow/tfjs-core';
import { CpuBackend, TypedArray, WasmBackend, cpuValues } from './backend_access';
import { rememberGatheredRows } from './embedding_conv';
import { stockKernel } from './stock';
import { simdKernels } from './wasm_simd';
import { copyRowsSimd } from './wasm_util';

type GatherArgs<B> = { inputs: { x: TensorInfo; indices: TensorInfo }; attrs: GatherV2Attrs; backend: B };

const isPlainDtype = (x: TensorInfo) => x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';

/** The shapes of the copy, with tfjs' own checks; indices out of range throw the stock kernel's message. */
function plan(x: TensorInfo, indices: TensorInfo, attrs: GatherV2Attrs, indexValues: TypedArray) {
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
  const info = backend_util.segment_util.collectGatherOpShapeInfo(x as never, indices as never, axis, attrs.batchDims ?? 0);
  const dimSize = x.shape[axis];
  for (let i = 0; i < indexValues.length; i++) {
    const index = indexValues[i];
    if (!(index >= 0 && index <= dimSize - 1)) {
      throw new Error(`GatherV2: the index value ${index} is not in [0, ${dimSize - 1}]`);
    }
  }
  return { ...info, perBatch: util.sizeFromShape(indices.shape) / info.batchSize };
}

/** out[b, o, i, :] = x[b, o, indices[b, i], :] with x seen as [batch, outer, dim, slice]. */
function gatherRows(x: TypedArray, ids: TypedArray, out: TypedArray, p: ReturnType<typeof plan>): void {
  const { batchSize, outerSize, dimSize, sliceSize, perBatch } = p;
  let to = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = (b * outerSize + o) * dimSize * sliceSize;
      for (let i = 0; i < perBatch; i++) {
        const from = base + ids[b * perBatch + i] * sliceSize;
        if (sliceSize < 16) {
          for (let s = 0; s < sliceSize; s++) out[to + s] = x[from + s];
        } else {
          out.set(x.subarray(from, from + sliceSize), to);
        }
        to += sliceSize;
      }
    }
  }
}

/**
 * The stock wasm kernel computes every output element's source index in C++ (3.6 ms for the [1600] ids into
 * [5000, 64] of the text models, ~8% of a SimpleRNN step); the stock cpu one walks per-element index arrays.
 */
function gatherCpu(args: GatherArgs<CpuBackend>): TensorInfo {
  const { inputs: { x, indices }, attrs, backend } = args;
  if (!isPlainDtype(x)) return stockKernel('GatherV2', 'cpu')(args as never) as TensorInfo;
  const ids = cpuValues(backend, indices);
  const p = plan(x, indices, attrs, ids);
  const values = cpuValues(backend, x);
  const out = new (values.constructor as new (n: number) => TypedArray)(util.sizeFromShape(p.outputShape));
  gatherRows(values, ids, out, p);
  return backend.makeTensorInfo(p.outputShape, x.dtype, out);
}

function gatherWasm(args: GatherArgs<WasmBackend>): TensorInfo {
  const { inputs: { x, indices }, attrs, backend } = args;
  if (!isPlainDtype(x)) return stockKernel('GatherV2', 'wasm')(args as never) as TensorInfo;
  const p = plan(x, indices, attrs, backend.typedArrayFromHeap(indices));
  const out = backend.makeOutput(p.outputShape, x.dtype);
  // Views after the allocation (a heap growth detaches earlier ones).
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  const simd = simdKernels();
  const step = xv.BYTES_PER_ELEMENT;
  if (simd !== undefined && step === 4 && p.batchSize === 1 && p.outerSize === 1 && p.sliceSize % 4 === 0 && p.perBatch > 0) {
    // One SIMD call for all rows (the Embedding lookup's 1600 rows: ~0.25 → ~0.05 ms).
    // The row starts copied off the heap first (copyRowsSimd allocates, which may detach a view of the ids).
    const starts = Int32Array.from(backend.typedArrayFromHeap(indices) as Int32Array, id => id * p.sliceSize);
    copyRowsSimd(backend, simd, out, x, starts, p.sliceSize);
  } else if (p.sliceSize >= 16) {
    // x and out share the heap: copyWithin on one view of it moves each row without a subarray per row.
    const heap = new (xv.constructor as new (buffer: ArrayBufferLike) => TypedArray)(xv.buffer);
    copyRows(heap, xv.byteOffset / step, backend.typedArrayFromHeap(indices), ov.byteOffset / step, p);
  } else {
    gatherRows(xv, backend.typedArrayFromHeap(indices), ov, p);
  }
  // Rows of a table by index (the Embedding lookup): a convolution over them may multiply each distinct row once.
  if (x.dtype === 'float32' && p.batchSize === 1 && p.outerSize === 1) rememberGatheredRows(out, backend.typedArrayFromHeap(indices), p.sliceSize);
  return out;
}

/** gatherRows for x and out in one array (the wasm heap) at element offsets xAt and outAt. */
function copyRows(heap: TypedArray, xAt: number, ids: TypedArray, outAt: number, p: ReturnType<typeof plan>): void {
  const { batchSize, outerSize, dimSize, sliceSize, perBatch } = p;
  let to = outAt;
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = xAt + (b * outerSize + o) * dimSize * sliceSize;
      for (let i = 0; i < perBatch; i++) {
        const from = base + ids[b * perBatch + i] * sliceSize;
        heap.copyWithin(to, from, from + sliceSize);
        to += sliceSize;
      }
    }
  }
}

export const gatherV2CpuConfig: KernelConfig = { kernelName: 'GatherV2', backendName: 'cpu', kernelFunc: gatherCpu as unknown as KernelFunc };
export const gatherV2WasmConfig: KernelConfig = { kernelName: 'GatherV2', backendName: 'wasm', kernelFunc: gatherWasm as unknown as KernelFunc };
