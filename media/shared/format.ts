// Number and label formatting shared by the panel and the sidebar: gradient statistics span 20 decades and
// include NaN/Inf, so every number goes through `formatNumber`, which never prints "NaN" silently as blank.

import type { LayerHealth } from '../../src/history/runHistory';
import type { Severity } from '../../src/protocol';

/** Three significant digits; scientific notation outside [1e-3, 1e4), where fixed notation gets unreadable. */
export function formatNumber(x: number | undefined, digits = 3): string {
  if (x === undefined) return '–';
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '−Inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) {
    const [mantissa, exponent] = x.toExponential(digits - 1).split('e');
    return `${trimZeros(mantissa)}e${exponent.replace('+', '')}`;
  }
  return String(Number(x.toPrecision(digits))); // toPrecision alone writes 100 as "1.0e+2"
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

export function formatPercent(fraction: number): string {
  if (fraction === 0) return '0%';
  if (fraction < 0.001) return '<0.1%';
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}

/** Health as words (the badge text; colour only repeats it) and a glyph for scanning a long list. */
export const HEALTH_LABEL: Record<LayerHealth, string> = {
  ok: 'ok', exploding: 'exploding', vanishing: 'vanishing', nonFinite: 'non-finite', dead: 'dead', saturated: 'saturated',
};
export const HEALTH_GLYPH: Record<LayerHealth, string> = {
  ok: '✓', exploding: '▲', vanishing: '▼', nonFinite: '✕', dead: '○', saturated: '≈',
};
export const HEALTH_DESCRIPTION: Record<LayerHealth, string> = {
  ok: 'no problem found',
  exploding: 'gradients are exploding',
  vanishing: 'gradients are vanishing',
  nonFinite: 'NaN or Inf in its gradients',
  dead: 'dead ReLU units',
  saturated: 'saturated activations',
};

export const SEVERITY_LABEL: Record<Severity, string> = { error: 'Error', warning: 'Warning', info: 'Info' };
export const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export const STATUS_LABEL: Record<string, string> = {
  running: 'Running', completed: 'Completed', stopped: 'Stopped', halted: 'Halted', failed: 'Failed',
};
