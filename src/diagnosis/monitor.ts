// Watches a run's event stream and turns the statistics into findings, updated as they evolve.
// Plain module (no vscode): the CLI and the extension's training process both run it.

import type { ResolvedConfig } from '../config/types';
import type { Finding, LayerSummary, RunEvent } from '../protocol';
import { RULES, RunHistory, type Rule, type RuleContext } from './rules';

export interface Monitor {
  /** Feeds one event; returns the findings that are new or changed enough to report again. */
  observe(event: RunEvent): Finding[];
  /** Every finding so far, most severe first. */
  findings(): Finding[];
  /** True when a finding asks the run to stop (non-finite values with onNonFinite "halt"). */
  shouldHalt(): boolean;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 };

/** A finding still in progress is re-reported at most this often (its last step moves every step). */
const REPORT_EVERY_STEPS = 50;

export function createMonitor(config: ResolvedConfig, layers: LayerSummary[], rules: Rule[] = RULES): Monitor {
  const history = new RunHistory(config.monitor.thresholds.window);
  const ctx: RuleContext = { config, layers, thresholds: config.monitor.thresholds, history };
  const instances = rules.map(r => r.create(ctx));
  const current = new Map<string, Finding>();
  const reportedAt = new Map<string, { step: number; severity: string; title: string }>();
  let halt = false;
  return {
    observe(event) {
      const changed: Finding[] = [];
      for (const rule of instances) {
        for (const f of rule.observe(event)) {
          current.set(f.id, f);
          const last = reportedAt.get(f.id);
          const step = f.lastStep ?? 0;
          if (!last || last.severity !== f.severity || step - last.step >= REPORT_EVERY_STEPS) {
            reportedAt.set(f.id, { step, severity: f.severity, title: f.title });
            changed.push(f);
          }
          if (f.kind === 'nonFinite' && config.monitor.onNonFinite === 'halt') halt = true;
        }
      }
      // The history is updated after the rules saw the step, so a spike is compared with what came before it.
      if (event.type === 'step') history.observe(event);
      return changed;
    },
    findings() {
      return [...current.values()].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.firstStep ?? 0) - (b.firstStep ?? 0));
    },
    shouldHalt: () => halt,
  };
}
