// The project's cpu/wasm kernels against tfjs' stock kernels, and whole-model gradients on wasm against stock cpu.
//
// One backend per process is the safe rule (switching with live tensors corrupted values), so each
// backend's computations run in a child process: this same file, forked with a role argument.
// The parent makes every input with a seeded generator, the children compute, the parent compares.

import * as assert from 'assert';
import { fork } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerProjectGradients } from '../../src/engine/gradients';
import { projectKernelNames, registerProjectKernels, unregisterProjectKernels } from '../../src/engine/kernels';
import { WasmBackend, readFloats } from '../../src/engine/kernels/backend_access';
import { distinctRowsPlan } from '../../src/engine/kernels/embedding_conv';
import { EXTREMUM_GRAD } from '../../src/engine/kernels/extremum_grad';
import { nonzeroEntries } from '../../src/engine/kernels/sparse_conv';
import { fuseRecurrent, setFusedRecurrent } from '../../src/engine/kernels/fused_rnn';
import { fusedUpdate } from '../../src/engine/kernels/optimizer_update';
import { simdKernels } from '../../src/engine/kernels/wasm_simd';
import { addStatistics, prepareWasmStatistics } from '../../src/engine/kernels/wasm_stats';
import { histogramSpec, StatsAccumulator } from '../../src/engine/stats';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
type Values = Float32Array | Int32Array | Uint8Array;

interface SegmentSumCase { x: Values; xShape: number[]; ids: Int32Array; idsShape: number[]; numSegments: number }
interface ConvCase {
  name: string; xShape: [number, number, number, number]; filterShape: [number, number, number, number];
  strides: number | [number, number]; pad: Pad; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat: 'NHWC' | 'NCHW';
  x: Float32Array; filter: Float32Array; dy: Float32Array; dyShape: number[];
}
interface MatMulCase { aShape: number[]; bShape: number[]; transposeA: boolean; transposeB: boolean; a: Float32Array; b: Float32Array }
interface FusedCase extends MatMulCase { bias?: Float32Array; biasShape?: number[]; activation: string; alpha?: Float32Array; alphaShape?: number[] }
interface LayoutCase { x: Values; xShape: number[]; dtype: 'float32' | 'int32' | 'bool' }
interface SliceCase extends LayoutCase { begin: number[]; size: number[] }
interface SplitCase extends LayoutCase { sizes: number[] | number; axis: number }
interface TransposeCase extends LayoutCase { perm: number[] }
interface BinaryCase { op: string; a: Values; aShape: number[]; b: Values; bShape: number[]; dtype: LayoutCase['dtype'] }
interface GatherCase extends LayoutCase { indices: Int32Array; indicesShape: number[]; axis: number; batchDims: number }
interface UnpackCase extends LayoutCase { axis: number }
interface EmbeddingConvCase {
  name: string; table: Float32Array; tableShape: [number, number]; ids: Int32Array; idsShape: [number, number];
  filter: Float32Array; filterShape: [number, number, number, number]; strides: [number, number]; pad: Pad; distinct: boolean;
}
interface ReduceCase { op: 'Sum' | 'Max' | 'Min'; x: Float32Array; xShape: number[]; axes: number[] | null; keepDims: boolean }
interface ExtremumCase { op: 'max' | 'min'; x: Float32Array; xShape: number[]; axes: number[] | null; keepDims: boolean; dy: Float32Array; dyShape: number[] }
type ModelKind = 'lstm' | 'gru' | 'simpleRNN' | 'conv1d' | 'mlp';
interface ModelCase { kind: ModelKind; x: Float32Array | Int32Array; xShape: number[]; y: Float32Array; yShape: number[] }

interface Cases {
  segmentSum: SegmentSumCase[]; conv: ConvCase[]; bigConv: ConvCase; matMul: MatMulCase[]; fused: FusedCase[];
  slice: SliceCase[]; split: SplitCase[]; transpose: TransposeCase[]; binary: BinaryCase[]; models: ModelCase[];
  gather: GatherCase[]; unpack: UnpackCase[];
  /** NHWC convolutions whose dy is as max pooling leaves it (mostly zeros), for the sparse gradients. */
  sparseConv: ConvCase[]; extremum: ExtremumCase[]; reduce: ReduceCase[]; embeddingConv: EmbeddingConvCase[];
}

interface Results {
  segmentSum: Values[]; filterGrad: (Values | string)[]; inputGrad: (Values | string)[]; matMul: Values[]; fused: Values[];
  slice: Values[]; split: Values[][]; transpose: Values[]; binary: Values[]; models: Values[][];
  bigFilterGrad: Values; bigInputGrad: Values;
  gather: Values[]; gatherOutOfRange?: string; unpack: Values[][]; identity: Values[];
  sparseFilterGrad: Values[]; sparseInputGrad: Values[]; extremum: Values[]; reduce: Values[]; cast: Values[];
  /** Conv2D over gathered rows: the outputs, and (wasm) whether the kernel takes the distinct-rows path. */
  embeddingConv: Values[]; embeddingConvDistinct?: boolean[];
  /** wasm: whether the kernels' density test sends each sparse case's dy to the sparse path. */
  sparseTaken?: boolean[];
}

interface ChildReport {
  stock?: Results; project: Results;
  firstNames: string[]; secondNames: string[]; projectInPlace: boolean; stockRestored: boolean;
  /** wasm: the stock wasm kernels' reductions, which the project's must equal bit for bit. */
  wasmStockReduce?: Values[];
  stockMissing?: string[]; stockEmbeddingError?: string; stockConvError?: string; dilatedConvGradError?: string;
  /** Largest relative difference, fused recurrent op vs tfjs-layers' per-step ops, per case (same process). */
  fusedRecurrent: { label: string; fused: boolean; error: number }[];
  /** wasm only: the SIMD module against the tf ops / the JS loop it replaces. */
  simd?: { available: boolean; adamExact: boolean; sgdExact: boolean; slotsExact: boolean; normsError: number; momentsError: number; extremesEqual: boolean; zerosEqual: boolean; histogramEqual: boolean };
}

// ---------- inputs, made once in the parent ----------

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeCases(): Cases {
  const rand = generator(20240601);
  const floats = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
  const ints = (n: number, lo: number, hi: number) => Int32Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo)));

  const segmentSum: SegmentSumCase[] = [
    { x: floats([6, 3]), xShape: [6, 3], ids: Int32Array.from([0, 2, 2, 5, 1, 2]), idsShape: [6], numSegments: 6 },
    // out-of-range ids (negative, = numSegments, far above) are dropped; inner shape [2, 3]
    { x: floats([7, 2, 3]), xShape: [7, 2, 3], ids: Int32Array.from([0, -1, 3, 4, 3, 2, 100]), idsShape: [7], numSegments: 4 },
    { x: ints(20, -50, 50), xShape: [5, 4], ids: Int32Array.from([1, 1, 0, 3, 1]), idsShape: [5], numSegments: 4 },
    // an embedding gradient: 4x8 tokens of a 50-word vocabulary, 8 features
    { x: floats([32, 8]), xShape: [32, 8], ids: ints(32, 0, 50), idsShape: [32], numSegments: 50 },
    // a padding token repeated 600 times: float32 accumulation would drift from the stock double sum
    { x: floats([640, 2]), xShape: [640, 2], ids: Int32Array.from({ length: 640 }, (_, i) => (i % 16 === 0 ? 1 : 0)), idsShape: [640], numSegments: 3 },
    // rows of 4 and 8 floats (wasm: the SIMD float64 sums), the padding token repeated, ids out of range
    { x: floats([700, 8]), xShape: [700, 8], ids: Int32Array.from({ length: 700 }, (_, i) => (i % 50 === 7 ? -1 : i % 50 === 9 ? 11 : i % 3 ? 0 : i % 11)), idsShape: [700], numSegments: 11 },
    { x: floats([700, 4]), xShape: [700, 4], ids: ints(700, -2, 30), idsShape: [700], numSegments: 28 },
  ];

  const conv = (
    name: string, xShape: ConvCase['xShape'], filterShape: ConvCase['filterShape'], strides: ConvCase['strides'], pad: Pad,
    dimRoundingMode?: ConvCase['dimRoundingMode'], dataFormat: ConvCase['dataFormat'] = 'NHWC',
  ): ConvCase => {
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false,
      dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst');
    const dyShape = dataFormat === 'NHWC' ? info.outShape : [info.batchSize, info.outChannels, info.outHeight, info.outWidth];
    return { name, xShape, filterShape, strides, pad, dimRoundingMode, dataFormat, x: floats(xShape), filter: floats(filterShape), dy: floats(dyShape), dyShape };
  };
  const convCases = [
    conv('conv1d k3 valid', [2, 1, 9, 3], [1, 3, 3, 4], 1, 'valid'),
    conv('conv1d k5 same', [3, 1, 10, 4], [1, 5, 4, 2], 1, 'same'),
    conv('conv1d k3 stride 2 valid', [2, 1, 11, 3], [1, 3, 3, 5], [1, 2], 'valid'),
    conv('conv1d k4 stride 2 same', [2, 1, 9, 2], [1, 4, 2, 3], [1, 2], 'same'),
    conv('conv1d model shape', [4, 1, 20, 16], [1, 5, 16, 8], 1, 'valid'),
    conv('2d 3x2 same', [2, 7, 6, 3], [3, 2, 3, 4], 1, 'same'),
    conv('2d 3x3 stride 2 same', [2, 9, 8, 2], [3, 3, 2, 3], 2, 'same'),
    conv('2d explicit padding', [1, 6, 7, 2], [2, 3, 2, 2], [1, 2], [[0, 0], [1, 2], [0, 1], [0, 0]]),
    conv('2d pad 1 stride 2 floor', [2, 8, 8, 2], [3, 3, 2, 2], 2, 1, 'floor'),
    conv('2d pad 1 stride 2 ceil', [2, 8, 8, 2], [3, 3, 2, 2], 2, 1, 'ceil'),
    conv('2d NCHW', [2, 3, 6, 5], [2, 2, 3, 4], 1, 'valid', undefined, 'NCHW'),
  ];
  // Big enough for the wasm kernels to split the batch into two im2col chunks (8 Mi floats each).
  const bigConv = conv('2d chunked', [28, 24, 24, 32], [5, 5, 32, 4], 1, 'valid');

  const matMul: MatMulCase[] = [];
  for (const [m, k, n] of [[5, 7, 3], [32, 16, 24], [1, 9, 4]]) {
    for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const aShape = transposeA ? [k, m] : [m, k];
      const bShape = transposeB ? [n, k] : [k, n];
      matMul.push({ aShape, bShape, transposeA, transposeB, a: floats(aShape), b: floats(bShape) });
    }
  }
  matMul.push({ aShape: [3, 6, 5], bShape: [3, 4, 5], transposeA: false, transposeB: true, a: floats([3, 6, 5]), b: floats([3, 4, 5]) });
  matMul.push({ aShape: [1, 6, 5], bShape: [6, 4], transposeA: true, transposeB: false, a: floats([1, 6, 5]), b: floats([6, 4]) });
  matMul.push({ aShape: [2, 3, 7, 5], bShape: [1, 1, 5, 6], transposeA: false, transposeB: false, a: floats([2, 3, 7, 5]), b: floats([1, 1, 5, 6]) });
  matMul.push({ aShape: [64, 300], bShape: [300, 33], transposeA: false, transposeB: false, a: floats([64, 300]), b: floats([300, 33]) });

  // Rank 3, as tf.fused.matMul reshapes its operands before running the kernel.
  const fused: FusedCase[] = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'].map((activation, i) => ({
    aShape: [1, 7, 5], bShape: i % 2 ? [1, 6, 5] : [1, 5, 6], transposeA: false, transposeB: i % 2 === 1, a: floats([7, 5]), b: floats([30]),
    bias: floats([6]), biasShape: [6], activation, alpha: activation === 'prelu' ? floats([6]) : undefined, alphaShape: [6],
  }));
  fused.push({ aShape: [1, 5, 7], bShape: [1, 5, 6], transposeA: true, transposeB: false, a: floats([35]), b: floats([30]), activation: 'relu' });

  const layout = (xShape: number[], dtype: LayoutCase['dtype'] = 'float32'): LayoutCase => {
    const n = xShape.reduce((a, b) => a * b, 1);
    const x = dtype === 'float32' ? floats(xShape) : dtype === 'int32' ? ints(n, -1000, 1000) : Uint8Array.from(ints(n, 0, 2));
    return { x, xShape, dtype };
  };
  const slice: SliceCase[] = [
    { ...layout([4, 5, 6]), begin: [1, 2, 3], size: [2, 3, 2] },
    { ...layout([4, 5, 6]), begin: [1, 0, 0], size: [2, 5, 6] }, // contiguous
    { ...layout([4, 5, 6], 'int32'), begin: [0, 1, 0], size: [4, 3, 6] },
    { ...layout([32, 256]), begin: [0, 64], size: [32, 64] },
    { ...layout([3, 1, 7, 2], 'bool'), begin: [1, 0, 2, 1], size: [2, 1, 4, 1] },
    { ...layout([10]), begin: [3], size: [5] },
    { ...layout([2, 3, 4]), begin: [0, 1, 1], size: [-1, -1, 2] },
  ];
  const split: SplitCase[] = [
    { ...layout([32, 256]), sizes: 4, axis: 1 }, // LSTM gates
    { ...layout([32, 192]), sizes: 3, axis: -1 }, // GRU gates
    { ...layout([3, 4, 5]), sizes: [1, 3, 1], axis: 2 },
    { ...layout([6, 4]), sizes: [2, -1], axis: 0 },
    { ...layout([3, 4, 5], 'int32'), sizes: 2, axis: 1 },
  ];
  const transpose: TransposeCase[] = [
    { ...layout([32, 12, 8]), perm: [1, 0, 2] }, // batch-major to time-major
    { ...layout([7, 9]), perm: [1, 0] },
    { ...layout([2, 3, 4, 5]), perm: [0, 3, 1, 2] },
    { ...layout([2, 3, 4]), perm: [2, 0, 1] },
    { ...layout([5, 6]), perm: [0, 1] },
    { ...layout([3, 1, 4, 1], 'int32'), perm: [3, 2, 1, 0] },
    { ...layout([4, 3], 'bool'), perm: [1, 0] },
    { ...layout([2, 1, 3]), perm: [1, 0, 2] }, // only a size-1 axis moves
    { ...layout([1, 5, 1, 3], 'int32'), perm: [2, 1, 0, 3] },
    { ...layout([3, 1, 4]), perm: [0, 1, 2] },
  ];

  // Small integers as floats, so that comparisons meet equal values.
  const binary: BinaryCase[] = [];
  const shapePairs = [[[3, 4, 5], [3, 1, 5]], [[3, 1, 5], [3, 4, 5]], [[4, 1], [1, 5]], [[5], [2, 1, 1]], [[2, 3, 4], [4]], [[], [2, 3]], [[2, 3], [2, 3]]];
  const ops = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual'];
  for (const op of ops) {
    for (const [aShape, bShape] of shapePairs) {
      const values = (shape: number[]) => Float32Array.from(ints(shape.reduce((x, y) => x * y, 1), op === 'Pow' ? 1 : -2, 3));
      binary.push({ op, a: values(aShape), aShape, b: values(bShape), bShape, dtype: 'float32' });
    }
  }
  binary.push({ op: 'Add', a: ints(12, -9, 9), aShape: [4, 1, 3], b: ints(8, -9, 9), bShape: [1, 8, 1], dtype: 'int32' });
  binary.push({ op: 'LogicalAnd', a: Uint8Array.from(ints(12, 0, 2)), aShape: [4, 1, 3], b: Uint8Array.from(ints(8, 0, 2)), bShape: [1, 8, 1], dtype: 'bool' });
  binary.push({ op: 'LogicalOr', a: Uint8Array.from(ints(12, 0, 2)), aShape: [4, 3, 1], b: Uint8Array.from(ints(8, 0, 2)), bShape: [8], dtype: 'bool' });

  const tokens = (shape: number[]) => Float32Array.from(ints(shape[0] * shape[1], 0, VOCAB));
  const oneHot = (batch: number, classes: number) => {
    const y = new Float32Array(batch * classes);
    for (let i = 0; i < batch; i++) y[i * classes + Math.floor(rand() * classes)] = 1;
    return y;
  };
  const models: ModelCase[] = (['lstm', 'gru', 'simpleRNN', 'conv1d'] as const).map((kind) => ({
    kind, x: tokens([BATCH, SEQ]), xShape: [BATCH, SEQ], y: oneHot(BATCH, 2), yShape: [BATCH, 2],
  }));
  models.push({ kind: 'mlp', x: floats([BATCH, 20]), xShape: [BATCH, 20], y: oneHot(BATCH, 3), yShape: [BATCH, 3] });

  const gather: GatherCase[] = [
    // the Embedding lookup: [32 x 5] ids into a [50, 8] table
    { ...layout([50, 8]), indices: ints(160, 0, 50), indicesShape: [32, 5], axis: 0, batchDims: 0 },
    { ...layout([4, 6, 3], 'int32'), indices: ints(7, 0, 6), indicesShape: [7], axis: 1, batchDims: 0 },
    { ...layout([3, 5, 2]), indices: ints(12, 0, 5), indicesShape: [3, 4], axis: 1, batchDims: 1 },
    { ...layout([9], 'bool'), indices: ints(4, 0, 9), indicesShape: [2, 2], axis: 0, batchDims: 0 },
    // rows of 16 elements or more: wasm copies them within the heap
    { ...layout([40, 20]), indices: ints(90, 0, 40), indicesShape: [9, 10], axis: 0, batchDims: 0 },
    { ...layout([3, 7, 16], 'int32'), indices: ints(8, 0, 7), indicesShape: [8], axis: 1, batchDims: 0 },
    { ...layout([6, 33], 'bool'), indices: ints(5, 0, 6), indicesShape: [5], axis: 0, batchDims: 0 },
    { ...layout([2, 5, 4, 4]), indices: ints(6, 0, 5), indicesShape: [2, 3], axis: 1, batchDims: 1 },
  ];
  const unpack: UnpackCase[] = [
    { ...layout([4, 6, 3]), axis: 1 }, // batch-major sequence into time steps
    { ...layout([3, 2], 'int32'), axis: 0 },
    { ...layout([2, 3, 2], 'bool'), axis: -1 },
  ];
  // dy with about 3% of its entries nonzero (max pooling's gradient through ReLU), under the kernels' 8% bound.
  const sparse = (c: ConvCase, name: string, nonFinite = false): ConvCase => {
    const dy = new Float32Array(c.dy.length);
    const keep = Math.max(1, Math.floor(dy.length * 0.03));
    for (let k = 0; k < keep; k++) dy[Math.floor(rand() * dy.length)] = c.dy[k] * 3;
    const x = c.x.slice();
    // ±Inf and NaN in x: a zero of dy times them is NaN in the dense product, so the gradient must stay dense
    if (nonFinite) [x[3], x[x.length - 5], x[x.length >> 1]] = [Infinity, NaN, -Infinity];
    return { ...c, name, x, dy };
  };
  const sparseConv = [
    sparse(conv('conv1d k5 valid, the model\'s layout', [6, 1, 30, 16], [1, 5, 16, 12], 1, 'valid'), 'conv1d k5 valid'),
    sparse(conv('conv1d k3 same, odd channels', [5, 1, 23, 7], [1, 3, 7, 5], 1, 'same'), 'conv1d k3 same, 7 -> 5 channels'),
    sparse(conv('conv1d batch 1', [1, 1, 61, 8], [1, 4, 8, 9], 1, 'same'), 'conv1d batch 1, even kernel, same'),
    sparse(conv('conv1d stride 2', [4, 1, 37, 6], [1, 5, 6, 8], [1, 2], 'same'), 'conv1d k5 stride 2 same'),
    sparse(conv('conv1d stride 3 valid', [3, 1, 40, 5], [1, 4, 5, 6], [1, 3], 'valid'), 'conv1d k4 stride 3 valid'),
    sparse(conv('2d', [3, 9, 11, 3], [3, 2, 3, 4], 1, 'same'), '2d 3x2 same'),
    sparse(conv('2d stride 2', [2, 13, 12, 4], [3, 3, 4, 5], 2, 'same'), '2d 3x3 stride 2 same'),
    sparse(conv('2d explicit', [2, 10, 11, 2], [2, 3, 2, 3], [1, 2], [[0, 0], [1, 2], [0, 1], [0, 0]]), '2d explicit padding, stride [1, 2]'),
    sparse(conv('2d pad 1 ceil', [3, 12, 12, 2], [3, 3, 2, 3], 2, 1, 'ceil'), '2d pad 1 stride 2 ceil'),
    sparse(conv('conv1d non-finite x', [4, 1, 30, 8], [1, 5, 8, 6], 1, 'valid'), 'conv1d with non-finite x (±Inf, NaN)', true),
  ];

  // Max/Min gradients with ties (small integers), NaN, and a dy with signed zeros, ±Inf and NaN.
  const extremum: ExtremumCase[] = [];
  const addExtremum = (op: 'max' | 'min', xShape: number[], axes: number[] | null, keepDims: boolean, special = false) => {
    const x = Float32Array.from(ints(xShape.reduce((a, b) => a * b, 1), -3, 3));
    const reduced = new Set(axes ?? xShape.map((_, i) => i));
    const dyShape = xShape.flatMap((d, i) => (reduced.has(i) ? (keepDims ? [1] : []) : [d]));
    const dy = floats(dyShape);
    if (special) {
      x[1] = NaN; // its column's extremum is NaN: no element equals it
      [dy[0], dy[1], dy[2], dy[3]] = [-0, Infinity, NaN, -2];
    }
    extremum.push({ op, x, xShape, axes, keepDims, dy, dyShape });
  };
  addExtremum('max', [6, 9, 8], [1], false, true); // GlobalMaxPool1D: time axis, channels a multiple of 4 (SIMD)
  addExtremum('max', [32, 46, 64], [1], false); // the benchmark's shape
  addExtremum('min', [3, 7, 5], [1], true, true); // 5 columns: the JS loop
  addExtremum('max', [4, 6], null, false); // every axis
  addExtremum('max', [2, 3, 4, 8], [1, 2], true); // two adjacent axes
  addExtremum('min', [5, 4, 12], [2], false); // the last axis
  addExtremum('max', [3, 4, 5], [0, 2], false); // not adjacent: tf ops

  // Reductions over axes that are not innermost (the project's wasm kernels) and over the innermost (stock), with
  // magnitudes spread over six decades (so the order of float32 additions shows), ±0 and NaN.
  const reduce: ReduceCase[] = [];
  const addReduce = (xShape: number[], axes: number[] | null, keepDims = false) => {
    const x = Float32Array.from({ length: xShape.reduce((a, b) => a * b, 1) }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 6 - 3));
    x[2] = -0;
    x[5] = 0;
    for (const op of ['Sum', 'Max', 'Min'] as const) reduce.push({ op, x, xShape, axes, keepDims });
    const nan = x.slice();
    nan[x.length >> 1] = NaN;
    for (const op of ['Sum', 'Max', 'Min'] as const) reduce.push({ op, x: nan, xShape, axes, keepDims });
  };
  addReduce([32, 46, 64], [1]); // GlobalMaxPool1D
  addReduce([32, 46, 64], [0, 1]); // the Conv1D bias gradient
  addReduce([3, 7, 5, 6], [1, 2], true); // 6 columns: the JS loop
  addReduce([5, 9, 8], [0]);
  addReduce([4, 3, 2, 8], [2, 1]); // axes descending: stock (it reduces them in that order)
  addReduce([4, 3, 2, 8], [1, 2]);
  addReduce([6, 10], [1]); // innermost: stock
  addReduce([4, 5, 6], [0, 2]); // not adjacent: stock
  addReduce([4, 5], null); // every axis: stock
  // Extremes that are zeros of both signs (the first one is kept): −1, −0 and +0 for max, +1, −0 and +0 for min.
  for (const [op, other] of [['Max', -1], ['Min', 1]] as const) {
    const x = Float32Array.from({ length: 6 * 9 * 8 }, () => [other, -0, 0][Math.floor(rand() * 3)]);
    reduce.push({ op, x, xShape: [6, 9, 8], axes: [1], keepDims: false }, { op, x: x.slice(0, 6 * 9 * 5), xShape: [6, 9, 5], axes: [1], keepDims: false });
  }

  // Conv1D over an Embedding's rows: tokens from a small vocabulary (repeats), every padding, strides, odd channels.
  const embeddingConv: EmbeddingConvCase[] = [];
  const addEmbeddingConv = (name: string, vocab: number, [batch, width]: [number, number], [fw, c, co]: number[], strides: [number, number], pad: Pad, distinct = true) => {
    embeddingConv.push({
      name, table: floats([vocab, c]), tableShape: [vocab, c], ids: ints(batch * width, 0, vocab), idsShape: [batch, width],
      filter: floats([1, fw, c, co]), filterShape: [1, fw, c, co], strides, pad, distinct,
    });
  };
  addEmbeddingConv('k5 valid, the model\'s layout', 40, [8, 30], [5, 16, 12], [1, 1], 'valid');
  addEmbeddingConv('k3 same, odd channels', 20, [5, 17], [3, 7, 5], [1, 1], 'same');
  addEmbeddingConv('batch 1, k4 same', 12, [1, 40], [4, 8, 8], [1, 1], 'same');
  addEmbeddingConv('k5 stride 2 same', 30, [4, 33], [5, 6, 8], [1, 2], 'same');
  addEmbeddingConv('k4 stride 3 valid', 25, [3, 40], [4, 5, 4], [1, 3], 'valid');
  addEmbeddingConv('explicit padding', 25, [3, 26], [3, 4, 8], [1, 1], [[0, 0], [0, 0], [2, 1], [0, 0]]);
  addEmbeddingConv('few repeats: stock', 5000, [4, 20], [3, 8, 8], [1, 1], 'valid', false);

  return { segmentSum, conv: convCases, bigConv, matMul, fused, slice, split, transpose, binary, models, gather, unpack, sparseConv, extremum, reduce, embeddingConv };
}

const VOCAB = 50;
const SEQ = 8;
const BATCH = 6;

// ---------- the children: compute with one backend ----------

function buildModel(kind: ModelKind): tfl.LayersModel {
  const model = tfl.sequential();
  if (kind === 'mlp') {
    model.add(tfl.layers.dense({ inputShape: [20], units: 16, activation: 'relu' }));
    model.add(tfl.layers.dense({ units: 3 }));
  } else {
    model.add(tfl.layers.embedding({ inputDim: VOCAB, outputDim: 8, inputLength: SEQ }));
    // glorotUniform: the default orthogonal initializer needs tfjs' chained ops, absent from the node bundle
    // (the weights are overwritten below anyway).
    const recurrent = { units: 8, recurrentInitializer: 'glorotUniform' as const };
    if (kind === 'lstm') model.add(tfl.layers.lstm(recurrent));
    if (kind === 'gru') model.add(tfl.layers.gru(recurrent));
    if (kind === 'simpleRNN') model.add(tfl.layers.simpleRNN(recurrent));
    if (kind === 'conv1d') {
      model.add(tfl.layers.conv1d({ filters: 6, kernelSize: 3, activation: 'relu' }));
      model.add(tfl.layers.globalMaxPooling1d());
    }
    model.add(tfl.layers.dense({ units: 2 }));
  }
  // Same weights in every process: a generator seeded per weight.
  model.setWeights(model.getWeights().map((w, i) => {
    const rand = generator(1000 + i);
    return tf.tensor(Float32Array.from({ length: w.size }, () => (rand() * 2 - 1) * 0.4), w.shape);
  }));
  return model;
}

function modelGradients(c: ModelCase, only?: (name: string) => boolean): Values[] {
  const model = buildModel(c.kind);
  const weights = model.trainableWeights.filter((w) => !only || only(w.name));
  const vars = weights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.tidy(() => {
    const x = tf.tensor(c.x, c.xShape);
    const y = tf.tensor(c.y, c.yShape);
    return tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
  });
  const out = vars.map((v) => grads[v.name].dataSync() as Values);
  tf.dispose([value, grads]);
  model.dispose();
  return out;
}

function errorOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return (e as Error).message; }
  return undefined;
}

function computeAll(cases: Cases, backend: string): Results {
  const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: object) =>
    tf.tidy(() => (tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor).dataSync() as Values);
  const filterGrad = (c: ConvCase) => run('Conv2DBackpropFilter', { x: tf.tensor(c.x, c.xShape), dy: tf.tensor(c.dy, c.dyShape) },
    { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, dimRoundingMode: c.dimRoundingMode, filterShape: c.filterShape });
  const inputGrad = (c: ConvCase) => run('Conv2DBackpropInput', { dy: tf.tensor(c.dy, c.dyShape), filter: tf.tensor(c.filter, c.filterShape) },
    { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, dimRoundingMode: c.dimRoundingMode, inputShape: c.xShape });
  // wasm has no NCHW convolutions at all; its error is the expected result there.
  const orError = (f: () => Values) => { try { return f(); } catch (e) { if (backend === 'wasm') return (e as Error).message; throw e; } };
  const layoutTensor = (c: LayoutCase) => tf.tensor(c.x, c.xShape, c.dtype);
  return {
    segmentSum: cases.segmentSum.map((c) => run('UnsortedSegmentSum',
      { x: tf.tensor(c.x, c.xShape, c.x instanceof Int32Array ? 'int32' : 'float32'), segmentIds: tf.tensor(c.ids, c.idsShape, 'int32') },
      { numSegments: c.numSegments })),
    filterGrad: cases.conv.map((c) => orError(() => filterGrad(c))),
    inputGrad: cases.conv.map((c) => orError(() => inputGrad(c))),
    bigFilterGrad: backend === 'wasm' || registered(backend) ? filterGrad(cases.bigConv) : new Float32Array(0), // stock cpu: seconds
    bigInputGrad: inputGrad(cases.bigConv),
    matMul: cases.matMul.map((c) => run('BatchMatMul', { a: tf.tensor(c.a, c.aShape), b: tf.tensor(c.b, c.bShape) },
      { transposeA: c.transposeA, transposeB: c.transposeB })),
    fused: cases.fused.map((c) => run('_FusedMatMul', {
      a: tf.tensor(c.a, c.aShape), b: tf.tensor(c.b, c.bShape),
      ...(c.bias ? { bias: tf.tensor(c.bias, c.biasShape) } : {}), ...(c.alpha ? { preluActivationWeights: tf.tensor(c.alpha, c.alphaShape) } : {}),
    }, { transposeA: c.transposeA, transposeB: c.transposeB, activation: c.activation, leakyreluAlpha: 0.3 })),
    slice: cases.slice.map((c) => run('Slice', { x: layoutTensor(c) }, { begin: c.begin, size: c.size })),
    split: cases.split.map((c) => tf.tidy(() => (tf.engine().runKernel('SplitV', { x: layoutTensor(c) },
      { numOrSizeSplits: c.sizes, axis: c.axis } as never) as unknown as tf.Tensor[]).map((t) => t.dataSync() as Values))),
    transpose: cases.transpose.map((c) => run('Transpose', { x: layoutTensor(c) }, { perm: c.perm })),
    binary: cases.binary.map((c) => run(c.op, { a: tf.tensor(c.a, c.aShape, c.dtype), b: tf.tensor(c.b, c.bShape, c.dtype) }, {})),
    models: cases.models.map((c) => modelGradients(c)),
    gather: cases.gather.map((c) => run('GatherV2', { x: layoutTensor(c), indices: tf.tensor(c.indices, c.indicesShape, 'int32') }, { axis: c.axis, batchDims: c.batchDims })),
    gatherOutOfRange: errorOf(() => run('GatherV2', { x: tf.ones([4, 2]), indices: tf.tensor1d([1, 4], 'int32') }, { axis: 0, batchDims: 0 })),
    unpack: cases.unpack.map((c) => tf.tidy(() => (tf.engine().runKernel('Unpack', { value: layoutTensor(c) }, { axis: c.axis } as never) as unknown as tf.Tensor[])
      .map((t) => t.dataSync() as Values))),
    identity: cases.unpack.map((c) => tf.tidy(() => {
      const x = layoutTensor(c);
      const y = tf.engine().runKernel('Identity', { x }, {}) as tf.Tensor;
      x.dispose(); // the copy (or the shared buffer) must outlive its input
      return y.dataSync() as Values;
    })),
    sparseFilterGrad: cases.sparseConv.map(filterGrad),
    sparseInputGrad: cases.sparseConv.map(inputGrad),
    sparseTaken: backend === 'wasm' ? cases.sparseConv.map((c) => tf.tidy(() =>
      nonzeroEntries(tf.backend() as unknown as WasmBackend, tf.tensor(c.dy, c.dyShape)) !== undefined)) : undefined,
    reduce: computeReduce(cases),
    embeddingConv: cases.embeddingConv.map((c) => tf.tidy(() => {
      const x = tf.reshape(tf.gather(tf.tensor(c.table, c.tableShape), tf.tensor(c.ids, [c.ids.length], 'int32')), [c.idsShape[0], 1, c.idsShape[1], c.tableShape[1]]);
      return tf.conv2d(x as tf.Tensor4D, tf.tensor(c.filter, c.filterShape) as tf.Tensor4D, c.strides, c.pad as never).dataSync() as Values;
    })),
    embeddingConvDistinct: backend === 'wasm' ? cases.embeddingConv.map((c) => tf.tidy(() => {
      const x = tf.reshape(tf.gather(tf.tensor(c.table, c.tableShape), tf.tensor(c.ids, [c.ids.length], 'int32')), [c.idsShape[0], 1, c.idsShape[1], c.tableShape[1]]);
      return distinctRowsPlan({ inputs: { x, filter: tf.tensor(c.filter, c.filterShape) }, attrs: { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: 1 } as never }) !== undefined;
    })) : undefined,
    cast: [tf.tensor([1.5, -0, NaN]), tf.tensor([3, -4], undefined, 'int32'), tf.tensor([0.5, -2.5, 7])].map((t, i) =>
      tf.tidy(() => { const y = tf.cast(t, i === 2 ? 'int32' : t.dtype); t.dispose(); return y.dataSync() as Values; })),
    // Through the registered gradient (gradients.ts): the kernel where registered, tf ops where not (stock).
    extremum: cases.extremum.map((c) => tf.tidy(() => {
      const f = (v: tf.Tensor) => (c.op === 'max' ? tf.max(v, c.axes ?? undefined, c.keepDims) : tf.min(v, c.axes ?? undefined, c.keepDims));
      return tf.grad(f)(tf.tensor(c.x, c.xShape), tf.tensor(c.dy, c.dyShape)).dataSync() as Values;
    })),
  };
}

function computeReduce(cases: Cases): Values[] {
  return cases.reduce.map((c) => tf.tidy(() => {
    const x = tf.tensor(c.x, c.xShape);
    const axes = c.axes ?? undefined;
    return (c.op === 'Sum' ? tf.sum(x, axes, c.keepDims) : c.op === 'Max' ? tf.max(x, axes, c.keepDims) : tf.min(x, axes, c.keepDims)).dataSync() as Values;
  }));
}

/** Recurrent layers fused (kernels/fused_rnn.ts) against tfjs-layers' own per-step ops: loss and every gradient. */
function fusedRecurrentErrors(): ChildReport['fusedRecurrent'] {
  const out: ChildReport['fusedRecurrent'] = [];
  const rand = generator(77);
  const [B, T, D, U] = [5, 7, 6, 4];
  for (const kind of ['lstm', 'gru', 'simpleRNN'] as const) {
    const variants: [string, Record<string, unknown>][] = [
      ['default', {}], ['returnSequences', { returnSequences: true }], ['goBackwards', { goBackwards: true }],
      ['relu/hardSigmoid', kind === 'simpleRNN' ? { activation: 'relu' } : { activation: 'relu', recurrentActivation: 'hardSigmoid' }],
      ['no bias, sequences, backwards', { useBias: false, returnSequences: true, goBackwards: true }], ['bidirectional', { bidirectional: true }],
    ];
    for (const [variant, { bidirectional, ...options }] of variants) {
      const make = () => {
        const args = { units: U, recurrentInitializer: 'glorotUniform' as const, ...options } as never;
        return kind === 'lstm' ? tfl.layers.lstm(args) : kind === 'gru' ? tfl.layers.gru(args) : tfl.layers.simpleRNN(args);
      };
      const model = tfl.sequential();
      const layer = bidirectional ? tfl.layers.bidirectional({ layer: make() as never, inputShape: [T, D], mergeMode: 'concat' }) : make();
      if (!bidirectional) model.add(tfl.layers.inputLayer({ inputShape: [T, D] }));
      model.add(layer);
      if (options.returnSequences) model.add(tfl.layers.flatten());
      model.add(tfl.layers.dense({ units: 3 }));
      model.setWeights(model.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => (rand() * 2 - 1) * 0.7), w.shape)));
      const fused = fuseRecurrent(layer);
      const x = tf.variable(tf.tensor(Float32Array.from({ length: B * T * D }, () => rand() * 2 - 1), [B, T, D]));
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0], 'int32'), 3);
      const vars = [...model.trainableWeights.map((w) => w.read() as tf.Variable), x];
      const compute = (on: boolean) => {
        setFusedRecurrent(on);
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
        const result = [value.dataSync(), ...vars.map((v) => grads[v.name].dataSync())];
        tf.dispose([value, grads]);
        return result;
      };
      const [a, b] = [compute(true), compute(false)];
      setFusedRecurrent(true);
      let error = 0;
      a.forEach((values, i) => {
        let diff = 0;
        let scale = 0;
        values.forEach((v, j) => { diff = Math.max(diff, Math.abs(v - b[i][j])); scale = Math.max(scale, Math.abs(b[i][j])); });
        error = Math.max(error, diff / Math.max(scale, 1e-30));
      });
      out.push({ label: `${kind} ${variant}`, fused, error });
      tf.dispose([x, y]);
      model.dispose();
    }
  }
  return out;
}

/** The SIMD module on the wasm heap against tf ops (Adam, SGD: same float32 bits) and the JS statistics loop. */
function simdReport(): ChildReport['simd'] {
  const kernels = simdKernels();
  if (!kernels) return { available: false, adamExact: false, sgdExact: false, slotsExact: false, normsError: 1, momentsError: 1, extremesEqual: false, zerosEqual: false, histogramEqual: false };
  const rand = generator(5);
  const n = 1003; // not a multiple of 4: the JS tail too
  const floats = (scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const [w0, g0, m0, v0] = [floats(1), floats(0.1), floats(0.01), floats(0.001).map(Math.abs)];
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));
  const rule = { type: 'adam' as const, beta1: 0.9, beta2: 0.999, eps: 1e-7, c1: 1 - 0.9 ** 3, c2: 1 - 0.999 ** 3 };
  // tf ops, as optimizers.ts writes Adam
  const expected = tf.tidy(() => {
    const g = tf.tensor(g0);
    const nm = tf.add(tf.mul(tf.tensor(m0), rule.beta1), tf.mul(g, 1 - rule.beta1));
    const nv = tf.add(tf.mul(tf.tensor(v0), rule.beta2), tf.mul(tf.square(g), 1 - rule.beta2));
    const step = tf.div(tf.div(nm, rule.c1), tf.add(tf.sqrt(tf.div(nv, rule.c2)), rule.eps));
    return { w: tf.sub(tf.tensor(w0), tf.mul(step, 0.01)).dataSync(), m: nm.dataSync(), v: nv.dataSync(), sgd: tf.sub(tf.tensor(w0), tf.mul(g, 0.01)).dataSync() };
  });
  const [w, g, m, v] = [tf.variable(tf.tensor(w0)), tf.tensor(g0), tf.variable(tf.tensor(m0)), tf.variable(tf.tensor(v0))];
  const norms = fusedUpdate(rule, w, g, [m, v], 0.01, true)!;
  const adamW = w.dataSync();
  let sumSq = 0;
  let diffSq = 0;
  adamW.forEach((x, i) => { sumSq += x * x; diffSq += (x - w0[i]) ** 2; });
  const adamExact = same(adamW, expected.w);
  const slotsExact = same(m.dataSync(), expected.m) && same(v.dataSync(), expected.v);
  const normsError = Math.max(Math.abs(norms.sumSq / sumSq - 1), Math.abs(norms.diffSq / diffSq - 1));
  const w2 = tf.variable(tf.tensor(w0));
  fusedUpdate({ type: 'sgd' }, w2, g, [], 0.01, true);
  const sgdExact = same(w2.dataSync(), expected.sgd);
  // statistics: values across magnitudes, zeros, a tail
  const x0 = Float32Array.from({ length: 4099 }, (_, i) => (i % 9 === 0 ? 0 : (rand() < 0.5 ? -1 : 1) * 10 ** (rand() * 20 - 14)));
  const x = tf.tensor(x0);
  const spec = histogramSpec(-12, 4, 64);
  prepareWasmStatistics(spec);
  const viaSimd = new StatsAccumulator(spec);
  addStatistics(viaSimd, readFloats(x));
  const viaJs = new StatsAccumulator(spec);
  viaJs.add(x0);
  const report = {
    available: true, adamExact, sgdExact, slotsExact, normsError,
    momentsError: Math.max(Math.abs(viaSimd.sum / viaJs.sum - 1), Math.abs(viaSimd.sumSq / viaJs.sumSq - 1)),
    extremesEqual: viaSimd.min === viaJs.min && viaSimd.max === viaJs.max,
    zerosEqual: viaSimd.zeros === viaJs.zeros && viaSimd.count === viaJs.count && viaSimd.finite === viaJs.finite,
    histogramEqual: same(viaSimd.slots, viaJs.slots),
  };
  tf.dispose([w, g, m, v, w2, x]);
  return report;
}

const registered = (backend: string) => tf.getKernel('UnsortedSegmentSum', backend) !== undefined &&
  projectKernelNames(backend).every((name) => tf.getKernel(name, backend) === projectConfig(name, backend));
const projectConfigs = new Map<string, tf.KernelConfig>();
const projectConfig = (name: string, backend: string) => projectConfigs.get(`${backend}_${name}`);

async function child(role: 'cpu' | 'wasm', cases: Cases): Promise<ChildReport> {
  registerProjectGradients(); // the Max/Min gradient the engine trains with, for the extremum cases
  const quiet = console.log;
  console.log = () => undefined; // tfjs' banner about tfjs-node
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(role === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : '@tensorflow/tfjs-backend-wasm');
  const stockBefore = new Map(projectKernelNames(role).map((name) => [name, tf.getKernel(name, role)]));
  const report: Partial<ChildReport> = {};

  if (role === 'wasm') {
    report.stockMissing = projectKernelNames('wasm').filter((name) => stockBefore.get(name) === undefined);
    // Registered before the backend is initialised: the documented alternative order.
    registerProjectKernels('wasm');
  }
  await tf.setBackend(role);
  await tf.ready();
  console.log = quiet;

  if (role === 'wasm') {
    unregisterProjectKernels('wasm');
    const lstm = cases.models.find((c) => c.kind === 'lstm')!;
    const conv = cases.models.find((c) => c.kind === 'conv1d')!;
    report.stockEmbeddingError = errorOf(() => modelGradients(lstm, (name) => name.includes('embedding')));
    report.stockConvError = errorOf(() => modelGradients(conv, (name) => name.includes('conv1d')));
    report.wasmStockReduce = computeReduce(cases);
  } else {
    report.stock = computeAll(cases, role);
    const filter = tf.variable(tf.ones([3, 2, 2]));
    const dilated = () => tf.variableGrads(() => tf.sum(tf.conv1d(tf.ones([1, 9, 2]) as tf.Tensor3D, filter as tf.Tensor3D, 1, 'valid', 'NWC', 2)) as tf.Scalar, [filter]);
    report.dilatedConvGradError = errorOf(dilated);
    filter.dispose();
  }

  // The documented order: after setBackend and ready; twice, to show the second call changes nothing.
  report.firstNames = registerProjectKernels(role);
  for (const name of report.firstNames) projectConfigs.set(`${role}_${name}`, tf.getKernel(name, role)!);
  report.secondNames = registerProjectKernels(role);
  report.projectInPlace = report.firstNames.every((name) => tf.getKernel(name, role) === projectConfig(name, role) && tf.getKernel(name, role) !== stockBefore.get(name));
  unregisterProjectKernels(role);
  report.stockRestored = report.firstNames.every((name) => tf.getKernel(name, role) === stockBefore.get(name));
  registerProjectKernels(role);
  assert.ok(registered(role), 'project kernels are in place for the computations');

  report.project = computeAll(cases, role);
  report.fusedRecurrent = fusedRecurrentErrors();
  if (role === 'wasm') report.simd = simdReport();
  return report as ChildReport;
}

function runInChild(role: 'cpu' | 'wasm', cases: Cases): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const proc = fork(__filename, [role], { serialization: 'advanced', silent: true });
    let output = '';
    proc.stdout?.on('data', (d) => { output += d; });
    proc.stderr?.on('data', (d) => { output += d; });
    let report: ChildReport | undefined;
    proc.on('message', (m) => { report = m as ChildReport; });
    proc.on('exit', (code) => (report && code === 0 ? resolve(report) : reject(new Error(`${role} child exited with ${code}:\n${output}`))));
    proc.send(cases);
  });
}

if (require.main === module) {
  const role = process.argv[2] as 'cpu' | 'wasm';
  process.once('message', (cases) => {
    child(role, cases as Cases).then(
      (report) => process.send!(report, () => process.exit(0)),
      (e) => { console.error((e as Error).stack); process.exit(1); },
    );
  });
} else {
  describe('project kernels (src/engine/kernels)', function () {
    this.timeout(60_000);
    let cases: Cases;
    let cpu: ChildReport;
    let wasm: ChildReport;

    before(async () => {
      cases = makeCases();
      [cpu, wasm] = await Promise.all([runInChild('cpu', cases), runInChild('wasm', cases)]);
    });

    /** max |actual - expected| / max |expected|: the error relative to the tensor's scale. */
    function relativeError(actual: Values | string, expected: Values | string): number {
      assert.ok(typeof actual !== 'string', `computation failed: ${actual}`);
      assert.ok(typeof expected !== 'string', `reference failed: ${expected}`);
      assert.strictEqual(actual.length, expected.length, 'element count');
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < expected.length; i++) {
        diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
        scale = Math.max(scale, Math.abs(expected[i]));
      }
      return diff / Math.max(scale, 1e-30);
    }
    function assertClose(actual: Values | string, expected: Values | string, tolerance: number, what: string): void {
      const error = relativeError(actual, expected);
      assert.ok(error <= tolerance, `${what}: relative error ${error.toExponential(2)} > ${tolerance}`);
    }

    describe('registration', () => {
      it('registers the listed kernels per backend, nothing for tensorflow', () => {
        assert.deepStrictEqual(registerProjectKernels('tensorflow'), []);
        assert.deepStrictEqual(unregisterProjectKernels('tensorflow'), []);
        assert.deepStrictEqual(cpu.firstNames, projectKernelNames('cpu'));
        assert.deepStrictEqual(wasm.firstNames, projectKernelNames('wasm'));
        assert.ok(cpu.firstNames.includes('UnsortedSegmentSum') && cpu.firstNames.includes('Conv2DBackpropFilter') && cpu.firstNames.includes('SplitV'));
        assert.ok(wasm.firstNames.includes('UnsortedSegmentSum') && wasm.firstNames.includes('Conv2DBackpropFilter'));
      });
      it('is idempotent, replaces the stock kernels, and unregistering restores them', () => {
        for (const report of [cpu, wasm]) {
          assert.deepStrictEqual(report.secondNames, report.firstNames);
          assert.ok(report.projectInPlace);
          assert.ok(report.stockRestored);
        }
      });
      it('stock wasm lacks UnsortedSegmentSum and Conv2DBackpropFilter, so Embedding and Conv1D cannot train without them', () => {
        // (and the project's own Max/Min gradient kernel, which is no tfjs kernel)
        assert.deepStrictEqual(wasm.stockMissing, ['UnsortedSegmentSum', 'Conv2DBackpropFilter', EXTREMUM_GRAD]);
        assert.match(wasm.stockEmbeddingError ?? 'trained', /Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'/);
        assert.match(wasm.stockConvError ?? 'trained', /Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/);
      });
      it('throws with the fix when the backend package was not imported first', function () {
        if (tf.findBackendFactory('wasm') != null) this.skip(); // another test file of this process imported it
        assert.throws(() => registerProjectKernels('wasm'), /import '@tensorflow\/tfjs-backend-wasm' first/);
      });
    });

    describe('UnsortedSegmentSum', () => {
      it('cpu matches the stock cpu kernel (repeated, out-of-range ids; inner shapes; int32)', () => {
        cases.segmentSum.forEach((c, i) => assertClose(cpu.project.segmentSum[i], cpu.stock!.segmentSum[i], 1e-6, `case ${i}`));
      });
      it('wasm matches the stock cpu kernel', () => {
        cases.segmentSum.forEach((c, i) => assertClose(wasm.project.segmentSum[i], cpu.stock!.segmentSum[i], 1e-6, `case ${i}`));
      });
      it('keeps int32 sums exact', () => {
        assert.ok(cpu.project.segmentSum[2] instanceof Int32Array && wasm.project.segmentSum[2] instanceof Int32Array);
        assert.deepStrictEqual(Array.from(cpu.project.segmentSum[2]), Array.from(cpu.stock!.segmentSum[2]));
      });
    });

    describe('Conv2DBackpropFilter', () => {
      it('cpu matches the stock cpu kernel', () => {
        cases.conv.forEach((c, i) => assertClose(cpu.project.filterGrad[i], cpu.stock!.filterGrad[i], 1e-6, c.name));
      });
      it('wasm matches the stock cpu kernel (NHWC) and rejects NCHW as wasm Conv2D does', () => {
        cases.conv.forEach((c, i) => {
          if (c.dataFormat === 'NCHW') assert.match(String(wasm.project.filterGrad[i]), /does not support dataFormat 'NCHW'/);
          else assertClose(wasm.project.filterGrad[i], cpu.stock!.filterGrad[i], 1e-5, c.name);
        });
      });
      it('wasm matches cpu when the batch is split into im2col chunks', () => {
        assertClose(wasm.project.bigFilterGrad, cpu.project.bigFilterGrad, 1e-5, 'chunked');
      });
      it('dilations never reach it: tfjs-core rejects the gradient of a dilated conv', () => {
        assert.match(cpu.dilatedConvGradError ?? 'no error', /dilation rates greater than 1 are not yet supported in gradients/);
      });
    });

    describe('Conv2DBackpropInput (wasm)', () => {
      it('matches the stock cpu kernel, NCHW included (handed to the stock wasm kernel)', () => {
        cases.conv.forEach((c, i) => assertClose(wasm.project.inputGrad[i], cpu.stock!.inputGrad[i], 1e-5, c.name));
        assertClose(wasm.project.bigInputGrad, cpu.stock!.bigInputGrad, 1e-5, 'chunked');
      });
    });

    describe('convolution gradients of a mostly-zero dy (sparse_conv.ts)', () => {
      /** Same non-finite entries (NaN as NaN, ±Inf by sign), and the finite ones within `tolerance` of the scale. */
      function assertCloseNonFinite(actual: Values | string, expected: Values | string, tolerance: number, what: string): void {
        assert.ok(typeof actual !== 'string' && typeof expected !== 'string', `${what}: ${actual} / ${expected}`);
        assert.strictEqual(actual.length, expected.length, `${what}: element count`);
        let diff = 0;
        let scale = 0;
        for (let i = 0; i < expected.length; i++) {
          if (!Number.isFinite(expected[i]) || !Number.isFinite(actual[i])) {
            assert.ok(Object.is(actual[i], expected[i]) || (Number.isNaN(actual[i]) && Number.isNaN(expected[i])), `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
            continue;
          }
          diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
          scale = Math.max(scale, Math.abs(expected[i]));
        }
        assert.ok(diff <= tolerance * Math.max(scale, 1e-30), `${what}: relative error ${(diff / scale).toExponential(2)} > ${tolerance}`);
      }
      it('the density test sends every case to the sparse path on wasm', () => {
        assert.deepStrictEqual(wasm.project.sparseTaken, cases.sparseConv.map(() => true));
      });
      it('wasm filter and input gradients match the stock cpu kernels (strides, paddings, batch 1, odd channels)', () => {
        cases.sparseConv.forEach((c, i) => {
          assertCloseNonFinite(wasm.project.sparseFilterGrad[i], cpu.stock!.sparseFilterGrad[i], 1e-5, `filter ${c.name}`);
          assertCloseNonFinite(wasm.project.sparseInputGrad[i], cpu.stock!.sparseInputGrad[i], 1e-5, `input ${c.name}`);
        });
      });
      it('non-finite x makes the same entries NaN/Inf as the dense product', () => {
        const at = cases.sparseConv.findIndex((c) => c.name.includes('non-finite'));
        const grad = cpu.stock!.sparseFilterGrad[at] as Float32Array;
        assert.ok(grad.some((v) => Number.isNaN(v)), 'the reference has NaN entries (a zero of dy times ±Inf)');
        assertCloseNonFinite(wasm.project.sparseFilterGrad[at], grad, 1e-5, 'filter');
      });
    });

    describe('wasm Conv2D over an Embedding\'s rows (embedding_conv.ts)', () => {
      it('takes the distinct-rows path where tokens repeat, the stock kernel where they do not', () => {
        assert.deepStrictEqual(wasm.project.embeddingConvDistinct, cases.embeddingConv.map((c) => c.distinct));
      });
      it('matches the stock cpu convolution (paddings, strides, batch 1, odd channels)', () => {
        cases.embeddingConv.forEach((c, i) => assertClose(wasm.project.embeddingConv[i], cpu.stock!.embeddingConv[i], 1e-5, c.name));
      });
    });

    describe('Max/Min gradient (gradients.ts: ties split evenly) as one kernel', () => {
      it('cpu and wasm give the tf-op chain\'s float32 bits: ties, NaN, signed zeros, ±Inf and NaN in dy, every axis layout', () => {
        const same = (a: Values, b: Values) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));
        cases.extremum.forEach((c, i) => {
          const what = `${c.op} [${c.xShape}] axes ${JSON.stringify(c.axes)}`;
          assert.ok(same(cpu.project.extremum[i], cpu.stock!.extremum[i]), `cpu ${what}`);
          assert.ok(same(wasm.project.extremum[i], cpu.stock!.extremum[i]), `wasm ${what}`);
        });
        // More nonzero gradient entries than extrema: ties were split.
        assert.ok(Array.from(cpu.stock!.extremum[1]).filter((v) => v !== 0).length > cases.extremum[1].dy.length, 'the cases have ties');
      });
    });

    describe('wasm Sum, Max, Min over middle and leading axes; Cast to the same dtype; Transpose that moves no data', () => {
      const same = (a: Values, b: Values) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));
      it('reductions give the stock wasm kernels\' float32 bits (order of sums, ±0, NaN, keepDims)', () => {
        cases.reduce.forEach((c, i) => assert.ok(same(wasm.project.reduce[i], wasm.wasmStockReduce![i]), `${c.op} [${c.xShape}] axes ${JSON.stringify(c.axes)}`));
      });
      it('Cast and Transpose equal the stock cpu kernels exactly', () => {
        cases.transpose.forEach((c, i) => assert.deepStrictEqual(Array.from(wasm.project.transpose[i]), Array.from(cpu.stock!.transpose[i]), `transpose ${i}`));
        wasm.project.cast.forEach((v, i) => assert.ok(same(v, cpu.stock!.cast[i]), `cast ${i}`));
      });
    });

    describe('BatchMatMul and _FusedMatMul', () => {
      const label = (c: MatMulCase) => `${c.aShape}x${c.bShape} tA=${c.transposeA} tB=${c.transposeB}`;
      it('cpu matches the stock cpu kernel for every transpose combination and batched products', () => {
        cases.matMul.forEach((c, i) => assertClose(cpu.project.matMul[i], cpu.stock!.matMul[i], 1e-6, label(c)));
      });
      it('wasm matches the stock cpu kernel for every transpose combination and batched products', () => {
        cases.matMul.forEach((c, i) => assertClose(wasm.project.matMul[i], cpu.stock!.matMul[i], 1e-5, label(c)));
      });
      it('cpu _FusedMatMul matches the stock kernel with bias and every activation', () => {
        cases.fused.forEach((c, i) => assertClose(cpu.project.fused[i], cpu.stock!.fused[i], 1e-6, `${c.activation} ${label(c)}`));
      });
    });

    describe('cpu Slice, SplitV, Transpose', () => {
      it('equal the stock kernels exactly', () => {
        cases.slice.forEach((c, i) => assert.deepStrictEqual(cpu.project.slice[i], cpu.stock!.slice[i], `slice ${i}`));
        cases.split.forEach((c, i) => assert.deepStrictEqual(cpu.project.split[i], cpu.stock!.split[i], `split ${i}`));
        cases.transpose.forEach((c, i) => assert.deepStrictEqual(cpu.project.transpose[i], cpu.stock!.transpose[i], `transpose ${i}`));
      });
    });

    describe('GatherV2 (the Embedding lookup)', () => {
      it('cpu and wasm equal the stock cpu kernel exactly (axis, batchDims, int32, bool)', () => {
        cases.gather.forEach((c, i) => {
          assert.deepStrictEqual(Array.from(cpu.project.gather[i]), Array.from(cpu.stock!.gather[i]), `cpu gather ${i}`);
          assert.deepStrictEqual(Array.from(wasm.project.gather[i]), Array.from(cpu.stock!.gather[i]), `wasm gather ${i}`);
        });
      });
      it('rejects an index out of range as the stock kernel does', () => {
        for (const report of [cpu, wasm]) assert.match(report.project.gatherOutOfRange ?? 'no error', /GatherV2: the index value 4 is not in \[0, 3\]/);
      });
    });

    describe('wasm Slice, SplitV, Unpack, Identity', () => {
      it('equal the stock cpu kernels exactly', () => {
        cases.slice.forEach((c, i) => assert.deepStrictEqual(Array.from(wasm.project.slice[i]), Array.from(cpu.stock!.slice[i]), `slice ${i}`));
        cases.split.forEach((c, i) => assert.deepStrictEqual(wasm.project.split[i].map((v) => Array.from(v)), cpu.stock!.split[i].map((v) => Array.from(v)), `split ${i}`));
        cases.unpack.forEach((c, i) => assert.deepStrictEqual(wasm.project.unpack[i].map((v) => Array.from(v)), cpu.stock!.unpack[i].map((v) => Array.from(v)), `unpack ${i}`));
        cases.unpack.forEach((c, i) => assert.deepStrictEqual(Array.from(wasm.project.identity[i]), Array.from(cpu.stock!.identity[i]), `identity ${i}`));
      });
    });

    describe('fused recurrent layers (LSTM, GRU, SimpleRNN as one op)', () => {
      it('match tfjs-layers\' per-step ops in loss and every gradient, every variant, on cpu and wasm', () => {
        for (const [label, report] of [['cpu', cpu], ['wasm', wasm]] as const) {
          assert.strictEqual(report.fusedRecurrent.length, 18);
          for (const r of report.fusedRecurrent) {
            assert.ok(r.fused, `${label} ${r.label}: not fused`);
            assert.ok(r.error < 5e-6, `${label} ${r.label}: relative error ${r.error.toExponential(2)}`);
          }
        }
      });
    });

    describe('WebAssembly SIMD kernels on the wasm heap', () => {
      it('Adam and SGD give the tf ops\' float32 bits, with exact weight norms', () => {
        const simd = wasm.simd!;
        assert.ok(simd.available, 'SIMD kernels did not load');
        assert.ok(simd.adamExact && simd.slotsExact, 'Adam weights or slots differ from the tf-op update');
        assert.ok(simd.sgdExact, 'SGD differs from the tf-op update');
        assert.ok(simd.normsError < 1e-12, `weight norms off by ${simd.normsError}`);
      });
      it('statistics equal the JS loop: moments, extremes, zero count, every histogram bin', () => {
        const simd = wasm.simd!;
        assert.ok(simd.momentsError < 1e-12, `moments off by ${simd.momentsError}`);
        assert.ok(simd.extremesEqual && simd.zerosEqual && simd.histogramEqual);
      });
    });

    describe('binary ops broadcasting along a size-1 axis', () => {
      it('cpu equals the stock kernels exactly', () => {
        cases.binary.forEach((c, i) => assert.deepStrictEqual(cpu.project.binary[i], cpu.stock!.binary[i], `${c.op} ${c.aShape} ${c.bShape}`));
      });
      it('wasm comparisons equal the stock cpu kernels exactly', () => {
        const compares = (c: BinaryCase) => /Equal|Greater|Less|Logical/.test(c.op);
        cases.binary.forEach((c, i) => {
          if (compares(c)) assert.deepStrictEqual(Array.from(wasm.project.binary[i]), Array.from(cpu.stock!.binary[i]), `${c.op} ${c.aShape} ${c.bShape}`);
        });
      });
    });

    describe('model gradients, same weights and batch', () => {
      const kinds: ModelKind[] = ['lstm', 'gru', 'simpleRNN', 'conv1d', 'mlp'];
      for (const [label, project, tolerance] of [['cpu', () => cpu.project, 1e-6], ['wasm', () => wasm.project, 1e-5]] as const) {
        it(`${label} with the project's kernels matches stock cpu for every variable`, () => {
          kinds.forEach((kind, m) => {
            const expected = cpu.stock!.models[m];
            const actual = project().models[m];
            assert.strictEqual(actual.length, expected.length);
            actual.forEach((grad, v) => assertClose(grad, expected[v], tolerance, `${kind} variable ${v}`));
          });
        });
      }
    });
  });
}
