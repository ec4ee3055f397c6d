// Labels: one kind per column (numbers, text or booleans), classes in a stable order, or a regression target.

import type { JsonPath } from '../../protocol';
import { DATA_LIMITS } from './defaults';
import { fileError, keyName, lineError, quote } from './errors';

export type LabelValue = string | number | boolean;
type LabelKind = 'number' | 'text' | 'boolean';

const KIND_WORDS: Record<LabelKind, string> = { number: 'a number', text: 'text', boolean: 'a boolean' };

function kindOf(v: LabelValue): LabelKind {
  return typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'text';
}

/** JSON-style, so the text "1" and the number 1 read differently in a message. */
function show(v: LabelValue): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v);
}

/** Decimal numbers as written in CSV cells; deliberately not Number()'s hex, '' → 0 or 'Infinity'. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A CSV cell as a number when it is one, else undefined. */
export function parseDecimal(cell: string): number | undefined {
  const t = cell.trim();
  if (!DECIMAL.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Refuses a column that mixes kinds (e.g. 1, 0 and "spam"), naming one line of each: usually a stray
 * header line, a shifted column or a typo, and silently making "1" and 1 two classes would hide it.
 */
export class LabelKindGuard {
  private kind?: LabelKind;
  private firstLine = 0;
  private firstValue: LabelValue = '';

  constructor(private readonly display: string, private readonly column: string, private readonly jsonPath: JsonPath) {}

  check(value: LabelValue, line: number): void {
    const kind = kindOf(value);
    if (this.kind === undefined) {
      this.kind = kind;
      this.firstLine = line;
      this.firstValue = value;
    } else if (kind !== this.kind) {
      throw lineError(this.display, line,
        `label ${show(value)} in column '${this.column}' is ${KIND_WORDS[kind]}, but line ${this.firstLine} has ` +
        `${show(this.firstValue)}, ${KIND_WORDS[this.kind]}. A label column must hold one kind of value: ` +
        'fix the odd lines (a repeated header? a shifted column?)', this.jsonPath);
    }
  }
}

export interface EncodedLabels {
  task: 'classification' | 'regression';
  /** Per example, in input order: class index, or the target value for regression. */
  y: Int32Array | Float32Array;
  numClasses?: number;
  labelNames?: string[];
  targetSize?: number;
}

/** Numbers numerically, text by UTF-16 code units (locale-independent, so class ids match on every machine). */
function compareLabels(a: LabelValue, b: LabelValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * Classes, or regression when the labels are numbers with more than DATA_LIMITS.regressionMinDistinctLabels
 * distinct values and at least one non-integer. `forceClassification`: the source's labels are class ids
 * by definition (IDX).
 */
export function encodeLabels(
  values: readonly LabelValue[], ctx: { display: string; column: string; jsonPath: JsonPath; forceClassification?: boolean },
): EncodedLabels {
  const distinct = new Map<string | number | boolean, number>();
  for (const v of values) distinct.set(v, 0);
  const classes = [...distinct.keys()].sort(compareLabels);
  const numeric = classes.length > 0 && typeof classes[0] === 'number';
  if (numeric && !ctx.forceClassification && classes.length > DATA_LIMITS.regressionMinDistinctLabels &&
      classes.some(c => !Number.isInteger(c))) {
    return { task: 'regression', y: Float32Array.from(values as number[]), targetSize: 1 };
  }
  if (classes.length < 2) {
    throw fileError(ctx.display,
      `the label column '${ctx.column}' has a single value ${quote(classes[0] ?? '')}: there is nothing to learn. ` +
      'Check that the file (or the maxExamples sample) contains examples of every class', ctx.jsonPath);
  }
  if (classes.length > DATA_LIMITS.suspiciousClassCount && classes.length > values.length / 2) {
    throw fileError(ctx.display,
      `the label column '${ctx.column}' has ${classes.length} distinct values for ${values.length} examples, ` +
      `which looks like an id or free text rather than a label. Check ${keyName(ctx.jsonPath)}`, ctx.jsonPath);
  }
  classes.forEach((c, i) => distinct.set(c, i));
  const y = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) y[i] = distinct.get(values[i])!;
  return { task: 'classification', y, numClasses: classes.length, labelNames: classes.map(String) };
}
