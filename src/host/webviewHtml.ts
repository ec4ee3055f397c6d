// The HTML shell of the webviews: strict CSP with a per-load nonce, every asset through asWebviewUri.

import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

export function webviewHtml(webview: vscode.Webview, mediaRoot: vscode.Uri, name: 'panel' | 'sidebar', title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, file)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="${csp};"><meta name="viewport" content="width=device-width, initial-scale=1.0"><link rel="stylesheet" href="${asset(`${name}.css`)}"><title>${title}</title></head><body><div id="root"></div><script nonce="${nonce}" src="${asset(`${name}.js`)}"></script></body></html>`;
}

/** Options re-applied on every creation and restore: scripts on, resources only from the built media folder. */
export function webviewOptions(mediaRoot: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [mediaRoot] };
}
