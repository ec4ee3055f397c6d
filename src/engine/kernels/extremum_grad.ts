// The gradient of Max/Min over contiguous axes in one pass, for cpu and wasm (the project's tie-splitting
// gradient, gradients.ts, otherwise runs as equal, cast, sum, div and mul over the whole input).

import { KernelConfig, KernelFunc, TensorInfo, util } from '@tensorflow/tfjs-core';
import { CpuBackend, TypedArray, WasmBackend, cpuValues } from './backend_access';
import { simdKernels } from './wasm_simd';

/** The kernel's name: not a tfjs kernel, so no backend has a stock one; gradients.ts runs it when registered. */
export const EXTREMUM_GRAD = 'GradmonExtremumGrad';

/**
 * Inputs x (the reduced tensor), y (the extremum, x's shape with the reduced axes dropped or kept at 1), dy
 * (y's gradient, same size as y); attrs.axes: the reduced axes, ascending and adjacent; x, y and dy float32.
 */
export interface ExtremumGradAttrs { axes: number[] }

/**
 * dx = dy · (x == y ? 1 : 0) / (the count of x == y along the axes), the value of gradients.ts' chain
 * mul(dy, div(cast(equal(x, y)), sum(mask))), bit for bit: the quotients are float32 divisions (a division in
 * doubles rounded once to float32 is the correctly rounded float32 division), so a tie of n gets dy·fround(1/n),
 * and the others dy·(0/n): a signed zero, or NaN when no element equals y (y NaN) or dy is not finite.
 * For the GlobalMaxPool1D gradient on [32, 46, 64] that chain took ~1.2 ms on wasm (its equal alone ~0.8).
 */
function extremumGradient(x: TypedArray, y: TypedArray, dy: TypedArray, dx: TypedArray, shape: number[], axes: number[]): void {
  const first = axes[0];
  const last = axes[axes.length - 1];
  const outer = util.sizeFromShape(shape.slice(0, first));
  const reduced = util.sizeFromShape(shape.slice(first, last + 1));
  const inner = util.sizeFromShape(shape.slice(last + 1));
  const counts = new Int32Array(inner);
  const tie = new Float64Array(inner); // fround(1 / count)
  const other = new Float64Array(inner); // 0 / count
  for (let o = 0; o < outer; o++) {
    const yAt = o * inner;
    counts.fill(0);
    for (let r = 0; r < reduced; r++) {
      const xAt = (o * reduced + r) * inner;
      for (let i = 0; i < inner; i++) if (x[xAt + i] === y[yAt + i]) counts[i]++;
    }
    for (let i = 0; i < inner; i++) {
      tie[i] = dy[yAt + i] * Math.fround(1 / counts[i]);
      other[i] = dy[yAt + i] * (0 / counts[i]);
    }
    for (let r = 0; r < reduced; r++) {
      const xAt = (o * reduced + r) * inner;
      for (let i = 0; i < inner; i++) dx[xAt + i] = x[xAt + i] === y[yAt + i] ? tie[i] : other[i];
    }
  }
}

type GradArgs<B> = { inputs: { x: TensorInfo; y: TensorInfo; dy: TensorInfo }; attrs: ExtremumGradAttrs; backend: B };

function check({ inputs: { x, y, dy }, attrs: { axes } }: GradArgs<unknown>): void {
  const adjacent = axes.length > 0 && axes.every((a, k) => a === axes[0] + k) && axes[axes.length - 1] < x.shape.length;
  util.assert(adjacent, () => `${EXTREMUM_GRAD}: axes [${axes}] must be ascending and adjacent axes of [${x.shape}]`);
  util.assert([x, y, dy].every((t) => t.dtype === 'float32'), () => `${EXTREMUM_GRAD}: x, y and dy must be float32`);
  const size = util.sizeFromShape(x.shape) / Math.max(1, util.sizeFromShape(axes.map((a) => x.shape[a])));
  util.assert(util.sizeFromShape(y.shape) === size && util.sizeFromShape(dy.shape) === size,
    () => `${EXTREMUM_GRAD}: y [${y.shape}] and dy [${dy.shape}] must have x [${x.shape}]'s size without axes [${axes}]`);
}

function extremumGradCpu(args: GradArgs<CpuBackend>): TensorInfo {
  check(args);
  const { inputs: { x, y, dy }, attrs: { axes }, backend } = args;
  const dx = new Float32Array(util.sizeFromShape(x.shape));
  extremumGradient(cpuValues(backend, x), cpuValues(backend, y), cpuValues(backend, dy), dx, x.shape, axes);
  return backend.makeTensorInfo(x.shape, 'float32', dx);
}

function extremumGradWasm(args: GradArgs<WasmBackend>): TensorInfo {
  check(args);
  const { inputs: { x, y, dy }, attrs: { axes }, backend } = args;
  const dx = backend.makeOutput(x.shape, 'float32');
  const simd = simdKernels();
  const inner = util.sizeFromShape(x.shape.slice(axes[axes.length - 1] + 1));
  if (simd !== undefined && inner % 4 === 0 && dx.shape.every((d) => d > 0)) {
    // The SIMD module, four columns at a time (the JS loop below took ~0.75 ms for [32, 46, 64] here).
    const scratch = backend.makeOutput([2 * inner], 'float32');
    const [xv, yv, dyv, dxv, sv] = [x, y, dy, dx, scratch].map((t) => backend.typedArrayFromHeap(t).byteOffset);
    const outer = util.sizeFromShape(x.shape.slice(0, axes[0]));
    const reduced = util.sizeFromShape(axes.map((a) => x.shape[a]));
    simd.extremumGrad(xv, yv, dyv, dxv, sv, outer, reduced, inner * 4);
    backend.disposeData(scratch.dataId);
    return dx;
  }
  // Views after the allocation (a heap growth would detach earlier ones).
  const [xv, yv, dyv, dxv] = [x, y, dy, dx].map((t) => backend.typedArrayFromHeap(t));
  extremumGradient(xv, yv, dyv, dxv, x.shape, axes);
  return dx;
}

export const extremumGradCpuConfig: KernelConfig = {
  kernelName: EXTREMUM_GRAD, backendName: 'cpu', kernelFunc: extremumGradCpu as unknown as KernelFunc,
};
export const extremumGradWasmConfig: KernelConfig = {
  kernelName: EXTREMUM_GRAD, backendName: 'wasm', kernelFunc: extremumGradWasm as unknown as KernelFunc,
};
