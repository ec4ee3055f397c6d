// The project's cpu/wasm kernels against tfjs' stock kernels, and whole-model gradients on wasm against stock cpu.
//
// One backend per process is the safe rule (switching with live tensors corrupted values), so each
// backend's computations run in a child process: this same file, forked with a role argument.
// The parent makes every input with a seeded generator, the children compute, the parent compares.

import * as assert from 'assert';
import { fork } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { projectKernelNames, registerProjectKernels, unregisterProjectKernels } from '../../src/engine/kernels';

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
type ModelKind = 'lstm' | 'gru' | 'simpleRNN' | 'conv1d' | 'mlp';
interface ModelCase { kind: ModelKind; x: Float32Array | Int32Array; xShape: number[]; y: Float32Array; yShape: number[] }

interface Cases {
  segmentSum: SegmentSumCase[]; conv: ConvCase[]; bigConv: ConvCase; matMul: MatMulCase[]; fused: FusedCase[];
  slice: SliceCase[]; split: SplitCase[]; transpose: TransposeCase[]; binary: BinaryCase[]; models: ModelCase[];
}

interface Results {
  segmentSum: Values[]; filterGrad: (Values | string)[]; inputGrad: (Values | string)[]; matMul: Values[]; fused: Values[];
  slice: Values[]; split: Values[][]; transpose: Values[]; binary: Values[]; models: Values[][];
  bigFilterGrad: Values; bigInputGrad: Values;
}

interface ChildReport {
  stock?: Results; project: Results;
  firstNames: string[]; secondNames: string[]; projectInPlace: boolean; stockRestored: boolean;
  stockMissing?: string[]; stockEmbeddingError?: string; stockConvError?: string; dilatedConvGradError?: string;
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

  return { segmentSum, conv: convCases, bigConv, matMul, fused, slice, split, transpose, binary, models };
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
  };
}

const registered = (backend: string) => tf.getKernel('UnsortedSegmentSum', backend) !== undefined &&
  projectKernelNames(backend).every((name) => tf.getKernel(name, backend) === projectConfig(name, backend));
const projectConfigs = new Map<string, tf.KernelConfig>();
const projectConfig = (name: string, backend: string) => projectConfigs.get(`${backend}_${name}`);

async function child(role: 'cpu' | 'wasm', cases: Cases): Promise<ChildReport> {
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
        assert.deepStrictEqual(wasm.stockMissing, ['UnsortedSegmentSum', 'Conv2DBackpropFilter']);
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
