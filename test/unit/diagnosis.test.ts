// Proof that the diagnosis works: labelled configs trained briefly must report the right finding on the right
// layer (and healthy ones nothing above info); applying the top suggested fix and training again must make the
// finding go away. Also the fix edits keep comments and formatting, and the rules' thresholds are documented.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { analyzeConfig } from '../../src/config';
import { applyFixToText } from '../../src/diagnosis/applyFix';
import { createMonitor } from '../../src/diagnosis/monitor';
import { DEFAULT_THRESHOLDS } from '../../src/diagnosis/thresholds';
import { runTraining } from '../../src/engine/run';
import { RunHistory } from '../../src/history/runHistory';
import type { Finding, LayerSummary, RunEvent, StepEvent, StepStats } from '../../src/protocol';
import { useTestBackend, TEST_BACKEND } from './helpers/engine';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'diagnosis');

interface Expectation { rule: string; kind: string; layer?: string; firstStepAtMost?: number }
interface FixtureCase { config: string; maxSteps: number; expect: Expectation | 'healthy' }

const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as { fixtures: FixtureCase[] };

async function findingsOf(configPath: string, maxSteps: number): Promise<Finding[]> {
  const outcome = await runTraining({ configPath, workspaceRoot: ROOT, maxSteps, backend: TEST_BACKEND, log: false });
  if (!outcome.ok) throw new Error(`${path.basename(configPath)}: ${outcome.problems.map(p => p.message).join('; ')}`);
  return outcome.summary.findings;
}

const serious = (f: Finding) => f.severity === 'error' || f.severity === 'warning';
const describeAll = (fs_: Finding[]) => fs_.map(f => `${f.severity} ${f.rule}${f.layer ? `@${f.layer}` : ''} from ${f.firstStep}`).join('; ') || 'none';

function needsData(configPath: string): string | undefined {
  const text = fs.readFileSync(configPath, 'utf8');
  if (text.includes('examples/data/') || text.includes('"data/')) {
    const data = path.join(ROOT, 'examples', 'data');
    if (!fs.existsSync(path.join(data, 'spam.csv')) || !fs.existsSync(path.join(data, 'mnist'))) return 'examples/data missing: run `node scripts/prepare-example-data.js`';
  }
  return undefined;
}

describe('diagnosis on labelled fixtures', function () {
  this.timeout(180000);
  before(async () => { await useTestBackend(); });

  for (const c of manifest.fixtures) {
    const configPath = path.resolve(FIXTURES, c.config);
    const label = c.expect === 'healthy' ? `${c.config}: healthy, nothing above info` : `${c.config}: ${c.expect.rule} in ${c.expect.layer ?? 'the run'}, gone after the top fix`;
    it(label, async function () {
      const missing = needsData(configPath);
      if (missing) { console.log(`      (skipped: ${missing})`); this.skip(); }
      const findings = await findingsOf(configPath, c.maxSteps);
      if (c.expect === 'healthy') {
        assert.deepEqual(findings.filter(serious).map(f => f.title), [], `healthy run raised: ${describeAll(findings)}`);
        return;
      }
      const exp = c.expect;
      const f = findings.find(x => x.rule === exp.rule && (exp.layer === undefined || x.layer === exp.layer));
      assert.ok(f, `expected ${exp.rule}${exp.layer ? ` in ${exp.layer}` : ''}; got ${describeAll(findings)}`);
      assert.equal(f.kind, exp.kind);
      assert.ok(serious(f), `${f.rule} should be a warning or error, is ${f.severity}`);
      if (exp.firstStepAtMost !== undefined) assert.ok(f.firstStep! <= exp.firstStepAtMost, `first step ${f.firstStep} > ${exp.firstStepAtMost}`);
      assert.ok(f.fixes.length > 0, 'has fixes');
      assert.ok(Object.keys(f.evidence).length > 0, 'has evidence');
      assert.ok(f.explanation.length > 40, 'has an explanation');
      if (f.layerIndex !== undefined) assert.equal(f.jsonPath[0], 'model');

      // Apply the top fix to the file as a user would, train again: the finding must be gone.
      const original = fs.readFileSync(configPath, 'utf8');
      const fixed = applyFixToText(original, f.fixes[0].edits);
      assert.notEqual(fixed, original, 'the fix changes the config');
      const fixedPath = path.join(path.dirname(configPath), `.fixed-${process.pid}-${path.basename(configPath)}`);
      fs.writeFileSync(fixedPath, fixed);
      try {
        const after = await findingsOf(fixedPath, c.maxSteps);
        const still = after.filter(x => x.rule === exp.rule && serious(x));
        assert.deepEqual(still.map(x => x.title), [], `after "${f.fixes[0].title}": ${describeAll(after)}`);
      } finally {
        fs.rmSync(fixedPath, { force: true });
      }
    });
  }
});

describe('suggested fixes', function () {
  this.timeout(120000);
  before(async () => { await useTestBackend(); });

  it('an explosion offers every clipping mode, a lower rate and Adam, each as a config edit', async () => {
    const findings = await findingsOf(path.join(FIXTURES, 'explode-sgd-mlp.gradmon.json'), 20);
    const f = findings.find(x => x.rule === 'exploding-gradients');
    assert.ok(f, describeAll(findings));
    assert.deepEqual(f.fixes.map(x => x.id), ['lower-learning-rate', 'clip-global-norm', 'use-adam', 'clip-norm', 'clip-value']);
    const modes = f.fixes.flatMap(x => x.edits).filter(e => e.path[0] === 'clipping').map(e => (e.value as { mode: string }).mode);
    assert.deepEqual(modes, ['globalNorm', 'norm', 'value']);
  });
});

describe('fix edits', () => {
  const text = `{
    // my experiment
    "name": "x", /* keep me */
    "optimizer": { "type": "sgd", "learningRate": 1.5 },
    "model": [
        { "type": "dense", "units": 8, "activation": "sigmoid" }, // first
        { "type": "dense", "units": 3, "activation": "softmax" }
    ]
}`;

  it('appends a key after a trailing line comment without moving the comment', () => {
    const out = applyFixToText('{\n  "name": "x", // the name\n  "seed": 1 // last\n}', [{ path: ['clipping'], value: { mode: 'value', threshold: 1 } }]);
    assert.equal(out, '{\n  "name": "x", // the name\n  "seed": 1, // last\n  "clipping": { "mode": "value", "threshold": 1 }\n}');
    const inline = applyFixToText('{ "name": "x", "seed": 1 }', [{ path: ['training', 'accumulationSteps'], value: 4 }]);
    assert.deepEqual(require('jsonc-parser').parse(inline), { name: 'x', seed: 1, training: { accumulationSteps: 4 } });
  });

  it('set a value, add a key, insert a layer — keeping comments and indentation', () => {
    const out = applyFixToText(text, [
      { path: ['optimizer', 'learningRate'], value: 0.15 },
      { path: ['clipping'], value: { mode: 'globalNorm', threshold: 2 } },
      { path: ['model', 1], value: { type: 'batchNormalization' }, insert: true },
      { path: ['model', 0, 'activation'], value: 'relu' },
    ]);
    assert.match(out, /\/\/ my experiment/);
    assert.match(out, /\/\* keep me \*\//);
    assert.match(out, /\/\/ first/);
    assert.match(out, /"learningRate": 0\.15/);
    assert.match(out, /\{ "type": "dense", "units": 8, "activation": "relu" \}, \/\/ first\n {8}\{ "type": "batchNormalization" \},\n {8}\{ "type": "dense", "units": 3/);
    assert.match(out, /\n {4}\],\n {4}"clipping": \{ "mode": "globalNorm", "threshold": 2 \}\n\}$/);
    const parsed = require('jsonc-parser').parse(out);
    assert.deepEqual(parsed.clipping, { mode: 'globalNorm', threshold: 2 });
    assert.deepEqual(parsed.model.map((l: { type: string }) => l.type), ['dense', 'batchNormalization', 'dense']);
  });
});

describe('rules documentation', () => {
  it('docs/rules.md documents every threshold with its default', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'rules.md'), 'utf8');
    for (const [k, v] of Object.entries(DEFAULT_THRESHOLDS)) {
      assert.ok(doc.includes(`\`${k}\``), `docs/rules.md mentions ${k}`);
      assert.ok(doc.includes(String(v)), `docs/rules.md gives ${k}'s default ${v}`);
    }
  });
});

describe('findings that concern several layers', () => {
  it('an explosion in three of four layers marks all three in the layer lists, the quiet one stays ok', () => {
    const analysis = analyzeConfig(JSON.stringify({
      name: 'spikes', data: { source: 'synthetic', task: 'blobs' },
      model: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }],
      loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'sgd', learningRate: 0.1 },
    }), 'spikes.gradmon.json');
    assert.ok(analysis.config, analysis.problems.map(p => p.message).join('; '));
    const names = ['dense_1', 'dense_2', 'dense_3', 'dense_4'];
    const layers: LayerSummary[] = names.map((name, index) => ({ name, index, type: 'dense', outputShape: [8], params: 72, variables: [] }));
    const start: RunEvent = {
      type: 'run-start', runId: 'r', startedAt: '2026-01-01T00:00:00Z', totalSteps: 100, stepsPerEpoch: 100, config: analysis.config, layers,
      backend: { name: 'cpu', chosenBy: 'test', attempts: [], customKernels: [] }, dataset: { description: 'd', trainExamples: 1, validationExamples: 0, inputShape: [1] },
    };
    // Twenty quiet steps, then dense_2 jumps 1000×, dense_1 and dense_3 100× (the loss rising), dense_4 stays.
    const stepEvent = (i: number): StepEvent => {
      const norms = i < 20 ? [1, 1, 1, 1] : [100, 1000, 100, 1];
      const stats: StepStats = {
        globalNorm: Math.hypot(...norms), clippedGlobalNorm: Math.hypot(...norms), statsMs: 0,
        layers: norms.map((n, index) => ({
          layer: names[index], index, type: 'dense' as const, gradNorm: n, weightNorm: 1, updateNorm: 1e-3, updateRatio: 1e-3, variables: [],
          grad: { size: 72, norm: n, mean: 0, std: n / 8, min: -n, max: n, maxAbs: n, zeroFraction: 0, nanCount: 0, infCount: 0 },
        })),
      };
      return { type: 'step', step: i, epoch: 0, loss: i < 20 ? 1 : 5 * i, learningRate: 0.1, globalNorm: stats.globalNorm, clippedGlobalNorm: stats.globalNorm, stepMs: 1, time: i, stats };
    };
    const monitor = createMonitor(analysis.config, layers);
    const history = new RunHistory();
    history.apply(start);
    const observe = (e: RunEvent) => {
      for (const finding of monitor.observe(e)) history.apply({ type: 'finding', step: (e as StepEvent).step, finding });
      history.apply(e);
    };
    observe(start);
    for (let i = 0; i < 26; i++) observe(stepEvent(i));
    const explosion = monitor.findings().find(f => f.rule === 'exploding-gradients');
    assert.ok(explosion, monitor.findings().map(f => f.title).join('; '));
    assert.equal(explosion.layer, 'dense_2', 'the layer that jumped most is where it points');
    assert.deepEqual(explosion.layers, [{ name: 'dense_2', index: 1 }, { name: 'dense_1', index: 0 }, { name: 'dense_3', index: 2 }]);
    assert.deepEqual(history.snapshot().layers.map(l => [l.name, l.health]), [['dense_1', 'exploding'], ['dense_2', 'exploding'], ['dense_3', 'exploding'], ['dense_4', 'ok']]);
  });
});
