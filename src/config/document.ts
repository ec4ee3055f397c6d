// A parsed `*.gradmon.json` document: JSONC text with source positions for every JSON path, and the
// problems found in it (what, where, and what to do).

import * as jsonc from 'jsonc-parser';
import type { JsonPath, Severity } from '../protocol';

export interface ConfigProblem {
  /** Stable identifier of the check, e.g. `schema/type`, `semantic/loss-activation`. */
  code: string;
  severity: Severity;
  message: string;
  path: JsonPath;
  /** Character offsets into the document text. */
  start: number;
  end: number;
}

export interface Position { line: number; character: number }

/** Maps offsets to 0-based line/character positions. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }

  position(offset: number): Position {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - this.starts[lo] };
  }
}

export function formatPath(path: JsonPath): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : (s ? `.${p}` : p);
  return s || '(root)';
}

/**
 * Problems reported per document. A pathological file (200 000 duplicate keys, a pasted binary) must not
 * flood the Problems panel or cost seconds per keystroke; the first 200 are enough to fix it by.
 */
export const MAX_PROBLEMS = 200;

/**
 * Deepest nesting of objects and arrays read. A config needs about 6 levels; the parser and the checks
 * recurse once per level, so a file of 100 000 "[" would overflow the stack instead of being reported.
 */
export const MAX_NESTING = 64;

const BOM = 0xfeff;

export class ConfigDocument {
  readonly tree: jsonc.Node | undefined;
  readonly value: unknown;
  readonly syntaxProblems: ConfigProblem[] = [];
  private lineIndex: LineIndex | undefined;

  constructor(readonly text: string, readonly file: string) {
    // A UTF-8 byte-order mark (Notepad writes one) is read as a space, so every offset stays the text's.
    const source = text.charCodeAt(0) === BOM ? ' ' + text.slice(1) : text;
    const shape = scanShape(source);
    if (!shape.hasContent) {
      // "Value expected" on an empty file says less than this does.
      this.syntaxProblems.push({
        code: 'syntax/empty', severity: 'error', path: [], start: 0, end: Math.min(1, text.length),
        message: 'The config is empty. Start from a template: run "Gradient Monitor: New Training Config", or write { "name": …, "data": …, "model": […], "loss": …, "optimizer": … }.',
      });
      return;
    }
    if (shape.tooDeepAt >= 0) {
      this.syntaxProblems.push({
        code: 'syntax/too-deep', severity: 'error', path: [], start: shape.tooDeepAt, end: shape.tooDeepAt + 1,
        message: `Objects and arrays are nested more than ${MAX_NESTING} levels deep here; a config needs about 6. Is this the right file, or is a bracket repeated?`,
      });
      return;
    }
    const errors = cappedList<jsonc.ParseError>(MAX_PROBLEMS);
    this.tree = jsonc.parseTree(source, errors, { allowTrailingComma: true, disallowComments: false });
    this.value = this.tree ? plainValue(this.tree) : undefined;
    for (const e of errors) {
      this.syntaxProblems.push(this.clamped({
        code: 'syntax/' + jsonc.printParseErrorCode(e.error),
        severity: 'error',
        message: syntaxMessage(e.error),
        path: [],
        start: e.offset,
        end: e.offset + Math.max(e.length, 1),
      }));
    }
    if (this.tree) this.findDuplicateKeys(this.tree, []);
    if (this.syntaxProblems.length === 0 && this.value === undefined) {
      this.syntaxProblems.push({ code: 'syntax/invalid', severity: 'error', path: [], start: 0, end: Math.min(1, text.length), message: 'This is not JSON: a config is one object { … }.' });
    }
  }

  /** Keeps a range inside the text: parse errors at the very end point one past it. */
  private clamped(p: ConfigProblem): ConfigProblem {
    const start = Math.min(Math.max(0, p.start), this.text.length);
    return { ...p, start, end: Math.min(Math.max(start, p.end), this.text.length) };
  }

  position(offset: number): Position {
    this.lineIndex ??= new LineIndex(this.text);
    return this.lineIndex.position(offset);
  }

  /** The node at a path, or undefined when the path does not exist in the document. */
  node(path: JsonPath): jsonc.Node | undefined {
    return this.tree ? jsonc.findNodeAtLocation(this.tree, path) : undefined;
  }

  /**
   * The source range a problem at `path` should underline: the value when it exists; otherwise the key
   * of the nearest existing ancestor property (so "missing key" points at the object that lacks it).
   */
  rangeOf(path: JsonPath, preferKey = false): { start: number; end: number } {
    for (let n = path.length; n >= 0; n--) {
      const node = this.node(path.slice(0, n));
      if (!node) continue;
      const property = node.parent?.type === 'property' ? node.parent : undefined;
      const keyNode = property?.children?.[0];
      if (keyNode && (preferKey || n < path.length || node.type === 'object' || node.type === 'array')) {
        return { start: keyNode.offset, end: keyNode.offset + keyNode.length };
      }
      if (n < path.length && !keyNode) {
        // An array element or the root object lacking a key: underline its first line only.
        return { start: node.offset, end: node.offset + Math.min(node.length, 1) };
      }
      return { start: node.offset, end: node.offset + node.length };
    }
    return { start: 0, end: Math.min(1, this.text.length) };
  }

  problem(code: string, severity: Severity, path: JsonPath, message: string, preferKey = false): ConfigProblem {
    return { code, severity, path, message, ...this.rangeOf(path, preferKey) };
  }

  private findDuplicateKeys(node: jsonc.Node, path: JsonPath): void {
    if (this.syntaxProblems.length >= MAX_PROBLEMS) return;
    if (node.type === 'object') {
      const seen = new Map<string, jsonc.Node>();
      for (const prop of node.children ?? []) {
        const key = prop.children?.[0];
        if (!key) continue;
        const name = String(key.value);
        const earlier = seen.get(name);
        if (earlier && this.syntaxProblems.length < MAX_PROBLEMS) {
          const line = this.position(earlier.offset).line + 1;
          this.syntaxProblems.push({
            code: 'syntax/duplicate-key', severity: 'error', path: [...path, name],
            start: key.offset, end: key.offset + key.length,
            message: `Duplicate key ${JSON.stringify(name.length > 60 ? name.slice(0, 60) + '…' : name)} (also on line ${line}). JSON keeps only the last one; remove one of them.`,
          });
        }
        seen.set(name, key);
        const value = prop.children?.[1];
        if (value) this.findDuplicateKeys(value, [...path, name]);
      }
    } else if (node.type === 'array') {
      (node.children ?? []).forEach((c, i) => this.findDuplicateKeys(c, [...path, i]));
    }
  }
}

/** Whether the text holds anything but whitespace and comments, and where nesting first goes too deep. */
function scanShape(text: string): { hasContent: boolean; tooDeepAt: number } {
  const scanner = jsonc.createScanner(text, false);
  let hasContent = false;
  let depth = 0;
  for (let t = scanner.scan(); t !== jsonc.SyntaxKind.EOF; t = scanner.scan()) {
    if (t === jsonc.SyntaxKind.Trivia || t === jsonc.SyntaxKind.LineBreakTrivia) continue;
    if (t === jsonc.SyntaxKind.LineCommentTrivia || t === jsonc.SyntaxKind.BlockCommentTrivia) {
      // An unclosed /* is not an empty file: let the parser say where it starts.
      if (scanner.getTokenError() === jsonc.ScanError.UnexpectedEndOfComment) hasContent = true;
      continue;
    }
    hasContent = true;
    if (t === jsonc.SyntaxKind.OpenBraceToken || t === jsonc.SyntaxKind.OpenBracketToken) {
      if (++depth > MAX_NESTING) return { hasContent, tooDeepAt: scanner.getTokenOffset() };
    } else if (t === jsonc.SyntaxKind.CloseBraceToken || t === jsonc.SyntaxKind.CloseBracketToken) {
      depth = Math.max(0, depth - 1);
    }
  }
  return { hasContent, tooDeepAt: -1 };
}

/** An array that silently stops growing at `cap` (the parser pushes its errors into it). */
function cappedList<T>(cap: number): T[] {
  const list: T[] = [];
  list.push = (...items: T[]) => {
    for (const item of items) if (list.length < cap) Array.prototype.push.call(list, item);
    return list.length;
  };
  return list;
}

/**
 * The document's value as ordinary objects. Keys are defined, not assigned, so a key named "__proto__"
 * stays a key (and gets reported as unknown) instead of replacing the prototype; numbers too large for a
 * double stay Infinity so the schema check can say so (a JSON round trip would turn them into null).
 */
function plainValue(node: jsonc.Node): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const prop of node.children ?? []) {
        const [key, value] = prop.children ?? [];
        if (!key || !value) continue;
        Object.defineProperty(out, String(key.value), { value: plainValue(value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'array': return (node.children ?? []).map(plainValue);
    default: return node.value;
  }
}

function syntaxMessage(code: jsonc.ParseErrorCode): string {
  switch (code) {
    case jsonc.ParseErrorCode.CommaExpected: return 'Syntax error: a comma is missing here.';
    case jsonc.ParseErrorCode.ColonExpected: return 'Syntax error: expected ":" after the key.';
    case jsonc.ParseErrorCode.PropertyNameExpected: return 'Syntax error: expected a key in double quotes.';
    case jsonc.ParseErrorCode.ValueExpected: return 'Syntax error: expected a value (a number, string, true/false, null, object or array).';
    case jsonc.ParseErrorCode.CloseBraceExpected: return 'Syntax error: "}" expected — an object is not closed (is the file truncated?).';
    case jsonc.ParseErrorCode.CloseBracketExpected: return 'Syntax error: "]" expected — an array is not closed.';
    case jsonc.ParseErrorCode.EndOfFileExpected: return 'Syntax error: unexpected text after the end of the config.';
    case jsonc.ParseErrorCode.UnexpectedEndOfString: return 'Syntax error: a string is not closed with a double quote.';
    case jsonc.ParseErrorCode.UnexpectedEndOfComment: return 'Syntax error: a /* comment */ is not closed.';
    case jsonc.ParseErrorCode.UnexpectedEndOfNumber: return 'Syntax error: incomplete number.';
    case jsonc.ParseErrorCode.InvalidEscapeCharacter: return 'Syntax error: invalid escape in a string (use \\\\ for a backslash).';
    case jsonc.ParseErrorCode.InvalidUnicode: return 'Syntax error: invalid \\u escape.';
    case jsonc.ParseErrorCode.InvalidNumberFormat: return 'Syntax error: invalid number.';
    case jsonc.ParseErrorCode.InvalidCharacter: return 'Syntax error: invalid character.';
    case jsonc.ParseErrorCode.InvalidSymbol: return 'Syntax error: unexpected symbol (strings need double quotes; true/false/null are lowercase).';
    default: return 'Syntax error.';
  }
}
