// CSV: the RFC 4180 parser's edge cases, loading text and numeric tables, and every positioned error.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadDataset, parseCsvText, CsvParser, DataError, Dataset } from '../../src/engine/data';
import type { CsvDataConfig } from '../../src/config/types';
import type { JsonPath } from '../../src/protocol';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/data');
const fixtureCtx = { configDir: FIXTURES, workspaceRoot: FIXTURES, seed: 3 };

function loadCsv(config: Partial<CsvDataConfig>, ctx = fixtureCtx): Promise<Dataset> {
  return loadDataset({ source: 'csv', labelColumn: 'label', ...config } as CsvDataConfig, ctx);
}

interface Expected { file?: string; line?: number; jsonPath?: JsonPath; message: RegExp[] }

async function expectError(promise: Promise<unknown>, expected: Expected): Promise<DataError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${caught instanceof Error ? caught.stack : caught}`);
  const err = caught as DataError;
  if (expected.file !== undefined) {
    assert.strictEqual(err.file, expected.file);
    assert.ok(err.message.includes(expected.file), `message names the file: ${err.message}`);
  }
  if (expected.line !== undefined) {
    assert.strictEqual(err.line, expected.line, err.message);
    assert.ok(err.message.includes(`line ${expected.line}`), `message names the line: ${err.message}`);
  }
  if (expected.jsonPath) assert.deepStrictEqual(err.jsonPath, expected.jsonPath);
  for (const re of expected.message) assert.match(err.message, re);
  return err;
}

/** A throwaway workspace with the given files. */
function workspace(files: Record<string, string | Buffer>): { dir: string; ctx: typeof fixtureCtx } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-csv-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return { dir, ctx: { configDir: dir, workspaceRoot: dir, seed: 3 } };
}

const fields = (text: string, delimiter = ',') => parseCsvText(text, delimiter).map(r => r.fields);

describe('data: CSV', () => {
  const temp: string[] = [];
  after(() => temp.forEach(d => fs.rmSync(d, { recursive: true, force: true })));
  const ws = (files: Record<string, string | Buffer>) => {
    const w = workspace(files);
    temp.push(w.dir);
    return w;
  };

  describe('parser', () => {
    it('splits plain records and keeps empty fields', () => {
      assert.deepStrictEqual(fields('a,b,c\n1,,3\n,,\n'), [['a', 'b', 'c'], ['1', '', '3'], ['', '', '']]);
    });

    it('reads quoted fields with delimiters, doubled quotes and line breaks', () => {
      assert.deepStrictEqual(fields('"a,b","say ""hi""","x\ny"\n'), [['a,b', 'say "hi"', 'x\ny']]);
      assert.deepStrictEqual(fields('"",""""\n'), [['', '"']]);
    });

    it('numbers records by the physical line they start on', () => {
      const records = parseCsvText('h1,h2\n"two\nlines",x\n\nnext,y\n');
      assert.deepStrictEqual(records.map(r => r.line), [1, 2, 5]);
    });

    it('accepts CRLF, LF and lone CR line ends, and a last line without one', () => {
      const expected = [['a', 'b'], ['1', '2'], ['3', '4']];
      assert.deepStrictEqual(fields('a,b\r\n1,2\r\n3,4\r\n'), expected);
      assert.deepStrictEqual(fields('a,b\r1,2\r3,4'), expected);
      assert.deepStrictEqual(fields('a,b\n1,2\n3,4'), expected);
      assert.deepStrictEqual(fields('"a\r\nb",c\r\n'), [['a\r\nb', 'c']]);
    });

    it('skips blank and whitespace-only lines but keeps a quoted empty field', () => {
      assert.deepStrictEqual(fields('a\n\n   \n""\nb\n'), [['a'], [''], ['b']]);
    });

    it('keeps a quote inside an unquoted field as text', () => {
      assert.deepStrictEqual(fields('5" screen,x\n'), [['5" screen', 'x']]);
    });

    it('gives the same records however the text is cut into chunks', () => {
      const text = 'id,"na,me",x\r\n1,"a ""b""\r\nc",\r\n2,plain,"q"\r\n\r\n3,"",z\r\n4,x"y,\n';
      const whole = parseCsvText(text);
      for (let cut = 0; cut <= text.length; cut++) {
        for (const second of [cut, cut + 1, cut + 3]) {
          const out: { fields: string[]; line: number }[] = [];
          const p = new CsvParser(',', r => out.push(r), (line, m) => { throw new Error(`${line}: ${m}`); });
          p.push(text.slice(0, cut));
          p.push(text.slice(cut, second));
          p.push(text.slice(second));
          p.end();
          assert.deepStrictEqual(out, whole, `cut at ${cut}/${second}`);
        }
      }
    });

    it('supports other delimiters', () => {
      assert.deepStrictEqual(fields('a;b\n"x;y";z\n', ';'), [['a', 'b'], ['x;y', 'z']]);
      assert.deepStrictEqual(fields('a\tb\nx\ty\n', '\t'), [['a', 'b'], ['x', 'y']]);
    });

    it('refuses text after a closing quote and an unterminated quote, with their lines', () => {
      assert.throws(() => parseCsvText('a,b\n"x"y,z\n'), /line 2: field 1 has text after its closing quote/);
      assert.throws(() => parseCsvText('a,b\nok,1\n"open,2\nmore,3\n'), /line 3: a quoted field starts here and is never closed/);
    });

    it('stops a runaway quoted field at the record size limit, naming where the quote started', () => {
      const p = new CsvParser(',', () => undefined, (line, m) => { throw new Error(`line ${line}: ${m}`); }, 100);
      p.push('a,b\nx,"never closed ');
      assert.throws(() => p.push('y'.repeat(200)), /line 2: .*longer than .*unterminated quote that starts on line 2/);
    });
  });

  describe('text classification', () => {
    it('loads a CSV with a BOM, CRLF, quoted commas, doubled quotes and a quoted line break', async () => {
      const d = await loadCsv({ path: 'reviews.csv', textColumn: 'text', validationSplit: 0 });
      assert.strictEqual(d.task, 'classification');
      assert.strictEqual(d.train.count, 8);
      assert.deepStrictEqual(d.labelNames, ['neg', 'pos']);
      assert.strictEqual(d.inputDtype, 'int32');
      assert.deepStrictEqual(d.inputShape, [100]);
      assert.ok(d.train.x instanceof Int32Array && d.train.y instanceof Int32Array);
      // The BOM did not leak into the first column name (else 'text' would not be found) nor into words.
      assert.ok(d.vocabulary!.includes('twist') && d.vocabulary!.includes('caf\u00e9') && d.vocabulary!.includes("don't"));
      assert.ok(!d.vocabulary!.some(w => w.includes('\ufeff') || w.includes('"')));
      assert.match(d.description, /reviews\.csv: 8 texts, 2 classes \(neg, pos\)/);
    });
  });

  describe('numeric tables', () => {
    it('uses every column but the label as a feature by default', async () => {
      const d = await loadCsv({ path: 'iris-sample.csv', labelColumn: 'species', validationSplit: 0.2 });
      assert.deepStrictEqual(d.inputShape, [4]);
      assert.strictEqual(d.inputDtype, 'float32');
      assert.deepStrictEqual(d.labelNames, ['setosa', 'versicolor', 'virginica']);
      assert.strictEqual(d.train.count, 12);
      assert.strictEqual(d.validation.count, 3);
      // Shuffled, but every row arrives intact with its label.
      const rows = new Set<string>();
      for (const s of [d.train, d.validation]) {
        for (let i = 0; i < s.count; i++) rows.add(`${Array.from(s.x.subarray(i * 4, i * 4 + 4), v => v.toFixed(1))}|${d.labelNames![s.y[i]]}`);
      }
      assert.ok(rows.has('5.1,3.5,1.4,0.2|setosa'));
      assert.ok(rows.has('6.5,3.0,5.8,2.2|virginica'));
      assert.strictEqual(rows.size, 15);
    });

    it('uses featureColumns when given, in their order', async () => {
      const d = await loadCsv({
        path: 'iris-sample.csv', labelColumn: 'species', featureColumns: ['petal_width', 'sepal_length'], validationSplit: 0,
      });
      assert.deepStrictEqual(d.inputShape, [2]);
      const pairs = new Set<string>();
      for (let i = 0; i < d.train.count; i++) pairs.add(Array.from(d.train.x.subarray(2 * i, 2 * i + 2), v => v.toFixed(1)).join(','));
      assert.ok(pairs.has('0.2,5.1'));
    });

    it('sorts numeric classes numerically and treats many non-integer values as regression', async () => {
      const ints = ws({ 'a.csv': 'x,label\n1,10\n2,9\n3,2\n4,10\n' });
      const a = await loadCsv({ path: 'a.csv', validationSplit: 0 }, ints.ctx);
      assert.deepStrictEqual(a.labelNames, ['2', '9', '10']);
      const rows = Array.from({ length: 30 }, (_, i) => `${i},${(i * 1.37).toFixed(2)}`).join('\n');
      const reg = ws({ 'r.csv': `x,label\n${rows}\n` });
      const r = await loadCsv({ path: 'r.csv' }, reg.ctx);
      assert.strictEqual(r.task, 'regression');
      assert.strictEqual(r.targetSize, 1);
      assert.ok(r.train.y instanceof Float32Array);
      // 30 distinct integers stay classes.
      const many = ws({ 'c.csv': `x,label\n${Array.from({ length: 30 }, (_, i) => `${i},${i}`).join('\n')}\n` });
      assert.strictEqual((await loadCsv({ path: 'c.csv' }, many.ctx)).numClasses, 30);
    });

    it('samples maxExamples rows at random from the whole file, so a file sorted by class stays mixed', async () => {
      const rows = [...Array.from({ length: 500 }, (_, i) => `${i},a`), ...Array.from({ length: 500 }, (_, i) => `${i},b`)];
      const w = ws({ 'sorted.csv': `x,label\n${rows.join('\n')}\n` });
      const d = await loadCsv({ path: 'sorted.csv', maxExamples: 100, validationSplit: 0 }, w.ctx);
      assert.strictEqual(d.train.count, 100);
      assert.deepStrictEqual(d.labelNames, ['a', 'b']);
      const bs = Array.from(d.train.y).filter(y => y === 1).length;
      assert.ok(bs > 25 && bs < 75, `${bs} of class b`);
      assert.match(d.description, /a random 100 of 1000 rows/);
      const again = await loadCsv({ path: 'sorted.csv', maxExamples: 100, validationSplit: 0 }, w.ctx);
      assert.deepStrictEqual(again.train.x, d.train.x, 'deterministic for a seed');
    });
  });

  describe('errors name the file and the line', () => {
    it('missing file: says where it looked and what is there', async () => {
      const err = await expectError(loadCsv({ path: 'reviewz.csv', textColumn: 'text' }), {
        jsonPath: ['data', 'path'], message: [/data\.path 'reviewz\.csv' not found/, /looked in .*reviewz\.csv/, /reviews\.csv/],
      });
      assert.ok(err.message.includes(FIXTURES));
    });

    it('empty file', async () => {
      await expectError(loadCsv({ path: 'bad/empty.csv', textColumn: 'text' }), {
        file: 'bad/empty.csv', message: [/is empty/, /header row/],
      });
    });

    it('header only', async () => {
      await expectError(loadCsv({ path: 'bad/header-only.csv', textColumn: 'text' }), {
        file: 'bad/header-only.csv', line: 1, message: [/no examples/],
      });
    });

    it('header without the label column lists the columns', async () => {
      await expectError(loadCsv({ path: 'bad/no-label.csv', textColumn: 'review' }), {
        file: 'bad/no-label.csv', line: 1, jsonPath: ['data', 'labelColumn'],
        message: [/no column 'label'/, /Columns: 'review', 'sentiment'/],
      });
    });

    it('header without the text column, with a did-you-mean', async () => {
      await expectError(loadCsv({ path: 'bad/no-label.csv', labelColumn: 'sentiment', textColumn: 'Review' }), {
        file: 'bad/no-label.csv', line: 1, jsonPath: ['data', 'textColumn'], message: [/no column 'Review'/, /Did you mean 'review'/],
      });
    });

    it('a single-column header suggests the delimiter', async () => {
      await expectError(loadCsv({ path: 'bad/semicolons.csv', textColumn: 'text' }), {
        file: 'bad/semicolons.csv', line: 1, message: [/is the delimiter ';'\? Set data\.delimiter/],
      });
      const d = await loadCsv({ path: 'bad/semicolons.csv', textColumn: 'text', delimiter: ';', validationSplit: 0 }).catch(e => e);
      assert.match(String(d.message), /single value 'pos'/, 'with the right delimiter it gets to the labels');
    });

    it('ragged row', async () => {
      await expectError(loadCsv({ path: 'bad/ragged.csv', textColumn: 'text' }), {
        file: 'bad/ragged.csv', line: 4, jsonPath: ['data', 'path'],
        message: [/has 3 fields but the header \(line 1\) has 2/, /double quotes/],
      });
    });

    it('mixed label kinds name a line of each', async () => {
      await expectError(loadCsv({ path: 'bad/mixed-labels.csv', textColumn: 'text' }), {
        file: 'bad/mixed-labels.csv', line: 5, jsonPath: ['data', 'labelColumn'],
        message: [/label "spam" in column 'label' is text, but line 2 has 1, a number/],
      });
    });

    it('a non-numeric cell names the line and the column', async () => {
      await expectError(loadCsv({ path: 'bad/not-numeric.csv', labelColumn: 'y' }), {
        file: 'bad/not-numeric.csv', line: 4, message: [/column 'x2' is 'n\/a', not a number/, /featureColumns/],
      });
    });

    it('an empty label cell', async () => {
      const w = ws({ 'e.csv': 'text,label\na,pos\nb,\n' });
      await expectError(loadCsv({ path: 'e.csv', textColumn: 'text' }, w.ctx), {
        file: 'e.csv', line: 3, message: [/label .* is empty/],
      });
    });

    it('binary garbage', async () => {
      await expectError(loadCsv({ path: 'bad/binary.csv', textColumn: 'text' }), {
        file: 'bad/binary.csv', line: 2, message: [/does not look like a text file/, /NUL byte/],
      });
    });

    it('invalid UTF-8 at the start (a Latin-1 file)', async () => {
      await expectError(loadCsv({ path: 'bad/latin1.csv', textColumn: 'text' }), {
        file: 'bad/latin1.csv', line: 2, message: [/does not look like a text file/, /not valid UTF-8/, /re-save it as UTF-8/],
      });
    });

    it('invalid UTF-8 far into the file names its line', async () => {
      const good = Array.from({ length: 5000 }, (_, i) => `text number ${i},pos`).join('\n');
      const w = ws({ 'late.csv': Buffer.concat([Buffer.from(`text,label\n${good}\n`), Buffer.from([0x63, 0xe9, 0x2c, 0x6e, 0x0a])]) });
      await expectError(loadCsv({ path: 'late.csv', textColumn: 'text' }, w.ctx), {
        file: 'late.csv', line: 5002, message: [/not valid UTF-8/],
      });
    });

    it('unterminated quote names the line where it started', async () => {
      await expectError(loadCsv({ path: 'bad/unterminated.csv', textColumn: 'text' }), {
        file: 'bad/unterminated.csv', line: 3, message: [/quoted field starts here and is never closed/],
      });
    });

    it('text after a closing quote', async () => {
      await expectError(loadCsv({ path: 'bad/text-after-quote.csv', textColumn: 'text' }), {
        file: 'bad/text-after-quote.csv', line: 2, message: [/text after its closing quote/, /two quotes/],
      });
    });

    it('a gzip file is named as such', async () => {
      const w = ws({ 'data.csv': Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]) });
      await expectError(loadCsv({ path: 'data.csv', textColumn: 'text' }, w.ctx), { file: 'data.csv', message: [/gzip/] });
    });

    it('a single class is refused: nothing to learn', async () => {
      const w = ws({ 'one.csv': 'text,label\na,pos\nb,pos\n' });
      await expectError(loadCsv({ path: 'one.csv', textColumn: 'text' }, w.ctx), {
        file: 'one.csv', jsonPath: ['data', 'labelColumn'], message: [/single value 'pos'/],
      });
    });

    it('options are checked before reading', async () => {
      await expectError(loadCsv({ path: 'reviews.csv', textColumn: 'text', delimiter: ';;' }), {
        jsonPath: ['data', 'delimiter'], message: [/one character/],
      });
      await expectError(loadCsv({ path: 'iris-sample.csv', labelColumn: 'species', featureColumns: ['species'] }), {
        jsonPath: ['data', 'featureColumns', 0], message: [/includes the label column/],
      });
      await expectError(loadCsv({ path: 'reviews.csv', textColumn: 'text', featureColumns: ['x'] }), {
        jsonPath: ['data', 'featureColumns'], message: [/either data\.textColumn .* or data\.featureColumns/],
      });
      await expectError(loadCsv({ path: 'reviews.csv', textColumn: 'text', sequenceLength: 0 }), {
        jsonPath: ['data', 'sequenceLength'], message: [/integer ≥ 1/],
      });
    });
  });
});
