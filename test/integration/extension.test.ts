// The extension in a real VS Code: diagnostics and quick fixes in configs, training through the real commands
// (run log written, findings mapped to the config, fix applied and re-trained), stopping, a killed training
// process, and every contributed command.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { GradientMonitorApi } from '../../src/extension';
import type { Run } from '../../src/host/runManager';

const EXTENSION_ID = 'gradmon.gradient-monitor';
const SIDEBAR_VIEW = 'gradientMonitor.monitor'; // package.json's contributes.views

async function api(): Promise<GradientMonitorApi> {
  const ext = vscode.extensions.getExtension<GradientMonitorApi>(EXTENSION_ID);
  assert.ok(ext, 'extension present');
  return ext.activate();
}

function ws(...parts: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'workspace open');
  return vscode.Uri.joinPath(folder.uri, ...parts);
}

/** Polls `f` until it gives a value. The default limit is below Mocha's 60 s per test, so a timeout says what it waited for. */
async function waitFor<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 45000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

function gradmonDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter(d => d.source === 'Gradient Monitor');
}

const codeOf = (d: vscode.Diagnostic) => (typeof d.code === 'object' ? String(d.code.value) : String(d.code));

/** Starts training through the real command and waits for the run to end. */
async function trainAndWait(a: GradientMonitorApi, uri: vscode.Uri, options: object = {}, timeoutMs = 120000): Promise<Run> {
  const key = await vscode.commands.executeCommand<string>('gradientMonitor.startTraining', uri, options);
  assert.ok(key, 'a run was started');
  return waitFor(`the run of ${path.basename(uri.fsPath)} to end`, () => {
    const run = a.runs.list().find(r => r.key === key);
    return run && run.state === 'ended' ? run : undefined;
  }, timeoutMs);
}

suite('Configs: diagnostics and quick fixes', () => {
  test('a broken config gets positioned diagnostics with source, code and docs link', async () => {
    await api();
    const uri = ws('broken.gradmon.json');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const diags = await waitFor('diagnostics on broken.gradmon.json', () => { const d = gradmonDiagnostics(uri); return d.length >= 2 && d; });
    const units = diags.find(d => codeOf(d) === 'schema/type');
    assert.ok(units, diags.map(d => d.message).join('\n'));
    assert.strictEqual(doc.getText(units.range), '"32"');
    assert.match(units.message, /Write 32 without quotes/);
    assert.strictEqual(units.severity, vscode.DiagnosticSeverity.Error);
    const act = diags.find(d => /Did you mean "softmax"/.test(d.message));
    assert.ok(act);
    assert.strictEqual(doc.getText(act.range), '"sofmax"');
    assert.ok(typeof units.code === 'object' && units.code.target.toString().includes('rules.md'));
  });

  test('diagnostics follow edits', async () => {
    const uri = ws('broken.gradmon.json');
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    const text = doc.getText();
    const at = text.indexOf('"sofmax"');
    await editor.edit(e => e.replace(new vscode.Range(doc.positionAt(at), doc.positionAt(at + 8)), '"softmax"'));
    await waitFor('the softmax diagnostic to go', () => !gradmonDiagnostics(uri).some(d => /sofmax/.test(d.message)));
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  test('a pre-flight warning offers quick fixes that keep comments and formatting', async () => {
    const uri = ws('exploding-mlp.gradmon.json');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const original = doc.getText();
    const diag = await waitFor('the large-learning-rate warning', () => gradmonDiagnostics(uri).find(d => codeOf(d) === 'preflight/large-sgd-lr'));
    assert.strictEqual(doc.getText(diag.range), '1.5');
    assert.strictEqual(diag.severity, vscode.DiagnosticSeverity.Warning);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, diag.range, vscode.CodeActionKind.QuickFix.value);
    const titles = actions.map(a => a.title);
    assert.strictEqual(actions[0].title, 'Lower the learning rate to 0.15', titles.join('\n'));
    assert.ok(actions[0].isPreferred);
    assert.ok(titles.includes('Lower the learning rate to 0.15 and re-train'));
    const clip = actions.find(a => a.title === 'Clip gradients by global norm at 1');
    assert.ok(clip, titles.join('\n'));
    assert.ok(await vscode.workspace.applyEdit(clip.edit!));
    const fixed = doc.getText();
    assert.match(fixed, /\/\/ Plain SGD with a learning rate far too large/);
    assert.match(fixed, /"clipping": \{ "mode": "globalNorm", "threshold": 1 \}/);
    assert.strictEqual(fixed.replace(/,\n {2}"clipping": \{[^}]*\}/, ''), original, 'only the clipping key was added');
    await waitFor('the warning to go', () => !gradmonDiagnostics(uri).some(d => codeOf(d) === 'preflight/large-sgd-lr'));
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });
});

suite('Training through the commands', () => {
  test('Start Training runs a config to completion and writes its run log', async () => {
    const a = await api();
    const uri = ws('tiny-mlp.gradmon.json');
    const run = await trainAndWait(a, uri);
    const h = run.history;
    assert.strictEqual(h.status, 'completed', h.reason);
    assert.ok(h.step >= 30, `steps ${h.step}`);
    assert.ok(h.backend && ['wasm', 'cpu', 'tensorflow'].includes(h.backend.name));
    assert.ok(h.runDir && fs.existsSync(path.join(h.runDir, 'events.jsonl')) && fs.existsSync(path.join(h.runDir, 'summary.json')), `run log in ${h.runDir}`);
    const summary = JSON.parse(fs.readFileSync(path.join(h.runDir, 'summary.json'), 'utf8'));
    assert.strictEqual(summary.status, 'completed');
    assert.deepStrictEqual(summary.findings.filter((f: { severity: string }) => f.severity !== 'info'), []);
    const lines = fs.readFileSync(path.join(h.runDir, 'events.jsonl'), 'utf8').trim().split('\n');
    assert.strictEqual(JSON.parse(lines[0]).type, 'run-start');
    assert.strictEqual(JSON.parse(lines[lines.length - 1]).type, 'run-end');
    // The status bar says what ran; Stop gives way to Train.
    await waitFor('the status bar to say the run completed', () => /tiny-mlp completed/.test(a.statusBar.item.text), 5000);
    await waitFor('the training context to clear', () => a.contextKeys['gradientMonitor.training'] === false, 5000);
    // The panel opened with the run.
    const panel = await waitFor('the gradient panel', () => a.panel());
    assert.strictEqual(panel.state.runId, run.id);
  });

  test('an exploding run is halted, its findings land on the config, and the top fix makes them go away', async () => {
    const a = await api();
    const uri = ws('exploding-mlp.gradmon.json');
    const doc = await vscode.workspace.openTextDocument(uri);
    const original = doc.getText();
    try {
      const run = await trainAndWait(a, uri);
      const h = run.history;
      assert.strictEqual(h.status, 'halted', h.reason);
      assert.ok(h.firstNonFinite, 'first non-finite step recorded');
      // The config's CodeLens offers Train again, not Stop.
      const lensTitle = async () => (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri))?.[0]?.command?.title ?? '';
      await waitFor('the CodeLens to offer Train', async () => /Train/.test(await lensTitle()), 5000).catch(async e => {
        throw new Error(`${(e as Error).message}: it says "${await lensTitle()}"`);
      });
      const explosion = [...h.findings.values()].find(f => f.rule === 'exploding-gradients');
      assert.ok(explosion, [...h.findings.values()].map(f => f.title).join('\n'));
      assert.strictEqual(explosion.layer, 'dense_2');
      // Mapped onto the config: the diagnostic sits on the layer entry, with evidence as related information.
      const diag = await waitFor('the explosion diagnostic', () => gradmonDiagnostics(uri).find(d => codeOf(d) === 'exploding-gradients'));
      assert.match(doc.getText(diag.range), /"type": "dense", "units": 64/);
      assert.strictEqual(diag.range.start.line, 7, 'model[1] is on the 8th line');
      assert.ok(diag.relatedInformation?.some(r => /Run .*steps 1/.test(r.message)), diag.relatedInformation?.map(r => r.message).join('\n'));
      // The other layers whose norms spiked with it: related locations at their own entries of "model".
      const others = (explosion.layers ?? []).filter(l => l.name !== 'dense_2');
      assert.ok(others.length > 0, `the explosion concerns only ${JSON.stringify(explosion.layers)}`);
      for (const l of others) {
        const at = diag.relatedInformation?.find(r => r.message === `Also in ${l.name} (model[${l.index}])`);
        assert.ok(at, `no related location for ${l.name}: ${diag.relatedInformation?.map(r => r.message).join(' | ')}`);
        assert.strictEqual(at.location.range.start.line, 6 + l.index, `${l.name} is model[${l.index}], on line ${7 + l.index}`);
      }
      // Diagnostics follow the findings debounced: the NaN finding (the run's last) may land an update later.
      await waitFor('the non-finite diagnostic', () => gradmonDiagnostics(uri).some(d => codeOf(d) === 'non-finite'));
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, diag.range, vscode.CodeActionKind.QuickFix.value);
      // Actions come back without their diagnostics; the most severe finding's fixes come first.
      assert.strictEqual(actions[0]?.title, 'Lower the learning rate to 0.15', actions.map(x => x.title).join('\n'));
      assert.ok(actions[0].isPreferred);

      // Apply the top fix and re-train (what the panel's "apply and re-train" button does).
      const before = a.runs.list().length;
      assert.ok(await vscode.commands.executeCommand('gradientMonitor.applyFix', { runId: run.id, findingId: explosion.id, fixId: explosion.fixes[0].id, retrain: true }));
      assert.match(doc.getText(), /"learningRate": 0\.15/);
      assert.match(doc.getText(), /\/\/ Plain SGD/);
      const rerun = await waitFor('the re-run to end', () => { const r = a.runs.list().length > before && a.runs.list()[0]; return r && r.state === 'ended' ? r : undefined; }, 120000);
      assert.strictEqual(rerun.history.status, 'completed', rerun.history.reason);
      assert.deepStrictEqual([...rerun.history.findings.values()].filter(f => f.severity !== 'info').map(f => f.title), []);
      await waitFor('the explosion diagnostic to go', () => !gradmonDiagnostics(uri).some(d => codeOf(d) === 'exploding-gradients'));
      // The panel follows the new run (the old one had ended).
      await waitFor('the panel to show the re-run', () => a.panel()?.state.runId === rerun.id, 10000).catch(e => {
        throw new Error(`${(e as Error).message}: the panel shows ${a.panel()?.state.runId}, view ${JSON.stringify(a.panel()?.state.view)}`);
      });
    } finally {
      fs.writeFileSync(uri.fsPath, original);
    }
  });

  test('Stop Training ends a run cleanly after its current step, with its summary', async () => {
    const a = await api();
    const uri = ws('long-run.gradmon.json');
    await vscode.commands.executeCommand('gradientMonitor.startTraining', uri);
    const run = await waitFor('the long run to reach step 10', () => { const r = a.runs.active; return r && r.history.step >= 10 ? r : undefined; });
    assert.strictEqual(a.contextKeys['gradientMonitor.training'], true, 'Stop shown while it trains');
    await vscode.commands.executeCommand('gradientMonitor.stopTraining');
    await waitFor('the run to end', () => run.state === 'ended');
    assert.strictEqual(run.history.status, 'stopped');
    // Train again in the monitor's and the config's title bars, and Stop disabled: nothing runs any more.
    await waitFor('the training context to clear', () => a.contextKeys['gradientMonitor.training'] === false, 5000);
    assert.ok(fs.existsSync(path.join(run.history.runDir!, 'summary.json')));
  });

  test('a killed training process is reported, its log up to the last step stays readable, and a new run starts', async () => {
    const a = await api();
    const uri = ws('long-run.gradmon.json');
    await vscode.commands.executeCommand('gradientMonitor.startTraining', uri);
    const run = await waitFor('the long run to reach step 10', () => { const r = a.runs.active; return r && r.history.step >= 10 ? r : undefined; });
    process.kill(run.worker!.pid!, 'SIGKILL');
    await waitFor('the run to end', () => run.state === 'ended');
    assert.strictEqual(run.history.status, 'failed');
    assert.match(run.history.reason ?? '', /killed \(SIGKILL\) at step \d+/);
    const lines = fs.readFileSync(path.join(run.history.runDir!, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
    const parsed = lines.map(l => { try { return JSON.parse(l); } catch { return undefined; } });
    assert.ok(parsed.slice(0, -1).every(Boolean), 'every line but possibly the last parses');
    const steps = parsed.filter(e => e?.type === 'step');
    assert.ok(steps.length >= 10, `${steps.length} steps logged`);
    // Reopened from its log, the run shows every logged step and says it did not finish.
    const reopened = await a.runs.openFromLog(run.history.runDir!);
    assert.ok(reopened.history.step >= steps[steps.length - 1].step);
    assert.strictEqual(reopened.history.status, 'failed');
    const next = await trainAndWait(a, ws('tiny-mlp.gradmon.json'));
    assert.strictEqual(next.history.status, 'completed');
  });

  test('a config error reported by the training process shows up on the config', async () => {
    const a = await api();
    const uri = ws('missing-data.gradmon.json');
    fs.writeFileSync(uri.fsPath, '{\n  "name": "missing-data",\n  "data": { "source": "csv", "path": "data/nowhere.csv", "textColumn": "text", "labelColumn": "label" },\n  "model": [ { "type": "embedding", "outputDim": 8 }, { "type": "lstm", "units": 8 }, { "type": "dense", "units": 2, "activation": "softmax" } ],\n  "loss": "sparseCategoricalCrossentropy",\n  "optimizer": { "type": "adam" }\n}\n');
    try {
      const run = await trainAndWait(a, uri);
      assert.ok(run.problems?.length, 'problems reported');
      const diag = await waitFor('the data diagnostic', () => gradmonDiagnostics(uri).find(d => /nowhere\.csv/.test(d.message)));
      assert.strictEqual(diag.range.start.line, 2);
    } finally {
      fs.rmSync(uri.fsPath, { force: true });
    }
  });
});

suite('Every command', () => {
  test('New Training Config creates a valid config from a template', async () => {
    await api();
    const uri = await vscode.commands.executeCommand<vscode.Uri>('gradientMonitor.newConfig', { template: 'long-range-rnn', fileName: 'new-adding.gradmon.json' });
    try {
      assert.ok(uri && fs.existsSync(uri.fsPath));
      assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, uri.fsPath);
      await waitFor('diagnostics to settle', async () => { await new Promise(r => setTimeout(r, 500)); return true; });
      assert.deepStrictEqual(gradmonDiagnostics(uri).filter(d => d.severity === vscode.DiagnosticSeverity.Error).map(d => d.message), []);
    } finally {
      if (uri) fs.rmSync(uri.fsPath, { force: true });
    }
  });

  test('Run Pre-flight Checks and Run Gradient Check', async () => {
    await api();
    const pre = await vscode.commands.executeCommand<{ warnings: number; findings: string[] }>('gradientMonitor.runPreflight', ws('exploding-mlp.gradmon.json'));
    assert.ok(pre.findings.includes('preflight/large-sgd-lr'));
    const gc = await vscode.commands.executeCommand<{ passed: boolean; layers: unknown[] }>('gradientMonitor.runGradientCheck', ws('tiny-mlp.gradmon.json'));
    assert.ok(gc.passed, JSON.stringify(gc));
    assert.strictEqual(gc.layers.length, 2);
  });

  test('Open Run, Export Run (JSON, CSV), Compare Runs, Select Backend, Open Panel', async () => {
    const a = await api();
    const root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const runsDir = path.join(root, '.gradmon', 'runs');
    const dirs = fs.readdirSync(runsDir).map(d => path.join(runsDir, d)).filter(d => fs.existsSync(path.join(d, 'summary.json')));
    assert.ok(dirs.length >= 2, 'earlier tests left runs');
    const id = await vscode.commands.executeCommand<string>('gradientMonitor.openRun', dirs[0]);
    assert.ok(a.runs.get(id));
    const csvTarget = vscode.Uri.file(path.join(root, 'export.csv'));
    await vscode.commands.executeCommand('gradientMonitor.exportRun', dirs[0], 'csv', csvTarget);
    const csv = fs.readFileSync(csvTarget.fsPath, 'utf8').trim().split('\n');
    assert.match(csv[0], /^step,epoch,loss,accuracy,learning_rate,global_norm,clipped_global_norm,/);
    assert.ok(csv.length > 5);
    const jsonTarget = vscode.Uri.file(path.join(root, 'export.json'));
    await vscode.commands.executeCommand('gradientMonitor.exportRun', dirs[0], 'json', jsonTarget);
    const json = JSON.parse(fs.readFileSync(jsonTarget.fsPath, 'utf8'));
    assert.ok(json.steps.length > 5 && json.summary && json.config);
    const report = await vscode.commands.executeCommand<string>('gradientMonitor.compareRuns', dirs.slice(0, 2));
    assert.match(report, /# Run comparison/);
    assert.match(report, /Median gradient norm per layer/);
    assert.strictEqual(await vscode.commands.executeCommand('gradientMonitor.selectBackend', 'wasm'), 'wasm');
    assert.strictEqual(vscode.workspace.getConfiguration('gradientMonitor').get('backend'), 'wasm');
    await vscode.commands.executeCommand('gradientMonitor.selectBackend', 'config');
    await vscode.commands.executeCommand('gradientMonitor.openPanel');
    assert.ok(a.panel());
    for (const f of [csvTarget, jsonTarget]) fs.rmSync(f.fsPath, { force: true });
  });

  test('a panel hidden while a new run starts shows the new run when it comes back', async () => {
    const a = await api();
    await vscode.commands.executeCommand('gradientMonitor.openPanel');
    const panel = await waitFor('the panel to be ready', () => { const p = a.panel(); return p && p.snapshotsSent > 0 ? p : undefined; });
    const shownBefore = panel.state.runId;
    // Hide it behind an editor in its own group (its webview is destroyed: retainContextWhenHidden is off).
    const doc = await vscode.workspace.openTextDocument(ws('tiny-mlp.gradmon.json'));
    await vscode.window.showTextDocument(doc, { viewColumn: panel.panel.viewColumn });
    await waitFor('the panel to be hidden', () => !panel.panel.visible);
    const run = await trainAndWait(a, ws('tiny-mlp.gradmon.json'));
    assert.notStrictEqual(run.id, shownBefore);
    await vscode.commands.executeCommand('gradientMonitor.openPanel');
    await waitFor('the panel to show the new run', () => panel.panel.visible && panel.state.runId === run.id, 10000);
  });

  test('the palette commands that ask first: Show Run History, Apply Suggested Fix, Open Training Config, Stop, Refresh', async () => {
    const a = await api();
    // Each opens a quick pick; cancelling it (Escape) must leave things as they were.
    const cancelSoon = () => setTimeout(() => void vscode.commands.executeCommand('workbench.action.closeQuickOpen'), 700);
    cancelSoon();
    await vscode.commands.executeCommand('gradientMonitor.showRunHistory');
    const exploding = ws('exploding-mlp.gradmon.json');
    await vscode.window.showTextDocument(exploding);
    const before = fs.readFileSync(exploding.fsPath, 'utf8');
    cancelSoon();
    assert.strictEqual(await vscode.commands.executeCommand('gradientMonitor.applyFix'), false, 'cancelled: nothing applied');
    assert.strictEqual(fs.readFileSync(exploding.fsPath, 'utf8'), before);
    await vscode.commands.executeCommand('gradientMonitor.openConfig', ws('tiny-mlp.gradmon.json'));
    assert.strictEqual(path.basename(vscode.window.activeTextEditor!.document.uri.fsPath), 'tiny-mlp.gradmon.json');
    assert.strictEqual(a.runs.active, undefined);
    await vscode.commands.executeCommand('gradientMonitor.stopTraining'); // nothing running: says so, no error
    await vscode.commands.executeCommand('gradientMonitor.refreshRuns');
  });

  test('webviews: strict CSP with a nonce, local assets only, no remote content', async () => {
    const a = await api();
    await vscode.commands.executeCommand('gradientMonitor.openPanel');
    const html = a.panel()!.panel.webview.html;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /^default-src 'none'; /);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce && nonce.length >= 16, 'a script nonce');
    assert.ok(!/unsafe-inline|unsafe-eval|https?:\/\/(?!.*vscode)/.test(csp.replace(a.panel()!.panel.webview.cspSource, '')), csp);
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      assert.ok(m[1].startsWith(a.panel()!.panel.webview.asWebviewUri(vscode.Uri.file('/')).scheme + ':'), `asset through asWebviewUri: ${m[1]}`);
      assert.ok(/\/dist\/media\/panel\.(js|css)$/.test(m[1]), `only the built media folder: ${m[1]}`);
    }
    assert.match(html, new RegExp(`<script nonce="${nonce!.replace(/[+/=]/g, c => `\\${c}`)}" src=`));
    assert.deepStrictEqual(a.panel()!.panel.webview.options.localResourceRoots?.map(u => u.path.replace(/.*\/(dist\/media)$/, '$1')), ['dist/media']);
  });

  test('the sidebar monitor resolves and shows the latest run', async () => {
    const a = await api();
    await vscode.commands.executeCommand('workbench.view.extension.gradientMonitor');
    await waitFor('the sidebar webview to say ready', () => a.sidebar.resolved);
    const model = await waitFor('a sidebar model', () => a.sidebar.lastModel?.run && a.sidebar.lastModel);
    assert.ok(model.trusted);
    assert.ok(model.run!.layers.length > 0);
    assert.ok(model.hasConfigs);
  });

  test('the sidebar monitor hidden by the user and shown again is resolved anew and kept up to date', async () => {
    const a = await api();
    await vscode.commands.executeCommand('workbench.view.extension.gradientMonitor');
    await waitFor('the sidebar webview to say ready', () => a.sidebar.resolved);
    // The view's own "Hide" (its title bar's context menu): VS Code disposes the webview view.
    await vscode.commands.executeCommand(`${SIDEBAR_VIEW}.removeView`);
    await waitFor('the sidebar to let go of the hidden view', () => !a.sidebar.resolved);
    a.sidebar.lastModel = undefined;
    await vscode.commands.executeCommand(`${SIDEBAR_VIEW}.focus`);
    await waitFor('the shown-again sidebar webview to say ready', () => a.sidebar.resolved);
    const model = await waitFor('a model for the shown-again sidebar', () => a.sidebar.lastModel?.run && a.sidebar.lastModel);
    assert.ok(model.run!.layers.length > 0);
  });
});
