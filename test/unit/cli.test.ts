// The gradmon command as a user and a CI job meet it: exit codes, compiler-style positioned problems, never
// a stack trace, a run's report, and backend fallback when the native backend is missing.

import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'gradmon.js');
const FIX = path.join(ROOT, 'test', 'fixtures', 'cli');
const BACKEND = process.env.GRADMON_TEST_BACKEND ?? 'wasm';

function gradmon(args: string[], options: { cwd?: string; preload?: string } = {}) {
  const r = spawnSync(process.execPath, [...(options.preload ? ['--require', options.preload] : []), BIN, ...args], {
    cwd: options.cwd ?? ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, all: r.stdout + r.stderr };
}

const noStackTrace = (s: string) => assert.ok(!/\n\s+at .+\(.+:\d+:\d+\)/.test(s), `stack trace in output:\n${s}`);

describe('gradmon CLI', function () {
  this.timeout(120000);

  it('check prints problems as file:line:col and exits 1', () => {
    const r = gradmon(['check', 'test/fixtures/cli/broken.gradmon.json']);
    assert.equal(r.code, 1);
    assert.match(r.out, /^test\/fixtures\/cli\/broken\.gradmon\.json:6:32 - error schema\/type: "model\[1\]\.units" must be a whole number, not the string "32"\. Write 32 without quotes\.$/m);
    assert.match(r.out, /1 error/);
    noStackTrace(r.all);
  });

  it('check reports pre-flight warnings and, with --data, a missing data file at its key', () => {
    const r = gradmon(['check', 'test/fixtures/diagnosis/explode-sgd-mlp.gradmon.json']);
    assert.equal(r.code, 0);
    assert.match(r.out, /explode-sgd-mlp\.gradmon\.json:\d+:\d+ - warning preflight\/large-sgd-lr: SGD with learning rate 1\.5 and no clipping/);
    const d = gradmon(['check', '--data', 'test/fixtures/cli/missing-data.gradmon.json']);
    assert.equal(d.code, 1);
    assert.match(d.out, /missing-data\.gradmon\.json:3:\d+ - error data\/invalid: .*nowhere\.csv.*not found/);
    noStackTrace(d.all);
  });

  it('train runs a config to completion: exit 0, progress, per-layer table, run log', () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-cli-'));
    try {
      fs.copyFileSync(path.join(FIX, 'tiny.gradmon.json'), path.join(ws, 'tiny.gradmon.json'));
      const r = gradmon(['train', 'tiny.gradmon.json', '--backend', BACKEND], { cwd: ws });
      assert.equal(r.code, 0, r.all);
      assert.match(r.err, /tiny — blobs/);
      assert.match(r.err, /\[█+\] 6\/6 epoch 1 · loss [\d.]+ · ‖g‖ [\d.]+/);
      assert.match(r.out, /Run \S+-tiny: completed/);
      assert.match(r.out, /layer\s+type\s+params\s+last ‖g‖\s+median ‖g‖/);
      assert.match(r.out, /dense_1\s+dense\s+144/);
      const runs = fs.readdirSync(path.join(ws, '.gradmon', 'runs'));
      assert.equal(runs.length, 1);
      for (const f of ['events.jsonl', 'summary.json', 'config.json', 'config.source.jsonc']) assert.ok(fs.existsSync(path.join(ws, '.gradmon', 'runs', runs[0], f)), f);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('train of a run that goes NaN halts, names the first non-finite step and layer, lists fixes, exits 3', () => {
    const r = gradmon(['train', 'test/fixtures/diagnosis/explode-sgd-mlp.gradmon.json', '--no-log', '--backend', BACKEND]);
    assert.equal(r.code, 3, r.all);
    assert.match(r.out, /: halted — NaN\/Inf in the output of dense_3 at step \d+ \(forward pass\)/);
    assert.match(r.out, /First non-finite value: NaN\/Inf in the output of dense_3/);
    assert.match(r.out, /Findings and suggested fixes:\n\s+error \[exploding-gradients\] Exploding gradients in dense_2 from step 1/);
    assert.match(r.out, /1\. Lower the learning rate to 0\.15/);
    assert.match(r.err, /error \[exploding-gradients\]/, 'findings are printed as they happen');
    noStackTrace(r.all);
  });

  it('train of a config with a missing data file exits 1 with a positioned error', () => {
    const r = gradmon(['train', 'test/fixtures/cli/missing-data.gradmon.json', '--no-log']);
    assert.equal(r.code, 1);
    assert.match(r.err, /missing-data\.gradmon\.json:3:\d+ - error data\/invalid: .*nowhere\.csv/);
    noStackTrace(r.all);
  });

  it('usage errors exit 2 with the usage text', () => {
    for (const args of [[], ['fly', 'x.json'], ['train'], ['train', 'x', '--max-steps', 'abc'], ['train', 'x', '--backend', 'gpu']]) {
      const r = gradmon(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, /Usage:/);
    }
  });

  it('gradcheck compares autograd with finite differences per layer', () => {
    const r = gradmon(['gradcheck', 'test/fixtures/cli/tiny.gradmon.json', '--backend', BACKEND]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /ok\s+dense_1\s+worst relative error/);
    assert.match(r.out, /Gradients match finite differences/);
  });

  it('falls back from the missing native backend to wasm and says why', () => {
    const r = gradmon(['train', 'test/fixtures/cli/tiny.gradmon.json', '--no-log', '--json', '--max-steps', '2'], { preload: path.join(FIX, 'hide-tfjs-node.js') });
    assert.equal(r.code, 0, r.all);
    const start = r.out.split('\n').filter(Boolean).map(l => JSON.parse(l)).find(e => e.type === 'run-start');
    assert.equal(start.backend.name, 'wasm');
    assert.deepEqual(start.backend.attempts.map((a: { backend: string; ok: boolean }) => [a.backend, a.ok]), [['tensorflow', false], ['wasm', true]]);
    assert.match(start.backend.attempts[0].reason, /tfjs-node is not installed/);
    assert.match(start.backend.hint, /npm install @tensorflow\/tfjs-node/);
    assert.ok(start.backend.customKernels.includes('UnsortedSegmentSum'));
  });
});
