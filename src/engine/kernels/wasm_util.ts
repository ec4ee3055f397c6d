// Helpers shared by the project's wasm kernels: calling wasm's own kernels and chunking im2col work.

import { KernelFunc, TensorInfo, getKernel } from '@tensorflow/tfjs-core';
import { WasmBackend } from './backend_access';
import type { SimdKernels } from './wasm_simd';

/** The kernel registered for wasm under `kernelName` (the project's where it replaced the stock one). */
export function wasmKernel(kernelName: string): KernelFunc {
  const config = getKernel(kernelName, 'wasm');
  if (config === undefined) throw new Error(`The project's wasm kernels need wasm's '${kernelName}' kernel, which is not registered`);
  return config.kernelFunc;
}

/**
 * a [1, m, k] x b [1, k, n] without transpose flags: the only case wasm's BatchMatMul hands to
 * XNNPACK (any transpose flag or batch > 1 takes its naive loop, 6-14x slower).
 */
export function matMulPlain(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  return wasmKernel('BatchMatMul')({
    inputs: { a, b }, backend: backend as never, attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
}

/** op(a) x op(b) through the registered BatchMatMul (the project's: explicit transposes, then XNNPACK). */
export function matMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo {
  return wasmKernel('BatchMatMul')({ inputs: { a, b }, backend: backend as never, attrs: { transposeA, transposeB } }) as TensorInfo;
}

/** Swaps the last two axes with wasm's Transpose kernel (a copy; the caller disposes it). */
export function transposeLastTwo(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return wasmKernel('Transpose')({ inputs: { x }, backend: backend as never, attrs: { perm } }) as TensorInfo;
}

/**
 * Most floats one im2col/col2im matrix may take on the wasm heap (32 MiB): larger batches are
 * processed in chunks of whole images, so a big 2-D convolution cannot exhaust the heap.
 */
const PATCH_BUDGET_FLOATS = 8 * 1024 * 1024;

export function imagesPerChunk(patchSize: number, positionsPerImage: number): number {
  return Math.max(1, Math.floor(PATCH_BUDGET_FLOATS / Math.max(1, patchSize * positionsPerImage)));
}

/**
 * dy's rows for images [first, first + count) as a [1, rows, channels] matrix: dy itself when the
 * chunk is the whole batch (owned: false), else a copy the caller disposes (owned: true).
 */
export function imageRows(
  backend: WasmBackend, dy: TensorInfo, first: number, count: number, positionsPerImage: number, channels: number,
): { rows: TensorInfo; owned: boolean } {
  const shape = [1, count * positionsPerImage, channels];
  if (first === 0 && count === dy.shape[0]) return { rows: { ...dy, shape }, owned: false };
  const rows = backend.makeOutput(shape, 'float32');
  const from = first * positionsPerImage * channels;
  backend.typedArrayFromHeap(rows).set(backend.typedArrayFromHeap(dy).subarray(from, from + count * positionsPerImage * channels));
  return { rows, owned: true };
}

/**
 * Row i of dst ← the `rowFloats` floats of src that start at float `starts[i]`, in one call of the SIMD module's
 * copyRows (rowFloats a multiple of 4; float32 tensors on the heap). For the row copies of GatherV2 and of the
 * distinct-token convolution, without a JS call per row. `starts` must not be a view of the heap: the offsets'
 * allocation may grow it, which detaches such views.
 */
export function copyRowsSimd(backend: WasmBackend, simd: SimdKernels, dst: TensorInfo, src: TensorInfo, starts: ArrayLike<number>, rowFloats: number): void {
  const count = starts.length;
  const from = backend.makeOutput([Math.max(1, count)], 'int32');
  try {
    // Views after the allocation.
    const offsets = backend.typedArrayFromHeap(from);
    for (let i = 0; i < count; i++) offsets[i] = starts[i] * 4;
    simd.copyRows(backend.typedArrayFromHeap(dst).byteOffset, backend.typedArrayFromHeap(src).byteOffset, offsets.byteOffset, count, rowFloats * 4);
  } finally {
    backend.disposeData(from.dataId);
  }
}
