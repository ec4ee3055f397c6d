// esbuild bundles: the extension host entry and the training worker for Node (vscode and the TensorFlow.js
// packages external, so the native backend and wasm binaries load from node_modules), the webviews for the
// browser (Chart.js bundled in, no network at run time).
'use strict';
const path = require('path');
const fs = require('fs');

async function bundleAll(root) {
  const esbuild = require('esbuild');
  const production = process.env.NODE_ENV === 'production';
  const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };
  const nodeExternal = ['vscode', '@tensorflow/*'];
  const nodeEntries = [
    ['src/extension.ts', 'dist/extension.js'],
    ['src/worker/main.ts', 'dist/worker.js'],
    // The monitor thread the engine starts next to its training loop (src/engine/monitorThread.ts finds it beside itself).
    ['src/engine/monitorThread.ts', 'dist/monitorThread.js'],
    ['src/cli/main.ts', 'dist/cli.js'],
  ].filter(([src]) => fs.existsSync(path.join(root, src)));
  const webEntries = [
    ['media/panel/main.ts', 'dist/media/panel.js'],
    ['media/sidebar/main.ts', 'dist/media/sidebar.js'],
  ].filter(([src]) => fs.existsSync(path.join(root, src)));
  await Promise.all([
    ...nodeEntries.map(([src, out]) => esbuild.build({
      ...common, entryPoints: [path.join(root, src)], outfile: path.join(root, out),
      platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal,
      // jsonc-parser's UMD build hides its requires from esbuild; its ESM build bundles cleanly.
      mainFields: ['module', 'main'],
    })),
    ...webEntries.map(([src, out]) => esbuild.build({
      ...common, entryPoints: [path.join(root, src)], outfile: path.join(root, out),
      platform: 'browser', format: 'iife', target: 'es2022',
    })),
  ]);
  // Stylesheets and icons go next to the webview bundles (served through asWebviewUri).
  const mediaOut = path.join(root, 'dist', 'media');
  fs.mkdirSync(mediaOut, { recursive: true });
  const mediaSrc = path.join(root, 'media');
  for (const f of fs.existsSync(mediaSrc) ? fs.readdirSync(mediaSrc, { recursive: true }) : []) {
    const src = path.join(root, 'media', String(f));
    if (/\.(css|svg|png)$/.test(src) && fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(mediaOut, path.basename(src)));
  }
}

module.exports = { bundleAll };
