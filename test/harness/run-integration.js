#!/usr/bin/env node
// Runs the Mocha integration suites inside a real VS Code extension host; the exit code is the verdict.
//
//   node test/harness/run-integration.js [extensionDevelopmentPath] [extensionTestsPath] [workspaceFolder]
//   node test/harness/run-integration.js --self-test
//
// Defaults: the repo root, out/test/integration/index.js, and a fresh copy of test/fixtures/workspace (an
// explicitly given workspace folder is used in place). Build first: node scripts/build.js.
// Which VS Code:
//   electron     @vscode/test-electron's runTests: desktop VS Code, VSCODE_EXECUTABLE or a download
//   code-server  code-server's Node extension host in headless Chromium (node test/harness/install.js first)
// chosen by GRADMON_VSCODE_RUNNER=electron|code-server, else electron when VSCODE_EXECUTABLE is set or
// update.code.visualstudio.com answers within 3 s, else code-server.
// Env: GRADMON_TEST_TIMEOUT_S (default 1200) whole-run limit; GRADMON_TEST_REPORT, GRADMON_TEST_GREP reach the
//      Mocha entry; GRADMON_VSCODE_VERSION (electron download, default stable); KEEP_RUN_DIR=1 keeps the run
//      directory; GRADMON_BROWSER_CONSOLE=1 echoes the browser console; GRADMON_TRACE=file.json (code-server)
//      records a Chromium trace of the whole run.
// --untrusted opens the workspace untrusted (workspace trust enabled) and runs out/test/integration-untrusted.
// --self-test runs the deliberately failing entry (out/test/integration-fail) and expects exit code 1 with a
// JSON report of 1 pass + 1 failure, then the real entry and expects 0.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');
const tools = require('./tools');
const session = require('./session');

const { repoRoot } = tools;
const log = msg => console.log(`[integration] ${msg}`);
const runTimeoutS = Number(process.env.GRADMON_TEST_TIMEOUT_S || 1200);

const USAGE = 'usage: node test/harness/run-integration.js [extensionDevelopmentPath] [extensionTestsPath] [workspaceFolder]\n' +
  '       node test/harness/run-integration.js --self-test';

// Resolves to '' when update.code.visualstudio.com answers at all (any HTTP status) within `timeoutMs`, else to
// the reason it did not.
function vscodeDownloadBlocker(timeoutMs = 3000) {
  return new Promise(resolve => {
    const req = https.request('https://update.code.visualstudio.com/api/releases/stable', { method: 'HEAD', timeout: timeoutMs }, res => {
      res.resume();
      resolve('');
    });
    // `timeout` alone does not cover DNS and connect
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', e => resolve(e.code || e.message));
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}

async function chooseRunner() {
  const forced = process.env.GRADMON_VSCODE_RUNNER;
  if (forced) {
    if (!['electron', 'code-server'].includes(forced)) throw new Error(`GRADMON_VSCODE_RUNNER must be electron or code-server, not '${forced}'`);
    return { runner: forced, why: 'GRADMON_VSCODE_RUNNER' };
  }
  if (process.env.VSCODE_EXECUTABLE) return { runner: 'electron', why: `VSCODE_EXECUTABLE=${process.env.VSCODE_EXECUTABLE}` };
  const blocker = await vscodeDownloadBlocker();
  if (!blocker) return { runner: 'electron', why: 'update.code.visualstudio.com answers, so VS Code can be downloaded' };
  return { runner: 'code-server', why: `VS Code cannot be downloaded: update.code.visualstudio.com: ${blocker}` };
}

function parseArgs(argv) {
  const positional = argv.filter(a => !a.startsWith('--'));
  const unknown = argv.filter(a => a.startsWith('--') && a !== '--self-test' && a !== '--untrusted');
  if (argv.includes('--help') || unknown.length || positional.length > 3) {
    console.error(USAGE);
    process.exit(argv.includes('--help') ? 0 : 2);
  }
  const entry = argv.includes('--untrusted') ? 'integration-untrusted' : 'integration';
  const [devPath = repoRoot, testsPath = path.join(repoRoot, 'out', 'test', entry, 'index.js'), workspace] = positional;
  return { devPath: path.resolve(devPath), testsPath: path.resolve(testsPath), workspace: workspace && path.resolve(workspace) };
}

function checkBuilt({ devPath, testsPath }) {
  const problems = [];
  const manifest = path.join(devPath, 'package.json');
  if (!fs.existsSync(manifest)) problems.push(`no extension manifest ${manifest}`);
  else {
    const main = JSON.parse(fs.readFileSync(manifest, 'utf8')).main;
    if (main && !fs.existsSync(path.resolve(devPath, main)) && !fs.existsSync(path.resolve(devPath, main + '.js'))) problems.push(`the extension's main ${main} is not built`);
  }
  if (!fs.existsSync(testsPath)) problems.push(`no tests entry ${testsPath}`);
  if (problems.length) throw new Error(`${problems.join('; ')}. Build first: node scripts/build.js`);
}

// --- code-server + Chromium --------------------------------------------------------------------------------
async function runInCodeServer({ devPath, testsPath, workspace }, runDir) {
  const server = await session.startCodeServer(runDir);
  const { browser, page, consoleLines } = await session.launchBrowser(runDir);
  let resolveExit;
  const exited = new Promise(r => { resolveExit = r; });
  // What @vscode/test-web does: the workbench forwards the extension host's console to codeAutomationLog and
  // calls codeAutomationExit(code) once the tests entry's run() settles.
  await page.exposeFunction('codeAutomationLog', (type, args) => { (console[type] || console.log)(...args); });
  await page.exposeFunction('codeAutomationExit', code => resolveExit(code));
  const crashed = new Promise(r => page.on('crash', () => r('the workbench page crashed')));
  const serverGone = new Promise(r => {
    const timer = setInterval(() => { try { process.kill(server.pid, 0); } catch { clearInterval(timer); r('code-server ended'); } }, 1000);
    timer.unref();
  });
  // GRADMON_TRACE=file.json: a Chromium trace of the whole run (the workbench and its webviews: script, layout,
  // paint, rasterization per thread), for bench/vscode-responsiveness.js.
  const trace = process.env.GRADMON_TRACE;
  if (trace) await browser.startTracing(page, { path: trace, screenshots: false, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc', 'v8.execute', 'toplevel'] });
  await page.goto(session.workbenchUrl(server, { devPath, testsPath, folder: workspace }));
  const outcome = await Promise.race([exited, crashed, serverGone]);
  if (trace) await browser.stopTracing().catch(e => log(`the trace could not be written: ${e.message}`));
  if (typeof outcome === 'number') {
    log(`extension host exit code: ${outcome}`);
    return { code: outcome === 0 ? 0 : 1, consoleLines };
  }
  log(`FAILED: ${outcome}`);
  return { code: 1, consoleLines };
}

// --- @vscode/test-electron -----------------------------------------------------------------------------------
// runTests runs in a child Node process of its own process group, so a hung VS Code can be ended as a whole.
function runInElectron({ devPath, testsPath, workspace }, runDir) {
  let testElectron;
  try {
    testElectron = require.resolve('@vscode/test-electron', { paths: [repoRoot] });
  } catch {
    throw new Error('@vscode/test-electron is not installed: run npm ci (it is a devDependency)');
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    log('warning: no DISPLAY; desktop VS Code needs an X server on Linux (run under xvfb-run -a)');
  }
  const options = {
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
    version: process.env.GRADMON_VSCODE_VERSION || undefined,
    cachePath: path.join(repoRoot, '.vscode-test'),
    extensionDevelopmentPath: devPath,
    extensionTestsPath: testsPath,
    launchArgs: [workspace, '--disable-extensions', ...(session.trustEnabled() ? [] : ['--disable-workspace-trust']), '--skip-welcome', '--skip-release-notes',
      '--disable-telemetry', `--user-data-dir=${path.join(runDir, 'user-data')}`, `--extensions-dir=${path.join(runDir, 'extensions')}`],
  };
  const script = `require(${JSON.stringify(testElectron)}).runTests(${JSON.stringify(options)})` +
    '.then(() => process.exit(0), e => { console.error(e && e.message || e); process.exit(1); });';
  // HOME, XDG dirs and TMPDIR in the run directory, as for code-server: VS Code writes nothing into the real $HOME.
  const child = session.spawnGroup(process.execPath, ['-e', script], { stdio: 'inherit', env: session.isolatedEnv(runDir) });
  session.onCleanup(() => session.killGroup(child.pid));
  return new Promise(resolve => child.on('exit', code => resolve({ code: code === 0 ? 0 : 1 })));
}

async function runOnce(target) {
  const started = Date.now();
  // The extension host's working directory is not ours: make the report path absolute.
  if (process.env.GRADMON_TEST_REPORT) process.env.GRADMON_TEST_REPORT = path.resolve(process.env.GRADMON_TEST_REPORT);
  checkBuilt(target);
  // Logs of an earlier failure would mislead next to this run's result.
  const logsDir = path.join(repoRoot, 'test-results', 'integration', 'logs');
  fs.rmSync(logsDir, { recursive: true, force: true });
  const { runner, why } = await chooseRunner();
  log(`runner: ${runner} (${why})`);
  log(`extension ${target.devPath}, tests ${target.testsPath}`);
  if (runner === 'code-server') tools.requireTools();
  const runDir = session.makeRunDir('integration');
  const workspace = target.workspace || session.copyFixtureWorkspace(runDir);
  log(`workspace ${workspace}${target.workspace ? '' : ' (fresh copy of test/fixtures/workspace)'}`);
  const run = runner === 'electron' ? runInElectron({ ...target, workspace }, runDir) : runInCodeServer({ ...target, workspace }, runDir);
  let result;
  try {
    result = await session.withTimeout(run, runTimeoutS * 1000,
      `integration tests did not finish within ${runTimeoutS} s (GRADMON_TEST_TIMEOUT_S); ending VS Code`);
  } catch (e) {
    console.error(`[integration] FAILED: ${e.message}`);
    result = { code: 1 };
  }
  if (result.code !== 0 && runner === 'code-server') {
    const saved = session.saveLogs(runDir, logsDir, result.consoleLines);
    if (saved) log(`code-server and VS Code logs copied to ${saved} (server.log, vscode-logs/, browser-console.log)`);
  }
  await session.cleanup();
  log(`${result.code === 0 ? 'PASSED' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s (exit code ${result.code})`);
  return result.code;
}

// Runs this script as a child and checks its exit code (and, for the failing entry, the JSON report).
function selfTest() {
  const failEntry = path.join(repoRoot, 'out', 'test', 'integration-fail', 'index.js');
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-selftest-')), 'report.json');
  const checks = [];
  const child = (title, args, env) => {
    log(`self-test: ${title}`);
    return spawnSync(process.execPath, [__filename, ...args], { stdio: 'inherit', env: { ...process.env, ...env } }).status;
  };
  const failCode = child('the deliberately failing suite must fail', [repoRoot, failEntry], { GRADMON_TEST_REPORT: report, GRADMON_TEST_GREP: '' });
  checks.push([`failing suite exits with 1 (got ${failCode})`, failCode === 1]);
  let stats;
  try { stats = JSON.parse(fs.readFileSync(report, 'utf8')).stats; } catch (e) { stats = { error: e.message }; }
  checks.push([`its JSON report has 1 pass and 1 failure (got ${JSON.stringify(stats && { passes: stats.passes, failures: stats.failures, error: stats.error })})`,
    stats && stats.passes === 1 && stats.failures === 1]);
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  const passCode = child('the real suites must pass', [], {});
  checks.push([`real suites exit with 0 (got ${passCode})`, passCode === 0]);
  for (const [what, ok] of checks) log(`self-test ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  const ok = checks.every(c => c[1]);
  log(`self-test ${ok ? 'PASSED' : 'FAILED'}`);
  return ok ? 0 : 1;
}

(async () => {
  const argv = process.argv.slice(2);
  // --untrusted: the folder opens untrusted (workspace trust on) and the untrusted-workspace suites run.
  if (argv.includes('--untrusted')) process.env.GRADMON_WORKSPACE_TRUST = 'enabled';
  const code = argv.includes('--self-test') ? selfTest() : await runOnce(parseArgs(argv));
  process.exit(code);
})().catch(async e => {
  console.error(`[integration] ${e.message}`);
  await session.cleanup();
  process.exit(1);
});
