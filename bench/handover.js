#!/usr/bin/env node
// Where a monitored step's hand-over to the monitor thread goes, on the training thread, per part: the wait for a free buffer,
// packing the gradients (an Embedding's touched rows, or the nonzero scan), summing watched outputs on the heap,
// posting the step, and waiting for the thread's verdict; with the trainer's own count of its monitoring work
// (statsMs: copies and weight norms) and the monitor thread's statistics time (threadMs). The parts are timed by
// wrapping the functions the trainer calls, through the real runTraining (run log off), every step monitored.
// What bench/run.js's overhead is made of; the rest of it is the monitor thread's work slowing this one.
//   node bench/handover.js [--model conv1d] [--backend wasm] [--steps 1500]
// Needs a build (node scripts/build.js). Models: bench/configs/<model>.gradmon.json.
'use strict';
const path = require('path');
const { quietTfjs } = require('./quiet');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const model = option('--model', 'conv1d');
const backend = option('--backend', 'wasm');
const steps = Number(option('--steps', '1500'));
const WARMUP = 50;
const out = (...p) => path.join(root, 'out', 'src', ...p);

const ms = {};
let counting = false;
/** Replaces object[name] with a timed call (the trainer calls these through their module objects or prototypes). */
function time(object, name, label = name) {
  const f = object[name];
  object[name] = function timed(...args) {
    const t0 = performance.now();
    try {
      return f.apply(this, args);
    } finally {
      if (counting) ms[label] = (ms[label] ?? 0) + performance.now() - t0;
    }
  };
}

async function main() {
  quietTfjs();
  const wasmStats = require(out('engine', 'kernels', 'wasm_stats.js'));
  time(wasmStats.GradientPacker.prototype, 'pack', 'pack gradients');
  time(wasmStats, 'activationSums', 'sum watched outputs');
  const thread = require(out('engine', 'monitorThread.js')).MonitorThread.prototype;
  time(thread, 'slot', 'buffer (wait for a free one)');
  time(thread, 'postStep', 'post the step');
  time(thread, 'verdict', 'verdict (wait for the thread)');
  const { runTraining } = require(out('engine', 'run.js'));
  let monitored = 0;
  let statsMs = 0;
  let threadMs = 0;
  let t0 = 0;
  const outcome = await runTraining({
    configPath: path.join(__dirname, 'configs', `${model}.gradmon.json`), workspaceRoot: root, backend, maxSteps: WARMUP + steps,
    log: false, view: 'all',
    onEvents: events => {
      for (const e of events) {
        if (e.type !== 'step') continue;
        if (e.step === WARMUP - 1) {
          counting = true;
          t0 = performance.now();
        } else if (counting && e.stats) {
          monitored++;
          statsMs += e.stats.statsMs ?? 0;
          threadMs += e.stats.threadMs ?? 0;
        }
      }
    },
  });
  if (!outcome.ok) throw new Error(outcome.problems.map(p => p.message).join('; '));
  const wall = (performance.now() - t0) / monitored;
  console.log(`${model} on ${backend}: ${monitored} monitored steps after ${WARMUP} of warm-up, ${wall.toFixed(2)} ms per step (events arrive in batches: approximate)`);
  const per = label => ((ms[label] ?? 0) / monitored).toFixed(3);
  console.log('On the training thread, ms per step:');
  console.log(`  ${'monitoring work (statsMs: copies, packing, sums, weight norms)'.padEnd(66)} ${(statsMs / monitored).toFixed(3)}`);
  for (const label of ['buffer (wait for a free one)', 'pack gradients', 'sum watched outputs']) console.log(`    of which ${label.padEnd(55)} ${per(label)}`);
  for (const label of ['post the step', 'verdict (wait for the thread)']) console.log(`  ${label.padEnd(66)} ${per(label)}`);
  console.log(`On the monitor thread: statistics ${(threadMs / monitored).toFixed(3)} ms per step (then the run log and the diagnosis)`);
}

main().catch(e => {
  console.error(e.stack ?? e);
  process.exit(1);
});
