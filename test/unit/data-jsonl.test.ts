// JSON Lines: text and numeric records, blank lines, and errors that name the file, the line and the field.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadDataset, DataError, Dataset } from '../../src/engine/data';
import type { JsonlDataConfig } from '../../src/config/types';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/data');
const fixtureCtx = { configDir: FIXTURES, workspaceRoot: FIXTURES, seed: 5 };

function loadJsonl(config: Partial<JsonlDataConfig>, ctx = fixtureCtx): Promise<Dataset> {
  return loadDataset({ source: 'jsonl', labelColumn: 'label', ...config } as JsonlDataConfig, ctx);
}

async function expectError(promise: Promise<unknown>, file: string, line: number | undefined, ...patterns: RegExp[]): Promise<DataError> {
  const err = await promise.then(() => undefined, e => e);
  assert.ok(err instanceof DataError, `expected a DataError, got ${err}`);
  assert.strictEqual(err.file, file);
  assert.ok(err.message.startsWith(file), err.message);
  assert.strictEqual(err.line, line, err.message);
  if (line !== undefined) assert.ok(err.message.includes(`line ${line}:`), err.message);
  for (const p of patterns) assert.match(err.message, p);
  return err;
}

describe('data: JSONL', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-jsonl-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tempCtx = () => ({ configDir: dir, workspaceRoot: dir, seed: 5 });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

  it('loads text records, skipping blank lines', async () => {
    const d = await loadJsonl({ path: 'reviews.jsonl', textColumn: 'text', validationSplit: 0 });
    assert.strictEqual(d.train.count, 8);
    assert.deepStrictEqual(d.labelNames, ['neg', 'pos']);
    assert.ok(d.vocabulary!.includes('twist'));
  });

  it('gives the same vocabulary as the same data in CSV', async () => {
    const j = await loadJsonl({ path: 'reviews.jsonl', textColumn: 'text', validationSplit: 0 });
    const c = await loadDataset({ source: 'csv', path: 'reviews.csv', textColumn: 'text', labelColumn: 'label', validationSplit: 0 }, fixtureCtx);
    assert.deepStrictEqual(j.vocabulary, c.vocabulary);
  });

  it('loads numeric records: default features are the first object\'s fields but the label', async () => {
    const d = await loadJsonl({ path: 'houses.jsonl', labelColumn: 'price' });
    assert.strictEqual(d.task, 'regression');
    assert.deepStrictEqual(d.inputShape, [2]);
    assert.strictEqual(d.train.count + d.validation.count, 30);
    assert.strictEqual(d.validation.count, 3);
    assert.match(d.description, /30 rows × 2 features \(area, rooms\), regression on 'price'/);
  });

  it('handles CRLF line ends and a last line without a newline', async () => {
    write('crlf.jsonl', '{"x":1,"label":"a"}\r\n{"x":2,"label":"b"}\r\n\r\n{"x":3,"label":"a"}');
    const d = await loadJsonl({ path: 'crlf.jsonl', validationSplit: 0 }, tempCtx());
    assert.strictEqual(d.train.count, 3);
  });

  it('a broken line names the line and the JSON parse error', async () => {
    await expectError(loadJsonl({ path: 'bad/broken.jsonl', textColumn: 'text' }), 'bad/broken.jsonl', 3,
      /is not valid JSON \(.+\)/, /one complete JSON object/);
  });

  it('a line that is not an object', async () => {
    await expectError(loadJsonl({ path: 'bad/not-object.jsonl', textColumn: 'text' }), 'bad/not-object.jsonl', 2,
      /holds an array, not a JSON object/);
  });

  it('a missing field names the line and the field, and lists the fields there', async () => {
    const err = await expectError(loadJsonl({ path: 'bad/missing-field.jsonl', textColumn: 'text' }), 'bad/missing-field.jsonl', 3,
      /has no field 'text'/, /Its fields: 'txt', 'label'/);
    assert.deepStrictEqual(err.jsonPath, ['data', 'textColumn']);
  });

  it('a text field that is not a string, a label that is null', async () => {
    write('types.jsonl', '{"text":"ok","label":"a"}\n{"text":42,"label":"b"}\n');
    await expectError(loadJsonl({ path: 'types.jsonl', textColumn: 'text' }, tempCtx()), 'types.jsonl', 2,
      /field 'text' holds the number 42; the text field must be a string/);
    write('nulls.jsonl', '{"text":"ok","label":"a"}\n{"text":"ok","label":null}\n');
    await expectError(loadJsonl({ path: 'nulls.jsonl', textColumn: 'text' }, tempCtx()), 'nulls.jsonl', 2,
      /field 'label' holds null/);
  });

  it('mixed label kinds: the string "1" and the number 1 are not silently two classes', async () => {
    write('mixed.jsonl', '{"x":1,"label":1}\n{"x":2,"label":0}\n{"x":3,"label":"1"}\n');
    await expectError(loadJsonl({ path: 'mixed.jsonl' }, tempCtx()), 'mixed.jsonl', 3, /is text, but line 1 has 1, a number/);
  });

  it('a non-numeric feature names the line and the field', async () => {
    write('feat.jsonl', '{"a":1,"b":2,"label":"x"}\n{"a":1,"b":"2","label":"y"}\n');
    await expectError(loadJsonl({ path: 'feat.jsonl' }, tempCtx()), 'feat.jsonl', 2,
      /field 'b' holds a string "2"; numeric features must be JSON numbers/, /featureColumns/);
  });

  it('a pretty-printed JSON file is recognised', async () => {
    write('pretty.jsonl', '[\n  {"text": "a", "label": "x"}\n]\n');
    await expectError(loadJsonl({ path: 'pretty.jsonl', textColumn: 'text' }, tempCtx()), 'pretty.jsonl', 1,
      /looks like pretty-printed JSON/);
  });

  it('an empty file and a file of blank lines', async () => {
    write('empty.jsonl', '');
    await expectError(loadJsonl({ path: 'empty.jsonl', textColumn: 'text' }, tempCtx()), 'empty.jsonl', undefined, /is empty/);
    write('blank.jsonl', '\n\n  \n');
    await expectError(loadJsonl({ path: 'blank.jsonl', textColumn: 'text' }, tempCtx()), 'blank.jsonl', undefined, /no JSON objects/);
  });
});
