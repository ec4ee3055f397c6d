// UnsortedSegmentSum (the gradient of Embedding/gather) for cpu and wasm, in one pass over the input.

import { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs, util } from '@tensorflow/tfjs-core';
import { CpuBackend, TypedArray, WasmBackend, cpuValues } from './backend_access';
import { SimdKernels, simdKernels } from './wasm_simd';

interface SegmentSumArgs {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  attrs: UnsortedSegmentSumAttrs;
}

/**
 * TF semantics: segmentIds' shape is a prefix of x's shape, each id names the output row its
 * slice of x is added to, and ids outside [0, numSegments) are dropped (as TF's GPU kernel and
 * tfjs' stock kernels do, where TF's CPU kernel would raise).
 */
function outputShape({ inputs: { x, segmentIds }, attrs: { numSegments } }: SegmentSumArgs): number[] {
  const idsRank = segmentIds.shape.length;
  util.assert(
    util.arraysEqual(x.shape.slice(0, idsRank), segmentIds.shape),
    () => `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
  );
  return [numSegments, ...x.shape.slice(idsRank)];
}

/**
 * Sums rows of x into out (zeroed by the caller). Float sums go through doubles, like the stock cpu kernel
 * (which sums in JS doubles): a padding token repeated a thousand times in a batch would otherwise lose ~1e-5
 * relative to float32 rounding at every add. Only the segments that occur get a double accumulator: an
 * Embedding(5000, 64) gradient from 1600 tokens touches at most 1600 of the 5000 rows, and zeroing, summing
 * and converting all 320k doubles took ~1.5 ms per step.
 */
function scatterRows(x: TypedArray, ids: TypedArray, out: TypedArray, rowSize: number, numSegments: number): void {
  if (out instanceof Int32Array) {
    for (let i = 0; i < ids.length; i++) {
      const segment = ids[i];
      if (segment < 0 || segment >= numSegments) continue;
      const from = i * rowSize;
      const to = segment * rowSize;
      for (let j = 0; j < rowSize; j++) out[to + j] += x[from + j];
    }
    return;
  }
  const slotOf = new Int32Array(numSegments).fill(-1);
  const segments: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i];
    if (segment >= 0 && segment < numSegments && slotOf[segment] < 0) {
      slotOf[segment] = segments.length;
      segments.push(segment);
    }
  }
  const acc = new Float64Array(segments.length * rowSize);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue;
    const from = i * rowSize;
    const to = slotOf[segment] * rowSize;
    for (let j = 0; j < rowSize; j++) acc[to + j] += x[from + j];
  }
  for (let s = 0; s < segments.length; s++) {
    const to = segments[s] * rowSize;
    for (let j = 0; j < rowSize; j++) out[to + j] = acc[s * rowSize + j];
  }
}

function checkDtype(x: TensorInfo): void {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum supports float32 and int32 x, got ${x.dtype}`);
  }
}

function unsortedSegmentSumCpu(args: SegmentSumArgs & { backend: CpuBackend }): TensorInfo {
  const { inputs: { x, segmentIds }, attrs: { numSegments }, backend } = args;
  checkDtype(x);
  const shape = outputShape(args);
  // The output keeps x's dtype as TF does (the stock cpu kernel turned int32 into float32).
  const out = x.dtype === 'int32' ? new Int32Array(util.sizeFromShape(shape)) : new Float32Array(util.sizeFromShape(shape));
  scatterRows(cpuValues(backend, x), cpuValues(backend, segmentIds), out, util.sizeFromShape(shape.slice(1)), numSegments);
  return backend.makeTensorInfo(shape, x.dtype, out);
}

function unsortedSegmentSumWasm(args: SegmentSumArgs & { backend: WasmBackend }): TensorInfo {
  const { inputs: { x, segmentIds }, attrs: { numSegments }, backend } = args;
  checkDtype(x);
  const shape = outputShape(args);
  const rowSize = util.sizeFromShape(shape.slice(1));
  const simd = simdKernels();
  if (x.dtype === 'float32' && simd !== undefined && rowSize > 0 && rowSize % 4 === 0) return scatterRowsSimd(backend, x, segmentIds, shape, numSegments, simd);
  const result = backend.makeOutput(shape, x.dtype);
  const out = backend.typedArrayFromHeap(result);
  out.fill(0); // malloc'ed memory is not zeroed
  scatterRows(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(segmentIds), out, rowSize, numSegments);
  return result;
}

/**
 * scatterRows' float sums (the same float64 additions in the same order, one rounding to float32 at the end) with
 * the SIMD module: the accumulators on the wasm heap, each row of x added in one call over all rows, each touched
 * segment rounded back in one call. ~0.6 → ~0.15 ms for the Embedding(5000, 64) gradient of 1600 tokens, and no
 * JS Float64Array per step for the collector.
 */
function scatterRowsSimd(
  backend: WasmBackend, x: TensorInfo, segmentIds: TensorInfo, shape: number[], numSegments: number, simd: SimdKernels,
): TensorInfo {
  const rowSize = util.sizeFromShape(shape.slice(1));
  const ids = backend.typedArrayFromHeap(segmentIds);
  const count = ids.length;
  const slotOf = new Int32Array(numSegments).fill(-1);
  const segments: number[] = [];
  const rowBytes = rowSize * 4;
  const offsets = new Int32Array(count); // per row of x: its accumulator's byte offset, or −1
  for (let i = 0; i < count; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) {
      offsets[i] = -1;
      continue;
    }
    if (slotOf[segment] < 0) {
      slotOf[segment] = segments.length;
      segments.push(segment);
    }
    offsets[i] = slotOf[segment] * rowBytes * 2;
  }
  const result = backend.makeOutput(shape, 'float32');
  const acc = backend.makeOutput([Math.max(1, segments.length * rowSize * 2)], 'float32'); // float64 pairs
  const to = backend.makeOutput([Math.max(1, count)], 'int32');
  // Views after the allocations (a heap growth would detach earlier ones).
  const out = backend.typedArrayFromHeap(result);
  out.fill(0); // malloc'ed memory is not zeroed
  const accView = backend.typedArrayFromHeap(acc);
  accView.fill(0); // all bits clear: float64 +0
  const toView = backend.typedArrayFromHeap(to);
  toView.set(offsets);
  simd.scatterAddF64(accView.byteOffset, backend.typedArrayFromHeap(x).byteOffset, toView.byteOffset, count, rowBytes);
  for (let s = 0; s < segments.length; s++) {
    simd.demoteRow(out.byteOffset + segments[s] * rowBytes, accView.byteOffset + s * rowBytes * 2, rowBytes);
  }
  backend.disposeData(acc.dataId);
  backend.disposeData(to.dataId);
  touched.set(result.dataId, { rowSize, segments }); // every step: the list the loop above built, nothing more
  return result;
}

/**
 * The rows each output of the SIMD kernel was written in, by its data (which reshapes share): every other row is
 * zero. The monitoring hand-over copies those rows of an Embedding's gradient instead of scanning all of it for
 * nonzeros (wasm_stats.ts packNonzero). A gradient that went through any other op (a regularizer's term, summed
 * micro-batches) has other data and is scanned.
 */
const touched = new WeakMap<object, { rowSize: number; segments: number[] }>();

/**
 * The rows of `t` that may hold a nonzero, ascending, when `t`'s data is an output of the kernel above. Sorted
 * here, on a monitored step, not in the kernel, which runs on every step.
 */
export function touchedRows(t: TensorInfo): { rowSize: number; rows: Int32Array } | undefined {
  const entry = touched.get(t.dataId);
  if (!entry || entry.rowSize <= 0 || util.sizeFromShape(t.shape) % entry.rowSize !== 0) return undefined;
  return { rowSize: entry.rowSize, rows: Int32Array.from(entry.segments).sort() };
}

export const unsortedSegmentSumCpuConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'cpu',
  kernelFunc: unsortedSegmentSumCpu as unknown as KernelFunc,
};

export const unsortedSegmentSumWasmConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSumWasm as unknown as KernelFunc,
};
