// Builders for DataError messages, so every message names the config key, the file and the line the same way.

import type { JsonPath } from '../../protocol';
import { DataError } from './types';

/** `['data', 'featureColumns', 2]` → `data.featureColumns[2]`: how the key is written in messages. */
export function keyName(jsonPath: JsonPath): string {
  return jsonPath.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** A problem with a whole file: "<file>: <message>". */
export function fileError(display: string, message: string, jsonPath: JsonPath): DataError {
  return new DataError(`${display}: ${message}`, jsonPath, display);
}

/** A problem on one line: "<file>, line <n>: <message>". */
export function lineError(display: string, line: number, message: string, jsonPath: JsonPath): DataError {
  return new DataError(`${display}, line ${line}: ${message}`, jsonPath, display, line);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** Quote a user value for a message, shortened so one bad 10 MB cell does not flood the UI. */
export function quote(value: unknown, max = 40): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const shown = s.length > max ? `${s.slice(0, max)}…` : s;
  return `'${shown.replace(/\r?\n/g, '\\n')}'`;
}

/** An operating-system error (EACCES, EIO, …) while reading a data file, as a DataError a user can act on. */
export function fromFsError(err: unknown, display: string, jsonPath: JsonPath): DataError {
  if (err instanceof DataError) return err;
  const e = err as NodeJS.ErrnoException;
  const why =
    e?.code === 'EACCES' || e?.code === 'EPERM' ? 'permission denied; check the file is readable' :
    e?.code === 'EISDIR' ? 'it is a directory, not a file' :
    e?.code === 'ENOENT' ? 'it disappeared while being read' :
    e?.message ?? String(err);
  return fileError(display, `could not be read (${why})`, jsonPath);
}
