// One DiagnosticCollection for `*.gradmon.json`: the config's validation errors, the pre-flight checks, and
// the latest run's findings mapped to the JSON node they concern; quick fixes from the suggested edits.

import * as vscode from 'vscode';
import { analyzeConfig, ConfigDocument } from '../config';
import { preflightFindings } from '../diagnosis/preflight';
import { fixTextEdits } from '../diagnosis/applyFix';
import type { ConfigProblemPayload, Finding, SuggestedFix } from '../protocol';

export const SOURCE = 'Gradient Monitor';
const DOCS = 'https://github.com/gradmon/gradient-monitor/blob/main/docs/rules.md';

export function isConfigDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme !== 'output' && /\.gradmon\.json$/i.test(doc.uri.path);
}

interface FixEntry { diagnostic: vscode.Diagnostic; fixes: SuggestedFix[]; runId?: string; findingId?: string }

export class ConfigDiagnostics implements vscode.CodeActionProvider, vscode.Disposable {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };

  readonly collection = vscode.languages.createDiagnosticCollection('gradmon');
  private readonly fixes = new Map<string, FixEntry[]>();
  /** Findings of the latest run per config file, and problems the training process reported (data errors). */
  private readonly runFindings = new Map<string, { runId: string; findings: Finding[] }>();
  private readonly runProblems = new Map<string, ConfigProblemPayload[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.disposables.push(
      this.collection,
      vscode.workspace.onDidOpenTextDocument(d => this.refresh(d)),
      vscode.workspace.onDidChangeTextDocument(e => this.schedule(e.document)),
      vscode.workspace.onDidSaveTextDocument(d => this.refresh(d)),
      vscode.workspace.onDidCloseTextDocument(d => {
        // Keep findings of closed files visible in the Problems view; drop only what came from the text.
        if (!this.runFindings.has(d.uri.fsPath)) this.collection.delete(d.uri);
      }),
    );
    for (const d of vscode.workspace.textDocuments) this.refresh(d);
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    // Debounced: analysis is fast, but not worth running on every keystroke.
    this.timers.set(key, setTimeout(() => this.refresh(doc), 250));
  }

  /** A run's findings for its config (replacing the previous run's), shown on the nodes they concern. */
  setRunFindings(configPath: string, runId: string, findings: Finding[]): void {
    this.runFindings.set(configPath, { runId, findings });
    this.runProblems.delete(configPath);
    // Findings arrive in bursts while a run streams: one refresh per burst.
    const key = `findings:${configPath}`;
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => void this.refreshPath(configPath), 200));
  }

  setRunProblems(configPath: string, problems: ConfigProblemPayload[]): void {
    this.runProblems.set(configPath, problems);
    void this.refreshPath(configPath);
  }

  private async refreshPath(configPath: string): Promise<void> {
    const open = vscode.workspace.textDocuments.find(d => d.uri.fsPath === configPath);
    if (open) return this.refresh(open);
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(configPath));
      this.refresh(doc);
    } catch { /* file gone */ }
  }

  refresh(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc)) return;
    const text = doc.getText();
    const analysis = analyzeConfig(text, doc.uri.fsPath);
    const diagnostics: vscode.Diagnostic[] = [];
    const entries: FixEntry[] = [];
    const range = (start: number, end: number) => new vscode.Range(doc.positionAt(start), doc.positionAt(Math.max(end, start)));

    for (const p of analysis.problems) {
      const d = new vscode.Diagnostic(range(p.start, p.end), p.message, toSeverity(p.severity));
      d.source = SOURCE;
      d.code = { value: p.code, target: vscode.Uri.parse(`${DOCS}#configs`) };
      diagnostics.push(d);
    }
    if (analysis.config) {
      for (const f of preflightFindings(analysis.config)) {
        const d = this.findingDiagnostic(analysis.doc, doc, f, undefined);
        diagnostics.push(d);
        if (f.fixes.length) entries.push({ diagnostic: d, fixes: f.fixes });
      }
    }
    // Problems the training process found (e.g. the data file), positioned by JSON path in today's text.
    for (const p of this.runProblems.get(doc.uri.fsPath) ?? []) {
      const r = analysis.doc.rangeOf(p.jsonPath);
      const d = new vscode.Diagnostic(range(r.start, r.end), p.message, vscode.DiagnosticSeverity.Error);
      d.source = SOURCE;
      d.code = 'run/config-error';
      diagnostics.push(d);
    }
    const latest = this.runFindings.get(doc.uri.fsPath);
    for (const f of latest?.findings ?? []) {
      const d = this.findingDiagnostic(analysis.doc, doc, f, latest!.runId);
      diagnostics.push(d);
      if (f.fixes.length) entries.push({ diagnostic: d, fixes: f.fixes, runId: latest!.runId, findingId: f.id });
    }
    this.collection.set(doc.uri, diagnostics);
    this.fixes.set(doc.uri.toString(), entries);
  }

  private findingDiagnostic(cdoc: ConfigDocument, doc: vscode.TextDocument, f: Finding, runId: string | undefined): vscode.Diagnostic {
    const r = cdoc.rangeOf(f.jsonPath, f.jsonPath.length > 0 && typeof f.jsonPath[f.jsonPath.length - 1] === 'number');
    const range = new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end));
    const d = new vscode.Diagnostic(range, `${f.title}. ${f.explanation}`, toSeverity(f.severity));
    d.source = SOURCE;
    d.code = { value: f.rule, target: vscode.Uri.parse(f.docs ?? DOCS) };
    const evidence = Object.entries(f.evidence).map(([k, v]) => `${k} ${v}`).join(', ');
    const related: vscode.DiagnosticRelatedInformation[] = [];
    const steps = f.firstStep !== undefined ? ` steps ${f.firstStep}${f.lastStep !== undefined && f.lastStep !== f.firstStep ? `–${f.lastStep}` : ''}` : '';
    if (evidence) related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(doc.uri, range), `${runId ? `Run ${runId},` : 'Evidence'}${steps}: ${evidence}`));
    if (f.fixes[0]) related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(doc.uri, range), `Suggested: ${f.fixes[0].title} — ${f.fixes[0].reason}`));
    // The other layers it concerns, each at its own entry of "model".
    for (const l of f.layers ?? []) {
      if (l.name === f.layer) continue;
      const at = cdoc.rangeOf(['model', l.index], true);
      related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(doc.uri, new vscode.Range(doc.positionAt(at.start), doc.positionAt(at.end))), `Also in ${l.name} (model[${l.index}])`));
    }
    d.relatedInformation = related;
    return d;
  }

  provideCodeActions(doc: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const entries = this.fixes.get(doc.uri.toString()) ?? [];
    const actions: vscode.CodeAction[] = [];
    for (const entry of entries) {
      if (!context.diagnostics.some(d => d.message === entry.diagnostic.message && d.range.isEqual(entry.diagnostic.range))) continue;
      entry.fixes.forEach((fix, i) => {
        const edit = this.workspaceEdit(doc, fix);
        if (!edit) return;
        const a = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        a.edit = edit;
        a.diagnostics = [entry.diagnostic];
        a.isPreferred = i === 0;
        actions.push(a);
        const retrain = new vscode.CodeAction(`${fix.title} and re-train`, vscode.CodeActionKind.QuickFix);
        retrain.edit = edit;
        retrain.diagnostics = [entry.diagnostic];
        retrain.command = { command: 'gradientMonitor.startTraining', title: 'Re-train', arguments: [doc.uri, { saveFirst: true }] };
        actions.push(retrain);
      });
    }
    return actions;
  }

  /** The fix as a WorkspaceEdit that keeps formatting and comments. */
  workspaceEdit(doc: vscode.TextDocument, fix: SuggestedFix): vscode.WorkspaceEdit | undefined {
    const text = doc.getText();
    const edits = fixTextEdits(text, fix.edits);
    if (!edits.length) return undefined;
    const we = new vscode.WorkspaceEdit();
    for (const e of edits) we.replace(doc.uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.content);
    return we;
  }

  /** The findings currently shown for a config. */
  findingsFor(configPath: string): { runId: string; findings: Finding[] } | undefined {
    return this.runFindings.get(configPath);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}

function toSeverity(s: string): vscode.DiagnosticSeverity {
  return s === 'error' ? vscode.DiagnosticSeverity.Error : s === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
}
