// The diagnosis rules over the per-step statistics. Each rule keeps its own state over the run, compares a
// layer with its own recent history where it can (adaptive rather than fixed constants), and reports findings
// with evidence, a plain-language explanation and ranked fixes. Thresholds: monitor.thresholds (thresholds.ts).

import type { MonitorThresholds, ResolvedConfig } from '../config/types';
import type { Finding, FindingLayer, LayerStats, LayerSummary, RunEvent, Severity, StepEvent, SuggestedFix } from '../protocol';
import { describeNonFinite } from './describe';
import {
  listNames,
  accumulate, addNormalization, clipByGlobalNorm, clipByNorm, clipByValue, compact, gatedRecurrent, heInitialization, leakyRelu,
  orthogonalRecurrent, saturatingLayers, scaleLearningRate, useAdam, useRelu, useSelu,
} from './fixes';

export interface RuleContext {
  config: ResolvedConfig;
  layers: LayerSummary[];
  thresholds: Required<MonitorThresholds>;
  /** Shared run history (global norms, losses) that several rules read. */
  history: RunHistory;
}

export interface RuleInstance {
  observe(event: RunEvent): Finding[];
}

export interface Rule {
  id: string;
  create(ctx: RuleContext): RuleInstance;
}

export const DOCS_BASE = 'https://github.com/gradmon/gradient-monitor/blob/main/docs/rules.md';

// ---------------------------------------------------------------------------------------------------------
// History

/** A bounded window of recent values with median and quantiles. */
export class Window {
  private readonly values: number[] = [];
  constructor(readonly size: number) {}
  push(v: number): void {
    this.values.push(v);
    if (this.values.length > this.size) this.values.shift();
  }
  get length(): number { return this.values.length; }
  get all(): readonly number[] { return this.values; }
  quantile(q: number): number {
    if (!this.values.length) return NaN;
    const s = [...this.values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))];
  }
  median(): number { return this.quantile(0.5); }
  last(): number { return this.values[this.values.length - 1]; }
}

/** What several rules need: the global norm's healthy history, the loss curve. */
export class RunHistory {
  /** Global norms of steps no rule has flagged: the basis for suggested clipping thresholds. */
  readonly healthyGlobalNorms: Window;
  readonly losses: Window;
  /** Exponential moving average of the loss (smooths mini-batch noise). */
  smoothedLoss = NaN;
  initialLoss = NaN;
  bestSmoothedLoss = Infinity;
  stepsSinceImprovement = 0;
  monitoredSteps = 0;

  constructor(window: number) {
    this.healthyGlobalNorms = new Window(Math.max(window * 4, 200));
    this.losses = new Window(window);
  }

  observe(e: StepEvent): void {
    if (e.stats) this.monitoredSteps++;
    if (!Number.isFinite(e.loss)) return;
    this.losses.push(e.loss);
    if (Number.isNaN(this.initialLoss)) this.initialLoss = e.loss;
    this.smoothedLoss = Number.isNaN(this.smoothedLoss) ? e.loss : 0.9 * this.smoothedLoss + 0.1 * e.loss;
    // "Improvement" means 1% below the best smoothed loss so far.
    if (this.smoothedLoss < this.bestSmoothedLoss * 0.99) {
      this.bestSmoothedLoss = this.smoothedLoss;
      this.stepsSinceImprovement = 0;
    } else {
      this.stepsSinceImprovement++;
    }
  }

  /** A clipping threshold from the run's own healthy norms: 2× their median (Pascanu et al.: ½–10× works). */
  clipThreshold(): { value: number; basis: string } {
    const m = this.healthyGlobalNorms.median();
    if (!Number.isFinite(m) || m <= 0) return { value: 1, basis: 'a common starting point' };
    return { value: 2 * m, basis: `≈ 2× the median healthy global norm ${m.toPrecision(2)}` };
  }

  stalled(window: number): boolean {
    return this.stepsSinceImprovement >= window;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : Number(x.toPrecision(3)).toString()) : String(x));

/** Layers with trainable weights, in model order (statistics exist only for these). */
function weighted(e: StepEvent): LayerStats[] {
  return e.stats?.layers ?? [];
}

function isRecurrent(type: string): boolean {
  return type === 'simpleRNN' || type === 'lstm' || type === 'gru';
}

/** Counts consecutive monitored steps a condition holds, per key; reports when it reaches `patience`. */
class Persistence {
  private readonly runs = new Map<string, { count: number; first: number }>();
  update(key: string, holds: boolean, step: number): { count: number; first: number } | undefined {
    if (!holds) {
      this.runs.delete(key);
      return undefined;
    }
    const r = this.runs.get(key) ?? { count: 0, first: step };
    r.count++;
    this.runs.set(key, r);
    return r;
  }
}

/** A finding that evolves: first step fixed, last step and evidence updated while the condition lasts. */
class Tracked {
  private readonly open = new Map<string, Finding>();
  report(f: Finding): Finding {
    const prev = this.open.get(f.id);
    if (prev) {
      // A finding starts where it was first reported; a later streak of the same condition extends it.
      if (prev.firstStep !== undefined && f.firstStep !== undefined && prev.firstStep !== f.firstStep) {
        f.title = f.title.replace(`from step ${f.firstStep}`, `from step ${prev.firstStep}`);
      }
      f.firstStep = prev.firstStep;
      if (SEVERITY_RANK[prev.severity] < SEVERITY_RANK[f.severity]) f.severity = prev.severity;
    }
    // Every layer it concerns: its own first, then those it reports now, then those it concerned before (a spike
    // that moved on from a layer still happened there); only when that is more than its own layer.
    const own: FindingLayer[] = f.layer !== undefined && f.layerIndex !== undefined ? [{ name: f.layer, index: f.layerIndex }] : [];
    const layers = uniqueLayers([...own, ...(f.layers ?? []), ...(prev?.layers ?? [])]);
    f.layers = layers.length > 1 ? layers : undefined;
    this.open.set(f.id, f);
    return f;
  }
  get(id: string): Finding | undefined { return this.open.get(id); }
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** The layers in their first order, each once. */
function uniqueLayers(layers: FindingLayer[]): FindingLayer[] {
  const seen = new Set<string>();
  return layers.filter(l => !seen.has(l.name) && seen.add(l.name));
}

/** A layer's statistics as a finding names it. */
const named = (l: LayerStats): FindingLayer => ({ name: l.layer, index: l.index });

function base(rule: string, kind: Finding['kind'], severity: Severity, title: string, explanation: string, extra: Partial<Finding>): Finding {
  return {
    id: extra.layer ? `${rule}:${extra.layer}` : rule,
    rule, kind, severity, title, explanation,
    evidence: {}, jsonPath: [], fixes: [],
    docs: `${DOCS_BASE}#${rule}`,
    ...extra,
  };
}

/** Steps after which an explosion counts as "after a healthy start" rather than "from the start". */
const EARLY_STEPS = 10;

/**
 * Ranked fixes for exploding or non-finite gradients. Recurrent layers: clipping first (Pascanu et al. 2013
 * made it the standard cure for RNNs). An explosion from the very first steps: the learning rate is simply too
 * large, so lower it first. Spikes after a healthy start: clip at 2× the healthy norm.
 */
function explosionFixes(ctx: RuleContext, layerIndex: number | undefined, firstStep: number): SuggestedFix[] {
  const clip = ctx.history.clipThreshold();
  const layer = layerIndex !== undefined ? ctx.config.model[layerIndex] : undefined;
  const recurrent = layer !== undefined && isRecurrent(layer.type);
  const hasGlobalClip = ctx.config.clipping.some(c => c.mode === 'globalNorm');
  const clipFix = hasGlobalClip ? undefined : clipByGlobalNorm(clip.value, clip.basis);
  const lower = scaleLearningRate(ctx.config, 0.1);
  const early = firstStep < EARLY_STEPS && !recurrent;
  return compact([
    early ? lower : clipFix,
    early ? clipFix : lower,
    layer?.type === 'simpleRNN' ? gatedRecurrent(ctx.config, layerIndex) : undefined,
    recurrent ? orthogonalRecurrent(ctx.config, layerIndex!) : undefined,
    ctx.config.optimizer.type === 'adam' ? undefined : useAdam(ctx.config),
    // The other two clipping modes: per tensor (when one layer's gradient is the problem) and per element.
    ctx.config.clipping.length ? undefined : clipByNorm(clip.value),
    ctx.config.clipping.length ? undefined : clipByValue(clip.value / 10),
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// Rules

/** NaN/Inf in the loss, a gradient or a weight: the first step, and the layer where it appeared first. */
export const nonFiniteRule: Rule = {
  id: 'non-finite',
  create(ctx) {
    let reported = false;
    return {
      observe(e) {
        // The trainer localizes it (forward pass first, then gradients in backward order, then weights).
        if (reported || e.type !== 'step' || !e.nonFinite) return [];
        reported = true;
        const n = e.nonFinite;
        const layer = n.layer !== undefined ? ctx.layers.find(l => l.name === n.layer) : undefined;
        const stats = weighted(e).find(l => l.layer === n.layer);
        const evidence: Record<string, number | string> = { step: n.step, where: n.where, loss: fmt(e.loss) };
        if (stats) {
          evidence.nanGradients = stats.grad.nanCount;
          evidence.infGradients = stats.grad.infCount;
        }
        const healthy = ctx.history.healthyGlobalNorms;
        if (healthy.length) evidence.lastHealthyGlobalNorm = fmt(healthy.last());
        return [base('non-finite', 'nonFinite', 'error', describeNonFinite(n),
          `A NaN or infinite value poisons every later update: the model stops learning for good. ${n.where === 'forward' ? `The forward pass produced it first in ${n.layer}: its inputs or weights had grown too large for float32.` : n.where === 'gradient' ? `Backpropagation produced it first in ${n.layer}.` : ''} It usually follows exploding gradients (a learning rate too large, no clipping), a log of zero, or a division by a vanishing variance.`,
          {
            id: 'non-finite', layer: n.layer, layerIndex: layer?.index, firstStep: n.step, lastStep: n.step, evidence,
            jsonPath: layer ? ['model', layer.index] : ['loss'],
            fixes: explosionFixes(ctx, layer?.index, n.step),
          })];
      },
    };
  },
};

/**
 * Exploding gradients: a layer's norm far above its own recent median (adaptive, not a fixed constant), or
 * the first-to-last layer ratio above AUTOTRAINER's 70. One finding for the run, pointing at the layer whose
 * norm jumped most. With clipping active and the loss not rising, a spike is info: clipping is handling it.
 */
export const explosionRule: Rule = {
  id: 'exploding-gradients',
  create(ctx) {
    const t = ctx.thresholds;
    const windows = new Map<string, Window>();
    const maxHealthy = new Map<string, number>();
    const persist = new Persistence();
    const tracked = new Tracked();
    /** With fewer samples than this, a jump only counts if the loss rose as well (less history, more proof). */
    const warmup = 5;
    return {
      observe(e) {
        if (e.type !== 'step' || !e.stats) return [];
        const out: Finding[] = [];
        const layers = weighted(e);
        const h = ctx.history;
        // The smoothed loss, not one batch's: a single noisy batch does not make the loss "rising". (The history
        // is updated after the rules, so fold this step in here.)
        const smoothed = Number.isFinite(e.loss) && Number.isFinite(h.smoothedLoss) ? 0.9 * h.smoothedLoss + 0.1 * e.loss : e.loss;
        const lossRising = Number.isFinite(h.initialLoss) && (!Number.isFinite(e.loss) || smoothed > 1.5 * h.initialLoss);
        const spikes: { layer: LayerStats; factor: number; median: number }[] = [];
        for (const l of layers) {
          if (!Number.isFinite(l.gradNorm)) continue; // the non-finite rule owns those
          let w = windows.get(l.layer);
          if (!w) windows.set(l.layer, (w = new Window(t.window)));
          const median = w.median();
          const factor = median > 0 ? l.gradNorm / median : 0;
          // Above its recent median AND above anything this layer has shown healthy: near convergence norms
          // shrink and a 10× jump from a tiny value is ordinary mini-batch noise, not an explosion.
          const highest = maxHealthy.get(l.layer) ?? 0;
          const spike = w.length >= 1 && factor > t.explosionFactor && l.gradNorm > highest && (w.length >= warmup || lossRising);
          if (spike) spikes.push({ layer: l, factor, median });
          else {
            // Only unflagged values feed the baseline, so a long explosion does not become the new normal.
            w.push(l.gradNorm);
            if (l.gradNorm > highest) maxHealthy.set(l.layer, l.gradNorm);
          }
        }
        const run = persist.update('spike', spikes.length > 0, e.step);
        if (run) {
          const worst = spikes.reduce((a, b) => (b.factor > a.factor ? b : a));
          const l = worst.layer;
          const clipping = ctx.config.clipping.length > 0;
          // How bad depends on what the loss does. Rising (or non-finite): the explosion is wrecking training.
          // Persisting while the loss no longer improves, or extreme (≥ factor² jump): likely to. A jump while the
          // loss keeps improving is often the model picking up a signal (an LSTM finding a long dependency): info.
          // With clipping configured, the update is bounded anyway: info unless the loss rises.
          const improving = Number.isFinite(h.bestSmoothedLoss) && smoothed <= 1.05 * h.bestSmoothedLoss;
          const extreme = worst.factor >= t.explosionFactor * t.explosionFactor;
          const severity: Severity = lossRising ? 'error'
            : clipping ? 'info'
              : extreme || (run.count >= t.patience && !improving) ? 'warning' : 'info';
          const prev = tracked.get('exploding-gradients');
          const origin = prev?.layer ?? l.layer;
          const originIndex = prev?.layerIndex ?? l.index;
          out.push(tracked.report(base('exploding-gradients', 'explosion', severity,
            severity !== 'info' ? `Exploding gradients in ${origin} from step ${run.first}`
              : clipping ? `Gradient spikes in ${origin} from step ${run.first}, held by clipping`
                : `Gradient norm of ${origin} jumped from step ${run.first} while the loss keeps improving`,
            `The gradient norm of ${l.layer} jumped to ${fmt(l.gradNorm)}, ${fmt(worst.factor)}× its recent median ${fmt(worst.median)}${spikes.length > 1 ? ` (also ${spikes.filter(x => x !== worst).map(x => `${x.layer.layer} ${fmt(x.factor)}×`).join(', ')})` : ''}. Steps this large throw the weights far across the loss surface${lossRising ? ', and the loss is rising' : ''}; if it keeps growing the run ends in NaN.`,
            {
              id: 'exploding-gradients', layer: origin, layerIndex: originIndex, layers: spikes.map(x => named(x.layer)),
              firstStep: run.first, lastStep: e.step, jsonPath: ['model', originIndex],
              evidence: {
                step: e.step, gradNorm: fmt(l.gradNorm), recentMedian: fmt(worst.median), factor: fmt(worst.factor), threshold: `${t.explosionFactor}× median`,
                globalNorm: fmt(e.stats.globalNorm), loss: fmt(e.loss), initialLoss: fmt(h.initialLoss), stepsAbove: run.count,
              },
              fixes: explosionFixes(ctx, originIndex, run.first),
            })));
        }
        let ratioFlagged = false;
        // AUTOTRAINER's ratio test: the first layer's gradient dwarfing the last's.
        if (layers.length >= 2) {
          const first = layers[0];
          const last = layers[layers.length - 1];
          const ratio = first.gradNorm / last.gradNorm;
          const rrun = persist.update('ratio', Number.isFinite(ratio) && ratio > t.explosionRatio, e.step);
          // One step is proof enough at the first monitored step (it decides the first update, and nothing is
          // noisy yet) or far beyond the threshold (10×); otherwise the ratio must persist.
          if (rrun && (rrun.count >= t.patience || ratio > 10 * t.explosionRatio || h.monitoredSteps === 0)) {
            ratioFlagged = true;
            // Localize: the layer where the gradient grows most on its way back (its norm over its successor's).
            let origin = first;
            let jump = 0;
            for (let i = 0; i < layers.length - 1; i++) {
              const j = layers[i].gradNorm / layers[i + 1].gradNorm;
              if (Number.isFinite(j) && j > jump) { jump = j; origin = layers[i]; }
            }
            const held = ctx.config.clipping.length > 0 && !lossRising;
            const prev = tracked.get('exploding-gradients-ratio');
            const originName = prev?.layer ?? origin.layer;
            const originIndex = prev?.layerIndex ?? origin.index;
            out.push(tracked.report(base('exploding-gradients-ratio', 'explosion', held ? 'info' : 'warning',
              `Exploding gradients in ${originName} from step ${rrun.first}: ${first.layer}'s norm is ${fmt(ratio)}× ${last.layer}'s`,
              `Backpropagation multiplies the gradient by each layer's Jacobian; when those exceed 1 it grows layer by layer toward the input. Here it grows most through ${origin.layer} (${fmt(jump)}× its successor's norm). A first-to-last ratio above ${t.explosionRatio} marks exploding gradients (AUTOTRAINER).`,
              {
                id: 'exploding-gradients-ratio', layer: originName, layerIndex: originIndex, firstStep: rrun.first, lastStep: e.step, jsonPath: ['model', originIndex],
                evidence: { step: e.step, ratio: fmt(ratio), firstLayerNorm: fmt(first.gradNorm), lastLayerNorm: fmt(last.gradNorm), growthThroughLayer: fmt(jump), threshold: t.explosionRatio },
                fixes: explosionFixes(ctx, originIndex, rrun.first),
              })));
          }
        }
        if (!run && !ratioFlagged && Number.isFinite(e.stats.globalNorm)) h.healthyGlobalNorms.push(e.stats.globalNorm);
        return out;
      },
    };
  },
};

/**
 * Vanishing gradients: early layers' norms orders of magnitude below the last layer's and near zero
 * (AUTOTRAINER: ratio < 1e-3 and first-layer norm < 1e-4), or a layer's mean |gradient| below 1e-7
 * (DeepDiagnosis). An error when the loss has stalled as well.
 */
export const vanishingRule: Rule = {
  id: 'vanishing-gradients',
  create(ctx) {
    const t = ctx.thresholds;
    const persist = new Persistence();
    const tracked = new Tracked();
    return {
      observe(e) {
        if (e.type !== 'step' || !e.stats) return [];
        const layers = weighted(e);
        if (layers.length === 0) return [];
        const last = layers[layers.length - 1];
        const stalled = ctx.history.stalled(t.window);
        const affected: { l: LayerStats; ratio: number; rms: number; first: number }[] = [];
        for (const l of layers.slice(0, -1)) {
          if (l.type === 'batchNormalization' || l.type === 'layerNormalization') continue;
          // A ReLU layer whose gradient is mostly exact zeros is dying, not vanishing: the dead-ReLU rule says so.
          const act = ctx.layers.find(x => x.index === l.index)?.activation;
          if ((act === 'relu' || act === 'relu6') && l.grad.zeroFraction >= t.deadReluFraction) continue;
          const ratio = l.gradNorm / last.gradNorm;
          // RMS of the gradient: ≥ mean |g|, so "RMS below 1e-7" implies DeepDiagnosis' mean |g| < 1e-7.
          const rms = l.grad.size ? l.gradNorm / Math.sqrt(l.grad.size) : 0;
          // AUTOTRAINER's pair (ratio < 1e-3 and norm < 1e-4), or the same ratio while the loss has stalled: three
          // orders of magnitude lost on the way back and no progress is vanishing whatever the absolute scale.
          const byRatio = Number.isFinite(ratio) && ratio < t.vanishingRatio && (l.gradNorm < t.vanishingNorm || stalled);
          const tiny = Number.isFinite(rms) && rms < t.tinyGradient && l.grad.zeroFraction < 0.99;
          const run = persist.update(l.layer, byRatio || tiny, e.step);
          if (run && run.count >= t.patience) affected.push({ l, ratio, rms, first: run.first });
        }
        if (!affected.length) return [];
        // One finding for the run, at the affected layer nearest the input (where the signal is weakest): deep
        // stacks would otherwise raise one finding per layer.
        const origin = affected[0];
        const prev = tracked.get('vanishing-gradients');
        const l = origin.l;
        const names = affected.map(x => x.l.layer);
        const saturating = saturatingLayers(ctx.config).filter(s => s.index >= l.index);
        const normAfter = ctx.config.model.some(m => isRecurrent(m.type)) ? 'layerNormalization' : 'batchNormalization';
        return [tracked.report(base('vanishing-gradients', 'vanishing', stalled ? 'error' : 'warning',
          `Vanishing gradients in ${prev?.layer ?? l.layer}${affected.length > 1 ? ` and ${affected.length - 1} more layer${affected.length > 2 ? 's' : ''}` : ''} from step ${Math.min(...affected.map(x => x.first))}${stalled ? ' (loss stalled)' : ''}`,
          `${l.layer}'s gradient norm is ${fmt(l.gradNorm)}, ${fmt(origin.ratio)}× the last layer's: the learning signal shrinks on its way back toward the input and barely moves these weights${affected.length > 1 ? ` (affected: ${listNames(names)})` : ''}.${saturating.length ? ` Sigmoid/tanh layers (${listNames(saturating.map(s => s.name))}) pass back at most 0.25×/1× of the gradient, less when saturated.` : ''}`,
          {
            id: 'vanishing-gradients', layer: prev?.layer ?? l.layer, layerIndex: prev?.layerIndex ?? l.index, layers: affected.map(x => named(x.l)),
            firstStep: Math.min(...affected.map(x => x.first)), lastStep: e.step, jsonPath: ['model', prev?.layerIndex ?? l.index],
            evidence: {
              step: e.step, layers: affected.length, affected: listNames(names), gradNorm: fmt(l.gradNorm), lastLayerNorm: fmt(last.gradNorm),
              ratio: fmt(origin.ratio), rms: fmt(origin.rms), lossStalledSteps: ctx.history.stepsSinceImprovement,
              thresholds: `ratio < ${t.vanishingRatio} and norm < ${t.vanishingNorm}, or RMS < ${t.tinyGradient}`,
            },
            fixes: compact([
              useRelu(ctx.config),
              addNormalization(ctx.config, normAfter, saturating.length ? saturating.map(s => s.index) : affected.map(x => x.l.index)),
              gatedRecurrent(ctx.config),
              useSelu(ctx.config),
              ctx.config.optimizer.type === 'adam' ? undefined : useAdam(ctx.config),
            ]),
          }))];
      },
    };
  },
};

/**
 * The layers where `holds` has been true for `patience` consecutive monitored steps, with the first step of their
 * current streak (the per-layer part of the rules that report one finding for many layers).
 */
function persistentLayers(persist: Persistence, layers: LayerStats[], step: number, patience: number, holds: (l: LayerStats) => boolean | undefined): { l: LayerStats; first: number }[] {
  const out: { l: LayerStats; first: number }[] = [];
  for (const l of layers) {
    const h = holds(l);
    if (h === undefined) continue; // not a layer this rule looks at
    const run = persist.update(l.layer, h, step);
    if (run && run.count >= patience) out.push({ l, first: run.first });
  }
  return out;
}

/** Dying ReLU: most of a ReLU layer's gradient exactly zero (AUTOTRAINER: ≥ 70%), its units silent. */
export const deadReluRule: Rule = {
  id: 'dead-relu',
  create(ctx) {
    const t = ctx.thresholds;
    const persist = new Persistence();
    const tracked = new Tracked();
    return {
      observe(e) {
        if (e.type !== 'step' || !e.stats) return [];
        const affected = persistentLayers(persist, weighted(e), e.step, t.patience, l => {
          const act = ctx.layers.find(x => x.index === l.index)?.activation;
          return act === 'relu' || act === 'relu6' ? l.grad.zeroFraction >= t.deadReluFraction : undefined;
        });
        if (!affected.length) return [];
        // One finding, at the first dying layer, listing the others.
        const prev = tracked.get('dead-relu');
        const l = affected[0].l;
        const names = affected.map(x => x.l.layer);
        const indices = affected.map(x => x.l.index);
        const first = Math.min(...affected.map(x => x.first));
        const worst = affected.reduce((a, b) => (b.l.grad.zeroFraction > a.l.grad.zeroFraction ? b : a)).l;
        const units = worst.activation ? `${fmt(100 * worst.activation.deadUnitFraction)}% of ${worst.layer}'s units output 0 for the whole batch` : 'their units are mostly silent';
        return [tracked.report(base('dead-relu', 'deadRelu', 'warning',
          `Dying ReLU in ${prev?.layer ?? l.layer}${affected.length > 1 ? ` and ${affected.length - 1} more layer${affected.length > 2 ? 's' : ''}` : ''} from step ${first}: up to ${fmt(100 * worst.grad.zeroFraction)}% of the gradient is exactly 0`,
          `A ReLU unit whose input stays negative outputs 0 and passes back no gradient, so it never recovers; ${units}.${affected.length > 1 ? ` Affected: ${listNames(names)}.` : ''} Large updates (a high learning rate) or a negative bias push units there.`,
          {
            id: 'dead-relu', layer: prev?.layer ?? l.layer, layerIndex: prev?.layerIndex ?? l.index, layers: affected.map(x => named(x.l)),
            firstStep: first, lastStep: e.step,
            jsonPath: ['model', prev?.layerIndex ?? l.index, 'activation'],
            evidence: { step: e.step, layers: affected.length, affected: listNames(names), zeroGradientFraction: fmt(worst.grad.zeroFraction), deadUnits: worst.activation ? fmt(worst.activation.deadUnitFraction) : 'n/a', threshold: t.deadReluFraction },
            fixes: compact([
              combine(indices.map(i => leakyRelu(ctx.config, i)), `Use leaky ReLU in ${listNames(names)}`),
              combine(indices.map(i => heInitialization(ctx.config, i)), `Initialize ${listNames(names)} with He normal`),
              scaleLearningRate(ctx.config, 0.1),
              addNormalization(ctx.config, 'batchNormalization', indices.map(i => Math.max(0, i - 1))),
            ]),
          }))];
      },
    };
  },
};

/** Saturated sigmoid/tanh: most pre-activations at |x| ≥ 5 where the derivative is ~0 (DeepDiagnosis: > 50%). */
export const saturationRule: Rule = {
  id: 'saturation',
  create(ctx) {
    const t = ctx.thresholds;
    const persist = new Persistence();
    const tracked = new Tracked();
    return {
      observe(e) {
        if (e.type !== 'step' || !e.stats) return [];
        const affected = persistentLayers(persist, weighted(e), e.step, t.patience, l => {
          const a = l.activation;
          return a && ['sigmoid', 'tanh', 'hardSigmoid'].includes(a.activation) ? a.saturatedFraction > t.saturationFraction : undefined;
        });
        if (!affected.length) return [];
        const prev = tracked.get('saturation');
        const l = affected[0].l;
        const a = l.activation!;
        const names = affected.map(x => x.l.layer);
        const indices = affected.map(x => x.l.index);
        const first = Math.min(...affected.map(x => x.first));
        return [tracked.report(base('saturation', 'saturation', 'warning',
          `${a.activation} saturated in ${prev?.layer ?? l.layer}${affected.length > 1 ? ` and ${affected.length - 1} more layer${affected.length > 2 ? 's' : ''}` : ''} from step ${first}: ${fmt(100 * a.saturatedFraction)}% of units at |x| ≥ 5`,
          `At |x| ≥ 5 the derivative of ${a.activation} is ${a.activation === 'tanh' ? '< 1.8e-4' : '< 6.6e-3'}: saturated units pass back almost no gradient, so layers below stop learning.${affected.length > 1 ? ` Affected: ${listNames(names)}.` : ''} Large weights or inputs push units there.`,
          {
            id: 'saturation', layer: prev?.layer ?? l.layer, layerIndex: prev?.layerIndex ?? l.index, layers: affected.map(x => named(x.l)),
            firstStep: first, lastStep: e.step,
            jsonPath: ['model', prev?.layerIndex ?? l.index, 'activation'],
            evidence: { step: e.step, layers: affected.length, affected: listNames(names), saturatedFraction: fmt(a.saturatedFraction), outputMean: fmt(a.mean), outputStd: fmt(a.std), threshold: t.saturationFraction },
            fixes: compact([
              combine(indices.map(i => useRelu(ctx.config, i)), `Use ReLU instead of sigmoid/tanh in ${listNames(names)}`),
              addNormalization(ctx.config, 'batchNormalization', indices.filter(i => i > 0).map(i => i - 1)),
              scaleLearningRate(ctx.config, 0.1),
            ]),
          }))];
      },
    };
  },
};

/** One fix from per-layer fixes of the same kind (their edits together); the single fix itself when only one. */
function combine(fixes: (SuggestedFix | undefined)[], title: string): SuggestedFix | undefined {
  const present = fixes.filter((f): f is SuggestedFix => f !== undefined);
  if (present.length <= 1) return present[0];
  // Edits that insert into the model array must run from the last index down; these only set keys.
  return { id: present[0].id, title, reason: present[0].reason, edits: present.flatMap(f => f.edits) };
}

/** Loss trouble: divergence (growing far above its best) and oscillation without progress. */
export const lossRule: Rule = {
  id: 'loss',
  create(ctx) {
    const t = ctx.thresholds;
    const h = ctx.history;
    const persist = new Persistence();
    const tracked = new Tracked();
    let stepsSeen = 0;
    return {
      observe(e) {
        if (e.type !== 'step' || !Number.isFinite(e.loss)) return [];
        stepsSeen++;
        const out: Finding[] = [];
        const best = h.bestSmoothedLoss;
        // Divergence: the smoothed loss several times above its best and above where it started.
        const diverging = stepsSeen > t.window / 5 && h.smoothedLoss > 3 * best && h.smoothedLoss > 1.5 * h.initialLoss;
        const run = persist.update('diverge', diverging, e.step);
        if (run && run.count >= t.patience) {
          out.push(tracked.report(base('loss-divergence', 'lossDivergence', 'error',
            `Loss diverging from step ${run.first}: ${fmt(h.smoothedLoss)} (best ${fmt(best)})`,
            'The loss is rising instead of falling: updates overshoot the minimum and climb the other side. The usual cause is a learning rate too large for this model, often together with exploding gradients.',
            {
              firstStep: run.first, lastStep: e.step, jsonPath: ['optimizer', 'learningRate'],
              evidence: { step: e.step, smoothedLoss: fmt(h.smoothedLoss), bestLoss: fmt(best), initialLoss: fmt(h.initialLoss) },
              fixes: compact([scaleLearningRate(ctx.config, 0.1), ctx.config.clipping.length ? undefined : clipByGlobalNorm(h.clipThreshold().value, h.clipThreshold().basis), ctx.config.optimizer.type === 'adam' ? undefined : useAdam(ctx.config)]),
            })));
        }
        // Oscillation: large swings around a level that is not going down, well above where a converged run sits.
        const w = h.losses;
        if (w.length >= t.window) {
          const values = w.all;
          const mean = values.reduce((a, b) => a + b, 0) / values.length;
          const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
          const half = Math.floor(values.length / 2);
          const firstHalf = values.slice(0, half).reduce((a, b) => a + b, 0) / half;
          const secondHalf = values.slice(half).reduce((a, b) => a + b, 0) / (values.length - half);
          const oscillating = sd > 0.5 * mean && secondHalf >= 0.95 * firstHalf && mean > 0.5 * h.initialLoss;
          const orun = persist.update('oscillate', oscillating, e.step);
          if (orun && orun.count >= t.patience) {
            out.push(tracked.report(base('loss-oscillation', 'lossOscillation', 'warning',
              `Loss oscillating without progress from step ${orun.first}`,
              `Over the last ${values.length} steps the loss swings by ±${fmt(sd)} around ${fmt(mean)} and is not coming down: steps are too large, or the gradient estimate too noisy, for the optimizer to settle.`,
              {
                firstStep: orun.first, lastStep: e.step, jsonPath: ['optimizer', 'learningRate'],
                evidence: { step: e.step, mean: fmt(mean), std: fmt(sd), firstHalfMean: fmt(firstHalf), secondHalfMean: fmt(secondHalf) },
                fixes: compact([scaleLearningRate(ctx.config, 0.1), accumulate(ctx.config), ctx.config.optimizer.type === 'adam' ? undefined : useAdam(ctx.config)]),
              })));
          }
        }
        return out;
      },
    };
  },
};

/**
 * Update/weight ratio outside DeepDiagnosis' band [1e-5, 1e-1] (median over the window). One finding for the
 * layers above the band and one for those below, each listing its layers.
 */
export const updateRatioRule: Rule = {
  id: 'update-ratio',
  create(ctx) {
    const t = ctx.thresholds;
    const windows = new Map<string, Window>();
    const tracked = new Tracked();
    return {
      observe(e) {
        if (e.type !== 'step' || !e.stats) return [];
        const high: { l: LayerStats; m: number }[] = [];
        const low: { l: LayerStats; m: number }[] = [];
        for (const l of weighted(e)) {
          // Layers with (almost) no gradient do not move for another reason (dead, vanished): not a rate problem.
          if (!Number.isFinite(l.updateRatio) || l.weightNorm === 0 || l.gradNorm === 0 || l.grad.zeroFraction > 0.9) continue;
          let w = windows.get(l.layer);
          if (!w) windows.set(l.layer, (w = new Window(t.window)));
          w.push(l.updateRatio);
          if (w.length < t.window) continue;
          const m = w.median();
          if (m > t.updateRatioHigh) high.push({ l, m });
          else if (m < t.updateRatioLow) low.push({ l, m });
        }
        const out: Finding[] = [];
        for (const [group, isHigh] of [[high, true], [low, false]] as const) {
          if (!group.length) continue;
          const id = isHigh ? 'update-ratio-high' : 'update-ratio-low';
          const worst = group.reduce((a, b) => (isHigh ? (b.m > a.m ? b : a) : (b.m < a.m ? b : a)));
          const prev = tracked.get(id);
          const names = group.map(x => x.l.layer);
          const who = names.length === 1 ? names[0] : `${names.length} layers (${listNames(names)})`;
          out.push(tracked.report(base('update-ratio', 'updateRatio', isHigh ? 'warning' : 'info',
            isHigh ? `Updates too large in ${who}: each step changes the weights by up to ${fmt(100 * worst.m)}%` : `${who} barely learn${names.length === 1 ? 's' : ''}: each step changes the weights by ${fmt(worst.m)} of their size`,
            isHigh
              ? `The median ‖Δw‖/‖w‖ over ${t.window} steps reaches ${fmt(worst.m)} in ${worst.l.layer}; healthy training sits near 1e-3 and above ${t.updateRatioHigh} weights are being overwritten rather than refined.`
              : `The median ‖Δw‖/‖w‖ over ${t.window} steps is as low as ${fmt(worst.m)} in ${worst.l.layer}, below ${t.updateRatioLow}: at this pace these layers need a very long time to learn anything.`,
            {
              id, layer: worst.l.layer, layerIndex: worst.l.index, layers: group.map(x => named(x.l)), firstStep: prev?.firstStep ?? e.step, lastStep: e.step, jsonPath: ['optimizer', 'learningRate'],
              evidence: { step: e.step, layers: names.length, affected: listNames(names), medianUpdateRatio: fmt(worst.m), band: `[${t.updateRatioLow}, ${t.updateRatioHigh}]` },
              fixes: compact(isHigh ? [scaleLearningRate(ctx.config, 0.1), ctx.config.optimizer.type === 'adam' ? undefined : useAdam(ctx.config)] : [scaleLearningRate(ctx.config, 10), ctx.config.optimizer.type === 'adam' ? undefined : useAdam(ctx.config)]),
            })));
        }
        return out;
      },
    };
  },
};

export const RULES: Rule[] = [nonFiniteRule, explosionRule, vanishingRule, deadReluRule, saturationRule, lossRule, updateRatioRule];
