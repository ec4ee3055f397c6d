#!/usr/bin/env node
// Checks the UI library itself against built-in VS Code features, independent of what the extension does:
// command palette, notifications, Quick Open, editor text, a webview (the Markdown preview), screenshots.
// Usage: node test/harness/ui-selftest.js   Screenshots in test-results/ui/harness-selftest/.
'use strict';
const { scenario } = require('./ui');

scenario('harness-selftest', async ui => {
  // Emmet (built in) answers with a notification when no editor is open.
  await ui.runCommand('Emmet: Balance (outward)');
  await ui.waitForNotification('No editor is active');
  await ui.screenshot('notification');

  await ui.openFile('README.md');
  await ui.waitForText('Fixture workspace', { within: '.editor-group-container .view-lines' });

  await ui.runCommand('Markdown: Open Preview to the Side');
  const preview = await ui.waitForWebview(async frame => (await frame.textContent('h1')) === 'Fixture workspace',
    { description: 'the Markdown preview webview with the README heading' });
  if (!(await preview.textContent('body')).includes('temporary directory')) throw new Error('the preview lacks the README body');
  await ui.screenshot('markdown-preview');
});
