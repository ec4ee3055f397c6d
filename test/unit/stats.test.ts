// The statistics a user sees must be right: every figure is checked against a direct, slow computation.

import { strict as assert } from 'assert';
import { SeededRandom } from '../../src/engine/random';
import { histogramSpec, mergeHistograms, normAndDistance, StatsAccumulator, tensorStats } from '../../src/engine/stats';

/** Reference: the same definition as the protocol states, computed the obvious way. */
function reference(values: Float32Array, lo: number, hi: number, bins: number) {
  const edges = Array.from({ length: bins + 1 }, (_, k) => Math.fround(10 ** (lo + ((hi - lo) * k) / bins)));
  const counts = new Array(bins).fill(0);
  let zeros = 0, under = 0, over = 0, nan = 0, posInf = 0, negInf = 0;
  const finite: number[] = [];
  for (const v of values) {
    if (Number.isNaN(v)) { nan++; continue; }
    if (v === Infinity) { posInf++; continue; }
    if (v === -Infinity) { negInf++; continue; }
    finite.push(v);
    const a = Math.abs(v);
    if (a === 0) { zeros++; continue; }
    if (a < edges[0]) under++;
    else if (a >= edges[bins]) over++;
    else {
      let k = 0;
      while (!(edges[k] <= a && a < edges[k + 1])) k++;
      counts[k]++;
    }
  }
  const n = finite.length;
  const mean = finite.reduce((s, x) => s + x, 0) / n;
  const std = Math.sqrt(finite.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
  return {
    counts, zeros, under, over, nan, posInf, negInf, mean, std,
    norm: Math.sqrt(finite.reduce((s, x) => s + x * x, 0)),
    min: Math.min(...finite), max: Math.max(...finite),
    maxAbs: Math.max(...finite.map(Math.abs)),
  };
}

function randomValues(rng: SeededRandom, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    // Magnitudes across 40 decades, exact zeros, denormals, and the extremes.
    a[i] = r < 0.05 ? 0 : r < 0.07 ? 1e-42 * rng.next() : (rng.next() < 0.5 ? -1 : 1) * 10 ** (rng.next() * 40 - 25);
  }
  return a;
}

describe('gradient statistics', () => {
  it('match a direct computation on values spanning 40 decades, zeros and denormals', () => {
    const rng = new SeededRandom(3);
    for (const [lo, hi, bins] of [[-12, 4, 64], [-10, 2, 48], [-3, 1, 7], [-1, 0, 300]]) {
      const values = randomValues(rng, 20000);
      const spec = histogramSpec(lo, hi, bins);
      const s = tensorStats(values, spec);
      const r = reference(values, lo, hi, bins);
      assert.deepEqual(s.histogram!.counts, r.counts, `counts for [${lo}, ${hi}] × ${bins}`);
      assert.equal(s.histogram!.zeros, r.zeros);
      assert.equal(s.histogram!.underflow, r.under);
      assert.equal(s.histogram!.overflow, r.over);
      assert.ok(Math.abs(s.norm - r.norm) <= 1e-9 * r.norm);
      assert.ok(Math.abs(s.mean - r.mean) <= 1e-9 * Math.abs(r.mean) + 1e-300);
      assert.ok(Math.abs(s.std - r.std) <= 1e-6 * r.std);
      assert.equal(s.min, r.min);
      assert.equal(s.max, r.max);
      assert.equal(s.maxAbs, r.maxAbs);
      assert.equal(s.zeroFraction, r.zeros / values.length);
    }
  });

  it('bins values exactly at and next to every edge', () => {
    const spec = histogramSpec(-6, 2, 32);
    const values: number[] = [];
    for (let k = 0; k <= 32; k++) {
      const e = Math.fround(10 ** (-6 + (8 * k) / 32));
      const bits = new Uint32Array(new Float32Array([e]).buffer)[0];
      const below = new Float32Array(new Uint32Array([bits - 1]).buffer)[0];
      values.push(e, below, -e);
    }
    const arr = new Float32Array(values);
    const s = tensorStats(arr, spec);
    const r = reference(arr, -6, 2, 32);
    assert.deepEqual(s.histogram!.counts, r.counts);
    assert.equal(s.histogram!.underflow, r.under);
    assert.equal(s.histogram!.overflow, r.over);
  });

  it('counts NaN and ±Inf instead of dropping them, and reports the norm as non-finite', () => {
    const v = new Float32Array([1, -2, NaN, Infinity, -Infinity, 0, NaN]);
    const s = tensorStats(v, histogramSpec(-12, 4, 64));
    assert.equal(s.nanCount, 2);
    assert.equal(s.infCount, 2);
    assert.equal(s.histogram!.nan, 2);
    assert.equal(s.histogram!.posInf, 1);
    assert.equal(s.histogram!.negInf, 1);
    assert.ok(Number.isNaN(s.norm));
    assert.equal(s.mean, -1 / 3); // over the finite values 1, −2, 0
    assert.equal(s.min, -2);
    assert.equal(s.maxAbs, Infinity);
    const infOnly = tensorStats(new Float32Array([1, Infinity]), histogramSpec(-12, 4, 64));
    assert.equal(infOnly.norm, Infinity);
    // No finite value at all (a layer at the step it blew up): no mean, spread or extremes to show.
    const nanOnly = tensorStats(new Float32Array([NaN, NaN, Infinity]), histogramSpec(-12, 4, 64));
    for (const k of ['norm', 'mean', 'std', 'min', 'max'] as const) assert.ok(Number.isNaN(nanOnly[k]), `${k}: ${nanOnly[k]}`);
    assert.equal(nanOnly.nanCount, 2);
  });

  it('merging accumulators equals accumulating everything at once', () => {
    const rng = new SeededRandom(5);
    const a = randomValues(rng, 3000);
    const b = randomValues(rng, 5000);
    const spec = histogramSpec(-12, 4, 64);
    const whole = new StatsAccumulator(spec);
    const both = new Float32Array(8000);
    both.set(a);
    both.set(b, 3000);
    whole.add(both);
    const parts = new StatsAccumulator(spec);
    const pa = new StatsAccumulator(spec);
    pa.add(a);
    const pb = new StatsAccumulator(spec);
    pb.add(b);
    parts.merge(pa);
    parts.merge(pb);
    const w = whole.finish();
    const p = parts.finish();
    assert.deepEqual(p.histogram, w.histogram);
    assert.ok(Math.abs(p.norm - w.norm) <= 1e-12 * w.norm);
    assert.deepEqual(mergeHistograms([pa.finish().histogram!, pb.finish().histogram!]), w.histogram);
  });

  it('accumulates the post-clip norm for elementwise clipping', () => {
    const v = new Float32Array([0.5, -3, 2, 0.1]);
    const acc = new StatsAccumulator(histogramSpec(-12, 4, 16));
    acc.add(v, 1);
    assert.ok(Math.abs(acc.clippedSumSq - (0.25 + 1 + 1 + Math.fround(0.1) ** 2)) < 1e-12);
  });

  it('computes weight norms, update norms and non-finite weights', () => {
    const before = new Float32Array([1, 2, 2]);
    const after = new Float32Array([1, 2, 3]);
    assert.deepEqual(normAndDistance(after, before), { sumSq: 14, diffSq: 1, nonFinite: 0 });
    assert.equal(normAndDistance(new Float32Array([1, NaN, Infinity]), undefined).nonFinite, 2);
  });
});

describe('orthogonal initialization', () => {
  // Imported here: a plain module, no backend needed.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { orthogonalValues } = require('../../src/engine/initializers') as typeof import('../../src/engine/initializers');

  for (const [shape, gain] of [[[8, 32], 1], [[32, 8], 1], [[16, 16], 2], [[3, 4, 10], 1]] as [number[], number][]) {
    it(`${JSON.stringify(shape)} × gain ${gain} has orthonormal rows or columns`, () => {
      const w = orthogonalValues(shape, gain, 7);
      const cols = shape[shape.length - 1];
      const rows = w.length / cols;
      const byRows = rows <= cols;
      const k = Math.min(rows, cols);
      const vec = (i: number, t: number) => (byRows ? w[i * cols + t] : w[t * cols + i]);
      const n = Math.max(rows, cols);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let t = 0; t < n; t++) dot += vec(i, t) * vec(j, t);
          assert.ok(Math.abs(dot - (i === j ? gain * gain : 0)) < 1e-5, `<${i},${j}> = ${dot}`);
        }
      }
    });
  }

  it('is deterministic in the seed', () => {
    assert.deepEqual(orthogonalValues([4, 6], 1, 3), orthogonalValues([4, 6], 1, 3));
    assert.notDeepEqual(orthogonalValues([4, 6], 1, 3), orthogonalValues([4, 6], 1, 4));
  });
});
