// Starts and ends the training process: fork with a startup handshake and timeout, typed IPC, stdout/stderr
// to a log, and an end that reaches the whole process tree (own process group, TERM then KILL).

import { fork, type ChildProcess } from 'child_process';
import type { HostToWorker, WorkerToHost } from '../protocol';
import { isMessage } from '../protocol';

export interface WorkerOptions {
  /** dist/worker.js */
  script: string;
  /** Node binary; defaults to the extension host's own runtime in Node mode. */
  nodePath?: string;
  cwd: string;
  startupTimeoutMs: number;
  log(line: string, stream: 'stdout' | 'stderr'): void;
  env?: NodeJS.ProcessEnv;
}

export class WorkerStartError extends Error {}

export class WorkerProcess {
  private exitHandlers: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = [];
  private messageHandlers: ((m: WorkerToHost) => void)[] = [];
  exited = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: unknown) => {
      if (isMessage<WorkerToHost>(m)) for (const h of this.messageHandlers) h(m);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
      for (const h of this.exitHandlers) h(code, signal);
    });
  }

  get pid(): number | undefined { return this.child.pid; }

  /** Forks the worker and waits for its `ready` message. */
  static async start(o: WorkerOptions): Promise<WorkerProcess> {
    const child = fork(o.script, [], {
      cwd: o.cwd,
      execPath: o.nodePath || process.execPath,
      // In desktop VS Code process.execPath is Electron: this makes it behave as plain Node.
      env: { ...process.env, ...o.env, ELECTRON_RUN_AS_NODE: '1' },
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Structured clone keeps NaN and Infinity (JSON would turn them into null).
      serialization: 'advanced',
      // Its own process group, so stop() can end it and anything it started.
      detached: process.platform !== 'win32',
    });
    const w = new WorkerProcess(child);
    const lines = (stream: 'stdout' | 'stderr') => {
      let buffer = '';
      return (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let i: number;
        while ((i = buffer.indexOf('\n')) >= 0) {
          o.log(buffer.slice(0, i), stream);
          buffer = buffer.slice(i + 1);
        }
      };
    };
    child.stdout?.on('data', lines('stdout'));
    child.stderr?.on('data', lines('stderr'));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        w.kill();
        reject(new WorkerStartError(`The training process did not start within ${Math.round(o.startupTimeoutMs / 1000)} s (no handshake). See the "Gradient Monitor" output for its messages.`));
      }, o.startupTimeoutMs);
      child.once('error', e => {
        clearTimeout(timer);
        reject(new WorkerStartError(`Could not start the training process with ${o.nodePath || process.execPath}: ${e.message}. Check the setting gradientMonitor.nodePath.`));
      });
      w.onExit((code, signal) => {
        clearTimeout(timer);
        reject(new WorkerStartError(`The training process exited during start-up (${signal ?? `exit code ${code}`}). See the "Gradient Monitor" output.`));
      });
      w.onMessage(m => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return w;
  }

  onMessage(h: (m: WorkerToHost) => void): void { this.messageHandlers.push(h); }
  onExit(h: (code: number | null, signal: NodeJS.Signals | null) => void): void { this.exitHandlers.push(h); }

  send(m: HostToWorker): void {
    if (!this.exited && this.child.connected) this.child.send(m);
  }

  /**
   * Asks the run to stop after its current step (the summary is still written); if the process has not exited
   * after `graceMs`, ends the whole process group: SIGTERM, then SIGKILL.
   */
  async stop(graceMs = 5000, reason?: string): Promise<void> {
    if (this.exited) return;
    this.send({ type: 'stop', reason });
    if (await this.waitForExit(graceMs)) return;
    this.kill('SIGTERM');
    if (await this.waitForExit(2000)) return;
    this.kill('SIGKILL');
    await this.waitForExit(2000);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    const pid = this.child.pid;
    if (pid === undefined || this.exited) return;
    try {
      if (process.platform !== 'win32') process.kill(-pid, signal); // the whole group
      else this.child.kill(signal);
    } catch {
      try { this.child.kill(signal); } catch { /* already gone */ }
    }
  }

  waitForExit(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise(resolve => {
      const timer = setTimeout(() => resolve(false), ms);
      this.onExit(() => { clearTimeout(timer); resolve(true); });
    });
  }
}
