// Streaming JSON Lines reader: one object per line, blank lines skipped, every failure tied to its line.

import type { JsonPath } from '../../protocol';
import { DATA_LIMITS } from './defaults';
import { lineError } from './errors';
import type { DataFile } from './paths';
import { readTextChunks } from './textstream';

export function describeJsonValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v === 'number' ? 'the number' : 'the boolean'} ${String(v)}`;
}

export async function readJsonlFile(
  file: DataFile, jsonPath: JsonPath, onObject: (object: Record<string, unknown>, line: number) => void,
): Promise<void> {
  let pending = '';
  let line = 0;
  const handle = (text: string, lineNo: number) => {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const t = text.trim();
      const hint = t === '[' || t === '{' || (lineNo === 1 && t.startsWith('[') )
        ? ' The file looks like pretty-printed JSON; JSON Lines needs one complete object per line'
        : ' Each line must hold one complete JSON object';
      throw lineError(file.display, lineNo, `is not valid JSON (${(err as Error).message}).${hint}`, jsonPath);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw lineError(file.display, lineNo,
        `holds ${describeJsonValue(value)}, not a JSON object like {"text": "…", "label": "…"}`, jsonPath);
    }
    onObject(value as Record<string, unknown>, lineNo);
  };
  // Checked on every line, not only while one spans chunks: the last chunk of a long line must count too.
  const tooLong = (lineNo: number) => lineError(file.display, lineNo,
    `is longer than ${DATA_LIMITS.maxRecordChars / 1024 / 1024} M characters; is this really JSON Lines ` +
    '(one object per line)? A pretty-printed JSON file must be rewritten with one object per line', jsonPath);
  for await (const text of readTextChunks(file, jsonPath)) {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) {
        pending += text.slice(start);
        if (pending.length > DATA_LIMITS.maxRecordChars) throw tooLong(line + 1);
        break;
      }
      const lineText = pending + text.slice(start, nl);
      pending = '';
      start = nl + 1;
      if (lineText.length > DATA_LIMITS.maxRecordChars) throw tooLong(line + 1);
      handle(lineText, ++line);
    }
  }
  if (pending.length > DATA_LIMITS.maxRecordChars) throw tooLong(line + 1);
  if (pending !== '') handle(pending, ++line);
}
