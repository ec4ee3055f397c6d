// Shared knobs and tools of the fuzz suites: a fixed seed and a bounded count for CI, overridable for long
// local runs, and a tally of what was tried so a run can say how much it fuzzed.
//
//   GRADMON_FUZZ_RUNS=5000 npx mocha out/test/unit/fuzz-config.test.js   # more cases per property
//   GRADMON_FUZZ_SEED=123 …                                                # another (or a failing) seed

import type { Parameters } from 'fast-check';

/** Cases per property in CI: enough to meet every generator branch a few times, fast enough for `npm test`. */
export const FUZZ_RUNS = positiveInt(process.env.GRADMON_FUZZ_RUNS) ?? 300;
/** Fixed unless overridden, so a CI failure reproduces locally with the printed seed. */
export const FUZZ_SEED = integer(process.env.GRADMON_FUZZ_SEED) ?? 0x6d0f_2a17;

function positiveInt(s: string | undefined): number | undefined {
  const n = s === undefined ? NaN : Number(s);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function integer(s: string | undefined): number | undefined {
  const n = s === undefined || s.trim() === '' ? NaN : Number(s);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * fast-check parameters for one property. `share` scales the count for expensive properties (a model build
 * per case). fast-check's failure message carries the seed and the shrink path; we repeat the knobs.
 */
export function fuzzParams<T>(share = 1): Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: Math.max(1, Math.round(FUZZ_RUNS * share)),
    endOnFailure: true,
    reporter: out => {
      if (out.failed) {
        throw new Error(`${fcReport(out)}\n(reproduce: GRADMON_FUZZ_SEED=${FUZZ_SEED} GRADMON_FUZZ_RUNS=${FUZZ_RUNS})`);
      }
    },
  };
}

function fcReport(out: { counterexample: unknown; seed: number; counterexamplePath: string | null; errorInstance: unknown; numRuns: number }): string {
  const example = safeStringify(out.counterexample);
  const e = out.errorInstance;
  const err = e instanceof Error
    ? [e.message, ...(e.stack ?? '').split('\n').filter(l => /^\s+at /.test(l)).slice(0, 3)].join('\n')
    : String(e);
  return `Property failed after ${out.numRuns} case(s) { seed: ${out.seed}, path: "${out.counterexamplePath}" }\n` +
    `Counterexample: ${example.length > 4000 ? example.slice(0, 4000) + `… (${example.length} chars)` : example}\n${err}`;
}

export function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x instanceof Uint8Array ? `<${x.length} bytes>` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Counts of what a suite tried, printed after it so the numbers can be quoted. A key starting with "  …"
 * is a breakdown of the last top-level key added before it, and is listed under it.
 */
export class Tally {
  private readonly counts = new Map<string, number>();
  private readonly children = new Map<string, Set<string>>();
  private lastTop = '';

  add(what: string, n = 1): void {
    let key = what;
    if (what.startsWith('  …')) {
      key = `${this.lastTop}\u0000${what}`;
      if (!this.children.has(this.lastTop)) this.children.set(this.lastTop, new Set());
      this.children.get(this.lastTop)!.add(key);
    } else {
      this.lastTop = what;
    }
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  get(what: string): number {
    return this.counts.get(what) ?? 0;
  }

  report(title: string): string {
    const line = (k: string) => `    ${String(this.counts.get(k)).padStart(7)}  ${k.slice(k.indexOf('\u0000') + 1)}`;
    const lines: string[] = [];
    for (const k of this.counts.keys()) {
      if (k.includes('\u0000')) continue;
      lines.push(line(k));
      for (const c of [...(this.children.get(k) ?? [])].sort()) lines.push(line(c));
    }
    return `  ${title} (seed ${FUZZ_SEED}, ${FUZZ_RUNS} runs per property):\n${lines.join('\n')}`;
  }
}

/** Milliseconds a call took, with its result or its exception (the caller decides which is allowed). */
export function timed<T>(f: () => T): { ms: number; value?: T; error?: unknown } {
  const t0 = performance.now();
  try {
    const value = f();
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

export async function timedAsync<T>(f: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await f();
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

/** A small deterministic generator for rendering choices (mulberry32); fast-check owns the seeds. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lines as an editor counts them: LF, CRLF and a lone CR each end one. */
export function editorLineCount(text: string): number {
  let n = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      n++;
    }
  }
  return n;
}
