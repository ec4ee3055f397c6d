// Binary ops whose broadcast along a size-1 inner axis is slow in stock tfjs: materialise the broadcast, then run stock.

import { KernelConfig, KernelFunc, TensorInfo, backend_util, util } from '@tensorflow/tfjs-core';
import { CpuBackend, TypedArray, WasmBackend, cpuValues } from './backend_access';
import { stockKernel } from './stock';
import { copyStrided } from './strided_copy';

type BinaryArgs = { inputs: { a: TensorInfo; b: TensorInfo }; attrs: object; backend: CpuBackend | WasmBackend };

/**
 * Stock tfjs is fast when no input has a size-1 axis stretched by broadcasting (same shapes, a
 * scalar, a bias [n] against [m, n]); otherwise cpu walks every element through index arrays
 * and wasm's comparisons take a generic loop: ~9-11 ms instead of ~0.5 ms for the
 * GlobalMaxPooling1D gradient's equal(x [32,46,64], max [32,1,64]). Copying the stretched input to
 * the full shape first makes it the fast same-shape case, with bit-identical results.
 */
function broadcastingKernel(kernelName: string, backendName: 'cpu' | 'wasm'): KernelConfig {
  const kernelFunc = (args: BinaryArgs): TensorInfo => {
    const { inputs: { a, b }, backend } = args;
    const stock = stockKernel(kernelName, backendName);
    const plain = (t: TensorInfo) => t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';
    if (!plain(a) || !plain(b)) return stock(args as never) as TensorInfo;
    const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const stretched = (t: TensorInfo) => backend_util.getBroadcastDims(t.shape, shape).length > 0;
    if (!stretched(a) && !stretched(b)) return stock(args as never) as TensorInfo;
    const aFull = stretched(a) ? broadcastTo(backendName, backend, a, shape) : a;
    const bFull = stretched(b) ? broadcastTo(backendName, backend, b, shape) : b;
    const out = stock({ ...args, inputs: { a: aFull, b: bFull } } as never) as TensorInfo;
    if (aFull !== a) backend.disposeData(aFull.dataId);
    if (bFull !== b) backend.disposeData(bFull.dataId);
    return out;
  };
  return { kernelName, backendName, kernelFunc: kernelFunc as unknown as KernelFunc };
}

function broadcastTo(backendName: 'cpu' | 'wasm', backend: CpuBackend | WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  const own = [...util.computeStrides(x.shape), 1];
  const lead = shape.length - x.shape.length;
  // Stride 0 repeats an element along the axes x lacks or has at size 1.
  const strides = shape.map((size, axis) => (axis < lead || (x.shape[axis - lead] === 1 && size !== 1) ? 0 : own[axis - lead]));
  if (backendName === 'cpu') {
    const cpu = backend as CpuBackend;
    const values = cpuValues(cpu, x);
    const out = new (values.constructor as new (n: number) => TypedArray)(util.sizeFromShape(shape));
    copyStrided(values, 0, strides, shape, out);
    return cpu.makeTensorInfo(shape, x.dtype, out);
  }
  const wasm = backend as WasmBackend;
  const full = wasm.makeOutput(shape, x.dtype);
  copyStrided(wasm.typedArrayFromHeap(x), 0, strides, shape, wasm.typedArrayFromHeap(full));
  return full;
}

const CPU_BINARY_OPS = [
  'Add', 'Sub', 'Multiply', 'RealDiv', 'FloorDiv', 'Maximum', 'Minimum', 'Mod', 'Pow', 'SquaredDifference', 'Atan2',
  'Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr',
];
// wasm's arithmetic broadcasts fast already (0.3 ms for the case above); only its comparisons do not.
const WASM_BINARY_OPS = ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr'];

export const broadcastingCpuConfigs = CPU_BINARY_OPS.map((name) => broadcastingKernel(name, 'cpu'));
export const broadcastingWasmConfigs = WASM_BINARY_OPS.map((name) => broadcastingKernel(name, 'wasm'));
