#!/usr/bin/env node
// UI end-to-end in the real workbench: a config that explodes shows a pre-flight warning inline; training it from
// the command palette opens the gradient panel live, which shows the explosion and the first NaN; the sidebar
// shows the layer's health and the finding; the finding sits on the config with a quick fix; applying
// "…and re-train" from the quick-fix menu edits the config and the re-run is healthy. Screenshots of each
// stage go to test-results/ui/e2e/.
// Usage: node test/harness/ui-e2e.js   (after node scripts/build.js and node test/harness/install.js)
'use strict';
const fs = require('fs');
const path = require('path');
const { scenario } = require('./ui');

const CONFIG = 'exploding-mlp.gradmon.json';

/** The text of a webview's body, spaces normalised. */
const text = frame => frame.evaluate(() => document.body.innerText.replace(/\s+/g, ' '));

scenario('e2e', async ui => {
  const configPath = path.join(ui.workspace, CONFIG);

  // 1. The config, with its pre-flight warning inline and the CodeLens.
  await ui.openFile(CONFIG);
  await ui.waitFor('the CodeLens above the config', () => ui.page.evaluate(() =>
    [...document.querySelectorAll('.codelens-decoration a')].map(a => a.textContent).join(' | ').includes('Train')));
  await ui.waitFor('the pre-flight warning squiggle', () => ui.page.$('.squiggly-warning'));
  await ui.step('hover the warning', async () => {
    const squiggle = await ui.page.$('.squiggly-warning');
    const box = await squiggle.boundingBox();
    await ui.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  });
  const hover = await ui.waitFor('the hover with the warning and its source', () => ui.page.evaluate(() => {
    const h = document.querySelector('.monaco-hover:not(.hidden)');
    return h && h.textContent.includes('SGD with learning rate 1.5 and no clipping') && h.textContent.includes('Gradient Monitor') && h.textContent;
  }));
  ui.log(`hover: ${hover.slice(0, 160)}`);
  await ui.screenshot('config-preflight-hover');
  await ui.page.mouse.move(5, 5);

  // 2. Train from the palette: the panel opens and shows the explosion live.
  await ui.runCommand('Gradient Monitor: Start Training');
  const panel = await ui.waitForWebview(async f => (await text(f)).includes('exploding-mlp') && f.evaluate(() => !!window.__gradmon?.charts), { description: 'the gradient panel for exploding-mlp', timeoutS: 90 });
  await ui.waitFor('the panel to show the run halted with the explosion', async () => {
    const t = await text(panel);
    return /halted/i.test(t) && t.includes('Exploding gradients in dense_2') && t;
  }, { timeoutS: 90 });
  const chart = await panel.evaluate(() => {
    const g = window.__gradmon;
    const norms = g.charts.norms.data.datasets.map(d => ({ label: d.label, points: d.data.length, max: Math.max(...d.data.map(p => p.y).filter(Number.isFinite)) }));
    const loss = g.charts.loss.data.datasets.map(d => ({ label: d.label, points: d.data.length }));
    return { norms, loss, heat: g.heatmap.info(), hist: g.histogram() };
  });
  ui.log(`panel charts: ${JSON.stringify(chart).slice(0, 600)}`);
  if (!chart.norms.some(d => /dense_2/.test(d.label) && d.points >= 5 && d.max > 1e3)) throw new Error(`the norms chart does not show dense_2 exploding: ${JSON.stringify(chart.norms)}`);
  if (!chart.loss.some(d => d.points >= 5)) throw new Error(`the loss chart is empty: ${JSON.stringify(chart.loss)}`);
  const panelText = await text(panel);
  if (!/NaN|Inf/.test(panelText)) throw new Error('the panel does not show the first NaN/Inf');
  await ui.screenshot('panel-explosion');

  // 3. The sidebar: the run at a glance, with the exploding layer and the finding's fixes.
  await ui.step('open the Gradient Monitor view container', () => ui.page.click('.activitybar [aria-label="Gradient Monitor"]'));
  const sidebar = await ui.waitForWebview(async f => (await text(f)).includes('Layers') && (await text(f)).includes('dense_2'), { description: 'the sidebar monitor', timeoutS: 60 });
  const side = await text(sidebar);
  for (const expected of ['exploding', 'Exploding gradients in dense_2', 'Lower the learning rate to 0.15']) {
    if (!side.includes(expected)) throw new Error(`the sidebar does not show "${expected}": ${side.slice(0, 400)}`);
  }
  await ui.screenshot('sidebar-explosion');

  // 4. The finding on the config: a diagnostic on the layer entry, fixed from the quick-fix menu.
  await ui.openFile(CONFIG);
  await ui.waitFor('the error squiggle of the finding', () => ui.page.$('.squiggly-error'));
  await ui.step('put the cursor on the finding and open the quick fixes', async () => {
    const squiggle = await ui.page.$('.squiggly-error');
    const box = await squiggle.boundingBox();
    await ui.page.mouse.click(box.x + 4, box.y + box.height / 2);
    await ui.page.keyboard.press('Control+.');
  });
  await ui.waitFor('the quick-fix menu with the suggested fix', () => ui.page.evaluate(() =>
    [...document.querySelectorAll('.action-widget .action-label, .action-widget .monaco-list-row')].some(e => e.textContent.includes('Lower the learning rate to 0.15 and re-train'))));
  await ui.screenshot('config-quick-fix');
  await ui.step('choose "Lower the learning rate to 0.15 and re-train"', async () => {
    const rows = await ui.page.$$('.action-widget .monaco-list-row');
    for (const row of rows) {
      if ((await row.textContent()).includes('Lower the learning rate to 0.15 and re-train')) { await row.click(); return; }
    }
    throw new Error('menu entry not found');
  });
  await ui.waitFor('the config to be edited and saved', () => /"learningRate": 0\.15/.test(fs.readFileSync(configPath, 'utf8')));
  if (!fs.readFileSync(configPath, 'utf8').includes('// Plain SGD with a learning rate far too large')) throw new Error('the fix lost the config\'s comment');

  // 5. The re-run: healthy, shown in the panel and the sidebar.
  await ui.runCommand('Gradient Monitor: Open Gradient Panel');
  const rerun = await ui.waitForWebview(async f => {
    const t = await text(f);
    return f.evaluate(() => !!window.__gradmon?.charts) && /completed/i.test(t) && !t.includes('Exploding gradients in dense_2') && t;
  }, { description: 'the panel showing the healthy re-run', timeoutS: 120 });
  const rerunText = await text(rerun);
  ui.log(`re-run panel: ${rerunText.slice(0, 300)}`);
  await ui.screenshot('panel-healthy-rerun');
  await ui.step('open the Gradient Monitor view container', () => ui.page.click('.activitybar [aria-label="Gradient Monitor"]'));
  await ui.waitForWebview(async f => { const t = await text(f); return t.includes('Layers') && /completed/i.test(t) && !t.includes('exploding'); }, { description: 'the sidebar showing the healthy run', timeoutS: 60 });
  await ui.screenshot('sidebar-healthy-rerun');
}, { timeoutS: 420 });
