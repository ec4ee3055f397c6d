// VS Code's theme as the webviews need it: the CSS variables VS Code sets on the page, read at run time for
// what CSS cannot style (Chart.js and canvas colours), and re-read when the theme changes. VS Code marks the
// theme kind with a class on <body> (vscode-light / vscode-dark / vscode-high-contrast[-light]) and puts the
// colours in a style attribute on <html>; a switch between two dark themes changes only the latter.

import type { Severity } from '../../src/protocol';
import { parseRgba } from './colour';

export type ThemeKind = 'light' | 'dark' | 'highContrast' | 'highContrastLight';

export interface Theme {
  kind: ThemeKind;
  foreground: string;
  muted: string;
  background: string;
  grid: string;
  border: string;
  red: string;
  yellow: string;
  green: string;
  blue: string;
  orange: string;
  purple: string;
  focus: string;
  fontFamily: string;
  fontSize: number;
  /** Line widths grow in high contrast, where thin anti-aliased lines get lost. */
  lineScale: number;
}

export type RGB = [number, number, number];

function kindOf(body: HTMLElement): ThemeKind {
  const c = body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'highContrastLight';
  if (c.contains('vscode-high-contrast')) return 'highContrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function readTheme(): Theme {
  const body = document.body;
  const style = getComputedStyle(body);
  const kind = kindOf(body);
  const light = kind === 'light' || kind === 'highContrastLight';
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const foreground = v('--vscode-foreground', light ? '#3b3b3b' : '#cccccc');
  const highContrast = kind === 'highContrast' || kind === 'highContrastLight';
  return {
    kind,
    foreground,
    muted: v('--vscode-descriptionForeground', foreground),
    background: v('--vscode-editor-background', light ? '#ffffff' : '#1e1e1e'),
    grid: highContrast ? v('--vscode-contrastBorder', foreground) : withAlpha(foreground, 0.14),
    border: v('--vscode-contrastBorder', '') || v('--vscode-widget-border', '') || withAlpha(foreground, 0.25),
    red: v('--vscode-charts-red', light ? '#e51400' : '#f14c4c'),
    yellow: v('--vscode-charts-yellow', light ? '#bf8803' : '#cca700'),
    green: v('--vscode-charts-green', light ? '#388a34' : '#89d185'),
    blue: v('--vscode-charts-blue', light ? '#1a85ff' : '#3794ff'),
    orange: v('--vscode-charts-orange', '#d18616'),
    purple: v('--vscode-charts-purple', light ? '#652d90' : '#b180d7'),
    focus: v('--vscode-focusBorder', '#007fd4'),
    fontFamily: v('--vscode-font-family', 'system-ui, sans-serif'),
    fontSize: parseFloat(v('--vscode-font-size', '13')) || 13,
    lineScale: highContrast ? 1.6 : 1,
  };
}

/** Calls `onChange` (coalesced to one call per frame) when the theme kind or the theme's colours change. */
export function watchTheme(onChange: (theme: Theme) => void): void {
  let scheduled = false;
  const changed = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      onChange(readTheme());
    });
  };
  const observer = new MutationObserver(changed);
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
}

export function severityColor(theme: Theme, severity: Severity): string {
  return severity === 'error' ? theme.red : severity === 'warning' ? theme.yellow : theme.blue;
}

/**
 * One colour per layer. The theme's six chart colours first (red left out: it means NaN/Inf and errors here),
 * then evenly spread hues whose lightness suits the background, for models with many layers.
 */
export function layerColor(theme: Theme, index: number): string {
  const named = [theme.blue, theme.orange, theme.green, theme.purple, theme.yellow];
  if (index < named.length) return named[index];
  const hue = (index * 137.508 + 200) % 360; // golden angle: neighbours get distant hues
  const light = theme.kind === 'light' || theme.kind === 'highContrastLight';
  const [r, g, b] = hslToRgb(hue, light ? 0.65 : 0.7, light ? 0.38 : 0.66);
  return `rgb(${r}, ${g}, ${b})`;
}

function hslToRgb(h: number, s: number, l: number): RGB {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** A colour's red, green and blue (its alpha dropped): parseRgba's forms. */
export function parseColor(color: string): RGB | undefined {
  const c = parseRgba(color);
  return c && [c.r, c.g, c.b];
}

export function withAlpha(color: string, alpha: number): string {
  const rgb = parseColor(color);
  return rgb ? `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})` : color;
}

export function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}
