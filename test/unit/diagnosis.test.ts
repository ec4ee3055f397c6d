// Proof that the diagnosis works: labelled configs trained briefly must report the right finding on the right
// layer (and healthy ones nothing above info); applying the top suggested fix and training again must make the
// finding go away. Also the fix edits keep comments and formatting, and the rules' thresholds are documented.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { applyFixToText } from '../../src/diagnosis/applyFix';
import { DEFAULT_THRESHOLDS } from '../../src/diagnosis/thresholds';
import { runTraining } from '../../src/engine/run';
import type { Finding } from '../../src/protocol';
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
