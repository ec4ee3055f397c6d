// Every shipped example (examples/*.gradmon.json) and every "New Training Config" template that needs no data
// trains here, on the backend of this process (scripts/test.js runs this file on wasm and on cpu).

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTraining } from '../../src/engine/run';
import { TEMPLATES } from '../../src/host/templates';
import { TEST_BACKEND, useTestBackend } from './helpers/engine';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');
const hasData = fs.existsSync(path.join(EXAMPLES, 'data', 'spam.csv')) && fs.existsSync(path.join(EXAMPLES, 'data', 'mnist'));

describe(`examples train on ${TEST_BACKEND}`, function () {
  this.timeout(180000);
  before(async () => { await useTestBackend(); });

  for (const file of fs.readdirSync(EXAMPLES).filter(f => f.endsWith('.gradmon.json')).sort()) {
    it(file, async function () {
      const text = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
      if (/"(path|images)"/.test(text) && !hasData) {
        console.log('      (skipped: examples/data missing; run `node scripts/prepare-example-data.js`)');
        this.skip();
      }
      const steps = TEST_BACKEND === 'cpu' && /lstm/.test(text) ? 4 : 12;
      const r = await runTraining({ configPath: path.join(EXAMPLES, file), workspaceRoot: ROOT, maxSteps: steps, backend: TEST_BACKEND, log: false });
      assert.ok(r.ok, r.ok ? '' : r.problems.map(p => p.message).join('; '));
      if (!r.ok) return;
      assert.equal(r.summary.status, 'completed', r.summary.reason);
      assert.equal(r.summary.backend, TEST_BACKEND);
      assert.equal(r.summary.steps, steps);
      assert.ok(Number.isFinite(r.summary.finalLoss!));
      assert.ok(r.summary.layers.every(l => Number.isFinite(l.lastGradNorm) && l.lastGradNorm > 0), JSON.stringify(r.summary.layers));
    });
  }

  for (const t of TEMPLATES.filter(x => /"source": "synthetic"/.test(x.text))) {
    it(`template: ${t.label}`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-template-'));
      try {
        fs.writeFileSync(path.join(dir, t.fileName), t.text);
        const r = await runTraining({ configPath: path.join(dir, t.fileName), workspaceRoot: dir, maxSteps: 8, backend: TEST_BACKEND, log: false });
        assert.ok(r.ok, r.ok ? '' : r.problems.map(p => p.message).join('; '));
        if (r.ok) assert.notEqual(r.summary.status, 'failed', r.summary.reason);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
