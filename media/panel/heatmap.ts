// The distribution of a layer's gradients over time, drawn on a canvas like TensorBoard's histograms view but
// without dropping anything: x = the kept histogram columns (step order), y = log10|g| bins, colour = the
// share of the layer's values in the cell. Strips above and below the bins hold what a log axis cannot:
// NaN/Inf (top, red), ≥ 10^hi (overflow), < 10^lo (underflow) and exact zeros (bottom).

import type { HeatColumn } from '../shared/types';
import { h, setAttr, setText, toggleClass } from '../shared/dom';
import { mix, parseColor, type RGB, type Theme } from '../shared/theme';

/** Shares below 10^-FLOOR_DECADES are drawn at the faintest visible colour, above it on a log scale. */
const FLOOR_DECADES = 4;
/** The faintest colour of a non-empty cell: a lone value in a cell must still be seen. */
const MIN_VISIBLE = 0.14;

const MARGIN = { left: 54, right: 8, top: 4, bottom: 18 };
const STRIP = 8;
const GAP = 3;

interface Palette {
  /** Colour of a cell holding this share of the layer's values, as a pixel (RGBA bytes in a little-endian uint32). */
  cell(share: number): number;
  /** Colour of the NaN/Inf strip for this share, as a pixel. */
  nan(share: number): number;
  background: number;
  fg: string;
  muted: string;
  border: string;
  font: string;
}

/** Steps of the colour ramps: shares are looked up, not blended per cell (160 × 64 cells × 8 layers per snapshot). */
const LUT_SIZE = 256;

function makePalette(theme: Theme): Palette {
  const bg = parseColor(theme.background) ?? [30, 30, 30];
  const mid = parseColor(theme.blue) ?? [55, 148, 255];
  const top = parseColor(theme.foreground) ?? [230, 230, 230];
  const red = parseColor(theme.red) ?? [241, 76, 76];
  // Background → theme blue → foreground, on a log scale of the share (the tails matter as much as the bulk).
  const cells = new Uint32Array(LUT_SIZE);
  const nans = new Uint32Array(LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) {
    const t = i / (LUT_SIZE - 1);
    cells[i] = pack(t <= 0.65 ? mix(bg, mid, t / 0.65) : mix(mid, top, (t - 0.65) / 0.35));
    nans[i] = pack(mix(bg, red, t));
  }
  const background = pack(bg);
  const level = (share: number, floor: number) =>
    Math.round(Math.max(floor, Math.min(1, (Math.log10(share) + FLOOR_DECADES) / FLOOR_DECADES)) * (LUT_SIZE - 1));
  return {
    background,
    cell: share => (share > 0 ? cells[level(share, MIN_VISIBLE)] : background),
    // Any NaN/Inf at all is at least half-strength red: that is what this view is for.
    nan: share => (share > 0 ? nans[level(share, 0.55)] : background),
    fg: theme.foreground,
    muted: theme.muted,
    border: theme.border,
    font: theme.fontFamily,
  };
}

export interface HeatmapInfo {
  layer: string;
  columns: number;
  steps: number[];
  nanSteps: number[];
  canvas: HTMLCanvasElement;
  /** Where the NaN/Inf strip and the bins are, in canvas pixels (tests sample colours there). */
  geometry?: { x0: number; width: number; nanY: number; binsTop: number; binsHeight: number; columns: number };
}

class Figure {
  readonly el: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly button: HTMLButtonElement;
  private readonly note: HTMLElement;
  private readonly offscreen = document.createElement('canvas');
  private key = '';
  info: HeatmapInfo;
  size?: { width: number; height: number };

  constructor(readonly layer: string, onSelect: (layer: string) => void) {
    this.button = h('button', { class: 'link heatmap-layer', type: 'button', text: layer, 'aria-pressed': 'false' });
    this.button.addEventListener('click', () => onSelect(layer));
    this.note = h('span', { class: 'heatmap-note' });
    this.canvas = h('canvas', { class: 'heatmap-canvas', role: 'img' });
    this.el = h('figure', { class: 'heatmap' }, h('figcaption', {}, this.button, this.note), this.canvas);
    this.info = { layer, columns: 0, steps: [], nanSteps: [], canvas: this.canvas };
  }

  draw(columns: HeatColumn[], range: [number, number], bins: number, palette: Palette, paletteKey: string, selected: boolean, scrubStep: number | undefined): void {
    toggleClass(this.el, 'selected', selected);
    setAttr(this.button, 'aria-pressed', String(selected));
    const nanSteps = columns.filter(c => c.nan + c.inf > 0).map(c => c.step);
    setText(this.note, nanSteps.length ? `NaN/Inf in ${nanSteps.length} column${nanSteps.length > 1 ? 's' : ''} (from step ${nanSteps[0]})` : '');
    toggleClass(this.note, 'nonfinite', nanSteps.length > 0);
    const first = columns[0]?.step;
    const last = columns[columns.length - 1]?.step;
    setAttr(this.canvas, 'aria-label', columns.length
      ? `Distribution of log10 |gradient| over time for ${this.layer}: ${columns.length} histograms from step ${first} to ${last}` +
        (nanSteps.length ? `; NaN or Inf at steps ${nanSteps.slice(0, 5).join(', ')}${nanSteps.length > 5 ? '…' : ''}` : '; no NaN or Inf')
      : `No distribution recorded yet for ${this.layer}`);
    this.info = { layer: this.layer, columns: columns.length, steps: columns.map(c => c.step), nanSteps, canvas: this.canvas };

    const dpr = window.devicePixelRatio || 1;
    // Sizes come from the ResizeObserver: reading clientWidth here would force a layout of the whole page.
    this.size ??= { width: this.canvas.clientWidth, height: this.canvas.clientHeight };
    const cssWidth = this.size.width;
    const cssHeight = this.size.height;
    if (!cssWidth || !cssHeight) return;
    const key = [columns.length, first, last, nanSteps.length, paletteKey, selected, scrubStep, cssWidth, cssHeight, dpr, range, bins].join('|');
    if (key === this.key) {
      this.info.geometry = this.geometry(cssWidth, cssHeight, columns.length, dpr);
      return;
    }
    this.key = key;
    const width = Math.round(cssWidth * dpr);
    const height = Math.round(cssHeight * dpr);
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    ctx.font = `10px ${palette.font}`;
    ctx.textBaseline = 'middle';

    const x0 = MARGIN.left;
    const plotW = cssWidth - MARGIN.left - MARGIN.right;
    const nanY = MARGIN.top;
    const overY = nanY + STRIP + GAP;
    const binsTop = overY + STRIP + 1;
    const binsHeight = Math.max(10, cssHeight - MARGIN.bottom - binsTop - 2 * (STRIP + 1) - GAP);
    const underY = binsTop + binsHeight + 1;
    const zeroY = underY + STRIP + GAP;
    this.info.geometry = { x0: x0 * dpr, width: plotW * dpr, nanY: (nanY + STRIP / 2) * dpr, binsTop: binsTop * dpr, binsHeight: binsHeight * dpr, columns: columns.length };

    // Frames of the strips and the bins area, so "empty" reads as empty and not as missing.
    ctx.strokeStyle = palette.border;
    ctx.lineWidth = 1;
    for (const [y, hgt] of [[nanY, STRIP], [overY, STRIP], [binsTop, binsHeight], [underY, STRIP], [zeroY, STRIP]]) {
      ctx.strokeRect(x0 - 0.5, y - 0.5, plotW + 1, hgt + 1);
    }
    ctx.fillStyle = palette.muted;
    ctx.textAlign = 'right';
    ctx.fillText('NaN/Inf', x0 - 4, nanY + STRIP / 2);
    ctx.fillText(`≥1e${range[1]}`, x0 - 4, overY + STRIP / 2);
    ctx.fillText(`<1e${range[0]}`, x0 - 4, underY + STRIP / 2);
    ctx.fillText('0', x0 - 4, zeroY + STRIP / 2);
    const decades = range[1] - range[0];
    const every = Math.max(1, Math.ceil(decades / Math.max(2, Math.floor(binsHeight / 22))));
    for (let e = Math.ceil(range[0]); e <= range[1]; e++) {
      if (e % every !== 0) continue;
      const y = binsTop + binsHeight - ((e - range[0]) / decades) * binsHeight;
      if (y < binsTop + 6 || y > binsTop + binsHeight - 6) continue; // would collide with a strip's label
      ctx.fillText(`1e${e}`, x0 - 4, y);
    }
    if (!columns.length) {
      ctx.textAlign = 'center';
      ctx.fillText('no histograms yet', x0 + plotW / 2, binsTop + binsHeight / 2);
      return;
    }

    // One pixel per cell in an offscreen image (the bins, then one row per strip), scaled up without smoothing:
    // a handful of drawImage calls instead of a fillRect per cell.
    const n = columns.length;
    const rows = bins + 4;
    this.offscreen.width = n;
    this.offscreen.height = rows;
    const octx = this.offscreen.getContext('2d')!;
    const image = octx.createImageData(n, rows);
    const px = new Uint32Array(image.data.buffer);
    const bg = palette.background;
    for (let i = 0; i < n; i++) {
      const c = columns[i];
      const counts = c.counts;
      let total = c.zeros + c.underflow + c.overflow + c.nan + c.inf;
      for (let k = 0; k < counts.length; k++) total += counts[k];
      const scale = total ? 1 / total : 0;
      for (let k = 0; k < bins; k++) {
        const v = counts[k];
        px[(bins - 1 - k) * n + i] = v > 0 ? palette.cell(v * scale) : bg;
      }
      px[bins * n + i] = palette.nan((c.nan + c.inf) * scale);
      px[(bins + 1) * n + i] = palette.cell(c.overflow * scale);
      px[(bins + 2) * n + i] = palette.cell(c.underflow * scale);
      px[(bins + 3) * n + i] = palette.cell(c.zeros * scale);
    }
    octx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.offscreen, 0, 0, n, bins, x0, binsTop, plotW, binsHeight);
    ctx.drawImage(this.offscreen, 0, bins, n, 1, x0, nanY, plotW, STRIP);
    ctx.drawImage(this.offscreen, 0, bins + 1, n, 1, x0, overY, plotW, STRIP);
    ctx.drawImage(this.offscreen, 0, bins + 2, n, 1, x0, underY, plotW, STRIP);
    ctx.drawImage(this.offscreen, 0, bins + 3, n, 1, x0, zeroY, plotW, STRIP);
    const cw = plotW / n;

    // Step labels under the first, middle and last columns.
    ctx.fillStyle = palette.muted;
    ctx.textBaseline = 'top';
    const labelY = zeroY + STRIP + 3;
    ctx.textAlign = 'left';
    ctx.fillText(`step ${columns[0].step}`, x0, labelY);
    ctx.textAlign = 'right';
    ctx.fillText(String(columns[n - 1].step), x0 + plotW, labelY);
    if (n > 2 && plotW > 160) {
      ctx.textAlign = 'center';
      ctx.fillText(String(columns[Math.floor(n / 2)].step), x0 + (Math.floor(n / 2) + 0.5) * cw, labelY);
    }

    // The scrubbed step: the column the histogram shows (the last one at or before it).
    if (scrubStep !== undefined) {
      const i = lastAtOrBefore(columns, scrubStep);
      if (i >= 0) {
        const x = x0 + (i + 0.5) * cw;
        ctx.strokeStyle = palette.fg;
        ctx.lineWidth = 1.5;
        ctx.setLineDash([3, 3]);
        ctx.beginPath();
        ctx.moveTo(x, nanY);
        ctx.lineTo(x, zeroY + STRIP);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
  }

  private geometry(cssWidth: number, cssHeight: number, columns: number, dpr: number): HeatmapInfo['geometry'] {
    const binsTop = MARGIN.top + 2 * STRIP + GAP + 1;
    const binsHeight = Math.max(10, cssHeight - MARGIN.bottom - binsTop - 2 * (STRIP + 1) - GAP);
    return { x0: MARGIN.left * dpr, width: (cssWidth - MARGIN.left - MARGIN.right) * dpr, nanY: (MARGIN.top + STRIP / 2) * dpr, binsTop: binsTop * dpr, binsHeight: binsHeight * dpr, columns };
  }
}

/** RGB → one ImageData pixel (bytes R, G, B, A in memory order: little-endian, as on every browser platform). */
function pack(rgb: RGB): number {
  return ((255 << 24) | (Math.round(rgb[2]) << 16) | (Math.round(rgb[1]) << 8) | Math.round(rgb[0])) >>> 0;
}

/** Index of the last column at or before `step`; -1 when all are after it. Columns are in step order. */
export function lastAtOrBefore(columns: { step: number }[], step: number): number {
  let lo = 0;
  let hi = columns.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (columns[mid].step <= step) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export class Heatmaps {
  private readonly figures = new Map<string, Figure>();
  private order = '';
  private last?: () => void;
  private palette?: Palette;
  private paletteKey = '';

  private readonly resize: ResizeObserver;

  constructor(readonly el: HTMLElement, private readonly onSelect: (layer: string) => void) {
    this.resize = new ResizeObserver(entries => {
      for (const e of entries) {
        const f = [...this.figures.values()].find(x => x.canvas === e.target);
        if (f) f.size = { width: e.contentRect.width, height: e.contentRect.height };
      }
      this.last?.();
    });
  }

  update(
    layers: { name: string; columns: HeatColumn[] }[], selected: string | undefined, range: [number, number], bins: number,
    theme: Theme, scrubStep: number | undefined,
  ): void {
    const paletteKey = [theme.kind, theme.background, theme.blue, theme.foreground, theme.red, theme.border].join(',');
    if (paletteKey !== this.paletteKey) {
      this.paletteKey = paletteKey;
      this.palette = makePalette(theme);
    }
    const palette = this.palette!;
    const order = layers.map(l => l.name).join('|');
    if (order !== this.order) {
      this.order = order;
      for (const [name, f] of [...this.figures]) {
        if (layers.some(l => l.name === name)) continue;
        this.resize.unobserve(f.canvas);
        this.figures.delete(name);
      }
      this.el.replaceChildren(...layers.map(l => {
        let f = this.figures.get(l.name);
        if (!f) {
          this.figures.set(l.name, (f = new Figure(l.name, this.onSelect)));
          this.resize.observe(f.canvas);
        }
        return f.el;
      }));
    }
    const draw = () => {
      for (const l of layers) this.figures.get(l.name)!.draw(l.columns, range, bins, palette, paletteKey, l.name === selected, scrubStep);
    };
    this.last = draw;
    draw();
  }

  info(): HeatmapInfo[] {
    return [...this.figures.values()].filter(f => f.el.isConnected).map(f => f.info);
  }
}
