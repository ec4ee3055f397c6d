// Extension entry: builds the pieces and hands every disposable to the extension context.
import * as vscode from 'vscode';

let output: vscode.OutputChannel | undefined;

export function activate(context: vscode.ExtensionContext) {
  output = vscode.window.createOutputChannel('Gradient Monitor', { log: true });
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('gradientMonitor.showOutput', () => output?.show(true)),
  );
  return { version: context.extension.packageJSON.version as string };
}

export function deactivate() {
  output = undefined;
}
