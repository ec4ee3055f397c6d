// `gradmon`: train a config from the terminal with a live progress line and findings as they happen, check a
// config like a compiler (file:line:col), or check gradients numerically. Same engine as the extension.

import * as path from 'path';
import { analyzeConfigFile } from '../config';
import { describeNonFinite } from '../diagnosis/describe';
import { preflightChecks } from '../diagnosis/preflight';
import { gradientCheck } from '../engine/gradcheck';
import { defaultWorkspaceRoot, positionProblems, prepareRun, runTraining, type PositionedProblem } from '../engine/run';
import type { BackendChoice } from '../config/types';
import type { Finding, LayerSummary, RunEvent, RunStartEvent, RunSummary, StepEvent } from '../protocol';

const USAGE = `Usage:
  gradmon train <config.gradmon.json> [--max-steps N] [--backend auto|tensorflow|wasm|cpu] [--workspace DIR] [--no-log] [--json]
  gradmon check <config.gradmon.json> [--data]      config, schema and pre-flight checks (file:line:col)
  gradmon gradcheck <config.gradmon.json> [--backend B]   autograd vs. finite differences, per layer

Exit codes: 0 success; 1 problems in the config or data; 2 usage; 3 run halted or failed; 130 interrupted.`;

export const EXIT = { ok: 0, problems: 1, usage: 2, runFailed: 3, interrupted: 130 };

interface Args {
  command: string;
  config?: string;
  maxSteps?: number;
  backend?: BackendChoice;
  workspace?: string;
  log: boolean;
  json: boolean;
  data: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = { command: argv[0] ?? '', log: true, json: false, data: false };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    try {
      if (arg === '--max-steps') {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) return `--max-steps needs a positive whole number`;
        a.maxSteps = n;
      } else if (arg === '--backend') {
        const b = value();
        if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(b)) return `--backend must be auto, tensorflow, wasm or cpu (got "${b}")`;
        a.backend = b as BackendChoice;
      } else if (arg === '--workspace') a.workspace = value();
      else if (arg === '--no-log') a.log = false;
      else if (arg === '--json') a.json = true;
      else if (arg === '--data') a.data = true;
      else if (arg === '-h' || arg === '--help') return '';
      else if (arg.startsWith('-')) return `unknown option ${arg}`;
      else if (!a.config) a.config = arg;
      else return `unexpected argument ${arg}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return a;
}

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const red = paint('31');
const yellow = paint('33');
const green = paint('32');
const dim = paint('2');
const bold = paint('1');

function severityLabel(s: string): string {
  return s === 'error' ? red('error') : s === 'warning' ? yellow('warning') : dim('info');
}

export function formatProblem(p: PositionedProblem, cwd = process.cwd()): string {
  const file = path.isAbsolute(p.file) ? path.relative(cwd, p.file) || p.file : p.file;
  return `${file}:${p.line}:${p.column} - ${severityLabel(p.severity)} ${dim(p.code)}: ${p.message}`;
}

export function fmt(x: number | undefined, digits = 4): string {
  if (x === undefined) return '—';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return x.toPrecision(digits).replace(/\.?0+$/, '') || '0';
}

function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Renders a run on a terminal: a redrawn progress line on a TTY, periodic lines otherwise. */
class ProgressRenderer {
  private start?: RunStartEvent;
  private t0 = Date.now();
  private lastLine = 0;
  private lastNorm?: number;
  private avgStepMs?: number;
  private readonly shown = new Map<string, Finding['severity']>();
  private drawn = false;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  event(e: RunEvent): void {
    switch (e.type) {
      case 'run-start': {
        this.start = e;
        this.t0 = Date.now();
        const b = e.backend;
        const failed = b.attempts.filter(a => !a.ok).map(a => `${a.backend}: ${a.reason}`).join('; ');
        this.print(`${bold(e.config.name)} — ${e.dataset.description}`);
        this.print(`backend ${bold(b.name)}${b.simd ? ' (SIMD)' : ''} · ${b.chosenBy}${failed ? dim(` · not used: ${failed}`) : ''}${b.customKernels.length ? dim(` · project kernels: ${b.customKernels.join(', ')}`) : ''}`);
        if (b.hint) this.print(dim(b.hint));
        const params = e.layers.reduce((a, l) => a + l.params, 0);
        this.print(`${e.layers.length} layers, ${params.toLocaleString('en-US')} parameters · ${e.totalSteps} steps (${e.stepsPerEpoch}/epoch) · log ${e.runDir ? path.relative(process.cwd(), e.runDir) : 'off'}`);
        break;
      }
      case 'step':
        if (e.globalNorm !== undefined) this.lastNorm = e.globalNorm;
        this.progress(e);
        break;
      case 'finding': {
        // Findings are re-sent as they evolve; the terminal shows each once, and again if it gets worse.
        const before = this.shown.get(e.finding.id);
        if (before === undefined || SEVERITY_RANK[e.finding.severity] < SEVERITY_RANK[before]) this.print(findingLine(e.finding));
        this.shown.set(e.finding.id, e.finding.severity);
        break;
      }
      case 'epoch-end':
        this.print(`epoch ${e.epoch + 1}: loss ${fmt(e.trainLoss)}${e.trainAccuracy !== undefined ? ` acc ${fmt(e.trainAccuracy, 3)}` : ''}${e.valLoss !== undefined ? ` · val loss ${fmt(e.valLoss)}` : ''}${e.valAccuracy !== undefined ? ` val acc ${fmt(e.valAccuracy, 3)}` : ''}`);
        break;
      case 'message':
        this.print(`${severityLabel(e.level)}: ${e.text}`);
        break;
      case 'run-end':
        this.clear();
        break;
    }
  }

  private progress(e: StepEvent): void {
    const total = this.start?.totalSteps ?? 0;
    const done = e.step + 1;
    const now = Date.now();
    const elapsed = now - this.t0;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const frac = total ? done / total : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
    const health = Number.isFinite(e.loss) ? '' : red(' non-finite!');
    // Exponential moving average of the step time: a steady steps/s figure.
    this.avgStepMs = this.avgStepMs === undefined ? e.stepMs : 0.9 * this.avgStepMs + 0.1 * e.stepMs;
    const line = `${bar} ${done}/${total} epoch ${e.epoch + 1} · loss ${fmt(e.loss)} · ‖g‖ ${fmt(this.lastNorm, 3)} · ${fmt(1000 / Math.max(this.avgStepMs, 1e-3), 3)} steps/s · ETA ${duration(eta)}${health}`;
    if (this.tty) {
      if (now - this.lastLine < 100 && done !== total) return;
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else {
      // Without a terminal: a line every 10% (and the last step), so CI logs stay short.
      const every = Math.max(1, Math.floor(total / 10));
      if (done % every !== 0 && done !== total) return;
      this.out.write(line + '\n');
    }
    this.lastLine = now;
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  print(s: string): void {
    this.clear();
    this.out.write(s + '\n');
  }
}

const SEVERITY_RANK = { error: 0, warning: 1, info: 2 };

function findingLine(f: Finding): string {
  const where = f.firstStep !== undefined ? ` (step ${f.firstStep}${f.lastStep !== undefined && f.lastStep !== f.firstStep ? `–${f.lastStep}` : ''})` : '';
  return `${severityLabel(f.severity)} ${dim(`[${f.rule}]`)} ${f.title}${where}`;
}

export function summaryReport(summary: RunSummary, layers: LayerSummary[] | undefined): string {
  const lines: string[] = [];
  const status = summary.status === 'completed' ? green('completed') : summary.status === 'stopped' ? yellow('stopped') : red(summary.status);
  lines.push(`${bold('Run')} ${summary.runId}: ${status}${summary.reason ? ` — ${summary.reason}` : ''}`);
  lines.push(`${summary.steps} steps, ${summary.epochs} epochs in ${duration(summary.durationMs)} (${fmt(summary.stepsPerSecond, 3)} steps/s on ${summary.backend})` +
    ` · loss ${fmt(summary.finalLoss)}${summary.finalAccuracy !== undefined ? ` acc ${fmt(summary.finalAccuracy, 3)}` : ''}` +
    `${summary.finalValLoss !== undefined ? ` · val loss ${fmt(summary.finalValLoss)}` : ''}${summary.finalValAccuracy !== undefined ? ` val acc ${fmt(summary.finalValAccuracy, 3)}` : ''}`);
  if (summary.layers.length) {
    lines.push('');
    const header = ['layer', 'type', 'params', 'last ‖g‖', 'median ‖g‖', ''];
    const rows = summary.layers.map(l => {
      const info = layers?.find(x => x.name === l.layer);
      return [l.layer, info?.type ?? '', (info?.params ?? 0).toLocaleString('en-US'), fmt(l.lastGradNorm, 3), fmt(l.medianGradNorm, 3), l.nonFinite ? red('NaN/Inf seen') : ''];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => stripAnsi(r[i]).length)));
    const row = (r: string[]) => r.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c + ' '.repeat(widths[i] - stripAnsi(c).length))).join('  ').trimEnd();
    lines.push(bold(row(header)));
    for (const r of rows) lines.push(row(r));
  }
  if (summary.firstNonFinite) {
    const n = summary.firstNonFinite;
    lines.push('');
    lines.push(red(`First non-finite value: ${describeNonFinite(n)}.`));
  }
  if (summary.findings.length) {
    lines.push('');
    lines.push(bold('Findings and suggested fixes:'));
    for (const f of summary.findings) {
      lines.push(`  ${findingLine(f)}`);
      f.fixes.forEach((fix, i) => lines.push(`      ${i + 1}. ${fix.title} — ${dim(fix.reason)}`));
    }
  } else if (summary.status === 'completed') {
    lines.push('');
    lines.push(green('No gradient trouble found.'));
  }
  return lines.join('\n');
}

function jsonNumbers(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

async function train(a: Args): Promise<number> {
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    process.stderr.write('\nStopping after this step (Ctrl-C again to quit now)…\n');
    controller.abort('interrupted (Ctrl-C)');
  };
  process.on('SIGINT', onSigint);
  const renderer = new ProgressRenderer();
  let layers: LayerSummary[] | undefined;
  const outcome = await runTraining({
    configPath: a.config!, workspaceRoot: a.workspace, maxSteps: a.maxSteps, backend: a.backend, log: a.log, signal: controller.signal,
    onEvent: e => {
      if (e.type === 'run-start') layers = e.layers;
      // JSON has no NaN/Infinity: they are written as strings (as in the run log), not lost as null.
      if (a.json) process.stdout.write(JSON.stringify(e, jsonNumbers) + '\n');
      else renderer.event(e);
    },
  });
  process.off('SIGINT', onSigint);
  if (!outcome.ok) {
    for (const p of outcome.problems) process.stderr.write(formatProblem(p) + '\n');
    return EXIT.problems;
  }
  if (!a.json) process.stdout.write(summaryReport(outcome.summary, layers) + '\n');
  if (interrupted) return EXIT.interrupted;
  return outcome.summary.status === 'completed' ? EXIT.ok : EXIT.runFailed;
}

async function check(a: Args): Promise<number> {
  const analysis = analyzeConfigFile(path.resolve(a.config!));
  const problems = positionProblems(analysis);
  if (analysis.config) {
    problems.push(...positionProblems(analysis, preflightChecks(analysis.doc, analysis.config)));
    if (a.data) {
      const prepared = await prepareRun({ configPath: a.config!, workspaceRoot: a.workspace, backend: a.backend ?? 'cpu' });
      if (!prepared.ok) problems.push(...prepared.problems);
      else prepared.built.dispose();
    }
  }
  problems.sort((x, y) => x.line - y.line || x.column - y.column);
  for (const p of problems) process.stdout.write(formatProblem(p) + '\n');
  const errors = problems.filter(p => p.severity === 'error').length;
  const warnings = problems.filter(p => p.severity === 'warning').length;
  const infos = problems.length - errors - warnings;
  const file = path.relative(process.cwd(), path.resolve(a.config!));
  process.stdout.write(`${file}: ${errors ? red(`${errors} error${errors === 1 ? '' : 's'}`) : green('0 errors')}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${infos} info\n`);
  return errors ? EXIT.problems : EXIT.ok;
}

async function gradcheck(a: Args): Promise<number> {
  const prepared = await prepareRun({ configPath: a.config!, workspaceRoot: a.workspace, backend: a.backend });
  if (!prepared.ok) {
    for (const p of prepared.problems) process.stderr.write(formatProblem(p) + '\n');
    return EXIT.problems;
  }
  const result = gradientCheck(prepared.built, prepared.data, prepared.start.backend.name);
  prepared.built.dispose();
  process.stdout.write(`Gradient check on ${result.backend}: central differences with ε = ${result.epsilon}, tolerance ${result.tolerance}\n`);
  for (const l of result.layers) {
    const ok = l.maxRelativeError <= result.tolerance;
    process.stdout.write(`  ${ok ? green('ok  ') : red('FAIL')} ${l.layer.padEnd(24)} worst relative error ${fmt(l.maxRelativeError, 2)}\n`);
    for (const v of l.variables) process.stdout.write(dim(`         ${v.name.padEnd(32)} ${v.checked} weights, rel ${fmt(v.maxRelativeError, 2)}, abs ${fmt(v.maxAbsoluteError, 2)}\n`));
  }
  process.stdout.write(result.passed ? green('Gradients match finite differences.\n') : red(`Gradients differ from finite differences beyond ${result.tolerance} (worst ${fmt(result.worstRelativeError, 2)}). Non-smooth points (ReLU at 0, max pooling ties) can cause isolated mismatches.\n`));
  return result.passed ? EXIT.ok : EXIT.runFailed;
}

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (typeof a === 'string') {
    if (a) process.stderr.write(`gradmon: ${a}\n\n`);
    process.stderr.write(USAGE + '\n');
    return a ? EXIT.usage : EXIT.ok;
  }
  if (!['train', 'check', 'gradcheck'].includes(a.command) || !a.config) {
    process.stderr.write((a.command && !['train', 'check', 'gradcheck'].includes(a.command) ? `gradmon: unknown command "${a.command}"\n\n` : '') + USAGE + '\n');
    return EXIT.usage;
  }
  if (a.command === 'train') return train(a);
  if (a.command === 'check') return check(a);
  return gradcheck(a);
}

export { defaultWorkspaceRoot };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    code => { process.exitCode = code; },
    e => {
      process.stderr.write(`gradmon: internal error: ${(e as Error).stack ?? e}\nPlease report this with the config that caused it.\n`);
      process.exitCode = 70;
    },
  );
}
