// Benchmarks the project's kernels against tfjs' stock ones (per call and per training step), on cpu and wasm.
//
//   node bench/kernels.js                  both backends, each in its own process (one backend per process)
//   node bench/kernels.js --backend wasm   one backend
//   options: --steps N (timed training steps per model, default 5)
//            --full    also time stock cpu training steps of the Embedding(5000) models (~1-2 min per step)
// Needs a build first (npx tsc -p .). Prints medians; this machine is shared, so expect ±20% noise.

'use strict';
const path = require('path');
const os = require('os');
const { spawnSync } = require('child_process');
const { quietTfjs } = require('./quiet');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const backendName = option('--backend');
const steps = Number(option('--steps', '5'));
const full = args.includes('--full');

if (!backendName) {
  console.log(`node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const backend of ['wasm', 'cpu']) {
    const run = spawnSync(process.execPath, [__filename, '--backend', backend, ...args], { stdio: 'inherit' });
    if (run.status !== 0) process.exitCode = 1;
  }
  return;
}

// tfjs' cpu backend prints a banner recommending tfjs-node at its first op; keep the tables readable.
quietTfjs();

const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
const kernels = require(path.join(__dirname, '..', 'out', 'src', 'engine', 'kernels', 'index.js'));

/** Median ms of f (which returns a tensor or tensors), at least 1 and at most `reps` calls or ~`budgetMs`. */
function medianMs(f, reps = 15, budgetMs = 3000) {
  if (reps > 1) tf.dispose(f()); // warm-up; a slow stock kernel gets a single cold call
  const times = [];
  const start = Date.now();
  while (times.length < reps && (times.length === 0 || Date.now() - start < budgetMs)) {
    const t0 = process.hrtime.bigint();
    const out = f();
    for (const t of [].concat(out)) t.dataSync();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    tf.dispose(out);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const fmt = (ms) => (ms === undefined ? 'n/a' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const row = (label, stock, project) => {
  const speedup = typeof stock === 'number' && typeof project === 'number' ? `${(stock / project).toFixed(1)}x` : '';
  console.log(`  ${label.padEnd(58)} ${String(typeof stock === 'number' ? fmt(stock) : stock).padStart(10)} ${fmt(project).padStart(9)} ${speedup.padStart(8)}`);
};

/** Times `f` with the stock kernels, then with the project's; a missing stock kernel prints as such. */
function compare(label, kernelName, f, { slowStock = false } = {}) {
  if (!kernels.projectKernelNames(backendName).includes(kernelName)) return;
  kernels.unregisterProjectKernels(backendName);
  let stock;
  try {
    stock = medianMs(f, slowStock ? 1 : 15);
  } catch (e) {
    stock = /not registered/.test(e.message) ? 'missing' : 'error';
  }
  kernels.registerProjectKernels(backendName);
  row(label, stock, medianMs(f));
}

const kernel = (name, inputs, attrs) => () => tf.engine().runKernel(name, inputs, attrs);

function kernelBench() {
  console.log(`\n[${backendName}] median ms per kernel call${' '.repeat(24)}stock   project  speedup`);
  const ids = tf.randomUniform([1600], 0, 5000, 'int32');
  const rows = tf.randomNormal([1600, 64]);
  compare('UnsortedSegmentSum x[1600,64] -> [5000,64] (Embedding grad)', 'UnsortedSegmentSum', kernel('UnsortedSegmentSum', { x: rows, segmentIds: ids }, { numSegments: 5000 }),
    { slowStock: backendName === 'cpu' });

  const table = tf.randomNormal([5000, 64]);
  compare('GatherV2 [1600] ids from [5000,64] (Embedding lookup)', 'GatherV2', kernel('GatherV2', { x: table, indices: ids }, { axis: 0, batchDims: 0 }));
  const sequence3 = tf.randomNormal([32, 50, 64]);
  compare('Unpack [32,50,64] on axis 1 (an RNN\'s time steps)', 'Unpack', kernel('Unpack', { value: sequence3 }, { axis: 1 }));
  compare('Identity [5000,64] (variable reads, clones)', 'Identity', kernel('Identity', { x: table }, {}));

  const x = tf.randomNormal([32, 1, 50, 64]);
  const dy = tf.randomNormal([32, 1, 46, 64]);
  const filter = tf.randomNormal([1, 5, 64, 64]);
  const convAttrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC' };
  compare('Conv2DBackpropFilter Conv1D(64,k5) on [32,50,64]', 'Conv2DBackpropFilter', kernel('Conv2DBackpropFilter', { x, dy }, { ...convAttrs, filterShape: [1, 5, 64, 64] }),
    { slowStock: backendName === 'cpu' });
  compare('Conv2DBackpropInput  Conv1D(64,k5) on [32,50,64]', 'Conv2DBackpropInput', kernel('Conv2DBackpropInput', { dy, filter }, { ...convAttrs, inputShape: [32, 1, 50, 64] }));
  // dy as GlobalMaxPool1D leaves it (one time step per sequence and channel): the sparse path. A fresh dy per
  // call, as in training (the kernels remember the nonzero entries of a dy they have seen).
  const pooled = new Float32Array(32 * 46 * 64);
  for (let b = 0; b < 32; b++) for (let c = 0; c < 64; c++) pooled[(b * 46 + ((b * 7 + c * 13) % 46)) * 64 + c] = Math.sin(b + c);
  const freshPooled = (f) => () => { const sparseDy = tf.tensor4d(pooled, [32, 1, 46, 64]); const out = f(sparseDy); sparseDy.dispose(); return out; };
  compare('Conv2DBackpropFilter, max-pooled dy (2% nonzero)', 'Conv2DBackpropFilter',
    freshPooled((d) => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: d }, { ...convAttrs, filterShape: [1, 5, 64, 64] })),
    { slowStock: backendName === 'cpu' });
  compare('Conv2DBackpropInput, max-pooled dy (2% nonzero)', 'Conv2DBackpropInput',
    freshPooled((d) => tf.engine().runKernel('Conv2DBackpropInput', { dy: d, filter }, { ...convAttrs, inputShape: [32, 1, 50, 64] })));

  const maxed = tf.randomNormal([32, 46, 64]);
  const max = tf.max(maxed, 1, true);
  compare('Equal [32,46,64] vs [32,1,64] (GlobalMaxPool grad)', 'Equal', kernel('Equal', { a: maxed, b: max }, {}));
  compare('Multiply [32,46,64] x [32,1,64] (GlobalMaxPool grad)', 'Multiply', kernel('Multiply', { a: max, b: maxed }, {}));

  const mm = (m, k, n, transposeA, transposeB) => {
    const a = tf.randomNormal(transposeA ? [k, m] : [m, k]);
    const b = tf.randomNormal(transposeB ? [n, k] : [k, n]);
    const flags = [transposeA && 'transposeA', transposeB && 'transposeB'].filter(Boolean).join(' ');
    compare(`BatchMatMul (${m}x${k})(${k}x${n}) ${flags}`, 'BatchMatMul', kernel('BatchMatMul', { a, b }, { transposeA, transposeB }));
  };
  mm(64, 32, 256, true, false); // LSTM dW = x^T dy
  mm(32, 256, 64, false, true); // LSTM dx = dy W^T
  mm(64, 32, 192, true, false); // GRU
  mm(784, 64, 128, true, false); // MLP dW1
    mm(64, 128, 128, false, true); // MLP dh1
  mm(32, 64, 256, false, false); // LSTM forward x W (cpu: the plain product is slow too)
  mm(64, 784, 128, false, false); // MLP forward

  const gates = tf.randomNormal([32, 256]);
  compare('SplitV [32,256] into 4 on axis 1 (LSTM gates)', 'SplitV', kernel('SplitV', { x: gates }, { numOrSizeSplits: 4, axis: 1 }));
  const gruGates = tf.randomNormal([32, 192]);
  compare('SplitV [32,192] into 3 on axis 1 (GRU gates)', 'SplitV', kernel('SplitV', { x: gruGates }, { numOrSizeSplits: 3, axis: 1 }));
  compare('Slice [32,256] -> [32,64] at column 64', 'Slice', kernel('Slice', { x: gates }, { begin: [0, 64], size: [32, 64] }));
  const sequence = tf.randomNormal([32, 50, 64]);
  compare('Transpose [32,50,64] perm [1,0,2] (to time-major)', 'Transpose', kernel('Transpose', { x: sequence }, { perm: [1, 0, 2] }));
  compare('Transpose [1600,64] perm [0,1] (gather grad)', 'Transpose', kernel('Transpose', { x: rows }, { perm: [0, 1] }));
}

function buildModel(kind) {
  const model = tfl.sequential();
  if (kind === 'mlp') {
    model.add(tfl.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }));
    model.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
    model.add(tfl.layers.dense({ units: 10 }));
    return { model, x: tf.randomNormal([64, 784]), y: tf.cast(tf.oneHot(tf.randomUniform([64], 0, 10, 'int32'), 10), 'float32') };
  }
  model.add(tfl.layers.embedding({ inputDim: 5000, outputDim: 64, inputLength: 50 }));
  // glorotUniform: tfjs-layers' default orthogonal initializer calls a chained op missing from tfjs-core's node bundle.
  const recurrent = { units: 64, recurrentInitializer: 'glorotUniform' };
  if (kind === 'lstm') model.add(tfl.layers.lstm(recurrent));
  if (kind === 'gru') model.add(tfl.layers.gru(recurrent));
  if (kind === 'simpleRNN') model.add(tfl.layers.simpleRNN(recurrent));
  if (kind === 'conv1d') {
    model.add(tfl.layers.conv1d({ filters: 64, kernelSize: 5, activation: 'relu' }));
    model.add(tfl.layers.globalMaxPooling1d());
  }
  model.add(tfl.layers.dense({ units: 2 }));
  return { model, x: tf.randomUniform([32, 50], 0, 5000, 'int32'), y: tf.cast(tf.oneHot(tf.randomUniform([32], 0, 2, 'int32'), 2), 'float32') };
}

/**
 * Kernel sets for the step table: stock tfjs; stock plus only the two gradient kernels that are
 * missing (wasm) or take seconds (cpu), i.e. the least needed to train these models; the project's full set.
 */
const MINIMAL = ['UnsortedSegmentSum', 'Conv2DBackpropFilter'];
let stockMinimal; // the stock configs of MINIMAL (undefined where missing), taken before any registration
let projectMinimal;
function useKernels(set) {
  const swap = (name, config) => {
    if (tf.getKernel(name, backendName) === config) return;
    if (tf.getKernel(name, backendName) !== undefined) tf.unregisterKernel(name, backendName);
    if (config !== undefined) tf.registerKernel(config);
  };
  if (set === 'project') {
    kernels.registerProjectKernels(backendName);
    return;
  }
  kernels.unregisterProjectKernels(backendName);
  MINIMAL.forEach((name, i) => swap(name, set === 'minimal' ? projectMinimal[i] : stockMinimal[i]));
}

function stepBench() {
  console.log(`\n[${backendName}] median ms per training step (variableGrads + Adam)`);
  console.log(`  ${''.padEnd(58)} ${'stock'.padStart(10)} ${'minimal'.padStart(9)} ${'project'.padStart(9)}  project vs minimal`);
  for (const kind of ['mlp', 'lstm', 'gru', 'simpleRNN', 'conv1d']) {
    const { model, x, y } = buildModel(kind);
    const vars = model.trainableWeights.map((w) => w.read());
    const timeSteps = (n) => {
      const optimizer = tf.train.adam(1e-3);
      const step = () => {
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), vars);
        optimizer.applyGradients(grads);
        value.dataSync();
        tf.dispose([value, grads]);
      };
      if (n > 1) step(); // warm-up; a slow stock step gets a single cold run
      const times = [];
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        step();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      optimizer.dispose();
      return times.sort((a, b) => a - b)[times.length >> 1];
    };
    const label = kind === 'mlp' ? 'MLP 784-128-128-10, batch 64' : `Embedding(5000,64)+${kind === 'conv1d' ? 'Conv1D(64,k5)+GlobalMaxPool' : `${kind}(64)`}+Dense(2), 32x50`;
    const timed = {};
    for (const set of ['stock', 'minimal', 'project']) {
      useKernels(set);
      const tooSlow = set === 'stock' && backendName === 'cpu' && kind !== 'mlp';
      try {
        timed[set] = tooSlow && !full ? 'skipped' : timeSteps(tooSlow ? 1 : steps);
      } catch (e) {
        timed[set] = /not registered/.test(e.message) ? 'missing' : 'error';
      }
    }
    const show = (v) => String(typeof v === 'number' ? fmt(v) : v);
    const speedup = typeof timed.minimal === 'number' ? `${(timed.minimal / timed.project).toFixed(2)}x` : '';
    console.log(`  ${label.padEnd(58)} ${show(timed.stock).padStart(10)} ${show(timed.minimal).padStart(9)} ${show(timed.project).padStart(9)}  ${speedup.padStart(8)}`);
    model.dispose();
  }
  useKernels('project');
  console.log(`  minimal = stock + the project's ${MINIMAL.join(' and ')} only.`);
  if (backendName === 'cpu' && !full) console.log('  Stock cpu steps of the Embedding(5000) models take ~1.5-3 min each (UnsortedSegmentSum alone ~90 s): run with --full.');
}

(async () => {
  require(backendName === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : '@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backendName);
  await tf.ready();
  stockMinimal = MINIMAL.map((name) => tf.getKernel(name, backendName));
  kernels.registerProjectKernels(backendName);
  projectMinimal = MINIMAL.map((name) => tf.getKernel(name, backendName));
  console.log(`\n[${backendName}] project kernels: ${kernels.registerProjectKernels(backendName).join(', ')}`);
  kernelBench();
  stepBench();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
