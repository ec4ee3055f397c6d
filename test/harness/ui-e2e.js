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

/** Gives the panel's editor group the whole editor area (for screenshots where the charts are readable). */
async function maximizePanel(ui) {
  await ui.step('focus the panel\'s tab', () => ui.page.click('.tab[aria-label^="Gradient Monitor"]'));
  await ui.runCommand('View: Toggle Maximize Editor Group');
  await ui.page.waitForTimeout(800);
}

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
  const panel = await ui.waitForWebview(async f => (await text(f)).includes('exploding-mlp') && await f.evaluate(() => !!window.__gradmon?.charts), { description: 'the gradient panel for exploding-mlp', timeoutS: 90 });
  await ui.waitFor('the panel to show the run halted with the explosion', async () => {
    const t = await text(panel);
    return /halted/i.test(t) && t.includes('Exploding gradients in dense_2') && t;
  }, { timeoutS: 90 });
  const readCharts = () => panel.evaluate(() => {
    const g = window.__gradmon;
    // The selected layer, bands and global norms are Chart.js datasets; the other layers' lines are drawn by a
    // plugin (50 datasets would be too slow): layerLines() lists every layer's line.
    const norms = g.layerLines().map(l => ({ label: l.name ?? l.layer ?? l.label, points: (l.points ?? l.data ?? []).length, max: Math.max(...(l.points ?? l.data ?? []).map(p => p.y).filter(Number.isFinite)) }));
    const loss = g.charts.loss.data.datasets.map(d => ({ label: d.label, points: d.data.length }));
    return { norms, loss, heat: g.heatmap.info(), hist: g.histogram() };
  });
  const explodes = (c) => c.norms.some(d => /dense_2/.test(d.label) && d.points >= 5 && d.max > 1e3);
  // A streamed snapshot is drawn a part per frame (the page's text first, the norms in a later frame), and a chart
  // below the fold is drawn only once it comes into view (with three findings open it may be): look at it, as a
  // user would, then wait for it to catch up with the text just read.
  await panel.evaluate(() => document.querySelector('.card-norms')?.scrollIntoView());
  let chart = await readCharts();
  try {
    chart = await ui.waitFor('the norms chart to show dense_2 exploding', async () => { chart = await readCharts(); return explodes(chart) && chart; }, { timeoutS: 10 });
  } catch {
    throw new Error(`the norms chart does not show dense_2 exploding: ${JSON.stringify(chart.norms)}`);
  }
  ui.log(`panel charts: ${JSON.stringify(chart).slice(0, 600)}`);
  await panel.evaluate(() => window.scrollTo(0, 0));
  if (!chart.loss.some(d => d.points >= 5)) throw new Error(`the loss chart is empty: ${JSON.stringify(chart.loss)}`);
  const panelText = await text(panel);
  if (!/NaN|Inf/.test(panelText)) throw new Error('the panel does not show the first NaN/Inf');
  await maximizePanel(ui);
  await ui.screenshot('panel-explosion');
  await panel.evaluate(() => document.querySelector('.card-norms')?.scrollIntoView());
  await ui.page.waitForTimeout(300);
  await ui.screenshot('panel-explosion-charts');
  await ui.runCommand('View: Toggle Maximize Editor Group');

  // 3. The sidebar: the run at a glance, with the exploding layer and the finding's fixes.
  await ui.step('open the Gradient Monitor view container', () => ui.page.click('.activitybar [aria-label="Gradient Monitor"]'));
  // The sidebar is the webview with a model and no charts (the panel shows "Layers" too).
  const isSidebar = f => f.evaluate(() => !!window.__gradmon?.model && !window.__gradmon.charts);
  const sidebar = await ui.waitForWebview(async f => await isSidebar(f) && (await text(f)).includes('dense_2') && (await text(f)).includes('Exploding gradients'), { description: 'the sidebar monitor', timeoutS: 60 });
  const side = await text(sidebar);
  for (const expected of ['exploding', 'Exploding gradients in dense_2', 'Lower the learning rate to 0.15']) {
    if (!side.includes(expected)) throw new Error(`the sidebar does not show "${expected}": ${side.slice(0, 400)}`);
  }
  await ui.screenshot('sidebar-explosion');

  // 4. The finding on the config: a diagnostic on the layer entry, fixed from the quick-fix menu. The run is over:
  // the config's CodeLens and the editor's title bar offer Train again, not Stop.
  await ui.openFile(CONFIG);
  await ui.waitFor('the error squiggle of the finding', () => ui.page.$('.squiggly-error'));
  // In every editor of the config: the one open since before the run as well as the one just opened.
  let lenses = [];
  await ui.waitFor('the CodeLens to offer Train', async () => {
    lenses = await ui.page.evaluate(() => [...document.querySelectorAll('.editor-group-container .codelens-decoration')].map(e => e.textContent));
    return lenses.length > 0 && lenses.some(t => /Train/.test(t)) && !lenses.some(t => /Stop/.test(t));
  }, { timeoutS: 15 }).catch(e => { throw new Error(`${e.message}: the CodeLenses read ${JSON.stringify(lenses)}`); });
  // The editor title's Train/Stop action, as its label and icon class ("codicon-play|Start Training").
  const titleActions = () => ui.page.evaluate(() =>
    [...document.querySelectorAll('.editor-group-container [aria-label*="Training"], .editor-group-container [title*="Training"]')].map(e => `${e.className}|${e.getAttribute('aria-label') ?? e.getAttribute('title')}`));
  let labels = [];
  await ui.waitFor('the editor title to offer Train', async () => {
    labels = await titleActions();
    return labels.some(l => /Start Training/.test(l)) && !labels.some(l => /Stop Training/.test(l));
  }, { timeoutS: 15 }).catch(e => { throw new Error(`${e.message}: the editor title's actions are ${JSON.stringify(labels)}`); });
  await ui.step('put the cursor on the finding and open the quick fixes', async () => {
    const squiggle = await ui.page.$('.squiggly-error');
    const box = await squiggle.boundingBox();
    await ui.page.mouse.click(box.x + 4, box.y + box.height / 2);
    await ui.page.keyboard.press('Control+.');
  });
  await ui.waitFor('the quick-fix menu with the suggested fix', () => ui.page.evaluate(() =>
    [...document.querySelectorAll('.action-widget .action-label, .action-widget .monaco-list-row')].some(e => e.textContent.includes('Lower the learning rate to 0.15 and re-train'))));
  await ui.screenshot('config-quick-fix');
  await ui.step('choose "Lower the learning rate to 0.15 and re-train" with the keyboard', async () => {
    // The menu's first row is focused; move down to the entry and accept it, as a keyboard user would.
    const labels = await ui.page.$$eval('.action-widget .monaco-list-row', rows => rows.map(r => r.textContent.trim()));
    const index = labels.findIndex(l => l.includes('Lower the learning rate to 0.15 and re-train'));
    if (index < 0) throw new Error(`menu entry not found in: ${labels.join(' | ')}`);
    const focused = await ui.page.$$eval('.action-widget .monaco-list-row', rows => rows.findIndex(r => r.classList.contains('focused')));
    for (let i = Math.max(0, focused); i < index; i++) await ui.page.keyboard.press('ArrowDown');
    await ui.page.keyboard.press('Enter');
  });
  await ui.waitFor('the config to be edited and saved', () => /"learningRate": 0\.15/.test(fs.readFileSync(configPath, 'utf8')));
  if (!fs.readFileSync(configPath, 'utf8').includes('// Plain SGD with a learning rate far too large')) throw new Error('the fix lost the config\'s comment');

  // 5. The re-run: healthy, shown in the panel and the sidebar.
  await ui.runCommand('Gradient Monitor: Open Gradient Panel');
  const rerun = await ui.waitForWebview(async f => {
    const t = await text(f);
    return await f.evaluate(() => !!window.__gradmon?.charts) && /completed/i.test(t) && !t.includes('Exploding gradients in dense_2') && t;
  }, { description: 'the panel showing the healthy re-run', timeoutS: 120 });
  const rerunText = await text(rerun);
  ui.log(`re-run panel: ${rerunText.slice(0, 300)}`);
  await rerun.evaluate(() => document.querySelector('.card-norms')?.scrollIntoView());
  await ui.page.waitForTimeout(300);
  await ui.screenshot('panel-healthy-rerun');
  // Not the activity bar icon again: a second click would close the sidebar.
  await ui.runCommand('Gradient Monitor: Focus on Monitor View');
  await ui.waitForWebview(async f => {
    const t = await text(f);
    return await isSidebar(f) && /completed/i.test(t) && !t.includes('Exploding gradients') && !/non-finite|× exploding/.test(t) && t.includes('dense_2');
  }, { description: 'the sidebar showing the healthy run', timeoutS: 60 });
  await ui.screenshot('sidebar-healthy-rerun');
}, { timeoutS: 480, viewport: { width: 1600, height: 1000 } });
