#!/usr/bin/env node
// `gradmon` command: runs the bundled CLI (dist/cli.js), or the tsc output when only `tsc` has run.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const entry = [path.join(root, 'dist', 'cli.js'), path.join(root, 'out', 'src', 'cli', 'main.js')].find(f => fs.existsSync(f));
if (!entry) {
  process.stderr.write('gradmon: not built yet. Run `npm run build` in ' + root + ' first.\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  code => { process.exitCode = code; },
  e => {
    process.stderr.write(`gradmon: internal error: ${(e && e.stack) || e}\nPlease report this with the config that caused it.\n`);
    process.exitCode = 70;
  },
);
