// The training engine: clipping semantics, optimizer formulas, accumulation, every layer type and optimizer
// training, gradients against finite differences, non-finite handling, determinism.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { clipGradients, clippedGlobalNorm } from '../../src/engine/clipping';
import { gradientCheck } from '../../src/engine/gradcheck';
import { buildModel } from '../../src/engine/model';
import { readFloats } from '../../src/engine/kernels/backend_access';
import { setFusedUpdate } from '../../src/engine/kernels/optimizer_update';
import { activationSums, addStatistics, prepareWasmStatistics } from '../../src/engine/kernels/wasm_stats';
import { createOptimizer, learningRateAt } from '../../src/engine/optimizers';
import { compactStep, EVENTS_FILE, eventLine, jsonLine, keepsDetail, logNumberText, readRun, readRunForView, reviveNumbers, VIEW_STEP_LINES } from '../../src/engine/runlog';
import { histogramSpec, StatsAccumulator } from '../../src/engine/stats';
import { activationStats, Trainer } from '../../src/engine/trainer';
import type { ClippingConfig, LayerConfig, OptimizerConfig } from '../../src/config/types';
import { configFrom, datasetFor, mean, train, useTestBackend } from './helpers/engine';

const read = (ts: tf.Tensor[]) => ts.map(t => Array.from(t.dataSync()));

describe('engine', function () {
  this.timeout(120000);
  before(async () => { await useTestBackend(); });

  describe('clipping (Keras meanings, hand-computed)', () => {
    const grads = () => [tf.tensor1d([3, 4]), tf.tensor1d([12])]; // norms 5 and 12, global norm 13
    const cases: [ClippingConfig[], number[][]][] = [
      [[{ mode: 'value', threshold: 3.5 }], [[3, 3.5], [3.5]]],
      [[{ mode: 'norm', threshold: 6 }], [[3, 4], [6]]],
      [[{ mode: 'globalNorm', threshold: 6.5 }], [[1.5, 2], [6]]],
      [[{ mode: 'globalNorm', threshold: 20 }], [[3, 4], [12]]],
      [[{ mode: 'value', threshold: 3.5 }, { mode: 'globalNorm', threshold: 1 }], [[3 / Math.sqrt(33.5), 3.5 / Math.sqrt(33.5)], [3.5 / Math.sqrt(33.5)]]],
    ];
    for (const [clip, expected] of cases) {
      it(`${clip.map(c => `${c.mode} ${c.threshold}`).join(' then ')}`, () => {
        const g = grads();
        const out = clipGradients(g, clip);
        const got = read(out);
        got.forEach((t, i) => t.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-5, `${v} vs ${expected[i][j]}`)));
        // The analytic post-clip global norm (no second read-back) equals the clipped tensors' norm.
        const direct = Math.sqrt(got.flat().reduce((a, v) => a + v * v, 0));
        const valueSq = [[3, 4], [12]].map(t => t.reduce((a, v) => a + Math.min(v * v, 3.5 * 3.5), 0));
        assert.ok(Math.abs(clippedGlobalNorm([5, 12], valueSq, clip) - direct) < 1e-5);
        tf.dispose([...g, ...out]);
      });
    }
  });

  describe('optimizers match their formulas (float64 reference, 3 steps)', () => {
    const g = [[0.5, -1], [2, 0.1], [-0.3, 0.7]];
    const w0 = [1, -2];
    const reference: Record<string, (c: OptimizerConfig) => number[]> = {
      sgd: c => { const w = [...w0]; for (const gs of g) gs.forEach((x, i) => { w[i] -= c.learningRate! * x; }); return w; },
      momentum: c => {
        const w = [...w0]; const b = [0, 0];
        for (const gs of g) gs.forEach((x, i) => { b[i] = 0.9 * b[i] + x; w[i] -= c.learningRate! * (c.nesterov ? x + 0.9 * b[i] : b[i]); });
        return w;
      },
      rmsprop: c => {
        const w = [...w0]; const s = [0, 0];
        for (const gs of g) gs.forEach((x, i) => { s[i] = 0.9 * s[i] + 0.1 * x * x; w[i] -= c.learningRate! * x / (Math.sqrt(s[i]) + 1e-7); });
        return w;
      },
      adam: c => {
        const w = [...w0]; const m = [0, 0]; const v = [0, 0];
        g.forEach((gs, t) => gs.forEach((x, i) => {
          m[i] = 0.9 * m[i] + 0.1 * x; v[i] = 0.999 * v[i] + 0.001 * x * x;
          const bc = c.biasCorrection !== false;
          const mh = bc ? m[i] / (1 - 0.9 ** (t + 1)) : m[i];
          const vh = bc ? v[i] / (1 - 0.999 ** (t + 1)) : v[i];
          w[i] -= c.learningRate! * mh / (Math.sqrt(vh) + 1e-7);
        }));
        return w;
      },
      adagrad: c => {
        const w = [...w0]; const a = [0.1, 0.1];
        for (const gs of g) gs.forEach((x, i) => { a[i] += x * x; w[i] -= c.learningRate! * x / (Math.sqrt(a[i]) + 1e-7); });
        return w;
      },
    };
    const configs: OptimizerConfig[] = [
      { type: 'sgd', learningRate: 0.1 }, { type: 'momentum', learningRate: 0.1 }, { type: 'momentum', learningRate: 0.1, nesterov: true },
      { type: 'rmsprop', learningRate: 0.01 }, { type: 'adam', learningRate: 0.01 }, { type: 'adam', learningRate: 0.01, biasCorrection: false },
      { type: 'adagrad', learningRate: 0.1 },
    ];
    for (const c of configs) {
      it(`${c.type}${c.nesterov ? ' (Nesterov)' : ''}${c.biasCorrection === false ? ' without bias correction' : ''}`, () => {
        const v = tf.variable(tf.tensor1d(w0));
        const opt = createOptimizer(c);
        for (const gs of g) {
          const gt = tf.tensor1d(gs);
          opt.apply([v], [gt], c.learningRate!);
          gt.dispose();
        }
        const got = Array.from(v.dataSync());
        const want = reference[c.type](c);
        got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 2e-6, `${c.type}: ${got} vs ${want}`));
        opt.dispose();
        v.dispose();
      });
    }

    it('the fused update (one pass over memory, SIMD for Adam and SGD on wasm) gives the tf-op update\'s float32 bits', () => {
      // 4 steps of every optimizer on variables of odd sizes (the SIMD loop's remainder too), fused and not.
      const all: OptimizerConfig[] = [...configs, { type: 'rmsprop', learningRate: 0.01, centered: true, momentum: 0.5 }, { type: 'adagrad', learningRate: 0.1, initialAccumulatorValue: 0.3 }];
      const rand = (() => { let s = 9; return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1; })();
      const sizes = [1, 7, 130];
      const w0 = sizes.map(n => Float32Array.from({ length: n }, () => rand()));
      const gs = [0, 1, 2, 3].map(() => sizes.map(n => Float32Array.from({ length: n }, () => rand() * 0.5)));
      const run = (c: OptimizerConfig, fused: boolean) => {
        setFusedUpdate(fused);
        const vars = w0.map(w => tf.variable(tf.tensor1d(w)));
        const opt = createOptimizer(c);
        for (const step of gs) {
          const grads = step.map(g => tf.tensor1d(g));
          assert.equal(opt.measuresNorms(vars, grads), fused);
          opt.apply(vars, grads, c.learningRate!);
          tf.dispose(grads);
        }
        const out = vars.map(v => Array.from(v.dataSync()));
        opt.dispose();
        tf.dispose(vars);
        setFusedUpdate(true);
        return out;
      };
      for (const c of all) assert.deepEqual(run(c, true), run(c, false), JSON.stringify(c));
    });

    it('learning-rate schedules and warm-up', () => {
      assert.equal(learningRateAt(0.1, undefined, 500, 1000), 0.1);
      assert.ok(Math.abs(learningRateAt(0.1, { type: 'step', every: 100, factor: 0.5 }, 250, 1000) - 0.025) < 1e-12);
      assert.ok(Math.abs(learningRateAt(0.1, { type: 'exponential', decayRate: 0.5, decaySteps: 100 }, 200, 1000) - 0.025) < 1e-12);
      assert.ok(Math.abs(learningRateAt(0.1, { type: 'cosine' }, 500, 1000) - 0.05) < 1e-12);
      assert.ok(Math.abs(learningRateAt(0.1, { type: 'constant', warmupSteps: 10 }, 4, 1000) - 0.05) < 1e-12);
    });
  });

  it('max/min gradients split ties evenly (TensorFlow and PyTorch semantics; stock tfjs gives each tie the full gradient)', () => {
    buildModel; // importing the model module registers the project's gradients
    const gmax = tf.grad((v: tf.Tensor) => tf.max(v))(tf.tensor1d([1, 3, 3, 2]));
    assert.deepEqual(Array.from(gmax.dataSync()), [0, 0.5, 0.5, 0]);
    const gmin = tf.grad((v: tf.Tensor) => tf.sum(tf.min(v, 1)))(tf.tensor2d([[1, 1, 5], [4, 2, 9]]));
    assert.deepEqual(Array.from(gmin.dataSync()), [0.5, 0.5, 0, 0, 1, 0]);
    tf.dispose([gmax, gmin]);
  });

  it('gradient accumulation over 4 micro-batches of 8 equals one batch of 32', async () => {
    const base = {
      name: 'acc', seed: 3,
      data: { source: 'synthetic', task: 'blobs', examples: 64, validationSplit: 0 },
      model: [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'softmax' }],
      loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'sgd', learningRate: 0.5 },
    };
    const big = await train(configFrom({ ...base, training: { batchSize: 32, accumulationSteps: 1, shuffle: false, epochs: 1 } }), { maxSteps: 2, keep: true });
    const small = await train(configFrom({ ...base, training: { batchSize: 8, accumulationSteps: 4, shuffle: false, epochs: 1 } }), { maxSteps: 2, keep: true });
    for (let s = 0; s < 2; s++) {
      assert.ok(Math.abs(big.steps[s].loss - small.steps[s].loss) < 1e-5, `loss at step ${s}`);
      big.steps[s].stats!.layers.forEach((l, i) => {
        const o = small.steps[s].stats!.layers[i];
        assert.ok(Math.abs(l.gradNorm - o.gradNorm) < 1e-5 * l.gradNorm, `grad norm of ${l.layer} at step ${s}: ${l.gradNorm} vs ${o.gradNorm}`);
      });
    }
    const wb = big.built.variables.map(v => Array.from(v.variable.dataSync()));
    const ws = small.built.variables.map(v => Array.from(v.variable.dataSync()));
    wb.forEach((a, i) => a.forEach((x, j) => assert.ok(Math.abs(x - ws[i][j]) < 1e-5)));
    big.built.dispose();
    small.built.dispose();
  });

  it('reports per-layer gradient norms equal to the autograd gradients computed directly', async () => {
    const config = configFrom({
      name: 'direct', seed: 11, data: { source: 'synthetic', task: 'blobs', examples: 40, validationSplit: 0 },
      model: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }],
      loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { batchSize: 40, shuffle: false },
    });
    const data = await datasetFor(config);
    const built = buildModel(config, data);
    // Independent computation: the same batch through tf.losses' softmax cross-entropy.
    const x = tf.tensor(data.train.x as Float32Array, [40, ...data.inputShape]);
    const y = tf.oneHot(tf.tensor1d(data.train.y as Int32Array, 'int32'), 3);
    const vars = built.variables.map(v => v.variable);
    const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, built.forward(x, true)) as tf.Scalar, vars);
    const expected = built.groups.map(g => Math.sqrt(g.variables.reduce((a, v) => a + (grads[v.variable.name].dataSync() as Float32Array).reduce((s, q) => s + q * q, 0), 0)));
    const steps: number[][] = [];
    const trainer = new Trainer({ config, data, built, maxSteps: 1, emit: e => { if (e.type === 'step') steps.push(e.stats!.layers.map(l => l.gradNorm)); } });
    await trainer.run();
    steps[0].forEach((n, i) => assert.ok(Math.abs(n - expected[i]) < 1e-5 * expected[i], `${n} vs ${expected[i]}`));
    tf.dispose([x, y, ...Object.values(grads)]);
    built.dispose();
  });

  it('reports weight and update norms equal to the weights read before and after the step (fused update or not)', async () => {
    for (const [optimizer, fused, constraint] of [[{ type: 'adam', learningRate: 0.05 }, true, false], [{ type: 'momentum', learningRate: 0.1 }, true, true], [{ type: 'adam', learningRate: 0.05 }, false, false]] as const) {
      const config = configFrom({
        name: 'norms', seed: 5, data: { source: 'synthetic', task: 'blobs', examples: 40, validationSplit: 0 },
        model: [{ type: 'dense', units: 8, activation: 'relu', ...(constraint ? { kernelConstraint: { type: 'maxNorm', maxValue: 0.5 } } : {}) }, { type: 'dense', units: 3, activation: 'softmax' }],
        loss: 'sparseCategoricalCrossentropy', optimizer, training: { batchSize: 20, shuffle: false },
      });
      setFusedUpdate(fused);
      const data = await datasetFor(config);
      const built = buildModel(config, data);
      const read = () => built.variables.map(v => Float32Array.from(v.variable.dataSync()));
      const snapshots = [read()];
      const reported: { weightNorm: number; updateNorm: number }[][] = [];
      const trainer = new Trainer({
        config, data, built, maxSteps: 2,
        emit: e => {
          if (e.type !== 'step') return;
          snapshots.push(read());
          reported.push(e.stats!.layers.flatMap(l => l.variables));
        },
      });
      await trainer.run();
      setFusedUpdate(true);
      reported.forEach((variables, step) => variables.forEach((v, i) => {
        const after = snapshots[step + 1][i];
        const before = snapshots[step][i];
        const norm = Math.sqrt(after.reduce((a, x) => a + x * x, 0));
        const update = Math.sqrt(after.reduce((a, x, k) => a + (x - before[k]) ** 2, 0));
        const what = `${optimizer.type}${fused ? '' : ' (tf ops)'}${constraint ? ' with a constraint' : ''}, step ${step} variable ${i}`;
        assert.ok(Math.abs(v.weightNorm - norm) <= 1e-12 * norm, `${what}: weight norm ${v.weightNorm} vs ${norm}`);
        assert.ok(update > 0 && Math.abs(v.updateNorm - update) <= 1e-9 * update, `${what}: update norm ${v.updateNorm} vs ${update}`);
      }));
      built.dispose();
    }
  });

  it('gradient statistics of tensors on the backend (SIMD on the wasm heap) equal the JS loop', () => {
    const spec = histogramSpec(-12, 4, 64);
    prepareWasmStatistics(spec);
    const rand = (() => { let s = 3; return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648; })();
    const dense = (n: number) => Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : (rand() < 0.5 ? -1 : 1) * 10 ** (rand() * 24 - 16)));
    // An Embedding gradient: whole rows of zeros (skipped eight at a time), a −0 among them, rows of values.
    const sparse = (rows: number) => Float32Array.from({ length: rows * 64 }, (_, i) => (i === 70 ? -0 : Math.floor(i / 64) % 5 === 2 ? rand() - 0.5 : 0));
    for (const values of [dense(3), dense(4), dense(1001), dense(20000), sparse(50), sparse(3), new Float32Array(40)]) {
      const n = values.length;
      const t = tf.tensor1d(values);
      const fast = new StatsAccumulator(spec);
      addStatistics(fast, readFloats(t));
      const slow = new StatsAccumulator(spec);
      slow.add(values);
      const [a, b] = [fast.finish(), slow.finish()];
      assert.deepEqual(a.histogram, b.histogram, `histogram, n=${n}`);
      for (const key of ['size', 'zeroFraction', 'nanCount', 'infCount', 'min', 'max', 'maxAbs'] as const) assert.equal(a[key], b[key], `${key}, n=${n}`);
      for (const key of ['norm', 'mean', 'std'] as const) assert.ok(Math.abs(a[key] - b[key]) <= 1e-12 * Math.abs(b[key]), `${key}, n=${n}: ${a[key]} vs ${b[key]}`);
      // NaN/Inf take the exact path
      const special = tf.tensor1d([1, NaN, -Infinity, 0, 2, Infinity, 3, 4]);
      const s1 = new StatsAccumulator(spec);
      addStatistics(s1, readFloats(special));
      assert.deepEqual([s1.nan, s1.posInf, s1.negInf, s1.zeros, s1.finite], [1, 1, 1, 1, 5]);
      tf.dispose([t, special]);
    }
  });

  it('activation statistics (SIMD on the wasm heap) equal the JS loop, values at the saturation bounds included', () => {
    const spec = histogramSpec(-12, 4, 64);
    prepareWasmStatistics(spec);
    const bounds = [Math.tanh(5), 1 / (1 + Math.exp(-5)), 1 - 1 / (1 + Math.exp(-5)), 0, 1];
    const near = bounds.flatMap(b => {
      const f = new Float32Array([b]);
      const i = new Int32Array(f.buffer);
      const around = [-2, -1, 0, 1, 2].map(d => { const g = new Int32Array([i[0] + d]); return new Float32Array(g.buffer)[0]; });
      return [...around, ...around.map(x => -x)].filter(Number.isFinite);
    });
    const rand = (() => { let s = 7; return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648; })();
    const units = 12;
    const rows = Math.ceil(near.length / units) + 9;
    // The last unit is zero in every row (a dead ReLU unit); the bounds' neighbours fill the first rows.
    const values = Float32Array.from({ length: rows * units }, (_, k) => (k % units === units - 1 ? 0 : k < near.length ? near[k] : rand() < 0.3 ? 0 : rand() * 2 - 1));
    const output = tf.tensor2d(values, [rows, units]);
    // On wasm the fast path must really be the SIMD one (elsewhere both are the JS loop).
    assert.equal(activationSums(readFloats(output), units, spec, 0, 1) !== undefined, tf.getBackend() === 'wasm');
    for (const activation of ['relu', 'tanh', 'sigmoid', 'hardSigmoid', 'elu']) {
      const fast = activationStats(output, activation, 'dense', spec)!;
      const slow = activationStats(output, activation, 'dense')!;
      assert.equal(fast.zeroFraction, slow.zeroFraction, activation);
      assert.equal(fast.deadUnitFraction, slow.deadUnitFraction, activation);
      assert.equal(fast.saturatedFraction, slow.saturatedFraction, activation);
      assert.ok(Math.abs(fast.mean - slow.mean) <= 1e-12 && Math.abs(fast.std - slow.std) <= 1e-12, activation);
    }
    assert.ok(activationStats(output, 'tanh', 'dense')!.saturatedFraction > 0 && activationStats(output, 'relu', 'dense')!.deadUnitFraction > 0);
    output.dispose();
  });

  describe('run log', () => {
    it('opens a long log for the views sampled: bounded, in order, NaN steps, findings and the last step kept', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-view-'));
      try {
        const total = 40000;
        const lines: string[] = [jsonLine({ type: 'run-start', runId: 'r', configPath: '/x.gradmon.json', startedAt: new Date(0).toISOString() })];
        for (let step = 1; step <= total; step++) {
          const loss = step >= 30001 && step < 30001 + 3 * VIEW_STEP_LINES ? NaN : 1 / step;
          lines.push(eventLine({ type: 'step', step, epoch: Math.floor(step / 1000), loss, learningRate: 0.01, stepMs: 1, time: step }));
          if (step === 777 || step === 25001) lines.push(jsonLine({ type: 'finding', step, finding: { id: `f${step}` } }));
        }
        // A torn last line, as a crash leaves it.
        fs.writeFileSync(path.join(dir, EVENTS_FILE), lines.join('\n') + '\n{"type":"step","step":400');
        const full = readRun(dir);
        const view = await readRunForView(dir);
        const steps = (r: typeof view) => r.events.filter(e => e.type === 'step') as { step: number; loss: number }[];
        const all = steps(full);
        const sampled = steps(view);
        assert.equal(all.length, total);
        assert.ok(sampled.length <= VIEW_STEP_LINES + VIEW_STEP_LINES / 4 + 1 && sampled.length > VIEW_STEP_LINES / 4, `${sampled.length} steps kept`);
        for (let i = 1; i < sampled.length; i++) assert.ok(sampled[i].step > sampled[i - 1].step, 'steps in log order');
        assert.equal(sampled[0].step, 1);
        assert.equal(sampled[sampled.length - 1].step, total, 'the last step is kept');
        // The first NaN steps are all kept (each is where a user looks), then only the sample's.
        const nan = sampled.filter(s => Number.isNaN(s.loss)).map(s => s.step);
        assert.deepEqual(nan.slice(0, VIEW_STEP_LINES / 4), Array.from({ length: VIEW_STEP_LINES / 4 }, (_, i) => 30001 + i));
        // Kept steps are the same events the full read gives; every non-step event is kept, in place.
        for (const s of sampled) assert.deepEqual(s, all[s.step - 1]);
        assert.deepEqual(view.events.filter(e => e.type !== 'step'), full.events.filter(e => e.type !== 'step'));
        const at777 = view.events.findIndex(e => e.type === 'finding');
        assert.ok((view.events[at777 - 1] as { step: number }).step <= 777 && ((view.events[at777 + 1] as { step: number }).step ?? Infinity) > 777);
        assert.deepEqual(view.badLines, full.badLines);
        assert.deepEqual(view.badLines, [lines.length + 1]);
        assert.equal(view.start?.runId, 'r');
        assert.ok(view.incomplete);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    /** The format the log has always had: JSON with NaN/±Infinity as strings and 7 significant digits. */
    const replacer = (_key: string, value: unknown) => {
      if (typeof value !== 'number') return value;
      if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
      return Number.isInteger(value) ? value : Number(value.toPrecision(7));
    };
    it('serializes events as JSON.stringify with the number rules would, byte for byte', async () => {
      const run = await train(configFrom({
        name: 'log', seed: 3, data: { source: 'synthetic', task: 'blobs', examples: 64 },
        model: [{ type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'softmax' }],
        loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 }, training: { batchSize: 16, epochs: 1 },
      }));
      const odd = { type: 'message', text: 'quote " backslash \\ tab \t é \u2028', list: [1, undefined, NaN, -Infinity, 1 / 3, -0, 1e21, 5e-324], nested: { a: undefined, b: null, c: true, d: new Date(0) } };
      for (const e of [...run.events, odd]) assert.equal(jsonLine(e), JSON.stringify(e, replacer));
      // A step's line is its compacted form (detail kept, or dropped at step 1001), written without the copy.
      for (const e of run.steps.flatMap(step => [step, { ...step, step: 1001 }])) {
        assert.equal(eventLine(e), JSON.stringify(compactStep(e, keepsDetail(e)), replacer), `step ${e.step}`);
      }
      assert.ok(!keepsDetail({ ...run.steps[1], step: 1001 }) && keepsDetail(run.steps[1]));
      for (const e of run.steps) assert.deepEqual(JSON.parse(eventLine(e), reviveNumbers).stats?.globalNorm, e.stats ? Number(e.stats.globalNorm.toPrecision(7)) : undefined);
    });
    it('writes numbers with 7 significant digits exactly as toPrecision(7) does, near ties and powers of ten included', () => {
      const rand = (() => { let s = 17; return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648; })();
      const values: number[] = [];
      for (let i = 0; i < 200000; i++) values.push((rand() < 0.5 ? -1 : 1) * rand() * 10 ** (Math.floor(rand() * 70) - 40));
      for (let d = -30; d < 30; d++) {
        for (let m = 1000000; m < 1000100; m++) {
          const tie = (m + 0.5) * 10 ** (d - 6);
          values.push(tie, tie * (1 + 1e-15), tie * (1 - 1e-15), Math.fround(tie));
        }
        for (const f of [1, 1 - 1e-16, 1 + 1e-16, 0.99999995, 9.9999995, 1.0000005]) values.push(10 ** d * f, -(10 ** d) * f);
      }
      values.push(5e-324, 1e-320, 1.7976931348623157e308, 1 / 3, 123456.75, 9999999.5, 0.30000000000000004);
      for (const x of values) assert.equal(logNumberText(x), JSON.stringify(replacer('', x)), String(x));
    });
  });

  describe('every layer type trains', () => {
    const seq = (model: LayerConfig[], extra: object = {}) => ({
      name: 'layers', seed: 5, data: { source: 'synthetic', task: 'temporalOrder', sequenceLength: 12, examples: 256 },
      model, loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 }, training: { batchSize: 32, epochs: 3 }, ...extra,
    });
    const cases: [string, object][] = [
      ['dense + batchNormalization + dropout + leakyRelu', {
        name: 'mlp', seed: 5, data: { source: 'synthetic', task: 'blobs', examples: 256 },
        model: [{ type: 'dense', units: 16, activation: 'leakyRelu', alpha: 0.1 }, { type: 'batchNormalization' }, { type: 'dropout', rate: 0.1 },
          { type: 'dense', units: 16, activation: 'elu', kernelRegularizer: { l2: 0.001 }, kernelConstraint: { type: 'maxNorm', maxValue: 2 } },
          { type: 'dense', units: 3, activation: 'softmax' }],
        loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 }, training: { batchSize: 32, epochs: 3 },
      }],
      ['simpleRNN', seq([{ type: 'simpleRNN', units: 16 }, { type: 'dense', units: 4, activation: 'softmax' }])],
      ['lstm (bidirectional)', seq([{ type: 'lstm', units: 8, bidirectional: true }, { type: 'dense', units: 4, activation: 'softmax' }])],
      ['gru with returnSequences + layerNormalization + pooling', seq([{ type: 'gru', units: 8, returnSequences: true }, { type: 'layerNormalization' }, { type: 'globalAveragePooling1d' }, { type: 'dense', units: 4, activation: 'softmax' }])],
      ['conv1d + maxPooling1d + globalMaxPooling1d', seq([{ type: 'conv1d', filters: 16, kernelSize: 3, activation: 'relu', padding: 'same' }, { type: 'maxPooling1d' }, { type: 'globalMaxPooling1d' }, { type: 'dense', units: 4, activation: 'softmax' }])],
      ['flatten + selu', seq([{ type: 'flatten' }, { type: 'dense', units: 16, activation: 'selu', kernelInitializer: 'leCunNormal' }, { type: 'dense', units: 4, activation: 'softmax' }])],
      ['adding problem regression (MSE)', {
        name: 'adding', seed: 5, data: { source: 'synthetic', task: 'adding', sequenceLength: 10, examples: 256 },
        model: [{ type: 'lstm', units: 16 }, { type: 'dense', units: 1 }], loss: 'meanSquaredError',
        optimizer: { type: 'adam', learningRate: 0.01 }, training: { batchSize: 32, epochs: 4 },
      }],
      ['parity with binaryCrossentropy (sigmoid output)', {
        name: 'parity', seed: 5, data: { source: 'synthetic', task: 'parity', sequenceLength: 4, examples: 256 },
        model: [{ type: 'gru', units: 16 }, { type: 'dense', units: 1, activation: 'sigmoid' }], loss: 'binaryCrossentropy',
        optimizer: { type: 'adam', learningRate: 0.02 }, training: { batchSize: 32, epochs: 4 },
      }],
    ];
    for (const [title, cfg] of cases) {
      it(title, async () => {
        const run = await train(configFrom(cfg));
        assert.equal(run.result.status, 'completed');
        const losses = run.steps.map(s => s.loss);
        assert.ok(losses.every(Number.isFinite));
        const k = Math.max(2, Math.floor(losses.length / 4));
        assert.ok(mean(losses.slice(-k)) < mean(losses.slice(0, k)), `loss should fall: ${mean(losses.slice(0, k))} → ${mean(losses.slice(-k))}`);
        // Statistics present for every layer with weights.
        assert.ok(run.steps[0].stats!.layers.length > 0);
      });
    }
  });

  describe('every optimizer trains an MLP', () => {
    for (const opt of [{ type: 'sgd', learningRate: 0.1 }, { type: 'momentum', learningRate: 0.05 }, { type: 'momentum', learningRate: 0.05, nesterov: true },
      { type: 'rmsprop', learningRate: 0.005, centered: true, momentum: 0.5 }, { type: 'adam', learningRate: 0.01 }, { type: 'adagrad', learningRate: 0.1 },
      { type: 'sgd', learningRate: 0.2, schedule: { type: 'cosine', warmupSteps: 5 } }]) {
      it(JSON.stringify(opt), async () => {
        const run = await train(configFrom({
          name: 'opt', seed: 2, data: { source: 'synthetic', task: 'blobs', examples: 320 },
          model: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }],
          loss: 'sparseCategoricalCrossentropy', optimizer: opt, training: { batchSize: 32, epochs: 3 },
        }));
        const losses = run.steps.map(s => s.loss);
        assert.ok(mean(losses.slice(-5)) < 0.7 * mean(losses.slice(0, 5)), `${losses[0]} → ${losses[losses.length - 1]}`);
      });
    }
  });

  describe('gradients match central finite differences', () => {
    const models: [string, object][] = [
      ['dense tanh MLP with L2', { data: { source: 'synthetic', task: 'blobs', features: 6, examples: 32 }, model: [{ type: 'dense', units: 5, activation: 'tanh', kernelRegularizer: { l2: 0.01 } }, { type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }],
      ['simpleRNN', { data: { source: 'synthetic', task: 'temporalOrder', sequenceLength: 6, examples: 32 }, model: [{ type: 'simpleRNN', units: 4 }, { type: 'dense', units: 4, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }],
      ['lstm', { data: { source: 'synthetic', task: 'adding', sequenceLength: 5, examples: 32 }, model: [{ type: 'lstm', units: 4 }, { type: 'dense', units: 1 }], loss: 'meanSquaredError' }],
      ['gru', { data: { source: 'synthetic', task: 'adding', sequenceLength: 5, examples: 32 }, model: [{ type: 'gru', units: 4 }, { type: 'dense', units: 1 }], loss: 'meanSquaredError' }],
      ['conv1d + average pooling', { data: { source: 'synthetic', task: 'temporalOrder', sequenceLength: 8, examples: 32 }, model: [{ type: 'conv1d', filters: 4, kernelSize: 3, activation: 'tanh' }, { type: 'globalAveragePooling1d' }, { type: 'dense', units: 4, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }],
      ['layerNormalization', { data: { source: 'synthetic', task: 'blobs', features: 6, examples: 32 }, model: [{ type: 'dense', units: 5, activation: 'tanh' }, { type: 'layerNormalization' }, { type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }],
    ];
    for (const [title, m] of models) {
      it(title, async () => {
        const config = configFrom({ name: 'gc', seed: 4, optimizer: { type: 'sgd' }, ...m });
        const data = await datasetFor(config);
        const built = buildModel(config, data);
        const r = gradientCheck(built, data, 'wasm');
        built.dispose();
        assert.ok(r.passed, `worst relative error ${r.worstRelativeError}: ${JSON.stringify(r.layers.map(l => [l.layer, l.maxRelativeError]))}`);
        assert.ok(r.layers.every(l => l.variables.every(v => v.checked > 0)));
      });
    }

    it('notices a wrong gradient', async () => {
      // The checker itself must be able to fail: an identity layer whose backward pass scales by 1.5.
      const config = configFrom({ name: 'gc', seed: 4, optimizer: { type: 'sgd' }, ...models[0][1] });
      const data = await datasetFor(config);
      const built = buildModel(config, data);
      const wrong = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.mul(dy, 1.5) })) as never) as (x: tf.Tensor) => tf.Tensor;
      const forward = built.forward;
      built.forward = (x, training, capture) => wrong(forward(x, training, capture)) as tf.Tensor;
      const r = gradientCheck(built, data, 'wasm');
      built.dispose();
      assert.equal(r.passed, false);
      assert.ok(r.worstRelativeError > 0.2, `worst ${r.worstRelativeError}`);
    });
  });

  it('halts at the first non-finite loss with the step, leaves the weights finite', async () => {
    const run = await train(configFrom({
      name: 'nan', seed: 1, data: { source: 'synthetic', task: 'blobs', examples: 256, noise: 3 },
      model: [{ type: 'dense', units: 32, activation: 'relu', kernelInitializer: { type: 'randomNormal', stddev: 5 } }, { type: 'dense', units: 32, activation: 'relu', kernelInitializer: { type: 'randomNormal', stddev: 5 } }, { type: 'dense', units: 3 }],
      loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 10 }, training: { batchSize: 32, epochs: 20 },
    }), { keep: true });
    assert.equal(run.result.status, 'halted');
    const nf = run.result.firstNonFinite!;
    assert.ok(nf, 'first non-finite recorded');
    const last = run.steps[run.steps.length - 1];
    assert.equal(last.step, nf.step);
    assert.ok(!Number.isFinite(last.loss) || !Number.isFinite(last.stats!.globalNorm));
    assert.ok(last.stats, 'full statistics at the non-finite step');
    assert.ok(run.steps.slice(0, -1).every(s => Number.isFinite(s.loss)));
    for (const v of run.built.variables) assert.ok((v.variable.dataSync() as Float32Array).every(Number.isFinite), `${v.name} stays finite`);
    run.built.dispose();
  });

  it('is deterministic for a seed on one backend, and the seed matters', async () => {
    const cfg = (seed: number) => configFrom({
      name: 'det', seed, data: { source: 'synthetic', task: 'temporalOrder', sequenceLength: 8, examples: 128 },
      model: [{ type: 'lstm', units: 8 }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 4, activation: 'softmax' }],
      loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam' }, training: { batchSize: 16, epochs: 1 },
    });
    const a = (await train(cfg(9))).steps.map(s => s.loss);
    const b = (await train(cfg(9))).steps.map(s => s.loss);
    const c = (await train(cfg(10))).steps.map(s => s.loss);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});
