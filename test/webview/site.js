// The webviews as static pages, without VS Code: the bundles built from media/ exactly as scripts/bundle.js
// builds them, the page VS Code's host builds (src/host/webviewHtml.ts: same CSP, nonce, markup), plus what
// VS Code itself adds to a webview: `acquireVsCodeApi` (here a fake that records messages and holds state)
// and the theme (CSS variables on <html>, a class on <body>). Served on 127.0.0.1 only.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { themes } = require('./themes');

const root = path.resolve(__dirname, '..', '..');

/** Bundles the two webviews into `outDir` with the options of scripts/bundle.js (browser, IIFE, es2022). */
async function buildWebviews(outDir) {
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of ['panel', 'sidebar']) {
    await esbuild.build({
      entryPoints: [path.join(root, 'media', name, 'main.ts')], outfile: path.join(outDir, `${name}.js`),
      bundle: true, sourcemap: true, minify: false, logLevel: 'warning', platform: 'browser', format: 'iife', target: 'es2022',
    });
    fs.copyFileSync(path.join(root, 'media', name, `${name}.css`), path.join(outDir, `${name}.css`));
  }
  // Both sheets @import the shared one from beside them, as in dist/media.
  fs.copyFileSync(path.join(root, 'media', 'shared', 'common.css'), path.join(outDir, 'common.css'));
  fs.writeFileSync(path.join(outDir, 'fake-vscode.js'), FAKE_VSCODE);
}

// What VS Code provides inside a webview, faked: acquireVsCodeApi (callable once, as in VS Code), the state
// (from ?state=, so a test can "reload" a page with the state the previous one saved), the theme, and a
// record of CSP violations. Messages go to window.__host.messages and, when the test runner exposed it, to
// window.__gradmonHost (the fake extension host on the Node side).
const FAKE_VSCODE = `'use strict';
(() => {
  const params = new URLSearchParams(location.search);
  const themes = ${JSON.stringify(themes)};
  let state = params.has('state') ? JSON.parse(params.get('state')) : undefined;
  let acquired = 0;
  const host = window.__host = { messages: [], cspViolations: [], acquired: () => acquired, state: () => state };
  document.addEventListener('securitypolicyviolation', e => host.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  window.acquireVsCodeApi = () => {
    if (++acquired > 1) throw new Error('An instance of the VS Code API has already been acquired');
    return Object.freeze({
      postMessage: message => {
        const copy = JSON.parse(JSON.stringify(message)); // VS Code serializes messages too
        host.messages.push(copy);
        if (window.__gradmonHost) window.__gradmonHost(copy);
      },
      getState: () => state,
      setState: s => { state = JSON.parse(JSON.stringify(s)); return s; },
    });
  };
  window.__setTheme = name => {
    const t = themes[name];
    document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast', 'vscode-high-contrast-light');
    document.body.classList.add(t.bodyClass);
    document.body.dataset.vscodeThemeKind = t.bodyClass;
    const style = document.documentElement.style;
    for (const name of [...style]) if (name.startsWith('--vscode-')) style.removeProperty(name);
    for (const [k, v] of Object.entries(t.vars)) style.setProperty(k, v);
    // VS Code shows a webview on its container's background: the side bar's for a view, the editor's for a panel.
    style.backgroundColor = location.pathname.includes('sidebar') ? 'var(--vscode-sideBar-background)' : 'var(--vscode-editor-background)';
  };
  window.__setTheme(params.get('theme') || 'dark');
})();
`;

function pageHtml(kind, origin) {
  const nonce = crypto.randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'", `img-src ${origin} data:`, `style-src ${origin}`, `script-src 'nonce-${nonce}'`, `font-src ${origin}`,
  ].join('; ');
  return '<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${csp};">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">' +
    `<link rel="stylesheet" href="${origin}/${kind}.css"><title>Gradient Monitor</title></head>` +
    '<body><div id="root"></div>' +
    `<script nonce="${nonce}" src="${origin}/fake-vscode.js"></script>` +
    `<script nonce="${nonce}" src="${origin}/${kind}.js"></script></body></html>`;
}

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.html': 'text/html' };

/** Serves the built webviews on 127.0.0.1 (a port the kernel picks); resolves to { origin, close }. */
function serve(siteDir) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const page = /^\/(panel|sidebar)\.html$/.exec(url.pathname);
    if (page) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(pageHtml(page[1], `http://127.0.0.1:${server.address().port}`));
      return;
    }
    const file = path.join(siteDir, path.basename(url.pathname));
    if (url.pathname === '/favicon.ico') { // asked for by the browser, not by the page
      res.writeHead(204);
      res.end();
      return;
    }
    if (!fs.existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      origin: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise(r => server.close(() => r())),
    }));
  });
}

module.exports = { buildWebviews, serve };
