// The UI's run history: bounded whatever the run length, spikes and NaN survive downsampling, snapshots are
// JSON-safe, and a run rebuilt from its log equals the live one. Also the "New Training Config" templates.

import { strict as assert } from 'assert';
import { analyzeConfig } from '../../src/config';
import { dec, HEATMAP_CAPACITY, RunHistory, Series, SERIES_CAPACITY } from '../../src/history/runHistory';
import { TEMPLATES } from '../../src/host/templates';
import type { Histogram, RunEvent, StepEvent } from '../../src/protocol';

function histogram(nan = 0): Histogram {
  return { lo: -12, hi: 4, counts: Array.from({ length: 64 }, (_, i) => (i === 40 ? 10 : 0)), zeros: 1, underflow: 0, overflow: 0, nan, posInf: 0, negInf: 0 };
}

function step(i: number, norm: number): StepEvent {
  return {
    type: 'step', step: i, epoch: 0, loss: 1 / (i + 1), learningRate: 0.01, globalNorm: norm, clippedGlobalNorm: Math.min(norm, 1),
    stepMs: 5, time: 1000 + i * 5,
    stats: {
      globalNorm: norm, clippedGlobalNorm: Math.min(norm, 1), statsMs: 0.1,
      layers: [{
        layer: 'dense_1', index: 0, type: 'dense', gradNorm: norm, weightNorm: 1, updateNorm: 0.001, updateRatio: 0.001, variables: [],
        grad: { size: 10, norm, mean: 0, std: 1, min: -1, max: 1, maxAbs: 1, zeroFraction: 0, nanCount: Number.isNaN(norm) ? 1 : 0, infCount: 0, histogram: histogram(Number.isNaN(norm) ? 1 : 0) },
      }],
    },
  };
}

const start: RunEvent = {
  type: 'run-start', runId: 'r1', startedAt: '2026-01-01T00:00:00Z', totalSteps: 100000, stepsPerEpoch: 1000,
  config: { name: 'x', seed: 1, backend: 'auto', data: { source: 'synthetic', task: 'blobs' }, model: [], loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 0.1 }, clipping: [], training: { epochs: 1, batchSize: 1, accumulationSteps: 1, shuffle: true, validationEvery: 0 }, monitor: { every: 1, histogramBins: 64, histogramRange: [-12, 4], onNonFinite: 'halt', thresholds: {} as never } },
  backend: { name: 'wasm', chosenBy: 'test', attempts: [], customKernels: [] },
  layers: [{ name: 'dense_1', index: 0, type: 'dense', outputShape: [10], params: 10, variables: [] }],
  dataset: { description: 'd', trainExamples: 1, validationExamples: 0, inputShape: [1] },
};

describe('run history', () => {
  it('reports what watching costs: training-thread and monitor-thread time per monitored step, averaged', () => {
    const h = new RunHistory();
    h.apply(start);
    assert.equal(h.snapshot().monitoringCost, undefined, 'nothing before a monitored step');
    // Unmonitored steps (no stats) do not count; monitored ones at 0.1 ms of 5 ms, then a slower phase.
    for (let i = 0; i < 50; i++) h.apply(i % 2 ? { ...step(i, 1), stats: undefined } : { ...step(i, 1), stats: { ...step(i, 1).stats!, threadMs: 0.4 } });
    let c = h.snapshot().monitoringCost!;
    assert.ok(Math.abs(c.trainingMs - 0.1) < 1e-12 && Math.abs(c.stepMs - 5) < 1e-12 && Math.abs(c.threadMs! - 0.4) < 1e-12, JSON.stringify(c));
    for (let i = 50; i < 400; i++) h.apply({ ...step(i, 1), stepMs: 10, stats: { ...step(i, 1).stats!, statsMs: 0.3 } });
    c = h.snapshot().monitoringCost!;
    // An exponential average: after 350 steps at the new figures it has forgotten the old ones.
    assert.ok(Math.abs(c.trainingMs - 0.3) < 1e-6 && Math.abs(c.stepMs - 10) < 1e-6, JSON.stringify(c));
    assert.ok(Math.abs(c.threadMs! - 0.4) < 1e-12, 'the monitor thread figure stays what it last was when later steps have none');
  });

  it('a series stays within capacity and keeps a spike through every merge', () => {
    const s = new Series(64);
    for (let i = 0; i < 10000; i++) s.push(i, i === 7777 ? 1e6 : 1);
    assert.ok(s.steps.length <= 64);
    assert.equal(Math.max(...s.max), 1e6, 'the spike survives');
    assert.equal(s.steps[0], 0);
    assert.ok(s.steps[s.steps.length - 1] > 9000);
    // Bucketed steps are increasing and each bucket's min ≤ last ≤ max.
    for (let i = 0; i < s.steps.length; i++) {
      if (i) assert.ok(s.steps[i] > s.steps[i - 1]);
      assert.ok(s.min[i] <= s.last[i] && s.last[i] <= s.max[i]);
    }
  });

  it('NaN and Infinity are kept and travel as strings', () => {
    const s = new Series(8);
    for (let i = 0; i < 100; i++) s.push(i, i === 50 ? NaN : i === 60 ? Infinity : 1);
    const json = JSON.parse(JSON.stringify(s.toJSON()));
    assert.ok(json.max.includes('NaN') || json.min.includes('NaN'));
    assert.ok(json.max.map(dec).some((x: number) => Number.isNaN(x)));
    assert.deepEqual(Series.from(json).toJSON(), s.toJSON());
  });

  it('memory is bounded over a 100k-step run: series, distribution columns, sparkline', () => {
    const h = new RunHistory();
    h.apply(start);
    for (let i = 0; i < 100000; i++) h.apply(step(i, i === 54321 ? NaN : 1 + Math.sin(i / 100)));
    const snap = h.snapshot();
    const layer = snap.layers[0];
    assert.ok(snap.loss.steps.length <= SERIES_CAPACITY);
    assert.ok(layer.norm.steps.length <= SERIES_CAPACITY);
    assert.ok(layer.columns!.length <= HEATMAP_CAPACITY + 1, `${layer.columns!.length} columns`);
    assert.ok(layer.columns!.some(c => c.step === 54321 && c.nan === 1), 'the NaN column is kept');
    assert.equal(layer.health, 'ok', 'health comes from findings and the latest step');
    assert.ok(JSON.stringify(snap).length < 2_000_000, `snapshot ${JSON.stringify(snap).length} bytes`);
    assert.equal(snap.step, 99999);
  });

  it('columns only for the layers asked, health from findings, rebuilt from events', () => {
    const events: RunEvent[] = [start, step(0, 1), step(1, 2), {
      type: 'finding', step: 1, finding: { id: 'e', rule: 'exploding-gradients', kind: 'explosion', severity: 'error', title: 't', explanation: 'x', layer: 'dense_1', layerIndex: 0, evidence: {}, jsonPath: ['model', 0], fixes: [] },
    }];
    const h = RunHistory.fromEvents(events);
    assert.equal(h.snapshot({ columnsFor: [] }).layers[0].columns, undefined);
    assert.equal(h.snapshot().layers[0].health, 'exploding');
    assert.equal(h.findings.size, 1);
    assert.deepEqual(RunHistory.fromEvents(events).snapshot(), h.snapshot());
  });
});

describe('config templates', () => {
  for (const t of TEMPLATES) {
    it(`${t.label} is a valid config with comments`, () => {
      const r = analyzeConfig(t.text, t.fileName);
      assert.deepEqual(r.problems.filter(p => p.severity === 'error').map(p => p.message), []);
      assert.ok(r.config);
      assert.match(t.text, /^\{\n {2}\/\//, 'starts with an explanatory comment');
    });
  }
});
