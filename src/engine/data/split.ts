// Seeded shuffle, maxExamples and the train/validation split, shared by every source.

import type { JsonPath } from '../../protocol';
import { SeededRandom } from '../random';
import { DATA_LIMITS } from './defaults';
import type { DataSplit } from './types';
import { DataError } from './types';

/**
 * Where each example goes. The shuffle uses its own random stream (seed mixed with a constant) so that
 * generating data and splitting it do not draw from the same sequence: changing how many numbers a
 * generator draws must not change which examples are held out.
 */
export interface SplitPlan {
  /** Examples available before maxExamples. */
  total: number;
  trainCount: number;
  validationCount: number;
  /** For example k of the source: its slot (< trainCount: train, else validation at slot - trainCount), or -1 if dropped. */
  slotOf: Int32Array;
}

const SPLIT_STREAM = 0x5eed5917;

export function splitRandom(seed: number): SeededRandom {
  return new SeededRandom(seed ^ SPLIT_STREAM);
}

/**
 * Shuffle all `total` examples, keep the first maxExamples, and hold out the last floor(kept × split) for
 * validation (floor: a split never rounds a tiny dataset's only examples away from training).
 */
export function planSplit(
  total: number, validationSplit: number, maxExamples: number | undefined, seed: number, jsonPath: JsonPath = ['data'],
): SplitPlan {
  const order = splitRandom(seed).permutation(total);
  const kept = Math.min(total, maxExamples ?? total);
  const validationCount = Math.floor(kept * validationSplit);
  const trainCount = kept - validationCount;
  if (trainCount < 1) {
    throw new DataError(
      `no examples left for training (${kept} example${kept === 1 ? '' : 's'}, validationSplit ${validationSplit}); ` +
      'add data or lower validationSplit', jsonPath);
  }
  const slotOf = new Int32Array(total).fill(-1);
  for (let s = 0; s < kept; s++) slotOf[order[s]] = s;
  return { total, trainCount, validationCount, slotOf };
}

export type XArray = Float32Array | Int32Array;
export type YArray = Float32Array | Int32Array;

/** The two splits' arrays, allocated once so sources write each example straight into its slot. */
export class SplitBuffers {
  readonly train: DataSplit;
  readonly validation: DataSplit;

  constructor(
    readonly plan: SplitPlan,
    readonly exampleSize: number,
    readonly targetSize: number,
    xType: 'float32' | 'int32',
    yType: 'float32' | 'int32',
  ) {
    const X = xType === 'int32' ? Int32Array : Float32Array;
    const Y = yType === 'int32' ? Int32Array : Float32Array;
    this.train = { x: new X(plan.trainCount * exampleSize), y: new Y(plan.trainCount * targetSize), count: plan.trainCount };
    this.validation = {
      x: new X(plan.validationCount * exampleSize), y: new Y(plan.validationCount * targetSize), count: plan.validationCount,
    };
  }

  /** The split and row of source example k, or undefined when maxExamples dropped it. */
  locate(k: number): { split: DataSplit; row: number } | undefined {
    const slot = this.plan.slotOf[k];
    if (slot < 0) return undefined;
    return slot < this.plan.trainCount
      ? { split: this.train, row: slot }
      : { split: this.validation, row: slot - this.plan.trainCount };
  }

  /** Copies example k (x and y) into its slot; no-op when dropped. */
  put(k: number, x: ArrayLike<number>, y: ArrayLike<number>): void {
    const at = this.locate(k);
    if (!at) return;
    (at.split.x as XArray).set(x, at.row * this.exampleSize);
    (at.split.y as YArray).set(y, at.row * this.targetSize);
  }
}

/** Refuse before allocating: a typed array of billions of values is a crash, not an error message. */
export function checkInputSize(examples: number, exampleSize: number, jsonPath: JsonPath, what: string): void {
  const values = examples * exampleSize;
  if (values > DATA_LIMITS.maxInputValues) {
    throw new DataError(
      `${what} would need ${examples} × ${exampleSize} = ${values.toExponential(2)} input values, more than the ` +
      `${DATA_LIMITS.maxInputValues.toExponential(2)} that fit in 512 MB; set data.maxExamples (or a shorter ` +
      'sequence) to use fewer', jsonPath);
  }
}

/**
 * Reservoir sampling (Vitter's algorithm R) for file sources with maxExamples: keeps a uniform random
 * `capacity` of the rows while streaming, so memory stays bounded and a file sorted by class still gives
 * a mixed sample (taking the first N rows would not).
 */
export class Reservoir {
  private seen = 0;
  private readonly random: SeededRandom;

  constructor(readonly capacity: number, seed: number) {
    this.random = new SeededRandom(seed ^ 0x7e5e7701);
  }

  /** Slot for the next row, or -1 to drop it. */
  next(): number {
    const k = this.seen++;
    if (k < this.capacity) return k;
    const j = this.random.int(k + 1);
    return j < this.capacity ? j : -1;
  }

  get rowsSeen(): number {
    return this.seen;
  }
}
