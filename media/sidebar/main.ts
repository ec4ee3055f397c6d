// The sidebar monitor: the current run at a glance (status, progress, loss, a row per layer with its gradient
// norm, trend and health, the findings with their fixes) or, without a run, how to start one. Everything is
// a real button or table cell: it works with the keyboard and a screen reader, and colour only repeats text.

import type { Finding, HostToSidebar, SidebarModel, SidebarToHost, SuggestedFix } from '../shared/types';
import { dec } from '../../src/history/runHistory';
import { connect, onHostMessage } from '../shared/vscodeApi';
import { h, setAttr, setText, show, toggleClass } from '../shared/dom';
import { formatNumber, HEALTH_DESCRIPTION, HEALTH_GLYPH, HEALTH_LABEL, STATUS_LABEL } from '../shared/format';
import { FindingsList } from '../shared/findings';
import { Sparkline } from '../shared/sparkline';

type SidebarRun = NonNullable<SidebarModel['run']>;
type SidebarLayer = SidebarRun['layers'][number];
type Command = Extract<SidebarToHost, { type: 'command' }>['command'];

const vscode = connect<SidebarToHost, Record<string, never>>();
let model: SidebarModel | undefined;

const root = document.getElementById('root')!;

function commandButton(command: Command, text: string, label: string, primary = false): HTMLButtonElement {
  const b = h('button', { class: `button ${primary ? 'primary' : 'secondary'}`, type: 'button', text, 'aria-label': label, 'data-command': command });
  b.addEventListener('click', () => vscode.postMessage({ type: 'command', command }));
  return b;
}

// --- the run ------------------------------------------------------------------------------------------------------
const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
const stop = commandButton('stop', 'Stop', 'Stop training');
const train = commandButton('train', 'Train', 'Start training');
const openPanel = commandButton('openPanel', 'Open panel', 'Open the gradient panel');
const openConfig = commandButton('openConfig', 'Open config', 'Open the training config of this run');
const bar = h('progress', { class: 'progress', max: 1, value: 0, 'aria-label': 'Training progress' });
const progressText = h('p', { class: 'progress-text' });
const lossValue = h('span', { class: 'loss-value' });
const lossSpark = new Sparkline('Training loss', 120, 22);
const backend = h('p', { class: 'backend muted' });
const hintText = h('p', {});
const hint = h('details', { class: 'backend-hint' }, h('summary', { text: 'Native backend not installed' }), hintText);
const nonFinite = h('p', { class: 'nonfinite' });
const runSection = h('section', { class: 'run', 'aria-label': 'Current run' },
  status,
  h('div', { class: 'actions' }, stop, train, openPanel, openConfig),
  bar, progressText,
  h('p', { class: 'loss-row' }, h('span', { class: 'label', text: 'Loss' }), lossValue, lossSpark.el),
  nonFinite, backend, hint);

const tbody = h('tbody', {});
const layersTable = h('table', { class: 'layers' },
  h('caption', { class: 'visually-hidden', text: 'Gradient norm, recent trend and health per layer' }),
  h('thead', {}, h('tr', {},
    h('th', { scope: 'col', text: 'Layer' }),
    h('th', { scope: 'col', class: 'num', text: 'Norm', title: 'gradient norm ‖g‖ at the latest step', 'aria-label': 'Gradient norm' }),
    h('th', { scope: 'col', text: 'Trend', 'aria-label': 'Gradient norm trend' }),
    h('th', { scope: 'col', text: 'Health' }))),
  tbody);
const layersSection = h('section', { class: 'layers-section', 'aria-labelledby': 'layers-heading' }, h('h2', { id: 'layers-heading', text: 'Layers' }), layersTable);

const findingsHeading = h('h2', { id: 'findings-heading', text: 'Findings' });
const noFindings = h('p', { class: 'muted', text: 'None so far: the gradients look healthy.' });
const findings = new FindingsList({ reveal: revealFinding, apply: applyFix }, { reasons: false });
const findingsSection = h('section', { class: 'findings-section', 'aria-labelledby': 'findings-heading' }, findingsHeading, noFindings, findings.el);

// --- no run -------------------------------------------------------------------------------------------------------
const emptyTrain = commandButton('train', 'Train', 'Start training a config', true);
const emptyNew = commandButton('newConfig', 'New training config', 'Create a new training config from a template');
const emptyText = h('p', {});
const empty = h('section', { class: 'empty', 'aria-labelledby': 'empty-heading' },
  h('h2', { id: 'empty-heading', text: 'No training run yet' }), emptyText, h('div', { class: 'actions' }, emptyTrain, emptyNew));

const untrusted = h('p', { class: 'untrusted', role: 'note', hidden: true,
  text: 'This workspace is not trusted, so training is disabled. Configs are still checked. Trust the workspace to train.' });

root.append(untrusted, empty, runSection, layersSection, findingsSection);

function revealFinding(f: Finding): void {
  if (model?.run) vscode.postMessage({ type: 'revealFinding', runId: model.run.runId, findingId: f.id });
}
function applyFix(f: Finding, fix: SuggestedFix, retrain: boolean): void {
  if (model?.run) vscode.postMessage({ type: 'applyFix', runId: model.run.runId, findingId: f.id, fixId: fix.id, retrain });
}

// --- rendering ----------------------------------------------------------------------------------------------------

function render(m: SidebarModel): void {
  const r = m.run;
  show(untrusted, !m.trusted);
  show(empty, !r);
  show(runSection, !!r);
  show(layersSection, !!r && r.layers.length > 0);
  show(findingsSection, !!r);
  for (const b of [train, emptyTrain]) {
    b.disabled = !m.trusted;
    setAttr(b, 'title', m.trusted ? undefined : 'Training needs a trusted workspace');
  }
  if (!r) {
    show(emptyTrain, m.hasConfigs);
    emptyNew.className = `button ${m.hasConfigs ? 'secondary' : 'primary'}`;
    setText(emptyText, m.hasConfigs
      ? 'Train a model from a *.gradmon.json config to watch its gradients here, layer by layer.'
      : 'This workspace has no *.gradmon.json training config yet. Create one from a template (MNIST MLP, text LSTM, long-range RNN…).');
    return;
  }
  renderRun(r, m);
  renderLayers(r.layers);
  findings.update(r.findings);
  show(noFindings, r.findings.length === 0);
  setText(findingsHeading, r.findings.length ? `Findings (${r.findings.length})` : 'Findings');
}

function renderRun(r: SidebarRun, m: SidebarModel): void {
  const label = STATUS_LABEL[r.status] ?? r.status;
  // The live region changes with the status only (not every step), so screen readers announce what matters.
  setText(status, `${label}: ${r.name}${r.reason ? ` — ${r.reason}` : ''}`);
  setAttr(status, 'class', `status status-${r.status}`);
  show(stop, r.status === 'running');
  show(train, r.status !== 'running');
  show(openConfig, !!r.configPath);
  // `step` is the index of the last step taken, 0 also before the first one.
  const done = r.loss.steps.length ? Math.min(r.totalSteps, r.step + 1) : 0;
  bar.max = Math.max(1, r.totalSteps);
  bar.value = done;
  const epochs = r.stepsPerEpoch ? Math.ceil(r.totalSteps / r.stepsPerEpoch) : 0;
  setAttr(bar, 'aria-valuetext', `step ${done} of ${r.totalSteps}`);
  setText(progressText, `Step ${done} / ${r.totalSteps} · epoch ${r.epoch + 1}${epochs ? ` / ${epochs}` : ''}` +
    (r.status === 'running' && r.stepsPerSecond ? ` · ${formatNumber(r.stepsPerSecond)} steps/s` : ''));
  const lastLoss = dec(r.lastLoss);
  setText(lossValue, formatNumber(lastLoss));
  toggleClass(lossValue, 'nonfinite', r.lastLoss !== undefined && !Number.isFinite(lastLoss));
  lossSpark.update(r.loss.last.map(dec));
  const origin = r.firstNonFinite;
  show(nonFinite, !!origin);
  if (origin) setText(nonFinite, `First NaN/Inf at step ${origin.step}${origin.layer ? ` in ${origin.layer}` : ''} (${origin.where})`);
  const b = r.backend;
  setText(backend, b ? `Backend: ${b.name}${b.simd === true ? ' · SIMD' : b.simd === false ? ' · no SIMD' : ''}` : '');
  const hintMessage = b?.hint ?? m.backendHint;
  show(hint, !!hintMessage);
  setText(hintText, hintMessage ?? '');
}

interface Row { tr: HTMLTableRowElement; norm: HTMLElement; spark: Sparkline; badge: HTMLElement; name: HTMLButtonElement }
const rows = new Map<string, Row>();
let rowKey = '';

function renderLayers(layers: SidebarLayer[]): void {
  const key = layers.map(l => l.name).join('\n');
  if (key !== rowKey) {
    rowKey = key;
    rows.clear();
    tbody.replaceChildren(...layers.map(l => {
      const name = h('button', { class: 'link layer-name', type: 'button', text: l.name, title: `${l.name} (${l.type}) — show in the panel`,
        'aria-label': `${l.name}, ${l.type}: show in the gradient panel` });
      name.addEventListener('click', () => vscode.postMessage({ type: 'focusLayer', layer: l.name }));
      const norm = h('td', { class: 'num' });
      const spark = new Sparkline(`Gradient norm of ${l.name}`, 64, 18);
      const badge = h('span', { class: 'badge', role: 'img' });
      const tr = h('tr', { 'data-layer': l.name }, h('th', { scope: 'row' }, name), norm, h('td', { class: 'trend' }, spark.el), h('td', {}, badge));
      rows.set(l.name, { tr, norm, spark, badge, name });
      return tr;
    }));
  }
  for (const l of layers) {
    const row = rows.get(l.name)!;
    const norm = l.latest ? dec(l.latest.gradNorm) : undefined;
    setText(row.norm, formatNumber(norm));
    toggleClass(row.norm, 'nonfinite', norm !== undefined && !Number.isFinite(norm));
    row.spark.update(l.sparkline.map(dec));
    setText(row.badge, `${HEALTH_GLYPH[l.health]} ${HEALTH_LABEL[l.health]}`);
    setAttr(row.badge, 'class', `badge health-${l.health}`);
    setAttr(row.badge, 'aria-label', `Health of ${l.name}: ${HEALTH_LABEL[l.health]}, ${HEALTH_DESCRIPTION[l.health]}`);
    toggleClass(row.tr, 'unhealthy', l.health !== 'ok');
  }
}

// --- messages -----------------------------------------------------------------------------------------------------

let frameRequested = false;
onHostMessage<HostToSidebar>(m => {
  if (m.type !== 'snapshot') return;
  model = m.model;
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    if (model) render(model);
  });
});

(window as unknown as { __gradmon: unknown }).__gradmon = { model: () => model };

vscode.postMessage({ type: 'ready' });
