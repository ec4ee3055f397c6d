// Reads a `*.gradmon.json`: syntax, schema, then semantic checks; every problem positioned, never a throw.

import * as fs from 'fs';
import { ConfigDocument, MAX_PROBLEMS, type ConfigProblem } from './document';
import { normalizeConfig } from './normalize';
import { CONFIG_SCHEMA } from './schema';
import { validateAgainstSchema } from './schemaValidator';
import { semanticProblems, type SemanticOptions } from './semantic';
import type { ResolvedConfig, TrainingConfig } from './types';

export { ConfigDocument, formatPath, LineIndex, MAX_NESTING, MAX_PROBLEMS } from './document';
export type { ConfigProblem } from './document';
export { normalizeConfig } from './normalize';

/** Configs are small; anything larger is not a config and is refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigAnalysis {
  doc: ConfigDocument;
  problems: ConfigProblem[];
  /** Present when there are no errors (warnings allowed). */
  config?: ResolvedConfig;
}

export function analyzeConfig(text: string, file: string, options: SemanticOptions = {}): ConfigAnalysis {
  const analysis = analyzeDocument(text, file, options);
  if (analysis.problems.length > MAX_PROBLEMS) analysis.problems = analysis.problems.slice(0, MAX_PROBLEMS);
  return analysis;
}

function analyzeDocument(text: string, file: string, options: SemanticOptions): ConfigAnalysis {
  const doc = new ConfigDocument(text, file);
  const problems: ConfigProblem[] = [...doc.syntaxProblems];
  // A broken document parses into a partial value: schema checks on it would mostly report the breakage again.
  if (doc.value === undefined || problems.some(p => p.code.startsWith('syntax/') && p.code !== 'syntax/duplicate-key')) return { doc, problems };
  if (typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) {
    problems.push(doc.problem('schema/type', 'error', [], 'A config must be a JSON object { … } with "name", "data", "model", "loss" and "optimizer".'));
    return { doc, problems };
  }
  problems.push(...validateAgainstSchema(doc, doc.value, CONFIG_SCHEMA));
  if (problems.some(p => p.severity === 'error')) return { doc, problems };
  let config: ResolvedConfig;
  try {
    config = normalizeConfig(doc.value as TrainingConfig);
  } catch (e) {
    // The schema should make this unreachable; if not, report it rather than crash.
    problems.push(doc.problem('internal/normalize', 'error', [], `Could not read the config: ${(e as Error).message}`));
    return { doc, problems };
  }
  problems.push(...semanticProblems(doc, config, options));
  return { doc, problems, config: problems.some(p => p.severity === 'error') ? undefined : config };
}

/** Reads and analyzes a config file. I/O problems come back as problems too. */
export function analyzeConfigFile(file: string, options: SemanticOptions = {}): ConfigAnalysis {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (stat.size > MAX_CONFIG_BYTES) {
      const doc = new ConfigDocument('{}', file);
      return { doc, problems: [{ code: 'io/too-large', severity: 'error', path: [], start: 0, end: 0, message: `${file} is ${Math.round(stat.size / 1024)} KB; a training config is at most ${MAX_CONFIG_BYTES / 1024} KB. Is this the right file?` }] };
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const doc = new ConfigDocument('{}', file);
    const message = code === 'ENOENT' ? `Config file not found: ${file}.`
      : code === 'EISDIR' ? `${file} is a directory, not a config file.`
      : code === 'EACCES' ? `Cannot read ${file}: permission denied.`
      : `Cannot read ${file}: ${(e as Error).message}`;
    return { doc, problems: [{ code: 'io/read', severity: 'error', path: [], start: 0, end: 0, message }] };
  }
  return analyzeConfig(text, file, options);
}
