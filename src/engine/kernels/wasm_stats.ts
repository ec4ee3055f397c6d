// Gradient statistics of tensors on the wasm heap through the SIMD kernels: the same figures as
// StatsAccumulator.add (stats.ts), at ~1 + 1.6 ns per element instead of ~5.

import { getBackend, backend } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { HistogramSpec, StatsAccumulator } from '../stats';
import type { WasmBackend } from './backend_access';
import { activationSumsWith, addStatisticsWith, MAX_UNITS, type StatsTables } from './simd_stats';
import { onHeap, simdKernels } from './wasm_simd';
import type { ActivationSums } from '../stepStats';

interface Tables {
  slots: TensorInfo;
  edges: TensorInfo;
  counts: TensorInfo;
  /** One int32 lane per unit for the activation statistics' "ever nonzero" mask. */
  alive: TensorInfo;
}


const prepared = new WeakMap<HistogramSpec, { backend: object; tables: Tables }>();

/**
 * Copies a histogram layout's lookup tables to the wasm heap, once per run (they stay allocated: 32 KB).
 * Call before reading any heap view: the allocation may grow the heap, which detaches earlier views.
 * Does nothing off wasm, without SIMD, or for layouts whose bins are too narrow for one-edge table cells.
 */
export function prepareWasmStatistics(spec: HistogramSpec): void {
  const kernels = simdKernels();
  if (!kernels || spec.slot.some(s => s < 0)) return;
  const wasm = backend() as unknown as WasmBackend;
  if (prepared.get(spec)?.backend === wasm) return;
  const tables: Tables = {
    slots: wasm.makeOutput([spec.slot.length], 'int32'),
    edges: wasm.makeOutput([spec.edgeAbove.length], 'int32'),
    counts: wasm.makeOutput([spec.bins + 2], 'int32'),
    alive: wasm.makeOutput([MAX_UNITS], 'int32'),
  };
  wasm.typedArrayFromHeap(tables.slots).set(spec.slot);
  wasm.typedArrayFromHeap(tables.edges).set(spec.edgeAbove);
  prepared.set(spec, { backend: wasm, tables });
}

/** The tables of a prepared layout as views on the heap now (views detach when the heap grows: take them fresh). */
function heapTables(wasm: WasmBackend, tables: Tables): StatsTables {
  return {
    slotsAt: wasm.typedArrayFromHeap(tables.slots).byteOffset,
    edgesAt: wasm.typedArrayFromHeap(tables.edges).byteOffset,
    counts: wasm.typedArrayFromHeap(tables.counts) as Int32Array,
    alive: wasm.typedArrayFromHeap(tables.alive) as Int32Array,
  };
}

/**
 * acc.add(values, clipValue), with the moments and the histogram of the first n − n mod 8 values computed by
 * the SIMD kernels when `values` is a heap view and the layout was prepared (simd_stats.ts).
 */
export function addStatistics(acc: StatsAccumulator, values: Float32Array, clipValue = 0): void {
  const kernels = getBackend() === 'wasm' ? simdKernels() : undefined;
  const entry = prepared.get(acc.spec);
  if (!kernels || !entry || entry.backend !== backend() || !onHeap(kernels, values)) {
    acc.add(values, clipValue);
    return;
  }
  addStatisticsWith(kernels, heapTables(entry.backend as WasmBackend, entry.tables), acc, values, clipValue);
}

/**
 * Sums over a layer's output [rows, units] on the wasm heap for the activation statistics (trainer.ts).
 * Undefined when it cannot run (off wasm, a shape the kernel does not take, not a heap view): the caller's JS
 * loop then runs.
 */
export function activationSums(values: Float32Array, units: number, spec: HistogramSpec, low: number, high: number): ActivationSums | undefined {
  const kernels = getBackend() === 'wasm' ? simdKernels() : undefined;
  const entry = prepared.get(spec);
  if (!kernels || !entry || entry.backend !== backend() || !onHeap(kernels, values)) return undefined;
  return activationSumsWith(kernels, heapTables(entry.backend as WasmBackend, entry.tables), values, units, low, high);
}
