// Conv2DBackpropFilter (the weight gradient of Conv1D/Conv2D) for cpu and wasm.

import { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo, backend_util, util } from '@tensorflow/tfjs-core';
import { CpuBackend, TypedArray, WasmBackend, cpuValues } from './backend_access';
import { allFinite, nonzeroEntries, sparseFilterGradient } from './sparse_conv';
import { imageRows, imagesPerChunk, matMul } from './wasm_util';

interface FilterGradArgs {
  inputs: { x: TensorInfo; dy: TensorInfo };
  attrs: Conv2DBackpropFilterAttrs;
}

/**
 * The attrs carry no dilations, and tfjs-core's Conv2D gradient throws for dilations > 1 before
 * this kernel is reached (so a dilated Conv1D cannot be trained in tfjs 4.22 on any backend):
 * like the stock cpu kernel we compute with dilation 1. Padding ('valid', 'same', a number with
 * dimRoundingMode, explicit pairs) is resolved by tfjs' own computeConv2DInfo, so it means what
 * it means in the forward op.
 */
function convInfoOf({ inputs: { x, dy }, attrs }: FilterGradArgs): backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  // A dy of another shape would make the loops below read outside it.
  util.assert(
    util.arraysEqual(dy.shape, info.outShape),
    () => `Conv2DBackpropFilter: dy shape [${dy.shape}] does not match the convolution's output [${info.outShape}]`,
  );
  return info;
}

/** Element strides of a 4-D tensor in the conv's layout, named by meaning rather than position. */
function layoutStrides(channelsLast: boolean, height: number, width: number, channels: number) {
  return channelsLast
    ? { batch: height * width * channels, row: width * channels, col: channels, channel: 1 }
    : { batch: channels * height * width, row: width, col: 1, channel: height * width };
}

/**
 * dW[fh, fw, c, co] = sum over (b, oh, ow) of x[b, oh*sh - top + fh, ow*sw - left + fw, c] * dy[b, oh, ow, co].
 * One pass over the output positions; the innermost loop runs over output channels on a copied
 * dy row, so it is contiguous whatever the layout. Sums are kept in doubles, as the stock kernel
 * does, so the result matches it to float32 rounding.
 */
function filterGradientJs(x: TypedArray, dy: TypedArray, info: backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const channelsLast = info.dataFormat === 'channelsLast';
  const xs = layoutStrides(channelsLast, inHeight, inWidth, inChannels);
  const dys = layoutStrides(channelsLast, outHeight, outWidth, outChannels);
  const acc = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  const dyRow = new Float64Array(outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyAt = b * dys.batch + oh * dys.row + ow * dys.col;
        for (let co = 0; co < outChannels; co++) dyRow[co] = dy[dyAt + co * dys.channel];
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = oh * strideHeight - top + fh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = ow * strideWidth - left + fw;
            if (iw < 0 || iw >= inWidth) continue;
            const xAt = b * xs.batch + ih * xs.row + iw * xs.col;
            let accAt = (fh * filterWidth + fw) * inChannels * outChannels;
            for (let c = 0; c < inChannels; c++, accAt += outChannels) {
              const xv = x[xAt + c * xs.channel];
              for (let co = 0; co < outChannels; co++) acc[accAt + co] += xv * dyRow[co];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

function conv2DBackpropFilterCpu(args: FilterGradArgs & { backend: CpuBackend }): TensorInfo {
  const { inputs: { x, dy }, backend } = args;
  const info = convInfoOf(args);
  const dW = filterGradientJs(cpuValues(backend, x), cpuValues(backend, dy), info);
  return backend.makeTensorInfo(info.filterShape, 'float32', dW);
}

/**
 * wasm: a mostly-zero dy (max pooling's) goes to sparse_conv.ts. Otherwise im2col into patches
 * [N = images*oh*ow, K = fh*fw*c] in JS (each patch row one contiguous copy of x when the filter lies inside the image), then dW = patchesᵀ [K, N] x dy [N, co] by XNNPACK, whose
 * [K, co] result is already dW's layout. Writing patches transposed, one float at a time across rows,
 * took twice as long (5 vs 2.5 ms for the Conv1D(64, k5) step). This beat wasm's Conv3DBackpropFilterV2
 * on a depth-1 volume 13x, and that kernel gave wrong values at stride 2.
 */
function conv2DBackpropFilterWasm(args: FilterGradArgs & { backend: WasmBackend }): TensorInfo {
  const { inputs: { x, dy }, backend } = args;
  const info = convInfoOf(args);
  if (info.dataFormat !== 'channelsLast') {
    // wasm's Conv2D forward rejects NCHW too, so no gradient can bring it here.
    throw new Error(`wasm Conv2DBackpropFilter does not support dataFormat 'NCHW'; use 'NHWC'`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`wasm Conv2DBackpropFilter needs float32 x and dy, got ${x.dtype} and ${dy.dtype}`);
  }
  const entries = nonzeroEntries(backend, dy);
  if (entries !== undefined && allFinite(backend, x)) return sparseFilterGradient(backend, x, dy, info, entries);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const patchSize = filterHeight * filterWidth * inChannels;
  const positionsPerImage = outHeight * outWidth;
  const chunk = imagesPerChunk(patchSize, positionsPerImage);

  let total: TensorInfo | undefined;
  for (let first = 0; first < batchSize; first += chunk) {
    const images = Math.min(chunk, batchSize - first);
    const n = images * positionsPerImage;
    const patches = backend.makeOutput([1, n, patchSize], 'float32');
    const dyRows = imageRows(backend, dy, first, images, positionsPerImage, outChannels);
    // Views are taken after the allocations above (a heap growth would detach earlier ones).
    const xv = backend.typedArrayFromHeap(x);
    const p = backend.typedArrayFromHeap(patches);
    const rowWidth = filterWidth * inChannels;
    for (let i = 0; i < images; i++) {
      const b = first + i;
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++) {
          const rowAt = ((i * outHeight + oh) * outWidth + ow) * patchSize;
          const iw0 = ow * strideWidth - left;
          for (let fh = 0; fh < filterHeight; fh++) {
            const ih = oh * strideHeight - top + fh;
            const pAt = rowAt + fh * rowWidth;
            if (ih < 0 || ih >= inHeight) {
              p.fill(0, pAt, pAt + rowWidth); // padding rows contribute zeros
              continue;
            }
            const xRow = (b * inHeight + ih) * inWidth;
            if (iw0 >= 0 && iw0 + filterWidth <= inWidth) {
              // The patch row is one contiguous run of x (the whole width of the filter inside the image).
              p.set(xv.subarray((xRow + iw0) * inChannels, (xRow + iw0) * inChannels + rowWidth), pAt);
              continue;
            }
            for (let fw = 0; fw < filterWidth; fw++) {
              const iw = iw0 + fw;
              const to = pAt + fw * inChannels;
              if (iw < 0 || iw >= inWidth) p.fill(0, to, to + inChannels);
              else p.set(xv.subarray((xRow + iw) * inChannels, (xRow + iw + 1) * inChannels), to);
            }
          }
        }
      }
    }
    // dW [K, co] = patchesᵀ · dy: the registered BatchMatMul transposes with wasm's Transpose, then XNNPACK.
    const product = matMul(backend, patches, dyRows.rows, true, false);
    backend.disposeData(patches.dataId);
    if (dyRows.owned) backend.disposeData(dyRows.rows.dataId);
    if (total === undefined) {
      total = product;
    } else {
      const sum = backend.typedArrayFromHeap(total);
      const part = backend.typedArrayFromHeap(product);
      for (let k = 0; k < sum.length; k++) sum[k] += part[k];
      backend.disposeData(product.dataId);
    }
  }
  if (total === undefined) {
    // batch 0: an all-zero gradient, as the stock cpu kernel gives
    const zeros = backend.makeOutput(info.filterShape, 'float32');
    backend.typedArrayFromHeap(zeros).fill(0);
    return zeros;
  }
  return { dataId: total.dataId, shape: info.filterShape, dtype: 'float32' };
}

export const conv2DBackpropFilterCpuConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'cpu',
  kernelFunc: conv2DBackpropFilterCpu as unknown as KernelFunc,
};

export const conv2DBackpropFilterWasmConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc,
};
