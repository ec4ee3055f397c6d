// Defaults for absent data-config fields and the limits that keep loading bounded, with their reasons.

export const DATA_DEFAULTS = {
  /** One example in ten held out: enough to see over-fitting on a few thousand examples. */
  validationSplit: 0.1,
  lowercase: true,
  vocabularySize: 10000,
  /** Tokens per text (csv/jsonl). */
  textSequenceLength: 100,
  truncating: 'post' as 'pre' | 'post',
  padding: 'post' as 'pre' | 'post',
  delimiter: ',',
  normalize: true,
  flatten: true,
  examples: 2000,
  /** Steps per sequence for adding/temporalOrder/parity: long enough that a plain RNN starts to struggle. */
  syntheticSequenceLength: 50,
  blobFeatures: 20,
  blobClasses: 3,
  blobNoise: 1.0,
};

export const DATA_LIMITS = {
  /**
   * Files above this size are refused before a byte is read: 512 MB of text is millions of examples, more
   * than an interactive run needs, and a mis-pointed path (a disk image, a video) must not exhaust memory.
   */
  maxFileBytes: 512 * 1024 * 1024,
  /** Bytes per read: large enough for throughput, small enough that the first chunk answers "is this text?" at once. */
  chunkBytes: 64 * 1024,
  /**
   * One CSV record or JSONL line longer than this is almost always an unterminated quote swallowing the
   * rest of the file; V8 strings stop near 512 M characters, so fail long before with a positioned message.
   */
  maxRecordChars: 16 * 1024 * 1024,
  /**
   * Numeric labels become a regression target only when they have more distinct values than this AND at
   * least one is not an integer: 0/1, 1..5 stars or 0..9 digits stay classes, prices and scores regress.
   */
  regressionMinDistinctLabels: 20,
  /** Input values kept in memory (examples × values per example): 2^27 float32 = 512 MB. */
  maxInputValues: 2 ** 27,
  /**
   * Values a synthetic task may generate, kept or not: every example is generated even when maxExamples
   * drops it (so the kept ones do not depend on maxExamples), and 2^28 draws take a few seconds. Without
   * it, 10 million examples of 100 000 steps with "maxExamples": 10 is 10^12 draws: a hang, not an error.
   */
  maxGeneratedValues: 2 ** 28,
  /** Text sources: nearly one class per example means the label column is an id or free text, not a label. */
  suspiciousClassCount: 1000,
};
