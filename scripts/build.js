#!/usr/bin/env node
// Builds everything: type-checks and compiles TypeScript to out/ (tests, CLI), bundles the extension,
// the training worker and the webviews with esbuild into dist/. `--watch` is not supported on purpose:
// the build takes seconds. Usage: node scripts/build.js [--no-tsc] [--production] (minified, no source maps)
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const fs = require('fs');
const root = path.resolve(__dirname, '..');

function run(cmd, args) {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
  } catch (e) {
    // The tool printed its errors above; a Node stack trace here would only bury them.
    console.error(`[build] failed: ${path.basename(args[0] || cmd)} exited with ${e.status ?? e.signal}`);
    process.exit(1);
  }
}

const t0 = Date.now();
if (process.argv.includes('--production')) process.env.NODE_ENV = 'production';
if (!process.argv.includes('--no-tsc')) {
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
  // The webviews are browser code with their own settings (DOM types), type-checked apart.
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join('media', 'tsconfig.json')]);
}
// The JSON Schema the extension contributes is generated from src/config/schema.ts (one source of truth).
const schemaModule = path.join(root, 'out', 'src', 'config', 'schema.js');
if (fs.existsSync(schemaModule)) {
  const { CONFIG_SCHEMA } = require(schemaModule);
  fs.mkdirSync(path.join(root, 'schemas'), { recursive: true });
  fs.writeFileSync(path.join(root, 'schemas', 'gradmon.schema.json'), JSON.stringify(CONFIG_SCHEMA, null, 2) + '\n');
}
const bundle = path.join(root, 'scripts', 'bundle.js');
if (fs.existsSync(bundle)) require(bundle).bundleAll(root).then(
  () => console.log(`[build] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`),
  e => { console.error(e.message); process.exit(1); },
);
else console.log(`[build] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
