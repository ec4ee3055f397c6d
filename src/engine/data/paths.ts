// Resolves a data path from the config and confines it to the workspace, symbolic links included.

import * as fs from 'fs';
import * as path from 'path';
import type { JsonPath } from '../../protocol';
import { DataContext, DataError } from './types';
import { DATA_LIMITS } from './defaults';
import { formatBytes, keyName } from './errors';

export interface DataFile {
  /** Real path (symlinks resolved): what is opened, so a link swapped after the check cannot redirect the read. */
  absolute: string;
  /** Path relative to the workspace root as the user wrote it, '/'-separated: what messages show. */
  display: string;
  size: number;
  /** Byte limit that applies while reading (the file may grow after the check). */
  maxBytes: number;
}

/** True when `target` is `root` or below it. Compares path segments, so '/ws-other' is not inside '/ws'. */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

function toDisplay(root: string, target: string): string {
  return path.relative(root, target).split(path.sep).join('/') || '.';
}

async function realpathOrSelf(p: string): Promise<string> {
  try {
    return await fs.promises.realpath(p);
  } catch {
    return p;
  }
}

/** "files there: a.csv, b.csv" — what a user most likely meant when a name is mistyped. */
async function siblingsHint(dir: string, wanted: string, root: string): Promise<string> {
  if (!isInside(root, dir)) return '';
  let names: string[];
  try {
    names = (await fs.promises.readdir(dir)).filter(n => !n.startsWith('.'));
  } catch {
    return ` The folder '${toDisplay(root, dir)}' does not exist either.`;
  }
  if (names.length === 0) return ` The folder '${toDisplay(root, dir)}' is empty.`;
  const ext = path.extname(wanted).toLowerCase();
  const lower = path.basename(wanted).toLowerCase();
  // Same name in another case first (a classic on case-sensitive systems), then the same extension.
  names.sort((a, b) => rank(b) - rank(a) || (a < b ? -1 : a > b ? 1 : 0));
  function rank(n: string): number {
    return (n.toLowerCase() === lower ? 2 : 0) + (ext && path.extname(n).toLowerCase() === ext ? 1 : 0);
  }
  const shown = names.slice(0, 8).join(', ');
  return ` Files there: ${shown}${names.length > 8 ? `, … (${names.length} in all)` : ''}.`;
}

/**
 * Resolve `configured` (relative to the config's folder) to a readable regular file inside the workspace.
 * Checked twice: lexically after path.resolve (catches `..`), then after fs.realpath (catches symlinks
 * leading out). The size limit is enforced here, before anything is read.
 */
export async function resolveDataFile(configured: unknown, jsonPath: JsonPath, ctx: DataContext): Promise<DataFile> {
  const key = keyName(jsonPath);
  if (typeof configured !== 'string' || configured.trim() === '') {
    throw new DataError(`${key} must be the path of a data file, relative to the config file`, jsonPath);
  }
  const root = path.resolve(ctx.workspaceRoot);
  const lexical = path.resolve(ctx.configDir, configured);
  if (!isInside(root, lexical)) {
    throw new DataError(
      `${key} '${configured}' points outside the workspace (${lexical}). Data files must be inside ${root}: ` +
      'copy the file into the workspace and point to the copy.',
      jsonPath, configured);
  }
  const display = toDisplay(root, lexical);

  let real: string;
  try {
    real = await fs.promises.realpath(lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const hint = await siblingsHint(path.dirname(lexical), lexical, root);
      throw new DataError(
        `${key} '${configured}' not found in the workspace (looked in ${lexical}).${hint}`, jsonPath, display);
    }
    if (code === 'ELOOP') {
      throw new DataError(`${key} '${configured}' is a loop of symbolic links`, jsonPath, display);
    }
    throw new DataError(`${key} '${configured}' cannot be opened (${(err as Error).message})`, jsonPath, display);
  }
  const realRoot = await realpathOrSelf(root);
  if (!isInside(realRoot, real)) {
    throw new DataError(
      `${key} '${configured}' leads through a symbolic link to ${real}, outside the workspace. ` +
      'Data files must really be inside the workspace: copy the file in instead of linking to it.',
      jsonPath, display);
  }

  const stat = await fs.promises.stat(real);
  if (stat.isDirectory()) {
    const hint = await siblingsHint(real, '', realRoot);
    throw new DataError(`${key} '${configured}' is a folder; point it at a file inside.${hint}`, jsonPath, display);
  }
  if (!stat.isFile()) {
    // A FIFO or device would block or never end: refuse rather than hang.
    throw new DataError(`${key} '${configured}' is not a regular file (a pipe, socket or device)`, jsonPath, display);
  }
  const maxBytes = ctx.maxFileBytes ?? DATA_LIMITS.maxFileBytes;
  if (stat.size > maxBytes) {
    throw new DataError(
      `${display} is ${formatBytes(stat.size)}, over the ${formatBytes(maxBytes)} limit for data files. ` +
      'Use a sample of it (for a CSV: the header plus the first rows) or split it into smaller files.',
      jsonPath, display);
  }
  return { absolute: real, display, size: stat.size, maxBytes };
}
