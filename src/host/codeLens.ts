// CodeLens at the top of a config: Train / Check / Open Panel (Stop while it trains).

import * as vscode from 'vscode';
import type { RunManager } from './runManager';

export class ConfigCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly runs: RunManager) {
    this.subscriptions = [
      runs.onDidChange(c => { if (!c.event || c.event.type === 'run-start' || c.event.type === 'run-end') this.changed.fire(); }),
      // VS Code does not ask again for the lenses of an editor that was hidden when they changed (a maximized
      // group, a tab behind another): without this, a config open while its run ended kept "Stop" once shown.
      vscode.window.onDidChangeVisibleTextEditors(() => this.changed.fire()),
    ];
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    const running = [this.runs.active, ...this.runs.queued].some(r => r?.configUri.fsPath === doc.uri.fsPath);
    const lenses = [
      running
        ? new vscode.CodeLens(top, { title: '$(debug-stop) Stop', command: 'gradientMonitor.stopTraining', tooltip: 'Stop this run after its current step' })
        : new vscode.CodeLens(top, { title: '$(play) Train', command: 'gradientMonitor.startTraining', arguments: [doc.uri], tooltip: 'Train this config and watch its gradients' }),
      new vscode.CodeLens(top, { title: '$(checklist) Check', command: 'gradientMonitor.runPreflight', arguments: [doc.uri], tooltip: 'Pre-flight checks for exploding/vanishing gradients' }),
      new vscode.CodeLens(top, { title: '$(graph) Open Panel', command: 'gradientMonitor.openPanel', tooltip: 'Open the gradient panel' }),
    ];
    return lenses;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
