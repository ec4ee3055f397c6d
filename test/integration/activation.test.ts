// The extension loads from the development path, activates in the real extension host, and every command
// it contributes is registered and runs.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'gradmon.gradient-monitor';

async function activeExtension(): Promise<vscode.Extension<{ version: string }>> {
  const extension = vscode.extensions.getExtension<{ version: string }>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is not loaded; loaded: ${vscode.extensions.all.map(e => e.id).filter(id => !id.startsWith('vscode.')).join(', ')}`);
  await extension.activate();
  return extension;
}

suite('Activation', () => {
  test('runs in a real VS Code with the fixture workspace open', () => {
    assert.match(vscode.version, /^\d+\.\d+\.\d+/);
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'a workspace folder is open');
    assert.ok(fs.existsSync(path.join(folder.uri.fsPath, 'README.md')), `the fixture workspace is open (got ${folder.uri.fsPath})`);
  });

  test(`${EXTENSION_ID} is present and activates`, async () => {
    const extension = await activeExtension();
    assert.strictEqual(extension.isActive, true);
    assert.strictEqual(extension.exports.version, extension.packageJSON.version, 'activate() returns the API with the version');
  });

  test('every contributed command is registered', async () => {
    const extension = await activeExtension();
    const contributed: { command: string }[] = extension.packageJSON.contributes?.commands ?? [];
    assert.ok(contributed.some(c => c.command === 'gradientMonitor.showOutput'), 'gradientMonitor.showOutput is contributed');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map(c => c.command).filter(c => !registered.has(c));
    assert.deepStrictEqual(missing, [], 'contributed but not registered');
  });

  test('gradientMonitor.showOutput runs', async () => {
    await activeExtension();
    await vscode.commands.executeCommand('gradientMonitor.showOutput');
  });
});
