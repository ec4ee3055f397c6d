// IDX: write small files, read them back (ubyte and float), and every malformed-file error.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeIdx, loadDataset, DataError, Dataset } from '../../src/engine/data';
import type { IdxDataConfig } from '../../src/config/types';

describe('data: IDX', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-idx-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ctx = () => ({ configDir: dir, workspaceRoot: dir, seed: 9 });
  const write = (name: string, data: Buffer) => fs.writeFileSync(path.join(dir, name), data);
  const load = (config: Partial<IdxDataConfig>): Promise<Dataset> =>
    loadDataset({ source: 'idx', images: 'images', labels: 'labels', ...config } as IdxDataConfig, ctx());

  async function expectError(config: Partial<IdxDataConfig>, file: string, ...patterns: RegExp[]): Promise<void> {
    const err = await load(config).then(() => undefined, e => e);
    assert.ok(err instanceof DataError, `expected a DataError, got ${err}`);
    assert.strictEqual(err.file, file);
    assert.ok(err.message.startsWith(`${file}:`), err.message);
    for (const p of patterns) assert.match(err.message, p);
  }

  // Five 2×3 images: image k holds the pixels 10k … 10k+5 and has label k.
  const N = 5;
  const pixels = Array.from({ length: N * 6 }, (_, i) => Math.floor(i / 6) * 10 + (i % 6));
  const labels = Array.from({ length: N }, (_, k) => k);

  /** Image k's values by its label, whichever split and slot the shuffle put it in. */
  function byLabel(d: Dataset): Map<number, number[]> {
    const size = d.inputShape.reduce((a, b) => a * b, 1);
    const out = new Map<number, number[]>();
    for (const s of [d.train, d.validation]) {
      for (let i = 0; i < s.count; i++) out.set(s.y[i], Array.from(s.x.subarray(i * size, (i + 1) * size)));
    }
    return out;
  }

  beforeEach(() => {
    write('images', encodeIdx('ubyte', [N, 2, 3], pixels));
    write('labels', encodeIdx('ubyte', [N], labels));
  });

  it('writes the IDX layout: magic 0x00000803, big-endian dims, then the bytes', () => {
    const buf = encodeIdx('ubyte', [N, 2, 3], pixels);
    assert.strictEqual(buf.readUInt32BE(0), 0x00000803);
    assert.deepStrictEqual([buf.readUInt32BE(4), buf.readUInt32BE(8), buf.readUInt32BE(12)], [5, 2, 3]);
    assert.strictEqual(buf.length, 16 + 30);
  });

  it('round-trips ubyte images, scaled by 1/255 and flattened by default', async () => {
    const d = await load({ validationSplit: 0 });
    assert.deepStrictEqual(d.inputShape, [6]);
    assert.strictEqual(d.numClasses, 5);
    assert.deepStrictEqual(d.labelNames, ['0', '1', '2', '3', '4']);
    const images = byLabel(d);
    for (let k = 0; k < N; k++) {
      assert.deepStrictEqual(images.get(k), pixels.slice(6 * k, 6 * k + 6).map(v => Math.fround(v / 255)));
    }
  });

  it('keeps the image shape with flatten false and raw bytes with normalize false', async () => {
    const d = await load({ validationSplit: 0, flatten: false, normalize: false });
    assert.deepStrictEqual(d.inputShape, [2, 3]);
    assert.deepStrictEqual(byLabel(d).get(3), [30, 31, 32, 33, 34, 35]);
  });

  it('round-trips float32 images (not rescaled) and maps labels to sorted classes', async () => {
    const values = pixels.map(v => v / 7 - 2);
    write('images', encodeIdx('float', [N, 6], values));
    write('labels', encodeIdx('ubyte', [N], [7, 3, 9, 3, 7]));
    const d = await load({ validationSplit: 0 });
    assert.deepStrictEqual(d.labelNames, ['3', '7', '9']);
    const rows = new Set<string>();
    for (let i = 0; i < N; i++) rows.add(`${d.labelNames![d.train.y[i]]}:${Array.from(d.train.x.subarray(6 * i, 6 * i + 6))}`);
    assert.ok(rows.has(`9:${values.slice(12, 18).map(Math.fround)}`));
  });

  it('splits and applies maxExamples', async () => {
    const many = 200;
    write('images', encodeIdx('ubyte', [many, 4], Array.from({ length: many * 4 }, (_, i) => i % 256)));
    write('labels', encodeIdx('ubyte', [many], Array.from({ length: many }, (_, i) => i % 10)));
    const d = await load({ maxExamples: 50, validationSplit: 0.2 });
    assert.strictEqual(d.train.count, 40);
    assert.strictEqual(d.validation.count, 10);
    assert.strictEqual(d.train.x.length, 160);
    assert.match(d.description, /a random 50 of 200/);
  });

  it('refuses a file with the wrong magic number', async () => {
    write('images', Buffer.from('text,label\nnot,idx\n'));
    await expectError({}, 'images', /is not an IDX file \(magic 0x74657874/);
  });

  it('recognises a gzip-compressed download', async () => {
    write('labels', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]));
    await expectError({}, 'labels', /gzip-compressed/, /gunzip/);
  });

  it('refuses a file shorter or longer than its header says', async () => {
    write('images', encodeIdx('ubyte', [N, 2, 3], pixels).subarray(0, 40));
    await expectError({}, 'images', /is truncated: its header describes \[5, 2, 3\] of ubyte/);
    write('images', Buffer.concat([encodeIdx('ubyte', [N, 2, 3], pixels), Buffer.alloc(3)]));
    await expectError({}, 'images', /3 bytes too many/);
  });

  it('refuses an unknown type code', async () => {
    const buf = encodeIdx('ubyte', [N], labels);
    buf[2] = 0x42;
    write('labels', buf);
    await expectError({}, 'labels', /type code 0x42/, /0x08 ubyte/);
  });

  it('refuses images and labels of different counts', async () => {
    write('labels', encodeIdx('ubyte', [4], [0, 1, 2, 3]));
    await expectError({}, 'labels', /has 4 labels but images has 5 examples/);
  });

  it('refuses non-integer labels', async () => {
    write('labels', encodeIdx('float', [N], [0, 1, 2.5, 3, 4]));
    await expectError({}, 'labels', /label 2 \(counting from 0\) is 2\.5/);
  });

  it('notices images and labels swapped', async () => {
    await expectError({ images: 'labels', labels: 'images' }, 'images', /one integer per example/, /look swapped/);
  });
});
