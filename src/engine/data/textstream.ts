// Streams a data file as UTF-8 text chunk by chunk, refusing binaries and other encodings with a position.

import * as fs from 'fs';
import type { JsonPath } from '../../protocol';
import { DATA_LIMITS } from './defaults';
import { fileError, formatBytes, fromFsError, lineError } from './errors';
import type { DataFile } from './paths';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Line breaks in buf[0, end) as editors count them: LF, CRLF and a lone CR (old Mac files, which the CSV
 * parser reads too) each end one line. `afterCR`: the previous chunk ended in a CR, so an LF opening this
 * one completes that CRLF instead of starting a line.
 */
function countLineBreaks(buf: Uint8Array, end = buf.length, afterCR = false): number {
  let n = 0;
  for (let i = buf.indexOf(LF); i >= 0 && i < end; i = buf.indexOf(LF, i + 1)) n++;
  for (let i = buf.indexOf(CR); i >= 0 && i < end; i = buf.indexOf(CR, i + 1)) if (buf[i + 1] !== LF || i + 1 >= end) n++;
  // A CRLF cut by `end` counted its CR above; one cut by the chunk boundary counted its CR in the last chunk.
  if (afterCR && end > 0 && buf[0] === LF) n--;
  return n;
}

/**
 * Offset of the first byte that is not valid UTF-8, or -1. `allowIncompleteEnd`: a sequence cut by the end
 * of the buffer is fine (the next chunk completes it). Leading continuation bytes are skipped for the same
 * reason at the start of a chunk.
 */
export function findInvalidUtf8(b: Uint8Array, allowIncompleteEnd: boolean, skipLeadingContinuations = false): number {
  let i = 0;
  const n = b.length;
  if (skipLeadingContinuations) while (i < 3 && i < n && (b[i] & 0xc0) === 0x80) i++;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return allowIncompleteEnd ? -1 : i;
      const d = b[i + k];
      if (k === 1 ? d < lo || d > hi : (d & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** The first chunk decides whether this is a text file at all; binaries get named instead of parsed. */
function checkLooksLikeText(chunk: Buffer, file: DataFile, jsonPath: JsonPath): void {
  const what = (kind: string, fix: string) => fileError(file.display, `${kind}; ${fix}`, jsonPath);
  if (chunk[0] === 0x1f && chunk[1] === 0x8b) throw what('is gzip-compressed', 'decompress it first (gunzip)');
  if (chunk[0] === 0x50 && chunk[1] === 0x4b && chunk[2] === 0x03 && chunk[3] === 0x04) {
    throw what('is a ZIP archive (or an Excel .xlsx)', 'extract or export it as CSV first');
  }
  if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
    throw what('is UTF-16 text', 're-save it as UTF-8 (most editors: "Save with Encoding")');
  }
  const nul = chunk.indexOf(0);
  if (nul >= 0) {
    throw lineError(file.display, countLineBreaks(chunk, nul) + 1,
      `does not look like a text file (a NUL byte at byte ${nul}); point the config at a CSV or JSONL text file`,
      jsonPath);
  }
  const bad = findInvalidUtf8(chunk, chunk.length < file.size);
  if (bad >= 0) {
    throw lineError(file.display, countLineBreaks(chunk, bad) + 1,
      `does not look like a text file: byte ${bad} is not valid UTF-8. If it is text in another encoding ` +
      '(Latin-1, Windows-1252), re-save it as UTF-8', jsonPath);
  }
}

/**
 * Yields the file's text in chunks of about DATA_LIMITS.chunkBytes. A UTF-8 byte-order mark is dropped.
 * Invalid UTF-8 later in the file is an error with its line rather than silent U+FFFD replacement, which
 * would quietly change words and labels.
 */
export async function* readTextChunks(file: DataFile, jsonPath: JsonPath): AsyncGenerator<string> {
  const stream = fs.createReadStream(file.absolute, { highWaterMark: DATA_LIMITS.chunkBytes });
  // fatal: throw on invalid bytes; the default ignoreBOM=false strips a leading BOM.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let first = true;
  let bytesRead = 0;
  let linesBefore = 0;
  let endedInCR = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesRead += chunk.length;
      if (bytesRead > file.maxBytes) {
        throw fileError(file.display,
          `grew past the ${formatBytes(file.maxBytes)} limit while being read; use a smaller file`, jsonPath);
      }
      if (first) {
        checkLooksLikeText(chunk, file, jsonPath);
        first = false;
      }
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        const bad = Math.max(0, findInvalidUtf8(chunk, true, true));
        throw lineError(file.display, linesBefore + countLineBreaks(chunk, bad, endedInCR) + 1,
          `is not valid UTF-8 (byte ${bytesRead - chunk.length + bad} of the file). Re-save the file as UTF-8`,
          jsonPath);
      }
      linesBefore += countLineBreaks(chunk, chunk.length, endedInCR);
      endedInCR = chunk[chunk.length - 1] === CR;
      if (text) yield text;
    }
    try {
      const rest = decoder.decode();
      if (rest) yield rest;
    } catch {
      throw lineError(file.display, linesBefore + 1, 'ends in the middle of a UTF-8 character; re-save it as UTF-8',
        jsonPath);
    }
  } catch (err) {
    throw fromFsError(err, file.display, jsonPath);
  } finally {
    stream.destroy();
  }
}
