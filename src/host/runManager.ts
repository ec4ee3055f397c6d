// Supervises training runs: one training process per run, runs queued one after another, each run's history
// kept for the views, crashes reported with the run log kept. Emits change events the views throttle.

import * as path from 'path';
import * as vscode from 'vscode';
import type { BackendChoice } from '../config/types';
import { readRunForView } from '../engine/runlog';
import { RunHistory } from '../history/runHistory';
import type { ConfigProblemPayload, GradCheckResult, RunEvent, RunListEntry } from '../protocol';
import { WorkerProcess, WorkerStartError } from './workerProcess';

export interface RunSettings {
  nodePath?: string;
  backend?: BackendChoice;
  maxSteps?: number;
  startupTimeoutMs: number;
}

export type RunState = 'queued' | 'starting' | 'running' | 'ended';

export class Run {
  readonly key: string;
  readonly history = new RunHistory();
  /** When it was started or queued: orders runs that never reached their run-start (config errors). */
  readonly createdAt = new Date().toISOString();
  state: RunState = 'queued';
  worker?: WorkerProcess;
  problems?: ConfigProblemPayload[];
  /** Why the process ended abnormally, if it did. */
  crash?: string;
  private static counter = 0;

  constructor(readonly configUri: vscode.Uri, readonly workspaceRoot: string, readonly maxSteps?: number) {
    this.key = `run-${Date.now()}-${++Run.counter}`;
    this.history.name = path.basename(configUri.fsPath).replace(/\.gradmon\.json$/, '');
    this.history.configPath = configUri.fsPath;
  }

  get id(): string { return this.history.runId || this.key; }
  get live(): boolean { return this.state !== 'ended'; }
}

export interface RunChange {
  run: Run;
  /** The event that caused it (absent for state changes such as queued → starting). */
  event?: RunEvent;
}

export class RunManager implements vscode.Disposable {
  private readonly runs = new Map<string, Run>();
  private readonly queue: Run[] = [];
  private current?: Run;
  private readonly changed = new vscode.EventEmitter<RunChange>();
  readonly onDidChange = this.changed.event;
  /** Runs opened from `.gradmon/runs` logs (past runs), by run id. */
  private readonly opened = new Map<string, Run>();

  constructor(
    private readonly workerScript: string,
    private readonly settings: () => RunSettings,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  /**
   * The run being trained, until it has ended: the change that announces its end already says there is none (the
   * manager lets go of it only after its listeners have run).
   */
  get active(): Run | undefined { return this.current?.live ? this.current : undefined; }
  get queued(): readonly Run[] { return this.queue; }

  /** Live and recent runs first, then opened past runs. */
  list(): Run[] {
    const when = (r: Run) => r.history.startedAt ?? r.createdAt;
    return [...this.runs.values(), ...this.opened.values()].sort((a, b) => when(b).localeCompare(when(a)));
  }

  entries(): RunListEntry[] {
    return this.list().map(r => ({ runId: r.id, name: r.history.name, status: r.state === 'ended' ? r.history.status : 'running', startedAt: r.history.startedAt, live: r.live }));
  }

  get(id: string): Run | undefined {
    return this.runs.get(id) ?? this.opened.get(id) ?? [...this.runs.values()].find(r => r.id === id);
  }

  /** The most relevant run for a view: the active one, else the latest. */
  latest(): Run | undefined {
    return this.current ?? this.list()[0];
  }

  latestFor(configPath: string): Run | undefined {
    return this.list().find(r => r.configUri.fsPath === configPath);
  }

  /**
   * Starts (or queues) a run of a config. A second start of a config already running or queued asks first.
   * Returns undefined when the user declined.
   */
  async start(configUri: vscode.Uri, options: { maxSteps?: number } = {}): Promise<Run | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage('Gradient Monitor trains only in trusted workspaces: training runs code and reads data on this machine. Trust the workspace to enable it.', 'Manage Workspace Trust')
        .then(a => { if (a) void vscode.commands.executeCommand('workbench.trust.manage'); });
      return undefined;
    }
    const folder = vscode.workspace.getWorkspaceFolder(configUri);
    const workspaceRoot = folder?.uri.fsPath ?? path.dirname(configUri.fsPath);
    const same = [this.current, ...this.queue].find(r => r?.configUri.fsPath === configUri.fsPath);
    if (same) {
      const restart = 'Stop It and Restart';
      const after = 'Train Again Afterwards';
      const choice = await vscode.window.showWarningMessage(
        `${path.basename(configUri.fsPath)} is already ${same.state === 'queued' ? 'queued' : 'training'}.`, { modal: true }, restart, after);
      if (!choice) return undefined;
      if (choice === restart) await this.stop(same);
    }
    const run = new Run(configUri, workspaceRoot, options.maxSteps ?? this.settings().maxSteps);
    this.runs.set(run.key, run);
    this.queue.push(run);
    this.changed.fire({ run });
    if (this.current) {
      void vscode.window.showInformationMessage(`Queued ${path.basename(configUri.fsPath)}: it starts when ${this.current.history.name} finishes.`);
    }
    void this.pump();
    return run;
  }

  private async pump(): Promise<void> {
    if (this.current || this.queue.length === 0) return;
    const run = this.queue.shift()!;
    this.current = run;
    try {
      await this.execute(run);
    } finally {
      this.current = undefined;
      void this.pump();
    }
  }

  private async execute(run: Run): Promise<void> {
    run.state = 'starting';
    this.changed.fire({ run });
    const s = this.settings();
    let worker: WorkerProcess;
    try {
      worker = await WorkerProcess.start({
        script: this.workerScript, nodePath: s.nodePath, cwd: run.workspaceRoot, startupTimeoutMs: s.startupTimeoutMs,
        log: (line, stream) => (stream === 'stderr' ? this.output.warn(line) : this.output.info(line)),
      });
    } catch (e) {
      run.state = 'ended';
      run.crash = (e as Error).message;
      run.history.status = 'failed';
      run.history.reason = run.crash;
      this.changed.fire({ run });
      void vscode.window.showErrorMessage(run.crash, 'Show Output').then(a => { if (a) this.output.show(true); });
      if (!(e instanceof WorkerStartError)) this.output.error(String((e as Error).stack));
      return;
    }
    run.worker = worker;
    this.output.info(`Training ${run.configUri.fsPath} in process ${worker.pid}`);
    const done = new Promise<void>(resolve => {
      worker.onMessage(m => {
        switch (m.type) {
          case 'event':
          case 'events':
            for (const event of m.type === 'event' ? [m.event] : m.events) {
              if (event.type === 'run-start') {
                run.state = 'running';
                this.runs.delete(run.key);
                this.runs.set(event.runId, run);
              }
              run.history.apply(event);
              this.changed.fire({ run, event });
            }
            break;
          case 'config-error':
            run.problems = m.problems;
            run.history.status = 'failed';
            run.history.reason = `${m.problems.length} problem${m.problems.length === 1 ? '' : 's'} in the config or data`;
            break;
          case 'fatal':
            run.crash = m.message;
            this.output.error(`Training process error: ${m.stack ?? m.message}`);
            break;
          default:
            break;
        }
      });
      worker.onExit((code, signal) => {
        const ended = run.history.status !== 'running';
        if (!ended && !run.problems) {
          // Killed or crashed before its run-end: the log holds every completed step.
          run.history.status = 'failed';
          run.crash ??= `the training process ${signal ? `was killed (${signal})` : `exited with code ${code}`}`;
          run.history.reason = `${run.crash} at step ${run.history.step}`;
        }
        resolve();
      });
    });
    worker.send({ type: 'train', configPath: run.configUri.fsPath, workspaceRoot: run.workspaceRoot, maxSteps: run.maxSteps, backend: s.backend });
    this.showProgress(run, done);
    await done;
    run.state = 'ended';
    run.worker = undefined;
    // A killed process: what it logged but had not yet sent.
    if (run.crash && run.history.runDir && run.history.status === 'failed' && !run.problems) {
      await this.openFromLog(run.history.runDir).catch(() => undefined);
      run.history.reason = `${run.crash} at step ${run.history.step}`;
    }
    this.changed.fire({ run });
    this.report(run);
  }

  /** A cancellable notification with the run's progress; cancelling stops the run after its current step. */
  private showProgress(run: Run, done: Promise<void>): void {
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Training ${run.history.name}`, cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => void this.stop(run));
      let reported = 0;
      let lastReport = 0;
      const sub = this.onDidChange(c => {
        const h = c.run.history;
        if (c.run !== run || c.event?.type !== 'step' || !h.totalSteps || Date.now() - lastReport < 500) return;
        lastReport = Date.now();
        const pct = (100 * (h.step + 1)) / h.totalSteps;
        progress.report({ increment: pct - reported, message: `step ${h.step + 1}/${h.totalSteps}, epoch ${h.epoch + 1} · loss ${h.lastLoss?.toPrecision(4) ?? '—'}${h.backend ? ` · ${h.backend.name}` : ''}` });
        reported = pct;
      });
      return done.finally(() => sub.dispose());
    });
  }

  private report(run: Run): void {
    const h = run.history;
    const name = h.name;
    if (run.problems) {
      void vscode.window.showErrorMessage(`Cannot train ${name}: ${run.problems[0].message}${run.problems.length > 1 ? ` (and ${run.problems.length - 1} more)` : ''}`, 'Show Problems')
        .then(a => { if (a) void vscode.commands.executeCommand('workbench.actions.view.problems'); });
      return;
    }
    if (h.status === 'failed' && run.crash) {
      const where = h.runDir ? ` The run log up to step ${h.step} is kept in ${path.relative(run.workspaceRoot, h.runDir)}.` : '';
      void vscode.window.showErrorMessage(`Training ${name} failed: ${h.reason ?? run.crash}.${where}`, 'Show Output', 'Open Panel').then(a => {
        if (a === 'Show Output') this.output.show(true);
        if (a === 'Open Panel') void vscode.commands.executeCommand('gradientMonitor.openPanel', run.id);
      });
      return;
    }
    const serious = [...h.findings.values()].filter(f => f.severity !== 'info');
    const msg = `${name}: ${h.status} after ${h.step + 1} steps${h.lastLoss !== undefined ? `, loss ${h.lastLoss.toPrecision(4)}` : ''}${serious.length ? ` — ${serious.length} finding${serious.length === 1 ? '' : 's'}: ${serious[0].title}` : ''}.`;
    const show = serious.length || h.status === 'halted' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(msg, 'Open Panel').then(a => { if (a) void vscode.commands.executeCommand('gradientMonitor.openPanel', run.id); });
  }

  /** Stops a run (the active one by default): it finishes its step, writes its summary and ends. */
  async stop(run: Run | undefined = this.current): Promise<boolean> {
    if (!run) return false;
    const q = this.queue.indexOf(run);
    if (q >= 0) {
      this.queue.splice(q, 1);
      run.state = 'ended';
      run.history.status = 'stopped';
      run.history.reason = 'removed from the queue';
      this.changed.fire({ run });
      return true;
    }
    if (run.worker) {
      await run.worker.stop();
      return true;
    }
    return false;
  }

  /** Runs a numerical gradient check of a config in a fresh training process. */
  async gradientCheck(configUri: vscode.Uri): Promise<GradCheckResult | { problems: ConfigProblemPayload[] } | { error: string }> {
    if (!vscode.workspace.isTrusted) return { error: 'the gradient check trains the model on this machine, so it runs only in trusted workspaces' };
    const s = this.settings();
    const folder = vscode.workspace.getWorkspaceFolder(configUri);
    const workspaceRoot = folder?.uri.fsPath ?? path.dirname(configUri.fsPath);
    let worker: WorkerProcess;
    try {
      worker = await WorkerProcess.start({
        script: this.workerScript, nodePath: s.nodePath, cwd: workspaceRoot, startupTimeoutMs: s.startupTimeoutMs,
        log: (line, stream) => (stream === 'stderr' ? this.output.warn(line) : this.output.info(line)),
      });
    } catch (e) {
      return { error: (e as Error).message };
    }
    return new Promise(resolve => {
      let answered = false;
      worker.onMessage(m => {
        if (m.type === 'gradcheck-result') { answered = true; resolve(m.result); }
        else if (m.type === 'config-error') { answered = true; resolve({ problems: m.problems }); }
        else if (m.type === 'fatal') { answered = true; resolve({ error: m.message }); }
      });
      worker.onExit((code, signal) => { if (!answered) resolve({ error: `the gradient check process ended (${signal ?? `exit code ${code}`})` }); });
      worker.send({ type: 'gradcheck', configPath: configUri.fsPath, workspaceRoot, backend: s.backend });
    });
  }

  /** Opens a past run from its log folder (read once; it does not change). */
  /**
   * Applies what the log holds beyond the history of an ended run: events reach the host in batches, so a process
   * that was killed leaves its last ~50 ms of steps in the log only. Its end (status, reason) stays as it is.
   */
  private catchUp(run: Run, events: RunEvent[]): void {
    const have = run.history.step;
    let from = events.length;
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (e.type === 'step' && e.step <= have) break;
      from = i;
    }
    const missing = events.slice(from).filter(e => e.type !== 'run-start' && e.type !== 'run-end');
    if (!missing.some(e => e.type === 'step')) return;
    const { status, reason } = run.history;
    for (const e of missing) run.history.apply(e);
    Object.assign(run.history, { status, reason });
    this.changed.fire({ run });
  }

  async openFromLog(dir: string, configUri?: vscode.Uri): Promise<Run> {
    // Streamed and sampled: a log of 100k steps opens without blocking the extension host.
    const record = await readRunForView(dir);
    const existing = this.get(record.start?.runId ?? path.basename(dir));
    if (existing) {
      if (!existing.live) this.catchUp(existing, record.events);
      return existing;
    }
    const uri = configUri ?? vscode.Uri.file(record.start?.configPath ?? dir);
    const run = new Run(uri, path.dirname(path.dirname(path.dirname(dir))));
    for (const e of record.events) run.history.apply(e);
    if (record.incomplete) {
      run.history.status = 'failed';
      run.history.reason = `the run ended without a summary (the process was killed or crashed) after step ${run.history.step}`;
    }
    if (!run.history.runId) run.history.runId = path.basename(dir);
    run.history.runDir = dir;
    run.state = 'ended';
    this.opened.set(run.id, run);
    this.changed.fire({ run });
    return run;
  }

  /** Ends every training process; what `deactivate` waits for. */
  async dispose(): Promise<void> {
    this.queue.length = 0;
    const live = [...this.runs.values()].filter(r => r.worker);
    await Promise.all(live.map(r => r.worker!.stop(1500, 'VS Code closed or reloaded the window; stopped after the current step')));
    this.changed.dispose();
  }
}
