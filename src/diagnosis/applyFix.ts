// Applies a suggested fix's edits to config text, touching only what changes: a value is replaced in place,
// a new key or layer is inserted in the style around it (inline or one per line, same indentation), and
// comments stay where the user put them. Anything else falls back to jsonc-parser's modify.

import * as jsonc from 'jsonc-parser';
import type { ConfigEdit } from '../protocol';

/** The config text with the edits applied, in order. */
export function applyFixToText(text: string, edits: ConfigEdit[]): string {
  let current = text;
  for (const e of edits) current = jsonc.applyEdits(current, editFor(current, e));
  return current;
}

/** One replacement (offset, length, content) against the original text that yields the fixed text. */
export function fixTextEdits(text: string, edits: ConfigEdit[]): jsonc.Edit[] {
  const fixed = applyFixToText(text, edits);
  return fixed === text ? [] : [diffEdit(text, fixed)];
}

/** A value as one line: `{ "mode": "globalNorm", "threshold": 2 }`. */
export function inlineJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inlineJson).join(', ')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    return entries.length ? `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${inlineJson(x)}`).join(', ')} }` : '{}';
  }
  return JSON.stringify(v);
}

function editFor(text: string, e: ConfigEdit): jsonc.Edit[] {
  const root = jsonc.parseTree(text);
  if (!root) return fallback(text, e);
  const node = jsonc.findNodeAtLocation(root, e.path);
  const parentPath = e.path.slice(0, -1);
  const parent = parentPath.length ? jsonc.findNodeAtLocation(root, parentPath) : root;
  const key = e.path[e.path.length - 1];

  if (e.insert && parent?.type === 'array' && typeof key === 'number') {
    const items = parent.children ?? [];
    if (key < items.length) {
      const before = items[key];
      const sep = onOwnLine(text, before.offset) ? `,\n${indentAt(text, before.offset)}` : ', ';
      return [{ offset: before.offset, length: 0, content: inlineJson(e.value) + sep }];
    }
    if (items.length) return [...appendAfter(text, items[items.length - 1], inlineJson(e.value))];
    return fallback(text, e);
  }
  if (!e.insert && node && e.value !== undefined) {
    return [{ offset: node.offset, length: node.length, content: inlineJson(e.value) }];
  }
  if (!e.insert && !node && e.value !== undefined && parent?.type === 'object' && typeof key === 'string' && parent.children?.length) {
    const lastProp = parent.children[parent.children.length - 1];
    return appendAfter(text, lastProp, `${JSON.stringify(key)}: ${inlineJson(e.value)}`);
  }
  return fallback(text, e);
}

/** Inserts `content` as the next sibling of `node`: a comma right after it, the new item after its line's comment. */
function appendAfter(text: string, node: jsonc.Node, content: string): jsonc.Edit[] {
  const end = node.offset + node.length;
  if (!onOwnLine(text, node.offset)) return [{ offset: end, length: 0, content: `, ${content}` }];
  let lineEnd = text.indexOf('\n', end);
  if (lineEnd < 0) lineEnd = text.length;
  if (text[lineEnd - 1] === '\r') lineEnd--;
  // A block comment or more JSON after the node on its line: keep it simple and insert right after the node.
  const rest = text.slice(end, lineEnd);
  if (!/^\s*(,\s*)?(\/\/.*)?$/.test(rest)) return [{ offset: end, length: 0, content: `, ${content}` }];
  const hasComma = /^\s*,/.test(rest);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  return [
    ...(hasComma ? [] : [{ offset: end, length: 0, content: ',' }]),
    { offset: lineEnd, length: 0, content: `${eol}${indentAt(text, node.offset)}${content}${hasComma ? ',' : ''}` },
  ];
}

/** True when only whitespace precedes the offset on its line. */
function onOwnLine(text: string, offset: number): boolean {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^\s*$/.test(text.slice(lineStart, offset));
}

function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

function fallback(text: string, e: ConfigEdit): jsonc.Edit[] {
  return jsonc.modify(text, e.path, e.value, { formattingOptions: detectFormatting(text), isArrayInsertion: e.insert === true });
}

/** The smallest single replacement turning `a` into `b` (common prefix and suffix kept). */
function diffEdit(a: string, b: string): jsonc.Edit {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  return { offset: start, length: endA - start, content: b.slice(start, endB) };
}

function detectFormatting(text: string): jsonc.FormattingOptions {
  const m = /\n([ \t]+)\S/.exec(text);
  const indent = m?.[1] ?? '  ';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  return indent.startsWith('\t')
    ? { insertSpaces: false, tabSize: 4, eol }
    : { insertSpaces: true, tabSize: Math.max(1, Math.min(8, indent.length)), eol };
}
