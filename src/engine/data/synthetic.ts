// Synthetic benchmark tasks from the RNN literature, generated deterministically from the run's seed.

import type { SyntheticDataConfig, SyntheticTask } from '../../config/types';
import { SeededRandom } from '../random';
import { DATA_DEFAULTS, DATA_LIMITS } from './defaults';
import { readInt, readNumber, readSplitOptions } from './options';
import { checkInputSize, planSplit, SplitBuffers } from './split';
import { DataContext, DataError, Dataset } from './types';

const TASKS: readonly SyntheticTask[] = ['adding', 'temporalOrder', 'blobs', 'parity'];

/** Writes example k's input into `x` (zeroed) and target into `y`. Draws only from `random`. */
type Generator = (random: SeededRandom, k: number, x: Float32Array, y: Float32Array | Int32Array) => void;

interface TaskSpec {
  inputShape: number[];
  task: 'classification' | 'regression';
  numClasses?: number;
  labelNames?: string[];
  generate: Generator;
  describe: string;
  /** Called once before the examples, for per-dataset draws (blob centres). */
  prepare?: (random: SeededRandom) => void;
}

/**
 * Adding problem (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", experiment 4; in this form in
 * Le, Jaitly & Hinton 2015 and Arjovsky et al. 2016). Each step carries a value uniform in [0, 1) and a
 * marker; exactly two markers are 1, one in the first half and one in the second half, and the target is
 * the sum of the two marked values. The model must carry the first value across ~T/2 steps.
 */
function addingTask(T: number): TaskSpec {
  const half = Math.floor(T / 2);
  return {
    inputShape: [T, 2],
    task: 'regression',
    describe:
      `adding problem (Hochreiter & Schmidhuber 1997), T=${T}: [${T}, 2] sequences → the sum of the 2 marked values; ` +
      'always predicting 1.0 gives MSE ≈ 0.167, the baseline to beat',
    generate(random, _k, x, y) {
      for (let t = 0; t < T; t++) x[2 * t] = random.next();
      const first = random.int(half);
      const second = half + random.int(T - half);
      x[2 * first + 1] = 1;
      x[2 * second + 1] = 1;
      // Sum the stored float32 values, so the target is exactly what the inputs show.
      y[0] = x[2 * first] + x[2 * second];
    },
  };
}

/**
 * Temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6a; used by Pascanu, Mikolov & Bengio
 * 2013, "On the difficulty of training recurrent neural networks"). T symbols from the distractors
 * {a, b, c, d}, except two positions holding X or Y: the first in [10 %, 20 %) of T, the second in
 * [50 %, 60 %). The class is the order of the two: XX, XY, YX, YY. Inputs are one-hot over
 * [a, b, c, d, X, Y]. (The original's start/end marker symbols B and E are left out, as in Pascanu et al.)
 */
function temporalOrderTask(T: number): TaskSpec {
  const SYMBOLS = 6;
  const X = 4;
  const Y = 5;
  // The max() guards keep both windows non-empty and ordered for short sequences.
  const lo1 = Math.floor(0.1 * T);
  const hi1 = Math.max(lo1 + 1, Math.floor(0.2 * T));
  const lo2 = Math.max(hi1, Math.floor(0.5 * T));
  const hi2 = Math.max(lo2 + 1, Math.floor(0.6 * T));
  return {
    inputShape: [T, SYMBOLS],
    task: 'classification',
    numClasses: 4,
    labelNames: ['XX', 'XY', 'YX', 'YY'],
    describe:
      `temporal order (Hochreiter & Schmidhuber 1997), T=${T}: one-hot [${T}, 6] sequences of a/b/c/d with X or Y ` +
      `at steps ${lo1}–${hi1 - 1} and ${lo2}–${hi2 - 1}; 4 classes (XX, XY, YX, YY), chance accuracy 25 %`,
    generate(random, _k, x, y) {
      for (let t = 0; t < T; t++) x[t * SYMBOLS + random.int(4)] = 1;
      const p1 = lo1 + random.int(hi1 - lo1);
      const p2 = lo2 + random.int(hi2 - lo2);
      const firstIsY = random.int(2);
      const secondIsY = random.int(2);
      x.fill(0, p1 * SYMBOLS, (p1 + 1) * SYMBOLS);
      x.fill(0, p2 * SYMBOLS, (p2 + 1) * SYMBOLS);
      x[p1 * SYMBOLS + (firstIsY ? Y : X)] = 1;
      x[p2 * SYMBOLS + (secondIsY ? Y : X)] = 1;
      y[0] = 2 * firstIsY + secondIsY;
    },
  };
}

/**
 * Gaussian blobs (as scikit-learn's make_blobs): `classes` centres drawn from N(0, 3²) per feature, each
 * point its centre plus noise·N(0, 1). A quick non-sequential sanity task; raise `noise` to make it harder.
 * Classes take turns (k mod classes) so they are balanced; the split shuffle mixes them.
 */
function blobsTask(features: number, classes: number, noise: number): TaskSpec {
  const centres = new Float32Array(features * classes);
  return {
    inputShape: [features],
    task: 'classification',
    numClasses: classes,
    labelNames: Array.from({ length: classes }, (_, c) => `blob ${c}`),
    describe: `blobs: points in ${features} dimensions around ${classes} Gaussian centres (noise ${noise})`,
    prepare(random) {
      for (let i = 0; i < centres.length; i++) centres[i] = 3 * random.normal();
    },
    generate(random, k, x, y) {
      const c = k % classes;
      for (let f = 0; f < features; f++) x[f] = centres[c * features + f] + noise * random.normal();
      y[0] = c;
    },
  };
}

/**
 * Parity (one of the long-term dependency tasks of Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber
 * 1997 note that random weight guessing solves short versions faster than gradient descent). A 0/1
 * sequence, class = parity of its count of ones: every step matters until the last, so it stays hard for
 * gradient-trained RNNs as T grows.
 */
function parityTask(T: number): TaskSpec {
  return {
    inputShape: [T, 1],
    task: 'classification',
    numClasses: 2,
    labelNames: ['even', 'odd'],
    describe: `parity, T=${T}: [${T}, 1] bit sequences → whether the count of ones is odd; chance accuracy 50 %`,
    generate(random, _k, x, y) {
      let ones = 0;
      for (let t = 0; t < T; t++) {
        const bit = random.next() < 0.5 ? 1 : 0;
        x[t] = bit;
        ones += bit;
      }
      y[0] = ones % 2;
    },
  };
}

/** Refuse before generating: the work is examples × values per example whatever maxExamples keeps. */
function checkGenerationSize(examples: number, exampleSize: number, task: string, maxExamples: number | undefined): void {
  const values = examples * exampleSize;
  if (values <= DATA_LIMITS.maxGeneratedValues) return;
  const sampled = maxExamples !== undefined && maxExamples < examples
    ? ` data.maxExamples does not help: every example is generated before ${maxExamples} are kept, so that the kept ones do not depend on it.`
    : '';
  throw new DataError(
    `data.task '${task}' would generate ${examples} × ${exampleSize} = ${values.toExponential(2)} values, more than the ` +
    `${DATA_LIMITS.maxGeneratedValues.toExponential(2)} generated in a few seconds; lower data.examples` +
    `${task === 'blobs' ? ' or data.features' : ' or data.sequenceLength'}.${sampled}`, ['data', 'examples']);
}

export function generateSynthetic(config: SyntheticDataConfig, ctx: DataContext): Dataset {
  const task = config.task;
  if (!TASKS.includes(task)) {
    throw new DataError(
      `data.task ${JSON.stringify(task)} is not a synthetic task; use one of ${TASKS.map(t => `'${t}'`).join(', ')}`,
      ['data', 'task']);
  }
  const examples = readInt(config, 'examples', DATA_DEFAULTS.examples, 1);
  const { validationSplit, maxExamples } = readSplitOptions(config);
  let spec: TaskSpec;
  if (task === 'blobs') {
    spec = blobsTask(
      readInt(config, 'features', DATA_DEFAULTS.blobFeatures, 1),
      readInt(config, 'classes', DATA_DEFAULTS.blobClasses, 2),
      readNumber(config, 'noise', DATA_DEFAULTS.blobNoise, 0, Number.MAX_VALUE),
    );
  } else {
    // Two steps is the least for which "first half / second half" means anything.
    const T = readInt(config, 'sequenceLength', DATA_DEFAULTS.syntheticSequenceLength, 2);
    spec = task === 'adding' ? addingTask(T) : task === 'temporalOrder' ? temporalOrderTask(T) : parityTask(T);
  }

  const exampleSize = spec.inputShape.reduce((a, b) => a * b, 1);
  checkInputSize(Math.min(examples, maxExamples ?? examples), exampleSize, ['data', 'examples'], `data.task '${task}'`);
  checkGenerationSize(examples, exampleSize, task, maxExamples);
  const plan = planSplit(examples, validationSplit, maxExamples, ctx.seed, ['data', 'validationSplit']);
  const regression = spec.task === 'regression';
  const buffers = new SplitBuffers(plan, exampleSize, 1, 'float32', regression ? 'float32' : 'int32');

  const random = new SeededRandom(ctx.seed);
  spec.prepare?.(random);
  const x = new Float32Array(exampleSize);
  const y = regression ? new Float32Array(1) : new Int32Array(1);
  for (let k = 0; k < examples; k++) {
    x.fill(0);
    // Every example is generated even when maxExamples drops it, so the kept ones do not depend on maxExamples.
    spec.generate(random, k, x, y);
    buffers.put(k, x, y);
  }

  return {
    task: spec.task,
    inputShape: spec.inputShape,
    inputDtype: 'float32',
    ...(regression ? { targetSize: 1 } : { numClasses: spec.numClasses, labelNames: spec.labelNames }),
    train: buffers.train,
    validation: buffers.validation,
    description: `${spec.describe}; ${plan.trainCount} train / ${plan.validationCount} validation examples`,
  };
}
