// Checks a config value against CONFIG_SCHEMA, interpreting the subset of draft-07 the schema uses, with
// messages that say what to do (and "did you mean" for misspelled keys and names).

import type { JsonPath } from '../protocol';
import type { ConfigDocument, ConfigProblem } from './document';
import { formatPath, MAX_PROBLEMS } from './document';
import type { JsonSchema } from './schema';

export function validateAgainstSchema(doc: ConfigDocument, value: unknown, schema: JsonSchema): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  check(value, schema, [], problems, doc, undefined);
  return problems.slice(0, MAX_PROBLEMS);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

const ARTICLE: Record<string, string> = {
  integer: 'a whole number', number: 'a number', string: 'a string in double quotes', boolean: 'true or false',
  object: 'an object { … }', array: 'an array [ … ]', null: 'null',
};

function describe(v: unknown): string {
  const t = typeOf(v);
  if (t === 'string') return `the string ${JSON.stringify(v)}`;
  if (t === 'object') return 'an object';
  if (t === 'array') return 'an array';
  return `${t === 'integer' ? 'the number' : t === 'number' ? 'the number' : ''} ${JSON.stringify(v)}`.trim();
}

/** Edit distance, for "did you mean". */
export function levenshtein(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (Math.abs(m - n) > 8) return Math.max(m, n);
  let prev = Array.from({ length: n + 1 }, (_, i) => i);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n];
}

export function didYouMean(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function where(path: JsonPath): string {
  return path.length ? `"${formatPath(path)}"` : 'The config';
}

function check(v: unknown, s: JsonSchema, path: JsonPath, out: ConfigProblem[], doc: ConfigDocument, context: string | undefined): void {
  if (out.length >= MAX_PROBLEMS) return;

  if (typeof v === 'number' && !Number.isFinite(v)) {
    // Only a literal beyond ±1.8e308 parses to Infinity; JSON has no NaN or Infinity of its own.
    out.push(doc.problem('schema/range', 'error', path, `${where(path)} is too large to be a number (beyond ±1.8e308).${s.examples?.length ? ` For example: ${JSON.stringify(s.examples[0])}.` : ''}`));
    return;
  }

  if (s.oneOf) {
    checkOneOf(v, s, path, out, doc);
    return;
  }

  if (s.const !== undefined && v !== s.const) {
    out.push(doc.problem('schema/const', 'error', path, `${where(path)} must be ${JSON.stringify(s.const)}.`));
    return;
  }

  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some(t => matchesType(v, t))) {
      let hint = '';
      if (typeof v === 'string' && types.some(t => t === 'number' || t === 'integer') && v.trim() !== '' && Number.isFinite(Number(v))) hint = ` Write ${v.trim()} without quotes.`;
      else if (typeof v === 'string' && types.includes('boolean') && /^(true|false)$/i.test(v)) hint = ` Write ${v.toLowerCase()} without quotes.`;
      else if (typeOf(v) === 'number' && types.includes('integer')) hint = ` Use a whole number, e.g. ${Math.round(v as number)}.`;
      else if (s.examples?.length) hint = ` For example: ${JSON.stringify(s.examples[0])}.`;
      out.push(doc.problem('schema/type', 'error', path, `${where(path)} must be ${types.map(t => ARTICLE[t] ?? t).join(' or ')}, not ${describe(v)}.${hint}`));
      return;
    }
  }

  if (s.enum && !s.enum.includes(v)) {
    const names = s.enum.map(String);
    const guess = typeof v === 'string' ? didYouMean(v, names) : undefined;
    const what = context === 'discriminator' ? `Unknown ${path[path.length - 1]} ${JSON.stringify(v)}` : `${where(path)} must be one of ${names.join(', ')} — not ${JSON.stringify(v)}`;
    out.push(doc.problem('schema/enum', 'error', path, `${what}.${guess ? ` Did you mean "${guess}"?` : context === 'discriminator' ? ` Known: ${names.join(', ')}.` : ''}`));
    return;
  }

  if (typeof v === 'number') checkNumber(v, s, path, out, doc);
  if (typeof v === 'string' && s.minLength !== undefined && v.length < s.minLength) {
    out.push(doc.problem('schema/empty', 'error', path, `${where(path)} must not be empty.${s.examples?.length ? ` For example: ${JSON.stringify(s.examples[0])}.` : ''}`));
  }
  // JSON Schema counts characters (code points), as the editor's validation of the contributed schema does.
  if (typeof v === 'string' && s.maxLength !== undefined && v.length > s.maxLength && [...v].length > s.maxLength) {
    const shown = v.length > 20 ? `${JSON.stringify(v.slice(0, 20))}…` : JSON.stringify(v);
    out.push(doc.problem('schema/too-long', 'error', path, `${where(path)} must be at most ${s.maxLength} character${s.maxLength === 1 ? '' : 's'} long, not ${shown}.${s.examples?.length ? ` For example: ${JSON.stringify(s.examples[0])}.` : ''}`));
  }

  if (Array.isArray(v)) checkArray(v, s, path, out, doc);
  else if (typeOf(v) === 'object') checkObject(v as Record<string, unknown>, s, path, out, doc);
}

function checkNumber(v: number, s: JsonSchema, path: JsonPath, out: ConfigProblem[], doc: ConfigDocument) {
  const fail = (bound: string) => out.push(doc.problem('schema/range', 'error', path, `${where(path)} must be ${bound}, not ${v}.${s.description ? ` (${firstSentence(s.description)})` : ''}`));
  if (s.minimum !== undefined && v < s.minimum) fail(`≥ ${s.minimum}`);
  else if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) fail(`> ${s.exclusiveMinimum}`);
  else if (s.maximum !== undefined && v > s.maximum) fail(`≤ ${s.maximum.toLocaleString('en-US')}`);
  else if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) fail(`< ${s.exclusiveMaximum}`);
}

function firstSentence(text: string): string {
  const m = /^(.*?[.:])(\s|$)/.exec(text);
  return (m ? m[1] : text).replace(/[.:]$/, '');
}

function checkArray(v: unknown[], s: JsonSchema, path: JsonPath, out: ConfigProblem[], doc: ConfigDocument) {
  if (s.minItems !== undefined && v.length < s.minItems) {
    out.push(doc.problem('schema/min-items', 'error', path, `${where(path)} needs at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}.${s.examples?.length ? ` For example: ${JSON.stringify(s.examples[0])}.` : ''}`));
  }
  // Items past maxItems are not checked: the first problem to fix is the length (and 100 000 layers would cost seconds).
  const checked = s.maxItems !== undefined && v.length > s.maxItems ? s.maxItems : v.length;
  if (checked < v.length) {
    out.push(doc.problem('schema/max-items', 'error', path, `${where(path)} has ${v.length} items; at most ${s.maxItems} are allowed.`));
  }
  if (Array.isArray(s.items)) {
    s.items.forEach((itemSchema, i) => { if (i < checked) check(v[i], itemSchema, [...path, i], out, doc, undefined); });
  } else if (s.items) {
    for (let i = 0; i < checked && out.length < MAX_PROBLEMS; i++) check(v[i], s.items, [...path, i], out, doc, undefined);
  }
}

function checkObject(v: Record<string, unknown>, s: JsonSchema, path: JsonPath, out: ConfigProblem[], doc: ConfigDocument) {
  // A discriminated union (allOf of if/then on one key): validate against the branch the key selects.
  // Only branches that are whole schemas make a union; an allOf of bare `then: { required }` (the constraint's
  // "maxNorm needs maxValue") is a conditional requirement of one object, checked below with its properties.
  const branches = (s.allOf ?? []).filter(b => b.if?.properties && b.then?.properties);
  const discriminator = branches.length > 1 ? Object.keys(branches[0].if!.properties!)[0] : undefined;
  if (discriminator) {
    const selector = v[discriminator];
    if (selector === undefined) {
      const options = s.properties?.[discriminator]?.enum?.map(String) ?? [];
      out.push(doc.problem('schema/required', 'error', path, `${where(path)} needs "${discriminator}": one of ${options.join(', ')}.`));
      return;
    }
    const disc = s.properties?.[discriminator];
    if (disc) {
      const before = out.length;
      check(selector, disc, [...path, discriminator], out, doc, 'discriminator');
      if (out.length > before) return;
    }
    const branch = branches.find(b => b.if!.properties![discriminator].const === selector);
    if (branch) checkObject(v, branch.then!, path, out, doc);
    return;
  }

  for (const key of s.required ?? []) {
    if (!Object.hasOwn(v, key)) {
      const ps = s.properties?.[key];
      const ex = ps?.examples?.length ? ` For example: "${key}": ${JSON.stringify(ps.examples[0])}.` : '';
      const kind = typeof v.type === 'string' ? ` (${v.type})` : '';
      out.push(doc.problem('schema/required', 'error', path, `${where(path)}${kind} is missing "${key}"${ps?.description ? `: ${firstSentence(ps.description)}` : ''}.${ex}`, true));
    }
  }
  if (s.properties) {
    for (const [key, child] of Object.entries(v)) {
      // Stop at the cap: each problem costs a lookup in the document, and 100 000 unknown keys would cost minutes.
      if (out.length >= MAX_PROBLEMS) return;
      // Own keys only: "constructor" or "toString" must not find Object.prototype's and pass as known.
      const ps = Object.hasOwn(s.properties, key) ? s.properties[key] : undefined;
      if (ps) check(child, ps, [...path, key], out, doc, undefined);
      else if (s.additionalProperties === false) {
        const allowed = Object.keys(s.properties);
        const guess = didYouMean(key, allowed);
        const kind = typeof v.type === 'string' ? ` ${v.type} layer` : typeof v.source === 'string' ? ` ${v.source} data` : '';
        out.push(doc.problem('schema/unknown-key', 'error', [...path, key],
          `Unknown key "${key}" in ${path.length ? `"${formatPath(path)}"` : 'the config'}${kind ? ` (${kind.trim()})` : ''}.${guess ? ` Did you mean "${guess}"?` : ` Allowed: ${allowed.filter(k => k !== '$schema').join(', ')}.`}`, true));
      }
    }
  }
  // Conditional requirements (e.g. maxNorm needs maxValue).
  for (const b of s.allOf ?? []) {
    if (!b.if?.properties || !b.then) continue;
    const [k, cond] = Object.entries(b.if.properties)[0];
    if (v[k] === cond.const) {
      for (const key of b.then.required ?? []) {
        if (!Object.hasOwn(v, key)) out.push(doc.problem('schema/required', 'error', path, `${where(path)} (${k} ${JSON.stringify(cond.const)}) is missing "${key}".`, true));
      }
    }
  }
}

function checkOneOf(v: unknown, s: JsonSchema, path: JsonPath, out: ConfigProblem[], doc: ConfigDocument) {
  const options = s.oneOf!;
  // Pick the alternative whose type matches (the schema's oneOfs differ by type), then validate in it.
  const candidates = options.filter(o => o.type === undefined || (Array.isArray(o.type) ? o.type : [o.type]).some(t => matchesType(v, t)));
  if (candidates.length === 0) {
    const kinds = options.map(o => ARTICLE[String(o.type)] ?? String(o.type));
    out.push(doc.problem('schema/type', 'error', path, `${where(path)} must be ${kinds.join(' or ')}, not ${describe(v)}.${s.examples?.length ? ` For example: ${JSON.stringify(s.examples[0])}.` : ''}`));
    return;
  }
  let best: ConfigProblem[] | undefined;
  for (const c of candidates) {
    const attempt: ConfigProblem[] = [];
    check(v, c, path, attempt, doc, undefined);
    if (attempt.length === 0) return;
    if (!best || attempt.length < best.length) best = attempt;
  }
  out.push(...best!);
}
