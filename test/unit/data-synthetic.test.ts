// Synthetic tasks: each task's invariants, determinism in the seed, defaults and the train/validation split.

import * as assert from 'assert';
import { loadDataset, DataError, Dataset } from '../../src/engine/data';
import type { SyntheticDataConfig } from '../../src/config/types';

const ctx = (seed = 1) => ({ configDir: '/nonexistent', workspaceRoot: '/nonexistent', seed });

function load(config: Partial<SyntheticDataConfig>, seed = 1): Promise<Dataset> {
  return loadDataset({ source: 'synthetic', task: 'adding', ...config } as SyntheticDataConfig, ctx(seed));
}

/** Every example of both splits as (x, y) rows. */
function* examples(d: Dataset): Generator<{ x: Float32Array; y: number }> {
  const size = d.inputShape.reduce((a, b) => a * b, 1);
  for (const split of [d.train, d.validation]) {
    for (let i = 0; i < split.count; i++) {
      yield { x: split.x.subarray(i * size, (i + 1) * size) as Float32Array, y: split.y[i] };
    }
  }
}

async function rejects(config: Partial<SyntheticDataConfig>, key: string, pattern: RegExp): Promise<void> {
  await assert.rejects(load(config), (err: unknown) => {
    assert.ok(err instanceof DataError, String(err));
    assert.deepStrictEqual(err.jsonPath, ['data', key]);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('data: synthetic tasks', () => {
  describe('adding problem', () => {
    it('has [T, 2] inputs with two markers, one per half, and the sum of the marked values as target', async () => {
      const d = await load({ task: 'adding', sequenceLength: 30, examples: 300 });
      assert.strictEqual(d.task, 'regression');
      assert.strictEqual(d.targetSize, 1);
      assert.deepStrictEqual(d.inputShape, [30, 2]);
      assert.ok(d.train.x instanceof Float32Array && d.train.y instanceof Float32Array);
      for (const { x, y } of examples(d)) {
        const marked: number[] = [];
        for (let t = 0; t < 30; t++) {
          assert.ok(x[2 * t] >= 0 && x[2 * t] < 1);
          assert.ok(x[2 * t + 1] === 0 || x[2 * t + 1] === 1);
          if (x[2 * t + 1] === 1) marked.push(t);
        }
        assert.strictEqual(marked.length, 2);
        assert.ok(marked[0] < 15 && marked[1] >= 15, `markers at ${marked}`);
        assert.strictEqual(y, Math.fround(x[2 * marked[0]] + x[2 * marked[1]]));
      }
    });

    it('has the documented baseline: always predicting 1.0 gives MSE ≈ 0.167', async () => {
      const d = await load({ task: 'adding' });
      let sum = 0;
      let n = 0;
      for (const { y } of examples(d)) { sum += (y - 1) ** 2; n++; }
      assert.ok(Math.abs(sum / n - 1 / 6) < 0.02, `MSE of predicting 1: ${sum / n}`);
      assert.match(d.description, /0\.167/);
    });

    it('uses the defaults: 2000 examples of length 50, validationSplit 0.1', async () => {
      const d = await load({ task: 'adding' });
      assert.deepStrictEqual(d.inputShape, [50, 2]);
      assert.strictEqual(d.train.count, 1800);
      assert.strictEqual(d.validation.count, 200);
      assert.strictEqual(d.train.x.length, 1800 * 100);
      assert.strictEqual(d.validation.y.length, 200);
    });
  });

  describe('temporal order', () => {
    for (const T of [50, 100, 7]) {
      it(`puts X/Y in [10 %, 20 %) and [50 %, 60 %) of T=${T} and classes them by their order`, async () => {
        const d = await load({ task: 'temporalOrder', sequenceLength: T, examples: 400 });
        assert.strictEqual(d.task, 'classification');
        assert.strictEqual(d.numClasses, 4);
        assert.deepStrictEqual(d.labelNames, ['XX', 'XY', 'YX', 'YY']);
        assert.deepStrictEqual(d.inputShape, [T, 6]);
        const seen = new Set<number>();
        for (const { x, y } of examples(d)) {
          const special: { t: number; symbol: number }[] = [];
          for (let t = 0; t < T; t++) {
            const row = Array.from(x.subarray(t * 6, t * 6 + 6));
            assert.strictEqual(row.reduce((a, b) => a + b, 0), 1, 'one-hot rows');
            const symbol = row.indexOf(1);
            if (symbol >= 4) special.push({ t, symbol });
          }
          assert.strictEqual(special.length, 2);
          const [first, second] = special;
          if (T >= 10) {
            assert.ok(first.t >= Math.floor(0.1 * T) && first.t < Math.floor(0.2 * T), `first at ${first.t}`);
            assert.ok(second.t >= Math.floor(0.5 * T) && second.t < Math.floor(0.6 * T), `second at ${second.t}`);
          } else {
            assert.ok(first.t < second.t);
          }
          assert.strictEqual(y, 2 * (first.symbol - 4) + (second.symbol - 4));
          seen.add(y);
        }
        assert.strictEqual(seen.size, 4, 'all four classes occur');
      });
    }
  });

  describe('blobs', () => {
    it('draws balanced Gaussian clusters of the configured size that a nearest-centre rule separates', async () => {
      const d = await load({ task: 'blobs', examples: 600 });
      assert.deepStrictEqual(d.inputShape, [20]);
      assert.strictEqual(d.numClasses, 3);
      const F = 20;
      const sums = Array.from({ length: 3 }, () => new Float64Array(F));
      const counts = [0, 0, 0];
      for (const { x, y } of examples(d)) {
        counts[y]++;
        for (let f = 0; f < F; f++) sums[y][f] += x[f];
      }
      assert.deepStrictEqual(counts, [200, 200, 200]);
      const centres = sums.map((s, c) => Array.from(s, v => v / counts[c]));
      let correct = 0;
      for (const { x, y } of examples(d)) {
        const dist = centres.map(c => c.reduce((a, v, f) => a + (v - x[f]) ** 2, 0));
        if (dist.indexOf(Math.min(...dist)) === y) correct++;
      }
      assert.ok(correct / 600 > 0.95, `nearest-centre accuracy ${correct / 600}`);
    });

    it('honours features, classes and noise', async () => {
      const d = await load({ task: 'blobs', features: 3, classes: 5, noise: 0, examples: 50 });
      assert.deepStrictEqual(d.inputShape, [3]);
      assert.strictEqual(d.numClasses, 5);
      // noise 0: every point is exactly its centre.
      const byClass = new Map<number, string>();
      for (const { x, y } of examples(d)) {
        const key = Array.from(x).join(',');
        assert.strictEqual(byClass.get(y) ?? key, key);
        byClass.set(y, key);
      }
    });
  });

  describe('parity', () => {
    it('has [T, 1] bit sequences classed by the parity of their ones', async () => {
      const d = await load({ task: 'parity', sequenceLength: 20, examples: 500 });
      assert.deepStrictEqual(d.inputShape, [20, 1]);
      assert.deepStrictEqual(d.labelNames, ['even', 'odd']);
      let odd = 0;
      for (const { x, y } of examples(d)) {
        let ones = 0;
        for (const v of x) { assert.ok(v === 0 || v === 1); ones += v; }
        assert.strictEqual(y, ones % 2);
        odd += y;
      }
      assert.ok(odd > 200 && odd < 300, `${odd} odd of 500`);
    });
  });

  describe('determinism and splitting', () => {
    for (const task of ['adding', 'temporalOrder', 'blobs', 'parity'] as const) {
      it(`${task}: the same seed gives the same data, another seed other data`, async () => {
        const a = await load({ task, examples: 100 }, 7);
        const b = await load({ task, examples: 100 }, 7);
        const c = await load({ task, examples: 100 }, 8);
        assert.deepStrictEqual(a.train.x, b.train.x);
        assert.deepStrictEqual(a.validation.y, b.validation.y);
        assert.notDeepStrictEqual(a.train.x, c.train.x);
      });
    }

    it('splits floor(n × validationSplit) off for validation, after maxExamples', async () => {
      const a = await load({ task: 'parity', examples: 100, validationSplit: 0.25 });
      assert.strictEqual(a.train.count, 75);
      assert.strictEqual(a.validation.count, 25);
      const b = await load({ task: 'parity', examples: 100, maxExamples: 50 });
      assert.strictEqual(b.train.count + b.validation.count, 50);
      assert.strictEqual(b.validation.count, 5);
      const c = await load({ task: 'parity', examples: 100, validationSplit: 0 });
      assert.strictEqual(c.validation.count, 0);
      assert.strictEqual(c.validation.x.length, 0);
      assert.strictEqual(c.train.count, 100);
    });

    it('keeps the same examples when only maxExamples changes the count', async () => {
      // Generation does not depend on maxExamples, so a smaller run sees a subset of the larger one's examples.
      const all = await load({ task: 'adding', examples: 200, validationSplit: 0 });
      const some = await load({ task: 'adding', examples: 200, maxExamples: 20, validationSplit: 0 });
      const rows = new Set(Array.from(examples(all), e => Array.from(e.x).join(',')));
      for (const e of examples(some)) assert.ok(rows.has(Array.from(e.x).join(',')));
    });
  });

  describe('errors', () => {
    it('names the key of an unusable value', async () => {
      await rejects({ task: 'spiral' as never }, 'task', /adding.*temporalOrder.*blobs.*parity/);
      await rejects({ task: 'adding', sequenceLength: 1 }, 'sequenceLength', /integer ≥ 2/);
      await rejects({ task: 'blobs', classes: 1 }, 'classes', /integer ≥ 2/);
      await rejects({ task: 'blobs', noise: -1 }, 'noise', /number/);
      await rejects({ task: 'parity', validationSplit: 1 }, 'validationSplit', /exclusive/);
      await rejects({ task: 'parity', examples: 0 }, 'examples', /integer ≥ 1/);
    });

    it('refuses a size that would not fit in memory before allocating it', async () => {
      const started = Date.now();
      await rejects({ task: 'temporalOrder', examples: 10_000_000, sequenceLength: 1000 }, 'examples', /maxExamples/);
      assert.ok(Date.now() - started < 1000);
    });

    it('refuses an unknown source', async () => {
      await assert.rejects(loadDataset({ source: 'xml' } as never, ctx()), /data\.source "xml" is not supported/);
    });
  });
});
