// The sidebar monitor (a webview view in the Gradient Monitor container): the current run at a glance.

import * as vscode from 'vscode';
import type { HostToSidebar, SidebarModel, SidebarToHost } from '../protocol';
import { isMessage } from '../protocol';
import type { RunManager } from './runManager';
import { throttle, type Throttled } from './throttle';
import { webviewHtml, webviewOptions } from './webviewHtml';

const UPDATE_MS = 300;

export interface SidebarHandlers {
  applyFix(runId: string, findingId: string, fixId: string, retrain: boolean): Promise<void>;
  revealFinding(runId: string, findingId: string): Promise<void>;
  focusLayer(layer: string): void;
  hasConfigs(): boolean;
}

export class SidebarMonitor implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'gradientMonitor.monitor';
  private view?: vscode.WebviewView;
  private ready = false;
  private readonly update: Throttled;
  private readonly disposables: vscode.Disposable[] = [];
  /** The current view's listeners. */
  private readonly viewDisposables: vscode.Disposable[] = [];
  /** For tests: the last model sent. */
  lastModel?: SidebarModel;

  constructor(private readonly mediaRoot: vscode.Uri, private readonly runs: RunManager, private readonly handlers: SidebarHandlers) {
    this.update = throttle(() => this.post(), UPDATE_MS);
    this.disposables.push(
      runs.onDidChange(() => this.update()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    // VS Code resolves the view again after disposing it (hidden without retained context, moved): the earlier
    // view's listeners go, and an event of it that comes late must not touch this one.
    this.forgetView();
    this.view = view;
    this.ready = false;
    view.webview.options = webviewOptions(this.mediaRoot);
    view.webview.html = webviewHtml(view.webview, this.mediaRoot, 'sidebar', 'Gradient Monitor');
    this.viewDisposables.push(
      view.webview.onDidReceiveMessage((m: unknown) => { if (this.view === view && isMessage<SidebarToHost>(m)) void this.receive(m); }),
      view.onDidChangeVisibility(() => { if (this.view === view && view.visible) this.update(); }),
      view.onDidDispose(() => { if (this.view === view) this.forgetView(); }),
    );
  }

  private forgetView(): void {
    this.view = undefined;
    this.ready = false;
    for (const d of this.viewDisposables.splice(0)) d.dispose();
  }

  get resolved(): boolean { return this.view !== undefined && this.ready; }

  private async receive(m: SidebarToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.post();
        break;
      case 'command': {
        const command = {
          train: 'gradientMonitor.startTraining', stop: 'gradientMonitor.stopTraining', openPanel: 'gradientMonitor.openPanel',
          newConfig: 'gradientMonitor.newConfig', openConfig: 'gradientMonitor.openConfig',
        }[m.command];
        await vscode.commands.executeCommand(command);
        break;
      }
      case 'applyFix':
        await this.handlers.applyFix(m.runId, m.findingId, m.fixId, m.retrain ?? false);
        break;
      case 'revealFinding':
        await this.handlers.revealFinding(m.runId, m.findingId);
        break;
      case 'focusLayer':
        this.handlers.focusLayer(m.layer);
        break;
    }
  }

  model(): SidebarModel {
    const run = this.runs.latest();
    return {
      run: run?.history.glance(),
      trusted: vscode.workspace.isTrusted,
      backendHint: run?.history.backend?.hint,
      hasConfigs: this.handlers.hasConfigs(),
    };
  }

  private post(): void {
    if (!this.view || !this.ready || !this.view.visible) return;
    this.lastModel = this.model();
    const m: HostToSidebar = { type: 'snapshot', model: this.lastModel };
    void this.view.webview.postMessage(m);
  }

  dispose(): void {
    this.update.cancel();
    this.forgetView();
    for (const d of this.disposables) d.dispose();
  }
}
