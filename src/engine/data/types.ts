// What every data source produces: examples in flat typed arrays, split into train and validation.

import type { JsonPath } from '../../protocol';

export interface DataSplit {
  /** count × prod(inputShape) values, example-major. Int32Array for token ids, Float32Array otherwise. */
  x: Float32Array | Int32Array;
  /** Classification: count class indices (Int32Array). Regression: count × targetSize values (Float32Array). */
  y: Int32Array | Float32Array;
  count: number;
}

export interface Dataset {
  task: 'classification' | 'regression';
  /** Shape of one example: [features], [sequenceLength] of token ids, or [sequenceLength, features]. */
  inputShape: number[];
  inputDtype: 'float32' | 'int32';
  /** Classification: number of classes. */
  numClasses?: number;
  /** Regression: values per target. */
  targetSize?: number;
  /** Class names in index order (from the label column), when known. */
  labelNames?: string[];
  /** Text sources: the vocabulary size actually used (ids 0 = padding, 1 = out-of-vocabulary). */
  vocabularySize?: number;
  /** Text sources: words by id (for inspection; index 0 "<pad>", 1 "<oov>"). */
  vocabulary?: string[];
  train: DataSplit;
  validation: DataSplit;
  /** One line for the run log and the UI, e.g. "spam.csv: 5728 texts, 2 classes, vocabulary 5000". */
  description: string;
}

export interface DataContext {
  /** Directory of the config file: relative data paths resolve against it. */
  configDir: string;
  /** The workspace root: data paths must stay inside it (after resolving symlinks). */
  workspaceRoot: string;
  seed: number;
  /** Refuse data files larger than this many bytes (default 512 MB, DATA_LIMITS.maxFileBytes). */
  maxFileBytes?: number;
}

/** A problem with the data a user can fix: which file, where, and what to do. Never a stack trace. */
export class DataError extends Error {
  constructor(
    message: string,
    /** The config key the problem concerns, e.g. ['data', 'labelColumn']. */
    readonly jsonPath: JsonPath,
    /** The data file involved, when there is one. */
    readonly file?: string,
    /** 1-based line in the data file, when the problem is on a line. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'DataError';
  }
}
