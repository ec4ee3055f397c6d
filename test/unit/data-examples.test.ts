// The example data written by scripts/prepare-example-data.js loads (skipped when it has not been prepared).

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { loadDataset } from '../../src/engine/data';

const ROOT = path.resolve(__dirname, '../../..');
const DATA = path.join(ROOT, 'examples', 'data');
const ctx = { configDir: path.join(ROOT, 'examples'), workspaceRoot: ROOT, seed: 1 };

function requirePrepared(this: Mocha.Context, ...files: string[]): void {
  const missing = files.filter(f => !fs.existsSync(path.join(DATA, f)));
  if (missing.length > 0) {
    console.log(`      (skipped: examples/data/${missing[0]} is missing; run "node scripts/prepare-example-data.js")`);
    this.skip();
  }
}

describe('data: prepared example data', function () {
  this.timeout(10000);

  it('spam.csv loads as a two-class text dataset', async function () {
    requirePrepared.call(this, 'spam.csv');
    const started = Date.now();
    const d = await loadDataset(
      { source: 'csv', path: 'data/spam.csv', textColumn: 'text', labelColumn: 'label', vocabularySize: 5000 }, ctx);
    const ms = Date.now() - started;
    assert.deepStrictEqual(d.labelNames, ['ham', 'spam']);
    assert.deepStrictEqual(d.inputShape, [100]);
    assert.strictEqual(d.vocabularySize, 5000);
    assert.ok(d.train.count + d.validation.count > 5000);
    const spam = Array.from(d.train.y).filter(y => y === 1).length / d.train.count;
    assert.ok(spam > 0.2 && spam < 0.45, `spam fraction ${spam}`);
    console.log(`      ${d.description} [${ms} ms]`);
  });

  it('the MNIST IDX files load as 10 classes of 784 values in [0, 1]', async function () {
    requirePrepared.call(this, 'mnist/train-images-idx3-ubyte', 'mnist/train-labels-idx1-ubyte');
    const started = Date.now();
    const d = await loadDataset({
      source: 'idx', images: 'data/mnist/train-images-idx3-ubyte', labels: 'data/mnist/train-labels-idx1-ubyte',
    }, ctx);
    const ms = Date.now() - started;
    assert.strictEqual(d.numClasses, 10);
    assert.deepStrictEqual(d.inputShape, [784]);
    assert.strictEqual(d.train.count + d.validation.count, 10000);
    let max = 0;
    for (const v of d.train.x) { assert.ok(v >= 0 && v <= 1); if (v > max) max = v; }
    assert.strictEqual(max, 1);
    console.log(`      ${d.description} [${ms} ms]`);
  });
});
