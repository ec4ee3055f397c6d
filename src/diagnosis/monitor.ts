// Watches a run's event stream and turns the statistics into findings, updated as they evolve.
// Plain module (no vscode): the CLI and the extension's training process both run it.

import type { ResolvedConfig } from '../config/types';
import type { Finding, LayerSummary, RunEvent } from '../protocol';
import { RULES, type Rule, type RuleContext } from './rules';

export interface Monitor {
  /** Feeds one event; returns the findings that are new or changed because of it. */
  observe(event: RunEvent): Finding[];
  /** Every finding so far, most severe first. */
  findings(): Finding[];
  /** True when a finding asks the run to stop (e.g. non-finite values with onNonFinite "halt"). */
  shouldHalt(): boolean;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 };

export function createMonitor(config: ResolvedConfig, layers: LayerSummary[], rules: Rule[] = RULES): Monitor {
  const ctx: RuleContext = { config, layers, thresholds: config.monitor.thresholds };
  const instances = rules.map(r => r.create(ctx));
  const current = new Map<string, Finding>();
  let halt = false;
  return {
    observe(event) {
      const changed: Finding[] = [];
      for (const rule of instances) {
        for (const f of rule.observe(event)) {
          const before = current.get(f.id);
          if (!before || JSON.stringify(before) !== JSON.stringify(f)) {
            current.set(f.id, f);
            changed.push(f);
          }
          if (f.kind === 'nonFinite' && config.monitor.onNonFinite === 'halt') halt = true;
        }
      }
      return changed;
    },
    findings() {
      return [...current.values()].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.firstStep ?? 0) - (b.firstStep ?? 0));
    },
    shouldHalt: () => halt,
  };
}
