// The gradient panel's page: renders the run snapshots the host sends (complete ones, ~4/s while training),
// keeps what the user looks at (run, layers, selected layer, scrubbed step) in the webview state so it
// survives hiding and reloads, and tells the host about it so the next snapshot carries the right columns.

import type { Finding, HostToPanel, PanelToHost, PanelViewState, RunListEntry, RunSnapshot, SeriesData } from '../shared/types';
import { applySnapshotPatch, dec } from '../../src/history/runHistory';
import { connect, onHostMessage } from '../shared/vscodeApi';
import { h, setAttr, setText, show, toggleClass } from '../shared/dom';
import { formatNumber, formatPercent, STATUS_LABEL } from '../shared/format';
import { layerColor, readTheme, severityColor, watchTheme, withAlpha, type Theme } from '../shared/theme';
import { FindingsList } from '../shared/findings';
import { fromColumn, fromHistogram, HistogramChart, LossChart, markerAt, NormsChart, totalOf, type SpecialBar, type StepHistogram, type TimeMarker } from './charts';
import { Heatmaps, lastAtOrBefore } from './heatmap';
import { LayerFilter } from './layerFilter';
import { Legend } from './legend';
import type { Chart } from 'chart.js';

type RunLayer = RunSnapshot['layers'][number];
type SnapshotMessage = Extract<HostToPanel, { type: 'snapshot' }>;

/** What the page keeps with vscode.setState. The host's serializer reads `view` from it after a reload. */
interface Persisted {
  view: PanelViewState;
  /** "None" in the layer filter (PanelViewState.layers empty means all, so "none" needs its own flag). */
  noLayers?: boolean;
}

/** Wait this long after the last change before telling the host (a dragged scrubber fires dozens of events). */
const VIEW_POST_DELAY_MS = 150;
/** After the user picks another run, snapshots of the old one still in flight are ignored for at most this long. */
const RUN_SWITCH_GRACE_MS = 3000;

const vscode = connect<PanelToHost, Persisted>();
const saved = vscode.getState();
let view: PanelViewState = { ...(saved?.view ?? {}) };
let noLayers = saved?.noLayers ?? false;
let run: RunSnapshot | undefined;
let runs: RunListEntry[] = [];
let pending: SnapshotMessage | undefined;
let runRequest: { runId: string; at: number } | undefined;
let highlighted: string | undefined;
let theme: Theme = readTheme();

// --- layout ---------------------------------------------------------------------------------------------------

const root = document.getElementById('root')!;

const runName = h('h1', { class: 'run-name', text: 'Gradient Monitor' });
const statusPill = h('span', { class: 'status-pill', hidden: true });
const reason = h('span', { class: 'run-reason' });
const runSelect = h('select', { 'aria-label': 'Run to show' });
const runSelectLabel = h('label', { class: 'run-select', hidden: true }, 'Run ', runSelect);
const stopButton = h('button', { class: 'button secondary', type: 'button', text: 'Stop', 'aria-label': 'Stop training' });
const trainButton = h('button', { class: 'button secondary', type: 'button', text: 'Train again', 'aria-label': 'Train this config again' });
const exportButton = h('button', { class: 'button secondary', type: 'button', text: 'Export…', 'aria-label': 'Export the run statistics' });
const backend = h('span', { class: 'backend' });
const progress = h('span', { class: 'progress' });
const nonFinite = h('button', { class: 'link nonfinite', type: 'button', hidden: true });
const backendHint = h('p', { class: 'backend-hint', hidden: true });
const header = h('header', { class: 'run-header' },
  h('div', { class: 'title-row' }, runName, statusPill, reason, h('span', { class: 'spacer' }), runSelectLabel, stopButton, trainButton, exportButton),
  h('div', { class: 'meta-row' }, backend, progress, nonFinite),
  backendHint);

const liveButton = h('button', { class: 'button secondary live', type: 'button', 'aria-pressed': 'true', text: 'Live' });
const scrubber = h('input', { type: 'range', class: 'scrubber-range', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'Step to look at' });
const scrubLabel = h('output', { class: 'scrub-label', 'aria-live': 'off' });
const scrubBar = h('div', { class: 'scrubber', role: 'group', 'aria-label': 'Step' }, liveButton, scrubber, scrubLabel);

function card(id: string, title: string, ...body: (Node | undefined)[]): { el: HTMLElement; heading: HTMLElement; note: HTMLElement; png: HTMLButtonElement } {
  const heading = h('h2', { id: `${id}-heading`, text: title });
  const note = h('span', { class: 'card-note' });
  const png = h('button', { class: 'button secondary small', type: 'button', text: 'PNG', 'aria-label': `Save the ${title.toLowerCase()} chart as PNG` });
  const el = h('section', { class: `card card-${id}`, 'aria-labelledby': `${id}-heading` }, h('div', { class: 'card-head' }, heading, note, png), ...body);
  return { el, heading, note, png };
}

const normsCanvas = h('canvas', { role: 'img', 'aria-label': 'Gradient norms over time' });
const lossCanvas = h('canvas', { role: 'img', 'aria-label': 'Loss over time' });
const histCanvas = h('canvas', { role: 'img', 'aria-label': 'Histogram of log10 |gradient|' });
const histSummary = h('p', { class: 'hist-summary' });
const histLatest = h('p', { class: 'hist-latest' });
const heatmapBox = h('div', { class: 'heatmaps' });
const heatLegend = h('p', { class: 'legend-note', text: 'Colour: share of the layer\'s values in each log10|g| bin (log scale). Strips: NaN/Inf on top, then ≥ range; below: < range, exact zeros.' });

const normsLegend = new Legend('Norms chart legend');
const lossLegend = new Legend('Loss chart legend');
const normsCard = card('norms', 'Gradient norms', h('div', { class: 'chart-box tall' }, normsCanvas), normsLegend.el);
const lossCard = card('loss', 'Loss', h('div', { class: 'chart-box' }, lossCanvas), lossLegend.el);
const histCard = card('histogram', 'Histogram', h('div', { class: 'chart-box' }, histCanvas), histSummary, histLatest);
const heatCard = card('distribution', 'Distribution over time', heatLegend, heatmapBox);

const findingsHeading = h('h2', { id: 'findings-heading', text: 'Findings' });
const findingsEmpty = h('p', { class: 'muted', text: 'No findings: the gradients look healthy so far.' });
const findingsList = new FindingsList({ reveal: f => jumpTo(f, true), apply: applyFix }, { reasons: true });
const findingsCard = h('section', { class: 'card card-findings', 'aria-labelledby': 'findings-heading' },
  h('div', { class: 'card-head' }, findingsHeading), findingsEmpty, findingsList.el);

const layerFilter = new LayerFilter({ setVisible, select: selectLayer });
const main = h('main', { class: 'views' }, findingsCard, normsCard.el, lossCard.el, histCard.el, heatCard.el);
const body = h('div', { class: 'layout' }, h('aside', { class: 'side' }, layerFilter.el), main);
const empty = h('div', { class: 'empty', hidden: true },
  h('h1', { text: 'No training run yet' }),
  h('p', { text: 'Start training from a *.gradmon.json config (Gradient Monitor: Start Training, or the Train lens in the config). Its gradients show up here live.' }),
  h('button', { class: 'button primary', type: 'button', text: 'Start training', 'data-command': 'train' }));
empty.querySelector('button')!.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'train' }));
root.append(header, scrubBar, body, empty);

/**
 * Charts off screen are not redrawn: a running run sends a snapshot every 250 ms, and in a narrow panel most
 * cards are below the fold. A card marked stale is drawn when it comes into view (or for an export).
 */
const offScreen = new Set<Element>();
const stale = new Set<Element>();
const visibility = typeof IntersectionObserver === 'function'
  ? new IntersectionObserver(entries => {
    let wake = false;
    for (const e of entries) {
      // A card without a box (the page before its first run is hidden) is not off screen: it has no place yet.
      if (e.isIntersecting || e.boundingClientRect.height === 0) {
        offScreen.delete(e.target);
        if (stale.delete(e.target)) wake = true;
      } else offScreen.add(e.target);
    }
    if (wake) schedule();
  }, { rootMargin: '200px 0px' })
  : undefined;
for (const c of [normsCard.el, lossCard.el, histCard.el, heatCard.el]) visibility?.observe(c);

/** Whether to draw a card's chart in this render; if not, it is drawn once it comes into view. */
function drawn(card: Element): boolean {
  if (!offScreen.has(card) || exportRequested) return true;
  stale.add(card);
  return false;
}

const norms = new NormsChart(normsCanvas, theme);
const loss = new LossChart(lossCanvas, theme);
const histogram = new HistogramChart(histCanvas, theme);
const heatmaps = new Heatmaps(heatmapBox, selectLayer);

// For the webview tests: the live Chart instances and what the canvases show.
(window as unknown as { __gradmon: unknown }).__gradmon = {
  charts: { norms: norms.chart, loss: loss.chart, histogram: histogram.chart },
  histogram: () => histogram.current,
  layerLines: () => norms.layers(),
  layerPixel: (x: number, y: number) => norms.layerPixel(x, y),
  layerRedraw: () => norms.layerRedraw(),
  heatmap: { info: () => heatmaps.info() },
  view: () => ({ ...view, noLayers }),
  parts: () => ({ ...parts }),
};

// --- view state ---------------------------------------------------------------------------------------------

let viewTimer: ReturnType<typeof setTimeout> | undefined;
function saveView(notifyHost = true): void {
  vscode.setState({ view, noLayers });
  if (!notifyHost) return;
  clearTimeout(viewTimer);
  viewTimer = setTimeout(() => vscode.postMessage({ type: 'view', view: { ...view } }), VIEW_POST_DELAY_MS);
}

function visibleNames(r: RunSnapshot): Set<string> {
  const all = r.layers.map(l => l.name);
  if (noLayers) return new Set();
  const chosen = (view.layers ?? []).filter(n => all.includes(n));
  return new Set(chosen.length ? chosen : all);
}

function setVisible(names: string[], visible: boolean): void {
  if (!run) return;
  const current = visibleNames(run);
  for (const n of names) if (visible) current.add(n); else current.delete(n);
  const all = run.layers.map(l => l.name);
  noLayers = current.size === 0;
  view.layers = current.size === 0 || current.size === all.length ? undefined : all.filter(n => current.has(n));
  saveView();
  schedule();
}

function selectLayer(name: string): void {
  if (view.selectedLayer === name) return;
  view.selectedLayer = name;
  saveView();
  schedule();
}

/**
 * The layer to look at first: the sickest one (where the trouble is), among equally sick ones the one a finding
 * points at (an explosion marks every layer that spiked, and points at where it jumped most), else the first.
 */
function defaultLayer(r: RunSnapshot): string | undefined {
  const rank = { nonFinite: 0, exploding: 1, vanishing: 2, dead: 3, saturated: 4, ok: 5 } as const;
  const pointedAt = new Set(r.findings.filter(f => f.severity !== 'info').map(f => f.layer));
  const worst = [...r.layers].sort((a, b) => rank[a.health] - rank[b.health] || Number(pointedAt.has(b.name)) - Number(pointedAt.has(a.name)) || a.index - b.index)[0];
  return r.firstNonFinite?.layer && r.layers.some(l => l.name === r.firstNonFinite!.layer) ? r.firstNonFinite.layer : worst?.name;
}

/** Moves the scrubber to a finding's step and selects its layer (clicked in the list, on a marker, or by the host). */
function jumpTo(f: Pick<Finding, 'id' | 'firstStep' | 'layer'>, reveal: boolean): void {
  if (f.firstStep !== undefined) view.scrubStep = f.firstStep;
  if (f.layer) showLayer(f.layer);
  highlighted = f.id;
  saveView();
  schedule();
  if (reveal && run) vscode.postMessage({ type: 'revealFinding', runId: run.runId, findingId: f.id });
  requestAnimationFrame(() => findingsList.element(f.id)?.scrollIntoView({ block: 'nearest' }));
}

/** Selects a layer and makes sure the charts show it. */
function showLayer(name: string): void {
  view.selectedLayer = name;
  if (run && !visibleNames(run).has(name)) {
    const current = visibleNames(run);
    current.add(name);
    noLayers = false;
    const all = run.layers.map(l => l.name);
    view.layers = current.size === all.length ? undefined : all.filter(n => current.has(n));
  }
  layerFilter.reveal(name);
}

function applyFix(f: Finding, fix: { id: string }, retrain: boolean): void {
  if (!run) return;
  vscode.postMessage({ type: 'applyFix', runId: run.runId, findingId: f.id, fixId: fix.id, retrain });
}

// --- controls ---------------------------------------------------------------------------------------------------

scrubber.addEventListener('input', () => {
  view.scrubStep = Number(scrubber.value);
  saveView();
  schedule();
});
liveButton.addEventListener('click', () => {
  view.scrubStep = view.scrubStep === undefined && run ? run.step : undefined;
  saveView();
  schedule();
});
runSelect.addEventListener('change', () => {
  const runId = runSelect.value;
  if (!runId || runId === run?.runId) return;
  runRequest = { runId, at: Date.now() };
  view = { ...view, runId, scrubStep: undefined };
  highlighted = undefined;
  saveView();
});
stopButton.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'stop' }));
trainButton.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'train' }));
exportButton.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'export' }));
nonFinite.addEventListener('click', () => {
  const origin = run?.firstNonFinite;
  if (origin) jumpTo({ id: '', firstStep: origin.step, layer: origin.layer }, false);
});
type ChartName = 'norms' | 'loss' | 'histogram' | 'distribution';
/** Sends a chart to the host as PNG (the card's button, or the Export Run command through `exportRequest`). */
function exportChart(name: ChartName): void {
  const canvas = name === 'norms' ? normsCanvas : name === 'loss' ? lossCanvas : name === 'histogram' ? histCanvas
    : heatmaps.info().find(i => i.layer === view.selectedLayer)?.canvas ?? heatmaps.info()[0]?.canvas;
  if (canvas) vscode.postMessage({ type: 'exportPng', chart: name, dataUrl: canvas.toDataURL('image/png') });
}
for (const [c, name] of [[normsCard, 'norms'], [lossCard, 'loss'], [histCard, 'histogram'], [heatCard, 'distribution']] as const) {
  c.png.addEventListener('click', () => exportChart(name));
}
/** An export the host asked for, done after the next render (the charts may not be drawn yet). */
let exportRequested: ChartName | undefined;

/**
 * Finding markers on the time charts: a click jumps to the finding, hovering names it. On the norms chart a
 * click on a layer's line selects that layer (the layer list does the same from the keyboard).
 */
for (const chart of [norms.chart, loss.chart] as Chart[]) {
  const hit = (event: MouseEvent) => {
    const m = markerAt(chart, event.offsetX);
    if (m) return { marker: m, layer: undefined };
    return { marker: undefined, layer: chart === norms.chart ? norms.layerAt(event.offsetX, event.offsetY) : undefined };
  };
  chart.canvas.addEventListener('click', event => {
    const { marker, layer } = hit(event);
    const f = marker?.findingId ? run?.findings.find(x => x.id === marker.findingId) : undefined;
    if (f) jumpTo(f, true);
    else if (layer) selectLayer(layer.layer);
  });
  chart.canvas.addEventListener('mousemove', event => {
    const { marker, layer } = hit(event);
    chart.canvas.style.cursor = marker || layer ? 'pointer' : '';
    setAttr(chart.canvas, 'title', marker?.title ?? (layer ? `${layer.layer}: ${formatNumber(layer.value)} at step ${layer.step} — click to select` : undefined));
  });
}

// --- messages -----------------------------------------------------------------------------------------------------

/** The last snapshot received (complete, patches applied), which the next patch continues. */
let received: { seq: number; run?: RunSnapshot } | undefined;
let resyncAsked = false;

/**
 * Every snapshot is taken in as it arrives (a patch needs the one before it), rendering only the newest per frame.
 * Undefined when a patch does not continue what this page holds: the host is asked for a complete snapshot.
 */
function receive(m: SnapshotMessage): SnapshotMessage | undefined {
  let r = m.run;
  if (m.base !== undefined) {
    const ok = received?.seq === m.base && received.run && r && received.run.runId === r.runId;
    try {
      if (ok) r = applySnapshotPatch(received!.run!, r!);
    } catch {
      r = undefined;
    }
    if (!ok || !r) {
      received = undefined;
      if (!resyncAsked) vscode.postMessage({ type: 'resync' });
      resyncAsked = true;
      return undefined;
    }
  }
  resyncAsked = false;
  received = { seq: m.seq, run: r };
  return { ...m, run: r };
}

onHostMessage<HostToPanel>(m => {
  if (m.type === 'snapshot') {
    const complete = receive(m);
    if (!complete) return;
    pending = complete;
    schedule(false);
  } else if (m.type === 'focus') {
    jumpTo({ id: m.findingId ?? '', firstStep: m.step, layer: m.layer }, false);
  } else if (m.type === 'exportRequest') {
    exportRequested = m.chart;
    schedule();
  }
});

watchTheme(t => {
  theme = t;
  norms.applyTheme(t);
  loss.applyTheme(t);
  histogram.applyTheme(t);
  schedule();
});

// --- frames ------------------------------------------------------------------------------------------------------

/**
 * What a render draws, part by part. A streamed snapshot (~4 a second while training) is drawn one slice per
 * frame, so that no frame of the page waits for all of it: without a GPU the whole panel took ~30 ms of one
 * frame (script, layout, paint, canvas rasterization), two frames at 60 Hz, and a scroll or hover in between
 * stuttered. The slices go round in order, so a part is never starved by snapshots arriving faster than a
 * round. What the user does (select, scrub, filter, scroll a card into view, export) is drawn whole in the next
 * frame: the answer to an action must not arrive in pieces.
 */
type Part = 'page' | 'norms' | 'loss' | 'histogram' | 'heatmaps';
const SLICES: Part[][] = [['page'], ['norms'], ['loss'], ['histogram', 'heatmaps']];
const PARTS: Part[] = SLICES.flat();

/** Parts not yet drawn with the newest snapshot; the slice the next streamed frame starts looking from. */
const dirty = new Set<Part>();
let nextSlice = 0;
/** Drawn whole in the next frame (an action of the user's). */
let urgent = true;
/** The snapshot update being drawn: when it began, script so far, its frames, the longest of them. */
let update: { start: number; ms: number; frames: number; longest: number; slowest: string; layers: number; points: number } | undefined;

let frameRequested = false;
/** A render in the next frame; `whole` (the default, for the user's actions) draws every part in it. */
function schedule(whole = true): void {
  if (whole) {
    urgent = true;
    for (const p of PARTS) dirty.add(p);
  }
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(frame);
}

function frame(): void {
  frameRequested = false;
  const t0 = performance.now();
  let snapshot = pending;
  pending = undefined;
  if (snapshot && !adopt(snapshot)) snapshot = undefined; // stale: a run the user switched away from
  if (snapshot) {
    for (const p of PARTS) dirty.add(p);
    update ??= { start: t0, ms: 0, frames: 0, longest: 0, slowest: '', layers: 0, points: 0 };
  }
  let drawing: Part[];
  if (urgent || exportRequested || !run) {
    drawing = PARTS;
  } else {
    drawing = [];
    for (let k = 0; k < SLICES.length && !drawing.length; k++) {
      const slice = SLICES[(nextSlice + k) % SLICES.length];
      if (slice.some(p => dirty.has(p))) {
        drawing = slice;
        nextSlice = (nextSlice + k + 1) % SLICES.length;
      }
    }
  }
  urgent = false;
  for (const p of drawing) dirty.delete(p);
  render(drawing);
  if (exportRequested && run) {
    exportChart(exportRequested);
    exportRequested = undefined;
  }
  if (dirty.size) schedule(false);
  const u = update;
  if (!u) return;
  u.ms += performance.now() - t0;
  u.frames++;
  u.layers = run?.layers.length ?? 0;
  u.points = norms.points + loss.points;
  const finished = dirty.size === 0;
  if (finished) update = undefined;
  // A task queued from inside the frame callback runs once that frame's rendering work is done.
  setTimeout(() => {
    const end = performance.now();
    if (end - t0 > u.longest) {
      u.longest = end - t0;
      u.slowest = drawing.join('+');
    }
    if (!finished) return;
    const round = (x: number) => Math.round(x * 100) / 100;
    vscode.postMessage({
      type: 'rendered', ms: round(u.ms), frameMs: round(end - u.start), longestFrameMs: round(u.longest), slowest: u.slowest, frames: u.frames,
      layers: u.layers, points: u.points,
    });
  }, 0);
}

/** Takes a snapshot in; false when it is a stale one of the run the user just switched away from. */
function adopt(m: SnapshotMessage): boolean {
  if (runRequest) {
    if (m.run && m.run.runId !== runRequest.runId && Date.now() - runRequest.at < RUN_SWITCH_GRACE_MS) return false;
    runRequest = undefined;
  }
  runs = m.runs;
  const before = run?.runId ?? view.runId;
  run = m.run;
  if (!run) return true;
  let tellHost = false;
  if (before !== run.runId) urgent = true; // a run the user just picked, or the first: drawn whole
  if (before !== undefined && before !== run.runId) {
    // Another run: the step looked at means nothing there, and only its own layers can be filtered.
    view.scrubStep = undefined;
    highlighted = undefined;
    const names = new Set(run.layers.map(l => l.name));
    const kept = (view.layers ?? []).filter(n => names.has(n));
    if (view.layers && kept.length !== view.layers.length) {
      view.layers = kept.length ? kept : undefined;
      tellHost = true;
    }
  }
  view.runId = run.runId;
  if (!view.selectedLayer || !run.layers.some(l => l.name === view.selectedLayer)) {
    const layer = defaultLayer(run);
    if (layer !== view.selectedLayer) {
      view.selectedLayer = layer;
      tellHost = true; // the host sends distribution columns for the selected layer
    }
  }
  saveView(tellHost);
  return true;
}

// --- rendering ---------------------------------------------------------------------------------------------------

/** Milliseconds per part of the last render that drew it (for the render-time measurement). */
const parts: Record<string, number> = {};
let mark = 0;
function lap(name: string): void {
  const now = performance.now();
  parts[name] = now - mark;
  mark = now;
}

/** What every part works from: the run, the step looked at, the layers shown and the selected one. */
interface Scene {
  r: RunSnapshot;
  viewed: number;
  visible: Set<string>;
  visibleLayers: RunLayer[];
  selected?: RunLayer;
  markers: TimeMarker[];
}

function sceneOf(r: RunSnapshot): Scene {
  const viewed = view.scrubStep === undefined ? r.step : Math.min(view.scrubStep, r.step);
  const visible = visibleNames(r);
  const markers: TimeMarker[] = r.findings.filter(f => f.firstStep !== undefined).map(f => ({
    step: f.firstStep!, color: severityColor(theme, f.severity), findingId: f.id,
    title: `${f.title} — click to show step ${f.firstStep}${f.layer ? ` and ${f.layer}` : ''}`, width: f.id === highlighted ? 3 : 1.5,
  }));
  if (view.scrubStep !== undefined) markers.push({ step: viewed, color: theme.foreground, dashed: true, width: 1.5 });
  return {
    r, viewed, visible, markers,
    visibleLayers: r.layers.filter(l => visible.has(l.name)),
    selected: r.layers.find(l => l.name === view.selectedLayer),
  };
}

const drawPart: Record<Part, (s: Scene) => void> = {
  page({ r, viewed, visible, visibleLayers }) {
    renderHeader(r);
    renderScrubber(r, viewed);
    layerFilter.update(r.layers.map(l => ({
      name: l.name, type: l.type, health: l.health, norm: valueAt(l.norm, viewed, l.latest?.step === viewed ? dec(l.latest.gradNorm) : undefined),
      color: layerColor(theme, l.index), visible: visible.has(l.name), selected: l.name === view.selectedLayer,
    })));
    const lastGlobal = dec(r.globalNorm.last[r.globalNorm.last.length - 1]);
    setText(normsCard.note, `log scale · ${visibleLayers.length} of ${r.layers.length} layers · global ${formatNumber(lastGlobal)}` +
      (r.clipping.length ? ` · clipping: ${r.clipping.map(c => `${c.mode} ${c.threshold}`).join(', ')}` : ' · no clipping'));
    setAttr(normsCanvas, 'aria-label', `Gradient norms over time on a log scale for ${visibleLayers.length} layers, with the global norm before and after clipping; latest global norm ${formatNumber(lastGlobal)}`);
    const lastLoss = dec(r.lastLoss);
    setText(lossCard.note, `train ${formatNumber(lastLoss)}` + (r.validation.length ? ` · validation ${formatNumber(dec(r.validation[r.validation.length - 1].loss))}` : ''));
    setAttr(lossCanvas, 'aria-label', `Loss over time; latest training loss ${formatNumber(lastLoss)}`);
    findingsList.update(r.findings, highlighted);
    show(findingsEmpty, r.findings.length === 0);
    setText(findingsHeading, r.findings.length ? `Findings (${r.findings.length})` : 'Findings');
  },
  norms({ r, visibleLayers, selected, visible, markers }) {
    if (drawn(normsCard.el)) norms.update(r, visibleLayers, view.selectedLayer, theme, markers);
    renderNormsLegend(selected && visible.has(selected.name) ? selected : undefined);
  },
  loss({ r, markers }) {
    if (drawn(lossCard.el)) loss.update(r, theme, markers);
    renderLossLegend();
  },
  histogram({ r, selected, viewed }) {
    if (drawn(histCard.el)) renderHistogram(r, selected, viewed);
  },
  heatmaps({ r, visible, visibleLayers, viewed }) {
    const withColumns = r.layers.filter(l => l.columns && (l.name === view.selectedLayer || visible.has(l.name)));
    withColumns.sort((a, b) => Number(b.name === view.selectedLayer) - Number(a.name === view.selectedLayer) || a.index - b.index);
    if (drawn(heatCard.el)) {
      heatmaps.update(withColumns.map(l => ({ name: l.name, columns: l.columns! })), view.selectedLayer, r.histogramRange, r.histogramBins, theme,
        view.scrubStep === undefined ? undefined : viewed);
    }
    setText(heatCard.note, withColumns.length < visibleLayers.length ? `${withColumns.length} of ${visibleLayers.length} shown layers (select a layer to see its own)` : '');
  },
};

function render(which: Part[]): void {
  mark = performance.now();
  show(empty, !run);
  show(header, !!run || runs.length > 0);
  show(scrubBar, !!run);
  show(body, !!run);
  renderRunSelect();
  if (!run) return;
  const scene = sceneOf(run);
  lap('scene');
  for (const part of which) {
    drawPart[part](scene);
    lap(part);
  }
}

function renderNormsLegend(selected: RunLayer | undefined): void {
  normsLegend.update([
    { key: 'global', label: 'global norm before clipping', color: theme.foreground, mark: 'line' },
    { key: 'clipped', label: 'after clipping', color: theme.green, mark: 'dashed' },
    { key: 'band', label: `${selected?.name ?? ''} min–max`, color: withAlpha(layerColor(theme, selected?.index ?? 0), 0.35), mark: 'band', hidden: !selected },
    { key: 'nonfinite', label: 'NaN / Inf', color: theme.red, mark: 'triangle', hidden: !norms.hasNonFinite },
    { key: 'zero', label: '‖g‖ = 0', color: theme.muted, mark: 'diamond', hidden: !norms.hasZero },
    { key: 'layers', label: 'layers: colours in the layer list', color: theme.muted, mark: 'line' },
  ]);
}

function renderLossLegend(): void {
  lossLegend.update([
    { key: 'train', label: 'train loss', color: theme.blue, mark: 'line' },
    { key: 'band', label: 'train min–max', color: withAlpha(theme.blue, 0.35), mark: 'band' },
    { key: 'validation', label: 'validation loss', color: theme.orange, mark: 'dot', hidden: !loss.hasValidation },
    { key: 'nonfinite', label: 'NaN / Inf', color: theme.red, mark: 'triangle', hidden: !loss.hasNonFinite },
  ]);
}

function renderHeader(r: RunSnapshot): void {
  setText(runName, r.name);
  setAttr(runName, 'title', r.configPath ?? r.name);
  show(statusPill, true);
  setText(statusPill, STATUS_LABEL[r.status] ?? r.status);
  setAttr(statusPill, 'class', `status-pill status-${r.status}`);
  setText(reason, r.reason ?? '');
  show(stopButton, r.status === 'running');
  show(trainButton, r.status !== 'running');
  const b = r.backend;
  setText(backend, b ? `Backend: ${b.name}${b.simd === true ? ' · SIMD' : b.simd === false ? ' · no SIMD' : ''}` : '');
  setAttr(backend, 'title', b ? `${b.chosenBy}${b.customKernels.length ? `; project kernels: ${b.customKernels.join(', ')}` : ''}` : undefined);
  setText(backendHint, b?.hint ?? '');
  show(backendHint, !!b?.hint);
  const epochs = r.stepsPerEpoch ? Math.ceil(r.totalSteps / r.stepsPerEpoch) : 0;
  const cost = r.monitoringCost;
  setText(progress, `Step ${stepsDone(r)} / ${r.totalSteps} · epoch ${r.epoch + 1}${epochs ? ` / ${epochs}` : ''} · ${formatNumber(r.stepsPerSecond, 3)} steps/s` +
    (cost ? ` · watching: ${formatPercent(cost.trainingMs / cost.stepMs)} of a step` : ''));
  setAttr(progress, 'title', cost
    ? `Per monitored step: ${formatNumber(cost.trainingMs, 2)} ms of ${formatNumber(cost.stepMs, 3)} ms on the training thread` +
      (cost.threadMs !== undefined ? `; the statistics, run log and diagnosis on the monitor thread (${formatNumber(cost.threadMs, 2)} ms of statistics), off the training thread` : '; statistics, run log and diagnosis on the training thread')
    : undefined);
  const origin = r.firstNonFinite;
  show(nonFinite, !!origin);
  if (origin) {
    const where = { loss: 'in the loss', forward: 'in the forward pass', gradient: 'in the gradients', weight: 'in the weights' }[origin.where];
    setText(nonFinite, `First NaN/Inf: step ${origin.step}${origin.layer ? ` in ${origin.layer}` : ''} (${where})`);
    setAttr(nonFinite, 'aria-label', `First NaN or Inf at step ${origin.step}${origin.layer ? ` in ${origin.layer}` : ''} ${where}; show it`);
  }
}

/** Steps taken (the snapshot's `step` is the index of the last one, 0 also before the first). */
function stepsDone(r: RunSnapshot): number {
  return r.loss.steps.length ? r.step + 1 : 0;
}

let runsKey = '';
function renderRunSelect(): void {
  show(runSelectLabel, runs.length > 1);
  const key = JSON.stringify(runs);
  if (key !== runsKey) {
    runsKey = key;
    runSelect.replaceChildren(...runs.map(e => h('option', {
      value: e.runId,
      text: `${e.name} · ${e.live ? 'live' : STATUS_LABEL[e.status] ?? e.status}${e.startedAt ? ` · ${e.startedAt.slice(0, 16).replace('T', ' ')}` : ''}`,
    })));
  }
  const want = runRequest?.runId ?? run?.runId ?? '';
  if (runSelect.value !== want) runSelect.value = want;
}

function renderScrubber(r: RunSnapshot, viewed: number): void {
  const first = r.loss.steps[0] ?? 0;
  setAttr(scrubber, 'min', String(first));
  setAttr(scrubber, 'max', String(Math.max(first, r.step)));
  if (scrubber.value !== String(viewed)) scrubber.value = String(viewed);
  const live = view.scrubStep === undefined;
  setAttr(liveButton, 'aria-pressed', String(live));
  toggleClass(liveButton, 'on', live);
  setText(liveButton, live ? (r.status === 'running' ? '● Live' : 'Latest') : 'Go live');
  setAttr(liveButton, 'aria-label', live ? 'Following the latest step; press to pause here' : 'Follow the latest step again');
  setText(scrubLabel, live ? `step ${r.step}` : `step ${viewed} of ${r.step}`);
  setAttr(scrubber, 'aria-valuetext', `step ${viewed}${live ? ' (latest)' : ''}`);
}

function renderHistogram(r: RunSnapshot, layer: RunLayer | undefined, viewed: number): void {
  let hist: StepHistogram | undefined;
  if (layer) {
    const latestStep = layer.latest?.step ?? r.step;
    if ((view.scrubStep === undefined || viewed >= latestStep) && layer.histogram) hist = fromHistogram(latestStep, layer.histogram);
    else if (layer.columns) {
      const i = lastAtOrBefore(layer.columns, viewed);
      if (i >= 0) hist = fromColumn(layer.columns[i]);
    }
  }
  histogram.update(layer?.name ?? '', hist, r.histogramRange, r.histogramBins);
  setText(histCard.heading, layer ? `Histogram of log10|g| · ${layer.name}` : 'Histogram of log10|g|');
  if (!layer) {
    setText(histCard.note, '');
    histSummary.replaceChildren('Select a layer in the list to see its gradient histogram.');
    histLatest.replaceChildren();
    return;
  }
  setText(histCard.note, hist ? (hist.step === viewed ? `step ${hist.step}` : `step ${hist.step} (nearest at or before ${viewed})`) : `no histogram at or before step ${viewed}`);
  const total = hist ? totalOf(hist) : 0;
  // What the log axis cannot hold, never dropped: a chip per kind, coloured like its bar and spelled out.
  const chip = (bar: SpecialBar, label: string, count: number, bad: boolean) => {
    const swatch = h('span', { class: 'chip-swatch', 'aria-hidden': 'true' });
    swatch.style.backgroundColor = histogram.colorOf(bar);
    return h('span', { class: bad && count > 0 ? 'chip nonfinite' : 'chip' }, swatch,
      `${label} ${count.toLocaleString('en-US')}${total && count ? ` (${formatPercent(count / total)})` : ''}`);
  };
  if (hist) {
    const [lo, hi] = r.histogramRange;
    histSummary.replaceChildren(
      h('span', { class: 'chip' }, `${total.toLocaleString('en-US')} values`),
      chip('zero', 'zeros', hist.zeros, false), chip('underflow', `<1e${lo}`, hist.underflow, false),
      chip('overflow', `≥1e${hi}`, hist.overflow, false), chip('nan', 'NaN', hist.nan, true), chip('inf', 'Inf', hist.inf, true));
  } else histSummary.replaceChildren('The host has not sent this layer\'s earlier histograms yet.');
  setAttr(histCanvas, 'aria-label', hist
    ? `Histogram of log10 |gradient| of ${layer.name} at step ${hist.step}: ${total} values, ${hist.nan} NaN, ${hist.inf} Inf, ${hist.zeros} zeros`
    : `No histogram of ${layer.name} at step ${viewed}`);
  const l = layer.latest;
  if (l && l.step === hist?.step) {
    const act = l.activation;
    histLatest.replaceChildren(`‖g‖ ${formatNumber(dec(l.gradNorm))} · mean ${formatNumber(dec(l.mean))} · std ${formatNumber(dec(l.std))} · max|g| ${formatNumber(dec(l.maxAbs))} · ` +
      `update/weight ${formatNumber(dec(l.updateRatio))}` + (act ? ` · ${act.activation}: ${formatPercent(act.deadUnitFraction)} dead units, ${formatPercent(act.saturatedFraction)} saturated` : ''));
  } else histLatest.replaceChildren();
}

/** The value of a bucketed series at a step: the bucket that holds it (the last one starting at or before it). */
function valueAt(s: SeriesData, step: number, exact?: number): number | undefined {
  if (exact !== undefined) return exact;
  let lo = 0;
  let hi = s.steps.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (s.steps[mid] <= step) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found < 0 ? undefined : dec(s.last[found]);
}

// Say hello last: everything above is ready for the first snapshot.
vscode.postMessage({ type: 'ready', view: { ...view } });
schedule();
