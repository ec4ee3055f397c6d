// The panel's layer-lines image (media/panel/lineRaster.ts): lines land on the pixels their points map to,
// continuous, broken at gaps, clipped, and half-transparent lines blend once per pixel (no dark dots at joins);
// redrawing only what a new snapshot changed gives the pixels a full redraw would; and the colour parser the
// webviews share.

import { strict as assert } from 'assert';
import { LineRaster } from '../../media/panel/lineRaster';
import { parseRgba } from '../../media/shared/colour';

const W = 40;
const H = 20;

function pixel(r: LineRaster, x: number, y: number): number[] {
  const q = (y * r.width + x) * 4;
  return [...r.pixels.subarray(q, q + 4)];
}

function painted(r: LineRaster): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) if (pixel(r, x, y)[3] > 0) out.push([x, y]);
  return out;
}

const line = (points: [number, number][], colour = { r: 255, g: 0, b: 0, a: 1 }, width = 1) => ({
  xs: Float64Array.from(points, p => p[0]), ys: Float64Array.from(points, p => p[1]), ...colour, width,
});

describe('layer-lines image', () => {
  it('a horizontal line paints its row in every column it spans, and nothing else', () => {
    const r = new LineRaster();
    r.reset(W, H);
    r.draw(line([[0, 5.3], [20.5, 5.3], [39.9, 5.3]]));
    const px = painted(r);
    assert.equal(px.length, W);
    assert.ok(px.every(([, y]) => y === 5));
    assert.deepEqual(pixel(r, 17, 5), [255, 0, 0, 255]);
  });

  it('a steep segment is continuous: every row between its ends is painted, within the columns it crosses', () => {
    const r = new LineRaster();
    r.reset(W, H);
    r.draw(line([[10.2, 1.5], [12.8, 18.5]]));
    const px = painted(r);
    for (let y = 1; y <= 18; y++) assert.ok(px.some(([, py]) => py === y), `row ${y}`);
    assert.ok(px.every(([x, y]) => x >= 10 && x <= 12 && y >= 1 && y <= 18), JSON.stringify(px));
  });

  it('NaN breaks the line; a lone point between gaps still shows; points outside are clipped', () => {
    const r = new LineRaster();
    r.reset(W, H);
    r.draw(line([[2, 3], [8, 3], [NaN, NaN], [30, 3], [36, 3], [NaN, 0], [20, 15], [20, NaN], [-50, 10], [100, 10]]));
    const px = painted(r);
    assert.ok(!px.some(([x, y]) => y === 3 && x > 8 && x < 30), 'nothing drawn across the gap');
    assert.deepEqual(pixel(r, 20, 15), [255, 0, 0, 255], 'the lone point');
    assert.equal(px.filter(([, y]) => y === 10).length, W, 'a segment from far left to far right covers the row, clipped');
  });

  it('a wider line is that many device pixels across', () => {
    const r = new LineRaster();
    r.reset(W, H);
    r.draw(line([[0, 10], [39, 10]], undefined, 3));
    const rows = new Set(painted(r).map(([, y]) => y));
    assert.deepEqual([...rows].sort((a, b) => a - b), [9, 10, 11]);
  });

  it('a half-transparent line blends each pixel once, over what is under it (source over)', () => {
    const r = new LineRaster();
    r.reset(W, H);
    // A V: both segments cover the joint's column; it must not be blended twice.
    r.draw(line([[5, 2], [10, 12], [15, 2]], { r: 255, g: 0, b: 0, a: 0.5 }));
    const alphas = new Set(painted(r).map(([x, y]) => pixel(r, x, y)[3]));
    assert.deepEqual([...alphas], [128]);
    // Over an opaque blue line: half red, half blue, opaque.
    r.reset(W, H);
    r.draw(line([[0, 7], [39, 7]], { r: 0, g: 0, b: 255, a: 1 }));
    r.draw(line([[20, 0], [20, 19]], { r: 255, g: 0, b: 0, a: 0.5 }));
    const [red, green, blue, alpha] = pixel(r, 20, 7);
    assert.ok(Math.abs(red - 128) <= 1 && green === 0 && Math.abs(blue - 127) <= 1 && alpha === 255, `${[red, green, blue, alpha]}`);
    // Frames reuse the buffer: reset clears it.
    r.reset(W, H);
    assert.equal(painted(r).length, 0);
  });

  it('a snapshot that moves only the lines\' tails redraws those columns alone, to the pixels of a full redraw', () => {
    // 12 lines of 40 points on a 300 × 80 image, as the norms chart streams them: the last bucket changes and
    // points are appended (most snapshots), a compaction moves every point, a line is recoloured (a layer
    // selected), gaps come and go, the image is resized; half-transparent and wide lines included, points
    // ~5 px apart (a segment into a moved point spans several columns), and a tail that doubles back left.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const colours = [{ r: 200, g: 30, b: 30, a: 1 }, { r: 30, g: 200, b: 30, a: 0.5 }, { r: 30, g: 30, b: 200, a: 0.8 }];
    type Series = { xs: number[]; ys: number[]; colour: typeof colours[number]; width: number };
    const series: Series[] = Array.from({ length: 12 }, (_, k) => {
      const n = 40;
      return {
        xs: Array.from({ length: n }, (_, i) => i * 5 + rand()), ys: Array.from({ length: n }, () => rand() * 80),
        colour: colours[k % 3], width: k % 4 === 0 ? 3 : 1,
      };
    });
    const toLines = () => series.map(l => ({ xs: Float64Array.from(l.xs), ys: Float64Array.from(l.ys), ...l.colour, width: l.width }));
    let size = [300, 80];
    const incremental = new LineRaster();
    let partial = 0;
    for (let snapshot = 0; snapshot < 60; snapshot++) {
      const kind = snapshot === 0 ? 'first' : snapshot % 15 === 0 ? 'compaction' : snapshot === 22 ? 'recolour' : snapshot === 37 ? 'resize'
        : snapshot === 47 ? 'back left' : snapshot === 48 ? 'back right' : snapshot % 7 === 0 ? 'gap' : 'tail';
      const last = series[3].xs.length - 1;
      if (kind === 'back left') series[3].xs[last] -= 60;
      if (kind === 'back right') series[3].xs[last] += 60;
      for (const l of series) {
        if (kind === 'tail') {
          l.ys[l.ys.length - 1] = rand() * 80; // the last bucket took more steps
          if (rand() < 0.5) { l.xs.push(l.xs[l.xs.length - 1] + 1 + 4 * rand()); l.ys.push(rand() * 80); }
        } else if (kind === 'gap') {
          l.ys[l.ys.length - 2] = NaN;
          l.xs.push(l.xs[l.xs.length - 1] + 1);
          l.ys.push(rand() * 80);
        } else if (kind === 'compaction') {
          l.xs = l.xs.filter((_, i) => i % 2 === 0);
          l.ys = l.ys.filter((_, i) => i % 2 === 0).map(y => (Number.isNaN(y) ? y : y * 0.9));
        }
      }
      if (kind === 'recolour') series[5].colour = { r: 90, g: 90, b: 90, a: 1 };
      if (kind === 'resize') size = [280, 80];
      const from = incremental.render(size[0], size[1], toLines());
      const full = new LineRaster();
      full.reset(size[0], size[1]);
      for (const l of toLines()) full.draw(l);
      assert.deepEqual(incremental.pixels, full.pixels, `snapshot ${snapshot} (${kind}) redrawn from column ${from}`);
      if (kind === 'tail' || kind === 'gap' || kind.startsWith('back')) {
        assert.ok(from > (kind.startsWith('back') ? 40 : 100) && from < size[0], `snapshot ${snapshot} (${kind}): redrawn from column ${from}, not just the tails`);
        partial++;
      } else assert.equal(from, 0, `snapshot ${snapshot} (${kind}) is drawn whole`);
    }
    assert.ok(partial > 40);
    // Nothing changed: nothing redrawn.
    assert.equal(incremental.render(size[0], size[1], toLines()), size[0]);
    // Drawn on directly since: the next render starts over (and with no lines, leaves the image empty).
    incremental.draw(line([[0, 40], [279, 40]]));
    assert.equal(incremental.render(size[0], size[1], []), 0);
    assert.equal(painted(incremental).length, 0);
  });

  it('reads the colours VS Code\'s variables and a canvas hold (media/shared/colour.ts)', () => {
    assert.deepEqual(parseRgba('#1a2b3c'), { r: 26, g: 43, b: 60, a: 1 });
    assert.deepEqual(parseRgba('#1a2b3c80'), { r: 26, g: 43, b: 60, a: 128 / 255 });
    assert.deepEqual(parseRgba('#fa0'), { r: 255, g: 170, b: 0, a: 1 });
    assert.deepEqual(parseRgba('rgba(10, 20, 30, 0.5)'), { r: 10, g: 20, b: 30, a: 0.5 });
    assert.deepEqual(parseRgba('rgb(1 2 3 / 50%)'), { r: 1, g: 2, b: 3, a: 0.5 });
    assert.equal(parseRgba('hsl(10, 50%, 50%)'), undefined);
  });
});
