// What the webview tests render: runs trained by the real engine (fixture configs of the diagnosis tests)
// turned into snapshots by the real RunHistory, exactly as the extension host does, and a synthetic
// 50-layer × 5000-step run for the render-time measurement. The engine and RunHistory are bundled from
// src/ with esbuild for Node (TensorFlow.js external), so the tests always see the current sources.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');

async function loadEngine(buildDir) {
  buildDir = path.resolve(buildDir);
  const esbuild = require('esbuild');
  fs.mkdirSync(buildDir, { recursive: true });
  const entry = path.join(buildDir, 'engine-entry.ts');
  const rel = p => JSON.stringify(path.relative(buildDir, path.join(root, p)).split(path.sep).join('/'));
  fs.writeFileSync(entry, `export { runTraining } from ${rel('src/engine/run')};\nexport { RunHistory, SnapshotCursor } from ${rel('src/history/runHistory')};\n`);
  const outfile = path.join(buildDir, 'engine.js');
  await esbuild.build({
    entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    external: ['@tensorflow/*', 'vscode'], mainFields: ['module', 'main'], logLevel: 'silent',
    // Resolve tfjs from the repository's node_modules although the bundle lives in test-results/.
    nodePaths: [path.join(root, 'node_modules')],
  });
  delete require.cache[outfile];
  return require(outfile);
}

/** Trains a fixture config (no run log) and returns its events. */
async function train(engine, config, maxSteps) {
  const events = [];
  const outcome = await engine.runTraining({
    configPath: path.join(root, config), maxSteps, log: false, backend: 'auto', onEvent: e => events.push(e),
  });
  if (!outcome.ok) throw new Error(`training ${config} failed at ${outcome.stage}: ${outcome.problems.map(p => p.message).join('; ')}`);
  return events;
}

/** Real runs: one that explodes into NaN (halted), one that is healthy with clipping, and the first one mid-run. */
async function realRuns(engine) {
  const explode = await train(engine, 'test/fixtures/diagnosis/explode-sgd-mlp.gradmon.json', 80);
  const lstm = await train(engine, 'test/fixtures/diagnosis/healthy-adding-lstm.gradmon.json', 150);
  // The same explosion seen live: the events up to step 4 (before the NaN), no run-end.
  const lastLive = explode.findIndex(e => e.type === 'step' && e.step === 4);
  const running = explode.slice(0, lastLive + 1).map(e => (e.type === 'run-start' ? { ...e, runId: `${e.runId}-live` } : e));
  return { explode, lstm, running };
}

// ---------------------------------------------------------------------------------------------------------------
// Synthetic run: 50 layers, 5000 steps, 64-bin histograms; one layer explodes from step 3000, another has
// NaN for three steps at 4200. Deterministic (its own PRNG), so render times compare between runs.

function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYNTH = { layers: 50, steps: 5000, bins: 64, range: [-12, 4], values: 4096, explodeLayer: 37, explodeFrom: 3000, nanLayer: 41, nanAt: 4200 };

function syntheticStart() {
  const layers = [];
  for (let i = 0; i < SYNTH.layers; i++) {
    const type = i % 5 === 4 ? 'lstm' : 'dense';
    layers.push({
      name: `${type}_${i + 1}`, index: i, type, activation: type === 'dense' ? 'relu' : 'tanh', outputShape: [null, 64], params: 4096,
      variables: [{ name: `${type}_${i + 1}/kernel`, shape: [64, 64] }],
    });
  }
  return {
    type: 'run-start', runId: 'synthetic-50x5000', configPath: '/workspace/synthetic.gradmon.json',
    config: {
      name: 'synthetic-50-layers', clipping: [{ mode: 'globalNorm', threshold: 5 }],
      monitor: { histogramBins: SYNTH.bins, histogramRange: SYNTH.range },
    },
    backend: { name: 'wasm', chosenBy: 'auto: the fastest backend that loaded', attempts: [], customKernels: [], simd: true },
    layers,
    dataset: { description: 'synthetic', trainExamples: 5000, validationExamples: 500, inputShape: [64] },
    totalSteps: SYNTH.steps, stepsPerEpoch: 500, startedAt: '2026-01-01T00:00:00.000Z',
  };
}

function syntheticStep(step, rand, layers) {
  const stats = [];
  let sumSq = 0;
  const width = (SYNTH.range[1] - SYNTH.range[0]) / SYNTH.bins;
  for (const l of layers) {
    const i = l.index;
    let norm = 10 ** (-3 + 2.5 * Math.sin(i * 0.7)) * Math.exp(0.3 * (rand() - 0.5)) * (1 + 0.3 * Math.sin(step / 200));
    if (i === SYNTH.explodeLayer && step >= SYNTH.explodeFrom) norm *= 10 ** ((step - SYNTH.explodeFrom) / 400);
    const nan = i === SYNTH.nanLayer && step >= SYNTH.nanAt && step < SYNTH.nanAt + 3;
    const counts = new Array(SYNTH.bins).fill(0);
    const center = (Math.log10(norm / 64) - SYNTH.range[0]) / width;
    let underflow = 0;
    let overflow = 0;
    let placed = 0;
    for (let k = -10; k <= 10; k++) {
      const n = Math.round((SYNTH.values / 8.5) * Math.exp(-(k * k) / 18));
      const b = Math.round(center + k);
      if (b < 0) underflow += n; else if (b >= SYNTH.bins) overflow += n; else counts[b] += n;
      placed += n;
    }
    const zeros = i % 7 === 3 ? Math.round(SYNTH.values * 0.3) : 0;
    const histogram = {
      lo: SYNTH.range[0], hi: SYNTH.range[1], counts: nan ? new Array(SYNTH.bins).fill(0) : counts, zeros: nan ? 0 : zeros,
      underflow: nan ? 0 : underflow, overflow: nan ? 0 : overflow, nan: nan ? placed : 0, posInf: 0, negInf: 0,
    };
    const gradNorm = nan ? NaN : norm;
    if (!nan) sumSq += norm * norm;
    stats.push({
      layer: l.name, index: i, type: l.type, gradNorm,
      grad: {
        size: 4096, norm: gradNorm, mean: 0, std: norm / 64, min: -norm / 8, max: norm / 8, maxAbs: norm / 8,
        zeroFraction: zeros / SYNTH.values, nanCount: nan ? placed : 0, infCount: 0, histogram,
      },
      weightNorm: 8, updateNorm: norm * 1e-3, updateRatio: (norm * 1e-3) / 8, variables: [],
    });
  }
  const globalNorm = stats.some(s => Number.isNaN(s.gradNorm)) ? NaN : Math.sqrt(sumSq);
  const clipped = Number.isFinite(globalNorm) ? Math.min(globalNorm, 5) : globalNorm;
  return {
    type: 'step', step, epoch: Math.floor(step / 500), loss: Number.isFinite(globalNorm) ? 2 * Math.exp(-step / 1500) + 0.1 * rand() : NaN,
    learningRate: 1e-3, globalNorm, clippedGlobalNorm: clipped,
    stats: { globalNorm, clippedGlobalNorm: clipped, layers: stats, statsMs: 2 }, stepMs: 10, time: 1e6 + step * 12,
  };
}

function syntheticFinding(kind, layer, step) {
  const fix = (id, title) => ({ id, title, reason: `${title} (synthetic)`, edits: [] });
  return kind === 'explosion'
    ? {
      type: 'finding', step, finding: {
        id: `exploding-gradients:${layer}`, rule: 'exploding-gradients', kind: 'explosion', severity: 'error', layer, firstStep: step,
        title: `Exploding gradients in ${layer} from step ${step}`, explanation: 'The gradient norm grew by orders of magnitude.',
        evidence: {}, jsonPath: ['model'], fixes: [fix('clip-global-norm', 'Clip the global gradient norm at 1'), fix('lower-learning-rate', 'Lower the learning rate')],
      },
    }
    : {
      type: 'finding', step, finding: {
        id: `non-finite:${layer}`, rule: 'non-finite', kind: 'nonFinite', severity: 'error', layer, firstStep: step, lastStep: step + 2,
        title: `NaN/Inf in the gradients of ${layer} at step ${step}`, explanation: 'Some gradients were NaN.',
        evidence: {}, jsonPath: ['model'], fixes: [fix('lower-learning-rate', 'Lower the learning rate')],
      },
    };
}

/**
 * Feeds the synthetic run into `history` step by step; `until(step)` advances it. Steps are generated on the fly
 * (5000 × 50 histograms would not fit in memory at once, and RunHistory keeps only what it needs).
 */
function syntheticRun(RunHistory) {
  const history = new RunHistory();
  const start = syntheticStart();
  history.apply(start);
  const rand = prng(42);
  let next = 0;
  return {
    history,
    until(last) {
      for (; next <= Math.min(last, SYNTH.steps - 1); next++) {
        history.apply(syntheticStep(next, rand, start.layers));
        if (next === SYNTH.explodeFrom + 200) history.apply(syntheticFinding('explosion', start.layers[SYNTH.explodeLayer].name, SYNTH.explodeFrom + 200));
        if (next === SYNTH.nanAt) history.apply(syntheticFinding('nonFinite', start.layers[SYNTH.nanLayer].name, SYNTH.nanAt));
      }
    },
  };
}

module.exports = { loadEngine, realRuns, syntheticRun, SYNTH };
