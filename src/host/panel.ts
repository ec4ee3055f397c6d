// The gradient panel: a webview with the run's histograms, distributions, norms, loss and findings. The host
// keeps the history and sends snapshots (throttled, only while visible): a complete one first, then patches with
// what changed (SnapshotCursor); the view state lives in the webview and comes back on restore (serializer), so
// the panel survives hiding, moving and window reloads.

import * as vscode from 'vscode';
import type { HostToPanel, PanelRender, PanelToHost, PanelViewState } from '../protocol';
import { isMessage } from '../protocol';
import { SnapshotCursor } from '../history/runHistory';
import type { RunManager } from './runManager';
import { throttle, type Throttled } from './throttle';
import { webviewHtml, webviewOptions } from './webviewHtml';

/** Snapshots per second at most while a run streams. */
const UPDATE_MS = 250;
/** The distribution view is the heaviest part of a snapshot: columns only for these many visible layers. */
const MAX_COLUMN_LAYERS = 8;

export interface PanelHandlers {
  applyFix(runId: string, findingId: string, fixId: string, retrain: boolean): Promise<void>;
  revealFinding(runId: string, findingId: string): Promise<void>;
  exportPng(chart: string, dataUrl: string): Promise<void>;
}

export class GradientPanel implements vscode.Disposable {
  static readonly viewType = 'gradientMonitor.panel';
  private static current: GradientPanel | undefined;
  private view: PanelViewState = {};
  private ready = false;
  private dirty = true;
  private readonly update: Throttled;
  private readonly disposables: vscode.Disposable[] = [];
  /** The last render times the webview reported (see PanelToHost 'rendered'), for the benchmark. */
  readonly renders: PanelRender[] = [];
  snapshotsSent = 0;
  /** What the webview holds of the run on screen, and the number of the last snapshot sent. */
  private readonly cursor = new SnapshotCursor();
  private seq = 0;

  static get instance(): GradientPanel | undefined { return GradientPanel.current; }

  static show(mediaRoot: vscode.Uri, runs: RunManager, handlers: PanelHandlers, runId?: string): GradientPanel {
    if (GradientPanel.current) {
      GradientPanel.current.panel.reveal(undefined, true);
      if (runId) GradientPanel.current.selectRun(runId);
      return GradientPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(GradientPanel.viewType, 'Gradient Monitor', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      ...webviewOptions(mediaRoot), retainContextWhenHidden: false,
    });
    const p = new GradientPanel(panel, mediaRoot, runs, handlers, runId ? { runId } : {});
    return p;
  }

  /** Restores a panel after a reload, with the view state the webview had saved. */
  static revive(panel: vscode.WebviewPanel, state: unknown, mediaRoot: vscode.Uri, runs: RunManager, handlers: PanelHandlers): GradientPanel {
    // The webview saves { view } with setState; VS Code hands it back here after a reload.
    const view = (state as { view?: PanelViewState } | undefined)?.view ?? {};
    return new GradientPanel(panel, mediaRoot, runs, handlers, view);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    mediaRoot: vscode.Uri,
    private readonly runs: RunManager,
    private readonly handlers: PanelHandlers,
    view: PanelViewState,
  ) {
    GradientPanel.current = this;
    this.view = view;
    panel.iconPath = vscode.Uri.joinPath(mediaRoot, 'activity.svg');
    panel.webview.options = webviewOptions(mediaRoot);
    panel.webview.html = webviewHtml(panel.webview, mediaRoot, 'panel', 'Gradient Monitor');
    this.update = throttle(() => this.post(), UPDATE_MS);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => { if (panel.visible && this.dirty) this.update(); }),
      panel.webview.onDidReceiveMessage((m: unknown) => { if (isMessage<PanelToHost>(m)) void this.receive(m); }),
      runs.onDidChange(change => {
        // Only the run on screen matters; a new run takes the screen when the panel follows the latest.
        if (!this.view.runId || change.run.id === this.view.runId || (change.event?.type === 'run-start' && this.followsLatest())) {
          if (change.event?.type === 'run-start' && this.followsLatest()) this.view = { ...this.view, runId: undefined, scrubStep: undefined };
          this.dirty = true;
          if (panel.visible) this.update();
        }
      }),
    );
  }

  private followsLatest(): boolean {
    const current = this.view.runId ? this.runs.get(this.view.runId) : undefined;
    return !current || !current.live;
  }

  selectRun(runId: string): void {
    this.view = { ...this.view, runId, scrubStep: undefined };
    this.dirty = true;
    this.update();
  }

  /** Where the next exported PNG goes (set by the Export Run command; otherwise the user is asked). */
  exportTarget?: vscode.Uri;

  requestExport(chart: 'norms' | 'loss' | 'histogram' | 'distribution', target?: vscode.Uri): void {
    this.exportTarget = target;
    const m: HostToPanel = { type: 'exportRequest', chart };
    // Sent once the webview is ready (a freshly opened panel is not yet).
    const send = () => void this.panel.webview.postMessage(m);
    if (this.ready) send();
    else this.afterReady.push(send);
  }

  private afterReady: (() => void)[] = [];

  /** Moves the panel to a step and layer (e.g. from a finding in the sidebar). */
  focus(step: number | undefined, layer?: string, findingId?: string): void {
    this.panel.reveal(undefined, true);
    const m: HostToPanel = { type: 'focus', step, layer, findingId };
    void this.panel.webview.postMessage(m);
  }

  private async receive(m: PanelToHost): Promise<void> {
    switch (m.type) {
      case 'resync':
        this.cursor.reset();
        this.post();
        break;
      case 'ready':
        this.ready = true;
        this.cursor.reset(); // a new webview: it holds nothing
        // The webview's saved selection comes back, but which run to show is the host's: a webview recreated after
        // being hidden would otherwise bring back the run it showed before (a revived panel's run came with the
        // serializer's state already).
        if (m.view) this.view = { ...m.view, runId: this.view.runId };
        this.post();
        for (const f of this.afterReady.splice(0)) f();
        break;
      case 'view':
        this.view = m.view;
        this.dirty = true;
        this.update();
        break;
      case 'applyFix':
        await this.handlers.applyFix(m.runId, m.findingId, m.fixId, m.retrain ?? false);
        break;
      case 'revealFinding':
        await this.handlers.revealFinding(m.runId, m.findingId);
        break;
      case 'exportPng':
        await this.handlers.exportPng(m.chart, m.dataUrl);
        break;
      case 'command':
        await vscode.commands.executeCommand(m.command === 'stop' ? 'gradientMonitor.stopTraining' : m.command === 'train' ? 'gradientMonitor.startTraining' : 'gradientMonitor.exportRun', this.view.runId);
        break;
      case 'rendered': {
        const { type: _, ...render } = m;
        this.renders.push(render);
        if (this.renders.length > 1000) this.renders.splice(0, 500);
        break;
      }
    }
  }

  private post(): void {
    if (!this.ready || !this.panel.visible) return;
    const run = (this.view.runId ? this.runs.get(this.view.runId) : undefined) ?? this.runs.latest();
    const layers = run?.history.layerNames() ?? [];
    const shown = this.view.layers?.length ? layers.filter(l => this.view.layers!.includes(l)) : layers;
    const columnsFor = [...new Set([this.view.selectedLayer, ...shown].filter((l): l is string => !!l))].slice(0, MAX_COLUMN_LAYERS);
    // A patch when the webview holds the previous snapshot of this very history; else complete (the cursor resets).
    const base = run && this.cursor.history === run.history ? this.seq : undefined;
    if (!run) this.cursor.reset();
    const m: HostToPanel = {
      type: 'snapshot',
      seq: ++this.seq,
      base,
      run: run?.history.snapshot({ columnsFor, forPanel: true, cursor: this.cursor }),
      runs: this.runs.entries(),
      view: { ...this.view, runId: run?.id },
    };
    this.dirty = false;
    this.snapshotsSent++;
    void this.panel.webview.postMessage(m);
  }

  /** What the panel currently shows (for tests and commands). */
  get state(): { runId?: string; view: PanelViewState } {
    return { runId: this.view.runId ?? this.runs.latest()?.id, view: this.view };
  }

  dispose(): void {
    if (GradientPanel.current === this) GradientPanel.current = undefined;
    this.update.cancel();
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}
