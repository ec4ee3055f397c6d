// Extension entry: builds the pieces (run supervision, diagnostics, views, commands) and hands every
// disposable to the extension context. `deactivate` returns the promise that ends the training processes.

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BackendChoice } from './config/types';
import { listRuns } from './engine/runlog';
import { ConfigCodeLens } from './host/codeLens';
import { applyFix, CONFIG_GLOB, registerCommands, revealFinding, type CommandContext } from './host/commands';
import { ConfigDiagnostics } from './host/diagnostics';
import { GradientPanel, type PanelHandlers } from './host/panel';
import { RunManager, type RunSettings } from './host/runManager';
import { RunsTree } from './host/runsTree';
import { SidebarMonitor } from './host/sidebar';
import { TrainingStatusBar } from './host/statusBar';

let runs: RunManager | undefined;

/** What the extension exports: used by the integration tests (and other extensions) to observe it. */
export interface GradientMonitorApi {
  version: string;
  /** The context keys as the extension last set them (menus and enablement follow them; VS Code does not read them back). */
  contextKeys: Readonly<ContextKeys>;
  runs: RunManager;
  diagnostics: ConfigDiagnostics;
  sidebar: SidebarMonitor;
  statusBar: TrainingStatusBar;
  panel(): GradientPanel | undefined;
}

interface ContextKeys {
  /** A run is being trained: Stop instead of Train in the monitor's title, the config's editor title, the palette. */
  'gradientMonitor.training': boolean;
  /** The workspace holds a *.gradmon.json: the sidebar's welcome view otherwise. */
  'gradientMonitor.hasConfigs': boolean;
}

const contextKeys: ContextKeys = { 'gradientMonitor.training': false, 'gradientMonitor.hasConfigs': false };
/** What this activation has told VS Code: the run manager's changes come with every streamed step, keys rarely change. */
const contextSent = new Map<keyof ContextKeys, boolean>();

function setContextKey<K extends keyof ContextKeys>(key: K, value: ContextKeys[K]): void {
  contextKeys[key] = value;
  if (contextSent.get(key) === value) return;
  contextSent.set(key, value);
  void vscode.commands.executeCommand('setContext', key, value);
}

function settings(): RunSettings {
  const c = vscode.workspace.getConfiguration('gradientMonitor');
  const backend = c.get<string>('backend', 'config');
  const maxSteps = c.get<number | null>('maxSteps', null);
  return {
    nodePath: c.get<string>('nodePath') || undefined,
    backend: backend === 'config' ? undefined : (backend as BackendChoice),
    maxSteps: maxSteps && maxSteps > 0 ? maxSteps : undefined,
    startupTimeoutMs: 1000 * c.get<number>('workerStartupTimeout', 30),
  };
}

export function activate(context: vscode.ExtensionContext): GradientMonitorApi {
  contextSent.clear();
  const output = vscode.window.createOutputChannel('Gradient Monitor', { log: true });
  const mediaRoot = vscode.Uri.joinPath(context.extensionUri, 'dist', 'media');
  runs = new RunManager(context.asAbsolutePath(path.join('dist', 'worker.js')), settings, output);
  const diagnostics = new ConfigDiagnostics();
  const tree = new RunsTree(runs);
  const statusBar = new TrainingStatusBar(runs);
  let hasConfigs = false;

  const ctx: CommandContext = {
    runs, diagnostics, tree, output,
    openPanel: runId => GradientPanel.show(mediaRoot, runs!, handlers, runId),
  };
  const handlers: PanelHandlers = {
    applyFix: async (runId, findingId, fixId, retrain) => {
      const run = runs!.get(runId);
      const finding = run?.history.findings.get(findingId);
      if (run && finding) await applyFix(ctx, run.configUri.fsPath, finding, fixId, retrain);
    },
    revealFinding: (runId, findingId) => revealFinding(ctx, runId, findingId),
    exportPng: async (chart, dataUrl) => {
      const panel = GradientPanel.instance;
      const run = runs!.get(panel?.state.runId ?? '');
      const target = panel?.exportTarget ?? await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(`${run?.history.runDir ?? path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', 'gradmon')}-${chart}.png`),
        filters: { PNG: ['png'] },
      });
      if (panel) panel.exportTarget = undefined;
      if (!target) return;
      const base64 = dataUrl.replace(/^data:image\/png;base64,/, '');
      await vscode.workspace.fs.writeFile(target, Buffer.from(base64, 'base64'));
      void vscode.window.showInformationMessage(`Saved the ${chart} chart to ${vscode.workspace.asRelativePath(target)}.`);
    },
  };
  const sidebar = new SidebarMonitor(mediaRoot, runs, {
    applyFix: handlers.applyFix,
    revealFinding: handlers.revealFinding,
    focusLayer: layer => ctx.openPanel().focus(undefined, layer),
    hasConfigs: () => hasConfigs,
  });

  // Findings of each run go to its config as diagnostics as they arrive, and the run's final list at the end.
  context.subscriptions.push(runs.onDidChange(change => {
    const run = change.run;
    const configPath = run.configUri.fsPath;
    if (change.event?.type === 'finding' || change.event?.type === 'run-end') {
      diagnostics.setRunFindings(configPath, run.id, [...run.history.findings.values()]);
    }
    if (!change.event && run.state === 'ended' && run.problems) diagnostics.setRunProblems(configPath, run.problems);
    setContextKey('gradientMonitor.training', runs!.active !== undefined);
  }));

  const configWatcher = vscode.workspace.createFileSystemWatcher(CONFIG_GLOB);
  const updateHasConfigs = async () => {
    hasConfigs = (await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**', 1)).length > 0;
    setContextKey('gradientMonitor.hasConfigs', hasConfigs);
  };
  void updateHasConfigs();

  const codeLens = new ConfigCodeLens(runs);
  const selector: vscode.DocumentSelector = [{ pattern: CONFIG_GLOB }];
  context.subscriptions.push(
    output, diagnostics, tree, statusBar, sidebar, codeLens, configWatcher,
    configWatcher.onDidCreate(() => void updateHasConfigs()),
    configWatcher.onDidDelete(() => void updateHasConfigs()),
    vscode.languages.registerCodeActionsProvider(selector, diagnostics, ConfigDiagnostics.metadata),
    vscode.languages.registerCodeLensProvider(selector, codeLens),
    vscode.window.registerWebviewViewProvider(SidebarMonitor.viewId, sidebar),
    vscode.window.createTreeView(RunsTree.viewId, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: false }),
    vscode.window.registerWebviewPanelSerializer(GradientPanel.viewType, {
      deserializeWebviewPanel: async (panel, state) => { GradientPanel.revive(panel, state, mediaRoot, runs!, handlers); },
    }),
    ...registerCommands(ctx),
    { dispose: () => GradientPanel.instance?.dispose() },
  );
  setContextKey('gradientMonitor.training', false);

  // After a reload (or a crash of the training process), the latest run comes back from its log, so the
  // sidebar, the panel and the config's diagnostics show it again.
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const latest = listRuns(folder.uri.fsPath)[0];
    if (latest) {
      // Read in the background: activation does not wait for a long log.
      runs.openFromLog(latest).then(run => {
        // Findings concern the config as it was run: not pinned onto a config edited since.
        const configChanged = run.history.startedAt !== undefined && fileTime(run.configUri.fsPath) > Date.parse(run.history.startedAt);
        if (!configChanged) diagnostics.setRunFindings(run.configUri.fsPath, run.id, [...run.history.findings.values()]);
      }, (e: Error) => output.warn(`Could not read the run log ${latest}: ${e.message}`));
    }
  }
  output.info(`Gradient Monitor ${context.extension.packageJSON.version} activated (VS Code ${vscode.version}, Node ${process.version})`);

  return {
    version: context.extension.packageJSON.version as string,
    contextKeys, runs, diagnostics, sidebar, statusBar,
    panel: () => GradientPanel.instance,
  };
}

function fileTime(file: string): number {
  try { return fs.statSync(file).mtimeMs; } catch { return 0; }
}

export function deactivate(): Promise<void> | undefined {
  const r = runs;
  runs = undefined;
  return r?.dispose();
}
