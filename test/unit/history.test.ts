// The UI's run history: bounded whatever the run length, spikes and NaN survive downsampling, snapshots are
// JSON-safe, and a run rebuilt from its log equals the live one. Also the "New Training Config" templates.

import { strict as assert } from 'assert';
import { analyzeConfig } from '../../src/config';
import { applySnapshotPatch, dec, HEATMAP_CAPACITY, RunHistory, Series, SERIES_CAPACITY, SnapshotCursor, type RunSnapshot } from '../../src/history/runHistory';
import { TEMPLATES } from '../../src/host/templates';
import type { Histogram, RunEvent, RunStartEvent, StepEvent } from '../../src/protocol';

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

  it('patches continue what the panel holds: applied in order they equal the complete snapshot, through every compaction', () => {
    // Two layers; dense_2's gradients go NaN now and then; steps arrive in batches of 1–37 (as between two panel
    // updates), across the series' compactions (512, 1024, 2048 buckets) and the columns' thinning (160).
    const first = start as RunStartEvent;
    const twoLayers: RunEvent = { ...first, layers: [...first.layers, { name: 'dense_2', index: 1, type: 'dense', outputShape: [2], params: 22, variables: [] }] };
    const stepOf = (i: number): StepEvent => {
      const e = step(i, 1 + Math.sin(i / 50));
      const second = step(i, i % 997 === 500 ? NaN : 0.5 + Math.cos(i / 30)).stats!.layers[0];
      return { ...e, stats: { ...e.stats!, layers: [...e.stats!.layers, { ...second, layer: 'dense_2', index: 1 }] } };
    };
    const h = new RunHistory();
    h.apply(twoLayers);
    const cursor = new SnapshotCursor();
    let held: RunSnapshot | undefined;
    let i = 0;
    let patches = 0;
    let complete = 0;
    let patchBytes = 0;
    let fullBytes = 0;
    for (let update = 0; i < 6000; update++) {
      for (const end = i + 1 + ((update * 7919) % 37); i < end; i++) h.apply(stepOf(i));
      // The panel asks for columns of the selected layer; the user switches it now and then.
      const columnsFor = [update % 60 < 30 ? 'dense_1' : 'dense_2'];
      const isPatch = cursor.history === h;
      const sent = JSON.parse(JSON.stringify(h.snapshot({ columnsFor, forPanel: true, cursor }))) as RunSnapshot; // as postMessage delivers it
      const full = JSON.stringify(h.snapshot({ columnsFor, forPanel: true }));
      held = isPatch ? applySnapshotPatch(held!, sent) : sent;
      assert.equal(JSON.stringify(held), full, `after step ${i - 1} (update ${update})`);
      if (isPatch) {
        patches++;
        patchBytes += JSON.stringify(sent).length;
        fullBytes += full.length;
      } else complete++;
      if (update === 120) cursor.reset(); // e.g. the webview asked for a complete snapshot
    }
    assert.equal(complete, 2, 'complete snapshots: the first and after the reset');
    assert.ok(patches > 300, `${patches} patches`);
    assert.ok(patchBytes < fullBytes / 5, `patches ${patchBytes} B against ${fullBytes} B complete`);
    // A patch onto a snapshot that does not hold its base is refused (the panel then asks for a complete one).
    const fresh = new RunHistory();
    fresh.apply(twoLayers);
    for (let k = 0; k < 10; k++) fresh.apply(stepOf(k));
    const c = new SnapshotCursor();
    const before = fresh.snapshot({ cursor: c });
    for (let k = 10; k < 20; k++) fresh.apply(stepOf(k));
    const patch = fresh.snapshot({ cursor: c });
    assert.ok(patch.globalNorm.from !== undefined);
    assert.throws(() => applySnapshotPatch({ ...before, globalNorm: { ...before.globalNorm, steps: [] } }, patch), /a series patch from/);
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
