// wasm Conv2DBackpropInput (the input gradient of Conv1D/Conv2D): the nonzero entries of a mostly-zero dy, else a
// forward convolution at stride 1, else one XNNPACK product plus col2im.

import { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo, backend_util, getKernel } from '@tensorflow/tfjs-core';
import { WasmBackend } from './backend_access';
import { allFinite, nonzeroEntries, sparseInputGradient } from './sparse_conv';
import { stockKernel } from './stock';
import { imageRows, imagesPerChunk, matMulPlain, transposeLastTwo } from './wasm_util';

type InputGradArgs = { inputs: { dy: TensorInfo; filter: TensorInfo }; attrs: Conv2DBackpropInputAttrs; backend: WasmBackend };

/**
 * dx[b, ih, iw, c] = sum of dy[b, oh, ow, :] . W[fh, fw, c, :] over the (oh, ow, fh, fw) that read
 * (ih, iw). Computed as cols [N, K] = dy [N, co] x W^T [co, K] by XNNPACK, then each column block
 * added back to the input position it came from. wasm's stock kernel is a naive loop: 25 ms for
 * the Conv1D(64, k5) step, the largest cost of that model's step. As with the filter gradient,
 * the attrs carry no dilations (tfjs' Conv2D gradient rejects them). NCHW stays with the stock
 * kernel, which supports it.
 */
function conv2DBackpropInputWasm(args: InputGradArgs): TensorInfo {
  const { inputs: { dy, filter }, attrs, backend } = args;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (info.dataFormat !== 'channelsLast' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    return stockKernel('Conv2DBackpropInput', 'wasm')(args as never) as TensorInfo;
  }
  const entries = nonzeroEntries(backend, dy);
  if (entries !== undefined && allFinite(backend, filter)) return sparseInputGradient(backend, dy, filter, info, entries);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  if (strideHeight === 1 && strideWidth === 1) {
    const viaConv = asForwardConv(backend, dy, filter, info);
    if (viaConv) return viaConv;
  }
  const patchSize = filterHeight * filterWidth * inChannels;
  const positionsPerImage = outHeight * outWidth;
  const chunk = imagesPerChunk(patchSize, positionsPerImage);

  const filterT = transposeLastTwo(backend, { ...filter, shape: [1, patchSize, outChannels] });
  const dx = backend.makeOutput(info.inShape, 'float32');
  backend.typedArrayFromHeap(dx).fill(0);
  for (let first = 0; first < batchSize; first += chunk) {
    const images = Math.min(chunk, batchSize - first);
    const dyRows = imageRows(backend, dy, first, images, positionsPerImage, outChannels);
    const cols = matMulPlain(backend, dyRows.rows, filterT);
    // Views after the last allocation of this chunk (a heap growth would detach earlier ones).
    const c = backend.typedArrayFromHeap(cols);
    const out = backend.typedArrayFromHeap(dx);
    for (let i = 0; i < images; i++) {
      const b = first + i;
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++) {
          const rowAt = ((i * outHeight + oh) * outWidth + ow) * patchSize;
          for (let fh = 0; fh < filterHeight; fh++) {
            const ih = oh * strideHeight - top + fh;
            if (ih < 0 || ih >= inHeight) continue;
            for (let fw = 0; fw < filterWidth; fw++) {
              const iw = ow * strideWidth - left + fw;
              if (iw < 0 || iw >= inWidth) continue;
              const dxAt = ((b * inHeight + ih) * inWidth + iw) * inChannels;
              const colAt = rowAt + (fh * filterWidth + fw) * inChannels;
              for (let ch = 0; ch < inChannels; ch++) out[dxAt + ch] += c[colAt + ch];
            }
          }
        }
      }
    }
    backend.disposeData(cols.dataId);
    if (dyRows.owned) backend.disposeData(dyRows.rows.dataId);
  }
  backend.disposeData(filterT.dataId);
  return dx;
}

/**
 * At stride 1 the input gradient is itself a convolution: dx[i] = Σ_f dy[i + top − f]·W[f] is dy, padded by
 * FH−1−top before and as much after as makes the output the input's size, correlated with the filter rotated
 * half a turn with its channel axes swapped. That runs through wasm's own Conv2D (XNNPACK's convolution, no
 * cols matrix, no JS col2im): 5.3 → ~3.5 ms for the Conv1D(64, k5) step, like its forward pass.
 */
function asForwardConv(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo | undefined {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const padTop = filterHeight - 1 - info.padInfo.top;
  const padLeft = filterWidth - 1 - info.padInfo.left;
  const padBottom = inHeight - outHeight - padTop + filterHeight - 1;
  const padRight = inWidth - outWidth - padLeft + filterWidth - 1;
  if (Math.min(padTop, padLeft, padBottom, padRight) < 0) return undefined;
  const rotated = backend.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
  const w = backend.typedArrayFromHeap(filter);
  const r = backend.typedArrayFromHeap(rotated);
  for (let fh = 0; fh < filterHeight; fh++) {
    for (let fw = 0; fw < filterWidth; fw++) {
      const from = (fh * filterWidth + fw) * inChannels * outChannels;
      const to = ((filterHeight - 1 - fh) * filterWidth + (filterWidth - 1 - fw)) * outChannels * inChannels;
      for (let c = 0; c < inChannels; c++) {
        for (let k = 0; k < outChannels; k++) r[to + k * inChannels + c] = w[from + c * outChannels + k];
      }
    }
  }
  const conv = getKernel('Conv2D', 'wasm')!.kernelFunc;
  const dx = conv({
    inputs: { x: dy, filter: rotated }, backend: backend as never,
    attrs: { strides: 1, pad: [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]], dataFormat: 'NHWC', dilations: 1 } as never,
  }) as TensorInfo;
  backend.disposeData(rotated.dataId);
  return dx;
}

export const conv2DBackpropInputWasmConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as KernelFunc,
};
