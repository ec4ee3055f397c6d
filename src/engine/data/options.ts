// Reads optional data-config fields with their defaults, refusing values the loaders cannot honour.

import { DataError } from './types';
import { keyName } from './errors';
import { DATA_DEFAULTS } from './defaults';

type Fields = Record<string, unknown>;

function fail(key: string, expected: string, got: unknown): never {
  throw new DataError(`${keyName(['data', key])} must be ${expected} (got ${JSON.stringify(got)})`, ['data', key]);
}

export function readInt(config: object, key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = (config as Fields)[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(key, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`, v);
  }
  return v;
}

export function readOptionalInt(config: object, key: string, min: number): number | undefined {
  const v = (config as Fields)[key];
  if (v === undefined || v === null) return undefined;
  return readInt(config, key, 0, min);
}

export function readNumber(
  config: object, key: string, fallback: number, min: number, max: number, maxExclusive = false,
): number {
  const v = (config as Fields)[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (maxExclusive && v === max)) {
    fail(key, `a number from ${min} to ${max}${maxExclusive ? ' (exclusive)' : ''}`, v);
  }
  return v;
}

export function readBool(config: object, key: string, fallback: boolean): boolean {
  const v = (config as Fields)[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(key, 'true or false', v);
  return v;
}

export function readEnum<T extends string>(config: object, key: string, fallback: T, allowed: readonly T[]): T {
  const v = (config as Fields)[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(key, `one of ${allowed.map(a => `'${a}'`).join(', ')}`, v);
  }
  return v as T;
}

export function readOptionalString(config: object, key: string): string | undefined {
  const v = (config as Fields)[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') fail(key, 'a non-empty string', v);
  return v;
}

export function readRequiredString(config: object, key: string, what: string): string {
  const v = (config as Fields)[key];
  if (v === undefined || v === null || v === '') {
    throw new DataError(`${keyName(['data', key])} is required: ${what}`, ['data', key]);
  }
  if (typeof v !== 'string') fail(key, 'a string', v);
  return v;
}

/** validationSplit and maxExamples, shared by every source. */
export function readSplitOptions(config: object): { validationSplit: number; maxExamples?: number } {
  return {
    // 1 would leave nothing to train on.
    validationSplit: readNumber(config, 'validationSplit', DATA_DEFAULTS.validationSplit, 0, 1, true),
    maxExamples: readOptionalInt(config, 'maxExamples', 1),
  };
}
