// A small library for UI end-to-end scripts against the real workbench (code-server in headless Chromium)
// with the extension under development loaded. One scenario per script; its exit code is the verdict.
//
//   const { scenario } = require('./ui');
//   scenario('smoke', async ui => {
//     await ui.runCommand('Gradient Monitor: Show Output');
//     await ui.waitForText('Gradient Monitor', { within: '.part.panel' });
//     await ui.screenshot('output-panel');
//   });
//
// Every helper is a named step with its own time limit ("UI step 'X' timed out after N s"), the scenario has
// a global one; on failure a screenshot, the browser console and code-server's logs are saved next to the
// screenshots. Screenshots go to test-results/ui/<scenario>/ (GRADMON_UI_OUT moves the root), emptied first.
// Env: GRADMON_UI_TIMEOUT_S (default 300) global limit, KEEP_RUN_DIR=1, GRADMON_BROWSER_CONSOLE=1.
'use strict';
const fs = require('fs');
const path = require('path');
const tools = require('./tools');
const session = require('./session');

const DEFAULT_STEP_TIMEOUT_S = 60;

class Workbench {
  constructor({ name, page, context, server, workspace, outDir, runDir }) {
    Object.assign(this, { name, page, context, server, workspace, outDir, runDir });
    this.baseUrl = server.baseUrl;
    this.currentSteps = [];
    this.shots = 0;
  }

  log(...args) { console.log(`[ui ${this.name}]`, ...args); }

  // Runs `fn` as a named step: logged, timed, and failed with "UI step 'name' timed out after N s".
  async step(name, fn, { timeoutS = DEFAULT_STEP_TIMEOUT_S } = {}) {
    const started = Date.now();
    this.currentSteps.push(name);
    this.log(`> ${name}`);
    try {
      const result = await session.withTimeout(Promise.resolve().then(fn), timeoutS * 1000, `UI step '${name}' timed out after ${timeoutS} s`);
      this.log(`  ok ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return result;
    } catch (e) {
      if (!(e instanceof session.TimeoutError) && !e.message.startsWith('UI step ')) e.message = `UI step '${name}' failed: ${e.message}`;
      throw e;
    } finally {
      this.currentSteps.pop();
    }
  }

  // Polls `predicate` (may be async) until it returns something truthy, which is returned.
  waitFor(description, predicate, { timeoutS = DEFAULT_STEP_TIMEOUT_S, intervalMs = 250 } = {}) {
    return this.step(`wait for ${description}`, async () => {
      // The step's timer decides; the deadline only stops this loop from polling on after it fired.
      for (const end = Date.now() + timeoutS * 1000 + 1000; Date.now() < end;) {
        try {
          const value = await predicate();
          if (value) return value;
        } catch { /* the DOM or a frame changed under us; try again */ }
        await session.sleep(intervalMs);
      }
    }, { timeoutS });
  }

  // Waits until an element matching `within` shows `text` (spaces normalised: Monaco renders them as U+00A0).
  waitForText(text, { within = '.monaco-workbench', timeoutS = DEFAULT_STEP_TIMEOUT_S } = {}) {
    return this.waitFor(`text "${text}" in ${within}`, () => this.page.evaluate(([selector, wanted]) =>
      [...document.querySelectorAll(selector)].some(e => (e.innerText || e.textContent || '').replace(/\u00a0/g, ' ').includes(wanted)),
    [within, text]), { timeoutS });
  }

  press(keys) { return this.step(`press ${keys}`, () => this.page.keyboard.press(keys)); }

  // Runs a command from the F1 palette by its full title ("Category: Title"). Reopens the palette while the
  // entry is missing: commands of an extension appear only once the extension host has registered it.
  runCommand(title, { timeoutS = DEFAULT_STEP_TIMEOUT_S } = {}) {
    return this.step(`run command "${title}"`, async () => {
      let seen = [];
      for (const end = Date.now() + timeoutS * 1000; Date.now() < end;) {
        await this.page.keyboard.press('F1');
        await this.page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
        await this.page.keyboard.type(title);
        if (await this.#clickQuickPickRow(title, 5000)) {
          await this.page.waitForSelector('.quick-input-widget', { state: 'hidden', timeout: 10000 });
          return;
        }
        seen = await this.#quickPickLabels();
        await this.page.keyboard.press('Escape');
      }
      throw new Error(`command "${title}" is not in the palette; it offered: ${seen.length ? seen.join(' | ') : 'nothing'}`);
    }, { timeoutS: timeoutS + 15 });
  }

  // Opens a workspace file through Quick Open (Ctrl+P) and waits for its editor tab to be active.
  openFile(relativePath, { timeoutS = DEFAULT_STEP_TIMEOUT_S } = {}) {
    const base = path.basename(relativePath);
    return this.step(`open file ${relativePath}`, async () => {
      await this.page.keyboard.press('Control+P');
      await this.page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
      await this.page.keyboard.type(relativePath);
      if (!await this.#clickQuickPickRow(base, timeoutS * 1000)) throw new Error(`Quick Open found no ${relativePath}; it offered: ${(await this.#quickPickLabels()).join(' | ') || 'nothing'}`);
      await this.page.waitForSelector(`.editor-group-container .tab.active[data-resource-name="${base}"]`, { timeout: timeoutS * 1000 });
    }, { timeoutS: timeoutS + 5 });
  }

  // The documents of the webviews that are showing (panels and sidebar views): each webview is
  // <iframe class="webview ready"> (VS Code's host page) holding <iframe id="active-frame"> (the extension's HTML).
  async webviewFrames() {
    const frames = [];
    for (const host of await this.page.$$('iframe.webview.ready')) {
      const outer = await host.contentFrame();
      const inner = outer && await outer.$('iframe#active-frame');
      const frame = inner && await inner.contentFrame();
      if (frame) frames.push(frame);
    }
    return frames;
  }

  // The first webview frame for which `predicate(frame)` is truthy, e.g.
  //   await ui.waitForWebview(f => f.$('canvas#loss-chart'), { description: 'the loss chart' })
  waitForWebview(predicate, { description = 'a webview', timeoutS = DEFAULT_STEP_TIMEOUT_S } = {}) {
    return this.waitFor(description, async () => {
      for (const frame of await this.webviewFrames()) {
        try { if (await predicate(frame)) return frame; } catch { /* frame navigating */ }
      }
      return undefined;
    }, { timeoutS });
  }

  // Texts of the notification toasts on screen.
  notifications() {
    return this.page.$$eval('.notification-toast .notification-list-item-message', els => els.map(e => e.textContent.trim()));
  }

  waitForNotification(text, { timeoutS = DEFAULT_STEP_TIMEOUT_S } = {}) {
    return this.waitFor(`notification "${text}"`, async () => (await this.notifications()).find(m => m.includes(text)), { timeoutS });
  }

  // Saves <outDir>/<NN>-<name>.png (numbered in the order taken) and returns its path.
  async screenshot(name, { selector } = {}) {
    const file = path.join(this.outDir, `${String(++this.shots).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
    return this.step(`screenshot ${path.basename(file)}`, async () => {
      if (selector) await this.page.locator(selector).first().screenshot({ path: file });
      else await this.page.screenshot({ path: file });
      return file;
    }, { timeoutS: 30 });
  }

  async #quickPickLabels() {
    return this.page.$$eval('.quick-input-list .monaco-list-row', rows => rows.map(r => r.getAttribute('aria-label') || r.textContent)).catch(() => []);
  }

  // Clicks the quick pick row whose label is exactly `label` (else the first whose aria-label starts with it);
  // false when no such row showed within `timeoutMs`. The list re-renders while results arrive (Quick Open
  // shows recently opened files first, then merges the file search), so a row found may be gone or moved
  // by the time it is clicked: each attempt finds the row again and clicks that very element, briefly.
  async #clickQuickPickRow(label, timeoutMs) {
    const end = Date.now() + timeoutMs;
    let lastError;
    while (Date.now() < end) {
      const rows = await this.page.$$('.quick-input-list .monaco-list-row').catch(() => []);
      const labels = await Promise.all(rows.map(r => r.evaluate(e => [
        (e.querySelector('.label-name')?.textContent || '').replace(/\u00a0/g, ' ').trim(), e.getAttribute('aria-label') || '',
      ]).catch(() => ['', ''])));
      let index = labels.findIndex(([name]) => name === label);
      if (index < 0) index = labels.findIndex(([, aria]) => aria.startsWith(label));
      if (index >= 0) {
        try {
          await rows[index].click({ timeout: 2000 });
          return true;
        } catch (e) { lastError = e; /* detached or covered by a re-render: look again */ }
      }
      await session.sleep(200);
    }
    if (lastError) throw new Error(`the quick pick row "${label}" kept changing under the click: ${lastError.message.split('\n')[0]}`);
    return false;
  }
}

// Starts code-server and Chromium, opens the workbench with the extension under development and the
// workspace, runs `fn(ui)`, and exits the process with 0 when it resolved, 1 when it threw or timed out.
// options: workspace (default: a fresh copy of test/fixtures/workspace), extensionPath (default: repo root),
//          timeoutS (default GRADMON_UI_TIMEOUT_S or 300), env (extra environment for the extension host),
//          viewport ({ width: 1400, height: 850 }).
async function scenario(name, fn, options = {}) {
  const started = Date.now();
  const timeoutS = options.timeoutS ?? Number(process.env.GRADMON_UI_TIMEOUT_S || 300);
  const outDir = path.join(path.resolve(process.env.GRADMON_UI_OUT || path.join(tools.repoRoot, 'test-results', 'ui')), name);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const extensionPath = path.resolve(options.extensionPath || tools.repoRoot);
  let ui;
  let runDir;
  let consoleLines;
  let code = 0;
  try {
    tools.requireTools();
    runDir = session.makeRunDir('ui');
    const workspace = options.workspace ? path.resolve(options.workspace) : session.copyFixtureWorkspace(runDir);
    const run = async () => {
      const server = await session.startCodeServer(runDir, options.env);
      const browser = await session.launchBrowser(runDir, { viewport: options.viewport });
      consoleLines = browser.consoleLines;
      ui = new Workbench({ name, page: browser.page, context: browser.context, server, workspace, outDir, runDir });
      ui.page.setDefaultTimeout(DEFAULT_STEP_TIMEOUT_S * 1000);
      await ui.step('open the workbench', async () => {
        await ui.page.goto(session.workbenchUrl(server, { devPath: extensionPath, folder: workspace }));
        // Restored: the colour theme and file icons (served by the extension host's extension scan) applied,
        // the folder listed (remote connection and file service up), the problems counter contributed.
        await ui.page.waitForSelector('.monaco-workbench.file-icons-enabled[class*="vscode-theme-"]', { timeout: 90000 });
        await ui.page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 90000 });
        await ui.page.waitForSelector('.part.statusbar [id="status.problems"]', { timeout: 90000 });
      }, { timeoutS: 120 });
      await fn(ui);
    };
    await session.withTimeout(run(), timeoutS * 1000, `UI scenario '${name}' timed out after ${timeoutS} s`)
      .catch(e => {
        if (ui && ui.currentSteps.length && e instanceof session.TimeoutError && e.message.startsWith('UI scenario')) {
          e.message += ` (during step '${ui.currentSteps[ui.currentSteps.length - 1]}')`;
        }
        throw e;
      });
  } catch (e) {
    code = 1;
    console.error(`[ui ${name}] FAILED: ${e.message}`);
    const frames = (e.stack || '').split('\n').filter(l => /^\s+at /.test(l));
    if (!(e instanceof session.TimeoutError) && !e.isSetupError && frames.length) console.error(frames.slice(0, 5).join('\n'));
    if (ui) {
      const failure = path.join(outDir, 'failure.png');
      await session.withTimeout(ui.page.screenshot({ path: failure }), 15000, 'failure screenshot').then(
        () => console.error(`[ui ${name}] failure screenshot: ${failure}`), () => {});
    }
    if (runDir) {
      const saved = session.saveLogs(runDir, path.join(outDir, 'logs'), consoleLines);
      if (saved) console.error(`[ui ${name}] code-server log: ${path.join(saved, 'server.log')} (VS Code logs in ${path.join(saved, 'vscode-logs')})`);
    }
  }
  if (code === 0 && consoleLines) fs.writeFileSync(path.join(outDir, 'browser-console.log'), consoleLines.join('\n') + '\n');
  await session.cleanup();
  const shots = fs.readdirSync(outDir).filter(f => f.endsWith('.png'));
  console.log(`[ui ${name}] ${code === 0 ? 'PASSED' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${shots.length} screenshot(s) in ${outDir}`);
  process.exit(code);
}

module.exports = { scenario, Workbench };
