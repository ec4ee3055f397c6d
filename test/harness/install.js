#!/usr/bin/env node
// Sets up what the integration and UI tests need to run the extension in a real VS Code on a machine whose
// only network is the npm registry and Debian apt: Debian's chromium, ripgrep and libkrb5-dev, and
// code-server + playwright-core in the git-ignored tools folder. Idempotent; a fast no-op when all is there.
// Usage: node test/harness/install.js      Env: GRADMON_TOOLS_DIR (default <repo>/.tools/vscode-test)
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { toolsDir, versions, stampFile, toolProblems } = require('./tools');

const t0 = Date.now();
const did = [];
const log = msg => console.log(`[install] ${msg}`);
const seconds = since => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function commandExists(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
function debPackageInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

// --- Debian packages -------------------------------------------------------------------------------------
// Installs the missing ones; false when that is impossible here.
function ensureDebianPackages(npmToolsMissing) {
  const wanted = [
    // the browser that shows the workbench
    ['chromium', 'the browser the workbench runs in'],
    // stands in for the ripgrep binary @vscode/ripgrep would download from GitHub, and is VS Code's search
    ['ripgrep', 'rg, used instead of the GitHub download of @vscode/ripgrep'],
    // headers for the `kerberos` native module that code-server's VS Code builds with node-gyp
    ['libkrb5-dev', 'headers for code-server\'s kerberos native module'],
  ];
  if (npmToolsMissing.length) {
    // node-gyp builds code-server's native modules (node-pty, kerberos, ...)
    if (!commandExists('make') || !commandExists('g++')) wanted.push(['build-essential', 'compiler for node-gyp']);
    if (!commandExists('python3')) wanted.push(['python3', 'node-gyp needs it']);
  }
  const haveDpkg = commandExists('dpkg-query') && commandExists('apt-get');
  if (!haveDpkg) {
    const missing = [['chromium', process.env.CHROMIUM_PATH || 'chromium'], ['ripgrep', 'rg']].filter(([, c]) => !fs.existsSync(c) && !commandExists(c));
    if (missing.length) {
      console.error(`[install] not a Debian system and missing: ${missing.map(m => m[0]).join(', ')}. Install them, ` +
        'or set CHROMIUM_PATH to a Chromium binary.');
      return false;
    }
    log('no dpkg/apt-get: skipping Debian packages (chromium and rg found)');
  } else {
    const missing = wanted.filter(([pkg]) => !debPackageInstalled(pkg));
    if (!missing.length) {
      log(`Debian packages already installed: ${wanted.map(w => w[0]).join(', ')}`);
    } else {
      const asRoot = process.getuid && process.getuid() === 0;
      const sudo = asRoot ? [] : commandExists('sudo') ? ['sudo', '-n'] : null;
      if (!sudo) {
        console.error(`[install] need root to apt-get install ${missing.map(m => m[0]).join(' ')}; run as root or install them yourself.`);
        return false;
      }
      for (const [pkg, why] of missing) log(`will apt-get install ${pkg}: ${why}`);
      const apt = (...args) => {
        const cmd = [...sudo, 'apt-get', ...args];
        log(`$ ${cmd.join(' ')}`);
        execFileSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      };
      const ta = Date.now();
      try {
        apt('update');
        apt('install', '-y', ...missing.map(m => m[0]));
      } catch (e) {
        console.error(`[install] apt-get failed (${e.status != null ? 'exit code ' + e.status : e.message}); see its output above.`);
        return false;
      }
      did.push(`apt-get installed ${missing.map(m => m[0]).join(', ')} (${seconds(ta)})`);
    }
  }
  return true;
}

// --- code-server + playwright-core -----------------------------------------------------------------------
// code-server 4.100.3's lib/vscode pins @vscode/ripgrep 1.15.11, whose postinstall downloads ripgrep
// v13.0.0-10 from GitHub (unreachable here). It first looks for <os.tmpdir()>/vscode-ripgrep-cache-<version>/
// <asset>; we put Debian's rg there, in a private TMPDIR for the npm run, so nothing is downloaded.
const RG_PKG_VERSION = '1.15.11';
const RG_TARGET = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[process.arch]; // names from @vscode/ripgrep's postinstall

// Installs code-server and playwright-core into the tools folder when they are missing; false on failure.
function ensureNpmTools(npmToolsMissing) {
  if (!npmToolsMissing.length) {
    log(`code-server ${versions['code-server']} and playwright-core ${versions['playwright-core']} already in ${toolsDir}`);
    return true;
  }
  for (const p of npmToolsMissing) log(`tools: ${p}`);
  if (!RG_TARGET) throw new Error(`no ripgrep asset name known for architecture ${process.arch}`);
  const tn = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-install-'));
  try {
    const rg = execFileSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).trim();
    const cacheDir = path.join(tmp, `vscode-ripgrep-cache-${RG_PKG_VERSION}`);
    const stage = path.join(tmp, 'rg-stage');
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.mkdirSync(stage);
    fs.copyFileSync(rg, path.join(stage, 'rg'));
    fs.chmodSync(path.join(stage, 'rg'), 0o755);
    execFileSync('tar', ['czf', path.join(cacheDir, `ripgrep-v13.0.0-10-${RG_TARGET}.tar.gz`), '-C', stage, 'rg']);

    fs.mkdirSync(toolsDir, { recursive: true });
    const pkgJson = path.join(toolsDir, 'package.json');
    if (!fs.existsSync(pkgJson)) fs.writeFileSync(pkgJson, '{ "name": "gradmon-vscode-test-tools", "private": true }\n');
    fs.rmSync(stampFile, { force: true });

    const env = {
      ...process.env,
      TMPDIR: tmp,
      // code-server's postinstall refuses to run as root under npm without it (npm 11 warns "Unknown env config
      // unsafe-perm" but passes it on to the script, which is what counts)
      npm_config_unsafe_perm: 'true',
      // node-pty's install runs `npx node-gyp`; with yes=false in an .npmrc npx would cancel
      npm_config_yes: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    };
    // node-gyp would download Node's headers from nodejs.org (unreachable); use the installed ones.
    const prefix = path.dirname(path.dirname(process.execPath));
    if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_version.h'))) env.npm_config_nodedir = prefix;
    const specs = Object.entries(versions).map(([k, v]) => `${k}@${v}`);
    log(`$ npm install ${specs.join(' ')}   (in ${toolsDir}; builds native modules, about 1 min)`);
    try {
      execFileSync('npm', ['install', '--no-audit', '--no-fund', ...specs], { cwd: toolsDir, stdio: 'inherit', env });
    } catch (e) {
      console.error(`[install] npm install failed (${e.status != null ? 'exit code ' + e.status : e.message}); see npm's output above. ` +
        'Running this script again retries.');
      return false;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const left = toolProblems().filter(p => !p.startsWith('no complete-install stamp')); // the stamp comes next
  if (left.length) {
    console.error(`[install] npm install finished but the tools are still not right:\n  - ${left.join('\n  - ')}`);
    return false;
  }
  fs.writeFileSync(stampFile, JSON.stringify({ ...versions, installedAt: new Date().toISOString() }, null, 2) + '\n');
  did.push(`npm installed code-server ${versions['code-server']} and playwright-core ${versions['playwright-core']} into ${toolsDir} (${seconds(tn)})`);
  return true;
}

const npmToolsMissing = toolProblems();
if (!ensureDebianPackages(npmToolsMissing) || !ensureNpmTools(npmToolsMissing)) {
  log(`FAILED after ${seconds(t0)}`);
  process.exit(1);
}
log(did.length ? `done in ${seconds(t0)}: ${did.join('; ')}` : `nothing to do (${seconds(t0)})`);
