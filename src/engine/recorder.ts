// Everything a run's events go through after the trainer: the run log, the diagnosis (findings, halting) and
// the summary, then whoever watches (the CLI's output, the extension host). One place for both ways a run is
// watched: on the training thread (Trainer.emit calls it) or on the monitor thread (monitorThread.ts).

import { describeNonFinite } from '../diagnosis/describe';
import { createMonitor } from '../diagnosis/monitor';
import type { NonFiniteOrigin, RecorderInit, RunEnd, RunEvent, RunStartEvent, RunSummary } from '../protocol';
import { RunLogError, RunLogWriter } from './runlog';

/** The trainer's reason when it halts on the recorder's verdict (the recorder then tells the real one). */
export const RULE_HALT = 'halted by a diagnosis rule';

/** Why the recorder asks the trainer to stop. */
export type HaltCause = 'rule' | 'nonFinite' | 'log';

export class RunRecorder {
  private readonly monitor;
  private readonly tracker = new SummaryTracker();
  private readonly log?: RunLogWriter;
  logError?: RunLogError;
  halt?: { cause: HaltCause; reason: string };
  start?: RunStartEvent;
  /** When the host last got a step with its layer histograms (view 'host'). */
  private lastHistogramAt = 0;

  constructor(private readonly init: RecorderInit, private readonly out: (e: RunEvent) => void = () => {}) {
    this.monitor = createMonitor(init.config, init.layers);
    if (init.logDir) this.log = RunLogWriter.resume(init.logDir);
  }

  /**
   * Logs, tracks and passes on one event; for a step or an epoch's end, also runs the diagnosis and delivers its
   * findings. Returns the halt verdict so far.
   */
  record(e: RunEvent): HaltCause | undefined {
    this.deliver(e);
    if (e.type === 'step' || e.type === 'epoch-end' || e.type === 'validation') {
      for (const f of this.monitor.observe(e)) this.deliver({ type: 'finding', step: 'step' in e ? e.step : this.tracker.steps, finding: f });
      // The first NaN/Inf says more than the rule that halts on it: it wins when both come at one step.
      if (!this.halt && e.type === 'step' && e.nonFinite && this.init.config.monitor.onNonFinite === 'halt') {
        this.halt = { cause: 'nonFinite', reason: `${describeNonFinite(e.nonFinite)} (monitor.onNonFinite is "halt")` };
      }
      if (!this.halt && this.monitor.shouldHalt()) {
        const finding = this.monitor.findings().find(f => f.kind === 'nonFinite');
        this.halt = { cause: 'rule', reason: finding ? `${finding.title} (monitor.onNonFinite is "halt")` : RULE_HALT };
      }
    }
    // A run whose log cannot be written stops: training silently unlogged would lose the user's results.
    if (this.logError && this.halt?.cause !== 'log') this.halt = { cause: 'log', reason: this.logError.message };
    return this.halt?.cause;
  }

  private deliver(e: RunEvent): void {
    if (e.type === 'run-start') this.start = e;
    if (this.log && !this.logError) {
      try {
        this.log.append(e);
      } catch (err) {
        this.logError = err as RunLogError;
      }
    }
    this.tracker.observe(e);
    if (this.init.view === 'all') this.out(e);
    else if (this.init.view === 'host') {
      const now = Date.now();
      const withHistograms = e.type === 'step' && e.stats !== undefined && (e.nonFinite !== undefined || now - this.lastHistogramAt >= 1000 / HOST_HISTOGRAMS_PER_SECOND);
      if (withHistograms) this.lastHistogramAt = now;
      this.out(forHost(e, withHistograms));
    }
  }

  /** Ends the run: the summary, its run-end event, the summary file; closes the log. */
  finish(end: RunEnd, endedAt = new Date()): RunSummary {
    let result = end;
    if (this.logError) result = { ...result, status: 'failed', reason: this.logError.message };
    // The trainer knows a halt's reason when it halted on its own (a NaN loss); on the recorder's word, the recorder does.
    else if (result.status === 'halted' && this.halt && (result.reason === undefined || result.reason === RULE_HALT)) result = { ...result, reason: this.halt.reason };
    const startedAt = this.start?.startedAt ?? endedAt.toISOString();
    const durationMs = endedAt.getTime() - Date.parse(startedAt);
    const summary: RunSummary = {
      runId: this.start?.runId ?? '',
      name: this.init.config.name,
      status: result.status,
      reason: result.reason,
      backend: this.start?.backend.name ?? 'cpu',
      // A trainer that threw does not know how far it got; the events do.
      steps: Math.max(result.steps, this.tracker.steps),
      epochs: Math.max(result.epochs, this.tracker.epochs),
      finalLoss: result.lastLoss,
      finalAccuracy: result.lastAccuracy,
      finalValLoss: result.lastValLoss,
      finalValAccuracy: result.lastValAccuracy,
      layers: this.tracker.layerSummary(),
      findings: this.monitor.findings(),
      firstNonFinite: result.firstNonFinite ?? this.tracker.firstNonFinite,
      startedAt,
      endedAt: endedAt.toISOString(),
      durationMs,
      stepsPerSecond: durationMs > 0 ? Math.max(result.steps, this.tracker.steps) / (durationMs / 1000) : 0,
    };
    this.deliver({ type: 'run-end', summary });
    if (this.log) {
      try {
        if (!this.logError) this.log.writeSummary(summary);
      } catch (e) {
        summary.status = 'failed';
        summary.reason = (e as Error).message;
      }
      this.log.close();
    }
    return summary;
  }

  /** Closes the log without a summary (the run could not finish: its log then reads as crashed). */
  abandon(): void {
    this.log?.close();
  }
}

/** Histograms per second the host gets at most: its views downsample anyway, and each is heavy to copy. */
const HOST_HISTOGRAMS_PER_SECOND = 20;

/**
 * What the extension host needs of a step: every step's scalars and per-layer figures, the layer histograms when
 * `withHistograms` (the recorder lets them through at most HOST_HISTOGRAMS_PER_SECOND times a second, always at a
 * non-finite step), no per-variable detail (the run log keeps all of it). Keeps the host responsive whatever the
 * step rate and the layer count.
 */
export function forHost(event: RunEvent, withHistograms: boolean): RunEvent {
  if (event.type !== 'step' || !event.stats) return event;
  return {
    ...event,
    stats: {
      ...event.stats,
      layers: event.stats.layers.map(l => ({
        ...l,
        variables: [],
        grad: withHistograms ? l.grad : { ...l.grad, histogram: undefined },
      })),
    },
  };
}

/** Keeps what the summary needs from the event stream: per-layer norms (sampled, bounded memory). */
class SummaryTracker {
  steps = 0;
  epochs = 0;
  firstNonFinite?: NonFiniteOrigin;
  private readonly norms = new Map<string, { index: number; samples: number[]; stride: number; seen: number; last: number; nonFinite: boolean }>();
  private static readonly MAX_SAMPLES = 4096;

  observe(e: RunEvent): void {
    if (e.type === 'step') {
      this.steps = e.step + 1;
      if (e.nonFinite && !this.firstNonFinite) this.firstNonFinite = e.nonFinite;
      for (const l of e.stats?.layers ?? []) {
        let n = this.norms.get(l.layer);
        if (!n) this.norms.set(l.layer, (n = { index: l.index, samples: [], stride: 1, seen: 0, last: NaN, nonFinite: false }));
        n.last = l.gradNorm;
        if (!Number.isFinite(l.gradNorm)) n.nonFinite = true;
        else if (n.seen++ % n.stride === 0) {
          n.samples.push(l.gradNorm);
          if (n.samples.length >= SummaryTracker.MAX_SAMPLES) {
            n.samples = n.samples.filter((_, i) => i % 2 === 0);
            n.stride *= 2;
          }
        }
      }
    } else if (e.type === 'epoch-end') this.epochs = e.epoch + 1;
  }

  layerSummary(): RunSummary['layers'] {
    return [...this.norms.entries()].map(([layer, n]) => {
      const s = [...n.samples].sort((a, b) => a - b);
      return { layer, index: n.index, lastGradNorm: n.last, medianGradNorm: s.length ? s[Math.floor(s.length / 2)] : NaN, nonFinite: n.nonFinite };
    }).sort((a, b) => a.index - b.index);
  }
}
