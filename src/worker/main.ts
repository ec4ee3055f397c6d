// The training process: forked by the extension host, it runs the engine and streams typed messages back
// over IPC. It dies with its parent (IPC disconnect, or the parent pid gone), and stops cleanly on request.

import type { GradCheckRequest, HostToWorker, TrainRequest, WorkerToHost } from '../protocol';
import { isMessage } from '../protocol';

/** How often the watchdog checks that the extension host is still alive. */
const WATCHDOG_MS = 2000;

let controller: AbortController | undefined;
let busy = false;
/** Messages handed to IPC but not yet written: the process must not exit before they are. */
let unsent = 0;
let flushed: (() => void) | undefined;

function send(message: WorkerToHost): void {
  if (!process.connected || !process.send) return;
  unsent++;
  process.send(message, undefined, undefined, () => {
    unsent--;
    if (unsent === 0) flushed?.();
  });
}

function allSent(): Promise<void> {
  return unsent === 0 || !process.connected ? Promise.resolve() : new Promise(resolve => { flushed = resolve; });
}

async function train(req: TrainRequest): Promise<void> {
  // Loaded on demand: the handshake must not wait for TensorFlow.js to load.
  const { runTraining } = await import('../engine/run');
  controller = new AbortController();
  const outcome = await runTraining({
    configPath: req.configPath, workspaceRoot: req.workspaceRoot, maxSteps: req.maxSteps, backend: req.backend,
    signal: controller.signal,
    // Thinned for the host (recorder.ts forHost) and batched by the monitor thread: one message per batch.
    view: 'host',
    onEvents: events => send({ type: 'events', events }),
  });
  if (!outcome.ok) {
    send({ type: 'config-error', problems: outcome.problems.map(p => ({ message: p.message, jsonPath: p.jsonPath, file: p.file, line: p.line, column: p.column })) });
  }
}

async function gradcheck(req: GradCheckRequest): Promise<void> {
  const { prepareRun } = await import('../engine/run');
  const { gradientCheck } = await import('../engine/gradcheck');
  const prepared = await prepareRun({ configPath: req.configPath, workspaceRoot: req.workspaceRoot, backend: req.backend });
  if (!prepared.ok) {
    send({ type: 'config-error', problems: prepared.problems.map(p => ({ message: p.message, jsonPath: p.jsonPath, file: p.file, line: p.line, column: p.column })) });
    return;
  }
  const result = gradientCheck(prepared.built, prepared.data, prepared.start.backend.name);
  prepared.built.dispose();
  send({ type: 'gradcheck-result', result });
}

async function handle(m: HostToWorker): Promise<void> {
  switch (m.type) {
    case 'ping':
      send({ type: 'pong' });
      return;
    case 'stop':
      controller?.abort(m.reason ?? 'stopped by the user');
      return;
    case 'train':
    case 'gradcheck':
      if (busy) {
        send({ type: 'fatal', message: 'This training process is already busy; start a new one.' });
        return;
      }
      busy = true;
      try {
        if (m.type === 'train') await train(m);
        else await gradcheck(m);
      } finally {
        busy = false;
      }
      // One job per process: a fresh process per run keeps backends and memory clean. Everything sent must reach
      // the host first (a run's last steps and its run-end are queued behind large messages).
      await allSent();
      process.exit(0);
  }
}

function fail(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  send({ type: 'fatal', message: err.message, stack: err.stack });
  // Flush what is queued (at most 2 s: a broken channel must not keep the process alive).
  void Promise.race([allSent(), new Promise(r => setTimeout(r, 2000))]).then(() => process.exit(1));
}

export function main(): void {
  if (!process.send) {
    process.stderr.write('gradmon worker: must be started by the extension (it talks over IPC).\n');
    process.exit(2);
  }
  process.on('message', (m: unknown) => {
    if (isMessage<HostToWorker>(m)) handle(m).catch(fail);
  });
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // Dies with the extension host: the IPC channel closes when the parent exits...
  process.on('disconnect', () => {
    controller?.abort('the extension host went away (window reloaded or closed); stopped after the current step');
    setTimeout(() => process.exit(0), 1000).unref();
  });
  // ...and, in case it lingers, the parent pid stops existing.
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(0);
    }
  }, WATCHDOG_MS).unref();
  send({ type: 'ready', pid: process.pid, node: process.version });
}

// Run as the forked entry; importable without starting.
if (require.main === module) main();
