// The status bar item: the active run's progress, loss, global norm, health and backend; click opens the panel.

import * as vscode from 'vscode';
import type { Run, RunManager } from './runManager';
import { throttle } from './throttle';

const fmt = (x: number | undefined, d = 3) => (x === undefined ? '—' : Number.isNaN(x) ? 'NaN' : !Number.isFinite(x) ? 'Inf' : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(1) : x.toPrecision(d));

export class TrainingStatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('gradientMonitor.status', vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [this.item];

  constructor(private readonly runs: RunManager) {
    this.item.name = 'Gradient Monitor';
    this.item.command = 'gradientMonitor.openPanel';
    const refresh = throttle(() => this.render(), 250);
    this.disposables.push(runs.onDidChange(() => refresh()));
    this.render();
  }

  render(): void {
    const run = this.runs.active ?? this.runs.latest();
    if (!run) {
      this.item.hide();
      return;
    }
    const h = run.history;
    const serious = [...h.findings.values()].filter(f => f.severity !== 'info');
    const errors = serious.filter(f => f.severity === 'error');
    const backend = h.backend ? ` · ${h.backend.name === 'tensorflow' ? 'native' : h.backend.name}` : '';
    if (run.live) {
      const icon = run.state === 'running' ? '$(sync~spin)' : '$(loading~spin)';
      const progress = run.state === 'running' ? ` ${h.step + 1}/${h.totalSteps} · ep ${h.epoch + 1} · loss ${fmt(h.lastLoss)} · ‖g‖ ${fmt(h.globalNorm.last[h.globalNorm.last.length - 1])}` : run.state === 'queued' ? ' queued' : ' starting…';
      this.item.text = `${icon} ${h.name}${progress}${backend}${serious.length ? ` · $(warning) ${serious.length}` : ''}`;
    } else {
      const icon = h.status === 'completed' ? (serious.length ? '$(warning)' : '$(check)') : h.status === 'stopped' ? '$(debug-stop)' : '$(error)';
      this.item.text = `${icon} ${h.name} ${h.status}${serious.length ? ` · ${serious.length} finding${serious.length === 1 ? '' : 's'}` : ''}`;
    }
    this.item.backgroundColor = errors.length || h.status === 'failed' || h.status === 'halted'
      ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : serious.length ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.tooltip = this.tooltip(run);
    this.item.show();
  }

  private tooltip(run: Run): vscode.MarkdownString {
    const h = run.history;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${h.name}** — ${run.live ? run.state : h.status}${h.reason ? `: ${h.reason}` : ''}\n\n`);
    if (h.backend) {
      md.appendMarkdown(`Backend: **${h.backend.name}**${h.backend.simd ? ' (SIMD)' : ''} — ${h.backend.chosenBy}\n\n`);
      if (h.backend.hint) md.appendMarkdown(`$(info) ${h.backend.hint}\n\n`);
    }
    if (h.totalSteps) md.appendMarkdown(`Step ${h.step + 1} of ${h.totalSteps}, epoch ${h.epoch + 1} · ${fmt(h.stepsPerSecond)} steps/s\n\n`);
    for (const f of [...h.findings.values()].filter(x => x.severity !== 'info').slice(0, 5)) md.appendMarkdown(`$(warning) ${f.title}\n\n`);
    md.appendMarkdown('Click to open the gradient panel.');
    return md;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
