// Gradient statistics of tensors on the wasm heap through the SIMD kernels: the same figures as
// StatsAccumulator.add (stats.ts), at ~1 + 1.6 ns per element instead of ~5.

import { getBackend, backend } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { HistogramSpec, StatsAccumulator } from '../stats';
import type { WasmBackend } from './backend_access';
import { onHeap, simdKernels } from './wasm_simd';

interface Tables {
  slots: TensorInfo;
  edges: TensorInfo;
  counts: TensorInfo;
  /** One int32 lane per unit for the activation statistics' "ever nonzero" mask. */
  alive: TensorInfo;
}

/** Widest layer output (units) the SIMD activation statistics take; wider ones use the JS loop. */
const MAX_UNITS = 4096;

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

/**
 * acc.add(values, clipValue), with the moments and the histogram of the first n − n mod 4 values computed by
 * the SIMD kernels when `values` is a heap view and the layout was prepared. NaN/±Inf anywhere, or value
 * clipping, take the exact JS path for the whole tensor.
 */
export function addStatistics(acc: StatsAccumulator, values: Float32Array, clipValue = 0): void {
  const kernels = getBackend() === 'wasm' ? simdKernels() : undefined;
  const entry = prepared.get(acc.spec);
  const n = values.length;
  if (!kernels || !entry || entry.backend !== backend() || clipValue > 0 || n < 8 || !onHeap(kernels, values)) {
    acc.add(values, clipValue);
    return;
  }
  const wasm = entry.backend as WasmBackend;
  const head = n - (n % 8); // the kernels take 8 floats (moments) and 4 (histogram) a step
  kernels.moments(values.byteOffset, head * 4);
  const sum = kernels.result.a.value;
  const sumSq = kernels.result.b.value;
  if (!Number.isFinite(sum) || !Number.isFinite(sumSq)) {
    acc.add(values, clipValue);
    return;
  }
  const min = kernels.result.min.value;
  const max = kernels.result.max.value;
  const zeros = kernels.result.zeros.value;
  const counts = wasm.typedArrayFromHeap(entry.tables.counts) as Int32Array;
  counts.fill(0);
  const slotsAt = wasm.typedArrayFromHeap(entry.tables.slots).byteOffset;
  const edgesAt = wasm.typedArrayFromHeap(entry.tables.edges).byteOffset;
  kernels.histogram(values.byteOffset, head * 4, slotsAt, edgesAt, counts.byteOffset);
  if (head < n) acc.add(values.subarray(head));
  acc.count += head;
  acc.finite += head;
  acc.sum += sum;
  acc.sumSq += sumSq;
  acc.clippedSumSq += sumSq;
  // f32x4.min/max order −0 below +0, as the JS loop may not: the extremes agree up to the sign of a zero.
  if (min < acc.min) acc.min = min;
  if (max > acc.max) acc.max = max;
  acc.zeros += zeros;
  const slots = acc.slots;
  for (let k = 0; k < slots.length; k++) slots[k] += counts[k];
}

export interface ActivationSums {
  sum: number;
  sumSq: number;
  zeros: number;
  saturated: number;
  /** Units (last axis) that were zero for every row. */
  dead: number;
}

/**
 * Sums over a layer's output [rows, units] on the wasm heap for the activation statistics (trainer.ts): counts
 * y ≤ low or y ≥ high as saturated, the comparisons made against float32 bounds equivalent to the JS loop's
 * float64 ones. Undefined when it cannot run (off wasm, units not a multiple of 4, not a heap view): the
 * caller's JS loop then runs.
 */
export function activationSums(values: Float32Array, units: number, spec: HistogramSpec, low: number, high: number): ActivationSums | undefined {
  const kernels = getBackend() === 'wasm' ? simdKernels() : undefined;
  const entry = prepared.get(spec);
  if (!kernels || !entry || entry.backend !== backend() || units % 4 !== 0 || units > MAX_UNITS || values.length % units !== 0 || !onHeap(kernels, values)) return undefined;
  const wasm = entry.backend as WasmBackend;
  const alive = (wasm.typedArrayFromHeap(entry.tables.alive) as Int32Array).subarray(0, units);
  alive.fill(0);
  kernels.activation(values.byteOffset, values.length * 4, units * 4, alive.byteOffset, atOrBelow(low), atOrAbove(high));
  let dead = 0;
  for (let u = 0; u < units; u++) if (alive[u] === 0) dead++;
  return { sum: kernels.result.a.value, sumSq: kernels.result.b.value, zeros: kernels.result.zeros.value, saturated: kernels.result.count.value, dead };
}

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);

/** The largest float32 ≤ t: for float32 y, y ≤ t ⟺ y ≤ atOrBelow(t). NaN stays NaN (no value compares). */
function atOrBelow(t: number): number {
  f32[0] = t;
  if (f32[0] > t) bits[0] += f32[0] > 0 ? -1 : 1;
  return f32[0];
}

/** The smallest float32 ≥ t: for float32 y, y ≥ t ⟺ y ≥ atOrAbove(t). */
function atOrAbove(t: number): number {
  f32[0] = t;
  if (f32[0] < t) bits[0] += f32[0] >= 0 ? 1 : -1;
  return f32[0];
}
