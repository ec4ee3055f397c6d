// Responsiveness benchmark inside the real extension host (run by bench/vscode-responsiveness.js): trains each
// config of the bench workspace with the gradient panel open and measures the extension host's event-loop
// delay (perf_hooks) while statistics stream, and the panel's render time per snapshot. Writes JSON to
// GRADMON_BENCH_OUT. Not a test: it reports figures; it fails only when a run does not complete.
import * as fs from 'fs';
import { monitorEventLoopDelay } from 'perf_hooks';
import * as vscode from 'vscode';
import type { GradientMonitorApi } from '../../src/extension';

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}

async function measure(api: GradientMonitorApi, config: string) {
  const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, config);
  const panel = api.panel();
  const rendersBefore = panel?.renders.length ?? 0;
  const sentBefore = panel?.snapshotsSent ?? 0;
  // Fine sampling; the figures reported are the delay beyond the sampling interval.
  const resolution = 2;
  const lag = monitorEventLoopDelay({ resolution });
  const key = await vscode.commands.executeCommand<string>('gradientMonitor.startTraining', uri);
  // Measure while steps stream (from the first step to the end of the run).
  for (;;) {
    const run = api.runs.list().find(r => r.key === key);
    if (run && (run.history.step > 0 || run.state === 'ended')) break;
    await new Promise(r => setTimeout(r, 20));
  }
  lag.enable();
  const t0 = Date.now();
  let run;
  for (;;) {
    run = api.runs.list().find(r => r.key === key);
    if (run && run.state === 'ended') break;
    await new Promise(r => setTimeout(r, 50));
  }
  lag.disable();
  const seconds = (Date.now() - t0) / 1000;
  const drawn = (api.panel()?.renders ?? []).slice(rendersBefore);
  const renders = drawn.map(r => r.ms);
  const frames = drawn.map(r => r.frameMs);
  const longest = drawn.map(r => r.longestFrameMs);
  const slowest: Record<string, number> = {};
  for (const r of drawn) slowest[r.slowest] = (slowest[r.slowest] ?? 0) + 1;
  return {
    config,
    status: run.history.status,
    reason: run.history.reason,
    steps: run.history.step + 1,
    layers: run.history.layerNames().length,
    seconds,
    stepsPerSecond: (run.history.step + 1) / seconds,
    eventLoopDelayMs: { p50: lag.percentile(50) / 1e6 - resolution, p99: lag.percentile(99) / 1e6 - resolution, max: lag.max / 1e6 - resolution, mean: lag.mean / 1e6 - resolution },
    panel: { snapshotsSent: (api.panel()?.snapshotsSent ?? 0) - sentBefore, renders: renders.length, renderMsP50: percentile(renders, 0.5), renderMsP95: percentile(renders, 0.95), frameMsP50: percentile(frames, 0.5), frameMsP95: percentile(frames, 0.95), longestFrameMsP50: percentile(longest, 0.5), longestFrameMsP95: percentile(longest, 0.95), slowest },
  };
}

export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension<GradientMonitorApi>('gradmon.gradient-monitor')!;
  const api = await ext.activate();
  await vscode.commands.executeCommand('gradientMonitor.openPanel');
  for (let i = 0; i < 100 && !api.panel()?.snapshotsSent; i++) await new Promise(r => setTimeout(r, 100));
  const results = [];
  for (const config of (process.env.GRADMON_BENCH_CONFIGS ?? 'fast-mlp.gradmon.json,deep-50.gradmon.json').split(',')) {
    results.push(await measure(api, config));
  }
  const out = process.env.GRADMON_BENCH_OUT;
  if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(JSON.stringify(results, null, 2));
  if (results.some(r => r.status !== 'completed')) throw new Error('a benchmark run did not complete');
}
