#!/usr/bin/env node
// UI smoke test: the workbench loads the extension, "Gradient Monitor: Show Output" runs from the command
// palette and the Output panel shows the Gradient Monitor channel. Screenshots in test-results/ui/smoke/.
// Usage: node test/harness/ui-smoke.js   (after node scripts/build.js and node test/harness/install.js)
'use strict';
const { scenario } = require('./ui');

scenario('smoke', async ui => {
  await ui.screenshot('workbench');
  await ui.runCommand('Gradient Monitor: Show Output');
  await ui.waitFor('the Output panel showing the "Gradient Monitor" channel', () => ui.page.evaluate(() => {
    const panel = document.querySelector('.part.panel');
    const activeTab = panel?.querySelector('.composite-bar .action-item.checked .action-label')?.textContent;
    const channel = panel?.querySelector('select.monaco-select-box')?.value;
    return panel && panel.getBoundingClientRect().height > 0 && activeTab === 'Output' && channel === 'Gradient Monitor';
  }));
  await ui.screenshot('output-panel');
});
