// Where a training step's time goes, for one benchmark model on one backend: per-kernel times (tf.profile)
// and JS self time per function (a V8 CPU profile), through the same Trainer the benchmark and users run.
//
//   node bench/profile.js --model lstm --backend wasm [--monitor on|off] [--steps 30] [--kernels] [--cpu] [--top 25]
//     --kernels  time every kernel of --steps steps with tf.profile (adds a little per-kernel overhead)
//     --cpu      re-runs itself under `node --cpu-prof` and prints the functions with the most self time
// Needs a build (node scripts/build.js). Models: bench/configs/<model>.gradmon.json.

'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { quietTfjs } = require('./quiet');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(name);
  return at >= 0 && at + 1 < argv.length ? argv[at + 1] : fallback;
};
const model = option('--model', 'mlp');
const backend = option('--backend', 'wasm');
const monitorOn = option('--monitor', 'on') === 'on';
const steps = Number(option('--steps', '30'));
const top = Number(option('--top', '25'));

if (argv.includes('--cpu')) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-prof-'));
  const rest = argv.filter((a) => a !== '--cpu' && a !== '--kernels');
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, __filename, ...rest], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  summarizeCpuProfile(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
  console.log(`profile: ${path.join(dir, file)} (open in Chrome DevTools or VS Code)`);
  return;
}

function summarizeCpuProfile(profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  for (const [id, us] of dt) {
    const n = byId.get(id).callFrame;
    const where = n.url ? `${path.relative(root, n.url.replace(/^file:\/\//, ''))}:${n.lineNumber + 1}` : '';
    const key = `${n.functionName || '(anonymous)'} ${where}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  console.log(`\nJS self time, top ${top} of ${(total / 1000).toFixed(0)} ms sampled:`);
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
}

async function main() {
  quietTfjs();
  const out = (...p) => path.join(root, 'out', 'src', ...p);
  const tf = require('@tensorflow/tfjs-core');
  const { prepareRun } = require(out('engine', 'run.js'));
  const { RunLogWriter } = require(out('engine', 'runlog.js'));
  const { Trainer } = require(out('engine', 'trainer.js'));
  const { createMonitor } = require(out('diagnosis', 'monitor.js'));
  const prepared = await prepareRun({ configPath: path.join(__dirname, 'configs', `${model}.gradmon.json`), workspaceRoot: root, backend });
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('; '));
  const config = { ...prepared.config, monitor: { ...prepared.config.monitor, every: monitorOn ? 1 : 2 ** 30 } };
  const logRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-prof-log-'));
  const log = RunLogWriter.create(logRoot, config.name);
  const monitor = createMonitor(config, prepared.built.summaries);
  const warmup = 5;
  let done = 0;
  let t0 = 0;
  let cpu0;
  const trainer = new Trainer({
    config, data: prepared.data, built: prepared.built, maxSteps: warmup + steps,
    emit: (e) => {
      log.append(e);
      for (const f of monitor.observe(e)) log.append({ type: 'finding', step: e.step ?? 0, finding: f });
      if (e.type === 'step' && ++done === warmup) {
        t0 = performance.now();
        cpu0 = process.cpuUsage();
      }
    },
  });
  const kernels = new Map();
  if (argv.includes('--kernels')) {
    // tf.profile wraps the whole run; the warm-up steps are profiled too, so they are subtracted by count below.
    const info = await tf.profile(() => trainer.run());
    for (const k of info.kernels) {
      const entry = kernels.get(k.name) ?? { ms: 0, calls: 0 };
      entry.ms += k.kernelTimeMs;
      entry.calls++;
      kernels.set(k.name, entry);
    }
  } else await trainer.run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  log.close();
  fs.rmSync(logRoot, { recursive: true, force: true });
  console.log(`${model} on ${backend}, monitoring ${monitorOn ? 'on' : 'off'}: ${(ms / steps).toFixed(2)} ms per step over ${steps} steps (${((1000 * steps) / ms).toFixed(1)} steps/s); process CPU ${(cpuMs / steps).toFixed(2)} ms per step`);
  if (kernels.size) {
    const all = warmup + steps;
    const total = [...kernels.values()].reduce((a, k) => a + k.ms, 0) / all;
    console.log(`\nkernels per step (averaged over all ${all} steps, warm-up included): ${total.toFixed(2)} ms in kernels`);
    for (const [name, k] of [...kernels].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
      console.log(`  ${(k.ms / all).toFixed(3).padStart(8)} ms ${((100 * k.ms) / all / total).toFixed(1).padStart(5)}%  ${String((k.calls / all).toFixed(0)).padStart(4)} calls  ${name}`);
    }
  }
}

main().catch((e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
