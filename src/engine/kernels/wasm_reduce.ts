// wasm Sum, Max and Min over axes that are not the innermost ones, without the transpose the stock kernels make.

import { KernelConfig, KernelFunc, TensorInfo, backend_util, util } from '@tensorflow/tfjs-core';
import { TypedArray, WasmBackend } from './backend_access';
import { stockKernel } from './stock';
import { simdKernels } from './wasm_simd';

type Kind = 'sum' | 'max' | 'min';
type ReduceArgs = {
  inputs: { x: TensorInfo };
  attrs: { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
  backend: WasmBackend;
};

const KERNEL_NAMES: Record<Kind, string> = { sum: 'Sum', max: 'Max', min: 'Min' };

/**
 * The stock kernels transpose x so that the reduced axes are innermost, then reduce each run in order: the
 * Conv1D model's bias gradient (sum of [32, 46, 64] over the first two axes) and GlobalMaxPool1D (max over the
 * middle axis) copy the whole input first, ~0.2-0.4 ms each. Over adjacent axes followed by kept ones, x is
 * [outer, reduced, row]; this reduces whole rows at a time (SIMD, four columns per instruction), in the same
 * order per output element, so the float32 results are the stock ones bit for bit: sums from +0 in order;
 * max/min keep the first value unless a later one is strictly greater/less or NaN. Reductions over the innermost
 * axis, other dtypes and axes that are not adjacent and ascending stay with the stock kernel.
 */
function reduceWasm(kind: Kind) {
  return (args: ReduceArgs): TensorInfo => {
    const { inputs: { x }, attrs, backend } = args;
    const stock = () => stockKernel(KERNEL_NAMES[kind], 'wasm')(args as never) as TensorInfo;
    const spec = kind === 'max' ? attrs.reductionIndices : attrs.axis;
    if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return stock();
    // Ascending as given: the stock kernels reduce the axes in the order given, which decides the order of the sums.
    const axes = util.parseAxisParam(spec ?? null as unknown as number[], x.shape);
    const adjacent = axes.length > 0 && axes.every((a, k) => a === axes[0] + k);
    const last = axes[axes.length - 1];
    if (!adjacent || last === x.shape.length - 1) return stock();
    const outer = util.sizeFromShape(x.shape.slice(0, axes[0]));
    const reduced = util.sizeFromShape(x.shape.slice(axes[0], last + 1));
    const row = util.sizeFromShape(x.shape.slice(last + 1));
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const out = backend.makeOutput(attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape, 'float32');
    // Views after the allocation (a heap growth would detach earlier ones).
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    const simd = simdKernels();
    if (simd !== undefined && row % 4 === 0) {
      simd[`${kind}Rows`](xv.byteOffset, ov.byteOffset, outer, reduced, row * 4);
    } else {
      reduceRowsJs(kind, xv, ov, outer, reduced, row);
    }
    return out;
  };
}

/** The SIMD functions' arithmetic in JS (out a Float32Array, so each sum is rounded to float32 as there). */
function reduceRowsJs(kind: Kind, x: TypedArray, out: TypedArray, outer: number, reduced: number, row: number): void {
  for (let o = 0; o < outer; o++) {
    const to = o * row;
    for (let c = 0; c < row; c++) out[to + c] = kind === 'sum' ? 0 : x[o * reduced * row + c];
    for (let r = 0; r < reduced; r++) {
      const from = (o * reduced + r) * row;
      for (let c = 0; c < row; c++) {
        const a = out[to + c];
        const v = x[from + c];
        if (kind === 'sum') out[to + c] = a + v;
        else if (v !== v || (kind === 'max' ? v > a : v < a)) out[to + c] = v;
      }
    }
  }
}

export const reduceWasmConfigs: KernelConfig[] = (['sum', 'max', 'min'] as const).map((kind) => ({
  kernelName: KERNEL_NAMES[kind], backendName: 'wasm', kernelFunc: reduceWasm(kind) as unknown as KernelFunc,
}));
