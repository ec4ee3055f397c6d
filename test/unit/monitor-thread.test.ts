// Monitoring on its own thread (src/engine/monitorThread.ts) must show exactly what monitoring on the training
// thread shows: the same statistics, findings, halts and summary, and the same run log; the watcher gets every
// event in order. Runs on every backend (scripts/test.js), since what is copied to the thread differs.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { prepareRun, runTraining, type RunOutcome } from '../../src/engine/run';
import { readRun } from '../../src/engine/runlog';
import type { RawStepMessage, RunEvent, StepEvent, StepStats } from '../../src/protocol';
import { TEST_BACKEND, useTestBackend } from './helpers/engine';
import * as tf from '@tensorflow/tfjs-core';
import { activationSums, packNonzero, prepareWasmStatistics } from '../../src/engine/kernels/wasm_stats';
import { readFloats } from '../../src/engine/kernels/backend_access';
import { simdModuleBytes } from '../../src/engine/kernels/wasm_simd';
import { activationStatsFromSums, activationStatsOf, activationSumsOf, assembleStepStats, saturationBounds } from '../../src/engine/stepStats';
import { histogramSpec, StatsAccumulator } from '../../src/engine/stats';
import { MonitorThread } from '../../src/engine/monitorThread';
import { stepLayout } from '../../src/engine/trainer';

const repo = path.resolve(__dirname, '..', '..', '..');

/**
 * Differences between two logged runs: numbers beyond `tolerance` (relative), anything else that differs. The log
 * keeps 7 significant digits, and sums taken in another order (SIMD lanes against one JS loop) differ in the last
 * bits, so a number rounded to 7 digits in one log may be an integer written in full in the other.
 */
function differences(a: unknown, b: unknown, where = '', out: string[] = [], tolerance = 1e-6): string[] {
  if (/(stepMs|statsMs|threadMs|time|durationMs|startedAt|endedAt|stepsPerSecond|runId|runDir)$/.test(where)) return out;
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) && Number.isNaN(b)) return out;
    const scale = Math.max(Math.abs(a), Math.abs(b));
    if (a !== b && !(scale > 0 && Math.abs(a - b) / scale <= tolerance)) out.push(`${where}: ${a} vs ${b}`);
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`, out, tolerance);
    return out;
  }
  if (a !== b) out.push(`${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return out;
}

describe('monitor thread', function () {
  this.timeout(120000);
  before(async () => { await useTestBackend(); });
  const made: string[] = [];
  after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

  /** Trains `config` (a file of the repository or an object) with monitoring on the thread and inline. */
  async function both(config: string | object, maxSteps?: number) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-monitor-'));
    made.push(root);
    let configPath: string;
    if (typeof config === 'string') {
      configPath = path.join(root, path.basename(config));
      fs.copyFileSync(path.join(repo, config), configPath);
      const data = path.join(path.dirname(path.join(repo, config)), 'data');
      if (fs.existsSync(data)) fs.cpSync(data, path.join(root, 'data'), { recursive: true });
    } else {
      configPath = path.join(root, 'run.gradmon.json');
      fs.writeFileSync(configPath, JSON.stringify(config));
    }
    const run = async (monitorThread: boolean) => {
      const events: RunEvent[] = [];
      const outcome = await runTraining({ configPath, workspaceRoot: root, backend: TEST_BACKEND, maxSteps, monitorThread, onEvent: e => events.push(e) });
      assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.problems));
      return { outcome: outcome as Extract<RunOutcome, { ok: true }>, events };
    };
    return { thread: await run(true), inline: await run(false) };
  }

  function assertSame(r: Awaited<ReturnType<typeof both>>) {
    const { thread, inline } = r;
    assert.equal(thread.outcome.summary.status, inline.outcome.summary.status);
    assert.equal(thread.outcome.summary.reason, inline.outcome.summary.reason);
    assert.deepEqual(differences(thread.outcome.summary, inline.outcome.summary), []);
    // The log, line for line: every statistic the thread computed is the one computed inline.
    const a = readRun(thread.outcome.runDir!);
    const b = readRun(inline.outcome.runDir!);
    assert.equal(a.events.length, b.events.length);
    assert.deepEqual(differences(a.events, b.events).slice(0, 5), []);
    // What the watcher got: the same events, in the same order, ending with the run-end.
    assert.deepEqual(thread.events.map(e => e.type), inline.events.map(e => e.type));
    assert.equal(thread.events[thread.events.length - 1].type, 'run-end');
    return a.events.filter((e): e is StepEvent => e.type === 'step');
  }

  it('an MLP with tanh, sigmoid and ReLU layers and value clipping: same statistics, histograms and findings', async () => {
    const steps = assertSame(await both({
      name: 'mix', seed: 3, data: { source: 'synthetic', task: 'blobs', examples: 512, features: 12 },
      model: [
        { type: 'dense', units: 24, activation: 'tanh' }, { type: 'dense', units: 20, activation: 'sigmoid' },
        { type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' },
      ],
      loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 },
      clipping: [{ mode: 'value', threshold: 0.05 }, { mode: 'globalNorm', threshold: 1 }],
      training: { epochs: 2, batchSize: 32 },
    }));
    const s = steps[5].stats!;
    assert.ok(s.layers.every(l => l.grad.histogram && l.variables.length > 0), 'per-layer histograms and per-variable detail');
    assert.ok(s.layers.filter(l => l.activation).length === 3, 'activation statistics of the three watched layers');
    assert.ok(s.clippedGlobalNorm! <= 1 + 1e-6 && s.clippedGlobalNorm! < s.globalNorm);
  });

  for (const simd of [true, false]) {
    it(`the step buffers go round (${simd ? 'SIMD' : 'JS loops'} on the thread): each moves to the thread and back, a longer step gets a longer one, every step's figures are those of its own values`, async () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-monitor-'));
      made.push(root);
      const configPath = path.join(root, 'tiny.gradmon.json');
      fs.writeFileSync(configPath, JSON.stringify({
        name: 'tiny', seed: 1, data: { source: 'synthetic', task: 'blobs', examples: 64, features: 8 },
        model: [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'softmax' }],
        loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam' }, training: { epochs: 1, batchSize: 16 },
      }));
      const prepared = await prepareRun({ configPath, workspaceRoot: root, backend: TEST_BACKEND });
      assert.ok(prepared.ok);
      if (!prepared.ok) return;
      const { config, built } = prepared;
      const layout = stepLayout(built, config);
      built.dispose();
      const spec = histogramSpec(config.monitor.histogramRange[0], config.monitor.histogramRange[1], config.monitor.histogramBins);
      assert.ok(layout.groups.some(g => g.activation), 'a watched output goes over in the buffer too');
      const seen: RunEvent[] = [];
      const thread = MonitorThread.start({ config, layers: built.summaries, view: 'all' }, layout, e => seen.push(...e), simd ? simdModuleBytes() : undefined);
      assert.ok(typeof thread !== 'string', `the monitor thread starts (${thread})`);
      if (typeof thread === 'string') return;
      // Rows of the watched outputs per step. The first 4 steps wait for the thread's verdict, so its buffer is
      // back before the next one: the first is reused, the 64-row step needs a longer one, which is then reused.
      // The rest go back to back (the trainer waits only when both buffers are with the thread).
      const rows = [4, 4, 64, 4, ...Array.from({ length: 24 }, (_, i) => [1, 64, 16, 3][i % 4])];
      const lengths: number[] = [];
      const expected: StepStats[] = [];
      try {
        for (let step = 0; step < rows.length; step++) {
          thread.barrier();
          if (step < 4) assert.equal(thread.verdict(), undefined);
          // Values that differ per step, variable and element, over many decades, with zeros.
          const gradients = layout.groups.flatMap((g, gi) => g.variables.map((v, vi) =>
            Float32Array.from({ length: v.size }, (_, j) => (j % 5 === 0 ? 0 : Math.sin(step * 31 + gi * 7 + vi * 3 + j) * 10 ** -(j % 11)))));
          const watched = layout.groups.map((g, gi) => {
            if (!g.activation) return undefined;
            const units = g.variables[0].shape[1];
            return { units, values: Float32Array.from({ length: rows[step] * units }, (_, j) => Math.tanh(Math.cos(step + gi + j * 0.37) * 3)) };
          });
          const floats = gradients.reduce((a, g) => a + g.length, 0) + watched.reduce((a, w) => a + (w?.values.length ?? 0), 0);
          const buffer = thread.slot(floats);
          lengths.push(buffer.buffer.byteLength);
          let at = 0;
          const parts = gradients.map(g => {
            buffer.set(g, at);
            at += g.length;
            return { offset: at - g.length, length: g.length, zeros: 0 };
          });
          const activations: RawStepMessage['activations'] = watched.map(w => {
            if (!w) return null;
            buffer.set(w.values, at);
            at += w.values.length;
            return { offset: at - w.values.length, length: w.values.length, units: w.units };
          });
          const weightNorms = gradients.map((_, i) => ({ sumSq: 1 + i + step, diffSq: 0.01 * (i + 1), nonFinite: 0 }));
          thread.postStep({ step, epoch: 0, loss: 1 / (step + 1), learningRate: 1e-3, stepMs: 1, time: Date.now(), statsMs: 0, weightNorms, gradients: parts, activations });
          assert.equal(buffer.buffer.byteLength, 0, 'the buffer moved to the thread (transferred, not copied)');
          const accumulators = gradients.map(g => {
            const acc = new StatsAccumulator(spec);
            acc.add(g);
            return acc;
          });
          const direct = watched.map((w, gi) => (w ? activationStatsOf(w.values, w.units, layout.groups[gi].activation!) : undefined));
          expected.push(assembleStepStats(layout, spec, accumulators, weightNorms, direct));
        }
        await thread.end({ status: 'completed', steps: rows.length, epochs: 1 });
      } finally {
        await thread.dispose(); // (after end: nothing left to stop; after a failed assertion: the thread)
      }

      assert.equal(lengths[1], lengths[0], 'the buffer came back and was filled again');
      assert.ok(lengths[2] > lengths[0], 'a longer step got a longer buffer');
      assert.equal(lengths[3], lengths[2], 'which was then reused');
      const steps = seen.filter((e): e is StepEvent => e.type === 'step');
      assert.deepEqual(steps.map(e => e.step), rows.map((_, i) => i), 'every step, in order');
      for (const e of steps) {
        const diff = differences({ ...e.stats, statsMs: 0, threadMs: 0 }, { ...expected[e.step], statsMs: 0, threadMs: 0 }, `step ${e.step}`);
        assert.deepEqual(diff.slice(0, 5), []);
      }
    });
  }

  it('a mostly-zero gradient is handed over as its nonzero part (on wasm): with its zeros counted, the same statistics', () => {
    // An Embedding-like gradient: 3000 rows of 12, rows 7, 500.. nonzero, one NaN, a -0, and a tail of 2 values.
    const n = 3000 * 12 + 2;
    const values = new Float32Array(n);
    for (const row of [7, 500, 501, 1999, 2999]) for (let c = 0; c < 12; c++) values[row * 12 + c] = Math.sin(row + c) * 10 ** ((c % 7) - 4);
    values[501 * 12 + 3] = NaN;
    values[600 * 12 + 1] = -0;
    values[n - 1] = 0.25;
    const spec = histogramSpec(-12, 4, 64);
    const whole = new StatsAccumulator(spec);
    whole.add(values);
    const gradient = tf.tensor1d(values);
    const into = new Float32Array(n);
    const packed = packNonzero(gradient, into);
    gradient.dispose();
    if (TEST_BACKEND !== 'wasm') {
      assert.equal(packed, undefined, 'only on the wasm heap (the gradient is then copied whole)');
      return;
    }
    assert.ok(packed, 'packed');
    // 5 rows of 12 floats = 15 groups of four (the -0 alone in its group is left out), and the tail.
    assert.deepEqual(packed, { floats: 15 * 4 + 2, zeros: n - (15 * 4 + 2) });
    const part = new StatsAccumulator(spec);
    part.add(into.subarray(0, packed.floats));
    part.addZeros(packed.zeros);
    for (const k of ['count', 'finite', 'zeros', 'nan', 'posInf', 'negInf', 'sum', 'sumSq', 'min', 'max', 'clippedSumSq'] as const) {
      assert.ok(part[k] === whole[k] || Math.abs(part[k] - whole[k]) <= 1e-12 * Math.abs(whole[k]), `${k}: ${part[k]} vs ${whole[k]}`);
    }
    assert.deepEqual([...part.slots], [...whole.slots], 'histogram');
    // A dense gradient is not packed.
    const dense = tf.randomNormal([20000]);
    assert.equal(packNonzero(dense, new Float32Array(20000)), 'dense');
    dense.dispose();
  });

  it('an Embedding\'s gradient is handed over as the rows its tokens touched (on wasm), zeros in them included: the same statistics', () => {
    // Embedding(3000, 8): tokens 3, 7, 3, 9 and 2500; the output gradient for token 9's position is all zeros, so its
    // row is touched but zero (the nonzero scan would leave it out: the row copy takes it, and counts its zeros).
    const table = tf.variable(tf.randomNormal([3000, 8]));
    const ids = tf.tensor1d([3, 7, 3, 9, 2500], 'int32');
    const upstream = tf.tensor2d([...Array(5)].flatMap((_, i) => [...Array(8)].map((__, j) => (i === 3 ? 0 : Math.cos(i * 8 + j) * 10 ** (j % 5 - 3)))), [5, 8]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, ids), upstream)), [table]);
    const gradient = grads[table.name];
    const whole = new StatsAccumulator(histogramSpec(-12, 4, 64));
    whole.add(gradient.dataSync() as Float32Array);
    const into = new Float32Array(gradient.size);
    const packed = packNonzero(gradient, into);
    if (TEST_BACKEND === 'wasm') {
      assert.deepEqual(packed, { floats: 4 * 8, zeros: 3000 * 8 - 4 * 8 }, 'rows 3, 7, 9 and 2500 copied, token 9\'s zeros with them');
      const part = new StatsAccumulator(whole.spec);
      part.add(into.subarray(0, packed.floats));
      part.addZeros(packed.zeros);
      for (const k of ['count', 'finite', 'zeros', 'nan', 'sum', 'sumSq', 'min', 'max'] as const) {
        assert.ok(part[k] === whole[k] || Math.abs(part[k] - whole[k]) <= 1e-12 * Math.abs(whole[k]), `${k}: ${part[k]} vs ${whole[k]}`);
      }
      assert.deepEqual([...part.slots], [...whole.slots], 'histogram');
      // Through another op (a regularizer's term added) the rows are not known: scanned as before.
      const regularized = tf.add(gradient, tf.mul(table, 1e-3));
      assert.equal(packNonzero(regularized, new Float32Array(gradient.size)), 'dense');
      regularized.dispose();
    } else assert.equal(packed, undefined);
    tf.dispose([table, ids, upstream, gradient]);
  });

  it('a watched output summed where it is (on wasm) gives the sums the thread would compute from a copy', () => {
    // [rows, 8 units] of tanh-like outputs: unit 3 dead (zero in every row), ±0, NaN, saturated values at the bounds.
    const rows = 97;
    const units = 8;
    const values = new Float32Array(rows * units);
    for (let i = 0; i < values.length; i++) values[i] = i % units === 3 ? 0 : Math.tanh(Math.sin(i) * 7);
    values[5] = -0;
    values[9 * units + 1] = NaN;
    const [low, high] = saturationBounds('tanh');
    values[20 * units + 2] = high;
    values[21 * units + 2] = Math.fround(low);
    const expected = activationSumsOf(values, units, low, high);
    const output = tf.tensor2d(values, [rows, units]);
    const spec = histogramSpec(-12, 4, 64);
    prepareWasmStatistics(spec);
    const sums = activationSums(readFloats(output), units, spec, low, high);
    output.dispose();
    if (TEST_BACKEND !== 'wasm') {
      assert.equal(sums, undefined, 'only on the wasm heap (the output is then copied to the thread)');
      return;
    }
    assert.ok(sums, 'summed on the heap');
    assert.equal(sums.dead, 1);
    for (const k of ['zeros', 'saturated', 'dead'] as const) assert.equal(sums[k], expected[k], k);
    for (const k of ['sum', 'sumSq'] as const) assert.ok(Object.is(sums[k], expected[k]) || Math.abs(sums[k] - expected[k]) <= 1e-6 * Math.abs(expected[k]) || (Number.isNaN(sums[k]) && Number.isNaN(expected[k])), `${k}: ${sums[k]} vs ${expected[k]}`);
    const a = activationStatsFromSums(values.length, units, 'tanh', sums);
    const b = activationStatsOf(values, units, 'tanh');
    assert.deepEqual(differences(a, b), []);
  });

  it('a text LSTM (sparse Embedding gradient, sequences): same statistics', async () => {
    assertSame(await both('examples/spam-lstm.gradmon.json', 12));
  });

  it('a run that explodes: halted at the same step for the same reason, NaN located alike', async () => {
    const steps = assertSame(await both('test/fixtures/workspace/exploding-mlp.gradmon.json'));
    assert.ok(steps.some(s => s.nonFinite));
  });

  it('a run that goes NaN and continues: NaN/Inf counted alike on the thread', async () => {
    const steps = assertSame(await both({
      name: 'nan', seed: 1, data: { source: 'synthetic', task: 'blobs', examples: 256, features: 8 },
      model: [{ type: 'dense', units: 32, activation: 'relu', kernelInitializer: { type: 'randomNormal', stddev: 5 } }, { type: 'dense', units: 3 }],
      loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 10 }, monitor: { onNonFinite: 'continue' },
      training: { epochs: 1, batchSize: 16 },
    }));
    assert.ok(steps.some(s => s.stats && s.stats.layers.some(l => l.grad.nanCount + l.grad.infCount > 0)));
  });
});
