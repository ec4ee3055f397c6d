// The commands of the "Gradient Monitor" category, and the actions the views trigger (apply a fix, reveal a
// finding). Each command works from the palette (picking a config or run when none is given) and from views.

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { analyzeConfig } from '../config';
import { preflightFindings } from '../diagnosis/preflight';
import { readRun } from '../engine/runlog';
import type { Finding, RunSummary, StepEvent } from '../protocol';
import { ConfigDiagnostics, isConfigDocument } from './diagnostics';
import { GradientPanel } from './panel';
import type { Run, RunManager } from './runManager';
import { readSummary, RunItem, type RunsTree } from './runsTree';
import { TEMPLATES } from './templates';

export interface CommandContext {
  runs: RunManager;
  diagnostics: ConfigDiagnostics;
  tree: RunsTree;
  output: vscode.LogOutputChannel;
  openPanel(runId?: string): GradientPanel;
}

export const CONFIG_GLOB = '**/*.gradmon.json';
const EXCLUDE = '**/{node_modules,.git,.gradmon}/**';

/** The config to act on: the argument, else the active editor's, else one picked from the workspace. */
export async function resolveConfig(arg?: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  const active = vscode.window.activeTextEditor?.document;
  if (active && isConfigDocument(active)) return active.uri;
  const files = await vscode.workspace.findFiles(CONFIG_GLOB, EXCLUDE, 500);
  if (files.length === 0) {
    const create = 'New Training Config';
    const a = await vscode.window.showInformationMessage('No *.gradmon.json config in this workspace yet.', create);
    if (a === create) await vscode.commands.executeCommand('gradientMonitor.newConfig');
    return undefined;
  }
  if (files.length === 1) return files[0];
  const pick = await vscode.window.showQuickPick(
    files.sort((a, b) => a.fsPath.localeCompare(b.fsPath)).map(uri => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(path.dirname(uri.fsPath)), uri })),
    { placeHolder: 'Which training config?', matchOnDescription: true },
  );
  return pick?.uri;
}

async function pickRun(ctx: CommandContext, placeHolder: string, canPickMany: true): Promise<string[] | undefined>;
async function pickRun(ctx: CommandContext, placeHolder: string, canPickMany?: false): Promise<string | undefined>;
async function pickRun(ctx: CommandContext, placeHolder: string, canPickMany = false): Promise<string | string[] | undefined> {
  const dirs = (vscode.workspace.workspaceFolders ?? []).flatMap(f => ctx.tree.getChildren().filter(i => i.dir.startsWith(f.uri.fsPath)).map(i => i.dir));
  const unique = [...new Set(dirs)];
  if (unique.length === 0) {
    void vscode.window.showInformationMessage('No runs yet: train a config first (Gradient Monitor: Start Training).');
    return undefined;
  }
  const items = unique.map(dir => {
    const s = readSummary(dir);
    return { label: s?.name ?? path.basename(dir), description: `${s?.status ?? 'incomplete'} · ${s?.steps ?? '?'} steps`, detail: path.basename(dir), dir };
  });
  if (canPickMany) {
    const picked = await vscode.window.showQuickPick(items, { placeHolder, canPickMany: true });
    return picked?.map(p => p.dir);
  }
  return (await vscode.window.showQuickPick(items, { placeHolder }))?.dir;
}

function findingOf(ctx: CommandContext, runId: string, findingId: string): { run?: Run; finding?: Finding } {
  const run = ctx.runs.get(runId);
  return { run, finding: run?.history.findings.get(findingId) };
}

/** Applies a suggested fix to its config (keeping formatting and comments), saves, optionally re-trains. */
export async function applyFix(ctx: CommandContext, configPath: string, finding: Finding, fixId: string, retrain: boolean): Promise<boolean> {
  const fix = finding.fixes.find(f => f.id === fixId) ?? finding.fixes[0];
  if (!fix) return false;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(configPath));
  const edit = ctx.diagnostics.workspaceEdit(doc, fix);
  if (!edit) {
    void vscode.window.showInformationMessage(`"${fix.title}" is already in ${path.basename(configPath)}.`);
    return false;
  }
  if (!(await vscode.workspace.applyEdit(edit))) {
    void vscode.window.showErrorMessage(`Could not apply "${fix.title}" to ${path.basename(configPath)}.`);
    return false;
  }
  await doc.save();
  await vscode.window.showTextDocument(doc, { preview: false, preserveFocus: true });
  ctx.output.info(`Applied "${fix.title}" to ${configPath}: ${fix.edits.map(e => `${e.path.join('.')} = ${JSON.stringify(e.value)}`).join('; ')}`);
  if (retrain) await ctx.runs.start(doc.uri);
  else void vscode.window.showInformationMessage(`Applied: ${fix.title}.`, 'Train Again').then(a => { if (a) void ctx.runs.start(doc.uri); });
  return true;
}

/** Opens the config at the node a finding concerns, and moves the panel to its step and layer. */
export async function revealFinding(ctx: CommandContext, runId: string, findingId: string): Promise<void> {
  const { run, finding } = findingOf(ctx, runId, findingId);
  if (!run || !finding) return;
  const doc = await vscode.workspace.openTextDocument(run.configUri);
  const analysis = analyzeConfig(doc.getText(), doc.uri.fsPath);
  const r = analysis.doc.rangeOf(finding.jsonPath);
  const range = new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end));
  await vscode.window.showTextDocument(doc, { selection: range, preview: false, viewColumn: vscode.ViewColumn.One });
  if (finding.firstStep !== undefined) GradientPanel.instance?.focus(finding.firstStep, finding.layer, finding.id);
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const reg = (id: string, f: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, f);
  return [
    reg('gradientMonitor.startTraining', async (arg?: unknown, options?: { saveFirst?: boolean; maxSteps?: number }) => {
      const uri = await resolveConfig(arg);
      if (!uri) return undefined;
      const open = vscode.workspace.textDocuments.find(d => d.uri.fsPath === uri.fsPath);
      if (open?.isDirty && (options?.saveFirst || (await vscode.window.showWarningMessage(`${path.basename(uri.fsPath)} has unsaved changes.`, { modal: true }, 'Save and Train')) === 'Save and Train')) await open.save();
      else if (open?.isDirty) return undefined;
      const run = await ctx.runs.start(uri, { maxSteps: options?.maxSteps });
      if (run) ctx.openPanel();
      return run?.key;
    }),
    reg('gradientMonitor.stopTraining', async (runId?: string) => {
      const run = typeof runId === 'string' ? ctx.runs.get(runId) : ctx.runs.active;
      if (!(await ctx.runs.stop(run))) void vscode.window.showInformationMessage('No training is running.');
    }),
    reg('gradientMonitor.openPanel', (runId?: string) => { ctx.openPanel(typeof runId === 'string' ? runId : undefined); }),
    reg('gradientMonitor.newConfig', async (arg?: { template?: string; fileName?: string }) => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) {
        void vscode.window.showErrorMessage('Open a folder first: configs and run logs live in the workspace.');
        return undefined;
      }
      const template = TEMPLATES.find(x => x.id === arg?.template)
        ?? (await vscode.window.showQuickPick(TEMPLATES.map(x => ({ label: x.label, detail: x.detail, t: x })), { placeHolder: 'Start from which model?' }))?.t;
      if (!template) return undefined;
      const invalid = (v: string) => !/\.gradmon\.json$/.test(v) ? 'The name must end in .gradmon.json' : fs.existsSync(path.join(folder.uri.fsPath, v)) ? `${v} exists already` : undefined;
      const name = arg?.fileName ?? await vscode.window.showInputBox({ prompt: 'File name (in the workspace root)', value: template.fileName, validateInput: invalid });
      if (!name) return undefined;
      const problem = invalid(name);
      if (problem) {
        void vscode.window.showErrorMessage(problem);
        return undefined;
      }
      const uri = vscode.Uri.joinPath(folder.uri, name);
      await vscode.workspace.fs.writeFile(uri, Buffer.from(template.text, 'utf8'));
      await vscode.window.showTextDocument(uri);
      return uri;
    }),
    reg('gradientMonitor.openConfig', async (arg?: unknown) => {
      const uri = await resolveConfig(arg);
      if (uri) await vscode.window.showTextDocument(uri);
    }),
    reg('gradientMonitor.runPreflight', async (arg?: unknown) => {
      const uri = await resolveConfig(arg);
      if (!uri) return undefined;
      const doc = await vscode.workspace.openTextDocument(uri);
      const analysis = analyzeConfig(doc.getText(), uri.fsPath);
      ctx.diagnostics.refresh(doc);
      const findings = analysis.config ? preflightFindings(analysis.config) : [];
      const errors = analysis.problems.filter(p => p.severity === 'error').length;
      const warnings = findings.filter(f => f.severity === 'warning').length + analysis.problems.filter(p => p.severity === 'warning').length;
      const infos = findings.filter(f => f.severity === 'info').length;
      const text = `${path.basename(uri.fsPath)}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${infos} info${errors + warnings + infos === 0 ? ' — nothing risky found' : ''}.`;
      if (errors + warnings) void vscode.window.showWarningMessage(text, 'Show Problems').then(a => { if (a) void vscode.commands.executeCommand('workbench.actions.view.problems'); });
      else void vscode.window.showInformationMessage(text);
      return { errors, warnings, infos, findings: findings.map(f => f.rule) };
    }),
    reg('gradientMonitor.runGradientCheck', async (arg?: unknown) => {
      const uri = await resolveConfig(arg);
      if (!uri) return undefined;
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Checking gradients of ${path.basename(uri.fsPath)} against finite differences…` }, () => ctx.runs.gradientCheck(uri));
      if ('error' in result) { void vscode.window.showErrorMessage(`Gradient check failed: ${result.error}`); return result; }
      if ('problems' in result) { void vscode.window.showErrorMessage(`Cannot check ${path.basename(uri.fsPath)}: ${result.problems[0].message}`); return result; }
      ctx.output.info(`Gradient check of ${uri.fsPath} on ${result.backend} (ε = ${result.epsilon}, tolerance ${result.tolerance}):`);
      for (const l of result.layers) ctx.output.info(`  ${l.maxRelativeError <= result.tolerance ? 'ok  ' : 'FAIL'} ${l.layer}: worst relative error ${l.maxRelativeError.toExponential(2)} (${l.variables.map(v => `${v.name} ${v.maxRelativeError.toExponential(1)}`).join(', ')})`);
      const msg = result.passed
        ? `Gradients match finite differences (worst relative error ${result.worstRelativeError.toExponential(1)} over ${result.layers.length} layers).`
        : `Gradients differ from finite differences: worst relative error ${result.worstRelativeError.toExponential(1)} (tolerance ${result.tolerance}).`;
      void (result.passed ? vscode.window.showInformationMessage : vscode.window.showWarningMessage)(msg, 'Show Details').then(a => { if (a) ctx.output.show(true); });
      return result;
    }),
    reg('gradientMonitor.applyFix', async (arg?: { runId?: string; findingId?: string; fixId?: string; retrain?: boolean }) => {
      if (arg?.runId && arg.findingId) {
        const { run, finding } = findingOf(ctx, arg.runId, arg.findingId);
        if (run && finding) return applyFix(ctx, run.configUri.fsPath, finding, arg.fixId ?? finding.fixes[0]?.id, arg.retrain ?? false);
        return false;
      }
      // From the palette: the findings and pre-flight checks of the active (or picked) config.
      const uri = await resolveConfig();
      if (!uri) return false;
      const doc = await vscode.workspace.openTextDocument(uri);
      const analysis = analyzeConfig(doc.getText(), uri.fsPath);
      const findings = [...(ctx.diagnostics.findingsFor(uri.fsPath)?.findings ?? []), ...(analysis.config ? preflightFindings(analysis.config) : [])];
      const items = findings.flatMap(f => f.fixes.map(fix => ({ label: fix.title, description: f.title, detail: fix.reason, f, fix })));
      if (!items.length) { void vscode.window.showInformationMessage(`No suggested fixes for ${path.basename(uri.fsPath)}.`); return false; }
      const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Apply which fix?', matchOnDescription: true });
      return pick ? applyFix(ctx, uri.fsPath, pick.f, pick.fix.id, false) : false;
    }),
    reg('gradientMonitor.showRunHistory', async () => {
      const dir = await pickRun(ctx, 'Open which run?');
      if (dir) await vscode.commands.executeCommand('gradientMonitor.openRun', dir);
    }),
    reg('gradientMonitor.openRun', async (arg?: RunItem | string) => {
      const dir = typeof arg === 'string' ? arg : arg?.dir;
      if (!dir) return vscode.commands.executeCommand('gradientMonitor.showRunHistory');
      const run = await ctx.runs.openFromLog(dir);
      ctx.openPanel(run.id);
      return run.id;
    }),
    reg('gradientMonitor.compareRuns', async (arg?: RunItem | string[], selected?: RunItem[]) => {
      const given = Array.isArray(arg) ? arg : selected?.map(s => s.dir);
      const dirs = given && given.length > 1 ? given : await pickRun(ctx, 'Pick two or more runs to compare', true);
      if (!dirs || dirs.length < 2) {
        if (dirs) void vscode.window.showInformationMessage('Pick at least two runs to compare.');
        return undefined;
      }
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: comparisonReport(dirs) });
      await vscode.window.showTextDocument(doc, { preview: false });
      return doc.getText();
    }),
    reg('gradientMonitor.exportRun', async (arg?: string | RunItem, format?: 'json' | 'csv' | 'png', target?: vscode.Uri) => {
      const dir = arg instanceof RunItem ? arg.dir : typeof arg === 'string' ? (ctx.runs.get(arg)?.history.runDir ?? (fs.existsSync(arg) ? arg : undefined)) : undefined;
      const runDir = dir ?? ctx.runs.latest()?.history.runDir ?? await pickRun(ctx, 'Export which run?');
      if (!runDir) return undefined;
      const fmt = format ?? (await vscode.window.showQuickPick([
        { label: 'JSON', description: 'summary, config and per-step statistics', v: 'json' as const },
        { label: 'CSV', description: 'one row per step: loss, norms, per-layer gradient norms', v: 'csv' as const },
        { label: 'PNG', description: 'the panel\'s gradient-norm chart', v: 'png' as const },
      ], { placeHolder: 'Export as' }))?.v;
      if (!fmt) return undefined;
      if (fmt === 'png') {
        const panel = ctx.openPanel((await ctx.runs.openFromLog(runDir)).id);
        panel.requestExport('norms', target);
        return 'png-requested';
      }
      const uri = target ?? await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`${runDir}.${fmt}`), filters: fmt === 'json' ? { JSON: ['json'] } : { CSV: ['csv'] } });
      if (!uri) return undefined;
      const content = fmt === 'json' ? exportJson(runDir) : exportCsv(runDir);
      await vscode.workspace.fs.writeFile(uri, Buffer.from(content, 'utf8'));
      void vscode.window.showInformationMessage(`Exported ${path.basename(runDir)} to ${vscode.workspace.asRelativePath(uri)}.`);
      return uri.fsPath;
    }),
    reg('gradientMonitor.selectBackend', async (choice?: string) => {
      const config = vscode.workspace.getConfiguration('gradientMonitor');
      let native = 'not installed: `npm install @tensorflow/tfjs-node` where libtensorflow can be downloaded';
      try { require.resolve('@tensorflow/tfjs-node'); native = 'installed'; } catch { /* absent */ }
      const current = config.get<string>('backend', 'config');
      const valid = ['config', 'auto', 'tensorflow', 'wasm', 'cpu'];
      const pick = typeof choice === 'string' && valid.includes(choice) ? { v: choice } : await vscode.window.showQuickPick([
        { label: 'config', description: 'use each config\'s "backend" key (default)', v: 'config' },
        { label: 'auto', description: 'fastest that works: native, then wasm, then cpu', v: 'auto' },
        { label: 'tensorflow', description: `native TensorFlow (@tensorflow/tfjs-node) — ${native}`, v: 'tensorflow' },
        { label: 'wasm', description: 'WebAssembly with SIMD, single thread', v: 'wasm' },
        { label: 'cpu', description: 'pure JavaScript (slowest, always available)', v: 'cpu' },
      ].map(i => ({ ...i, label: `${i.v === current ? '$(check) ' : ''}${i.label}` })), { placeHolder: 'Backend for training runs' });
      if (!pick) return undefined;
      await config.update('backend', pick.v, vscode.ConfigurationTarget.Workspace);
      void vscode.window.showInformationMessage(`Training backend: ${pick.v}.`);
      return pick.v;
    }),
    reg('gradientMonitor.refreshRuns', () => ctx.tree.refresh()),
    reg('gradientMonitor.showOutput', () => ctx.output.show(true)),
  ];
}

function fmt(x: number | undefined): string {
  if (x === undefined) return '—';
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toPrecision(4);
}

/** A Markdown comparison of runs: outcome, speed, findings, per-layer median gradient norms. */
export function comparisonReport(dirs: string[]): string {
  const runs = dirs.map(d => ({ dir: d, s: readSummary(d) })).filter((r): r is { dir: string; s: RunSummary } => !!r.s);
  const lines = ['# Run comparison', '', `| | ${runs.map(r => `**${r.s.name}**<br>${path.basename(r.dir)}`).join(' | ')} |`, `|---|${runs.map(() => '---').join('|')}|`];
  const row = (label: string, f: (s: RunSummary) => string) => lines.push(`| ${label} | ${runs.map(r => f(r.s)).join(' | ')} |`);
  row('status', s => `${s.status}${s.reason ? ` (${s.reason})` : ''}`);
  row('backend', s => s.backend);
  row('steps / epochs', s => `${s.steps} / ${s.epochs}`);
  row('steps/s', s => fmt(s.stepsPerSecond));
  row('final loss', s => fmt(s.finalLoss));
  row('final accuracy', s => fmt(s.finalAccuracy));
  row('validation loss', s => fmt(s.finalValLoss));
  row('validation accuracy', s => fmt(s.finalValAccuracy));
  row('first non-finite', s => (s.firstNonFinite ? `step ${s.firstNonFinite.step}${s.firstNonFinite.layer ? ` in ${s.firstNonFinite.layer}` : ''}` : '—'));
  row('findings', s => s.findings.filter(f => f.severity !== 'info').map(f => f.title).join('<br>') || 'none');
  const layers = [...new Set(runs.flatMap(r => r.s.layers.map(l => l.layer)))];
  lines.push('', '## Median gradient norm per layer', '', `| layer | ${runs.map(r => r.s.name).join(' | ')} |`, `|---|${runs.map(() => '---:').join('|')}|`);
  for (const l of layers) lines.push(`| ${l} | ${runs.map(r => fmt(r.s.layers.find(x => x.layer === l)?.medianGradNorm)).join(' | ')} |`);
  return lines.join('\n') + '\n';
}

function stepsOf(dir: string): { record: ReturnType<typeof readRun>; steps: StepEvent[] } {
  const record = readRun(dir);
  return { record, steps: record.events.filter((e): e is StepEvent => e.type === 'step') };
}

export function exportJson(dir: string): string {
  const { record, steps } = stepsOf(dir);
  const num = (x: number | undefined) => (x === undefined || Number.isFinite(x) ? x : String(x));
  return JSON.stringify({
    runId: record.runId,
    config: record.start?.config,
    backend: record.start?.backend,
    summary: record.summary,
    steps: steps.map(s => ({
      step: s.step, epoch: s.epoch, loss: num(s.loss), accuracy: s.accuracy, learningRate: s.learningRate,
      globalNorm: num(s.globalNorm), clippedGlobalNorm: num(s.clippedGlobalNorm),
      layers: Object.fromEntries((s.stats?.layers ?? []).map(l => [l.layer, {
        gradNorm: num(l.gradNorm), mean: num(l.grad.mean), std: num(l.grad.std), min: num(l.grad.min), max: num(l.grad.max),
        zeroFraction: l.grad.zeroFraction, nanCount: l.grad.nanCount, infCount: l.grad.infCount,
        weightNorm: num(l.weightNorm), updateRatio: num(l.updateRatio), histogram: l.grad.histogram,
      }])),
    })),
  }, null, 1);
}

export function exportCsv(dir: string): string {
  const { steps } = stepsOf(dir);
  const layers = [...new Set(steps.flatMap(s => (s.stats?.layers ?? []).map(l => l.layer)))];
  const header = ['step', 'epoch', 'loss', 'accuracy', 'learning_rate', 'global_norm', 'clipped_global_norm', ...layers.flatMap(l => [`${l}_grad_norm`, `${l}_update_ratio`, `${l}_zero_fraction`, `${l}_nan`, `${l}_inf`])];
  const v = (x: number | undefined) => (x === undefined ? '' : String(x));
  const rows = steps.map(s => {
    const by = new Map((s.stats?.layers ?? []).map(l => [l.layer, l]));
    return [s.step, s.epoch, v(s.loss), v(s.accuracy), v(s.learningRate), v(s.globalNorm), v(s.clippedGlobalNorm),
      ...layers.flatMap(l => { const x = by.get(l); return x ? [v(x.gradNorm), v(x.updateRatio), v(x.grad.zeroFraction), v(x.grad.nanCount), v(x.grad.infCount)] : ['', '', '', '', '']; })].join(',');
  });
  return [header.join(','), ...rows].join('\n') + '\n';
}
