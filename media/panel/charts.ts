// The panel's Chart.js charts: gradient norms per layer (log scale) with the global norm before and after
// clipping, the loss, and the histogram of log10|g| at the viewed step. Built once and updated in place
// (datasets reused, data arrays replaced), with animation off, parsing off (pre-built {x, y} points) and
// normalized data; the 50 layers × 512 points of the norms chart go through one image (lineRaster.ts).
// update() rather than update('none'): in 'none' mode Chart.js never refreshes the options it shares between
// a dataset's elements, so bars and markers would keep the colours of the theme they were first drawn in.

import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement,
  LogarithmicScale, PointElement, Tooltip,
  type ChartDataset, type Plugin, type Scale, type TooltipItem,
} from 'chart.js';
import type { HeatColumn, Histogram, RunSnapshot, SeriesData } from '../shared/types';
import { dec } from '../../src/history/runHistory';
import { formatNumber, formatPercent } from '../shared/format';
import { layerColor, mix, parseColor, withAlpha, type Theme } from '../shared/theme';
import { parseRgba, type Rgba } from '../shared/colour';
import { LineRaster } from './lineRaster';

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

/** A layer's norm line drawn by layerLinesPlugin (all visible layers but the selected one, which is a dataset). */
export interface LayerLine {
  layer: string;
  color: string;
  width: number;
  steps: number[];
  /** Decoded norms; NaN where nothing can be drawn on a log axis (NaN, ±Inf, 0). */
  values: Float64Array;
}

const layerLinesOf = new WeakMap<Chart, LayerLine[]>();

/**
 * Draws the layers' norm lines under the datasets. Chart.js keeps an element per point and resolves options
 * per dataset on every update: for 50 layers × 512 points that alone took most of a frame. Stroking them as
 * canvas paths was cheap to record but cost ~45 ms per snapshot to rasterize without a GPU, so the lines go
 * through LineRaster into one image (lineRaster.ts). The selected layer stays a real dataset (antialiased,
 * tooltip, band), as do the global norms and markers; hovering or clicking another layer's line is handled by
 * NormsChart.layerAt.
 */
const rasters = new WeakMap<Chart, { raster: LineRaster; canvas: HTMLCanvasElement; image?: ImageData; from?: number }>();
const colours = new Map<string, Rgba>();

/** A CSS colour as RGBA, through the canvas's own parsing for the forms parseRgba does not read. */
function colourOf(ctx: CanvasRenderingContext2D, color: string): Rgba {
  let c = colours.get(color);
  if (!c) {
    c = parseRgba(color);
    if (!c) {
      ctx.save();
      ctx.fillStyle = '#000';
      ctx.fillStyle = color;
      c = parseRgba(String(ctx.fillStyle)) ?? { r: 128, g: 128, b: 128, a: 1 };
      ctx.restore();
    }
    if (colours.size > 512) colours.clear();
    colours.set(color, c);
  }
  return c;
}

const layerLinesPlugin: Plugin = {
  id: 'gradmonLayerLines',
  beforeDatasetsDraw(chart) {
    const lines = layerLinesOf.get(chart);
    if (!lines?.length) return;
    const { left, right, top, bottom } = chart.chartArea;
    const dpr = chart.currentDevicePixelRatio || 1;
    const width = Math.round((right - left) * dpr);
    const height = Math.round((bottom - top) * dpr);
    if (width <= 0 || height <= 0) return;
    let r = rasters.get(chart);
    if (!r) {
      r = { raster: new LineRaster(), canvas: document.createElement('canvas') };
      rasters.set(chart, r);
    }
    const { raster } = r;
    const xs = chart.scales.x;
    const ys = chart.scales.y;
    // The scales' own arithmetic (a linear x and a log y), in device pixels from the plot's corner.
    const x0 = (xs.getPixelForValue(xs.min) - left) * dpr;
    const xk = ((xs.getPixelForValue(xs.max) - xs.getPixelForValue(xs.min)) * dpr) / (xs.max - xs.min || 1);
    const lyMin = Math.log10(ys.min);
    const y0 = (ys.getPixelForValue(ys.min) - top) * dpr;
    const yk = ((ys.getPixelForValue(ys.max) - ys.getPixelForValue(ys.min)) * dpr) / (Math.log10(ys.max) - lyMin || 1);
    const placed = lines.map(line => {
      const { steps, values } = line;
      const px = new Float64Array(steps.length);
      const py = new Float64Array(steps.length);
      for (let i = 0; i < steps.length; i++) {
        const v = values[i];
        px[i] = x0 + (steps[i] - xs.min) * xk;
        // NaN (NaN/Inf, marked by triangles, or an exact zero, marked on the bottom edge) leaves a gap.
        py[i] = Number.isNaN(v) ? NaN : y0 + (Math.log10(v) - lyMin) * yk;
      }
      return { xs: px, ys: py, ...colourOf(chart.ctx, line.color), width: line.width * dpr };
    });
    // Only the columns from the first point that moved since the last snapshot (its last bucket, as a rule).
    let from = raster.render(width, height, placed);
    if (r.canvas.width !== width || r.canvas.height !== height || !r.image) {
      r.canvas.width = width;
      r.canvas.height = height;
      r.image = new ImageData(raster.pixels, width, height);
      from = 0;
    }
    if (from < width) {
      r.canvas.getContext('2d')!.putImageData(r.image, 0, 0, from, 0, width - from, height);
      r.from = from;
    }
    chart.ctx.drawImage(r.canvas, left, top, right - left, bottom - top);
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

/**
 * Chart.js splits a line into segments at gaps, point by point; a dataset without gaps can skip that
 * (spanGaps on it draws exactly the same line), which matters with 50 layers × 512 points.
 */
export function spanIfNoGaps(d: { data: Pt[]; spanGaps?: boolean | number }): void {
  let gaps = false;
  for (const q of d.data) if (Number.isNaN(q.y)) { gaps = true; break; }
  d.spanGaps = !gaps;
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
      // The legends are HTML next to the canvas (see legend.ts); layers have theirs in the layer list.
      legend: false as never, // false disables the plugin (its typings only know an options object)
      tooltip: tooltipOptions(theme),
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
    // No label rotation: Chart.js then skips fitting rotated labels on every update.
    ticks: { color: theme.muted, font: { family: theme.fontFamily, size: theme.fontSize - 2 }, minRotation: 0, maxRotation: 0 },
    title: { color: theme.muted, font: { family: theme.fontFamily, size: theme.fontSize - 2 } },
  };
}

/**
 * A log axis gets a tick at 1…9 × every decade: over 30 decades that is ~270 labels Chart.js measures on every
 * update. Keep whole decades only, every k-th so that at most ~8 remain (grid lines then mark decades).
 */
function keepDecadeTicks(scale: Scale): void {
  const decades = Math.max(1, Math.log10(scale.max / scale.min));
  const every = Math.max(1, Math.ceil(decades / 8));
  scale.ticks = scale.ticks.filter(t => {
    const e = Math.log10(t.value);
    return Math.abs(e - Math.round(e)) < 1e-9 && Math.round(e) % every === 0;
  });
}

function logTickLabel(value: number | string): string {
  return formatNumber(Number(value), 2);
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

/** A colour `t` of the way to the theme's background, opaque. */
function towardBackground(color: string, theme: Theme, t: number): string {
  const c = parseColor(color);
  const bg = parseColor(theme.background);
  if (!c || !bg) return withAlpha(color, 1 - t);
  const [r, g, b] = mix(c, bg, t).map(Math.round);
  return `rgb(${r}, ${g}, ${b})`;
}

/**
 * Decodes a layer's norms for drawing on a log axis (NaN where nothing can be drawn) and, in the same pass,
 * widens `range` with the finite positive min/max, and collects the steps with NaN/Inf and with exact zeros.
 */
function scanNorms(s: SeriesData, range: { lo: number; hi: number }, nonFinite: Set<number>, zero: Set<number>): Float64Array {
  const n = s.steps.length;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const last = s.last[i];
    const lo = s.min[i];
    const hi = s.max[i];
    if (typeof last === 'string' || typeof lo === 'string' || typeof hi === 'string') nonFinite.add(s.steps[i]);
    values[i] = typeof last === 'number' && last > 0 && last < Infinity ? last : NaN;
    if (typeof hi === 'number' && hi > 0) {
      if (hi > range.hi) range.hi = hi;
      if (hi < range.lo) range.lo = hi;
    }
    if (typeof lo === 'number') {
      if (lo > 0 && lo < range.lo) range.lo = lo;
      else if (lo === 0) zero.add(s.steps[i]);
    }
  }
  return values;
}

/** Fixed while a run goes on (its planned length: the axis never moves); the steps it took once it is over. */
export function timeAxisMax(run: RunSnapshot): number {
  return Math.max(run.status === 'running' ? run.totalSteps - 1 : run.step, 1);
}

// ------------------------------------------------------------------------------------------------------------

export class NormsChart {
  readonly chart: Chart<'line', Pt[]>;
  private readonly datasets = new Map<string, LineDataset>();
  private readonly decades = new StickyDecades();
  private order = '';
  points = 0;
  /** Whether the markers for NaN/Inf and for exact zero norms are on (for the legend). */
  hasNonFinite = false;
  hasZero = false;

  constructor(canvas: HTMLCanvasElement, theme: Theme) {
    this.chart = new Chart<'line', Pt[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        ...baseTimeOptions(theme),
        scales: {
          x: { type: 'linear', min: 0, max: 1, ticks: { precision: 0, maxTicksLimit: 8 }, title: { display: true, text: 'step' } },
          y: { type: 'logarithmic', min: 1e-4, max: 10, title: { display: true, text: '‖g‖ (log)' }, afterBuildTicks: keepDecadeTicks },
        },
      },
      plugins: [layerLinesPlugin, markerPlugin],
    });
    this.applyTheme(theme);
  }

  /** The layers' lines on screen, the selected one included (tests read them). */
  layers(): { layer: string; color: string; width: number; points: Pt[]; selected: boolean }[] {
    const lines = (layerLinesOf.get(this.chart) ?? []).map(l => ({
      layer: l.layer, color: l.color, width: l.width, selected: false, points: l.steps.map((x, i) => ({ x, y: l.values[i] })),
    }));
    const sel = this.chart.data.datasets.find(d => (d as LineDataset).key?.startsWith('layer:')) as LineDataset | undefined;
    if (sel) lines.push({ layer: sel.label ?? '', color: String(sel.borderColor), width: Number(sel.borderWidth), points: sel.data, selected: true });
    return lines;
  }

  /** The first column of the layer lines' image the last draw that changed it redrew, and its width (webview tests). */
  layerRedraw(): { from: number; width: number } | undefined {
    const r = rasters.get(this.chart);
    return r && r.from !== undefined ? { from: r.from, width: r.raster.width } : undefined;
  }

  /** The layer lines' own image at a device pixel of the canvas, [r, g, b, a] (for the webview tests). */
  layerPixel(deviceX: number, deviceY: number): number[] | undefined {
    const r = rasters.get(this.chart);
    const dpr = this.chart.currentDevicePixelRatio || 1;
    if (!r) return undefined;
    const x = Math.round(deviceX - this.chart.chartArea.left * dpr);
    const y = Math.round(deviceY - this.chart.chartArea.top * dpr);
    if (x < 0 || y < 0 || x >= r.raster.width || y >= r.raster.height) return undefined;
    const q = (y * r.raster.width + x) * 4;
    return [...r.raster.pixels.subarray(q, q + 4)];
  }

  /** The layer line within a few pixels of a point on the canvas (CSS pixels), for hover and click. */
  layerAt(offsetX: number, offsetY: number): { layer: string; step: number; value: number } | undefined {
    const xs = this.chart.scales.x;
    const ys = this.chart.scales.y;
    const { left, right, top, bottom } = this.chart.chartArea;
    if (offsetX < left || offsetX > right || offsetY < top || offsetY > bottom) return undefined;
    const step = xs.getValueForPixel(offsetX) ?? 0;
    let best: { layer: string; step: number; value: number } | undefined;
    let bestDistance = 5;
    const selected = this.chart.data.datasets.find(d => (d as LineDataset).key?.startsWith('layer:')) as LineDataset | undefined;
    const lines = [...(layerLinesOf.get(this.chart) ?? [])];
    if (selected) lines.push({ layer: selected.label ?? '', color: '', width: 0, steps: selected.data.map(q => q.x), values: Float64Array.from(selected.data, q => q.y) });
    for (const line of lines) {
      const { steps, values } = line;
      let lo = 0;
      let hi = steps.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (steps[mid] < step) lo = mid + 1; else hi = mid;
      }
      for (const i of [lo - 1, lo]) {
        if (i < 0 || i >= steps.length || !(values[i] > 0)) continue;
        const d = Math.hypot(xs.getPixelForValue(steps[i]) - offsetX, ys.getPixelForValue(values[i]) - offsetY);
        if (d < bestDistance) {
          bestDistance = d;
          best = { layer: line.layer, step: steps[i], value: values[i] };
        }
      }
    }
    return best;
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
    finiteRange([run.globalNorm, run.clippedGlobalNorm], range);
    // One pass per layer (50 × 512 buckets): the line's values, the axis range, NaN/Inf and zero steps.
    const scanned = visible.map(layer => scanNorms(layer.norm, range, nonFinite, zeroNorm));
    const [a, b] = this.decades.fit(`${run.runId}|${visible.map(l => l.name).join(',')}`, range.lo, range.hi);
    const yMin = 10 ** a;
    const yMax = 10 ** b;

    const lines: LayerLine[] = [];
    visible.forEach((layer, k) => {
      const color = layerColor(theme, layer.index);
      const norm = layer.norm;
      points += norm.steps.length;
      if (layer.name === selected) {
        const d = this.dataset('layer:selected', () => ({ label: layer.name, data: [], pointRadius: 0 }));
        d.label = layer.name;
        d.data = seriesPoints(norm, 'last', positiveOrGap);
        spanIfNoGaps(d);
        d.borderColor = d.backgroundColor = color;
        d.borderWidth = 2.6 * theme.lineScale;
        d.order = 1;
        wanted.push(d);
      } else {
        // With a layer selected the others step back (halfway to the background, opaque: overlapping lines
        // cover rather than blend, which the raster does without blending), so the selected one reads above 50.
        lines.push({ layer: layer.name, color: selected ? towardBackground(color, theme, 0.5) : color, width: 1.2 * theme.lineScale, steps: norm.steps, values: scanned[k] });
      }
    });
    layerLinesOf.set(this.chart, lines);

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
    spanIfNoGaps(global);
    global.borderColor = theme.foreground;
    global.backgroundColor = theme.foreground;
    global.borderWidth = 2 * theme.lineScale;
    global.order = 2;
    const clipped = this.dataset('clipped', () => ({ label: 'global norm (after clipping)', data: [], pointRadius: 0, borderDash: [6, 4] }));
    clipped.data = seriesPoints(run.clippedGlobalNorm, 'last', positiveOrGap);
    spanIfNoGaps(clipped);
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
    this.hasNonFinite = !bad.hidden;
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
    this.hasZero = !zero.hidden;
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
    this.chart.update();
  }

  applyTheme(theme: Theme): void {
    const o = this.chart.options;
    o.plugins!.tooltip = tooltipOptions(theme) as never;
    Object.assign(o.scales!.x!, axisColors(theme));
    o.scales!.x!.ticks = { ...axisColors(theme).ticks, precision: 0, maxTicksLimit: 8, autoSkip: false } as never;
    Object.assign(o.scales!.y!, axisColors(theme), { ticks: { ...axisColors(theme).ticks, autoSkip: false, callback: logTickLabel } });
  }
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
  hasNonFinite = false;
  hasValidation = false;

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
    spanIfNoGaps(this.train);
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
    this.hasNonFinite = !this.bad.hidden;
    this.hasValidation = this.validation.data.length > 0;
    this.chart.options.scales!.x!.max = timeAxisMax(run);
    setMarkers(this.chart, markers);
    this.points = this.train.data.length * 3 + this.validation.data.length + this.bad.data.length;
    this.chart.update();
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
    o.plugins!.tooltip = tooltipOptions(theme) as never;
    Object.assign(o.scales!.x!, axisColors(theme));
    o.scales!.x!.ticks = { ...axisColors(theme).ticks, precision: 0, maxTicksLimit: 8, autoSkip: false } as never;
    const y = o.scales!.y!;
    Object.assign(y, axisColors(theme));
    if (y.type === 'logarithmic') {
      y.ticks = { ...axisColors(theme).ticks, autoSkip: false, callback: logTickLabel } as never;
      (y as { afterBuildTicks?: unknown }).afterBuildTicks = keepDecadeTicks;
    }
  }
}

/** The next 1, 2, 2.5 or 5 × 10^k: a top that Chart.js's tick steps divide evenly (no "1.4, 1.5" pile-up). */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

// ------------------------------------------------------------------------------------------------------------

/** The histogram at one step, whichever form it came in (the live Histogram or a distribution column). */
export type StepHistogram = HeatColumn;

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

/** Text over a special bar (its meaning without colour); the summary under the chart spells them out. */
const SPECIAL_TEXT: Record<SpecialBar, string> = { zero: '0', underflow: '<', overflow: '≥', nan: 'NaN', inf: 'Inf' };

const specialLabels = new WeakMap<Chart, (x: number) => SpecialBar | undefined>();

/** Writes "0", "<", "≥", "NaN", "Inf" over the non-empty special bars, raising a label that would touch its neighbour's. */
const specialLabelPlugin: Plugin = {
  id: 'gradmonSpecialLabels',
  afterDatasetsDraw(chart) {
    const which = specialLabels.get(chart);
    const meta = chart.getDatasetMeta(1);
    if (!which || !meta?.data.length) return;
    const ctx = chart.ctx;
    ctx.save();
    ctx.font = `600 10px ${chart.options.font?.family ?? 'sans-serif'}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    let lastRight = -Infinity;
    let raised = false;
    meta.data.forEach((bar, i) => {
      const raw = (chart.data.datasets[1].data as Pt[])[i];
      const kind = which(raw.x);
      if (!kind) return;
      const { x, y } = bar.getProps(['x', 'y'], true) as { x: number; y: number };
      const text = SPECIAL_TEXT[kind];
      const w = ctx.measureText(text).width;
      raised = x - w / 2 < lastRight + 2 && !raised;
      ctx.fillStyle = String((bar.options as { backgroundColor?: unknown }).backgroundColor ?? '#888');
      ctx.fillText(text, x, Math.max(chart.chartArea.top + 10, y - 2 - (raised ? 11 : 0)));
      lastRight = x + w / 2;
    });
    ctx.restore();
  },
};

export class HistogramChart {
  readonly chart: Chart<'bar', Pt[]>;
  private readonly bins: ChartDataset<'bar', Pt[]> = { label: 'log10|g| bins', data: [], grouped: false, minBarLength: 2, barPercentage: 1, categoryPercentage: 0.96 };
  private readonly special: ChartDataset<'bar', Pt[]> = { label: 'zeros, out of range, NaN, Inf', data: [], grouped: false, minBarLength: 4, barPercentage: 1, categoryPercentage: 1 };
  private layout = '';
  private specialIndex: Record<SpecialBar, number> = { zero: 0, underflow: 1, overflow: 0, nan: 0, inf: 0 };
  private colors: Record<SpecialBar, string> = { zero: '', underflow: '', overflow: '', nan: '', inf: '' };
  private key = '';
  /** The histogram on screen (tests read it). */
  current?: StepHistogram & { layer: string };

  constructor(canvas: HTMLCanvasElement, theme: Theme) {
    this.chart = new Chart<'bar', Pt[]>(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [this.bins, this.special] },
      options: {
        animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false,
        layout: { padding: { top: 14, right: 8 } },
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        scales: {
          x: { type: 'category', ticks: { autoSkip: false, maxRotation: 0 }, grid: { display: false } },
          // Log shares: a bin with one value in ten thousand is as visible as the bulk (the tails are the story).
          y: { type: 'logarithmic', min: 1e-4, max: 1, title: { display: true, text: 'share of values (log)' }, afterBuildTicks: keepDecadeTicks },
        },
        plugins: { legend: false as never },
      },
      plugins: [specialLabelPlugin],
    });
    specialLabels.set(this.chart, x => this.specialAt(x));
    this.applyTheme(theme);
  }

  /** Categories: 0, <10^lo, a gap, the bins (by lower edge), a gap, ≥10^hi, NaN, Inf. */
  private setLayout(range: [number, number], bins: number): void {
    const key = `${range[0]}|${range[1]}|${bins}`;
    if (key === this.layout) return;
    this.layout = key;
    const [lo, hi] = range;
    const width = (hi - lo) / bins;
    const first = 3;
    const labels = ['0 (exact zeros)', `below 1e${lo}`, ''];
    for (let k = 0; k < bins; k++) labels.push(`1e${fmtExp(lo + k * width)} – 1e${fmtExp(lo + (k + 1) * width)}`);
    labels.push('', `1e${hi} and above`, 'NaN', '±Inf');
    this.specialIndex = { zero: 0, underflow: 1, overflow: first + bins + 1, nan: first + bins + 2, inf: first + bins + 3 };
    this.chart.data.labels = labels;
    const every = Math.max(1, Math.ceil((hi - lo) / 5));
    // Axis labels at whole decades only; the special bars carry their own text (specialLabelPlugin).
    const tickLabel = (index: number): string => {
      const k = index - first;
      if (k < 0 || k >= bins) return '';
      const e = lo + k * width;
      return Math.abs(e - Math.round(e)) < 1e-9 && Math.round(e) % every === 0 ? `1e${Math.round(e)}` : '';
    };
    const x = this.chart.options.scales!.x! as { ticks: { callback?: unknown }; afterBuildTicks?: unknown };
    // A category value is the label's index. Only labelled ticks are kept: Chart.js lays out and draws every
    // tick it has, and most would be empty.
    x.ticks.callback = (value: number | string) => tickLabel(Number(value));
    x.afterBuildTicks = (scale: Scale) => { scale.ticks = scale.ticks.filter(t => tickLabel(t.value) !== ''); };
  }

  update(layer: string, h: StepHistogram | undefined, range: [number, number], bins: number): void {
    this.setLayout(range, bins);
    // A scrubbed step's histogram does not change while the run goes on: no need to redraw it 4×/s.
    const key = h ? `${layer}|${h.step}|${h.zeros}|${h.underflow}|${h.overflow}|${h.nan}|${h.inf}|${h.counts.join(',')}` : layer;
    if (key === this.key) return;
    this.key = key;
    this.current = h && { ...h, layer };
    const total = h ? totalOf(h) : 0;
    const bars: Pt[] = [];
    const special: Pt[] = [];
    if (h && total > 0) {
      // Only non-empty bars: minBarLength keeps a single NaN among a million values visible, and would
      // otherwise draw a stub for every empty bin too.
      h.counts.forEach((c, k) => { if (c > 0) bars.push({ x: k + 3, y: c / total }); });
      const s = this.specialIndex;
      for (const [name, count] of [['zero', h.zeros], ['underflow', h.underflow], ['overflow', h.overflow], ['nan', h.nan], ['inf', h.inf]] as const) {
        if (count > 0) special.push({ x: s[name], y: count / total });
      }
    }
    this.bins.data = bars;
    this.special.data = special;
    // Down to one value in the layer, in whole decades.
    this.chart.options.scales!.y!.min = total > 0 ? 10 ** Math.floor(Math.log10(1 / total)) : 1e-4;
    this.chart.options.scales!.y!.max = 1;
    this.chart.update();
  }

  /** Which special bar an x index is (for colours and tooltips). */
  specialAt(x: number): SpecialBar | undefined {
    return (Object.keys(this.specialIndex) as SpecialBar[]).find(k => this.specialIndex[k] === x);
  }

  colorOf(bar: SpecialBar): string {
    return this.colors[bar];
  }

  applyTheme(theme: Theme): void {
    this.colors = { zero: theme.muted, underflow: theme.purple, overflow: theme.orange, nan: theme.red, inf: theme.red };
    this.bins.backgroundColor = theme.blue;
    this.bins.borderColor = theme.blue;
    this.special.backgroundColor = (ctx: { raw?: unknown }) => this.colors[this.specialAt((ctx.raw as Pt | undefined)?.x ?? -1) ?? 'zero'];
    const hc = theme.kind.startsWith('highContrast');
    this.special.borderColor = hc ? theme.foreground : 'transparent';
    this.special.borderWidth = hc ? 1 : 0;
    const o = this.chart.options;
    o.font = { family: theme.fontFamily } as never;
    Object.assign(o.scales!.x!, axisColors(theme), { grid: { display: false } });
    const callback = (o.scales!.x!.ticks as { callback?: unknown }).callback;
    o.scales!.x!.ticks = { ...axisColors(theme).ticks, autoSkip: false, callback } as never;
    Object.assign(o.scales!.y!, axisColors(theme));
    o.scales!.y!.ticks = { ...axisColors(theme).ticks, autoSkip: false, callback: (v: number | string) => `${+(Number(v) * 100).toPrecision(2)}%` } as never;
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
    this.key = ''; // redraw with the new colours
    this.chart.update();
  }
}

function fmtExp(e: number): string {
  return Number.isInteger(e) ? String(e) : e.toFixed(2).replace(/0+$/, '');
}
