#!/usr/bin/env node
// `npm test`: builds, runs the unit suites (each file in its own process: one TensorFlow.js backend per
// process; the engine suites on wasm and on cpu), then the integration suites inside a real VS Code.
// Options: --unit (unit only), --integration (integration only), --grep <pattern> (passed to mocha).
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--integration') ? 'integration' : 'all';
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args[grepAt + 1] : undefined;

/** Suites that exercise the engine, run once per backend available here. */
const PER_BACKEND = new Set(['engine.test.js', 'oracle.test.js', 'examples.test.js', 'monitor-thread.test.js']);

function mochaJob(file, backend) {
  const label = path.basename(file) + (backend ? ` [${backend}]` : '');
  const argv = [require.resolve('mocha/bin/mocha.js'), '--color', 'false', '--reporter', 'dot', file];
  if (grep) argv.push('--grep', grep);
  return { label, argv, env: backend ? { GRADMON_TEST_BACKEND: backend } : {} };
}

function runJob(job) {
  return new Promise(resolve => {
    const t0 = Date.now();
    const child = spawn(process.execPath, job.argv, { cwd: root, env: { ...process.env, ...job.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', d => { out += d; });
    child.stderr.on('data', d => { out += d; });
    child.on('close', code => resolve({ ...job, code, out, ms: Date.now() - t0 }));
  });
}

async function runPool(jobs, width) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const r = await runJob(job);
      const passing = /(\d+) passing/.exec(r.out)?.[1] ?? '0';
      const failing = /(\d+) failing/.exec(r.out)?.[1];
      const pending = /(\d+) pending/.exec(r.out)?.[1];
      console.log(`${r.code === 0 ? 'ok  ' : 'FAIL'} ${r.label.padEnd(34)} ${passing} passing${failing ? `, ${failing} failing` : ''}${pending ? `, ${pending} pending` : ''} (${(r.ms / 1000).toFixed(1)} s)`);
      if (r.code !== 0) console.log(r.out.split('\n').map(l => '     ' + l).join('\n'));
      results.push(r);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

async function main() {
  const t0 = Date.now();
  console.log('[test] building');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { cwd: root, stdio: 'inherit' });
  let failed = false;

  if (only !== 'integration') {
    const dir = path.join(root, 'out', 'test', 'unit');
    const files = fs.readdirSync(dir).filter(f => f.endsWith('.test.js')).sort();
    const jobs = [];
    for (const f of files) {
      if (PER_BACKEND.has(f)) for (const b of ['wasm', 'cpu']) jobs.push(mochaJob(path.join(dir, f), b));
      else jobs.push(mochaJob(path.join(dir, f)));
    }
    // Slowest first, so the pool finishes evenly on two cores.
    jobs.sort((a, b) => (PER_BACKEND.has(path.basename(b.argv[5])) ? 1 : 0) - (PER_BACKEND.has(path.basename(a.argv[5])) ? 1 : 0));
    console.log(`[test] unit: ${jobs.length} suites, ${Math.min(2, os.cpus().length)} at a time`);
    const results = await runPool(jobs, Math.max(1, Math.min(2, os.cpus().length)));
    if (results.some(r => r.code !== 0)) failed = true;
  }

  if (only !== 'integration') {
    // The webviews in Chromium with a fake VS Code API: what they show for real runs, themes, interactions.
    console.log('[test] webviews: panel and sidebar in Chromium (test/webview)');
    const w = await new Promise(resolve => {
      const child = spawn(process.execPath, [path.join(root, 'test', 'webview', 'run.js'), '--no-perf'], { cwd: root, stdio: 'inherit' });
      child.on('close', code => resolve(code));
    });
    if (w !== 0) failed = true;
  }

  if (only !== 'unit') {
    const harness = path.join(root, 'test', 'harness', 'run-integration.js');
    if (fs.existsSync(harness)) {
      console.log('[test] integration: Mocha suites inside a real VS Code');
      const r = await new Promise(resolve => {
        // --self-test first proves a deliberately failing suite fails (exit code 1), then runs the real suites.
        const child = spawn(process.execPath, [harness, '--self-test'], { cwd: root, stdio: 'inherit' });
        child.on('close', code => resolve(code));
      });
      if (r !== 0) failed = true;
      console.log('[test] integration: the untrusted-workspace suites (workspace trust on)');
      const u = await new Promise(resolve => {
        const child = spawn(process.execPath, [harness, '--untrusted'], { cwd: root, stdio: 'inherit' });
        child.on('close', code => resolve(code));
      });
      if (u !== 0) failed = true;
    }
  }
  console.log(`[test] ${failed ? 'FAILED' : 'all passed'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.exitCode = failed ? 1 : 0;
}

main().catch(e => { console.error(e); process.exitCode = 1; });
