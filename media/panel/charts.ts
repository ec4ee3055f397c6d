// The panel's Chart.js charts: gradient norms per layer (log scale) with the global norm before and after
// clipping, the loss, and the histogram of log10|g| at the viewed step. Built once and updated in place
// (datasets reused, data arrays replaced), with animation off, parsing off (pre-built {x, y} points) and
// normalized data, so a snapshot with 50 layers × 512 points redraws within a frame.

import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement,
  LogarithmicScale, PointElement, Tooltip,
  type ChartDataset, type Plugin, type Scale, type TooltipItem,
} from 'chart.js';
import type { HeatColumn, Histogram, RunSnapshot, SeriesData } from './types';
import { dec } from '../../src/history/runHistory';
import { formatNumber, formatPercent } from '../shared/format';
import { layerColor, withAlpha, type Theme } from '../shared/theme';

Chart.register(LineController, BarController, LineElement, PointElement, BarElement, LinearScale, LogarithmicScale, CategoryScale, Filler, Legend, Tooltip);

export interface Pt { x: number; y: number }
type LineDataset = ChartDataset<'line', Pt[]> & { key?: string };
type RunLayer = RunSnapshot['layers'][number];

/** A vertical line on the time axis: a finding at its first step (clickable) or the scrubbed step. */
export interface TimeMarker {
  step: number;
  color: string;
  /** The finding it stands for (absent for the scrub line). */
  findingId?: string;
  title?: string;
  dashed?: boolean;
  width?: number;
}

/** Pixels around a marker that still count as a click on it. */
const MARKER_HIT_PX = 6;

const markersOf = new WeakMap<Chart, TimeMarker[]>();

/** Draws the time markers over the datasets (after them, so they stay visible over 50 lines). */
const markerPlugin: Plugin = {
  id: 'gradmonMarkers',
  afterDatasetsDraw(chart) {
    const markers = markersOf.get(chart);
    const x = chart.scales.x;
    if (!markers?.length || !x) return;
    const { top, bottom, left, right } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    for (const m of markers) {
      const px = x.getPixelForValue(m.step);
      if (!Number.isFinite(px) || px < left - 1 || px > right + 1) continue;
      ctx.strokeStyle = m.color;
      ctx.fillStyle = m.color;
      ctx.lineWidth = m.width ?? 1.5;
      ctx.setLineDash(m.dashed ? [4, 3] : []);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      if (m.findingId) {
        // A flag at the top: findings are told apart from the scrub line without relying on colour.
        ctx.beginPath();
        ctx.moveTo(px, top);
        ctx.lineTo(px + 6, top + 4);
        ctx.lineTo(px, top + 8);
        ctx.closePath();
        ctx.fill();
      }
    }
    ctx.restore();
  },
};

/** The finding marker under a click at `offsetX` (CSS pixels in the canvas), if any. */
export function markerAt(chart: Chart, offsetX: number): TimeMarker | undefined {
  const x = chart.scales.x;
  let best: TimeMarker | undefined;
  let bestDistance = MARKER_HIT_PX;
  for (const m of markersOf.get(chart) ?? []) {
    if (!m.findingId) continue;
    const d = Math.abs(x.getPixelForValue(m.step) - offsetX);
    if (d <= bestDistance) {
      best = m;
      bestDistance = d;
    }
  }
  return best;
}

export function setMarkers(chart: Chart, markers: TimeMarker[]): void {
  markersOf.set(chart, markers);
}

/** SeriesData → points; `transform` maps a value to what is drawn (NaN leaves a gap). */
export function seriesPoints(s: SeriesData, pick: 'last' | 'min' | 'max' = 'last', transform?: (v: number) => number): Pt[] {
  const values = s[pick];
  const out = new Array<Pt>(s.steps.length);
  for (let i = 0; i < s.steps.length; i++) {
    const v = dec(values[i]);
    out[i] = { x: s.steps[i], y: transform ? transform(v) : v };
  }
  return out;
}

/** Steps where a series held NaN or ±Inf (in any of last/min/max: a spike inside a bucket counts). */
export function nonFiniteSteps(s: SeriesData): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.steps.length; i++) {
    if (typeof s.last[i] === 'string' || typeof s.min[i] === 'string' || typeof s.max[i] === 'string') out.push(s.steps[i]);
  }
  return out;
}

const positiveOrGap = (v: number) => (v > 0 && Number.isFinite(v) ? v : NaN);

function baseTimeOptions(theme: Theme) {
  return {
    animation: false as const,
    parsing: false as const,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    spanGaps: false,
    layout: { padding: { top: 10, right: 8 } },
    interaction: { mode: 'nearest' as const, intersect: false, axis: 'xy' as const },
    elements: { point: { radius: 0, hitRadius: 4, hoverRadius: 3 }, line: { tension: 0, borderJoinStyle: 'round' as const } },
    plugins: {
      legend: legendOptions(theme),
      tooltip: tooltipOptions(theme),
    },
  };
}

function legendOptions(theme: Theme) {
  return {
    position: 'bottom' as const,
    labels: {
      color: theme.foreground, boxWidth: 14, boxHeight: 2, font: { family: theme.fontFamily, size: theme.fontSize - 1 },
      // Layers have their own legend (the layer list with colour swatches); 50 entries here would bury the chart.
      filter: (item: { datasetIndex?: number }, data: { datasets: LineDataset[] }) => !data.datasets[item.datasetIndex ?? 0]?.key?.startsWith('layer:'),
    },
  };
}

function tooltipOptions(theme: Theme) {
  return {
    backgroundColor: theme.background,
    borderColor: theme.border,
    borderWidth: 1,
    titleColor: theme.foreground,
    bodyColor: theme.foreground,
    titleFont: { family: theme.fontFamily },
    bodyFont: { family: theme.fontFamily },
    callbacks: {
      title: (items: TooltipItem<'line'>[]) => (items.length ? `step ${(items[0].raw as Pt).x}` : ''),
      label: (item: TooltipItem<'line'>) => `${item.dataset.label}: ${formatNumber((item.raw as Pt & { v?: number }).v ?? (item.raw as Pt).y)}`,
    },
  };
}

function axisColors(theme: Theme) {
  return {
    grid: { color: theme.grid, tickColor: theme.grid },
    border: { color: theme.border },
    ticks: { color: theme.muted, font: { family: theme.fontFamily, size: theme.fontSize - 2 } },
    title: { color: theme.muted, font: { family: theme.fontFamily, size: theme.fontSize - 2 } },
  };
}

/** Labels only every k-th decade of a log axis, k chosen so at most ~8 labels show. */
function decadeTicks(scale: Scale) {
  return (value: number | string) => {
    const v = Number(value);
    const e = Math.log10(v);
    if (Math.abs(e - Math.round(e)) > 1e-9) return '';
    const decades = Math.max(1, Math.log10(scale.max / scale.min));
    const every = Math.max(1, Math.ceil(decades / 8));
    return Math.round(e) % every === 0 ? formatNumber(v, 2) : '';
  };
}

/**
 * The y range of a log axis in whole decades. Sticky: it only grows while the same run and layers are shown,
 * so the axis does not jump four times a second; a change of run or layer set starts over.
 */
class StickyDecades {
  private range?: [number, number];
  private key = '';

  fit(key: string, lo: number, hi: number): [number, number] {
    if (key !== this.key) {
      this.key = key;
      this.range = undefined;
    }
    if (!(lo > 0) || !Number.isFinite(hi) || hi < lo) return this.range ?? [-4, 1];
    let a = Math.floor(Math.log10(lo));
    let b = Math.ceil(Math.log10(hi));
    if (b <= a) b = a + 1;
    if (this.range) {
      a = Math.min(a, this.range[0]);
      b = Math.max(b, this.range[1]);
    }
    this.range = [a, b];
    return this.range;
  }
}

function finiteRange(series: SeriesData[], acc: { lo: number; hi: number }): void {
  for (const s of series) {
    for (let i = 0; i < s.steps.length; i++) {
      const lo = dec(s.min[i]);
      const hi = dec(s.max[i]);
      if (lo > 0 && Number.isFinite(lo) && lo < acc.lo) acc.lo = lo;
      if (hi > 0 && Number.isFinite(hi) && hi > acc.hi) acc.hi = hi;
      // min may be 0 (a dead layer) while max is positive: the max still counts.
      if (!(lo > 0) && hi > 0 && Number.isFinite(hi) && hi < acc.lo) acc.lo = hi;
    }
  }
}

export function timeAxisMax(run: RunSnapshot): number {
  return Math.max(run.totalSteps - 1, run.step, 1);
}

// ------------------------------------------------------------------------------------------------------------

export class NormsChart {
  readonly chart: Chart<'line', Pt[]>;
  private readonly datasets = new Map<string, LineDataset>();
  private readonly decades = new StickyDecades();
  private order = '';
  points = 0;

  constructor(canvas: HTMLCanvasElement, theme: Theme) {
    this.chart = new Chart<'line', Pt[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        ...baseTimeOptions(theme),
        scales: {
          x: { type: 'linear', min: 0, max: 1, ticks: { precision: 0, maxTicksLimit: 8 }, title: { display: true, text: 'step' } },
          y: { type: 'logarithmic', min: 1e-4, max: 10, title: { display: true, text: '‖g‖ (log)' } },
        },
      },
      plugins: [markerPlugin],
    });
    this.applyTheme(theme);
  }

  private dataset(key: string, init: () => LineDataset): LineDataset {
    let d = this.datasets.get(key);
    if (!d) {
      d = init();
      d.key = key;
      this.datasets.set(key, d);
    }
    return d;
  }

  update(run: RunSnapshot, visible: RunLayer[], selected: string | undefined, theme: Theme, markers: TimeMarker[]): void {
    const wanted: LineDataset[] = [];
    let points = 0;
    const nonFinite = new Set<number>(nonFiniteSteps(run.globalNorm));
    const zeroNorm = new Set<number>();
    const range = { lo: Infinity, hi: -Infinity };
    finiteRange([run.globalNorm, run.clippedGlobalNorm, ...visible.map(l => l.norm)], range);
    const [a, b] = this.decades.fit(`${run.runId}|${visible.map(l => l.name).join(',')}`, range.lo, range.hi);
    const yMin = 10 ** a;
    const yMax = 10 ** b;

    for (const layer of visible) {
      const isSelected = layer.name === selected;
      const color = layerColor(theme, layer.index);
      const d = this.dataset(`layer:${layer.name}`, () => ({ label: layer.name, data: [], borderWidth: 1.2, pointRadius: 0 }));
      d.data = seriesPoints(layer.norm, 'last', positiveOrGap);
      d.borderColor = isSelected || !selected ? color : withAlpha(color, 0.55);
      d.backgroundColor = color;
      d.borderWidth = (isSelected ? 2.6 : 1.2) * theme.lineScale;
      d.order = isSelected ? 1 : 10;
      wanted.push(d);
      points += d.data.length;
      for (const s of nonFiniteSteps(layer.norm)) nonFinite.add(s);
      for (let i = 0; i < layer.norm.steps.length; i++) if (layer.norm.min[i] === 0) zeroNorm.add(layer.norm.steps[i]);
    }

    const sel = visible.find(l => l.name === selected);
    if (sel) {
      // Min–max band of the selected layer: downsampling keeps spikes in min/max, the band shows them.
      const color = layerColor(theme, sel.index);
      const hi = this.dataset('band:max', () => ({ label: 'min–max band', data: [], pointRadius: 0, borderWidth: 0, fill: '+1' }));
      const lo = this.dataset('band:min', () => ({ label: 'band-min', data: [], pointRadius: 0, borderWidth: 0, fill: false }));
      hi.label = `${sel.name} min–max`;
      hi.data = seriesPoints(sel.norm, 'max', positiveOrGap);
      lo.data = seriesPoints(sel.norm, 'min', positiveOrGap);
      hi.backgroundColor = withAlpha(color, 0.18);
      hi.borderColor = withAlpha(color, 0.18);
      lo.borderColor = 'transparent';
      hi.order = lo.order = 20;
      wanted.push(hi, lo);
      points += hi.data.length + lo.data.length;
    }

    const global = this.dataset('global', () => ({ label: 'global norm (before clipping)', data: [], pointRadius: 0 }));
    global.data = seriesPoints(run.globalNorm, 'last', positiveOrGap);
    global.borderColor = theme.foreground;
    global.backgroundColor = theme.foreground;
    global.borderWidth = 2 * theme.lineScale;
    global.order = 2;
    const clipped = this.dataset('clipped', () => ({ label: 'global norm (after clipping)', data: [], pointRadius: 0, borderDash: [6, 4] }));
    clipped.data = seriesPoints(run.clippedGlobalNorm, 'last', positiveOrGap);
    clipped.borderColor = theme.red === theme.foreground ? theme.muted : theme.green;
    clipped.backgroundColor = clipped.borderColor;
    clipped.borderWidth = 2 * theme.lineScale;
    clipped.order = 3;
    wanted.push(global, clipped);
    points += global.data.length + clipped.data.length;

    // NaN/Inf cannot sit on a log axis: a red triangle on the top edge at each such step instead.
    const bad = this.dataset('nonfinite', () => ({
      label: 'NaN / Inf', data: [], showLine: false, pointStyle: 'triangle', pointRadius: 6, pointHoverRadius: 7, clip: false,
    }));
    bad.data = [...nonFinite].sort((p, q) => p - q).map(x => ({ x, y: yMax, v: NaN }) as Pt);
    bad.pointBackgroundColor = theme.red;
    bad.pointBorderColor = theme.red;
    bad.backgroundColor = theme.red;
    bad.borderColor = theme.red;
    bad.order = 0;
    bad.hidden = bad.data.length === 0;
    // Exact zero norms (all gradients 0: a dead layer) cannot sit on it either: a mark on the bottom edge.
    const zero = this.dataset('zero', () => ({
      label: '‖g‖ = 0', data: [], showLine: false, pointStyle: 'rectRot', pointRadius: 4, clip: false,
    }));
    zero.data = [...zeroNorm].sort((p, q) => p - q).map(x => ({ x, y: yMin, v: 0 }) as Pt);
    zero.pointBackgroundColor = theme.muted;
    zero.pointBorderColor = theme.muted;
    zero.backgroundColor = theme.muted;
    zero.borderColor = theme.muted;
    zero.order = 0;
    zero.hidden = zero.data.length === 0;
    wanted.push(bad, zero);
    points += bad.data.length + zero.data.length;

    // Same datasets in the same order: only the data changed, Chart.js keeps its elements.
    const order = wanted.map(d => d.key).join('|');
    if (order !== this.order) {
      this.chart.data.datasets = wanted;
      this.order = order;
    }
    const scales = this.chart.options.scales!;
    scales.x!.max = timeAxisMax(run);
    scales.y!.min = yMin;
    scales.y!.max = yMax;
    setMarkers(this.chart, markers);
    this.points = points;
    this.chart.update('none');
  }

  applyTheme(theme: Theme): void {
    const o = this.chart.options;
    o.plugins!.legend = legendOptions(theme) as never;
    o.plugins!.tooltip = tooltipOptions(theme) as never;
    Object.assign(o.scales!.x!, axisColors(theme));
    Object.assign(o.scales!.y!, axisColors(theme), { ticks: { ...axisColors(theme).ticks, callback: decadeTicksFor(this.chart) } });
  }
}

function decadeTicksFor(chart: Chart): (value: number | string) => string {
  return value => decadeTicks(chart.scales.y)(value);
}

// ------------------------------------------------------------------------------------------------------------

/** Above this max/min ratio the loss goes on a log scale (an exploding loss squashes everything else flat). */
const LOSS_LOG_RATIO = 1e3;

export class LossChart {
  readonly chart: Chart<'line', Pt[]>;
  private readonly train: LineDataset = { key: 'train', label: 'train loss', data: [], pointRadius: 0 };
  private readonly band: LineDataset = { key: 'band', label: 'train min–max', data: [], pointRadius: 0, borderWidth: 0, fill: '+1' };
  private readonly bandLow: LineDataset = { key: 'band-low', label: 'band-min', data: [], pointRadius: 0, borderWidth: 0, fill: false };
  private readonly validation: LineDataset = { key: 'validation', label: 'validation loss', data: [], pointRadius: 3, pointStyle: 'circle' };
  private readonly bad: LineDataset = {
    key: 'nonfinite', label: 'NaN / Inf', data: [], showLine: false, pointStyle: 'triangle', pointRadius: 6, clip: false,
  };
  private logRun?: string;
  points = 0;

  constructor(canvas: HTMLCanvasElement, theme: Theme) {
    this.chart = new Chart<'line', Pt[]>(canvas, {
      type: 'line',
      data: { datasets: [this.band, this.bandLow, this.train, this.validation, this.bad] },
      options: {
        ...baseTimeOptions(theme),
        scales: {
          x: { type: 'linear', min: 0, max: 1, ticks: { precision: 0, maxTicksLimit: 8 }, title: { display: true, text: 'step' } },
          y: { type: 'linear', title: { display: true, text: 'loss' } },
        },
      },
      plugins: [markerPlugin],
    });
    this.band.key = 'layer:band'; // kept out of the legend (the filter hides keys starting with "layer:")
    this.bandLow.key = 'layer:band-low';
    this.applyTheme(theme);
  }

  update(run: RunSnapshot, theme: Theme, markers: TimeMarker[]): void {
    const range = { lo: Infinity, hi: -Infinity };
    finiteRange([run.loss], range);
    for (const v of run.validation) {
      const y = dec(v.loss);
      if (y > 0 && Number.isFinite(y)) { range.lo = Math.min(range.lo, y); range.hi = Math.max(range.hi, y); }
    }
    // Once a run's loss needed a log axis it keeps it (no flipping between scales as values come and go).
    if (range.lo > 0 && range.hi / range.lo > LOSS_LOG_RATIO) this.logRun = run.runId;
    const log = this.logRun === run.runId;
    const t = log ? positiveOrGap : (v: number) => (Number.isFinite(v) ? v : NaN);
    this.train.data = seriesPoints(run.loss, 'last', t);
    this.band.data = seriesPoints(run.loss, 'max', t);
    this.bandLow.data = seriesPoints(run.loss, 'min', t);
    this.validation.data = run.validation.map(v => ({ x: v.step, y: t(dec(v.loss)) }));
    const badSteps = nonFiniteSteps(run.loss);
    for (const v of run.validation) if (typeof v.loss === 'string') badSteps.push(v.step);
    const y = this.chart.options.scales!.y!;
    const wantType = log ? 'logarithmic' : 'linear';
    if (y.type !== wantType) {
      this.chart.options.scales!.y = { ...y, type: wantType, min: undefined, max: undefined } as never;
      this.applyTheme(theme);
    }
    const yScale = this.chart.options.scales!.y!;
    if (log) {
      const lo = Math.floor(Math.log10(range.lo));
      const hi = Math.max(lo + 1, Math.ceil(Math.log10(range.hi)));
      yScale.min = 10 ** lo;
      yScale.max = 10 ** hi;
    } else {
      yScale.min = range.lo <= range.hi ? Math.min(0, range.lo) : 0;
      yScale.max = range.lo <= range.hi ? niceCeil(range.hi) : 1;
    }
    const top = Number(yScale.max ?? 1);
    this.bad.data = badSteps.sort((p, q) => p - q).map(x => ({ x, y: top, v: NaN }) as Pt);
    this.bad.hidden = this.bad.data.length === 0;
    this.chart.options.scales!.x!.max = timeAxisMax(run);
    setMarkers(this.chart, markers);
    this.points = this.train.data.length * 3 + this.validation.data.length + this.bad.data.length;
    this.chart.update('none');
  }

  applyTheme(theme: Theme): void {
    this.train.borderColor = this.train.backgroundColor = theme.blue;
    this.train.borderWidth = 1.6 * theme.lineScale;
    this.band.backgroundColor = withAlpha(theme.blue, 0.16);
    this.band.borderColor = 'transparent';
    this.bandLow.borderColor = 'transparent';
    this.validation.borderColor = this.validation.backgroundColor = theme.orange;
    this.validation.borderWidth = 1.6 * theme.lineScale;
    this.bad.backgroundColor = this.bad.borderColor = theme.red;
    this.bad.pointBackgroundColor = this.bad.pointBorderColor = theme.red;
    const o = this.chart.options;
    o.plugins!.legend = legendOptions(theme) as never;
    o.plugins!.tooltip = tooltipOptions(theme) as never;
    Object.assign(o.scales!.x!, axisColors(theme));
    const y = o.scales!.y!;
    Object.assign(y, axisColors(theme));
    if (y.type === 'logarithmic') y.ticks = { ...axisColors(theme).ticks, callback: decadeTicksFor(this.chart) } as never;
  }
}

function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

// ------------------------------------------------------------------------------------------------------------

/** The histogram at one step, whichever form it came in (the live Histogram or a distribution column). */
export interface StepHistogram {
  step: number;
  counts: number[];
  zeros: number;
  underflow: number;
  overflow: number;
  nan: number;
  inf: number;
}

export function fromHistogram(step: number, h: Histogram): StepHistogram {
  return { step, counts: h.counts, zeros: h.zeros, underflow: h.underflow, overflow: h.overflow, nan: h.nan, inf: h.posInf + h.negInf };
}

export function fromColumn(c: HeatColumn): StepHistogram {
  return c;
}

export function totalOf(h: StepHistogram): number {
  let n = h.zeros + h.underflow + h.overflow + h.nan + h.inf;
  for (const c of h.counts) n += c;
  return n;
}

/** Special bars, in axis order: left of the bins (zero, underflow), right of them (overflow, NaN, Inf). */
export type SpecialBar = 'zero' | 'underflow' | 'overflow' | 'nan' | 'inf';

export class HistogramChart {
  readonly chart: Chart<'bar', Pt[]>;
  private readonly bins: ChartDataset<'bar', Pt[]> = { label: 'log10|g| bins', data: [], grouped: false, minBarLength: 2, barPercentage: 1, categoryPercentage: 0.96 };
  private readonly special: ChartDataset<'bar', Pt[]> = { label: 'zeros, out of range, NaN, Inf', data: [], grouped: false, minBarLength: 4, barPercentage: 1, categoryPercentage: 0.8 };
  private layout = '';
  private specialIndex: Record<SpecialBar, number> = { zero: 0, underflow: 1, overflow: 0, nan: 0, inf: 0 };
  private colors: Record<SpecialBar, string> = { zero: '', underflow: '', overflow: '', nan: '', inf: '' };
  /** The histogram on screen (tests read it). */
  current?: StepHistogram & { layer: string };

  constructor(canvas: HTMLCanvasElement, theme: Theme) {
    this.chart = new Chart<'bar', Pt[]>(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [this.bins, this.special] },
      options: {
        animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false,
        layout: { padding: { top: 6, right: 8 } },
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        scales: {
          x: { type: 'category', ticks: { autoSkip: false, maxRotation: 0 }, grid: { display: false } },
          y: { type: 'linear', min: 0, title: { display: true, text: 'share of values' } },
        },
        plugins: { legend: { display: false } },
      },
    });
    this.applyTheme(theme);
  }

  /** Labels: 0, <10^lo, the bins (by lower edge), ≥10^hi, NaN, Inf. */
  private setLayout(range: [number, number], bins: number): void {
    const key = `${range[0]}|${range[1]}|${bins}`;
    if (key === this.layout) return;
    this.layout = key;
    const [lo, hi] = range;
    const width = (hi - lo) / bins;
    const labels = ['0', `<1e${lo}`];
    for (let k = 0; k < bins; k++) labels.push(`1e${fmtExp(lo + k * width)} – 1e${fmtExp(lo + (k + 1) * width)}`);
    labels.push(`≥1e${hi}`, 'NaN', 'Inf');
    this.specialIndex = { zero: 0, underflow: 1, overflow: bins + 2, nan: bins + 3, inf: bins + 4 };
    this.chart.data.labels = labels;
    const decades = hi - lo;
    const every = Math.max(1, Math.ceil(decades / 8));
    const tickLabel = (index: number): string => {
      if (index === 0) return '0';
      if (index === 1) return '<';
      if (index === bins + 2) return '≥';
      if (index === bins + 3) return 'NaN';
      if (index === bins + 4) return 'Inf';
      const e = lo + (index - 2) * width;
      return Math.abs(e - Math.round(e)) < 1e-9 && Math.round(e) % every === 0 ? `1e${Math.round(e)}` : '';
    };
    (this.chart.options.scales!.x!.ticks as { callback?: unknown }).callback = (_v: unknown, index: number) => tickLabel(index);
  }

  update(layer: string, h: StepHistogram | undefined, range: [number, number], bins: number): void {
    this.setLayout(range, bins);
    this.current = h && { ...h, layer };
    const total = h ? totalOf(h) : 0;
    const bars: Pt[] = [];
    const special: Pt[] = [];
    if (h && total > 0) {
      // Only non-empty bars: minBarLength keeps a single NaN among a million values visible, and would
      // otherwise draw a stub for every empty bin too.
      h.counts.forEach((c, k) => { if (c > 0) bars.push({ x: k + 2, y: c / total }); });
      const s = this.specialIndex;
      for (const [name, count] of [['zero', h.zeros], ['underflow', h.underflow], ['overflow', h.overflow], ['nan', h.nan], ['inf', h.inf]] as const) {
        if (count > 0) special.push({ x: s[name], y: count / total });
      }
    }
    this.bins.data = bars;
    this.special.data = special;
    const peak = Math.max(0, ...bars.map(b => b.y), ...special.map(b => b.y));
    this.chart.options.scales!.y!.max = peak > 0 ? Math.min(1, niceCeil(peak)) : 1;
    this.chart.update('none');
  }

  /** Which special bar an x index is (for colours and tooltips). */
  private specialAt(x: number): SpecialBar | undefined {
    return (Object.keys(this.specialIndex) as SpecialBar[]).find(k => this.specialIndex[k] === x);
  }

  applyTheme(theme: Theme): void {
    this.colors = { zero: theme.muted, underflow: theme.purple, overflow: theme.orange, nan: theme.red, inf: theme.red };
    this.bins.backgroundColor = theme.blue;
    this.bins.borderColor = theme.blue;
    this.special.backgroundColor = (ctx: { raw?: unknown }) => this.colors[this.specialAt((ctx.raw as Pt | undefined)?.x ?? -1) ?? 'zero'];
    this.special.borderColor = theme.kind.startsWith('highContrast') ? theme.foreground : 'transparent';
    this.special.borderWidth = theme.kind.startsWith('highContrast') ? 1 : 0;
    const o = this.chart.options;
    Object.assign(o.scales!.x!, axisColors(theme), { grid: { display: false } });
    const xTicks = o.scales!.x!.ticks as { callback?: unknown };
    const callback = xTicks.callback;
    o.scales!.x!.ticks = { ...axisColors(theme).ticks, autoSkip: false, maxRotation: 0, callback } as never;
    Object.assign(o.scales!.y!, axisColors(theme));
    o.scales!.y!.ticks = { ...axisColors(theme).ticks, callback: (v: number | string) => formatPercent(Number(v)) } as never;
    o.plugins!.tooltip = {
      ...tooltipOptions(theme),
      callbacks: {
        title: (items: TooltipItem<'bar'>[]) => (items.length ? String(this.chart.data.labels?.[(items[0].raw as Pt).x] ?? '') : ''),
        label: (item: TooltipItem<'bar'>) => {
          const share = (item.raw as Pt).y;
          const total = this.current ? totalOf(this.current) : 0;
          return `${Math.round(share * total).toLocaleString('en-US')} values (${formatPercent(share)})`;
        },
      },
    } as never;
    this.chart.update('none');
  }
}

function fmtExp(e: number): string {
  return Number.isInteger(e) ? String(e) : e.toFixed(2).replace(/0+$/, '');
}
