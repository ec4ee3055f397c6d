// CSS colours as numbers, for what draws without CSS (canvas pixels, heatmaps). No DOM: the unit tests use it too.

export interface Rgba { r: number; g: number; b: number; a: number }

/**
 * Parses #rgb, #rgba, #rrggbb, #rrggbbaa, rgb() and rgba() (with commas or spaces, alpha after a comma or a slash,
 * as a number or a percentage): what VS Code's variables and a canvas's normalized fillStyle hold. Undefined
 * otherwise (named colours, hsl()).
 */
export function parseRgba(color: string): Rgba | undefined {
  const c = color.trim();
  let m = /^#([0-9a-f]{3,8})$/i.exec(c);
  if (m) {
    let hex = m[1];
    if (hex.length === 3 || hex.length === 4) hex = [...hex].map(ch => ch + ch).join('');
    if (hex.length !== 6 && hex.length !== 8) return undefined;
    const byte = (i: number) => parseInt(hex.slice(i, i + 2), 16);
    return { r: byte(0), g: byte(2), b: byte(4), a: hex.length === 8 ? byte(6) / 255 : 1 };
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+)(%?))?/i.exec(c);
  if (!m) return undefined;
  const alpha = m[4] === undefined ? 1 : Number(m[4]) / (m[5] ? 100 : 1);
  return { r: Number(m[1]), g: Number(m[2]), b: Number(m[3]), a: Math.min(1, Math.max(0, alpha)) };
}
