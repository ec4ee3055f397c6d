#!/usr/bin/env node
// UI recovery: the window is reloaded while a run trains. The extension (deactivating) or, failing that, the
// training process (its extension host gone) stops the run after its step with its summary written; after the reload the gradient panel comes back (its
// serializer) and, with the sidebar, shows the run from its log — nothing of it lost. Screenshots in
// test-results/ui/recovery/.
// Usage: node test/harness/ui-recovery.js   (after node scripts/build.js and node test/harness/install.js)
'use strict';
const fs = require('fs');
const path = require('path');
const { scenario } = require('./ui');

const text = frame => frame.evaluate(() => document.body.innerText.replace(/\s+/g, ' '));

scenario('recovery', async ui => {
  await ui.openFile('long-run.gradmon.json');
  await ui.runCommand('Gradient Monitor: Start Training');
  const panel = await ui.waitForWebview(async f => await f.evaluate(() => !!window.__gradmon?.charts) && /long-run/.test(await text(f)), { description: 'the panel for long-run', timeoutS: 90 });
  const stepBefore = await ui.waitFor('the run to pass step 30', async () => {
    const m = /Step (\d+) \/ \d+/.exec(await text(panel));
    return m && Number(m[1]) >= 30 && Number(m[1]);
  }, { timeoutS: 120 });
  await ui.screenshot('before-reload');

  await ui.runCommand('Developer: Reload Window');
  await ui.step('the workbench to come back', async () => {
    await ui.page.waitForSelector('.monaco-workbench.file-icons-enabled[class*="vscode-theme-"]', { timeout: 90000 });
    await ui.page.waitForSelector('.part.statusbar [id="status.problems"]', { timeout: 90000 });
  }, { timeoutS: 120 });

  // The run's log, as the training process left it when its extension host went away.
  const runs = path.join(ui.workspace, '.gradmon', 'runs');
  const dir = await ui.waitFor('the run log to get its summary', () => {
    const d = fs.readdirSync(runs).filter(n => n.endsWith('long-run')).map(n => path.join(runs, n))[0];
    return d && fs.existsSync(path.join(d, 'summary.json')) && d;
  }, { timeoutS: 60 });
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  ui.log(`summary after the reload: ${summary.status} at ${summary.steps} steps (${summary.reason ?? ''})`);
  if (summary.steps < stepBefore) throw new Error(`the log lost steps: ${summary.steps} < ${stepBefore}`);
  if (summary.status !== 'stopped' || !/closed or reloaded the window|extension host went away/.test(summary.reason ?? '')) throw new Error(`the summary should say why the run stopped: ${summary.status}: ${summary.reason}`);

  // The panel is restored by its serializer and shows the run from the log.
  const restored = await ui.waitForWebview(async f => {
    const t = await text(f);
    return await f.evaluate(() => !!window.__gradmon?.charts) && t.includes('long-run') && /stopped|failed/i.test(t) && t;
  }, { description: 'the restored panel showing the run from its log', timeoutS: 90 });
  const shown = /Step (\d+) \/ \d+/.exec(await text(restored));
  if (!shown || Number(shown[1]) < stepBefore) throw new Error(`the restored panel shows ${shown ? shown[0] : 'no step'}, before the reload it was at step ${stepBefore}`);
  const lines = await restored.evaluate(() => window.__gradmon.layerLines().map(l => l.points.length));
  if (!lines.length || Math.max(...lines) < 10) throw new Error(`the restored norms chart is nearly empty: ${JSON.stringify(lines)}`);
  await ui.screenshot('panel-after-reload');

  await ui.runCommand('Gradient Monitor: Focus on Monitor View');
  await ui.waitForWebview(async f => await f.evaluate(() => !!window.__gradmon?.model && !window.__gradmon.charts) && /long-run/.test(await text(f)), { description: 'the sidebar showing the run', timeoutS: 60 });
  await ui.screenshot('sidebar-after-reload');
}, { timeoutS: 420, viewport: { width: 1600, height: 1000 } });
