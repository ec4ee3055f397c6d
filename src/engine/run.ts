// One training run from a config file, as the CLI and the extension's training process both run it: check the
// config, pick the backend, load the data, build the model, train with the diagnosis watching, log everything.

import * as path from 'path';
import { analyzeConfigFile, type ConfigAnalysis, type ConfigProblem } from '../config';
import { memoryProblem } from '../config/semantic';
import type { BackendChoice, ResolvedConfig } from '../config/types';
import { createMonitor } from '../diagnosis/monitor';
import type { Finding, JsonPath, RunEvent, RunStartEvent, RunSummary, Severity } from '../protocol';
import { quietly, selectBackend } from './backend';
import { loadDataset } from './data';
import { DataError, type Dataset } from './data/types';
import { buildModel, checkModelAgainstData, ModelDataError, type BuiltModel } from './model';
import { RunLogError, RunLogWriter } from './runlog';
import { planSteps, Trainer } from './trainer';

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
  onEvent?(event: RunEvent): void;
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

export async function runTraining(options: RunOptions): Promise<RunOutcome> {
  const prepared = await prepareRun(options);
  if (!prepared.ok) return prepared;
  const { analysis, config, data, built } = prepared;
  const workspaceRoot = path.resolve(options.workspaceRoot ?? defaultWorkspaceRoot(options.configPath));

  let log: RunLogWriter | undefined;
  if (options.log !== false) {
    try {
      log = RunLogWriter.create(workspaceRoot, config.name, analysis.doc.text);
      log.writeConfig(config);
    } catch (e) {
      built.dispose();
      return { ok: false, stage: 'log', problems: [{ file: workspaceRoot, line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', code: 'log/unwritable', message: (e as Error).message, jsonPath: [] }] };
    }
  }
  const runId = log?.runId ?? `unlogged-${Date.now()}`;
  const startedAt = new Date();
  const start: RunStartEvent = { ...prepared.start, runId, runDir: log?.dir, startedAt: startedAt.toISOString() };
  const monitor = createMonitor(config, built.summaries);
  const tracker = new SummaryTracker();
  let logError: RunLogError | undefined;

  const deliver = (e: RunEvent) => {
    if (log && !logError) {
      try {
        log.append(e);
      } catch (err) {
        logError = err as RunLogError;
      }
    }
    tracker.observe(e);
    options.onEvent?.(e);
  };

  deliver(start);
  const trainer = new Trainer({
    config, data, built, maxSteps: options.maxSteps, signal: options.signal,
    emit: e => {
      deliver(e);
      for (const f of monitor.observe(e)) deliver({ type: 'finding', step: 'step' in e ? e.step : tracker.steps, finding: f });
      // A run whose log cannot be written stops: training silently unlogged would lose the user's results.
      return logError ? 'halt' : monitor.shouldHalt() ? 'halt' : undefined;
    },
  });

  let result;
  try {
    result = await trainer.run();
  } catch (e) {
    result = { status: 'failed' as const, reason: `training failed: ${(e as Error).message}`, steps: tracker.steps, epochs: tracker.epochs };
  } finally {
    built.dispose();
  }
  if (logError) result = { ...result, status: 'failed' as const, reason: logError.message };

  const endedAt = new Date();
  const durationMs = endedAt.getTime() - startedAt.getTime();
  const summary: RunSummary = {
    runId,
    name: config.name,
    status: result.status,
    reason: result.reason,
    backend: start.backend.name,
    steps: result.steps,
    epochs: result.epochs,
    finalLoss: result.lastLoss,
    finalAccuracy: result.lastAccuracy,
    finalValLoss: result.lastValLoss,
    finalValAccuracy: result.lastValAccuracy,
    layers: tracker.layerSummary(),
    findings: monitor.findings(),
    firstNonFinite: result.firstNonFinite,
    startedAt: start.startedAt,
    endedAt: endedAt.toISOString(),
    durationMs,
    stepsPerSecond: durationMs > 0 ? result.steps / (durationMs / 1000) : 0,
  };
  deliver({ type: 'run-end', summary });
  if (log) {
    try {
      if (!logError) log.writeSummary(summary);
    } catch (e) {
      summary.status = 'failed';
      summary.reason = (e as Error).message;
    }
    log.close();
  }
  return { ok: true, summary, runDir: log?.dir };
}

/** Keeps what the summary needs from the event stream: per-layer norms (sampled, bounded memory). */
class SummaryTracker {
  steps = 0;
  epochs = 0;
  private readonly norms = new Map<string, { index: number; samples: number[]; stride: number; seen: number; last: number; nonFinite: boolean }>();
  private static readonly MAX_SAMPLES = 4096;

  observe(e: RunEvent): void {
    if (e.type === 'step') {
      this.steps = e.step + 1;
      for (const l of e.stats?.layers ?? []) {
        let n = this.norms.get(l.layer);
        if (!n) this.norms.set(l.layer, (n = { index: l.index, samples: [], stride: 1, seen: 0, last: NaN, nonFinite: false }));
        n.last = l.gradNorm;
        if (!Number.isFinite(l.gradNorm)) n.nonFinite = true;
        else if (n.seen++ % n.stride === 0) {
          n.samples.push(l.gradNorm);
          if (n.samples.length >= SummaryTracker.MAX_SAMPLES) {
            n.samples = n.samples.filter((_, i) => i % 2 === 0);
            n.stride *= 2;
          }
        }
      }
    } else if (e.type === 'epoch-end') this.epochs = e.epoch + 1;
  }

  layerSummary(): RunSummary['layers'] {
    return [...this.norms.entries()].map(([layer, n]) => {
      const s = [...n.samples].sort((a, b) => a - b);
      return { layer, index: n.index, lastGradNorm: n.last, medianGradNorm: s.length ? s[Math.floor(s.length / 2)] : NaN, nonFinite: n.nonFinite };
    }).sort((a, b) => a.index - b.index);
  }
}

export type { Finding };
