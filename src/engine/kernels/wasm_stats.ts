// Gradient statistics of tensors on the wasm heap through the SIMD kernels: the same figures as
// StatsAccumulator.add (stats.ts), at ~1 + 1.6 ns per element instead of ~5.

import { getBackend, backend } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { HistogramSpec, StatsAccumulator } from '../stats';
import type { WasmBackend } from './backend_access';
import { activationSumsWith, addStatisticsWith, MAX_UNITS, type StatsTables } from './simd_stats';
import { onHeap, simdKernels, type SimdKernels } from './wasm_simd';
import { touchedRows } from './unsorted_segment_sum';
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

/** Gradients shorter than this are copied whole: scanning them would save nothing worth a call. */
const PACK_MIN_FLOATS = 16384;
/** Pack only when at most this share of the four-float groups holds a nonzero. */
const PACK_MAX_FILLED = 0.5;

/**
 * A mostly-zero gradient on the wasm heap (an Embedding's: only its batch's tokens' rows are nonzero) copied
 * into `into` as its groups of four floats that hold anything but ±0 (NaN included), in order, then its last
 * n mod 4 values. Returns how many floats were written and how many zeros were left out (the monitor thread
 * counts them without reading them: StatsAccumulator.addZeros); undefined when it cannot (off wasm, without
 * SIMD, short), 'dense' when it would not pay: the caller then copies the gradient whole. For the benchmark's
 * Embedding(5000, 64) about 13% of the 320k floats are copied. A gradient straight from the project's
 * UnsortedSegmentSum is not scanned: the rows its tokens touched are copied whole (copyTouchedRows).
 */
export function packNonzero(gradient: TensorInfo, into: Float32Array): { floats: number; zeros: number } | 'dense' | undefined {
  const kernels = getBackend() === 'wasm' ? simdKernels() : undefined;
  if (!kernels || gradient.dtype !== 'float32') return undefined;
  const wasm = backend() as unknown as WasmBackend;
  const n = (gradient.shape as number[]).reduce((a, b) => a * b, 1);
  if (n < PACK_MIN_FLOATS || into.length < n) return undefined;
  const rows = touchedRows(gradient);
  if (rows && rows.rowSize % 4 === 0) return copyTouchedRows(wasm, kernels, gradient, rows, n, into);
  const head = n - (n % 4);
  const groups = wasm.makeOutput([head / 4], 'int32');
  let packed: TensorInfo | undefined;
  try {
    // Views after each allocation (a heap growth detaches earlier ones).
    let values = wasm.typedArrayFromHeap(gradient) as Float32Array;
    kernels.nonzeroGroups(values.byteOffset, head * 4, wasm.typedArrayFromHeap(groups).byteOffset);
    const filled = kernels.result.count.value;
    if (filled > PACK_MAX_FILLED * (head / 4)) return 'dense';
    packed = wasm.makeOutput([Math.max(1, filled * 4)], 'float32');
    values = wasm.typedArrayFromHeap(gradient) as Float32Array;
    const out = wasm.typedArrayFromHeap(packed) as Float32Array;
    kernels.copyRows(out.byteOffset, values.byteOffset, wasm.typedArrayFromHeap(groups).byteOffset, filled, 16);
    into.set(out.subarray(0, filled * 4), 0);
    into.set(values.subarray(head, n), filled * 4);
    return { floats: filled * 4 + (n - head), zeros: head - filled * 4 };
  } finally {
    wasm.disposeData(groups.dataId);
    if (packed) wasm.disposeData(packed.dataId);
  }
}

/**
 * An Embedding's gradient straight from UnsortedSegmentSum: the rows its batch's tokens touched, copied without a
 * scan (all other rows are zero by construction). A touched row may hold zeros; they are copied and counted as any.
 * Rows of a multiple of 4 floats (copyRows moves 16-byte lanes).
 */
function copyTouchedRows(wasm: WasmBackend, kernels: SimdKernels, gradient: TensorInfo, touched: { rowSize: number; rows: Int32Array }, n: number, into: Float32Array): { floats: number; zeros: number } {
  const { rowSize, rows } = touched;
  const floats = rows.length * rowSize;
  const table = wasm.makeOutput([Math.max(1, rows.length)], 'int32');
  const packed = wasm.makeOutput([Math.max(1, floats)], 'float32');
  try {
    // Views after the allocations (a heap growth detaches earlier ones).
    const rowBytes = rowSize * 4;
    wasm.typedArrayFromHeap(table).set(rows.map(r => r * rowBytes)); // byte offsets, as copyRows takes them
    const out = wasm.typedArrayFromHeap(packed) as Float32Array;
    kernels.copyRows(out.byteOffset, wasm.typedArrayFromHeap(gradient).byteOffset, wasm.typedArrayFromHeap(table).byteOffset, rows.length, rowBytes);
    into.set(out.subarray(0, floats), 0);
    return { floats, zeros: n - floats };
  } finally {
    wasm.disposeData(table.dataId);
    wasm.disposeData(packed.dataId);
  }
}

/** Steps a gradient found dense is copied whole before it is scanned again (a layer's sparsity changes slowly). */
const RESCAN_AFTER = 32;

/**
 * packNonzero per variable of a run, without scanning again and again the gradients that were dense (a Dense
 * layer's): those are copied whole for RESCAN_AFTER monitored steps, then looked at again.
 */
export class GradientPacker {
  private readonly wait = new Map<number, number>();

  pack(variable: number, gradient: TensorInfo, into: Float32Array): { floats: number; zeros: number } | undefined {
    const wait = this.wait.get(variable) ?? 0;
    if (wait > 0) {
      this.wait.set(variable, wait - 1);
      return undefined;
    }
    const packed = packNonzero(gradient, into);
    if (packed === 'dense') {
      this.wait.set(variable, RESCAN_AFTER);
      return undefined;
    }
    return packed;
  }
}
