// Where the real-VS-Code test tools live and which versions they must be: shared by install.js (which puts
// them there) and the runners (which refuse to start, with the command to run, when they are missing).
'use strict';
const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..', '..');
// Git-ignored (.tools/). GRADMON_TOOLS_DIR moves it, e.g. to a CI cache directory.
const toolsDir = path.resolve(process.env.GRADMON_TOOLS_DIR || path.join(repoRoot, '.tools', 'vscode-test'));

const versions = {
  // The last code-server on npm whose engines allow Node 20 (4.103+ need Node 22); it is VS Code 1.100.3,
  // which is why engines.vscode must stay at or below ^1.100.0.
  'code-server': '4.100.3',
  'playwright-core': '1.65.1',
};

// Written by install.js only after every step succeeded: a half-finished install (code-server's postinstall
// builds native modules and can fail midway) never looks complete.
const stampFile = path.join(toolsDir, '.gradmon-tools.json');

const codeServerBin = path.join(toolsDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

function installedVersion(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(toolsDir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

// Reasons the tools are not ready; empty when they are.
function toolProblems() {
  const problems = [];
  for (const [pkg, want] of Object.entries(versions)) {
    const have = installedVersion(pkg);
    if (have !== want) problems.push(`${pkg} ${have ? have + ' installed' : 'not installed'}, need ${want}`);
  }
  // code-server's postinstall installs VS Code's own node_modules; without them the server cannot start.
  const vscodeModules = path.join(toolsDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules');
  if (installedVersion('code-server') && !fs.existsSync(vscodeModules)) {
    problems.push(`code-server's postinstall did not finish (${vscodeModules} missing; did npm skip install scripts?)`);
  }
  let stamp;
  try { stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8')); } catch { /* missing or torn */ }
  if (!problems.length && (!stamp || Object.entries(versions).some(([k, v]) => stamp[k] !== v))) problems.push(`no complete-install stamp ${stampFile}`);
  return problems;
}

function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (fs.existsSync(p)) return p;
  return '/usr/bin/chromium';
}

// Throws with the fix when the tools are not installed; returns playwright-core.
function requireTools() {
  const problems = toolProblems();
  if (!fs.existsSync(chromiumPath())) problems.push(`no Chromium at ${chromiumPath()} (set CHROMIUM_PATH or install Debian's chromium)`);
  if (problems.length) {
    const error = new Error(`the real-VS-Code test tools are not ready in ${toolsDir}:\n  - ${problems.join('\n  - ')}\n` +
      'Run: node test/harness/install.js');
    error.isSetupError = true; // the message says it all; no stack trace
    throw error;
  }
  return require(path.join(toolsDir, 'node_modules', 'playwright-core'));
}

module.exports = { repoRoot, toolsDir, versions, stampFile, codeServerBin, installedVersion, toolProblems, chromiumPath, requireTools };
