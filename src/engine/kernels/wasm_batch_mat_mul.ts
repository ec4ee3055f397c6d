// wasm BatchMatMul with transpose flags: transpose explicitly, then take XNNPACK's fast path.

import { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo, util } from '@tensorflow/tfjs-core';
import { WasmBackend } from './backend_access';
import { stockKernel } from './stock';
import { transposeLastTwo } from './wasm_util';

type MatMulArgs = { inputs: { a: TensorInfo; b: TensorInfo }; attrs: BatchMatMulAttrs; backend: WasmBackend };

/**
 * Every matmul gradient sets a transpose flag (dA = dy x B^T, dB = A^T x dy), and wasm's
 * BatchMatMul sends any flagged product to a naive C++ loop: 0.55 vs 0.10 ms for the LSTM's
 * [32,64]x[64,256], 6-8 vs 0.4 ms for the MLP's [64,784]x[784,128]. A copy by wasm's Transpose is
 * cheap next to that, and the unflagged product goes to XNNPACK. Batched products (outer dims
 * > 1) take the naive loop either way, so they stay with the stock kernel.
 */
function batchMatMulWasm(args: MatMulArgs): TensorInfo {
  const { inputs: { a, b }, attrs: { transposeA, transposeB }, backend } = args;
  const stock = stockKernel('BatchMatMul', 'wasm');
  const single = (t: TensorInfo) => util.sizeFromShape(t.shape.slice(0, -2)) === 1;
  if ((!transposeA && !transposeB) || !single(a) || !single(b)) return stock(args as never) as TensorInfo;
  const aPlain = transposeA ? transposeLastTwo(backend, a) : a;
  const bPlain = transposeB ? transposeLastTwo(backend, b) : b;
  const out = stock({ inputs: { a: aPlain, b: bPlain }, backend: backend as never, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
  if (aPlain !== a) backend.disposeData(aPlain.dataId);
  if (bPlain !== b) backend.disposeData(bPlain.dataId);
  return out;
}

export const batchMatMulWasmConfig: KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMulWasm as unknown as KernelFunc,
};
