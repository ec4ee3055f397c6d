// One training run from a config file, as the CLI and the extension's training process both run it: check the
// config, pick the backend, load the data, build the model, train with the diagnosis watching, log everything.

import * as path from 'path';
import { analyzeConfigFile, type ConfigAnalysis, type ConfigProblem } from '../config';
import { memoryProblem } from '../config/semantic';
import type { BackendChoice, ResolvedConfig } from '../config/types';
import type { EventView, Finding, JsonPath, RecorderInit, RunEnd, RunEvent, RunStartEvent, RunSummary, Severity, StepLayout } from '../protocol';
import { quietly, selectBackend } from './backend';
import { loadDataset } from './data';
import { DataError, type Dataset } from './data/types';
import { buildModel, checkModelAgainstData, ModelDataError, type BuiltModel } from './model';
import { simdModuleBytes } from './kernels/wasm_simd';
import { MonitorThread } from './monitorThread';
import { RunRecorder, type HaltCause } from './recorder';
import { RunLogWriter } from './runlog';
import { planSteps, stepLayout, Trainer } from './trainer';

/** A problem a user must fix before a run can start, positioned in a file (1-based line and column). */
export interface PositionedProblem {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: string;
  message: string;
  jsonPath: JsonPath;
}

export interface RunOptions {
  configPath: string;
  /** Where `.gradmon/runs` goes and what data paths must stay inside. Default: see `defaultWorkspaceRoot`. */
  workspaceRoot?: string;
  maxSteps?: number;
  backend?: BackendChoice;
  signal?: AbortSignal;
  /** Every event, in order (on the monitor thread's schedule: batched, up to 50 ms late). */
  onEvent?(event: RunEvent): void;
  /** The same, a batch at a time. */
  onEvents?(events: RunEvent[]): void;
  /** What onEvent gets: 'all' (default when it is set), 'host' (thinned for the extension host), 'none'. */
  view?: EventView;
  /** Monitor on a worker thread (default true; GRADMON_MONITOR_THREAD=0 turns it off too). */
  monitorThread?: boolean;
  /** Write the run log (default true). */
  log?: boolean;
  /** Bytes the model may need to train; default: half the machine's memory, at most 16 GiB (see semantic.ts). */
  memoryBudgetBytes?: number;
}

export type RunOutcome =
  | { ok: true; summary: RunSummary; runDir?: string }
  | { ok: false; stage: 'config' | 'data' | 'backend' | 'log'; problems: PositionedProblem[] };

/** The config's folder, or the current folder when the config lies inside it (e.g. `gradmon train examples/x`). */
export function defaultWorkspaceRoot(configPath: string): string {
  const abs = path.resolve(configPath);
  const cwd = process.cwd();
  return abs.startsWith(cwd + path.sep) ? cwd : path.dirname(abs);
}

export function positionProblems(analysis: ConfigAnalysis, problems: ConfigProblem[] = analysis.problems): PositionedProblem[] {
  return problems.map(p => {
    const s = analysis.doc.position(p.start);
    const e = analysis.doc.position(p.end);
    return {
      file: analysis.doc.file, line: s.line + 1, column: s.character + 1, endLine: e.line + 1, endColumn: e.character + 1,
      severity: p.severity, code: p.code, message: p.message, jsonPath: p.path,
    };
  });
}

/** Loads and checks everything a run needs, without training. Used by `run`, `gradmon check` and gradcheck. */
export async function prepareRun(options: RunOptions): Promise<
  | { ok: true; analysis: ConfigAnalysis; config: ResolvedConfig; data: Dataset; built: BuiltModel; start: Omit<RunStartEvent, 'runId' | 'runDir' | 'startedAt'> }
  | { ok: false; stage: 'config' | 'data' | 'backend'; problems: PositionedProblem[] }
> {
  const configPath = path.resolve(options.configPath);
  const workspaceRoot = path.resolve(options.workspaceRoot ?? defaultWorkspaceRoot(configPath));
  const analysis = analyzeConfigFile(configPath, { memoryBudgetBytes: options.memoryBudgetBytes });
  if (!analysis.config) {
    return { ok: false, stage: 'config', problems: positionProblems(analysis, analysis.problems.filter(p => p.severity === 'error')) };
  }
  const config = analysis.config;
  const at = (jsonPath: JsonPath, message: string, code: string): PositionedProblem[] =>
    positionProblems(analysis, [analysis.doc.problem(code, 'error', jsonPath, message)]);

  let backend;
  try {
    backend = await selectBackend(options.backend ?? config.backend, options.backend ? '--backend' : 'config "backend"');
  } catch (e) {
    return { ok: false, stage: 'backend', problems: at(['backend'], (e as Error).message, 'backend/unavailable') };
  }

  let data: Dataset;
  try {
    data = await loadDataset(config.data, { configDir: path.dirname(configPath), workspaceRoot, seed: config.seed });
  } catch (e) {
    if (e instanceof DataError) {
      const where = e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ` : '';
      return { ok: false, stage: 'data', problems: at(e.jsonPath.length ? e.jsonPath : ['data'], `${where}${e.message}`, 'data/invalid') };
    }
    return { ok: false, stage: 'data', problems: at(['data'], `Could not load the data: ${(e as Error).message}`, 'data/failed') };
  }

  const mismatch = checkModelAgainstData(config, data);
  if (mismatch) return { ok: false, stage: 'config', problems: at(mismatch.jsonPath, mismatch.message, 'semantic/data-mismatch') };
  // The config check could not know the widths csv/jsonl/idx data bring; a wide file can make a small-looking model huge.
  const tooLarge = memoryProblem(config, { memoryBudgetBytes: options.memoryBudgetBytes }, data.inputShape);
  if (tooLarge) return { ok: false, stage: 'config', problems: at(tooLarge.path, tooLarge.message, 'semantic/too-large') };

  let built: BuiltModel;
  try {
    built = await quietly(() => buildModel(config, data));
  } catch (e) {
    const jsonPath = e instanceof ModelDataError ? e.jsonPath : ['model'];
    return { ok: false, stage: 'config', problems: at(jsonPath, `The model could not be built: ${(e as Error).message}`, 'model/build') };
  }
  const { stepsPerEpoch, totalSteps } = planSteps(config, data.train.count, options.maxSteps);
  return {
    ok: true, analysis, config, data, built,
    start: {
      type: 'run-start',
      configPath,
      config,
      backend,
      layers: built.summaries,
      dataset: {
        description: data.description,
        trainExamples: data.train.count,
        validationExamples: data.validation.count,
        inputShape: data.inputShape,
        classes: data.numClasses,
        labelNames: data.labelNames,
        vocabularySize: data.vocabularySize,
      },
      totalSteps,
      stepsPerEpoch,
    },
  };
}

/** Where a run's events go after the trainer: the recorder on the monitor thread, or on this one. */
export interface Monitoring {
  /** Hands an event over; inline, also says whether the run must halt (on the thread, the offload's verdict does). */
  record(e: RunEvent): HaltCause | undefined;
  /** For the trainer: monitored steps go to the thread through it (absent inline). */
  offload?: MonitorThread;
  /** Why monitoring runs on the training thread, when it does not run on its own (undefined: on the thread, or
   *  inline because the caller asked). */
  inlineBecause?: string;
  /** The run's end: summary, run-end event, log closed. */
  end(result: RunEnd): Promise<RunSummary>;
}

/**
 * Starts monitoring a run as runTraining does (the benchmark too): on its own thread unless `thread` is false or
 * the thread cannot start. Throws when the inline recorder cannot open the run log.
 */
export function startMonitoring(init: RecorderInit, layout: StepLayout, watch: (events: RunEvent[]) => void, thread = true): Monitoring {
  const started = thread ? MonitorThread.start(init, layout, watch, simdModuleBytes()) : undefined;
  if (typeof started === 'object') return { record: e => (started.post(e), undefined), offload: started, end: r => started.end(r) };
  const recorder = new RunRecorder(init, e => watch([e]));
  return { record: e => recorder.record(e), inlineBecause: started, end: async r => recorder.finish(r) };
}

/** The run log cannot be written: said against the workspace (no config key is at fault). */
function logUnwritable(workspaceRoot: string, e: unknown): RunOutcome {
  return { ok: false, stage: 'log', problems: [{ file: workspaceRoot, line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', code: 'log/unwritable', message: (e as Error).message, jsonPath: [] }] };
}

export async function runTraining(options: RunOptions): Promise<RunOutcome> {
  const prepared = await prepareRun(options);
  if (!prepared.ok) return prepared;
  const { analysis, config, data, built } = prepared;
  const workspaceRoot = path.resolve(options.workspaceRoot ?? defaultWorkspaceRoot(options.configPath));

  let logDir: string | undefined;
  let runId = `unlogged-${Date.now()}`;
  if (options.log !== false) {
    try {
      const log = RunLogWriter.create(workspaceRoot, config.name, analysis.doc.text);
      log.writeConfig(config);
      log.close(); // the recorder appends to it, on whichever thread it runs
      logDir = log.dir;
      runId = log.runId;
    } catch (e) {
      built.dispose();
      return logUnwritable(workspaceRoot, e);
    }
  }
  const start: RunStartEvent = { ...prepared.start, runId, runDir: logDir, startedAt: new Date().toISOString() };
  const view = options.view ?? (options.onEvent || options.onEvents ? 'all' : 'none');
  const init: RecorderInit = { config, layers: built.summaries, logDir, view };
  const watch = (events: RunEvent[]) => {
    options.onEvents?.(events);
    if (options.onEvent) for (const e of events) options.onEvent(e);
  };

  let monitoring: Monitoring;
  try {
    monitoring = startMonitoring(init, stepLayout(built, config), watch, options.monitorThread);
  } catch (e) {
    // The run folder was just created: it vanishing or becoming unwritable in between is rare, but reported alike.
    built.dispose();
    return logUnwritable(workspaceRoot, e);
  }
  monitoring.record(start);
  if (monitoring.inlineBecause) {
    monitoring.record({ type: 'message', level: 'info', text: `Monitoring runs on the training thread (${monitoring.inlineBecause}).` });
  }
  let result: RunEnd;
  try {
    const trainer = new Trainer({
      config, data, built, maxSteps: options.maxSteps, signal: options.signal,
      offload: monitoring.offload,
      emit: e => (monitoring.record(e) ? 'halt' : undefined),
    });
    result = await trainer.run();
  } catch (e) {
    result = { status: 'failed', reason: `training failed: ${(e as Error).message}`, steps: 0, epochs: 0 };
  } finally {
    built.dispose();
  }
  let summary: RunSummary;
  try {
    summary = await monitoring.end(result);
  } catch (e) {
    // The monitor thread failed: the log then reads as a crashed run (no summary), every step it finished in it.
    const now = new Date();
    summary = {
      runId, name: config.name, status: 'failed', reason: (e as Error).message, backend: start.backend.name,
      steps: result.steps, epochs: result.epochs, layers: [], findings: [], startedAt: start.startedAt, endedAt: now.toISOString(),
      durationMs: now.getTime() - Date.parse(start.startedAt), stepsPerSecond: 0,
    };
    watch([{ type: 'run-end', summary }]);
  }
  return { ok: true, summary, runDir: logDir };
}

export type { Finding };
