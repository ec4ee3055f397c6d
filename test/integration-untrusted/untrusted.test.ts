// In an untrusted workspace the extension validates configs but never trains: training runs code and reads
// data on this machine.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { GradientMonitorApi } from '../../src/extension';

suite('Untrusted workspace', () => {
  test('the workspace is untrusted and the extension activates in limited mode', async () => {
    assert.strictEqual(vscode.workspace.isTrusted, false);
    const ext = vscode.extensions.getExtension<GradientMonitorApi>('gradmon.gradient-monitor');
    assert.ok(ext);
    const api = await ext.activate();
    assert.ok(api.runs);
  });

  test('Start Training and Run Gradient Check refuse to run', async () => {
    const ext = vscode.extensions.getExtension<GradientMonitorApi>('gradmon.gradient-monitor')!;
    const api = await ext.activate();
    const folder = vscode.workspace.workspaceFolders![0];
    const uri = vscode.Uri.joinPath(folder.uri, 'tiny-mlp.gradmon.json');
    const before = api.runs.list().filter(r => r.live).length;
    const result = await vscode.commands.executeCommand('gradientMonitor.startTraining', uri);
    assert.strictEqual(result, undefined);
    await new Promise(r => setTimeout(r, 1000));
    assert.strictEqual(api.runs.list().filter(r => r.live).length, before, 'no run was started');
    assert.strictEqual(api.runs.active, undefined);
    const gc = await vscode.commands.executeCommand<{ error?: string }>('gradientMonitor.runGradientCheck', uri);
    assert.match(gc?.error ?? '', /trusted/);
  });

  test('config diagnostics still work', async () => {
    const folder = vscode.workspace.workspaceFolders![0];
    const uri = vscode.Uri.joinPath(folder.uri, 'broken.gradmon.json');
    await vscode.window.showTextDocument(uri);
    const end = Date.now() + 20000;
    while (!vscode.languages.getDiagnostics(uri).some(d => d.source === 'Gradient Monitor') && Date.now() < end) await new Promise(r => setTimeout(r, 100));
    assert.ok(vscode.languages.getDiagnostics(uri).some(d => d.source === 'Gradient Monitor' && /Write 32 without quotes/.test(d.message)));
  });
});
