// wasm Conv2D over rows gathered from a table (an Embedding's output): each distinct row is multiplied once.

import { Conv2DAttrs, KernelConfig, KernelFunc, TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import { TypedArray, WasmBackend } from './backend_access';
import { stockKernel } from './stock';
import { simdKernels } from './wasm_simd';
import { copyRowsSimd, matMulPlain, wasmKernel } from './wasm_util';

/**
 * Why: a Conv1D over embedded tokens reads the same table row wherever a token repeats, and text repeats its
 * tokens: a batch of 32 x 50 tokens of the benchmark's spam corpus has ~640 distinct ones. The convolution is
 *   y[b, ow] = Σ_fw x[b, ow·sw − left + fw] · W[fw]   (x[b, iw] = table[ids[b, iw]]; padding reads zeros)
 * so with P[u, fw] = table[u] · W[fw] for each distinct row u, y is a sum of `fw` rows of P per output position:
 * one XNNPACK product of the distinct rows [U, c] by the filter as [c, fw·co] (U/N of the convolution's
 * floating-point work: 26 instead of 60 MFLOP there) and a SIMD gather-sum. ~3 → ~1.3 ms for that forward pass.
 *
 * The rows are recognised by their data: GatherV2 (gather.ts) records, for its output, which table row each of
 * its rows is a copy of; tensors are immutable, so the record stays true for that data wherever it is reshaped
 * (a reshape keeps the data). The distinct rows are then read from x itself, not from the table (which the
 * optimizer replaces). Anything else (2-D filters, dilation, few repeats) is the stock kernel's.
 */

interface GatheredRows { ids: Int32Array; rowSize: number }

const gathered = new WeakMap<object, GatheredRows>();

/** Records that row i of `out` (rows of rowSize elements) is a copy of row ids[i] of some table. */
export function rememberGatheredRows(out: TensorInfo, ids: TypedArray, rowSize: number): void {
  gathered.set(out.dataId, { ids: Int32Array.from(ids), rowSize });
}

/** Above this fraction of distinct rows the plain convolution costs about as much: it is used instead. */
const MAX_DISTINCT = 0.75;

type ConvArgs = { inputs: { x: TensorInfo; filter: TensorInfo }; attrs: Conv2DAttrs; backend: WasmBackend };

/**
 * How conv2DWasm computes `args`: the convolution's geometry, the gathered rows' ids, each id's slot among the
 * distinct ones and each slot's first position in x; undefined when the stock kernel is to run.
 */
export function distinctRowsPlan(args: Omit<ConvArgs, 'backend'>) {
  const { inputs: { x, filter }, attrs } = args;
  const rows = gathered.get(x.dataId);
  if (rows === undefined || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad,
    dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat),
  );
  const positions = info.batchSize * info.inWidth;
  if (info.dataFormat !== 'channelsLast' || info.inHeight !== 1 || info.filterHeight !== 1 || info.outHeight !== 1 ||
      info.dilationWidth !== 1 || info.dilationHeight !== 1 || info.inChannels !== rows.rowSize || rows.ids.length !== positions) {
    return undefined;
  }
  let maxId = 0;
  for (const id of rows.ids) maxId = Math.max(maxId, id);
  const slotOf = new Int32Array(maxId + 1).fill(-1);
  const firstAt: number[] = [];
  for (let i = 0; i < positions; i++) {
    const id = rows.ids[i];
    if (slotOf[id] < 0) {
      slotOf[id] = firstAt.length;
      firstAt.push(i);
    }
  }
  if (firstAt.length > MAX_DISTINCT * positions) return undefined;
  return { info, ids: rows.ids, slotOf, firstAt };
}

function conv2DWasm(args: ConvArgs): TensorInfo {
  const { inputs: { x, filter }, backend } = args;
  const plan = distinctRowsPlan(args);
  if (plan === undefined) return stockKernel('Conv2D', 'wasm')(args as never) as TensorInfo;
  const { info, ids, slotOf, firstAt } = plan;
  const { batchSize, inWidth, inChannels, outWidth, outChannels, filterWidth, strideWidth } = info;
  const distinct = firstAt.length;
  const left = info.padInfo.left;
  const span = filterWidth * outChannels; // one row of P
  const distinctRows = backend.makeOutput([1, distinct, inChannels], 'float32');
  const simd = simdKernels();
  if (simd !== undefined && inChannels % 4 === 0) {
    copyRowsSimd(backend, simd, distinctRows, x, firstAt.map(at => at * inChannels), inChannels);
  } else {
    // Views after the allocation (a heap growth would detach earlier ones).
    const xv = backend.typedArrayFromHeap(x);
    const dv = backend.typedArrayFromHeap(distinctRows);
    for (let u = 0; u < distinct; u++) dv.set(xv.subarray(firstAt[u] * inChannels, (firstAt[u] + 1) * inChannels), u * inChannels);
  }
  // The filter [1, fw, c, co] as [c, fw·co] (wasm's Transpose): P = distinct rows x this is every tap of every distinct row.
  const transposed = wasmKernel('Transpose')({
    inputs: { x: { ...filter, shape: [filterWidth, inChannels, outChannels] } }, backend: backend as never, attrs: { perm: [1, 0, 2] },
  }) as TensorInfo;
  const weights = { ...transposed, shape: [1, inChannels, span] };
  const products = matMulPlain(backend, distinctRows, weights); // [1, distinct, fw·co]
  backend.disposeData(distinctRows.dataId);
  backend.disposeData(transposed.dataId);

  const outRows = batchSize * outWidth;
  const table = backend.makeOutput([Math.max(1, outRows * filterWidth)], 'int32');
  const out = backend.makeOutput(info.outShape, 'float32');
  const tv = backend.typedArrayFromHeap(table);
  const pAt = backend.typedArrayFromHeap(products).byteOffset;
  // Byte offsets in P of each output position's taps, −1 where the tap reads the padding.
  for (let b = 0; b < batchSize; b++) {
    for (let ow = 0; ow < outWidth; ow++) {
      const at = (b * outWidth + ow) * filterWidth;
      for (let fw = 0; fw < filterWidth; fw++) {
        const iw = ow * strideWidth - left + fw;
        tv[at + fw] = iw < 0 || iw >= inWidth ? -1 : (slotOf[ids[b * inWidth + iw]] * span + fw * outChannels) * 4;
      }
    }
  }
  const ov = backend.typedArrayFromHeap(out);
  if (simd !== undefined && outChannels % 4 === 0) {
    simd.gatherSum(ov.byteOffset, pAt, tv.byteOffset, outRows, filterWidth, outChannels * 4);
  } else {
    // The same sums in JS (ov a Float32Array: each addition rounded to float32 as there).
    const p = backend.typedArrayFromHeap(products);
    ov.fill(0);
    for (let r = 0; r < outRows; r++) {
      for (let t = 0; t < filterWidth; t++) {
        const from = tv[r * filterWidth + t];
        if (from < 0) continue;
        for (let co = 0; co < outChannels; co++) ov[r * outChannels + co] += p[(from >> 2) + co];
      }
    }
  }
  backend.disposeData(products.dataId);
  backend.disposeData(table.dataId);
  return out;
}

export const conv2DWasmConfig: KernelConfig = { kernelName: 'Conv2D', backendName: 'wasm', kernelFunc: conv2DWasm as unknown as KernelFunc };
