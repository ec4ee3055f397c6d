// Fuzzing the config reader: random, schema-generated and mutated `*.gradmon.json` documents must come back
// as positioned problems or as a config that runs — never a throw, a hang or an unbounded allocation.
// Knobs: GRADMON_FUZZ_RUNS (cases per property), GRADMON_FUZZ_SEED (see helpers/fuzz.ts).

import { strict as assert } from 'assert';
import fc from 'fast-check';
import * as fs from 'fs';
import * as jsonc from 'jsonc-parser';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { analyzeConfig, MAX_NESTING, MAX_PROBLEMS, type ConfigAnalysis } from '../../src/config';
import { CONFIG_SCHEMA, LAYER_TYPES, type JsonSchema } from '../../src/config/schema';
import { inferShapes } from '../../src/config/shapes';
import { encodeIdx } from '../../src/engine/data';
import { positionProblems, prepareRun } from '../../src/engine/run';
import { editorLineCount, fuzzParams, prng, safeStringify, Tally, timed, timedAsync } from './helpers/fuzz';
import { TEST_BACKEND, useTestBackend } from './helpers/engine';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The time box of one analysis of a config-sized document: an editor re-checks on every keystroke. */
const ANALYZE_MS = 200;
/** A document of a few MB (over the 1 MB a config file may have: a pasted data file, a runaway generator) answers within this. */
const BIG_DOCUMENT_MS = 2000;
/** The model budget the run properties pass, small so that whatever passes it is cheap to build here. */
const TEST_BUDGET = 256 * 2 ** 20;

const tally = new Tally();

// ---------------------------------------------------------------------------------------------------------
// Seeds: every config the project ships, parsed to values (mutations work on values, then re-render).

function seedTexts(): { file: string; text: string }[] {
  const dirs = ['examples', 'test/fixtures/diagnosis', 'test/fixtures/cli'];
  return dirs.flatMap(d => fs.readdirSync(path.join(ROOT, d))
    .filter(f => f.endsWith('.gradmon.json'))
    .map(f => ({ file: `${d}/${f}`, text: fs.readFileSync(path.join(ROOT, d, f), 'utf8') })));
}
const SEEDS = seedTexts();
const SEED_VALUES = SEEDS.map(s => JSON.parse(JSON.stringify(jsonc.parse(s.text) ?? null)) as unknown);

// ---------------------------------------------------------------------------------------------------------
// Rendering: values to JSONC text in many styles (indentation, line ends, comments, trailing commas,
// escaped keys, duplicate keys, BOM), plus raw tokens JSON values cannot hold (1e999, NaN, 0x10, 'single').

class Raw {
  constructor(readonly text: string) {}
}

interface Style {
  seed: number;
  indent: string;
  eol: string;
  commentRate: number;
  trailingCommaRate: number;
  duplicateKeyRate: number;
  escapeKeyRate: number;
  bom: boolean;
}

const styleArb: fc.Arbitrary<Style> = fc.record({
  seed: fc.integer(),
  indent: fc.constantFrom('', ' ', '  ', '    ', '\t'),
  eol: fc.constantFrom('\n', '\r\n', '\r', ''),
  commentRate: fc.constantFrom(0, 0, 0.05, 0.3),
  trailingCommaRate: fc.constantFrom(0, 0, 0.2),
  duplicateKeyRate: fc.constantFrom(0, 0, 0, 0.05),
  escapeKeyRate: fc.constantFrom(0, 0, 0.1),
  bom: fc.boolean(),
});

const COMMENT_WORDS = ['note', 'TODO: try lstm', 'ünïcödé 日本語 🚀', '"quoted"', '{ "fake": [1, 2] }', '/* nested? ', '\t', '\u2028', '\\'];

function render(value: unknown, style: Style): string {
  const rnd = prng(style.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const nl = (depth: number) => style.eol + style.indent.repeat(depth);
  const comment = (depth: number): string => {
    if (rnd() >= style.commentRate) return '';
    const words = pick(COMMENT_WORDS);
    return rnd() < 0.5 ? ` /* ${words} */ ` : ` // ${words.replace(/[\r\n\u2028]/g, ' ')}${style.eol || '\n'}${style.indent.repeat(depth)}`;
  };
  const key = (k: string): string => {
    if (rnd() < style.escapeKeyRate && k.length > 0) {
      const i = Math.floor(rnd() * k.length);
      return JSON.stringify(k.slice(0, i)).slice(0, -1) + `\\u${k.charCodeAt(i).toString(16).padStart(4, '0')}` + JSON.stringify(k.slice(i + 1)).slice(1);
    }
    return JSON.stringify(k);
  };
  const go = (v: unknown, depth: number): string => {
    if (v instanceof Raw) return v.text;
    if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
    const trailing = () => (rnd() < style.trailingCommaRate ? ',' : '');
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const items = v.map(x => nl(depth + 1) + comment(depth + 1) + go(x, depth + 1));
      return `[${items.join(',')}${trailing()}${nl(depth)}]`;
    }
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    const parts: string[] = [];
    for (const [k, x] of entries) {
      if (rnd() < style.duplicateKeyRate) parts.push(nl(depth + 1) + `${key(k)}: ${go(pick([x, 0, 'dup', null]), depth + 1)}`);
      parts.push(nl(depth + 1) + comment(depth + 1) + `${key(k)}:${style.indent ? ' ' : ''}${comment(depth + 1)}${go(x, depth + 1)}`);
    }
    return `{${parts.join(',')}${trailing()}${nl(depth)}}`;
  };
  return (style.bom ? '\uFEFF' : '') + comment(0) + go(value, 0) + style.eol;
}

// ---------------------------------------------------------------------------------------------------------
// Generating schema-valid values straight from CONFIG_SCHEMA (so the generator and the validator share
// nothing but the schema), biased to small sizes with the schema's bounds mixed in.

function arbFromSchema(s: JsonSchema, maxArray = 3): fc.Arbitrary<unknown> {
  if (s.oneOf) return fc.oneof(...s.oneOf.map(o => arbFromSchema(o, maxArray)));
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const branches = (s.allOf ?? []).filter(b => b.if?.properties && b.then?.properties);
  if (branches.length > 1) return fc.oneof(...branches.map(b => arbFromSchema(b.then!, maxArray)));
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  if (types.length !== 1) return types.length ? fc.oneof(...types.map(t => arbFromSchema({ ...s, type: t }, maxArray))) : fc.jsonValue({ maxDepth: 2 });
  switch (types[0]) {
    case 'object': {
      const props = s.properties ?? {};
      // Conditional requirements (maxNorm needs maxValue…): always present, which every branch allows.
      const required = new Set([...(s.required ?? []), ...(s.allOf ?? []).flatMap(b => b.then?.required ?? [])]);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, p] of Object.entries(props)) model[k] = arbFromSchema(p, maxArray);
      return fc.record(model, { requiredKeys: Object.keys(props).filter(k => required.has(k)) });
    }
    case 'array': {
      if (Array.isArray(s.items)) return fc.tuple(...s.items.map(i => arbFromSchema(i, maxArray)));
      const min = s.minItems ?? 0;
      return fc.array(s.items ? arbFromSchema(s.items, maxArray) : fc.jsonValue({ maxDepth: 1 }), {
        minLength: min, maxLength: Math.max(min, Math.min(s.maxItems ?? maxArray, maxArray)),
      });
    }
    case 'integer': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? Math.floor(s.exclusiveMinimum) + 1 : -1e9);
      const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? Math.ceil(s.exclusiveMaximum) - 1 : 1e12);
      return fc.oneof(
        { arbitrary: fc.integer({ min, max: Math.min(max, min + 40) }), weight: 6 },
        { arbitrary: fc.constantFrom(min, max), weight: 1 },
        { arbitrary: fc.double({ min, max, noNaN: true }).map(x => Math.min(max, Math.max(min, Math.floor(x)))), weight: 1 },
      );
    }
    case 'number': {
      const min = s.minimum ?? s.exclusiveMinimum ?? -Number.MAX_VALUE;
      const max = s.maximum ?? s.exclusiveMaximum ?? Number.MAX_VALUE;
      const opts = { min, max, minExcluded: s.exclusiveMinimum !== undefined, maxExcluded: s.exclusiveMaximum !== undefined, noNaN: true, noDefaultInfinity: true };
      const near = { ...opts, min: Math.max(min, -10), max: Math.min(max, 10), minExcluded: opts.minExcluded && min >= -10, maxExcluded: opts.maxExcluded && max <= 10 };
      return fc.oneof({ arbitrary: fc.double(near), weight: 4 }, { arbitrary: fc.double(opts), weight: 1 });
    }
    case 'string': {
      const minLength = s.minLength ?? 0;
      const examples = (s.examples ?? []).filter((e): e is string => typeof e === 'string');
      return fc.oneof(
        ...(examples.length ? [fc.constantFrom(...examples)] : []),
        fc.string({ minLength, maxLength: Math.min(12, s.maxLength ?? 12) }),
        // maxLength counts code points; a grapheme may hold several, so one code point per unit there.
        fc.string({ unit: s.maxLength !== undefined ? 'binary' : 'grapheme', minLength, maxLength: Math.min(6, s.maxLength ?? 6) }),
      );
    }
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    default: return fc.jsonValue({ maxDepth: 1 });
  }
}

const schemaValidArb = arbFromSchema(CONFIG_SCHEMA);

// ---------------------------------------------------------------------------------------------------------
// Weird values and mutations.

const ABSURD_NUMBERS = [0, -1, 1, -0, 0.5, 1.5, 1e9, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MIN_VALUE, 1e-320, 4294967296];
const NASTY_STRINGS = ['', ' ', 'NaN', 'Infinity', '-1', '1e9', '0x10', 'true', 'null', 'relu', 'lstm', 'Dense', 'LSTM', 'conv2d',
  'softmax', 'adam', 'synthetic', '__proto__', 'constructor', '日本語', '🚀🚀', '\u0000', '\uFEFF', '\uD800', 'a\nb', '"', '\\', 'x'.repeat(300)];
const RAW_TOKENS = ['1e999', '-1e999', 'NaN', 'Infinity', '-Infinity', '0x10', '01', '.5', '+1', '1.', "'single'", 'undefined',
  'True', 'None', '1e', '-', '"\\x41"', '"\\u12"', '"\t"', '// c\n1', '/* c */ 2'].map(t => new Raw(t));
const NASTY_KEYS = ['zzz', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'Type', 'unitz', 'type ', '', '日本', '$schema', 'name', 'units'];

const weirdValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(...ABSURD_NUMBERS, ...NASTY_STRINGS, true, false, null, [], {}, [[]], { type: 'dense' }, [{ type: 'dense', units: 1 }]),
  fc.constantFrom<unknown>(...RAW_TOKENS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
  arbFromSchema(CONFIG_SCHEMA.properties!.model),
  arbFromSchema(CONFIG_SCHEMA.properties!.data),
);

const UNKNOWN_LAYER_TYPES = ['Dense', 'conv2d', 'lstm ', 'LSTM', 'transformer', '', 'dense\u0000', 'constructor', '__proto__', 'toString', 'simpleRnn'];

type ValueMutation =
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'addKey'; at: number; key: string; value: unknown }
  | { kind: 'layerType'; at: number; type: string }
  | { kind: 'deep'; at: number; depth: number; object: boolean }
  | { kind: 'hugeArray'; at: number; length: number; item: unknown }
  | { kind: 'absurdSize'; at: number; key: string; value: unknown };

const SIZE_KEYS = ['units', 'outputDim', 'inputDim', 'filters', 'kernelSize', 'sequenceLength', 'examples', 'features', 'classes',
  'vocabularySize', 'batchSize', 'epochs', 'maxSteps', 'poolSize', 'strides', 'maxExamples', 'histogramBins', 'accumulationSteps'];

const valueMutationArb: fc.Arbitrary<ValueMutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: weirdValueArb }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('addKey' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 8 })), value: weirdValueArb }),
  fc.record({ kind: fc.constant('layerType' as const), at: fc.nat(), type: fc.constantFrom(...LAYER_TYPES, ...UNKNOWN_LAYER_TYPES) }),
  fc.record({ kind: fc.constant('deep' as const), at: fc.nat(), depth: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(1000, 5000, 20000, 100000)), object: fc.boolean() }),
  fc.record({ kind: fc.constant('hugeArray' as const), at: fc.nat(), length: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom(1001, 5000)), item: weirdValueArb }),
  fc.record({ kind: fc.constant('absurdSize' as const), at: fc.nat(), key: fc.constantFrom(...SIZE_KEYS), value: fc.constantFrom<unknown>(...ABSURD_NUMBERS, new Raw('1e999'), new Raw('-0'), '1e9', 'NaN') }),
);

type Container = Record<string, unknown> | unknown[];
interface Site { parent: Container | undefined; key: string | number | undefined; value: unknown }

function sites(root: unknown): Site[] {
  const out: Site[] = [{ parent: undefined, key: undefined, value: root }];
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object' || v instanceof Raw) return;
    if (Array.isArray(v)) v.forEach((x, i) => { out.push({ parent: v, key: i, value: x }); walk(x); });
    else for (const [k, x] of Object.entries(v)) { out.push({ parent: v as Record<string, unknown>, key: k, value: x }); walk(x); }
  };
  walk(root);
  return out;
}

/** Sets an own property, even "__proto__" (plain assignment would change the prototype instead). */
function setOwn(o: Container, key: string | number, value: unknown): void {
  if (Array.isArray(o) && typeof key === 'number') o[key] = value;
  else Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy that keeps Raw tokens and own "__proto__" keys (structuredClone keeps neither). */
function clone(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof Raw) return v;
  if (Array.isArray(v)) return v.map(clone);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) setOwn(out, k, clone(x));
  return out;
}

function nested(depth: number, object: boolean): Raw {
  return new Raw(object ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth));
}

/** Rendered documents stay below this (the few-MB cases have their own test): 5000 × 5000 nested arrays would not. */
const MAX_MUTATED_CHARS = 1e6;

/** Applies mutations to a deep copy of `root`; returns the mutated value. */
function mutateValue(root: unknown, mutations: ValueMutation[]): unknown {
  let doc: unknown = clone(root);
  for (const m of mutations) {
    const before = doc;
    doc = applyMutation(clone(doc), m);
    if ((JSON.stringify(doc)?.length ?? 0) > MAX_MUTATED_CHARS) doc = before;
  }
  return doc;
}

function applyMutation(doc: unknown, m: ValueMutation): unknown {
  {
    const all = sites(doc);
    const site = all[m.at % all.length];
    const replace = (v: unknown) => {
      if (site.parent === undefined) doc = v;
      else setOwn(site.parent, site.key!, v);
    };
    switch (m.kind) {
      case 'replace': replace(m.value); break;
      case 'delete':
        if (Array.isArray(site.parent)) site.parent.splice(site.key as number, 1);
        else if (site.parent) delete (site.parent as Record<string, unknown>)[site.key as string];
        break;
      case 'addKey':
        if (site.value && typeof site.value === 'object' && !Array.isArray(site.value) && !(site.value instanceof Raw)) setOwn(site.value as Container, m.key, m.value);
        else replace({ [m.key]: m.value });
        break;
      case 'layerType': {
        const model = (doc as { model?: unknown })?.model;
        if (Array.isArray(model) && model.length) {
          const layer = model[m.at % model.length];
          if (layer && typeof layer === 'object') setOwn(layer as Container, 'type', m.type);
        }
        break;
      }
      case 'deep': replace(nested(m.depth, m.object)); break;
      case 'hugeArray': replace(Array.from({ length: m.length }, () => m.item)); break;
      case 'absurdSize': {
        const holders = all.filter(s => s.value && typeof s.value === 'object' && !Array.isArray(s.value) && m.key in (s.value as object));
        const holder = holders.length ? holders[m.at % holders.length].value as Container : undefined;
        if (holder) setOwn(holder, m.key, m.value);
        break;
      }
    }
  }
  return doc;
}

type TextMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'eol'; to: string }
  | { kind: 'bom' };

const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const textMutationArb: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fraction }),
  fc.record({
    kind: fc.constant('insert' as const), at: fraction,
    text: fc.oneof(
      fc.constantFrom('/*', '*/', '//', '"', "'", '{', '}', '[', ']', ',', ':', '\u0000', '\uFEFF', '\uD800', '\r', '\n', '\u2028', 'NaN', '-', '1e', '\\', ',,', '"a":1,'),
      fc.string({ unit: 'binary', maxLength: 16 }),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fraction, length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fraction, length: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('eol' as const), to: fc.constantFrom('\r\n', '\r', '\u2028') }),
  fc.constant({ kind: 'bom' as const }),
);

function mutateText(text: string, mutations: TextMutation[]): string {
  for (const m of mutations) {
    const at = 'at' in m ? Math.floor(m.at * text.length) : 0;
    switch (m.kind) {
      case 'truncate': text = text.slice(0, at); break;
      case 'insert': text = text.slice(0, at) + m.text + text.slice(at); break;
      case 'delete': text = text.slice(0, at) + text.slice(at + m.length); break;
      case 'duplicate': text = text.slice(0, at + m.length) + text.slice(at, at + m.length) + text.slice(at + m.length); break;
      case 'eol': text = text.replace(/\r?\n/g, m.to); break;
      case 'bom': text = '\uFEFF' + text; break;
    }
  }
  return text;
}

const baseValueArb = fc.oneof(
  { arbitrary: fc.constantFrom(...SEED_VALUES), weight: 3 },
  { arbitrary: schemaValidArb, weight: 2 },
);

const mutatedDocumentArb = fc.record({
  base: baseValueArb,
  valueMutations: fc.array(valueMutationArb, { maxLength: 3 }),
  style: styleArb,
  textMutations: fc.array(textMutationArb, { maxLength: 2 }),
}).map(r => mutateText(render(mutateValue(r.base, r.valueMutations), r.style), r.textMutations));

const randomTextArb = fc.oneof(
  fc.constantFrom('', ' ', '\n', '\r\n', '\uFEFF', '\uFEFF{}', '//', '/*', '/* x */', '{', '[', '"', 'null', '[]', '{}', '0', '"x"', '{"name":}', '\u0000'),
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.json({ maxDepth: 4 }),
  fc.uint8Array({ maxLength: 400 }).map(b => Buffer.from(b).toString('latin1')),
  fc.uint8Array({ maxLength: 400 }).map(b => Buffer.from(b).toString('utf8')),
);

// ---------------------------------------------------------------------------------------------------------
// The checks every analysis must pass.

/** Configs are a few KB; past 64 KB a document is pasted data or generated, and gets the few-MB time box. */
function timeLimit(text: string): number {
  return text.length > 64 * 1024 ? BIG_DOCUMENT_MS : ANALYZE_MS;
}

function analyze(text: string): { analysis: ConfigAnalysis; ms: number } {
  const once = () => {
    const r = timed(() => analyzeConfig(text, 'fuzz.gradmon.json', { memoryBudgetBytes: TEST_BUDGET }));
    if (r.error !== undefined) throw new Error(`analyzeConfig threw: ${(r.error as Error)?.stack ?? String(r.error)}`);
    return { analysis: r.value!, ms: r.ms };
  };
  const first = once();
  if (first.ms < timeLimit(text)) return first;
  // A garbage collection or a busy neighbour (suites run two at a time) can stall one call; slowness that
  // is the code's shows again.
  const second = once();
  return second.ms < first.ms ? second : first;
}

const SEVERITIES = new Set(['error', 'warning', 'info', 'hint']);

function assertWellFormed(text: string, analysis: ConfigAnalysis, ms: number, limitMs = timeLimit(text)): void {
  assert.ok(ms < limitMs, `analyzeConfig took ${ms.toFixed(0)} ms (limit ${limitMs}) on ${text.length} chars`);
  const { problems } = analysis;
  assert.ok(Array.isArray(problems));
  assert.ok(problems.length <= MAX_PROBLEMS, `${problems.length} problems (at most ${MAX_PROBLEMS} expected)`);
  for (const p of problems) {
    const where = `${p.code} [${p.start}, ${p.end}) of ${text.length}: ${p.message}`;
    assert.ok(Number.isInteger(p.start) && Number.isInteger(p.end), `non-integer range: ${where}`);
    assert.ok(p.start >= 0 && p.start <= p.end && p.end <= text.length, `range outside the document: ${where}`);
    assert.ok(typeof p.message === 'string' && p.message.trim().length > 0, `empty message: ${where}`);
    assert.ok(typeof p.code === 'string' && p.code.length > 0, `no code: ${where}`);
    assert.ok(SEVERITIES.has(p.severity), `severity ${p.severity}: ${where}`);
    assert.ok(Array.isArray(p.path) && p.path.every(s => typeof s === 'string' || (Number.isInteger(s) && s >= 0)), `bad JSON path ${safeStringify(p.path)}: ${where}`);
    assert.ok(!p.message.includes('[object Object]'), `message shows an object: ${where}`);
    if (!text.includes('undefined')) assert.ok(!/\bundefined\b/.test(p.message), `message shows undefined: ${where}`);
  }
  const errors = problems.filter(p => p.severity === 'error');
  assert.strictEqual(analysis.config !== undefined, errors.length === 0,
    `config ${analysis.config ? 'given despite errors' : 'missing without an error'}: ${errors.map(e => e.message).join(' | ')}`);
  // What the CLI and the training process show: 1-based positions inside the file.
  for (const q of positionProblems(analysis)) {
    assert.ok(q.line >= 1 && q.column >= 1 && (q.endLine > q.line || (q.endLine === q.line && q.endColumn >= q.column)), `bad position ${safeStringify(q)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------

describe('fuzz: config analysis', function () {
  this.timeout(120_000);
  after(() => console.log(tally.report('fuzz-config')));

  it('never throws on random text, and positions every problem inside it', () => {
    fc.assert(fc.property(randomTextArb, text => {
      tally.add('random texts');
      const { analysis, ms } = analyze(text);
      assertWellFormed(text, analysis, ms);
    }), fuzzParams());
  });

  it('never throws on mutated configs (types, keys, layer types, sizes, nesting, truncation, comments, BOM, CRLF, duplicates)', () => {
    fc.assert(fc.property(mutatedDocumentArb, text => {
      tally.add('mutated configs');
      const { analysis, ms } = analyze(text);
      assertWellFormed(text, analysis, ms);
      if (analysis.config) tally.add('mutated configs that were still valid');
    }), fuzzParams());
  });

  it('reads every shipped config in every style: comments, CRLF, CR, BOM, trailing commas, escaped keys', () => {
    fc.assert(fc.property(fc.constantFrom(...SEED_VALUES.keys()), styleArb, (i, style) => {
      tally.add('restyled shipped configs');
      const text = render(SEED_VALUES[i], { ...style, duplicateKeyRate: 0 });
      const { analysis, ms } = analyze(text);
      assertWellFormed(text, analysis, ms);
      const reference = analyze(JSON.stringify(SEED_VALUES[i])).analysis;
      assert.deepStrictEqual(analysis.problems.map(p => `${p.code} ${safeStringify(p.path)}`), reference.problems.map(p => `${p.code} ${safeStringify(p.path)}`),
        `${SEEDS[i].file}: the style changed the verdict`);
    }), fuzzParams(0.5));
  });

  it('accepts every value the JSON Schema accepts (no schema or syntax problem for schema-valid configs)', () => {
    fc.assert(fc.property(schemaValidArb, styleArb, (value, style) => {
      tally.add('schema-valid generated configs');
      const text = render(value, { ...style, duplicateKeyRate: 0 });
      const { analysis, ms } = analyze(text);
      assertWellFormed(text, analysis, ms);
      const structural = analysis.problems.filter(p => /^(schema|syntax|internal)\//.test(p.code));
      assert.deepStrictEqual(structural.map(p => `${p.code} at ${safeStringify(p.path)}: ${p.message}`), []);
      if (analysis.config) tally.add('schema-valid generated configs that passed the semantic checks');
    }), fuzzParams());
  });

  it('reports every single schema violation (type, enum, range, required, unknown key, items) at its path', () => {
    fc.assert(fc.property(schemaValidArb.chain(v => violationArb(v).map(x => ({ v, x }))), styleArb, ({ x }, style) => {
      if (!x) return;
      tally.add('single schema violations');
      const text = render(x.value, { ...style, duplicateKeyRate: 0 });
      const { analysis, ms } = analyze(text);
      assertWellFormed(text, analysis, ms);
      const hit = analysis.problems.find(p => x.codes.includes(p.code) && safeStringify(p.path) === safeStringify(x.path));
      assert.ok(hit, `${x.what} at ${safeStringify(x.path)} not reported as ${x.codes.join('/')}; got: ${analysis.problems.map(p => `${p.code} ${safeStringify(p.path)}`).join(', ') || 'nothing'}`);
      const span = spanOf(text, x.spanPath);
      assert.ok(span && hit.start >= span.start && hit.end <= span.end, `${x.what}: underline [${hit.start}, ${hit.end}) "${text.slice(hit.start, hit.end)}" outside ${safeStringify(span)} of ${safeStringify(x.spanPath)}`);
    }), fuzzParams());
  });

  it('answers within the time box for documents of a few MB', () => {
    const base = SEED_VALUES[0] as Record<string, unknown>;
    const big: [string, string][] = [
      ['3 MB description', JSON.stringify({ ...base, description: 'x'.repeat(3e6) })],
      ['30 000 layers', JSON.stringify({ ...base, model: Array.from({ length: 3e4 }, () => ({ type: 'dense', units: 4 })) })],
      ['60 000 duplicate keys', `{${Array.from({ length: 6e4 }, (_, i) => `"name":"${i}"`).join(',')}}`],
      ['30 000 unknown keys (took 143 s before the cap)', JSON.stringify({ ...base, ...Object.fromEntries(Array.from({ length: 3e4 }, (_, i) => [`k${i}`, i])) })],
      ['1 000 000 nested arrays', '['.repeat(1e6) + ']'.repeat(1e6)],
      ['500 000 nested objects, unclosed', '{"a":'.repeat(5e5)],
      ['3 MB of random bytes', Buffer.from(Array.from({ length: 3e6 }, (_, i) => (i * 2654435761) >>> 24)).toString('latin1')],
      ['1 MB of commas', '{' + ','.repeat(1e6) + '}'],
      ['3 MB line comment', '// ' + 'c'.repeat(3e6) + '\n{}'],
      ['3 MB unclosed block comment', '/* ' + 'c'.repeat(3e6)],
      ['3 MB unclosed string', '{"name": "' + 'x'.repeat(3e6)],
      ['1 000 000-digit number', `{"seed": ${'9'.repeat(1e6)}}`],
      ['3 MB of whitespace, then a config', ' \t\r\n'.repeat(75e4) + JSON.stringify(base)],
    ];
    for (const [what, text] of big) {
      tally.add('documents of a few MB');
      const { analysis, ms } = analyze(text);
      try {
        assertWellFormed(text, analysis, ms, BIG_DOCUMENT_MS);
      } catch (e) {
        (e as Error).message = `${what}: ${(e as Error).message}`;
        throw e;
      }
    }
  });

  describe('regressions the fuzzer found (each input as it was minimized)', () => {
    const problemsOf = (text: string) => analyze(text).analysis.problems;
    const valid = (extra: object = {}) => JSON.stringify({ name: 'r', data: { source: 'synthetic', task: 'blobs' }, model: [{ type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam' }, ...extra });
    const layerDoc = (layer: object, data: object = { source: 'synthetic', task: 'adding', sequenceLength: 2 }) =>
      JSON.stringify({ name: 'r', data, model: [layer, { type: 'flatten' }, { type: 'dense', units: 1 }], loss: 'meanSquaredError', optimizer: { type: 'adam' } });

    it('a truncated document ("{") is underlined inside the text, not one past its end', () => {
      const [p] = problemsOf('{');
      assert.ok(p.end <= 1, `[${p.start}, ${p.end})`);
    });
    it('100 000 nested arrays are a positioned problem, not a stack overflow', () => {
      const [p] = problemsOf('['.repeat(1e5));
      assert.strictEqual(p.code, 'syntax/too-deep');
      assert.strictEqual(p.start, MAX_NESTING);
    });
    it('a UTF-8 byte-order mark is not a syntax error', () => {
      assert.deepStrictEqual(problemsOf('\uFEFF' + valid()), []);
    });
    it('binary garbage and an unclosed comment are not called "empty"', () => {
      for (const text of ['\u0001\u00ff garbage', '/* unclosed']) assert.ok(!problemsOf(text).some(p => p.code === 'syntax/empty'), text);
      assert.strictEqual(problemsOf('  // only a comment\n')[0].code, 'syntax/empty');
    });
    it('20 000 duplicate keys give at most 200 problems (200 000 gave 200 003)', () => {
      assert.strictEqual(problemsOf(`{${Array.from({ length: 2e4 }, () => '"a":1').join(',')}}`).length, 200);
    });
    it('keys Object.prototype has ("constructor", "__proto__", "toString") are unknown keys, at the root and in layers', () => {
      for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        const text = valid().replace('{"name"', `{"${key}": 1, "name"`).replace('{"type":"dense"', `{"${key}": 2, "type":"dense"`);
        const unknown = problemsOf(text).filter(p => p.code === 'schema/unknown-key').map(p => safeStringify(p.path));
        assert.deepStrictEqual(unknown, [safeStringify([key]), safeStringify(['model', 0, key])], key);
      }
    });
    it('a number beyond 1.8e308 is "too large", not "null"', () => {
      const [p] = problemsOf(valid({ seed: 7 }).replace('"seed":7', '"seed":1e999'));
      assert.strictEqual(p.code, 'schema/range');
      assert.match(p.message, /too large/);
    });
    it('constraints are checked key by key (they were taken for a union and only their type was read)', () => {
      const text = layerDoc({ type: 'lstm', units: 2, returnSequences: true, kernelConstraint: { type: 'maxNorm', maxValue: 3, rate: 5, axis: 'x', zz: 1 } });
      const codes = problemsOf(text).map(p => `${p.code} ${safeStringify(p.path.slice(3))}`).sort();
      assert.deepStrictEqual(codes, ['schema/range ["rate"]', 'schema/type ["axis"]', 'schema/unknown-key ["zz"]']);
    });
    it('a maxPooling1d window longer than its input is a shape problem (it built a 0-step output)', () => {
      const [p] = problemsOf(layerDoc({ type: 'maxPooling1d', poolSize: 5 }));
      assert.strictEqual(p.code, 'semantic/shape');
    });
    it('causal padding and orthogonal biases are refused before tfjs fails on them', () => {
      assert.strictEqual(problemsOf(layerDoc({ type: 'conv1d', filters: 2, kernelSize: 1, padding: 'causal' }))[0].code, 'semantic/unsupported');
      assert.strictEqual(problemsOf(layerDoc({ type: 'lstm', units: 2, returnSequences: true, biasInitializer: 'orthogonal' }))[0].code, 'semantic/initializer');
    });
    it('csv options the loader refuses are reported in the config (a 2-character delimiter; text and feature columns)', () => {
      const csv = (extra: object) => valid({ data: { source: 'csv', path: 'x.csv', labelColumn: 'label', ...extra } });
      assert.strictEqual(problemsOf(csv({ delimiter: ';;' }))[0].code, 'schema/too-long');
      const options = (text: string) => problemsOf(text).filter(p => p.code === 'semantic/data-options').map(p => safeStringify(p.path));
      assert.deepStrictEqual(options(csv({ textColumn: 'text', featureColumns: ['a'] })), ['["data","featureColumns"]']);
      assert.deepStrictEqual(options(csv({ featureColumns: ['a', 'label', 'a'] })), ['["data","featureColumns",1]', '["data","featureColumns",2]']);
    });
  });

  describe('runs of valid configs', () => {
    let workspace: string;
    before(async () => {
      await useTestBackend();
      workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-fuzz-run-'));
      fs.writeFileSync(path.join(workspace, 'text.csv'), 'text,label\nspam spam eggs,a\nham and eggs,b\nmore spam,a\n');
    });
    after(() => fs.rmSync(workspace, { recursive: true, force: true }));

    let n = 0;
    async function prepare(config: unknown, budget: number | undefined) {
      const file = path.join(workspace, `run-${n++}.gradmon.json`);
      fs.writeFileSync(file, JSON.stringify(config, null, 2));
      const tensorsBefore = tf.memory().numTensors;
      const rssBefore = process.memoryUsage().rss;
      const r = await timedAsync(() => prepareRun({ configPath: file, workspaceRoot: workspace, backend: TEST_BACKEND, memoryBudgetBytes: budget, log: false }));
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      return { file, text: fs.readFileSync(file, 'utf8'), ...r, rssGrowth, tensorsBefore };
    }

    function assertPositioned(r: Awaited<ReturnType<typeof prepare>>) {
      const outcome = r.value!;
      assert.ok(!outcome.ok);
      assert.ok(outcome.problems.length > 0, 'refused without a problem');
      const lines = editorLineCount(r.text);
      for (const p of outcome.problems) {
        assert.strictEqual(p.file, r.file);
        assert.ok(p.message.trim().length > 0);
        assert.ok(p.line >= 1 && p.line <= lines && p.column >= 1, `bad position ${safeStringify(p)}`);
        assert.ok(p.endLine > p.line || (p.endLine === p.line && p.endColumn >= p.column), `bad end ${safeStringify(p)}`);
      }
    }

    it('either builds the model (with the parameters and shapes the checks predicted) or returns positioned problems', async () => {
      const rssStart = process.memoryUsage().rss;
      await fc.assert(fc.asyncProperty(plausibleConfigArb, async config => {
        tally.add('plausible synthetic configs through prepareRun');
        const r = await prepare(config, TEST_BUDGET);
        if (r.error !== undefined) throw new Error(`prepareRun threw: ${(r.error as Error)?.stack ?? r.error}`);
        assert.ok(r.ms < 10_000, `prepareRun took ${r.ms.toFixed(0)} ms`);
        const outcome = r.value!;
        if (!outcome.ok) {
          tally.add(`  … refused at the ${outcome.stage} stage: ${outcome.problems[0].code}`);
          assertPositioned(r);
          assert.ok(tf.memory().numTensors <= r.tensorsBefore, `a refused build leaked ${tf.memory().numTensors - r.tensorsBefore} tensors`);
          return;
        }
        tally.add('  … built');
        try {
          const { layers } = inferShapes(outcome.config);
          outcome.built.summaries.forEach((s, i) => {
            assert.strictEqual(s.params, layers[i].params, `${s.name}: ${s.params} parameters built, ${layers[i].params} predicted by the memory check`);
            const predicted = layers[i].output;
            assert.ok(s.outputShape.length === predicted.length && s.outputShape.every((d, k) => predicted[k] === null || d === predicted[k]),
              `${s.name}: output ${safeStringify(s.outputShape)} built, ${safeStringify(predicted)} predicted`);
          });
          const paramBytes = outcome.built.variables.reduce((a, v) => a + v.variable.size, 0) * 4;
          assert.ok(paramBytes <= TEST_BUDGET, `${paramBytes} bytes of parameters passed a ${TEST_BUDGET}-byte budget`);
        } finally {
          outcome.built.dispose();
        }
        // Known and outside the config code (reported): tfjs leaves a few tensors per LSTM with unitForgetBias
        // and per Bidirectional wrapper after model.dispose(). Bounded per build; counted so it stays visible.
        const leaked = tf.memory().numTensors - r.tensorsBefore;
        if (leaked > 0) tally.add('  … built, then left tensors after dispose (tfjs: lstm unitForgetBias / bidirectional)');
        assert.ok(leaked <= 8 * config.model.length, `the build leaked ${leaked} tensors`);
        const growth = process.memoryUsage().rss - rssStart;
        assert.ok(growth < 1.5 * 2 ** 30, `process memory grew by ${(growth / 2 ** 20).toFixed(0)} MB over the property`);
      }), fuzzParams(0.5));
    });

    it('runs the mutated documents that stay valid, read from disk as written (BOM, CRLF, comments)', async () => {
      // Mostly restyled seeds with at most one size changed, so that most stay valid and get run.
      const mildArb = fc.oneof(
        { arbitrary: mutatedDocumentArb, weight: 1 },
        { arbitrary: fc.record({ base: fc.constantFrom(...SEED_VALUES), size: fc.option(valueMutationArb.filter(m => m.kind === 'absurdSize')), style: styleArb })
          .map(r => render(mutateValue(r.base, r.size ? [r.size] : []), { ...r.style, duplicateKeyRate: 0 })), weight: 3 },
      );
      await fc.assert(fc.asyncProperty(mildArb, async text => {
        const { analysis } = analyze(text);
        if (!analysis.config) return;
        tally.add('valid mutated documents through prepareRun');
        const file = path.join(workspace, `mutated-${n++}.gradmon.json`);
        fs.writeFileSync(file, text);
        const rssBefore = process.memoryUsage().rss;
        const r = await timedAsync(() => prepareRun({ configPath: file, workspaceRoot: workspace, backend: TEST_BACKEND, memoryBudgetBytes: TEST_BUDGET, log: false }));
        if (r.error !== undefined) throw new Error(`prepareRun threw: ${(r.error as Error)?.stack ?? r.error}`);
        const outcome = r.value!;
        if (outcome.ok) {
          tally.add('  … built');
          outcome.built.dispose();
        } else {
          tally.add(`  … refused at the ${outcome.stage} stage: ${outcome.problems[0].code}`);
          assertPositioned({ file, text, ...r, rssGrowth: 0, tensorsBefore: 0 });
          // Read from disk, the document must get the verdict it got in memory (no BOM or line-end surprise);
          // only what needs the data (its classes, its width) may refuse it now.
          assert.ok(!outcome.problems.some(p => /^(syntax|schema|internal|io)\//.test(p.code)), `valid in memory, refused from disk: ${outcome.problems.map(p => `${p.code} ${p.message}`).join(' | ')}`);
        }
        assert.ok(process.memoryUsage().rss - rssBefore < 1.5 * 2 ** 30, 'memory grew by more than 1.5 GB');
      }), fuzzParams(0.5));
    });

    it('checks the model against the widths csv, jsonl and idx data bring, before building it', async () => {
      // Files whose example width the config does not say: 3000 columns, 784-pixel images.
      const rows = 6;
      const widths = [12, 784, 3000];
      for (const w of widths) {
        const names = Array.from({ length: w }, (_, i) => `f${i}`);
        const csv = [[...names, 'label'].join(','), ...Array.from({ length: rows }, (_, r) => [...names.map((_, i) => (r * i) % 7), r % 2].join(','))].join('\n');
        fs.writeFileSync(path.join(workspace, `wide-${w}.csv`), csv);
        fs.writeFileSync(path.join(workspace, `wide-${w}.jsonl`), Array.from({ length: rows }, (_, r) =>
          JSON.stringify(Object.fromEntries([...names.map((n, i) => [n, (r * i) % 7]), ['label', r % 2]]))).join('\n'));
        fs.writeFileSync(path.join(workspace, `images-${w}`), encodeIdx('ubyte', [rows, w], Array.from({ length: rows * w }, (_, i) => i % 256)));
      }
      fs.writeFileSync(path.join(workspace, 'labels'), encodeIdx('ubyte', [rows], Array.from({ length: rows }, (_, r) => r % 2)));
      const dataArb = fc.tuple(fc.constantFrom('csv', 'jsonl', 'idx'), fc.constantFrom(...widths)).map(([source, w]) =>
        source === 'idx' ? { source, images: `images-${w}`, labels: 'labels' } : { source, path: `wide-${w}.${source}`, labelColumn: 'label' });
      const widthUnits = fc.oneof(small(1, 64), fc.constantFrom(2000, 20000, 100000));
      await fc.assert(fc.asyncProperty(dataArb, fc.array(widthUnits, { minLength: 1, maxLength: 2 }), async (data, hidden) => {
        tally.add('csv/jsonl/idx configs of data-dependent width through prepareRun');
        const config = {
          name: 'wide', data, training: { batchSize: 4 }, loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam' },
          model: [...hidden.map(units => ({ type: 'dense', units, activation: 'relu' })), { type: 'dense', units: 2, activation: 'softmax' }],
        };
        const r = await prepare(config, TEST_BUDGET);
        if (r.error !== undefined) throw new Error(`prepareRun threw: ${(r.error as Error)?.stack ?? r.error}`);
        const outcome = r.value!;
        if (!outcome.ok) {
          tally.add(`  … refused: ${outcome.problems[0].code}`);
          assertPositioned(r);
          return;
        }
        tally.add('  … built');
        const params = outcome.built.variables.reduce((a, v) => a + v.variable.size, 0);
        outcome.built.dispose();
        // Weights, gradients and optimizer slots: the copies the memory check counts (semantic.ts).
        assert.ok(params * 5 * 4 <= TEST_BUDGET, `built ${params.toLocaleString('en-US')} parameters (${(params * 20 / 2 ** 20).toFixed(0)} MB to train) within a ${TEST_BUDGET / 2 ** 20} MB budget`);
        assert.ok(r.rssGrowth < TEST_BUDGET, `memory grew by ${(r.rssGrowth / 2 ** 20).toFixed(0)} MB`);
      }), fuzzParams(0.1));
    });

    it('regression: a dense layer of 100 000 units on 3000 csv columns was built within a 256 MB budget (1.2 GB of weights)', async () => {
      const names = Array.from({ length: 3000 }, (_, i) => `f${i}`);
      fs.writeFileSync(path.join(workspace, 'wide-regression.csv'), [[...names, 'label'].join(','), [...names.map(() => 1), 0].join(','), [...names.map(() => 2), 1].join(',')].join('\n'));
      const r = await prepare({ name: 'wide', data: { source: 'csv', path: 'wide-regression.csv', labelColumn: 'label' }, model: [{ type: 'dense', units: 100000 }, { type: 'dense', units: 2, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam' } }, TEST_BUDGET);
      assert.ok(r.value && !r.value.ok, 'built');
      assert.strictEqual(r.value.problems[0].code, 'semantic/too-large');
      assert.match(r.value.problems[0].message, /examples of \[3000\]/);
    });

    async function assertRefusedQuickly(knob: typeof ABSURD_KNOBS[number], config: PlausibleConfig) {
      tally.add('absurd sizes through prepareRun (default budget)');
      const absurd = knob.apply(clone(config) as PlausibleConfig);
      const r = await prepare(absurd, undefined);
      if (r.error !== undefined) throw new Error(`prepareRun threw: ${(r.error as Error)?.stack ?? r.error}`);
      if (r.value!.ok) {
        r.value!.built.dispose();
        assert.fail(`${knob.what}: accepted`);
      }
      assertPositioned(r);
      assert.match(r.value!.problems.map(p => p.message).join(' '), /memory|more than|at most|over the|limit/i, `${knob.what}: the message does not say what does not fit`);
      assert.ok(r.ms < 3000, `${knob.what}: refused only after ${r.ms.toFixed(0)} ms`);
      assert.ok(r.rssGrowth < 300 * 2 ** 20, `${knob.what}: memory grew by ${(r.rssGrowth / 2 ** 20).toFixed(0)} MB before the refusal`);
    }

    it('refuses each absurd size quickly, before allocating, with a message saying what does not fit', async () => {
      const base = fc.sample(plausibleConfigArb, { numRuns: 1, seed: 1 })[0];
      for (const knob of ABSURD_KNOBS) await assertRefusedQuickly(knob, base);
    });

    it('refuses absurd sizes on any plausible config', async () => {
      await fc.assert(fc.asyncProperty(plausibleConfigArb, fc.constantFrom(...ABSURD_KNOBS), async (config, knob) => {
        await assertRefusedQuickly(knob, config);
      }), fuzzParams(0.1));
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Single violations of the schema, found by walking a schema-valid value alongside the schema.

interface Violation { value: unknown; path: (string | number)[]; spanPath: (string | number)[]; codes: string[]; what: string }

function typeMatches(v: unknown, t: string): boolean {
  if (t === 'null') return v === null;
  if (t === 'array') return Array.isArray(v);
  if (t === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  if (t === 'integer') return Number.isInteger(v);
  return typeof v === t;
}

/** The schema that governs `v` (oneOf resolved by type, discriminated unions by their key). */
function resolve(s: JsonSchema, v: unknown): JsonSchema {
  if (s.oneOf) return resolve(s.oneOf.find(o => o.type === undefined || typeMatches(v, o.type as string)) ?? s.oneOf[0], v);
  const branches = (s.allOf ?? []).filter(b => b.if?.properties && b.then?.properties);
  if (branches.length > 1 && v && typeof v === 'object') {
    const key = Object.keys(branches[0].if!.properties!)[0];
    const b = branches.find(x => x.if!.properties![key].const === (v as Record<string, unknown>)[key]);
    if (b) return { ...b.then!, discriminator: key } as JsonSchema;
  }
  return s;
}

function violationsOf(root: unknown): ((copy: unknown) => Violation)[] {
  const out: ((copy: unknown) => Violation)[] = [];
  const at = (doc: unknown, p: (string | number)[]): unknown => p.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k as string], doc);
  const set = (doc: unknown, p: (string | number)[], value: unknown) => setOwn(at(doc, p.slice(0, -1)) as Container, p[p.length - 1], value);
  /** `unionTypes`: the types a oneOf allows, so "wrong type" means wrong for every alternative. */
  const walk = (v: unknown, schema: JsonSchema, p: (string | number)[], unionTypes: string[] | undefined) => {
    const s = resolve(schema, v);
    const types = unionTypes ?? (s.type === undefined ? undefined : Array.isArray(s.type) ? s.type : [s.type]);
    const valueSite = (value: unknown, codes: string[], what: string) => out.push(doc => {
      if (p.length === 0) return { value, path: p, spanPath: p, codes, what };
      set(doc, p, value);
      return { value: doc, path: p, spanPath: p, codes, what };
    });
    if (types) {
      const wrong = [{}, [], 'text', 1.5, true, null].find(w => !types.some(t => typeMatches(w, t) || (t === 'number' && typeof w === 'number')));
      if (wrong !== undefined) valueSite(wrong, ['schema/type'], `wrong type ${safeStringify(wrong)}`);
    }
    if (s.enum) valueSite('not-a-known-value', ['schema/enum'], 'unknown enum value');
    if (typeof v === 'number') {
      if (s.type === 'integer') valueSite(Math.floor(v) + 0.5, ['schema/type'], 'fraction for an integer');
      if (s.minimum !== undefined) valueSite(s.minimum - 1, ['schema/range'], `below minimum ${s.minimum}`);
      if (s.exclusiveMinimum !== undefined) valueSite(s.exclusiveMinimum, ['schema/range'], `at exclusiveMinimum ${s.exclusiveMinimum}`);
      if (s.maximum !== undefined) valueSite(s.maximum + 1, ['schema/range'], `above maximum ${s.maximum}`);
      if (s.exclusiveMaximum !== undefined) valueSite(s.exclusiveMaximum, ['schema/range'], `at exclusiveMaximum ${s.exclusiveMaximum}`);
    }
    if (typeof v === 'string' && s.minLength) valueSite('', ['schema/empty'], 'empty string');
    if (typeof v === 'string' && s.maxLength !== undefined) valueSite('x'.repeat(s.maxLength + 1), ['schema/too-long'], `longer than ${s.maxLength}`);
    if (Array.isArray(v)) {
      if (s.minItems) valueSite(v.slice(0, s.minItems - 1), ['schema/min-items'], `fewer than ${s.minItems} items`);
      if (s.maxItems !== undefined && s.maxItems <= 1000 && v.length > 0) valueSite(Array.from({ length: s.maxItems + 1 }, (_, i) => v[i % v.length]), ['schema/max-items'], `more than ${s.maxItems} items`);
      v.forEach((x, i) => {
        const item = Array.isArray(s.items) ? s.items[i] : s.items;
        if (item) walk(x, item, [...p, i], undefined);
      });
    } else if (v && typeof v === 'object' && s.properties) {
      const o = v as Record<string, unknown>;
      const disc = (s as { discriminator?: string }).discriminator;
      if (s.additionalProperties === false) {
        for (const key of ['zzzUnknown', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
          out.push(doc => {
            setOwn((p.length ? at(doc, p) : doc) as Container, key, 1);
            return { value: doc, path: [...p, key], spanPath: [...p, key], codes: ['schema/unknown-key'], what: `unknown key "${key}"` };
          });
        }
      }
      const conditional = (s.allOf ?? []).filter(b => b.if?.properties && !b.then?.properties && Object.entries(b.if.properties).every(([k, c]) => o[k] === c.const)).flatMap(b => b.then!.required ?? []);
      for (const key of new Set([...(s.required ?? []), ...conditional])) {
        if (!(key in o)) continue;
        out.push(doc => {
          delete ((p.length ? at(doc, p) : doc) as Record<string, unknown>)[key];
          return { value: doc, path: p, spanPath: p, codes: ['schema/required'], what: `missing "${key}"` };
        });
      }
      for (const [k, x] of Object.entries(o)) {
        const ps = s.properties[k];
        if (!ps) continue;
        if (k === disc) {
          out.push(doc => {
            set(doc, [...p, k], 'notALayerOrSource');
            return { value: doc, path: [...p, k], spanPath: [...p, k], codes: ['schema/enum'], what: `unknown ${k}` };
          });
          continue;
        }
        walk(x, ps, [...p, k], ps.oneOf ? ps.oneOf.flatMap(a => (a.type === undefined ? [] : Array.isArray(a.type) ? a.type : [a.type])) : undefined);
      }
    }
  };
  walk(root, CONFIG_SCHEMA, [], undefined);
  return out;
}

function violationArb(value: unknown): fc.Arbitrary<Violation | undefined> {
  const all = violationsOf(value);
  if (all.length === 0) return fc.constant(undefined);
  return fc.nat({ max: all.length - 1 }).map(i => all[i](clone(value)));
}

/** The text a problem about `p` may underline: the property (key and value), or the value itself. */
function spanOf(text: string, p: (string | number)[]): { start: number; end: number } | undefined {
  const tree = jsonc.parseTree(text.replace(/^\uFEFF/, ' '), [], { allowTrailingComma: true });
  for (let n = p.length; n >= 0; n--) {
    const node = tree && jsonc.findNodeAtLocation(tree, p.slice(0, n));
    if (!node) continue;
    const holder = node.parent?.type === 'property' ? node.parent : node;
    return { start: holder.offset, end: holder.offset + holder.length };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Plausible configs on synthetic data: models that fit their task, sizes mostly small, sometimes absurd,
// with random initializers, regularizers, constraints, optimizers and clipping from the schema.

type PlausibleConfig = Record<string, unknown> & { data: Record<string, unknown>; model: Record<string, unknown>[]; training: Record<string, unknown> };

const small = (min: number, max: number) => fc.integer({ min, max });
const unitsArb = fc.oneof({ arbitrary: small(1, 12), weight: 12 }, { arbitrary: fc.constantFrom(1000, 20000), weight: 1 });
const LAYER = (type: string) => (CONFIG_SCHEMA.properties!.model.items as JsonSchema).allOf!.find(b => b.if!.properties!.type.const === type)!.then!;
const extrasArb = (type: string) => {
  const props = LAYER(type).properties!;
  const pickable = ['kernelInitializer', 'biasInitializer', 'recurrentInitializer', 'kernelRegularizer', 'kernelConstraint', 'recurrentConstraint', 'useBias', 'activation', 'recurrentActivation', 'unitForgetBias', 'bidirectional']
    .filter(k => props[k]);
  return fc.record(Object.fromEntries(pickable.map(k => [k, arbFromSchema(props[k])])), { requiredKeys: [] });
};
const denseArb = (units: fc.Arbitrary<number>) => fc.tuple(units, extrasArb('dense')).map(([u, x]) => ({ type: 'dense', ...x, units: u }));
// Recurrent layers stay small: tfjs-layers' orthogonal initializer (the recurrent default) is a QR
// decomposition op by op, 26 s for 512 LSTM units and minutes for 1000 (reported; the engine's to fix).
const rnnArb = (returnSequences: boolean) => fc.tuple(fc.constantFrom('simpleRNN', 'lstm', 'gru'), small(1, 12)).chain(([type, units]) =>
  extrasArb(type).map(x => ({ type, ...x, units, returnSequences })));
const middleArb = fc.oneof(
  fc.constant({ type: 'dropout', rate: 0.1 }),
  fc.constant({ type: 'layerNormalization' }),
  fc.constant({ type: 'batchNormalization' }),
  fc.constantFrom('relu', 'tanh', 'leakyRelu', 'gelu').map(a => ({ type: 'activation', activation: a })),
);
const headArb = fc.constantFrom('globalMaxPooling1d', 'globalAveragePooling1d', 'flatten').map(type => ({ type }));

const sequenceModelArb: fc.Arbitrary<Record<string, unknown>[]> = fc.oneof(
  fc.tuple(fc.array(rnnArb(true), { maxLength: 1 }), rnnArb(false), fc.array(middleArb, { maxLength: 1 })).map(([a, b, c]) => [...a, b, ...c]),
  fc.tuple(small(1, 8), small(1, 5), fc.constantFrom('valid', 'same', 'causal'), small(1, 3), fc.boolean(), small(1, 4), headArb)
    .map(([filters, kernelSize, padding, strides, pool, poolSize, head]) => [
      { type: 'conv1d', filters, kernelSize, padding, strides, activation: 'relu' },
      ...(pool ? [{ type: 'maxPooling1d', poolSize }] : []),
      head,
    ]),
  fc.tuple(rnnArb(true), headArb).map(([r, h]) => [r, h]),
);
const vectorModelArb = fc.array(fc.oneof({ arbitrary: denseArb(unitsArb), weight: 3 }, { arbitrary: middleArb, weight: 1 }), { maxLength: 3 });

interface TaskSpecArb { task: string; outputs: number; loss: string[]; sequence: boolean }
const TASKS: TaskSpecArb[] = [
  { task: 'adding', outputs: 1, loss: ['meanSquaredError', 'meanAbsoluteError', 'huber'], sequence: true },
  { task: 'temporalOrder', outputs: 4, loss: ['sparseCategoricalCrossentropy'], sequence: true },
  { task: 'parity', outputs: 2, loss: ['sparseCategoricalCrossentropy'], sequence: true },
  { task: 'blobs', outputs: 3, loss: ['sparseCategoricalCrossentropy'], sequence: false },
];

const plausibleConfigArb: fc.Arbitrary<PlausibleConfig> = fc.constantFrom(...TASKS).chain(t => fc.record({
  name: fc.oneof(fc.constantFrom('fuzz', 'a b', 'ünï', 'x/y', '日本'), fc.string({ minLength: 1, maxLength: 10 })),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  data: fc.record<Record<string, unknown>>({
    source: fc.constant('synthetic'),
    task: fc.constant(t.task),
    examples: fc.oneof({ arbitrary: small(2, 64), weight: 9 }, { arbitrary: fc.constantFrom(5000), weight: 1 }),
    ...(t.sequence ? { sequenceLength: fc.oneof({ arbitrary: small(2, 12), weight: 9 }, { arbitrary: fc.constantFrom(200), weight: 1 }) } as Record<string, fc.Arbitrary<unknown>>
      : { features: small(1, 24), classes: fc.constant(3) }),
    validationSplit: fc.constantFrom(0, 0.1, 0.5, 0.9),
  }, { requiredKeys: ['source', 'task', 'examples'] }),
  body: t.sequence ? sequenceModelArb : vectorModelArb,
  outputActivation: t.outputs === 1 ? fc.constantFrom('linear', 'linear', 'relu', 'sigmoid') : fc.constantFrom('softmax', 'softmax', 'linear', 'sigmoid'),
  outputUnits: fc.oneof({ arbitrary: fc.constant(t.outputs), weight: 6 }, { arbitrary: small(1, 5), weight: 1 }),
  loss: fc.oneof({ arbitrary: fc.constantFrom(...t.loss), weight: 6 }, { arbitrary: arbFromSchema(CONFIG_SCHEMA.properties!.loss), weight: 1 }),
  optimizer: arbFromSchema(CONFIG_SCHEMA.properties!.optimizer),
  clipping: arbFromSchema(CONFIG_SCHEMA.properties!.clipping),
  training: fc.record({ epochs: fc.constant(1), batchSize: fc.oneof(small(1, 64), fc.constant(100_000)), maxSteps: small(1, 3) }),
}).map(r => ({
  name: r.name, seed: r.seed, data: r.data,
  model: [...r.body, { type: 'dense', units: r.outputUnits, activation: r.outputActivation }],
  loss: r.loss, optimizer: r.optimizer, clipping: r.clipping, training: r.training,
})));

/** One absurd knob on an otherwise plausible config; each must be refused by a memory or size check. */
const ABSURD_KNOBS: { what: string; apply(c: PlausibleConfig): PlausibleConfig }[] = [
  { what: 'two dense layers of 1e6 units', apply: c => ({ ...c, data: { source: 'synthetic', task: 'blobs', classes: 3 }, model: [{ type: 'dense', units: 1e6 }, { type: 'dense', units: 1e6 }, { type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }) },
  { what: 'an embedding of 1e7 × 1e5 on text', apply: c => ({ ...c, data: { source: 'csv', path: 'text.csv', textColumn: 'text', labelColumn: 'label', vocabularySize: 1e7 }, model: [{ type: 'embedding', outputDim: 1e5 }, { type: 'globalAveragePooling1d' }, { type: 'dense', units: 2, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }) },
  { what: 'an lstm of 1e6 units', apply: c => ({ ...c, data: { ...c.data, task: 'adding', sequenceLength: 10 }, model: [{ type: 'lstm', units: 1e6 }, { type: 'dense', units: 1 }], loss: 'meanSquaredError' }) },
  { what: 'batch 1e6 of 1e5-step sequences', apply: c => ({ ...c, data: { source: 'synthetic', task: 'parity', sequenceLength: 1e5, examples: 4 }, model: [{ type: 'simpleRNN', units: 64 }, { type: 'dense', units: 2, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy', training: { ...c.training, batchSize: 1e6 } }) },
  { what: '1e7 examples of 1e5 steps', apply: c => ({ ...c, data: { source: 'synthetic', task: 'adding', examples: 1e7, sequenceLength: 1e5 }, model: [{ type: 'flatten' }, { type: 'dense', units: 1 }], loss: 'meanSquaredError' }) },
  { what: '1e7 examples of 1e5 steps, 10 kept by maxExamples', apply: c => ({ ...c, data: { source: 'synthetic', task: 'adding', examples: 1e7, sequenceLength: 1e5, maxExamples: 10 }, model: [{ type: 'flatten' }, { type: 'dense', units: 1 }], loss: 'meanSquaredError' }) },
  { what: '1e7 blobs of 1e6 features, 2 kept by maxExamples', apply: c => ({ ...c, data: { source: 'synthetic', task: 'blobs', examples: 1e7, features: 1e6, classes: 2, maxExamples: 2 }, model: [{ type: 'dense', units: 2, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }) },
  { what: 'blobs of 1e6 features around 1e5 centres', apply: c => ({ ...c, data: { source: 'synthetic', task: 'blobs', examples: 2, features: 1e6, classes: 1e5 }, model: [{ type: 'dense', units: 1e5, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }) },
  { what: 'blobs of 1e6 features around 2000 centres', apply: c => ({ ...c, data: { source: 'synthetic', task: 'blobs', examples: 2, features: 1e6, classes: 2000 }, model: [{ type: 'dense', units: 2000, activation: 'softmax' }], loss: 'sparseCategoricalCrossentropy' }) },
];

