// The machinery under run-integration.js and ui.js: throw-away run directories, child processes in their own
// process groups that are ended on success, failure, timeout and signals (and by a watchdog if the harness
// itself is killed), code-server on 127.0.0.1, headless Chromium, and the workbench URL that loads the
// extension under development.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const tools = require('./tools');

const keepRunDir = Boolean(process.env.KEEP_RUN_DIR);
const sleep = ms => new Promise(r => setTimeout(r, ms));
const log = msg => console.log(`[harness] ${msg}`);

// Rejects with `message` when `promise` has not settled within `ms`; the timer never keeps Node alive.
function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new TimeoutError(message)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
class TimeoutError extends Error {}

// --- ending what we started ------------------------------------------------------------------------------
const cleanups = []; // async functions, run last-registered first
const liveGroups = new Set(); // process group ids started here and not yet ended
const runDirs = new Set(); // run directories to remove (unless KEEP_RUN_DIR)
let watchdogFile; // where the watchdog reads the live process groups from
let cleaning;

function onCleanup(fn) { cleanups.push(fn); }

// Runs every registered cleanup once (later calls get the same promise).
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop();
      try { await withTimeout(Promise.resolve().then(fn), 20000, 'a cleanup step took over 20 s'); } catch (e) { console.error(`[harness] cleanup: ${e.message}`); }
    }
  })();
  return cleaning;
}

// Processes of a group that still run. Zombies do not count: PID 1 in a container may never reap them.
function groupMembers(pgid) {
  try {
    const members = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let stat;
      try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
      // pid (comm) state ppid pgrp ... ; comm may contain spaces and parentheses
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
    }
    return members;
  } catch {
    try { process.kill(-pgid, 0); return [pgid]; } catch { return []; } // no /proc
  }
}

function writeWatchdogFile() {
  if (watchdogFile) try { fs.writeFileSync(watchdogFile, [...liveGroups].join('\n')); } catch { /* run dir gone */ }
}

// Starts `command` as the leader of a new process group (setsid), so that it and everything it forks can be
// ended together: code-server's file watchers and extension host were seen to outlive a plain SIGTERM.
function spawnGroup(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid) {
    liveGroups.add(child.pid);
    writeWatchdogFile();
  }
  return child;
}

// SIGTERM to the whole group, SIGKILL to what is left after `graceMs`.
async function killGroup(pgid, graceMs = 5000) {
  const signalGroup = sig => { try { process.kill(-pgid, sig); } catch { /* already gone */ } };
  if (groupMembers(pgid).length) {
    signalGroup('SIGTERM');
    for (const end = Date.now() + graceMs; Date.now() < end && groupMembers(pgid).length;) await sleep(100);
    if (groupMembers(pgid).length) {
      signalGroup('SIGKILL');
      for (const end = Date.now() + 3000; Date.now() < end && groupMembers(pgid).length;) await sleep(100);
    }
    const left = groupMembers(pgid);
    if (left.length) console.error(`[harness] process group ${pgid} still has processes ${left.join(' ')} after SIGKILL`);
  }
  liveGroups.delete(pgid);
  writeWatchdogFile();
}

// Last resort, synchronous: on process exit (including process.exit() and uncaught errors).
process.on('exit', () => {
  for (const pgid of liveGroups) try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  if (!keepRunDir) for (const dir of runDirs) try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
});

let signalled = false;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    if (signalled) process.exit(code); // a second signal: the exit handler SIGKILLs what is left
    signalled = true;
    console.error(`[harness] ${signal}: stopping code-server and the browser, removing run directories`);
    cleanup().finally(() => process.exit(code));
  });
}

// A detached watcher that ends our process groups and removes the run directory if this process dies
// without cleaning up (SIGKILL, OOM). Ended by our own cleanup otherwise.
const WATCHDOG = `
const fs = require('fs');
const [parent, groupsFile, runDir, keep] = process.argv.slice(1);
const alive = pid => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const groups = () => { try { return fs.readFileSync(groupsFile, 'utf8').split(/\\s+/).filter(Boolean).map(Number); } catch { return []; } };
const signal = (gs, sig) => { for (const g of gs) try { process.kill(-g, sig); } catch {} };
const timer = setInterval(() => {
  if (alive(Number(parent))) return;
  clearInterval(timer);
  const gs = groups();
  signal(gs, 'SIGTERM');
  setTimeout(() => {
    signal(gs, 'SIGKILL');
    if (!keep) fs.rmSync(runDir, { recursive: true, force: true });
  }, 3000);
}, 1000);
`;

function startWatchdog(runDir) {
  watchdogFile = path.join(runDir, 'process-groups');
  writeWatchdogFile();
  const dog = spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), watchdogFile, runDir, keepRunDir ? '1' : ''],
    { detached: true, stdio: 'ignore' });
  dog.unref();
  onCleanup(() => { try { process.kill(dog.pid, 'SIGKILL'); } catch { /* gone */ } });
}

// --- run directories -------------------------------------------------------------------------------------
const WORKBENCH_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'window.restoreWindows': 'none',
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
};

// A fresh directory for one run: VS Code's user data and extensions, XDG dirs, TMPDIR and HOME for the
// processes we start (nothing lands in the real $HOME), the workspace copy, logs. Removed at cleanup unless
// KEEP_RUN_DIR=1. Also starts the watchdog.
function trustEnabled() {
  return process.env.GRADMON_WORKSPACE_TRUST === 'enabled';
}

function makeRunDir(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gradmon-${kind}-`));
  runDirs.add(dir);
  onCleanup(() => {
    runDirs.delete(dir);
    if (keepRunDir) log(`kept run directory ${dir} (KEEP_RUN_DIR)`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const sub of ['user-data/User', 'extensions', 'xdg-config', 'xdg-data', 'xdg-cache', 'tmp', 'home']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  // GRADMON_WORKSPACE_TRUST=enabled: VS Code asks for workspace trust as it does for users (the fixture folder
  // then opens untrusted), for the suites that check what the extension refuses to do there.
  const settings = trustEnabled() ? { ...WORKBENCH_SETTINGS, 'security.workspace.trust.enabled': true } : WORKBENCH_SETTINGS;
  fs.writeFileSync(path.join(dir, 'user-data', 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  startWatchdog(dir);
  return dir;
}

const INHERITED_VSCODE_VARS = /^(VSCODE_(IPC_HOOK|PID$|CWD$|NLS_CONFIG|HANDLES_|ESM_ENTRYPOINT|AMD_ENTRYPOINT|CODE_CACHE_PATH|CRASH_REPORTER|PROXY_URI|L10N)|ELECTRON_RUN_AS_NODE$|ELECTRON_NO_ATTACH_CONSOLE$)/;

// Environment for processes we start: their config, caches, temp files and home inside the run directory.
function isolatedEnv(runDir, extra = {}) {
  const env = { ...process.env };
  // Set in a VS Code (or code-server) terminal: they would make the VS Code we start act as a CLI of the outer one.
  for (const k of Object.keys(env)) if (INHERITED_VSCODE_VARS.test(k)) delete env[k];
  return {
    ...env,
    XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(runDir, 'xdg-cache'),
    TMPDIR: path.join(runDir, 'tmp'),
    HOME: path.join(runDir, 'home'),
    ...extra,
  };
}

const fixtureWorkspace = path.join(tools.repoRoot, 'test', 'fixtures', 'workspace');

// A writable copy of test/fixtures/workspace inside the run directory.
function copyFixtureWorkspace(runDir) {
  const dest = path.join(runDir, 'workspace');
  fs.cpSync(fixtureWorkspace, dest, { recursive: true });
  return dest;
}

// --- code-server -----------------------------------------------------------------------------------------
function httpStatus(url, timeoutMs = 2000) {
  return new Promise(resolve => {
    const req = http.get(url, { timeout: timeoutMs }, res => { res.resume(); resolve(res.statusCode); });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tail(file, lines = 40) {
  try { return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return '(no log)'; }
}

// Starts code-server on 127.0.0.1 with a port the kernel picks, with the run directory's user data,
// extensions and environment; `env` reaches the extension host (it inherits code-server's environment).
// Resolves to { baseUrl, host, pid, logFile } once /healthz answers.
async function startCodeServer(runDir, env = {}) {
  const logFile = path.join(runDir, 'server.log');
  const out = fs.openSync(logFile, 'a');
  const args = [
    tools.codeServerBin,
    '--bind-addr', '127.0.0.1:0', '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', ...(trustEnabled() ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override',
    '--user-data-dir', path.join(runDir, 'user-data'), '--extensions-dir', path.join(runDir, 'extensions'),
    '--ignore-last-opened',
  ];
  // EXTENSIONS_GALLERY='{}' switches off the Open VSX gallery (the workbench would try open-vsx.org).
  const child = spawnGroup(process.execPath, args, { stdio: ['ignore', out, out], env: isolatedEnv(runDir, { EXTENSIONS_GALLERY: '{}', ...env }) });
  fs.closeSync(out);
  const pid = child.pid;
  onCleanup(() => killGroup(pid));
  let exited = null;
  child.on('exit', (code, signal) => { exited = signal || `exit code ${code}`; });

  const started = Date.now();
  let baseUrl;
  while (Date.now() - started < 90000) {
    if (exited) break;
    if (!baseUrl) {
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(fs.readFileSync(logFile, 'utf8'));
      if (m) baseUrl = m[1];
    }
    if (baseUrl && await httpStatus(`${baseUrl}/healthz`) === 200) {
      log(`code-server ${tools.versions['code-server']} (pid ${pid}) at ${baseUrl}, log ${logFile}, ${((Date.now() - started) / 1000).toFixed(1)} s to start`);
      return { baseUrl, host: new URL(baseUrl).host, pid, logFile };
    }
    await sleep(250);
  }
  throw new Error(`code-server did not start (${exited ? 'it ended: ' + exited : 'no answer on /healthz within 90 s'}); ` +
    `log ${logFile}:\n${tail(logFile)}`);
}

// The workbench URL that opens `folder` and loads the extension at `devPath` into the remote (Node)
// extension host, like F5 does; with `testsPath` the extension host runs that module's run() (as
// @vscode/test-web does) and the workbench reports the result through window.codeAutomationExit.
function workbenchUrl(server, { devPath, testsPath, folder }) {
  const remote = p => `vscode-remote://${server.host}${path.resolve(p)}`;
  const payload = [['extensionDevelopmentPath', remote(devPath)], ['skipWelcome', 'true']];
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  let url = `${server.baseUrl}/?payload=${encodeURIComponent(JSON.stringify(payload))}`;
  if (folder) url += `&folder=${encodeURIComponent(path.resolve(folder))}`;
  return url;
}

// --- Chromium --------------------------------------------------------------------------------------------
// Headless Debian Chromium through playwright-core, in its own process group with HOME and XDG dirs in the
// run directory (Chromium writes ~/.pki, ~/.config/chromium otherwise). Resolves to { browser, context,
// page, consoleLines }.
async function launchBrowser(runDir, { viewport = { width: 1400, height: 850 } } = {}) {
  const { chromium } = tools.requireTools();
  const env = isolatedEnv(runDir);
  // playwright puts its temporary profile in os.tmpdir() of this process: point that into the run dir.
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = env.TMPDIR;
  let server;
  try {
    server = await chromium.launchServer({
      executablePath: tools.chromiumPath(),
      headless: true,
      env,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, // ours end everything in order
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = savedTmp;
  }
  const pid = server.process().pid;
  liveGroups.add(pid); // playwright starts the browser as a process group leader
  writeWatchdogFile();
  onCleanup(async () => {
    await withTimeout(server.close(), 10000, 'browser close').catch(() => {});
    await killGroup(pid);
  });
  const browser = await chromium.connect(server.wsEndpoint());
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', m => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', e => consoleLines.push(`[pageerror] ${e.message}`));
  if (process.env.GRADMON_BROWSER_CONSOLE) {
    page.on('console', m => console.log(`[browser ${m.type()}] ${m.text()}`));
    page.on('pageerror', e => console.log(`[browser pageerror] ${e.message}`));
  }
  return { browser, context, page, consoleLines };
}

// Copies code-server's log and VS Code's logs (extension host, remote agent) out of the run directory
// before it is removed; returns where they are.
function saveLogs(runDir, destDir, consoleLines) {
  if (!fs.existsSync(path.join(runDir, 'server.log'))) return undefined; // code-server never started
  try {
    fs.mkdirSync(destDir, { recursive: true });
    const serverLog = path.join(runDir, 'server.log');
    if (fs.existsSync(serverLog)) fs.copyFileSync(serverLog, path.join(destDir, 'server.log'));
    const vscodeLogs = path.join(runDir, 'user-data', 'logs');
    if (fs.existsSync(vscodeLogs)) fs.cpSync(vscodeLogs, path.join(destDir, 'vscode-logs'), { recursive: true });
    if (consoleLines) fs.writeFileSync(path.join(destDir, 'browser-console.log'), consoleLines.join('\n') + '\n');
    return destDir;
  } catch (e) {
    console.error(`[harness] could not save logs: ${e.message}`);
    return undefined;
  }
}

module.exports = {
  trustEnabled,
  log, sleep, withTimeout, TimeoutError, onCleanup, cleanup, spawnGroup, killGroup, makeRunDir, isolatedEnv,
  fixtureWorkspace, copyFixtureWorkspace, startCodeServer, workbenchUrl, launchBrowser, saveLogs, tail, keepRunDir,
};
