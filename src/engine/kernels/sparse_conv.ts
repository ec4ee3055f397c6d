// The two gradients of a convolution when dy is mostly zeros: only its nonzero entries are visited.

import { TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import { TypedArray, WasmBackend } from './backend_access';
import { simdKernels } from './wasm_simd';
import { transposeLastTwo } from './wasm_util';

/**
 * Why: a convolution followed by max pooling gets a dy that is almost all zeros. GlobalMaxPool1D passes
 * the gradient to one time step per sequence and channel (a few more on ties), and ReLU's mask keeps
 * only those that were positive: for the Conv1D(64, k5) on 32 x 50 tokens about 2048 of dy's 94208
 * entries (2.2%) are nonzero. The dense gradients multiply every zero, each as many floating-point
 * operations as the forward pass (~3 ms apiece through XNNPACK); walking the nonzero entries does 2%
 * of that work. Entries that are exactly zero add exact zeros to every sum, so skipping them changes
 * nothing but the order of the additions, with one exception handled by the callers: a non-finite
 * value of x or the filter times a zero is NaN in the dense product, so those inputs stay dense.
 */

/**
 * Sparse only while at most this fraction of dy is nonzero. For the Conv1D(64, k5) on [32, 50, 64] each gradient
 * took ~0.8 ms at 2.2% nonzero, ~1.1 ms at 3.9%, against 3-4 ms dense (XNNPACK): ~0.2 µs per nonzero entry, even
 * with XNNPACK at ~15%. The bound keeps a margin for shapes with more JS overhead per entry (2-D filters).
 */
const MAX_DENSITY = 0.08;

/** Nonzero entries of dy (flat indices, ascending) by dy's data: both gradients of a layer read the same dy. */
const nonzeroCache = new WeakMap<object, Int32Array | null>();

/**
 * The flat indices of dy's nonzero entries (±0 are zero, NaN is not), ascending, or undefined when more than
 * MAX_DENSITY of dy is nonzero. Groups of four are tested at once by the SIMD module where it loaded.
 */
export function nonzeroEntries(backend: WasmBackend, dy: TensorInfo): Int32Array | undefined {
  const cached = nonzeroCache.get(dy.dataId);
  if (cached !== undefined) return cached ?? undefined;
  const n = dy.shape.reduce((a, b) => a * b, 1);
  const limit = Math.floor(n * MAX_DENSITY);
  const found = new Int32Array(limit);
  let count = 0;
  let dense = false;
  const take = (values: TypedArray, from: number, to: number) => {
    for (let i = from; i < to && !dense; i++) {
      if (values[i] === 0) continue;
      if (count === limit) dense = true;
      else found[count++] = i;
    }
  };
  const simd = simdKernels();
  const head = n - (n % 4);
  if (simd !== undefined && head > 0) {
    const groups = backend.makeOutput([head / 4], 'int32');
    const values = backend.typedArrayFromHeap(dy) as Float32Array;
    const at = backend.typedArrayFromHeap(groups) as Int32Array;
    simd.nonzeroGroups(values.byteOffset, head * 4, at.byteOffset);
    const groupCount = simd.result.count.value;
    if (groupCount > limit) dense = true;
    for (let g = 0; g < groupCount && !dense; g++) {
      const first = at[g] >> 2;
      take(values, first, first + 4);
    }
    backend.disposeData(groups.dataId);
    take(backend.typedArrayFromHeap(dy), head, n);
  } else {
    take(backend.typedArrayFromHeap(dy), 0, n);
  }
  const result = dense ? null : found.slice(0, count);
  nonzeroCache.set(dy.dataId, result);
  return result ?? undefined;
}

/** True when every value of a float32 tensor is finite (x − x is 0 for finite x, NaN for ±Inf and NaN). */
export function allFinite(backend: WasmBackend, tensor: TensorInfo): boolean {
  const values = backend.typedArrayFromHeap(tensor);
  const simd = simdKernels();
  let i = 0;
  if (simd !== undefined) {
    i = values.length - (values.length % 4);
    if (i > 0) {
      simd.finite(values.byteOffset, i * 4);
      if (simd.result.count.value !== 1) return false;
    }
  }
  let probe = 0;
  for (; i < values.length; i++) probe += values[i] - values[i];
  return probe === 0;
}

/** dst[dstAt + i] += src[srcAt + i]·a for i < length (float32 elements of the wasm heap; `heap` is a view of all of it). */
type Axpy = (dstAt: number, srcAt: number, length: number, a: number) => void;

/**
 * Float32 as the SIMD axpy computes it (product rounded, then sum), so both paths give the same bits: the SIMD
 * module for whole groups of four, JS for the rest.
 */
function axpyOn(heap: Float32Array): Axpy {
  const simd = simdKernels();
  return (dstAt, srcAt, length, a) => {
    let i = 0;
    if (simd !== undefined) {
      i = length - (length % 4);
      if (i > 0) simd.axpy(dstAt * 4, srcAt * 4, i * 4, a);
    }
    for (; i < length; i++) heap[dstAt + i] += Math.fround(heap[srcAt + i] * a);
  };
}

/** Where in the heap (float index) a float32 tensor's values start. */
const floatsAt = (backend: WasmBackend, t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset >> 2;

/**
 * Calls add(b, ih, iw0, tap0, taps, value, co) for every nonzero dy[b, oh, ow, co] and every filter row fh whose
 * input row ih is inside x, with the run of that row's taps whose input columns are inside x: taps
 * [tap0, tap0 + taps) of the flattened (fh, fw) read x columns iw0, iw0 + 1, ... (adjacent at any stride, as the
 * stride moves the window, not its taps), so each run is one contiguous run of x and of the [co, fh, fw, c] rows.
 */
function forEachRun(
  info: backend_util.Conv2DInfo, entries: Int32Array, values: TypedArray,
  add: (b: number, ih: number, iw0: number, tap0: number, taps: number, value: number, co: number) => void,
): void {
  const { inHeight, inWidth, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  for (let e = 0; e < entries.length; e++) {
    const at = entries[e];
    const co = at % outChannels;
    const position = (at - co) / outChannels;
    const ow = position % outWidth;
    const row = (position - ow) / outWidth;
    const oh = row % outHeight;
    const b = (row - oh) / outHeight;
    const start = ow * strideWidth - left;
    const fw0 = Math.max(0, -start);
    const fw1 = Math.min(filterWidth, inWidth - start);
    if (fw1 <= fw0) continue;
    for (let fh = 0; fh < filterHeight; fh++) {
      const ih = oh * strideHeight - top + fh;
      if (ih < 0 || ih >= inHeight) continue;
      add(b, ih, start + fw0, fh * filterWidth + fw0, fw1 - fw0, values[at], co);
    }
  }
}

/**
 * dW[fh, fw, c, co] = Σ over nonzero dy[b, oh, ow, co] of dy · x[b, oh·sh − top + fh, ow·sw − left + fw, c]
 * (positions outside x read the zero padding and are skipped), NHWC, float32. Accumulated as dWᵀ [co, fh·fw·c] so
 * that each run of taps adds one contiguous run of x (its filter columns are adjacent input columns), then
 * transposed. Float32 sums of about batch-many terms each, in dy's order.
 */
export function sparseFilterGradient(
  backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, entries: Int32Array,
): TensorInfo {
  const { inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth } = info;
  const patchSize = filterHeight * filterWidth * inChannels;
  const dWT = backend.makeOutput([1, outChannels, patchSize], 'float32');
  // Views after the allocation (a heap growth would detach earlier ones).
  const heap = new Float32Array(backend.typedArrayFromHeap(dWT).buffer);
  const accAt = floatsAt(backend, dWT);
  heap.fill(0, accAt, accAt + outChannels * patchSize);
  const xAt = floatsAt(backend, x);
  const axpy = axpyOn(heap);
  forEachRun(info, entries, backend.typedArrayFromHeap(dy), (b, ih, iw0, tap0, taps, value, co) => {
    const from = xAt + ((b * inHeight + ih) * inWidth + iw0) * inChannels;
    const to = accAt + co * patchSize + tap0 * inChannels;
    axpy(to, from, taps * inChannels, value);
  });
  const dW = transposeLastTwo(backend, dWT);
  backend.disposeData(dWT.dataId);
  return { dataId: dW.dataId, shape: info.filterShape, dtype: 'float32' };
}

/**
 * dx[b, ih, iw, c] = Σ over nonzero dy[b, oh, ow, co] and the taps (fh, fw) that read (ih, iw) of dy · W[fh, fw, c, co],
 * NHWC, float32. The filter is transposed to Wᵀ [co, fh·fw·c] first, so each run of taps adds a contiguous run of it.
 */
export function sparseInputGradient(
  backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, entries: Int32Array,
): TensorInfo {
  const { inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth } = info;
  const patchSize = filterHeight * filterWidth * inChannels;
  const wT = transposeLastTwo(backend, { ...filter, shape: [1, patchSize, outChannels] });
  const dx = backend.makeOutput(info.inShape, 'float32');
  // Views after the allocations (a heap growth would detach earlier ones).
  const heap = new Float32Array(backend.typedArrayFromHeap(dx).buffer);
  const dxAt = floatsAt(backend, dx);
  heap.fill(0, dxAt, dxAt + info.inShape.reduce((a, b) => a * b, 1));
  const wAt = floatsAt(backend, wT);
  const axpy = axpyOn(heap);
  forEachRun(info, entries, backend.typedArrayFromHeap(dy), (b, ih, iw0, tap0, taps, value, co) => {
    const to = dxAt + ((b * inHeight + ih) * inWidth + iw0) * inChannels;
    const from = wAt + co * patchSize + tap0 * inChannels;
    axpy(to, from, taps * inChannels, value);
  });
  backend.disposeData(wT.dataId);
  return dx;
}
