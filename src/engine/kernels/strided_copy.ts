// Copies a strided box of a typed array into a dense one: the core of cpu Slice, SplitV and Transpose.

import { TypedArray } from './backend_access';

/**
 * Writes into dst, in row-major order of `shape`, the elements of src at
 * offset + sum_k index[k] * strides[k]. Adjacent dims that are contiguous in src are merged first,
 * so a slice of whole rows, or a transpose that keeps the last axis, copies long runs instead of
 * walking every element (the stock cpu kernels allocate index arrays per element).
 */
export function copyStrided(src: TypedArray, offset: number, strides: number[], shape: number[], dst: TypedArray): void {
  if (dst.length === 0) return;
  const dims: number[] = [];
  const steps: number[] = [];
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && steps[last] === strides[k] * shape[k]) {
      dims[last] *= shape[k];
      steps[last] = strides[k];
    } else {
      dims.push(shape[k]);
      steps.push(strides[k]);
    }
  }
  if (dims.length === 0) {
    dst[0] = src[offset];
    return;
  }
  const inner = dims.length - 1;
  const run = dims[inner];
  const step = steps[inner];
  const index = new Array<number>(inner).fill(0);
  let from = offset;
  for (let to = 0; to < dst.length; to += run) {
    if (step === 1) {
      for (let j = 0; j < run; j++) dst[to + j] = src[from + j];
    } else {
      for (let j = 0, s = from; j < run; j++, s += step) dst[to + j] = src[s];
    }
    for (let d = inner - 1; d >= 0; d--) {
      from += steps[d];
      if (++index[d] < dims[d]) break;
      index[d] = 0;
      from -= steps[d] * dims[d];
    }
  }
}
