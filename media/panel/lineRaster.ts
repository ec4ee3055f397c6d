// Many polylines into one RGBA pixel buffer, without antialiasing: the norms chart's 50 layer lines.
//
// Stroking 50 × 512-point antialiased paths is cheap to record but not to rasterize: in a webview without GPU
// rasterization (code-server in a browser, remote desktops, CI) Chromium spent ~45 ms per snapshot turning
// them into pixels, four times the frame. Here each segment becomes, column by column, the vertical run of
// pixels it crosses (the line's width wide), blended over what is there; the buffer goes onto the canvas as
// one image. Lines are as wide as asked in device pixels, and a half-transparent line blends each pixel once,
// so it has no darker dots at its joins.
//
// While a run goes on its axes stay put (the time axis spans the planned run, the log axis only grows), and a new
// snapshot changes the lines only from their last bucket on: `render` then redraws only the columns from the first
// point that moved, which gives the same pixels as drawing everything again (the unit test holds it to that).

export interface RasterLine {
  /** Device-pixel coordinates of the points; NaN in either breaks the line there (a gap). */
  xs: Float64Array;
  ys: Float64Array;
  /** Colour 0–255 and opacity 0–1. */
  r: number;
  g: number;
  b: number;
  a: number;
  /** Width in device pixels (rounded, at least 1). */
  width: number;
}

export class LineRaster {
  width = 0;
  height = 0;
  pixels = new Uint8ClampedArray(0);
  /** The same pixels as RGBA words. */
  private words = new Uint32Array(0);
  /** Which line last painted each pixel (a line blends a pixel once); ids grow across frames, so no clearing. */
  private owner = new Uint32Array(0);
  private nextId = 1;
  /** The lines of the last `render` (kept, not copied: the caller hands over new arrays each time); undefined when
   * the image is not theirs (never rendered, or reset or drawn on since). */
  private drawn?: RasterLine[];

  /**
   * The image of `lines`, exactly as `reset` and `draw` of each would make it, redrawing only the columns from
   * the leftmost point that differs from the last `render`. Returns the first column redrawn (0: all of it;
   * `width`: nothing changed). Keeps `lines` to compare the next call with: do not change their arrays after.
   */
  render(width: number, height: number, lines: RasterLine[]): number {
    width = Math.max(0, Math.floor(width));
    height = Math.max(0, Math.floor(height));
    const drawn = this.drawn;
    let from = drawn && width === this.width && height === this.height && lines.length === drawn.length ? width : 0;
    for (let k = 0; k < lines.length && from > 0; k++) from = Math.min(from, this.firstChange(drawn![k], lines[k]));
    if (from <= 0) {
      from = 0;
      this.reset(width, height);
    } else if (from < width) {
      for (let row = 0; row < height; row++) this.words.fill(0, row * width + from, (row + 1) * width);
    }
    if (from < width) for (const line of lines) this.paint(line, from);
    this.drawn = lines;
    return from;
  }

  /** The leftmost column whose pixels `next` may paint differently from `prev` (this.width when none). */
  private firstChange(prev: RasterLine, next: RasterLine): number {
    if (prev.r !== next.r || prev.g !== next.g || prev.b !== next.b || prev.a !== next.a || prev.width !== next.width) return 0;
    const n = Math.min(prev.xs.length, next.xs.length);
    let i = 0;
    while (i < n && same(prev.xs[i], next.xs[i]) && same(prev.ys[i], next.ys[i])) i++;
    if (i === prev.xs.length && i === next.xs.length) return this.width;
    // Point i moved, came or went: the segments from point i − 1 on may differ, in either line; their pixels
    // reach at most `w` columns left of their leftmost point.
    let left = Infinity;
    for (const xs of [prev.xs, next.xs]) for (let j = Math.max(0, i - 1); j < xs.length; j++) if (xs[j] < left) left = xs[j];
    if (left === Infinity) return this.width; // no point left to draw on either side
    return Math.max(0, Math.floor(left) - Math.max(1, Math.round(next.width)) - 1);
  }

  /** Clears to transparent at the given size (reallocating only when it changes); the next `render` draws all. */
  reset(width: number, height: number): void {
    this.drawn = undefined;
    width = Math.max(0, Math.floor(width));
    height = Math.max(0, Math.floor(height));
    if (width !== this.width || height !== this.height) {
      this.width = width;
      this.height = height;
      this.pixels = new Uint8ClampedArray(width * height * 4);
      this.words = new Uint32Array(this.pixels.buffer);
      this.owner = new Uint32Array(width * height);
      this.nextId = 1;
    } else {
      this.pixels.fill(0);
    }
  }

  /** Draws a line over what is there (the next `render` then draws all). */
  draw(line: RasterLine): void {
    this.drawn = undefined;
    this.paint(line, 0);
  }

  /** Draws a line over what is there, leaving the pixels left of `fromColumn` as they are. */
  private paint(line: RasterLine, fromColumn: number): void {
    if (this.nextId >= 0xffffffff) {
      this.owner.fill(0);
      this.nextId = 1;
    }
    const id = this.nextId++;
    const { xs, ys } = line;
    const { width, height, words, owner } = this;
    const w = Math.max(1, Math.round(line.width));
    const half = (w - 1) / 2;
    const shift = Math.floor(half);
    const alpha = Math.round(Math.min(1, Math.max(0, line.a)) * 255);
    // Little-endian RGBA words (ImageData's byte order on every platform browsers run on).
    const packed = ((alpha << 24) | (line.b << 16) | (line.g << 8) | line.r) >>> 0;
    let px = NaN;
    let py = NaN;
    for (let i = 0; i < xs.length; i++) {
      let x1 = xs[i];
      let y1 = ys[i];
      if (!Number.isFinite(x1) || !Number.isFinite(y1)) {
        px = py = NaN;
        continue;
      }
      // The segment from the previous point (or a lone point, which still shows), left to right.
      let x0 = Number.isNaN(px) ? x1 : px;
      let y0 = Number.isNaN(px) ? y1 : py;
      px = x1;
      py = y1;
      if (x1 < x0) {
        const tx = x0; x0 = x1; x1 = tx;
        const ty = y0; y0 = y1; y1 = ty;
      }
      const first = Math.floor(x0);
      const last = Math.floor(x1);
      if (last < Math.max(-w, fromColumn - w) || first >= width + w) continue;
      const slope = x1 > x0 ? (y1 - y0) / (x1 - x0) : 0;
      const to = Math.min(last, width + w);
      for (let col = Math.max(first, -w, fromColumn - w); col <= to; col++) {
        // Per column, the rows between the segment's y where it enters and where it leaves the column.
        const ya = col === first ? y0 : y0 + (col - x0) * slope;
        const yb = col === last ? y1 : y0 + (col + 1 - x0) * slope;
        const top = Math.max(Math.floor((ya < yb ? ya : yb) - half), 0);
        const bottom = Math.min(Math.floor((ya < yb ? yb : ya) + half), height - 1);
        const left = Math.max(col - shift, 0, fromColumn);
        const right = Math.min(col - shift + w - 1, width - 1);
        for (let y = top; y <= bottom; y++) {
          const row = y * width;
          for (let p = row + left, end = row + right; p <= end; p++) {
            if (alpha === 255) {
              words[p] = packed; // opaque: nothing to blend, and painting a pixel twice changes nothing
            } else if (owner[p] !== id) {
              owner[p] = id;
              const under = words[p];
              words[p] = under === 0 ? packed : blend(line, alpha, under);
            }
          }
        }
      }
    }
  }
}

/** Equal coordinates, NaN equal to NaN (a gap stays a gap). */
function same(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** Source over in straight (not premultiplied) alpha, as ImageData holds it. */
function blend(src: RasterLine, sa: number, dst: number): number {
  const keep = ((dst >>> 24) * (255 - sa)) / 255; // the destination's share, 0–255
  const oa = sa + keep;
  const k = 1 / oa;
  const r = (src.r * sa + (dst & 255) * keep) * k + 0.5;
  const g = (src.g * sa + ((dst >>> 8) & 255) * keep) * k + 0.5;
  const b = (src.b * sa + ((dst >>> 16) & 255) * keep) * k + 0.5;
  return (((oa + 0.5) << 24) | (b << 16) | (g << 8) | r) >>> 0;
}
