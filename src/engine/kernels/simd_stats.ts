// The SIMD statistics on values in a WebAssembly memory, whichever memory it is: tfjs' wasm heap (wasm_stats.ts,
// on the training thread) or the monitor thread's own (monitorThread.ts). No tfjs here.

import type { StatsAccumulator } from '../stats';
import type { ActivationSums } from '../stepStats';

/** The statistics kernels of the SIMD module (wasm_simd.ts) and their result globals. */
export interface StatsKernels {
  moments(x: number, bytes: number): void;
  histogram(x: number, bytes: number, slots: number, edges: number, counts: number): void;
  activation(y: number, bytes: number, rowBytes: number, alive: number, low: number, high: number): void;
  result: { a: { value: number }; b: { value: number }; min: { value: number }; max: { value: number }; zeros: { value: number }; count: { value: number } };
}

/** A histogram layout's lookup tables and scratch arrays, in the kernels' memory. */
export interface StatsTables {
  /** Byte offsets of the slot and edge tables (spec.slot, spec.edgeAbove as int32). */
  slotsAt: number;
  edgesAt: number;
  /** bins + 2 int32 counts. */
  counts: Int32Array;
  /** One int32 lane per unit for the activation statistics' "ever nonzero" mask. */
  alive: Int32Array;
}

/** Widest layer output (units) the SIMD activation statistics take; wider ones use the JS loop. */
export const MAX_UNITS = 4096;

/**
 * acc.add(values, clipValue), with the moments and the histogram of the first n − n mod 8 values from the
 * kernels; `values` must lie in their memory. NaN/±Inf anywhere, or value clipping, take the exact JS path for
 * the whole tensor.
 */
export function addStatisticsWith(kernels: StatsKernels, tables: StatsTables, acc: StatsAccumulator, values: Float32Array, clipValue = 0): void {
  const n = values.length;
  if (clipValue > 0 || n < 8) {
    acc.add(values, clipValue);
    return;
  }
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
  const counts = tables.counts;
  counts.fill(0);
  kernels.histogram(values.byteOffset, head * 4, tables.slotsAt, tables.edgesAt, counts.byteOffset);
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

/**
 * Sums over a layer's output [rows, units] in the kernels' memory for the activation statistics: counts y ≤ low
 * or y ≥ high as saturated, against float32 bounds equivalent to the JS loop's float64 ones. Undefined when the
 * shape does not suit the kernel (units not a multiple of 4, or too many): the caller's JS loop then runs.
 */
export function activationSumsWith(kernels: StatsKernels, tables: StatsTables, values: Float32Array, units: number, low: number, high: number): ActivationSums | undefined {
  if (units % 4 !== 0 || units > MAX_UNITS || values.length % units !== 0) return undefined;
  const alive = tables.alive.subarray(0, units);
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
