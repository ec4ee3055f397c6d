// The diagnosis rules over the per-step statistics. Each rule keeps its own state over the run and reports
// findings with their evidence and fixes; thresholds come from monitor.thresholds (see thresholds.ts).

import type { MonitorThresholds, ResolvedConfig } from '../config/types';
import type { Finding, LayerSummary, RunEvent } from '../protocol';
import { clipByGlobalNorm, scaleLearningRate, useAdam } from './fixes';

export interface RuleContext {
  config: ResolvedConfig;
  layers: LayerSummary[];
  thresholds: Required<MonitorThresholds>;
}

export interface RuleInstance {
  observe(event: RunEvent): Finding[];
}

export interface Rule {
  id: string;
  create(ctx: RuleContext): RuleInstance;
}

export const DOCS_BASE = 'https://github.com/gradmon/gradient-monitor/blob/main/docs/rules.md';

/** NaN/Inf in the loss, a gradient or a weight: the first step, and the layer where it appeared first. */
export const nonFiniteRule: Rule = {
  id: 'non-finite',
  create(ctx) {
    let reported = false;
    return {
      observe(e) {
        if (reported || e.type !== 'step') return [];
        const lossBad = !Number.isFinite(e.loss);
        const layers = e.stats?.layers ?? [];
        // Backpropagation runs last layer → first: the origin is the highest layer with non-finite gradients.
        let origin: string | undefined;
        let originIndex: number | undefined;
        let where: 'gradient' | 'weight' | 'loss' = 'loss';
        for (let i = layers.length - 1; i >= 0; i--) {
          if (layers[i].grad.nanCount + layers[i].grad.infCount > 0) { origin = layers[i].layer; originIndex = layers[i].index; where = 'gradient'; break; }
        }
        if (!origin) {
          const w = layers.find(l => l.variables.some(v => v.weightNonFinite > 0));
          if (w) { origin = w.layer; originIndex = w.index; where = 'weight'; }
        }
        if (!lossBad && !origin) return [];
        reported = true;
        const layer = layers.find(l => l.layer === origin);
        const evidence: Record<string, number | string> = { step: e.step, loss: String(e.loss) };
        if (layer) {
          evidence.nanCount = layer.grad.nanCount;
          evidence.infCount = layer.grad.infCount;
          evidence.gradNorm = String(layer.gradNorm);
        }
        const lastFinite = layers.filter(l => Number.isFinite(l.gradNorm)).map(l => `${l.layer}=${l.gradNorm.toPrecision(3)}`).join(', ');
        if (lastFinite) evidence.finiteLayers = lastFinite;
        const finding: Finding = {
          id: 'non-finite',
          rule: 'non-finite',
          kind: 'nonFinite',
          severity: 'error',
          title: origin
            ? `NaN/Inf ${where === 'weight' ? 'weights' : 'gradients'} in ${origin} at step ${e.step}${lossBad ? ` (loss ${e.loss})` : ''}`
            : `Loss became ${e.loss} at step ${e.step}`,
          explanation: 'A NaN or infinite value poisons every later update: the model stops learning for good. It usually follows exploding gradients (a learning rate too large, no clipping), a log of zero, or a division by a vanishing variance.',
          layer: origin,
          layerIndex: originIndex,
          firstStep: e.step,
          lastStep: e.step,
          evidence,
          jsonPath: originIndex !== undefined ? ['model', originIndex] : ['loss'],
          fixes: [clipByGlobalNorm(1, 'a common starting point'), scaleLearningRate(ctx.config, 0.1), useAdam(ctx.config)],
          docs: `${DOCS_BASE}#non-finite`,
        };
        return [finding];
      },
    };
  },
};

export const RULES: Rule[] = [nonFiniteRule];
