// Streaming RFC 4180 CSV parser: quoted fields, doubled quotes, embedded delimiters and line breaks, CRLF.

import type { JsonPath } from '../../protocol';
import { DATA_LIMITS } from './defaults';
import { lineError } from './errors';
import type { DataFile } from './paths';
import { readTextChunks } from './textstream';

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line where the record starts (records with quoted line breaks span several lines). */
  line: number;
}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

const enum State { FieldStart, Unquoted, Quoted, QuoteInQuoted }

/**
 * Fed text in arbitrary chunks (a record may straddle them), calls `onRecord` per record. Lenient where
 * intent is clear (a quote in the middle of an unquoted field is kept as text, blank lines are skipped,
 * a lone CR ends a line as in old Mac files); strict where guessing would corrupt data (text after a
 * closing quote, an unterminated quote).
 */
export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  private recordStarted = false;
  private recordQuoted = false;
  private recordChars = 0;
  /** A CR ended the last chunk: an LF opening the next one belongs to it. */
  private pendingCR = false;
  /** The last chunk's last character was a CR (inside quotes too): for counting a CRLF split by chunks once. */
  private endedInCR = false;
  private readonly delim: number;

  constructor(
    delimiter: string,
    private readonly onRecord: (record: CsvRecord) => void,
    /** Throws the caller's positioned error; must not return. */
    private readonly fail: (line: number, message: string) => never,
    private readonly maxRecordChars = DATA_LIMITS.maxRecordChars,
  ) {
    this.delim = delimiter.charCodeAt(0);
  }

  push(chunk: string): void {
    if (chunk.length === 0) return;
    this.scan(chunk);
    this.endedInCR = chunk.charCodeAt(chunk.length - 1) === CR;
  }

  private scan(chunk: string): void {
    const n = chunk.length;
    const delim = this.delim;
    let i = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk.charCodeAt(0) === LF) i = 1;
    }
    while (i < n) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case State.FieldStart:
        case State.Unquoted: {
          if (c === QUOTE && this.state === State.FieldStart) {
            this.state = State.Quoted;
            this.quoteLine = this.line;
            this.recordStarted = this.recordQuoted = true;
            i++;
          } else if (c === delim) {
            this.endField();
            this.recordStarted = true;
            i++;
          } else if (c === LF || c === CR) {
            i = this.endLine(chunk, i);
          } else {
            // Scan the run of plain characters at once: slicing is far cheaper than appending one by one.
            let j = i + 1;
            while (j < n) {
              const d = chunk.charCodeAt(j);
              if (d === delim || d === LF || d === CR) break;
              j++;
            }
            this.append(chunk, i, j);
            this.state = State.Unquoted;
            this.recordStarted = true;
            i = j;
          }
          break;
        }
        case State.Quoted: {
          const q = chunk.indexOf('"', i);
          const end = q < 0 ? n : q;
          this.line += lineBreaks(chunk, i, end, i > 0 ? chunk.charCodeAt(i - 1) === CR : this.endedInCR);
          this.append(chunk, i, end);
          if (q < 0) return;
          this.state = State.QuoteInQuoted;
          i = q + 1;
          break;
        }
        case State.QuoteInQuoted: {
          if (c === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            i++;
          } else if (c === delim) {
            this.endField();
            i++;
          } else if (c === LF || c === CR) {
            i = this.endLine(chunk, i);
          } else {
            this.fail(this.line,
              `field ${this.fields.length + 1} has text after its closing quote. Inside a quoted field, ` +
              'write a quote as two quotes (""); or quote the whole field');
          }
          break;
        }
      }
    }
  }

  /** Call after the last chunk. */
  end(): void {
    if (this.state === State.Quoted) {
      this.fail(this.quoteLine,
        'a quoted field starts here and is never closed. Add the closing quote, or write quotes inside ' +
        'a quoted field as two quotes ("")');
    }
    if (this.recordStarted) this.endRecord();
  }

  private append(chunk: string, from: number, to: number): void {
    this.recordChars += to - from;
    if (this.recordChars > this.maxRecordChars) {
      const unterminated = this.state === State.Quoted
        ? ` — probably an unterminated quote that starts on line ${this.quoteLine}` : '';
      this.fail(this.recordLine,
        `this record is longer than ${Math.round(this.maxRecordChars / 1024 / 1024)} M characters${unterminated}`);
    }
    this.field += chunk.slice(from, to);
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
  }

  /** A CR or LF outside quotes at `i`: ends the record; returns the index after the line break. */
  private endLine(chunk: string, i: number): number {
    const c = chunk.charCodeAt(i);
    let next = i + 1;
    if (c === CR) {
      if (next < chunk.length) {
        if (chunk.charCodeAt(next) === LF) next++;
      } else {
        this.pendingCR = true;
      }
    }
    if (this.recordStarted) this.endRecord();
    else this.resetRecord();
    this.line++;
    this.recordLine = this.line;
    return next;
  }

  private endRecord(): void {
    this.fields.push(this.field);
    const fields = this.fields;
    const blank = !this.recordQuoted && fields.length === 1 && fields[0].trim() === '';
    const line = this.recordLine;
    this.resetRecord();
    // Whitespace-only lines are editing leftovers, not records with one empty field.
    if (!blank) this.onRecord({ fields, line });
  }

  private resetRecord(): void {
    this.fields = [];
    this.field = '';
    this.state = State.FieldStart;
    this.recordStarted = this.recordQuoted = false;
    this.recordChars = 0;
  }
}

/**
 * Line breaks in chunk[from, to) as editors count them: LF, CRLF and a lone CR each end a line (the parser
 * ends records on all three, so quoted text must count them the same or every later line number drifts).
 * `afterCR`: the character before `from` was a CR, so an LF at `from` completes it.
 */
function lineBreaks(chunk: string, from: number, to: number, afterCR: boolean): number {
  let n = 0;
  const cr = chunk.indexOf('\r', from);
  if (cr < 0 || cr >= to) {
    for (let k = chunk.indexOf('\n', from); k >= 0 && k < to; k = chunk.indexOf('\n', k + 1)) n++;
    return afterCR && to > from && chunk.charCodeAt(from) === LF ? n - 1 : n;
  }
  for (let k = from; k < to; k++) {
    const c = chunk.charCodeAt(k);
    if (c === CR) n++;
    else if (c === LF && !(k === from ? afterCR : chunk.charCodeAt(k - 1) === CR)) n++;
  }
  return n;
}

/** Parses a whole string (tests, small inputs). */
export function parseCsvText(text: string, delimiter = ','): CsvRecord[] {
  const out: CsvRecord[] = [];
  const parser = new CsvParser(delimiter, r => out.push(r), (line, msg) => {
    throw new Error(`line ${line}: ${msg}`);
  });
  parser.push(text);
  parser.end();
  return out;
}

/** Streams the file through the parser; errors carry the file and line. */
export async function readCsvFile(
  file: DataFile, delimiter: string, jsonPath: JsonPath, onRecord: (record: CsvRecord) => void,
): Promise<void> {
  const parser = new CsvParser(delimiter, onRecord, (line, message) => {
    throw lineError(file.display, line, message, jsonPath);
  });
  for await (const text of readTextChunks(file, jsonPath)) parser.push(text);
  parser.end();
}
