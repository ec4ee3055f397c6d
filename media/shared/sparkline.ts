// A tiny SVG line chart for a row or a status line. Colours come from CSS (theme variables), so it follows the
// theme without JavaScript. NaN/Inf values break the line and get a red tick at the top: never dropped.

import { svg } from './dom';
import { formatNumber } from './format';

/** Above this max/min ratio of positive values the sparkline uses a log scale (norms span decades). */
const LOG_SCALE_RATIO = 100;

export class Sparkline {
  readonly el: SVGSVGElement;
  private readonly line: SVGPathElement;
  private readonly marks: SVGPathElement;
  private readonly dot: SVGCircleElement;
  private key = '';

  constructor(private readonly what: string, private readonly width = 80, private readonly height = 18) {
    this.el = svg('svg', {
      class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${what}: no data yet`, focusable: 'false',
    });
    this.line = svg('path', { class: 'sparkline-line' });
    this.marks = svg('path', { class: 'sparkline-nonfinite' });
    this.dot = svg('circle', { class: 'sparkline-dot', r: 1.8, cx: -10, cy: -10 });
    this.el.append(this.line, this.marks, this.dot);
  }

  update(values: number[]): void {
    const key = values.join(',');
    if (key === this.key) return;
    this.key = key;
    const finite = values.filter(Number.isFinite);
    const pad = 2;
    const w = this.width - 2 * pad;
    const h = this.height - 2 * pad - 3; // room for the non-finite ticks above
    const top = pad + 3;
    let lo = Math.min(...finite);
    let hi = Math.max(...finite);
    const log = finite.length > 1 && lo > 0 && hi / lo > LOG_SCALE_RATIO;
    const t = (x: number) => (log ? Math.log10(x) : x);
    if (finite.length) {
      lo = t(lo);
      hi = t(hi);
    }
    const span = hi - lo || 1;
    const xAt = (i: number) => pad + (values.length > 1 ? (i / (values.length - 1)) * w : w / 2);
    const yAt = (v: number) => top + h - ((t(v) - lo) / span) * h;
    let d = '';
    let marks = '';
    let pen = false;
    let last: [number, number] | undefined;
    values.forEach((v, i) => {
      const x = xAt(i);
      if (!Number.isFinite(v)) {
        marks += `M${x.toFixed(1)} 0V${(top - 0.5).toFixed(1)}`;
        pen = false;
        return;
      }
      const y = yAt(v);
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
      pen = true;
      last = [x, y];
    });
    // A single finite point between gaps is still visible through the end dot or a short tick.
    this.line.setAttribute('d', d);
    this.marks.setAttribute('d', marks);
    this.dot.setAttribute('cx', last ? last[0].toFixed(1) : '-10');
    this.dot.setAttribute('cy', last ? last[1].toFixed(1) : '-10');
    this.el.setAttribute('aria-label', describe(this.what, values, log));
  }
}

/** The sparkline in words, for screen readers: range, direction, and where values were NaN/Inf. */
export function describe(what: string, values: number[], log: boolean): string {
  if (!values.length) return `${what}: no data yet`;
  const finite = values.filter(Number.isFinite);
  const bad = values.length - finite.length;
  const parts = [`${what}, last ${values.length} values`];
  if (finite.length) {
    parts.push(`from ${formatNumber(finite[0])} to ${formatNumber(finite[finite.length - 1])}`);
    parts.push(`min ${formatNumber(Math.min(...finite))}, max ${formatNumber(Math.max(...finite))}`);
  }
  if (bad) parts.push(`${bad} NaN or Inf${Number.isFinite(values[values.length - 1]) ? '' : ', including the latest'}`);
  if (log) parts.push('log scale');
  return parts.join('; ');
}
