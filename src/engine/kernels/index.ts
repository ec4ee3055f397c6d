// Registers the project's TensorFlow.js kernels that make text models trainable and fast on cpu and wasm.

import {
  KernelBackend, KernelConfig, engine, findBackendFactory, getKernel, registerKernel, unregisterKernel,
} from '@tensorflow/tfjs-core';
import { broadcastingCpuConfigs, broadcastingWasmConfigs } from './broadcast';
import { conv2DBackpropFilterCpuConfig, conv2DBackpropFilterWasmConfig } from './conv2d_backprop_filter';
import { conv2DBackpropInputWasmConfig } from './conv2d_backprop_input';
import { sliceCpuConfig, splitVCpuConfig, transposeCpuConfig } from './cpu_layout';
import { batchMatMulCpuConfig, fusedMatMulCpuConfig } from './cpu_mat_mul';
import { conv2DWasmConfig } from './embedding_conv';
import { extremumGradCpuConfig, extremumGradWasmConfig } from './extremum_grad';
import { forgetStock, rememberStock } from './stock';
import { unsortedSegmentSumCpuConfig, unsortedSegmentSumWasmConfig } from './unsorted_segment_sum';
import { batchMatMulWasmConfig } from './wasm_batch_mat_mul';
import { gatherV2CpuConfig, gatherV2WasmConfig } from './gather';
import {
  castWasmConfig, identityWasmConfig, sliceWasmConfig, splitVWasmConfig, transposeWasmConfig, unpackWasmConfig,
} from './wasm_layout';
import { reduceWasmConfigs } from './wasm_reduce';

/**
 * Per backend, the kernels that fill a missing stock one or replace one that is slow in the
 * training steps of our models (per-call and per-step figures: node bench/kernels.js). Each
 * hands the inputs it does not handle (other dtypes, layouts) to the stock kernel. The native
 * 'tensorflow' backend needs none.
 */
const PROJECT_KERNELS: Record<string, KernelConfig[]> = {
  cpu: [
    unsortedSegmentSumCpuConfig, conv2DBackpropFilterCpuConfig, splitVCpuConfig, sliceCpuConfig, transposeCpuConfig,
    batchMatMulCpuConfig, fusedMatMulCpuConfig, gatherV2CpuConfig, extremumGradCpuConfig, ...broadcastingCpuConfigs,
  ],
  wasm: [
    unsortedSegmentSumWasmConfig, conv2DBackpropFilterWasmConfig, conv2DBackpropInputWasmConfig, batchMatMulWasmConfig,
    gatherV2WasmConfig, sliceWasmConfig, splitVWasmConfig, unpackWasmConfig, identityWasmConfig, extremumGradWasmConfig,
    castWasmConfig, transposeWasmConfig, conv2DWasmConfig, ...reduceWasmConfigs, ...broadcastingWasmConfigs,
  ],
};

const BACKEND_PACKAGES: Record<string, string> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

/**
 * Registers the project's kernels for `backendName` and returns their names (the same list on
 * every call: a second call finds them in place and changes nothing). Returns [] for backends
 * that need none, e.g. 'tensorflow'.
 *
 * Order: call it after the backend's package has been imported, before or after
 * `tf.setBackend(name)`; `await tf.setBackend(name); await tf.ready(); registerProjectKernels(name)`
 * is the intended use. Kernels are looked up at each op, and ours need no setup at backend
 * initialisation (the stock kernels they fall back to get theirs on first use, see stock.ts), so
 * they take effect from the next op. Importing the backend package after this call would
 * overwrite our kernels with its stock ones, hence the check below.
 */
export function registerProjectKernels(backendName: string): string[] {
  const configs = PROJECT_KERNELS[backendName];
  if (configs === undefined) return [];
  if (findBackendFactory(backendName) == null) {
    throw new Error(
      `registerProjectKernels('${backendName}'): import '${BACKEND_PACKAGES[backendName]}' first; ` +
      `its import registers stock kernels that would replace the project's`,
    );
  }
  for (const config of configs) {
    const current = getKernel(config.kernelName, backendName);
    if (current === config) continue;
    if (current !== undefined) {
      rememberStock(current);
      unregisterKernel(config.kernelName, backendName);
    }
    registerKernel(config);
  }
  return configs.map((config) => config.kernelName);
}

/**
 * Removes the project's kernels for `backendName` and restores the stock ones they replaced
 * (for benchmarks and tests that compare the two; training code has no reason to call it).
 * Returns the names of the kernels removed.
 */
export function unregisterProjectKernels(backendName: string): string[] {
  const removed: string[] = [];
  for (const config of PROJECT_KERNELS[backendName] ?? []) {
    if (getKernel(config.kernelName, backendName) !== config) continue;
    unregisterKernel(config.kernelName, backendName);
    const stock = forgetStock(config.kernelName, backendName);
    if (stock !== undefined) {
      registerKernel(stock);
      // If ours was registered before the backend initialised, the engine never ran the stock
      // kernel's setup on it (wasm's cwrap), and the restored kernel would fail on first use.
      const initialised = (engine() as unknown as { registry: Record<string, KernelBackend> }).registry[backendName];
      if (initialised !== undefined) stock.setupFunc?.(initialised);
    }
    removed.push(config.kernelName);
  }
  return removed;
}

/** The names of the kernels registerProjectKernels would register for `backendName`. */
export function projectKernelNames(backendName: string): string[] {
  return (PROJECT_KERNELS[backendName] ?? []).map((config) => config.kernelName);
}
