// Past runs (a tree view under the monitor): every `.gradmon/runs/<run id>` of the workspace, newest first,
// with status, steps and findings; opening one shows it in the panel.

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { listRuns, SUMMARY_FILE } from '../engine/runlog';
import type { RunSummary } from '../protocol';
import type { RunManager } from './runManager';
import { throttle } from './throttle';

export class RunItem extends vscode.TreeItem {
  constructor(readonly dir: string, readonly summary: RunSummary | undefined, live: boolean) {
    super(summary?.name ?? path.basename(dir), vscode.TreeItemCollapsibleState.None);
    const status = live ? 'running' : summary?.status ?? 'incomplete';
    const serious = summary?.findings.filter(f => f.severity !== 'info') ?? [];
    this.description = `${status}${summary ? ` · ${summary.steps} steps` : ''}${serious.length ? ` · ${serious.length} finding${serious.length === 1 ? '' : 's'}` : ''} · ${path.basename(dir).slice(0, 15).replace(/^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/, '$1-$2-$3 $4:$5')}`;
    this.iconPath = new vscode.ThemeIcon(
      live ? 'sync~spin' : status === 'completed' ? (serious.length ? 'warning' : 'pass') : status === 'stopped' ? 'debug-stop' : 'error',
      live ? undefined : status === 'completed' && !serious.length ? new vscode.ThemeColor('testing.iconPassed') : status === 'completed' ? new vscode.ThemeColor('list.warningForeground') : status === 'stopped' ? undefined : new vscode.ThemeColor('testing.iconFailed'),
    );
    this.tooltip = new vscode.MarkdownString(`**${summary?.name ?? path.basename(dir)}** — ${status}${summary?.reason ? `: ${summary.reason}` : ''}\n\n${serious.map(f => `- ${f.title}`).join('\n')}\n\n\`${dir}\``);
    this.contextValue = 'gradientMonitor.run';
    this.id = dir;
    this.command = { command: 'gradientMonitor.openRun', title: 'Open Run', arguments: [this] };
    this.accessibilityInformation = { label: `Run ${summary?.name ?? path.basename(dir)}, ${status}, ${summary?.steps ?? 0} steps, ${serious.length} findings` };
  }
}

export class RunsTree implements vscode.TreeDataProvider<RunItem>, vscode.Disposable {
  static readonly viewId = 'gradientMonitor.runs';
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly runs: RunManager) {
    const refresh = throttle(() => this.changed.fire(), 1000);
    this.disposables.push(runs.onDidChange(c => { if (!c.event || c.event.type === 'run-start' || c.event.type === 'run-end') refresh(); }));
    const watcher = vscode.workspace.createFileSystemWatcher('**/.gradmon/runs/*/summary.json');
    this.disposables.push(watcher, watcher.onDidCreate(() => refresh()), watcher.onDidDelete(() => refresh()));
  }

  refresh(): void { this.changed.fire(); }

  getTreeItem(e: RunItem): vscode.TreeItem { return e; }

  getChildren(): RunItem[] {
    const liveDirs = new Set(this.runs.list().filter(r => r.live && r.history.runDir).map(r => r.history.runDir!));
    const items: RunItem[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      for (const dir of listRuns(folder.uri.fsPath).slice(0, 200)) items.push(new RunItem(dir, readSummary(dir), liveDirs.has(dir)));
    }
    return items.sort((a, b) => path.basename(b.dir).localeCompare(path.basename(a.dir)));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

export function readSummary(dir: string): RunSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, SUMMARY_FILE), 'utf8')) as RunSummary;
  } catch {
    return undefined;
  }
}
