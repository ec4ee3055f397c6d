#!/usr/bin/env node
// The gradient panel's cost per snapshot on a synthetic 50-layer × 64-bin run (series up to 512 points, 8 layers
// of distribution columns), in Debian's headless Chromium without GPU, as a webview gets it in code-server or a
// remote desktop. A streamed snapshot is drawn a slice per frame (media/panel/main.ts): the longest of those frames
// (from its script's start to the end of the frame: layout, paint and canvas rasterization included) decides
// whether the page keeps 60 Hz; also the script of all slices, the time until all of it shows, and the main
// thread's CPU time per snapshot (message, script, layout, paint, canvas rasterization). Runs the render-time part of test/webview/run.js and
// writes its figures to bench/results/. Target (issue 6): panel update ≤ 16 ms, read as the longest frame.
// Usage: node bench/panel-render.js [--repeat N]     (needs node test/harness/install.js for Chromium)
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1]) || 1;
const runs = [];
for (let i = 0; i < repeat; i++) {
  const r = spawnSync(process.execPath, [path.join(root, 'test', 'webview', 'run.js'), '--grep', '^render time'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const file = path.join(root, 'test-results', 'webview', 'render-times.json');
  if (r.status !== 0 || !fs.existsSync(file)) {
    console.error(r.stdout.split('\n').slice(-30).join('\n'));
    console.error('bench: the render-time run failed');
    process.exit(1);
  }
  runs.push(JSON.parse(fs.readFileSync(file, 'utf8')));
}
const f = x => (Number.isFinite(x) ? x.toFixed(1) : '—');
console.log(`\nPanel time per snapshot, 50 layers × 64 bins (${os.cpus().length} cores, ${os.cpus()[0].model}; ms, median [p95])`);
console.log('phase                                      longest frame   script (all)    all shown       frames  main-thread CPU');
for (const run of runs) {
  for (const e of run.report) {
    console.log(`${e.phase.padEnd(41)}  ${`${f(e.longestFrameMedian)} [${f(e.longestFrameP95)}]`.padEnd(14)}  ${`${f(e.median)} [${f(e.p95)}]`.padEnd(14)}  ${`${f(e.frameMedian)} [${f(e.frameP95)}]`.padEnd(14)}  ${e.framesPerSnapshot.padEnd(6)}  ${`${f(e.cpuMedian)} [${f(e.cpuP95)}]`.padEnd(16)}`);
  }
  for (const e of run.report) console.log(`  ${e.phase}: the longest frame drew ${Object.entries(e.slowestSlice).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} (${n}×)`).join(', ')}`);
  console.log(`  snapshot ${(run.snapshotBytes / 1e6).toFixed(2)} MB; its structured clone ${f(run.structuredCloneMs)} ms; long tasks ${run.longTasks.length}; load ${run.loadAverage.toFixed(1)}`);
}
fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
// The issue's target as this run measured it: the longest frame per snapshot (median), in every phase and repeat.
const frameP50 = Math.max(...runs.flatMap(run => run.report.map(e => e.longestFrameMedian)).filter(Number.isFinite));
console.log(`\nTarget (issue 6), this run: panel update ≤ 16 ms, read as the longest frame per snapshot (median): ${frameP50 <= 16 ? 'met' : 'NOT met'} (worst ${f(frameP50)} ms)`);
const out = path.join(root, 'bench', 'results', `panel-render-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(out, JSON.stringify({ machine: { cores: os.cpus().length, cpu: os.cpus()[0].model, node: process.version }, budgetMs: runs[0].budgetMs, runs }, null, 2) + '\n');
console.log(`\nwritten to ${path.relative(root, out)}`);
