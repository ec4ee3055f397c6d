// Fuzzing the data loaders: generated CSV, JSONL and IDX files with one known defect each, random mutations
// of the valid fixtures, multi-GB sparse files and paths that try to leave the workspace. Every outcome is
// a well-formed dataset or a DataError naming the file (and the line, where there is one): never another
// exception, a hang or a read of the whole of a huge file. Knobs: GRADMON_FUZZ_RUNS, GRADMON_FUZZ_SEED.

import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CsvDataConfig, DataConfig, IdxDataConfig, JsonlDataConfig } from '../../src/config/types';
import type { JsonPath } from '../../src/protocol';
import { CsvParser, DataError, encodeIdx, isInside, loadDataset, resolveDataFile, type Dataset } from '../../src/engine/data';
import type { CsvRecord } from '../../src/engine/data/csv';
import { DATA_LIMITS } from '../../src/engine/data/defaults';
import { editorLineCount, fuzzParams, safeStringify, Tally, timedAsync } from './helpers/fuzz';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'data');
/** A small file loads or fails within this; the huge ones are refused before reading, so they must too. */
const LOAD_MS = 2000;

const tally = new Tally();

let base: string;
let ws: string;
let outside: string;
let fileCounter = 0;

function ctx(extra: object = {}) {
  return { configDir: ws, workspaceRoot: ws, seed: 11, ...extra };
}

/** Writes a fresh file into the workspace (names never repeat, so no case sees another's file). */
function put(ext: string, content: string | Buffer): string {
  const name = `f${fileCounter++}${ext}`;
  fs.writeFileSync(path.join(ws, name), content);
  return name;
}

type Outcome = { dataset: Dataset; error?: undefined } | { dataset?: undefined; error: DataError };

/** Loads, time-boxed; anything but a Dataset or a DataError fails the property. */
async function load(config: DataConfig, extra: object = {}): Promise<Outcome> {
  const r = await timedAsync(() => loadDataset(config, ctx(extra)));
  assert.ok(r.ms < LOAD_MS, `loading took ${r.ms.toFixed(0)} ms`);
  if (r.error === undefined) {
    assertWellFormedDataset(r.value!);
    return { dataset: r.value! };
  }
  if (!(r.error instanceof DataError)) throw new Error(`not a DataError: ${(r.error as Error)?.stack ?? String(r.error)}`);
  const e = r.error;
  assert.ok(e.message.trim().length > 0);
  assert.ok(Array.isArray(e.jsonPath) && e.jsonPath[0] === 'data', `jsonPath ${safeStringify(e.jsonPath)}`);
  assert.ok(!e.message.includes('[object Object]'), `message shows an object: ${e.message}`);
  return { error: e };
}

function assertWellFormedDataset(d: Dataset): void {
  const size = d.inputShape.reduce((a, b) => a * b, 1);
  assert.ok(d.inputShape.length > 0 && d.inputShape.every(n => Number.isInteger(n) && n >= 1), `inputShape ${safeStringify(d.inputShape)}`);
  assert.ok(d.train.count >= 1, 'no training examples');
  for (const split of [d.train, d.validation]) {
    assert.strictEqual(split.x.length, split.count * size);
    assert.strictEqual(split.y.length, split.count * (d.task === 'regression' ? d.targetSize ?? 1 : 1));
    for (let i = 0; i < split.x.length; i++) assert.ok(Number.isFinite(split.x[i]), `input value ${split.x[i]} at ${i}`);
    if (d.task === 'classification') {
      for (let i = 0; i < split.y.length; i++) assert.ok(Number.isInteger(split.y[i]) && split.y[i] >= 0 && split.y[i] < d.numClasses!, `label ${split.y[i]} of ${d.numClasses}`);
    } else {
      for (let i = 0; i < split.y.length; i++) assert.ok(Number.isFinite(split.y[i]), `target ${split.y[i]}`);
    }
  }
  if (d.task === 'classification') assert.ok(d.numClasses! >= 2 && d.labelNames?.length === d.numClasses);
  assert.ok(d.description.length > 0);
}

/** The error names the file, and the line when it is about one (never a line past the end). */
function assertNamesFile(error: DataError, display: string, content: string | Buffer): void {
  assert.strictEqual(error.file, display, `error names ${error.file}, not ${display}: ${error.message}`);
  assert.ok(error.message.includes(display), `message does not name ${display}: ${error.message}`);
  // "undefined" in a message is a missing value printed, unless the file itself says it (quoted back).
  if (!content.includes('undefined')) assert.ok(!/\bundefined\b/.test(error.message), `message shows undefined: ${error.message}`);
  if (error.line !== undefined) {
    const lines = editorLineCount(typeof content === 'string' ? content : content.toString('latin1'));
    assert.ok(Number.isInteger(error.line) && error.line >= 1 && error.line <= lines + 1, `line ${error.line} of ${lines}: ${error.message}`);
    assert.ok(error.message.includes(`line ${error.line}`), `message does not say line ${error.line}: ${error.message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// CSV: a table model (header, rows, one kind of label), rendered in one style, with at most one defect
// whose line is known.

const LABEL_SETS: { kind: string; values: string[] }[] = [
  { kind: 'text', values: ['spam', 'ham', 'maybe', 'pos', 'neg'] },
  { kind: 'number', values: ['0', '1', '2', '3', '-1', '4.5'] },
  { kind: 'text', values: ['ünï', '日本', 'a b', 'x,y', 'q"q', 'multi\nline'] },
];
const WORDS = ['hello', 'world', "don't", 'Émile', '日本語', '🚀', 'a,b', 'say "hi"', 'two\nlines', '', ' padded ', 'x;y', 'tab\there', 'back\\slash'];
const NUMBERS = ['1', '-2.5', '1e3', ' 3 ', '.5', '+1', '007', '0', '6.02e-23', '-0'];
const COLUMN_NAMES = ['text', 'label', 'x1', 'x2', 'feature three', 'é', 'constructor', '__proto__', 'toString', 'a,b', 'q"q', 'Label'];

type CsvDefect =
  | 'none' | 'ragged-short' | 'ragged-long' | 'empty-label' | 'mixed-label' | 'missing-label-column' | 'not-numeric'
  | 'unterminated-quote' | 'text-after-quote' | 'nul' | 'invalid-utf8' | 'single-class' | 'header-only' | 'blank-only' | 'empty';

interface CsvCase {
  mode: 'text' | 'numeric';
  columns: string[];
  labelIndex: number;
  textIndex: number;
  labels: { kind: string; values: string[] };
  rows: { label: number; cells: number[] }[];
  delimiter: string;
  eol: string;
  bom: boolean;
  quoteAll: boolean;
  finalEol: boolean;
  defect: CsvDefect;
  defectRow: number;
  maxExamples?: number;
}

const csvCaseArb: fc.Arbitrary<CsvCase> = fc.record({
  mode: fc.constantFrom('text' as const, 'numeric' as const),
  columns: fc.uniqueArray(fc.oneof(fc.constantFrom(...COLUMN_NAMES), fc.string({ minLength: 1, maxLength: 6 }).filter(s => s.trim() === s && s !== '')), { minLength: 2, maxLength: 5 }),
  labelPick: fc.nat(),
  textPick: fc.nat(),
  labels: fc.constantFrom(...LABEL_SETS),
  rows: fc.array(fc.record({ label: fc.nat({ max: 4 }), cells: fc.array(fc.nat({ max: 100 }), { minLength: 5, maxLength: 5 }) }), { minLength: 2, maxLength: 25 }),
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  eol: fc.constantFrom('\n', '\r\n', '\r'),
  bom: fc.boolean(),
  quoteAll: fc.boolean(),
  finalEol: fc.boolean(),
  defect: fc.constantFrom<CsvDefect>('none', 'none', 'ragged-short', 'ragged-long', 'empty-label', 'mixed-label', 'missing-label-column', 'not-numeric',
    'unterminated-quote', 'text-after-quote', 'nul', 'invalid-utf8', 'single-class', 'header-only', 'blank-only', 'empty'),
  defectPick: fc.nat(),
  maxExamples: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
}).map(r => {
  const labelIndex = r.labelPick % r.columns.length;
  let textIndex = r.textPick % r.columns.length;
  if (textIndex === labelIndex) textIndex = (textIndex + 1) % r.columns.length;
  // Two classes at least, from the first two rows on, so that a defect-free file has something to learn.
  const rows = r.rows.map((row, i) => ({ ...row, label: i < 2 ? i : row.label }));
  const defectRow = r.defect === 'mixed-label' ? 1 + (r.defectPick % (rows.length - 1)) : r.defectPick % rows.length;
  return { ...r, labelIndex, textIndex, rows, defectRow };
});

interface Rendered { text: string; bytes: Buffer; expectedLine?: number; headerLine: number }

function quoteCsv(cell: string, c: CsvCase): string {
  const needs = c.quoteAll || cell.includes(c.delimiter) || /["\r\n]/.test(cell);
  return needs ? `"${cell.replace(/"/g, '""')}"` : cell;
}

function renderCsv(c: CsvCase): Rendered {
  const eol = (s: string) => s.replace(/\r\n|\r|\n/g, c.eol);
  const lines: string[] = [];
  let line = 1;
  let expectedLine: number | undefined;
  const headerLine = 1;
  const header = c.columns.map(h => quoteCsv(eol(h), c)).join(c.delimiter);
  const labelOf = (row: { label: number }) => c.labels.values[c.defect === 'single-class' ? 0 : row.label % c.labels.values.length];
  const otherKind = c.labels.kind === 'number' ? 'spam' : '7';
  const records: string[] = [];
  c.rows.forEach((row, r) => {
    const here = r === c.defectRow;
    let fields = c.columns.map((_, k) => {
      if (k === c.labelIndex) {
        if (here && c.defect === 'empty-label') return c.quoteAll ? '""' : '';
        if (here && c.defect === 'mixed-label') return quoteCsv(otherKind, c);
        return quoteCsv(eol(labelOf(row)), c);
      }
      if (c.mode === 'text' && k === c.textIndex) return quoteCsv(eol(WORDS[row.cells[k] % WORDS.length] + ' ' + WORDS[row.cells[(k + 1) % 5] % WORDS.length]), c);
      if (c.mode === 'text') return quoteCsv(String(row.cells[k]), c);
      if (here && c.defect === 'not-numeric' && k === (c.labelIndex + 1) % c.columns.length) return quoteCsv('abc', c);
      return quoteCsv(NUMBERS[row.cells[k] % NUMBERS.length], c);
    });
    if (here && c.defect === 'ragged-short') fields = fields.slice(0, -1);
    if (here && c.defect === 'ragged-long') fields = [...fields, '1'];
    if (here && c.defect === 'text-after-quote') fields[fields.length - 1] = '"abc"x';
    let record = fields.join(c.delimiter);
    if (here && c.defect === 'nul') record = '\u0000' + record;
    records.push(record);
  });
  // Lines: the header, then each record, counted as an editor counts them (quoted line breaks included).
  lines.push(header);
  line += editorLineCount(header) - 1;
  const recordLines: number[] = [];
  for (const rec of records) {
    line++;
    recordLines.push(line);
    lines.push(rec);
    line += editorLineCount(rec) - 1;
  }
  const first = recordLines[c.defectRow];
  switch (c.defect) {
    case 'ragged-short': case 'ragged-long': case 'empty-label': case 'mixed-label': case 'not-numeric': case 'nul': case 'invalid-utf8':
      expectedLine = first;
      break;
    case 'text-after-quote':
      expectedLine = first + editorLineCount(records[c.defectRow]) - 1;
      break;
    case 'missing-label-column':
      expectedLine = headerLine;
      break;
  }
  let text: string;
  if (c.defect === 'empty') text = '';
  else if (c.defect === 'blank-only') text = `  ${c.eol}${c.eol} ${c.eol}`;
  else if (c.defect === 'header-only') text = header + (c.finalEol ? c.eol : '');
  else {
    let body = lines.join(c.eol) + (c.finalEol ? c.eol : '');
    if (c.defect === 'unterminated-quote') {
      // On the last record, so nothing after it can close the quote by accident.
      const last = records.length - 1;
      expectedLine = recordLines[last] + editorLineCount(records[last]) - 1;
      body = lines.slice(0, -1).join(c.eol) + c.eol + records[last] + c.delimiter + '"never closed' + c.eol + 'more';
    }
    text = body;
  }
  let bytes = Buffer.from((c.bom ? '\uFEFF' : '') + text, 'utf8');
  if (c.defect === 'invalid-utf8') {
    // A lone 0xff at the start of the defect row (the nul defect wrote U+0000 there already).
    const at = Buffer.byteLength((c.bom ? '\uFEFF' : '') + lines.slice(0, c.defectRow + 1).join(c.eol) + c.eol, 'utf8');
    bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at)]);
  }
  return { text, bytes, expectedLine, headerLine };
}

function csvConfig(c: CsvCase, file: string): CsvDataConfig {
  const label = c.defect === 'missing-label-column' ? 'no such column' : c.columns[c.labelIndex];
  return {
    source: 'csv', path: file, delimiter: c.delimiter, labelColumn: label,
    ...(c.mode === 'text' ? { textColumn: c.columns[c.textIndex], sequenceLength: 8, vocabularySize: 50 } : {}),
    ...(c.maxExamples !== undefined ? { maxExamples: c.maxExamples } : {}),
  };
}

const CSV_EXPECTATIONS: Partial<Record<CsvDefect, RegExp>> = {
  'ragged-short': /fields? but the header/, 'ragged-long': /fields? but the header/, 'empty-label': /is empty/,
  'mixed-label': /must hold one kind of value/, 'missing-label-column': /has no column/, 'not-numeric': /not a number/,
  'unterminated-quote': /never closed/, 'text-after-quote': /text after its closing quote/, 'nul': /NUL byte/,
  'invalid-utf8': /UTF-8/, 'single-class': /single value/, 'header-only': /only row/, 'blank-only': /no header row/,
  // With a BOM, an "empty" file is 3 bytes: no header row.
  'empty': /is empty|no header row/,
};

// ---------------------------------------------------------------------------------------------------------
// JSONL: objects per line (text or numeric features), blank lines between, one defect on a known line.

type JsonlDefect = 'none' | 'broken-json' | 'not-object' | 'missing-label' | 'label-type' | 'mixed-label' | 'text-not-string'
  | 'feature-not-number' | 'nul' | 'invalid-utf8' | 'pretty-printed' | 'empty' | 'blank-only' | 'inherited-key';

interface JsonlCase {
  mode: 'text' | 'numeric';
  labelKey: string;
  labels: unknown[];
  rows: { label: number; word: number; x: number[]; blankBefore: boolean }[];
  crlf: boolean;
  bom: boolean;
  defect: JsonlDefect;
  defectPick: number;
  cut: number;
  garbage: string;
}

const jsonlCaseArb: fc.Arbitrary<JsonlCase> = fc.record({
  mode: fc.constantFrom('text' as const, 'numeric' as const),
  labelKey: fc.constantFrom('label', 'y', 'class name', 'é'),
  labels: fc.constantFrom<unknown[]>(['spam', 'ham', 'other'], [0, 1, 2], [true, false], [1.5, 2.5, -3, 0, 1]),
  rows: fc.array(fc.record({ label: fc.nat({ max: 4 }), word: fc.nat({ max: 100 }), x: fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 3, maxLength: 3 }), blankBefore: fc.boolean() }), { minLength: 2, maxLength: 25 }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  defect: fc.constantFrom<JsonlDefect>('none', 'none', 'broken-json', 'not-object', 'missing-label', 'label-type', 'mixed-label', 'text-not-string',
    'feature-not-number', 'nul', 'invalid-utf8', 'pretty-printed', 'empty', 'blank-only', 'inherited-key'),
  defectPick: fc.nat(),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
  garbage: fc.constantFrom('}', '{', ',', "'", 'NaN', 'undefined', '\u0001', '"'),
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function renderJsonl(c: JsonlCase): { bytes: Buffer; expectedLine?: number; config: (file: string) => JsonlDataConfig } {
  const eol = c.crlf ? '\r\n' : '\n';
  const lines: string[] = [];
  const defectRow = c.defect === 'mixed-label' ? 1 + (c.defectPick % (c.rows.length - 1)) : c.defectPick % c.rows.length;
  let expectedLine: number | undefined;
  c.rows.forEach((row, r) => {
    if (row.blankBefore) lines.push(r % 2 ? '' : '   ');
    const label = c.labels[r < 2 ? r : row.label % c.labels.length];
    let obj: Record<string, unknown> = c.mode === 'text'
      ? { text: WORDS[row.word % WORDS.length], [c.labelKey]: label }
      : { a: row.x[0], b: row.x[1], c: row.x[2], [c.labelKey]: label };
    let line: string | undefined;
    if (r === defectRow) {
      switch (c.defect) {
        case 'broken-json': {
          const s = JSON.stringify(obj);
          line = s.slice(0, Math.max(1, Math.floor(c.cut * (s.length - 1)))) + c.garbage;
          if (isJson(line)) line += ' x';
          break;
        }
        case 'not-object': line = ['[1, 2]', '3', '"x"', 'null', 'true'][row.word % 5]; break;
        case 'missing-label': delete obj[c.labelKey]; break;
        case 'label-type': obj[c.labelKey] = [{}, [], null, ''][row.word % 4]; break;
        case 'mixed-label': obj[c.labelKey] = typeof label === 'string' ? 7 : 'seven'; break;
        case 'text-not-string': if (c.mode === 'text') obj.text = 5; break;
        case 'feature-not-number': if (c.mode === 'numeric') obj.b = ['3', null, true, {}][row.word % 4]; break;
      }
      expectedLine = lines.length + 1;
    }
    lines.push(line ?? JSON.stringify(obj));
  });
  let body = lines.join(eol) + eol;
  const applies = !((c.defect === 'text-not-string' && c.mode !== 'text') || (c.defect === 'feature-not-number' && c.mode !== 'numeric'));
  if (!applies || ['none', 'inherited-key', 'empty', 'blank-only'].includes(c.defect)) expectedLine = undefined;
  if (c.defect === 'pretty-printed') { body = JSON.stringify(c.rows.map(r => ({ text: 'x', [c.labelKey]: r.label })), null, 2); expectedLine = 1; }
  if (c.defect === 'empty') body = '';
  if (c.defect === 'blank-only') body = `${eol}  ${eol}\t${eol}`;
  let bytes = Buffer.from((c.bom ? '\uFEFF' : '') + body, 'utf8');
  if ((c.defect === 'nul' || c.defect === 'invalid-utf8') && expectedLine !== undefined) {
    const at = Buffer.byteLength((c.bom ? '\uFEFF' : '') + lines.slice(0, expectedLine - 1).join(eol) + (expectedLine > 1 ? eol : ''), 'utf8');
    bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([c.defect === 'nul' ? 0x00 : 0xff]), bytes.subarray(at)]);
  }
  // A label key Object.prototype has ("constructor"…): the objects lack it, so it is missing on line 1.
  const labelColumn = c.defect === 'inherited-key' ? ['constructor', 'toString', '__proto__', 'hasOwnProperty'][c.defectPick % 4] : c.labelKey;
  if (c.defect === 'inherited-key') expectedLine = lines.findIndex(l => l.trim() !== '') + 1;
  return {
    bytes, expectedLine,
    config: file => ({ source: 'jsonl', path: file, labelColumn, ...(c.mode === 'text' ? { textColumn: 'text', sequenceLength: 6 } : {}) }),
  };
}

const JSONL_EXPECTATIONS: Partial<Record<JsonlDefect, RegExp>> = {
  'broken-json': /not valid JSON/, 'not-object': /not a JSON object/, 'missing-label': /has no field/, 'label-type': /a label must be|label .* is empty/,
  'mixed-label': /must hold one kind of value/, 'text-not-string': /must be a string/, 'feature-not-number': /must be JSON numbers/,
  'nul': /NUL byte/, 'invalid-utf8': /UTF-8/, 'pretty-printed': /pretty-printed/, 'empty': /is empty|no JSON objects/, 'blank-only': /no JSON objects/,
  'inherited-key': /has no field/,
};

// ---------------------------------------------------------------------------------------------------------
// IDX: valid image/label pairs of every element type, then one damage to one of the two files.

const IDX_TYPES = ['ubyte', 'byte', 'short', 'int', 'float', 'double'] as const;
type IdxDefect = 'none' | 'wrong-magic' | 'gzip' | 'bad-type' | 'zero-dims' | 'truncated-header' | 'truncated-data' | 'extra-bytes'
  | 'count-mismatch' | 'labels-2d' | 'swapped' | 'fractional-labels' | 'non-finite-pixels' | 'zero-size-examples' | 'no-examples' | 'tiny';

interface IdxCase {
  type: typeof IDX_TYPES[number];
  dims: number[];
  labels: number[];
  pixels: number[];
  defect: IdxDefect;
  target: 'images' | 'labels';
  cut: number;
}

const idxCaseArb: fc.Arbitrary<IdxCase> = fc.record({
  type: fc.constantFrom(...IDX_TYPES),
  n: fc.integer({ min: 2, max: 20 }),
  inner: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 2 }),
  labelSeed: fc.array(fc.nat({ max: 3 }), { minLength: 20, maxLength: 20 }),
  pixelSeed: fc.array(fc.integer({ min: -100, max: 255 }), { minLength: 1, maxLength: 20 }),
  defect: fc.constantFrom<IdxDefect>('none', 'none', 'wrong-magic', 'gzip', 'bad-type', 'zero-dims', 'truncated-header', 'truncated-data', 'extra-bytes',
    'count-mismatch', 'labels-2d', 'swapped', 'fractional-labels', 'non-finite-pixels', 'zero-size-examples', 'no-examples', 'tiny'),
  target: fc.constantFrom('images' as const, 'labels' as const),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
}).map(r => {
  const dims = [r.n, ...r.inner];
  const size = r.inner.reduce((a, b) => a * b, 1);
  const labels = Array.from({ length: r.n }, (_, i) => (i < 2 ? i : r.labelSeed[i % 20]));
  const lo = r.type === 'ubyte' ? 0 : r.type === 'byte' ? -128 : -1000;
  const hi = r.type === 'byte' ? 127 : r.type === 'ubyte' ? 255 : 1000;
  const pixels = Array.from({ length: r.n * size }, (_, i) => Math.min(hi, Math.max(lo, r.pixelSeed[i % r.pixelSeed.length] * (r.type === 'float' || r.type === 'double' ? 0.5 : 1))));
  return { type: r.type, dims, labels, pixels, defect: r.defect, target: r.target, cut: r.cut };
});

function renderIdx(c: IdxCase): { images: Buffer; labels: Buffer; swapped: boolean; expect?: { key: 'images' | 'labels'; message: RegExp } } {
  let images = encodeIdx(c.type, c.dims, c.pixels);
  let labels = encodeIdx('ubyte', [c.labels.length], c.labels);
  const n = c.dims[0];
  const damage = (b: Buffer): Buffer => {
    const out = Buffer.from(b);
    switch (c.defect) {
      case 'wrong-magic': out[c.cut < 0.5 ? 0 : 1] = 1 + Math.floor(c.cut * 200); return out;
      case 'gzip': out[0] = 0x1f; out[1] = 0x8b; return out;
      case 'bad-type': out[2] = [0x00, 0x01, 0x0a, 0x0f, 0xff][Math.floor(c.cut * 5)]; return out;
      case 'zero-dims': out[3] = 0; return out;
      case 'truncated-header': return out.subarray(0, 4 + Math.floor(c.cut * (4 * out[3] - 1)));
      case 'truncated-data': return out.subarray(0, out.length - 1 - Math.floor(c.cut * (out.length - 4 - 4 * out[3] - 1)));
      case 'extra-bytes': return Buffer.concat([out, Buffer.alloc(1 + Math.floor(c.cut * 9))]);
      case 'tiny': return out.subarray(0, Math.floor(c.cut * 4));
      default: return out;
    }
  };
  const at = (key: 'images' | 'labels', message: RegExp) => ({ key, message });
  let expect: { key: 'images' | 'labels'; message: RegExp } | undefined;
  switch (c.defect) {
    case 'none': break;
    case 'wrong-magic': case 'gzip': case 'bad-type': case 'zero-dims': case 'truncated-header': case 'truncated-data': case 'extra-bytes': case 'tiny':
      if (c.target === 'images') images = damage(images); else labels = damage(labels);
      expect = at(c.target, /IDX|gzip|truncated|too many|too short|dimensions|type code/);
      break;
    case 'count-mismatch':
      labels = encodeIdx('ubyte', [n + 1], [...c.labels, 0]);
      expect = at('labels', /labels but .* examples/);
      break;
    case 'labels-2d':
      labels = encodeIdx('ubyte', [n, 2], [...c.labels, ...c.labels]);
      expect = at('labels', /one integer per example/);
      break;
    case 'swapped':
      // Only images of more than one value per example are told apart from labels.
      if (c.dims.slice(1).reduce((a, b) => a * b, 1) <= 1) break;
      return { images: labels, labels: images, swapped: true, expect: at('labels', /look swapped/) };
    case 'fractional-labels':
      labels = encodeIdx('float', [n], c.labels.map((l, i) => (i === n - 1 ? l + 0.5 : l)));
      expect = at('labels', /integer class ids/);
      break;
    case 'non-finite-pixels': {
      if (c.type !== 'float' && c.type !== 'double') break;
      const px = [...c.pixels];
      if (px.length === 0) break;
      px[Math.floor(c.cut * px.length)] = [NaN, Infinity, -Infinity][Math.floor(c.cut * 3)];
      images = encodeIdx(c.type, c.dims, px);
      expect = at('images', /not a finite number|NaN|Infinity/);
      break;
    }
    case 'zero-size-examples':
      images = encodeIdx(c.type, [n, 0], []);
      expect = at('images', /no values|empty|size 0|0 values/);
      break;
    case 'no-examples':
      images = encodeIdx(c.type, [0, ...c.dims.slice(1)], []);
      labels = encodeIdx('ubyte', [0], []);
      expect = at('images', /no examples/);
      break;
  }
  return { images, labels, swapped: false, expect };
}

// ---------------------------------------------------------------------------------------------------------
// Random byte mutations of the valid fixtures.

type ByteMutation = { kind: 'flip' | 'insert' | 'delete' | 'duplicate' | 'truncate' | 'set'; at: number; length: number; byte: number };
const byteMutationArb: fc.Arbitrary<ByteMutation> = fc.record({
  kind: fc.constantFrom('flip' as const, 'insert' as const, 'delete' as const, 'duplicate' as const, 'truncate' as const, 'set' as const),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  length: fc.integer({ min: 1, max: 64 }),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x22, 0x2c, 0x0a, 0x0d, 0x00, 0xff, 0xc3, 0x7b, 0x7d, 0x5c)),
});

function mutateBytes(b: Buffer, ms: ByteMutation[]): Buffer {
  let out = Buffer.from(b);
  for (const m of ms) {
    const at = Math.floor(m.at * out.length);
    switch (m.kind) {
      case 'flip': if (out.length) out[Math.min(at, out.length - 1)] ^= 1 << (m.byte % 8); break;
      case 'set': if (out.length) out[Math.min(at, out.length - 1)] = m.byte; break;
      case 'insert': out = Buffer.concat([out.subarray(0, at), Buffer.alloc(m.length, m.byte), out.subarray(at)]); break;
      case 'delete': out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]); break;
      case 'duplicate': out = Buffer.concat([out.subarray(0, at + m.length), out.subarray(at, at + m.length), out.subarray(at + m.length)]); break;
      case 'truncate': out = out.subarray(0, at); break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

describe('fuzz: data files', function () {
  this.timeout(120_000);

  before(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-fuzz-data-')));
    ws = path.join(base, 'ws');
    outside = path.join(base, 'outside');
    fs.mkdirSync(path.join(ws, 'data'), { recursive: true });
    fs.mkdirSync(path.join(ws, 'configs'));
    fs.mkdirSync(outside);
  });
  after(() => {
    fs.rmSync(base, { recursive: true, force: true });
    console.log(tally.report('fuzz-data'));
  });

  describe('regressions the fuzzer found (each input as it was minimized)', () => {
    const expectLine = async (config: DataConfig, content: string | Buffer, line: number, message: RegExp) => {
      const outcome = await load(config);
      assert.ok(outcome.error, 'loaded');
      assertNamesFile(outcome.error!, (config as { path?: string; images?: string }).path ?? (config as { images: string }).images, content);
      assert.strictEqual(outcome.error!.line, line, outcome.error!.message);
      assert.match(outcome.error!.message, message);
    };
    it('CSV with CR line ends: a quoted line break counts as a line (errors below it were one line early)', async () => {
      const text = 'text,label\r"two\rlines",a\rfine,b\rragged\r';
      await expectLine({ source: 'csv', path: put('.csv', text), textColumn: 'text', labelColumn: 'label' }, text, 5, /1 field but the header/);
    });
    it('CSV with CR line ends: an invalid byte is reported on its line, not line 1', async () => {
      const bytes = Buffer.concat([Buffer.from('text,label\ra,x\rb,y\r'), Buffer.from([0xff]), Buffer.from('c,x\r')]);
      await expectLine({ source: 'csv', path: put('.csv', bytes), textColumn: 'text', labelColumn: 'label' }, bytes, 4, /UTF-8/);
    });
    it('JSONL: a label field named "constructor" that the lines lack is missing, not "the boolean function Object()"', async () => {
      const text = '{"text":"a","label":1}\n{"text":"b","label":2}\n';
      for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        await expectLine({ source: 'jsonl', path: put('.jsonl', text), textColumn: 'text', labelColumn: key }, text, 1, /has no field/);
      }
    });
    it('JSONL: a line just over the length limit is refused (the last chunk of a long line was not counted)', async () => {
      const text = `{"text":"a","label":1}\n{"text":"${'x'.repeat(DATA_LIMITS.maxRecordChars)}","label":2}\n`;
      await expectLine({ source: 'jsonl', path: put('.jsonl', text), textColumn: 'text', labelColumn: 'label' }, text, 2, /longer than 16 M characters/);
    });
    it('IDX: NaN or Infinity pixels, 0-value examples and 0 examples are refused (they loaded)', async () => {
      const labels = put('', encodeIdx('ubyte', [2], [0, 1]));
      const cases: [Buffer, RegExp][] = [
        [encodeIdx('float', [2, 2], [1, NaN, 3, 4]), /example 0 .* holds NaN at value 1/],
        [encodeIdx('double', [2, 2], [1, 2, 3, -Infinity]), /example 1 .* holds -Infinity/],
        [encodeIdx('ubyte', [2, 0], []), /examples of 0 values/],
        [encodeIdx('ubyte', [0, 3], []), /has no examples/],
      ];
      for (const [bytes, message] of cases) {
        const images = put('', bytes);
        const outcome = await load({ source: 'idx', images, labels: message.source.includes('no examples') ? put('', encodeIdx('ubyte', [0], [])) : labels });
        assert.ok(outcome.error, `${message}: loaded`);
        assert.strictEqual(outcome.error!.file, images);
        assert.match(outcome.error!.message, message);
      }
    });
    it('synthetic: 10 million examples of 100 000 steps with "maxExamples": 10 are refused, not generated (a hang)', async () => {
      const outcome = await load({ source: 'synthetic', task: 'adding', examples: 1e7, sequenceLength: 1e5, maxExamples: 10 });
      assert.match(outcome.error?.message ?? '', /would generate [^]* data\.maxExamples does not help/);
      assert.deepStrictEqual(outcome.error!.jsonPath, ['data', 'examples']);
    });
  });

  it('CSV: every generated file with one defect fails on that defect\'s line, or loads whole', async () => {
    await fc.assert(fc.asyncProperty(csvCaseArb, async c => {
      tally.add('CSV files generated');
      // A feature that is not a number only matters to a numeric table.
      if (c.defect === 'not-numeric' && c.mode === 'text') c = { ...c, defect: 'none' };
      const r = renderCsv(c);
      const file = put('.csv', r.bytes);
      const outcome = await load(csvConfig(c, file));
      if (c.defect === 'none') {
        if (outcome.error) {
          // A defect-free table may still be refused for what it is: one class, or numbers in a "feature" that are text.
          assertNamesFile(outcome.error, file, r.bytes);
          assert.match(outcome.error.message, /single value|distinct values/, `valid file refused: ${outcome.error.message}`);
        } else {
          const d = outcome.dataset!;
          assert.strictEqual(d.train.count + d.validation.count, Math.min(c.rows.length, c.maxExamples ?? Infinity));
        }
        return;
      }
      tally.add(`  … CSV with defect ${c.defect}`);
      assert.ok(outcome.error, `${c.defect}: loaded without an error`);
      const e = outcome.error!;
      assertNamesFile(e, file, r.bytes);
      assert.match(e.message, CSV_EXPECTATIONS[c.defect]!, `${c.defect}: ${e.message}`);
      if (r.expectedLine !== undefined) assert.strictEqual(e.line, r.expectedLine, `${c.defect}: ${e.message}`);
    }), fuzzParams());
  });

  it('JSONL: every broken line is named by its number; valid files load whole', async () => {
    await fc.assert(fc.asyncProperty(jsonlCaseArb, async c => {
      tally.add('JSONL files generated');
      const r = renderJsonl(c);
      const file = put('.jsonl', r.bytes);
      const outcome = await load(r.config(file));
      const applies = !((c.defect === 'text-not-string' && c.mode !== 'text') || (c.defect === 'feature-not-number' && c.mode !== 'numeric'));
      if (c.defect === 'none' || !applies) {
        if (outcome.error) {
          assertNamesFile(outcome.error, file, r.bytes);
          assert.match(outcome.error.message, /single value|distinct values/, `valid file refused: ${outcome.error.message}`);
        }
        return;
      }
      tally.add(`  … JSONL with defect ${c.defect}`);
      assert.ok(outcome.error, `${c.defect}: loaded without an error`);
      const e = outcome.error!;
      assertNamesFile(e, file, r.bytes);
      assert.match(e.message, JSONL_EXPECTATIONS[c.defect]!, `${c.defect}: ${e.message}`);
      if (r.expectedLine !== undefined) assert.strictEqual(e.line, r.expectedLine, `${c.defect}: ${e.message}`);
    }), fuzzParams());
  });

  it('IDX: wrong magic, type, dimensions, counts, truncation and values are refused naming the file', async () => {
    await fc.assert(fc.asyncProperty(idxCaseArb, async c => {
      tally.add('IDX file pairs generated');
      const r = renderIdx(c);
      const images = put('', r.images);
      const labels = put('', r.labels);
      const outcome = await load({ source: 'idx', images, labels } as IdxDataConfig);
      if (!r.expect) {
        if (outcome.error) {
          const which = outcome.error.file === labels ? r.labels : r.images;
          assertNamesFile(outcome.error, outcome.error.file!, which);
          assert.match(outcome.error.message, /single value/, `valid pair refused: ${outcome.error.message}`);
        } else {
          assert.strictEqual(outcome.dataset!.train.count + outcome.dataset!.validation.count, c.dims[0]);
        }
        return;
      }
      tally.add(`  … IDX with defect ${c.defect} in ${r.expect.key}`);
      assert.ok(outcome.error, `${c.defect} (${r.expect.key}): loaded without an error`);
      const e = outcome.error!;
      const display = r.expect.key === 'images' ? images : labels;
      assertNamesFile(e, display, r.expect.key === 'images' ? r.images : r.labels);
      assert.deepStrictEqual(e.jsonPath, ['data', r.expect.key]);
      assert.match(e.message, r.expect.message, `${c.defect}: ${e.message}`);
    }), fuzzParams());
  });

  it('CSV: the same records on the same lines however the text is cut into chunks', () => {
    fc.assert(fc.property(csvCaseArb, fc.array(fc.nat(), { maxLength: 12 }), (c, cuts) => {
      tally.add('CSV texts re-parsed in random chunks');
      const text = renderCsv(c).text;
      const parse = (pieces: string[]) => {
        const records: CsvRecord[] = [];
        try {
          const parser = new CsvParser(c.delimiter, r => records.push(r), (line, message) => { throw new Error(`line ${line}: ${message}`); });
          for (const piece of pieces) parser.push(piece);
          parser.end();
          return { records };
        } catch (e) {
          return { records, error: (e as Error).message };
        }
      };
      const points = [...new Set(cuts.map(x => x % (text.length + 1)))].sort((a, b) => a - b);
      const pieces = [0, ...points].map((from, k, all) => text.slice(from, all[k + 1] ?? text.length));
      assert.deepStrictEqual(parse(pieces), parse([text]), `cut at ${safeStringify(points)}`);
    }), fuzzParams());
  });

  it('counts lines across read chunks: a bad byte far into a big file is reported on its line', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom('\n', '\r\n', '\r'), fc.integer({ min: 4, max: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0xff, 0xc3, 0x80), async (eol, width, where, byte) => {
      tally.add('big files with a bad byte past the first chunk');
      // Lines of one width, so the 64 KB read boundaries fall at every offset of a line (a CRLF split too).
      const lineCount = Math.ceil((3 * DATA_LIMITS.chunkBytes) / (width + eol.length));
      const lines = ['text,label', ...Array.from({ length: lineCount }, (_, i) => `${'w'.repeat(width - 2)},${i % 2}`)];
      const bad = 1 + Math.floor(where * (lines.length - 1));
      const before = Buffer.from(lines.slice(0, bad).join(eol) + eol);
      const bytes = Buffer.concat([before, Buffer.from([byte]), Buffer.from(lines.slice(bad).join(eol) + eol)]);
      const file = put('.csv', bytes);
      const outcome = await load({ source: 'csv', path: file, textColumn: 'text', labelColumn: 'label' });
      assert.ok(outcome.error, 'loaded');
      assertNamesFile(outcome.error!, file, bytes);
      assert.strictEqual(outcome.error!.line, bad + 1, outcome.error!.message);
    }), fuzzParams(0.1));
  });

  it('random byte mutations of the valid fixtures load or fail naming the file and a real line', async () => {
    const fixtures: { name: string; config: (file: string) => DataConfig }[] = [
      { name: 'reviews.csv', config: f => ({ source: 'csv', path: f, textColumn: 'text', labelColumn: 'label' }) },
      { name: 'iris-sample.csv', config: f => ({ source: 'csv', path: f, labelColumn: 'species' }) },
      { name: 'reviews.jsonl', config: f => ({ source: 'jsonl', path: f, textColumn: 'text', labelColumn: 'label' }) },
      { name: 'houses.jsonl', config: f => ({ source: 'jsonl', path: f, labelColumn: 'price' }) },
    ];
    const contents = fixtures.map(f => fs.readFileSync(path.join(FIXTURES, f.name)));
    const idxImages = encodeIdx('ubyte', [6, 2, 3], Array.from({ length: 36 }, (_, i) => i * 7 % 256));
    const idxLabels = encodeIdx('ubyte', [6], [0, 1, 2, 0, 1, 2]);
    await fc.assert(fc.asyncProperty(fc.nat({ max: fixtures.length + 1 }), fc.array(byteMutationArb, { minLength: 1, maxLength: 4 }), async (which, mutations) => {
      tally.add('mutated fixture files');
      if (which >= fixtures.length) {
        const target = which === fixtures.length ? 'images' : 'labels';
        const bytes = mutateBytes(target === 'images' ? idxImages : idxLabels, mutations);
        const images = put('', target === 'images' ? bytes : idxImages);
        const labels = put('', target === 'labels' ? bytes : idxLabels);
        const outcome = await load({ source: 'idx', images, labels } as IdxDataConfig);
        // A damaged images file can be reported on the labels file ("6 labels but 7 examples"), which names both.
        if (outcome.error) {
          assert.ok(outcome.error.file === images || outcome.error.file === labels, outcome.error.message);
          assertNamesFile(outcome.error, outcome.error.file!, outcome.error.file === images ? (target === 'images' ? bytes : idxImages) : (target === 'labels' ? bytes : idxLabels));
        }
        return;
      }
      const bytes = mutateBytes(contents[which], mutations);
      const file = put(path.extname(fixtures[which].name), bytes);
      const outcome = await load(fixtures[which].config(file));
      if (outcome.error && outcome.error.file !== undefined) assertNamesFile(outcome.error, file, bytes);
      else if (outcome.error) assert.fail(`error without the file: ${outcome.error.message}`);
    }), fuzzParams());
  });

  it('refuses lines and records over the length limit with their line, without reading on', async () => {
    const long = 'x'.repeat(DATA_LIMITS.maxRecordChars + 10);
    const cases: [string, string, DataConfig | ((f: string) => DataConfig), number][] = [
      ['a 16 M-character CSV field', `text,label\nshort,a\n${long},b\nmore,a\n`, f => ({ source: 'csv', path: f, textColumn: 'text', labelColumn: 'label' }), 3],
      ['a 16 M-character JSONL line', `{"text":"a","label":1}\n{"text":"${long}","label":2}\n`, f => ({ source: 'jsonl', path: f, textColumn: 'text', labelColumn: 'label' }), 2],
      ['an unterminated quote swallowing the file', `text,label\n"open,a\n${Array.from({ length: 3000 }, () => 'y'.repeat(6000)).join('\n')}\n`, f => ({ source: 'csv', path: f, textColumn: 'text', labelColumn: 'label' }), 2],
    ];
    for (const [what, content, config] of cases) {
      tally.add('over-long lines');
      const file = put(what.includes('JSONL') ? '.jsonl' : '.csv', content);
      const outcome = await load(typeof config === 'function' ? config(file) : config);
      assert.ok(outcome.error, `${what}: loaded`);
      assertNamesFile(outcome.error!, file, content);
      assert.strictEqual(outcome.error!.line, cases.find(c => c[0] === what)![3], `${what}: ${outcome.error!.message}`);
      assert.match(outcome.error!.message, /longer than/);
    }
  });

  it('reads wide tables (100 000 columns) in time, CSV and JSONL', async () => {
    const F = 100_000;
    const names = Array.from({ length: F }, (_, i) => `c${i}`);
    const csv = put('.csv', [[...names, 'label'].join(','), [...names.map(() => 1), 'a'].join(','), [...names.map(() => 2), 'b'].join(',')].join('\n'));
    const jsonl = put('.jsonl', [1, 2].map(v => JSON.stringify(Object.fromEntries([...names.map(n => [n, v]), ['label', v === 1 ? 'a' : 'b']]))).join('\n'));
    for (const config of [{ source: 'csv', path: csv, labelColumn: 'label' }, { source: 'jsonl', path: jsonl, labelColumn: 'label' }] as DataConfig[]) {
      tally.add('wide tables');
      const outcome = await load(config);
      assert.deepStrictEqual(outcome.dataset?.inputShape, [F], outcome.error?.message);
    }
    // A header naming a column twice is still caught, however wide.
    const twice = put('.csv', [[...names, 'c7', 'label'].join(','), [...names.map(() => 1), 1, 'a'].join(',')].join('\n'));
    tally.add('wide tables');
    const outcome = await load({ source: 'csv', path: twice, labelColumn: 'label' });
    assert.match(outcome.error?.message ?? '', /two columns named 'c7'/);
  });

  it('refuses multi-GB (sparse) files at once, without reading them', async () => {
    const sizes = [600 * 2 ** 20, 3 * 2 ** 30];
    for (const size of sizes) {
      const name = `sparse-${size}`;
      const fd = fs.openSync(path.join(ws, name), 'w');
      fs.ftruncateSync(fd, size);
      fs.closeSync(fd);
      const good = put('', encodeIdx('ubyte', [2], [0, 1]));
      const configs: [string, DataConfig][] = [
        ['csv', { source: 'csv', path: name, textColumn: 'text', labelColumn: 'label' }],
        ['jsonl', { source: 'jsonl', path: name, labelColumn: 'label' }],
        ['idx images', { source: 'idx', images: name, labels: good }],
        ['idx labels', { source: 'idx', images: good, labels: name }],
      ];
      for (const [what, config] of configs) {
        for (const limit of [undefined, 8 * 2 ** 30]) {
          tally.add('multi-GB sparse files');
          const rss = process.memoryUsage().rss;
          const t0 = performance.now();
          const outcome = await load(config, limit ? { maxFileBytes: limit } : {});
          const ms = performance.now() - t0;
          assert.ok(outcome.error, `${what}, ${size} bytes: loaded`);
          assert.strictEqual(outcome.error!.file, name, outcome.error!.message);
          assert.ok(ms < 500, `${what}, ${size} bytes: took ${ms.toFixed(0)} ms`);
          assert.ok(process.memoryUsage().rss - rss < 64 * 2 ** 20, `${what}: memory grew while refusing`);
          // Under the default limit: refused by size; with the limit raised, by its first bytes (NULs).
          assert.match(outcome.error!.message, limit ? /NUL byte|not an IDX file|type code|truncated|too many/ : /over the 512\.0 MB limit/, `${what}: ${outcome.error!.message}`);
        }
      }
      fs.rmSync(path.join(ws, name));
    }
  });

  describe('paths', () => {
    const SECRET = 'SECRET-CONTENT-7f3a';
    before(() => {
      fs.writeFileSync(path.join(ws, 'data', 'ok.csv'), 'text,label\nfine,a\ngood,b\n');
      fs.writeFileSync(path.join(ws, 'data', 'ok.jsonl'), '{"text":"fine","label":"a"}\n{"text":"good","label":"b"}\n');
      fs.writeFileSync(path.join(ws, 'data', 'images'), encodeIdx('ubyte', [2, 2], [1, 2, 3, 4]));
      fs.writeFileSync(path.join(ws, 'data', 'labels'), encodeIdx('ubyte', [2], [0, 1]));
      fs.writeFileSync(path.join(outside, 'secret.csv'), `text,label\n${SECRET},a\n${SECRET},b\n`);
      fs.writeFileSync(path.join(outside, 'secret.jsonl'), `{"text":"${SECRET}","label":"a"}\n{"text":"${SECRET}","label":"b"}\n`);
      fs.writeFileSync(path.join(outside, 'images'), encodeIdx('ubyte', [2, 2], [9, 9, 9, 9]));
      fs.writeFileSync(path.join(outside, 'labels'), encodeIdx('ubyte', [2], [0, 1]));
      fs.symlinkSync(path.join(outside, 'secret.csv'), path.join(ws, 'link-file-out'));
      fs.symlinkSync(path.join(outside, 'secret.jsonl'), path.join(ws, 'link-jsonl-out'));
      fs.symlinkSync(path.join(outside, 'images'), path.join(ws, 'link-images-out'));
      fs.symlinkSync(outside, path.join(ws, 'link-dir-out'));
      fs.symlinkSync('../outside', path.join(ws, 'data', 'link-dir-out-relative'));
      fs.symlinkSync('ok.csv', path.join(ws, 'data', 'link-in'));
      fs.symlinkSync(path.join(ws, 'data'), path.join(ws, 'link-dir-in'));
      fs.symlinkSync('loop-b', path.join(ws, 'loop-a'));
      fs.symlinkSync('loop-a', path.join(ws, 'loop-b'));
      fs.symlinkSync(path.join(ws, 'nothing-here'), path.join(ws, 'dangling'));
      try { execFileSync('mkfifo', [path.join(ws, 'fifo')]); } catch { /* no mkfifo: the case is skipped by absence */ }
    });

    const SEGMENTS = ['..', '.', 'data', 'ok.csv', 'ok.jsonl', 'images', 'labels', 'link-file-out', 'link-jsonl-out', 'link-images-out', 'link-dir-out',
      'link-dir-out-relative', 'link-in', 'link-dir-in', 'secret.csv', 'secret.jsonl', 'outside', 'ws', 'configs', 'loop-a', 'dangling', 'fifo', '', 'nope',
      '%2e%2e', '...', '..\\..', 'data\\ok.csv', ' ', '\u0000'];
    // Paths that reach something (relative to ws/configs), then random detours that must not change the verdict.
    const TARGETS = ['../data/ok.csv', '../data/ok.jsonl', '../data/images', '../data/labels', '../data/link-in', '../link-dir-in/ok.csv',
      '../link-dir-in/images', '../link-file-out', '../link-jsonl-out', '../link-images-out', '../link-dir-out/secret.csv', '../link-dir-out/images',
      '../data/link-dir-out-relative/secret.jsonl', '../../outside/secret.csv', '../loop-a', '../dangling', '../fifo', '../data', '..'];
    const detourArb = fc.constantFrom('', './', '../configs/', '.././configs/../configs/', '../data/../configs/', '../link-dir-in/../configs/');
    const pathArb = fc.oneof(
      { arbitrary: fc.tuple(detourArb, fc.constantFrom(...TARGETS)).map(([d, t]) => d + t), weight: 6 },
      { arbitrary: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 6 }).map(s => s.join('/')), weight: 4 },
      { arbitrary: fc.tuple(fc.constantFrom('ws', 'outside', 'base'), fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 4 })).map(([root, s]) => path.join(root === 'ws' ? ws : root === 'outside' ? outside : base, ...s)), weight: 3 },
      { arbitrary: fc.constantFrom('/', '/etc/passwd', '/dev/zero', '/dev/stdin', '/proc/self/environ', '~', '~/x', 'file:///etc/passwd', '\\\\server\\share\\x', 'C:\\x', '', '   ', 'data/ok.csv\u0000.txt'), weight: 1 },
    );
    const KEYS: { key: JsonPath; config: (p: string) => DataConfig }[] = [
      { key: ['data', 'path'], config: p => ({ source: 'csv', path: p, textColumn: 'text', labelColumn: 'label' }) },
      { key: ['data', 'path'], config: p => ({ source: 'jsonl', path: p, textColumn: 'text', labelColumn: 'label' }) },
      { key: ['data', 'images'], config: p => ({ source: 'idx', images: p, labels: '../data/labels' }) },
      { key: ['data', 'labels'], config: p => ({ source: 'idx', images: '../data/images', labels: p }) },
    ];

    it('never resolves a path outside the workspace: `..`, absolute paths, symlinks to files and folders', async () => {
      const configDir = path.join(ws, 'configs');
      await fc.assert(fc.asyncProperty(pathArb, fc.nat({ max: KEYS.length - 1 }), async (p, k) => {
        tally.add('data paths tried');
        const { key, config } = KEYS[k];
        const c = { configDir, workspaceRoot: ws, seed: 1 };
        const r = await timedAsync(() => resolveDataFile(p, key, c));
        assert.ok(r.ms < 1000, `resolving ${JSON.stringify(p)} took ${r.ms.toFixed(0)} ms`);
        const lexical = path.resolve(configDir, p);
        let real: string | undefined;
        try { real = fs.realpathSync(lexical); } catch { real = undefined; }
        if (r.error === undefined) {
          tally.add('  … resolved inside');
          assert.ok(p.trim() !== '' && isInside(ws, lexical) && real !== undefined && isInside(ws, real), `${JSON.stringify(p)} resolved to ${r.value!.absolute}`);
          assert.strictEqual(r.value!.absolute, real);
          assert.ok(fs.statSync(real).isFile());
        } else {
          const e = r.error as DataError;
          assert.ok(e instanceof DataError, `not a DataError: ${(r.error as Error)?.stack}`);
          assert.deepStrictEqual(e.jsonPath, key);
          assert.ok(!e.message.includes(SECRET));
          if (p.trim() !== '' && !isInside(ws, lexical)) {
            tally.add('  … refused: outside the workspace');
            assert.match(e.message, /points outside the workspace/, e.message);
          } else if (real !== undefined && !isInside(ws, real)) {
            tally.add('  … refused: a symbolic link leading out');
            assert.match(e.message, /symbolic link .*outside the workspace/, e.message);
          } else {
            tally.add('  … refused: missing, a folder, a loop or not a file');
          }
        }
        // The same path through the loader: the same verdict, and nothing outside is ever read.
        const outcome = await load(config(p), { configDir });
        if (outcome.dataset) {
          assert.ok(r.error === undefined, `the loader read ${JSON.stringify(p)}, which resolveDataFile refused`);
          const d = outcome.dataset;
          assert.ok(!(d.vocabulary ?? []).some(w => w.toLowerCase().includes('secret')), 'read a secret file');
        } else {
          assert.ok(!outcome.error!.message.includes(SECRET));
        }
      }), fuzzParams());
    });
  });
});
