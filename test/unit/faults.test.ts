// Faults a run must survive without losing the user's results or writing where it should not: an unwritable or
// redirected run-log folder, a disk that fills up mid-run, a run that goes NaN and continues, a torn log line.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { simdModuleBytes } from '../../src/engine/kernels/wasm_simd';
import { MonitorThread } from '../../src/engine/monitorThread';
import { prepareRun, runTraining } from '../../src/engine/run';
import { stepLayout, Trainer } from '../../src/engine/trainer';
import { readRun, RUNS_DIR } from '../../src/engine/runlog';
import { RunHistory } from '../../src/history/runHistory';
import type { RunEvent } from '../../src/protocol';
import { TEST_BACKEND, useTestBackend } from './helpers/engine';

const TINY = {
  name: 'tiny', seed: 1,
  data: { source: 'synthetic', task: 'blobs', examples: 320, features: 8 },
  model: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }],
  loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam' }, training: { epochs: 2, batchSize: 16 },
};

/** A throw-away workspace holding `config` as tiny.gradmon.json. */
function workspace(config: object): { root: string; config: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-faults-'));
  const file = path.join(root, 'tiny.gradmon.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return { root, config: file };
}

describe('faults', function () {
  this.timeout(60000);
  before(async () => { await useTestBackend(); });
  const made: string[] = [];
  const ws = (config: object = TINY) => {
    const w = workspace(config);
    made.push(w.root);
    return w;
  };
  after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

  it('a file where the run-log folder should be: a clear error before training, nothing lost', async () => {
    const w = ws();
    fs.writeFileSync(path.join(w.root, '.gradmon'), 'my notes');
    const r = await runTraining({ configPath: w.config, workspaceRoot: w.root, backend: TEST_BACKEND });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.stage, 'log');
    assert.match(r.problems[0].message, /Cannot write the run log in \.gradmon\/runs: a file is in the way/);
    assert.equal(fs.readFileSync(path.join(w.root, '.gradmon'), 'utf8'), 'my notes', 'the user\'s file is untouched');
  });

  it('a run-log folder symlinked outside the workspace is refused, nothing is written there', async () => {
    const w = ws();
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-outside-'));
    made.push(outside);
    fs.symlinkSync(outside, path.join(w.root, '.gradmon'));
    const r = await runTraining({ configPath: w.config, workspaceRoot: w.root, backend: TEST_BACKEND });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.problems[0].message, /outside the workspace/);
    assert.deepEqual(fs.readdirSync(outside).filter(f => f !== 'runs' || fs.readdirSync(path.join(outside, 'runs')).length > 0), [], 'no run written outside');
  });

  it('the disk filling up mid-run stops the run with a clear reason; the lines written so far stay readable', async () => {
    const w = ws({ ...TINY, training: { epochs: 20, batchSize: 16 } });
    // The module object itself (the namespace import is read-only); the run log reads writeSync from it per call.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeFs = require('fs') as { writeSync: typeof fs.writeSync };
    const realWriteSync = nodeFs.writeSync;
    let events = 0;
    // Inject ENOSPC into the run log's appends after 15 events.
    nodeFs.writeSync = ((fd: number, data: string, ...rest: unknown[]) => {
      if (typeof data === 'string' && data.startsWith('{"type"') && ++events > 15) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return (realWriteSync as (...a: unknown[]) => number)(fd, data, ...rest);
    }) as typeof fs.writeSync;
    let outcome;
    const seen: RunEvent[] = [];
    try {
      // Monitoring on this thread: the injected fault is this thread's fs (the monitor thread's case is below).
      outcome = await runTraining({ configPath: w.config, workspaceRoot: w.root, backend: TEST_BACKEND, onEvent: e => seen.push(e), monitorThread: false });
    } finally {
      nodeFs.writeSync = realWriteSync;
    }
    assert.ok(outcome.ok);
    if (!outcome.ok) return;
    assert.equal(outcome.summary.status, 'failed');
    assert.match(outcome.summary.reason ?? '', /the disk is full/);
    assert.ok(outcome.summary.steps < 400, `stopped early (${outcome.summary.steps} steps), not trained unlogged`);
    const record = readRun(outcome.runDir!);
    assert.deepEqual(record.badLines, []);
    assert.ok(record.events.length >= 15);
    assert.equal(record.events[0].type, 'run-start');
  });

  it('on the monitor thread, a log that cannot be written stops the run too (the disk is full: /dev/full)', async function () {
    if (!fs.existsSync('/dev/full')) this.skip();
    const w = ws({ ...TINY, training: { epochs: 20, batchSize: 16 } });
    const prepared = await prepareRun({ configPath: w.config, workspaceRoot: w.root, backend: TEST_BACKEND });
    assert.ok(prepared.ok);
    if (!prepared.ok) return;
    const { config, data, built } = prepared;
    // A run folder whose log is /dev/full: every append fails with ENOSPC, on the thread that writes it.
    const dir = path.join(w.root, 'run');
    fs.mkdirSync(dir);
    fs.symlinkSync('/dev/full', path.join(dir, 'events.jsonl'));
    const seen: RunEvent[] = [];
    const thread = MonitorThread.start({ config, layers: built.summaries, logDir: dir, view: 'all' }, stepLayout(built, config), e => seen.push(...e), simdModuleBytes());
    assert.ok(typeof thread !== 'string', `the monitor thread starts (${thread})`);
    if (typeof thread === 'string') return;
    thread.post({ ...prepared.start, runId: 'r', startedAt: new Date().toISOString() });
    const trainer = new Trainer({ config, data, built, offload: thread, emit: e => { thread.post(e); } });
    const result = await trainer.run();
    const summary = await thread.end(result);
    built.dispose();
    assert.equal(result.status, 'halted', 'the trainer stopped on the thread\'s verdict');
    assert.ok(result.steps <= 2, `stopped at once (${result.steps} steps), not trained unlogged`);
    assert.equal(summary.status, 'failed');
    assert.match(summary.reason ?? '', /the disk is full/);
    assert.equal(seen[seen.length - 1].type, 'run-end', 'the watcher still gets the run-end');
  });

  it('a run that goes NaN with onNonFinite "continue" keeps going; statistics and the UI history take the NaN', async () => {
    const w = ws({
      ...TINY, training: { epochs: 1, batchSize: 16 }, monitor: { onNonFinite: 'continue' },
      model: [{ type: 'dense', units: 32, activation: 'relu', kernelInitializer: { type: 'randomNormal', stddev: 5 } }, { type: 'dense', units: 3 }],
      loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 10 },
    });
    const events: RunEvent[] = [];
    const r = await runTraining({ configPath: w.config, workspaceRoot: w.root, backend: TEST_BACKEND, onEvent: e => events.push(e) });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(r.summary.status, 'completed');
    const planned = events.find(e => e.type === 'run-start');
    assert.equal(r.summary.steps, planned?.type === 'run-start' ? planned.totalSteps : -1, 'every planned step ran');
    assert.ok(r.summary.firstNonFinite, 'the first non-finite step is recorded');
    assert.ok(r.summary.findings.some(f => f.kind === 'nonFinite'));
    const steps = events.filter(e => e.type === 'step');
    assert.ok(steps.slice(r.summary.firstNonFinite!.step).some(s => s.type === 'step' && !Number.isFinite(s.loss)));
    const history = RunHistory.fromEvents(events);
    const snapshot = JSON.parse(JSON.stringify(history.snapshot()));
    assert.ok(snapshot.loss.last.includes('NaN') || snapshot.loss.max.includes('NaN'), 'NaN reaches the charts as NaN');
    // The log keeps NaN readable too.
    const record = readRun(r.runDir!);
    assert.ok(record.events.some(e => e.type === 'step' && Number.isNaN(e.loss)));
  });

  it('a torn last line (a killed process) is skipped; every complete line is read', async () => {
    const w = ws();
    const r = await runTraining({ configPath: w.config, workspaceRoot: w.root, backend: TEST_BACKEND });
    assert.ok(r.ok);
    if (!r.ok) return;
    const events = path.join(r.runDir!, 'events.jsonl');
    const text = fs.readFileSync(events, 'utf8');
    fs.writeFileSync(events, text.slice(0, text.length - 40)); // cut inside the run-end line
    fs.rmSync(path.join(r.runDir!, 'summary.json'));
    const record = readRun(r.runDir!);
    const lines = text.trim().split('\n').length;
    assert.equal(record.events.length, lines - 1);
    assert.equal(record.badLines.length, 1);
    assert.equal(record.incomplete, true);
    assert.ok(fs.existsSync(path.join(w.root, RUNS_DIR)));
  });
});
