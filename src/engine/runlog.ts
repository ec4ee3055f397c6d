// The run log: `.gradmon/runs/<run id>/` with the config as written and as run, every event as one JSON
// line (appended with one write each, so a killed process leaves every completed line intact), and a
// summary written atomically at the end. Readers tolerate a torn last line.

import * as fs from 'fs';
import * as path from 'path';
import type { Histogram, LayerStats, RunEvent, RunStartEvent, RunSummary, StepEvent, StepStats, VariableStats } from '../protocol';
import { mergeHistograms } from './stats';

export const RUNS_DIR = path.join('.gradmon', 'runs');
export const EVENTS_FILE = 'events.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const CONFIG_FILE = 'config.json';
export const SOURCE_FILE = 'config.source.jsonc';

/** A log that cannot be written must stop the run (never train silently unlogged). */
export class RunLogError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'RunLogError';
  }
}

export function describeIoError(e: unknown, target: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOSPC': return `Cannot write ${target}: the disk is full. Free some space and start the run again.`;
    case 'EDQUOT': return `Cannot write ${target}: disk quota exceeded.`;
    case 'EACCES':
    case 'EPERM': return `Cannot write ${target}: permission denied. Make the folder writable (or remove it so it can be re-created).`;
    case 'EROFS': return `Cannot write ${target}: the file system is read-only.`;
    case 'ENOTDIR': return `Cannot write ${target}: a file is in the way where a folder should be.`;
    default: return `Cannot write ${target}: ${(e as Error).message}`;
  }
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'run';
}

export function newRunId(name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${slug(name)}`;
}

export class RunLogWriter {
  private fd: number | undefined;
  readonly eventsPath: string;
  bytesWritten = 0;

  private constructor(readonly dir: string, readonly runId: string) {
    this.eventsPath = path.join(dir, EVENTS_FILE);
  }

  /** Creates the run folder under `<root>/.gradmon/runs/`. Throws RunLogError with a clear message. */
  static create(root: string, name: string, sourceText?: string): RunLogWriter {
    const base = path.join(root, RUNS_DIR);
    let id = newRunId(name);
    let dir = path.join(base, id);
    try {
      fs.mkdirSync(base, { recursive: true });
      // The log stays in the workspace: a `.gradmon` (or `runs`) symlinked elsewhere is refused, not followed.
      const realRoot = fs.realpathSync(root);
      const realBase = fs.realpathSync(base);
      if (realBase !== path.join(realRoot, RUNS_DIR)) {
        throw new RunLogError(`The run log folder ${path.join(RUNS_DIR)} resolves to ${realBase}, outside the workspace ${realRoot} (a symbolic link?). Remove the link so that run logs stay in the workspace.`);
      }
      for (let n = 2; fs.existsSync(dir); n++) {
        id = `${newRunId(name)}-${n}`;
        dir = path.join(base, id);
      }
      fs.mkdirSync(dir);
      const w = new RunLogWriter(dir, id);
      if (sourceText !== undefined) fs.writeFileSync(path.join(dir, SOURCE_FILE), sourceText);
      w.fd = fs.openSync(w.eventsPath, 'a');
      return w;
    } catch (e) {
      if (e instanceof RunLogError) throw e;
      throw new RunLogError(describeIoError(e, `the run log in ${path.relative(root, base) || base}`), e);
    }
  }

  /** Appends to an existing run folder's log (the monitor thread continues what `create` began). */
  static resume(dir: string): RunLogWriter {
    const w = new RunLogWriter(dir, path.basename(dir));
    try {
      w.fd = fs.openSync(w.eventsPath, 'a');
    } catch (e) {
      throw new RunLogError(describeIoError(e, w.eventsPath), e);
    }
    return w;
  }

  writeConfig(config: unknown): void {
    this.writeFile(CONFIG_FILE, JSON.stringify(config, null, 2) + '\n');
  }

  append(event: RunEvent): void {
    if (this.fd === undefined) return;
    const line = eventLine(event) + '\n';
    try {
      fs.writeSync(this.fd, line);
      this.bytesWritten += line.length;
    } catch (e) {
      throw new RunLogError(describeIoError(e, this.eventsPath), e);
    }
  }

  writeSummary(summary: RunSummary): void {
    this.writeFile(SUMMARY_FILE, JSON.stringify(summary, numberReplacer, 2) + '\n');
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.fsyncSync(this.fd);
    } catch { /* best effort: the lines are already written */ }
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /** Atomic: write a temp file, then rename over the target. */
  private writeFile(name: string, text: string): void {
    const target = path.join(this.dir, name);
    const tmp = `${target}.tmp-${process.pid}`;
    try {
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, target);
    } catch (e) {
      try { fs.rmSync(tmp, { force: true }); } catch { /* ignore */ }
      throw new RunLogError(describeIoError(e, target), e);
    }
  }
}

/**
 * Every step's scalars and per-layer summary are logged; the detail (per-variable statistics and histograms)
 * is kept for the first DETAIL_STEPS steps, then for one step in 2, 4, 8… as the run doubles in length, and
 * always for steps with NaN/Inf. The log then grows with log(steps) in detail and linearly only in scalars:
 * about 1 KB per step for a small model, so a 100k-step run stays around 100 MB instead of growing without bound.
 */
export const DETAIL_STEPS = 1000;

export function keepsDetail(e: StepEvent): boolean {
  if (!e.stats) return false;
  if (e.step < DETAIL_STEPS) return true;
  if (!Number.isFinite(e.loss) || !Number.isFinite(e.stats.globalNorm)) return true;
  const stride = 2 ** Math.floor(Math.log2(e.step / DETAIL_STEPS) + 1);
  return e.step % stride === 0;
}

/** A histogram in the log: zeros trimmed from both ends of the counts. */
interface LoggedHistogram extends Omit<Histogram, 'counts'> {
  bins: number;
  offset: number;
  counts: number[];
}

function trimHistogram(h: Histogram): LoggedHistogram {
  let a = 0;
  let b = h.counts.length;
  while (a < b && h.counts[a] === 0) a++;
  while (b > a && h.counts[b - 1] === 0) b--;
  return { ...h, bins: h.counts.length, offset: a, counts: h.counts.slice(a, b) };
}

function expandHistogram(h: Histogram | LoggedHistogram): Histogram {
  if (!('offset' in h)) return h;
  const counts = new Array<number>(h.bins).fill(0);
  h.counts.forEach((c, i) => { counts[h.offset + i] = c; });
  const { bins: _bins, offset: _offset, ...rest } = h;
  return { ...rest, counts };
}

/**
 * What the log stores of a step: the layer's own histogram is the sum of its variables' and is rebuilt on read.
 * (The definition; `eventLine` writes the same JSON without building this copy.)
 */
export function compactStep(e: StepEvent, detail: boolean): unknown {
  if (!e.stats) return e;
  const layers = e.stats.layers.map(l => {
    const { histogram: _h, ...grad } = l.grad;
    return detail
      ? { ...l, grad, variables: l.variables.map(v => ({ ...v, grad: { ...v.grad, histogram: v.grad.histogram && trimHistogram(v.grad.histogram) } })) }
      : { ...l, grad, variables: [] };
  });
  return { ...e, stats: { ...e.stats, layers } };
}

function restoreStep(e: StepEvent): StepEvent {
  for (const l of e.stats?.layers ?? []) {
    const hs: Histogram[] = [];
    for (const v of l.variables) {
      if (v.grad.histogram) {
        v.grad.histogram = expandHistogram(v.grad.histogram);
        hs.push(v.grad.histogram);
      }
    }
    if (!l.grad.histogram && hs.length) l.grad.histogram = mergeHistograms(hs);
  }
  return e;
}

/** One event as its log line (without the newline): JSON, numbers as `numberReplacer` writes them. */
export function eventLine(event: RunEvent): string {
  if (event.type !== 'step' || !event.stats) return jsonLine(event);
  // compactStep's output, written straight from the event: copying it first was half the cost of a line.
  const detail = keepsDetail(event);
  const histogramText = (h: unknown) => {
    const { counts } = h as Histogram;
    let a = 0;
    let b = counts.length;
    while (a < b && counts[a] === 0) a++;
    while (b > a && counts[b - 1] === 0) b--;
    const text = objectText(h as Record<string, unknown>, key => (key === 'counts' ? jsonText(counts.slice(a, b)) : undefined));
    return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"bins":${counts.length},"offset":${a}}`;
  };
  const withoutHistogram = (key: string) => (key === 'histogram' ? null : undefined);
  const variableText = (v: VariableStats) => objectText(v as unknown as Record<string, unknown>, (key, grad) => (key === 'grad'
    ? objectText(grad as Record<string, unknown>, (k, h) => (k === 'histogram' && h !== undefined ? histogramText(h) : undefined))
    : undefined));
  const layerText = (l: LayerStats) => objectText(l as unknown as Record<string, unknown>, (key, value) => (key === 'grad'
    ? objectText(value as Record<string, unknown>, withoutHistogram)
    : key === 'variables' ? (detail ? `[${l.variables.map(variableText).join(',')}]` : '[]') : undefined));
  const statsText = (stats: StepStats) => objectText(stats as unknown as Record<string, unknown>, key => (key === 'layers'
    ? `[${stats.layers.map(layerText).join(',')}]` : undefined));
  return objectText(event as unknown as Record<string, unknown>, (key, value) => (key === 'stats' ? statsText(value as StepStats) : undefined));
}

/**
 * JSON.stringify(value, numberReplacer), written out: the run log serializes every step, and a replacer makes
 * V8 call back into JS for every key and value (~0.1-0.3 ms for a monitored step with its histograms; this is
 * 2-3x faster). Same output byte for byte for what events hold (plain objects, arrays, strings, numbers,
 * booleans, null, undefined); anything else (an object with toJSON, a typed array) goes to JSON.stringify.
 */
/** numberText for tests: how the log writes a number. */
export const logNumberText = (n: number) => numberText(n);

export function jsonLine(value: unknown): string {
  return jsonText(value) ?? 'null';
}

const quotedKeys = new Map<string, string>();
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/; // printable ASCII but " and \\: nothing to escape

function quote(text: string): string {
  return PLAIN_STRING.test(text) ? '"' + text + '"' : JSON.stringify(text);
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"Infinity"' : '"-Infinity"';
  return Number.isInteger(n) ? '' + n : sevenDigits(n);
}

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k); // exact doubles

/**
 * String(Number(x.toPrecision(7))) for a finite x, without toPrecision's string and its parse (a third of the
 * cost of a monitored step's log line). x·10^k is one correctly rounded operation with an exact power of ten,
 * so its rounding to an integer is toPrecision's unless it lies within ~1e-9 of a half: those, and magnitudes
 * beyond exact powers, take toPrecision. Compared with it on millions of values (test/unit/engine.test.ts).
 */
function sevenDigits(x: number): string {
  const a = x < 0 ? -x : x;
  const e = Math.floor(Math.log10(a));
  const k = 6 - e;
  if (k > 22 || k < -22) return '' + Number(x.toPrecision(7));
  const m = k >= 0 ? a * POWERS_OF_TEN[k] : a / POWERS_OF_TEN[-k];
  const fraction = m - Math.floor(m);
  if (m < 1e6 || m >= 1e7 - 0.5 || (fraction > 0.4999999 && fraction < 0.5000001)) return '' + Number(x.toPrecision(7));
  let digits = '' + Math.round(m);
  let end = 7;
  while (digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  // Number::toString's layout for digits × 10^(n − end) (ECMA-262 Number::toString, radix 10)
  const n = e + 1;
  let text: string;
  if (end <= n && n <= 21) text = digits + '0'.repeat(n - end);
  else if (n > 0 && n <= 21) text = digits.slice(0, n) + '.' + digits.slice(n);
  else if (n > -6 && n <= 0) text = '0.' + '0'.repeat(-n) + digits;
  else text = digits[0] + (end > 1 ? '.' + digits.slice(1) : '') + 'e' + (n - 1 >= 0 ? '+' : '-') + Math.abs(n - 1);
  return x < 0 ? '-' + text : text;
}

/** The JSON text of value, or undefined for what JSON.stringify leaves out of objects. */
function jsonText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number': return numberText(value);
    case 'string': return quote(value);
    case 'boolean': return value ? 'true' : 'false';
    case 'object': break;
    default: return undefined; // undefined, functions, symbols (a bigint throws in JSON.stringify below)
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i > 0 ? ',' : '') + (jsonText(value[i]) ?? 'null');
    return text + ']';
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.stringify(value, numberReplacer);
  }
  return objectText(value as Record<string, unknown>);
}

/**
 * A plain object's JSON; `special(key, value)` may give a key's text instead (null: leave the key out;
 * undefined: the usual text).
 */
function objectText(value: Record<string, unknown>, special?: (key: string, value: unknown) => string | null | undefined): string {
  let text = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const given = special?.(key, value[key]);
    if (given === null) continue;
    const item = given ?? jsonText(value[key]);
    if (item === undefined) continue;
    let quoted = quotedKeys.get(key);
    if (quoted === undefined) {
      quoted = quote(key) + ':';
      if (quotedKeys.size < 1000) quotedKeys.set(key, quoted);
    }
    text += (first ? quoted : ',' + quoted) + item;
    first = false;
  }
  return text + '}';
}

/** JSON has no NaN/Infinity: keep them readable as strings so a NaN run's log says what happened. */
function numberReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
    // Statistics come from float32 values: 7 significant digits is all they hold.
    if (!Number.isInteger(value)) return Number(value.toPrecision(7));
  }
  return value;
}

/** Turns the strings written by numberReplacer back into numbers. */
export function reviveNumbers(_key: string, value: unknown): unknown {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return value;
}

export interface RunRecord {
  dir: string;
  runId: string;
  start?: RunStartEvent;
  events: RunEvent[];
  summary?: RunSummary;
  /** Lines that could not be parsed (a torn last line after a crash is expected; others are reported). */
  badLines: number[];
  /** True when the run has no run-end event and no summary: it crashed or is still running. */
  incomplete: boolean;
}

/** One log line as an event (NaN/Infinity revived, compacted detail restored); undefined when it does not parse. */
function parseLine(line: string): RunEvent | undefined {
  try {
    const e = JSON.parse(line, reviveNumbers) as RunEvent;
    return e.type === 'step' ? restoreStep(e) : e;
  } catch {
    return undefined;
  }
}

function record(dir: string, events: RunEvent[], badLines: number[]): RunRecord {
  let summary: RunSummary | undefined;
  try {
    summary = JSON.parse(fs.readFileSync(path.join(dir, SUMMARY_FILE), 'utf8'), reviveNumbers) as RunSummary;
  } catch { /* not finished */ }
  const start = events.find((e): e is RunStartEvent => e.type === 'run-start');
  return {
    dir, runId: path.basename(dir), start, events, summary, badLines,
    incomplete: !summary && !events.some(e => e.type === 'run-end'),
  };
}

/** Reads a whole run folder (for exports and tests); never throws for content problems (counted in badLines). */
export function readRun(dir: string, options: { maxEvents?: number } = {}): RunRecord {
  const events: RunEvent[] = [];
  const badLines: number[] = [];
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, EVENTS_FILE), 'utf8');
  } catch { /* no events yet */ }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const e = parseLine(lines[i]);
    if (e) events.push(e);
    else badLines.push(i + 1);
    if (options.maxEvents !== undefined && events.length >= options.maxEvents) break;
  }
  return record(dir, events, badLines);
}

/** Step lines a view parses at most: the UI history keeps ≤ 512 buckets per series anyway. */
export const VIEW_STEP_LINES = 8192;
const STEP_PREFIX = '{"type":"step"';

/**
 * Reads a run folder for the views without blocking or holding the whole log: streamed in chunks (yielding to
 * the event loop between them), every non-step event kept, and of the step lines a sample that thins as the log
 * grows (every 1st, then 2nd, 4th… line, at most VIEW_STEP_LINES) — plus the lines with NaN/Infinity (the first
 * VIEW_STEP_LINES/4 of them) and the last step. A 100k-step log (60–170 MB) otherwise took seconds of the extension host and hundreds of MB.
 */
export async function readRunForView(dir: string): Promise<RunRecord> {
  const events: RunEvent[] = [];
  const badLines: number[] = [];
  // Kept step lines wait as text until the end (parsing is the cost), keyed by their position among all events.
  let kept: { at: number; line: string; no: number; sticky: boolean }[] = [];
  let stride = 1;
  let stepNo = 0;
  let stickyCount = 0;
  let lastStep: { at: number; line: string; no: number } | undefined;
  let stepBefore: typeof lastStep;
  const others: { at: number; event: RunEvent }[] = [];
  let lineNo = 0;
  let order = 0;
  const take = (line: string) => {
    lineNo++;
    if (!line.trim()) return;
    const at = order++;
    if (line.startsWith(STEP_PREFIX)) {
      // A run that keeps going with NaN (haltOnNonFinite off) must not keep every line: the first ones tell.
      const sticky = stickyCount < VIEW_STEP_LINES / 4 && (line.includes('"NaN"') || line.includes('Infinity"'));
      if (sticky) stickyCount++;
      stepBefore = lastStep;
      lastStep = { at, line, no: lineNo };
      if (sticky || stepNo % stride === 0) {
        kept.push({ at, line, no: lineNo, sticky });
        if (kept.length > VIEW_STEP_LINES) {
          // Thin: keep every other sampled line (and the sticky ones); sample half as often from now on.
          let i = 0;
          kept = kept.filter(k => k.sticky || i++ % 2 === 0);
          stride *= 2;
        }
      }
      stepNo++;
      return;
    }
    const e = parseLine(line);
    if (e) others.push({ at, event: e });
    else badLines.push(lineNo);
  };
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(path.join(dir, EVENTS_FILE), 'r');
    const buffer = Buffer.alloc(1 << 20);
    const decoder = new (await import('string_decoder')).StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const text = rest + decoder.write(buffer.subarray(0, bytesRead));
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) take(line);
    }
    rest += decoder.end();
    if (rest) take(rest);
  } catch { /* no events yet */ } finally {
    await handle?.close();
  }
  // The last step the log holds: a torn last line (a crash) does not parse, so the one before it is the last.
  for (const last of [lastStep, stepBefore]) {
    if (!last || !parseLine(last.line)) continue;
    if (!kept.some(k => k.at === last.at)) kept.push({ ...last, sticky: true });
    break;
  }
  const steps: { at: number; event: RunEvent }[] = [];
  for (const k of kept) {
    const e = parseLine(k.line);
    if (e) steps.push({ at: k.at, event: e });
    else badLines.push(k.no);
  }
  events.push(...[...others, ...steps].sort((a, b) => a.at - b.at).map(x => x.event));
  return record(dir, events, badLines.sort((a, b) => a - b));
}

/** Run folders under a workspace, newest first. */
export function listRuns(root: string): string[] {
  const base = path.join(root, RUNS_DIR);
  try {
    return fs.readdirSync(base, { withFileTypes: true })
      .filter(d => d.isDirectory())
      .map(d => path.join(base, d.name))
      .sort((a, b) => (path.basename(a) < path.basename(b) ? 1 : -1));
  } catch {
    return [];
  }
}
