// A step's statistics from plain arrays: the per-variable gradient accumulators, the weight norms and the
// layers' outputs become the per-layer view the run log, the diagnosis and the views read. No tfjs here: the
// trainer calls it on the training thread, the monitor thread (monitorThread.ts) on copies of the same values.

import type { ClippingConfig } from '../config/types';
import type { ActivationStats, ActivationSums, LayerStats, StepLayout, StepStats, VariableStats } from '../protocol';
import type { WeightNorms } from './kernels/optimizer_update';
import { StatsAccumulator, type HistogramSpec } from './stats';

export type { StepLayout };

/**
 * The per-layer view: one accumulator per variable (in layout order, gradients before clipping), the weight
 * norms after the update, and each group's activation statistics when measured.
 */
export function assembleStepStats(layout: StepLayout, spec: HistogramSpec, accumulators: StatsAccumulator[], weightNorms: WeightNorms[], activations: (ActivationStats | undefined)[]): StepStats {
  const layers: LayerStats[] = [];
  const tensorNorms: number[] = [];
  const valueClipped: number[] = [];
  let vi = 0;
  let globalSq = 0;
  for (let gi = 0; gi < layout.groups.length; gi++) {
    const group = layout.groups[gi];
    if (group.variables.length === 0) continue;
    const layerAcc = new StatsAccumulator(spec);
    const variables: VariableStats[] = [];
    let wSq = 0;
    let uSq = 0;
    for (const v of group.variables) {
      const acc = accumulators[vi];
      layerAcc.merge(acc);
      const w = weightNorms[vi];
      wSq += w.sumSq;
      uSq += w.diffSq;
      const gradStats = acc.finish();
      tensorNorms.push(gradStats.norm);
      valueClipped.push(acc.clippedSumSq);
      globalSq += acc.sumSq;
      variables.push({
        name: v.name,
        shape: v.shape,
        grad: gradStats,
        weightNorm: Math.sqrt(w.sumSq),
        updateNorm: Math.sqrt(w.diffSq),
        weightNonFinite: w.nonFinite,
      });
      vi++;
    }
    const grad = layerAcc.finish();
    const weightNorm = Math.sqrt(wSq);
    const updateNorm = Math.sqrt(uSq);
    layers.push({
      layer: group.name,
      index: group.index,
      type: group.type,
      gradNorm: grad.norm,
      grad,
      weightNorm,
      updateNorm,
      updateRatio: weightNorm > 0 ? updateNorm / weightNorm : 0,
      variables,
      activation: activations[gi],
    });
  }
  const anyNaN = tensorNorms.some(n => Number.isNaN(n));
  const anyInf = tensorNorms.some(n => n === Infinity);
  const globalNorm = anyNaN ? NaN : anyInf ? Infinity : Math.sqrt(globalSq);
  return {
    globalNorm,
    clippedGlobalNorm: layout.clipping.length ? clippedGlobalNorm(tensorNorms, valueClipped, layout.clipping) : globalNorm,
    layers,
    statsMs: 0,
  };
}

/**
 * The global norm after clipping, from per-tensor norms measured before clipping (and, for value clipping,
 * each tensor's Σ min(g², t²)) — exact, and saves reading the clipped gradients back.
 */
export function clippedGlobalNorm(tensorNorms: number[], valueClippedSumSq: number[] | undefined, clipping: ClippingConfig[]): number {
  let norms = tensorNorms.slice();
  for (const c of clipping) {
    if (c.mode === 'value') {
      norms = valueClippedSumSq ? valueClippedSumSq.map(Math.sqrt) : norms;
    } else if (c.mode === 'norm') {
      norms = norms.map(n => (n > c.threshold ? c.threshold : n));
    } else {
      const g = Math.sqrt(norms.reduce((a, n) => a + n * n, 0));
      const scale = c.threshold / Math.max(g, c.threshold);
      norms = norms.map(n => n * scale);
    }
  }
  return Math.sqrt(norms.reduce((a, n) => a + n * n, 0));
}

/**
 * Where non-finite gradients appear first in the backward pass: backpropagation runs from the last layer to
 * the first, so the origin is the last layer (highest index) with NaN/Inf whose successor is clean.
 */
export function firstNonFiniteLayer(stats: StepStats): { layer: string; where: 'gradient' | 'weight' } | undefined {
  for (let i = stats.layers.length - 1; i >= 0; i--) {
    const l = stats.layers[i];
    if (l.grad.nanCount + l.grad.infCount > 0) return { layer: l.layer, where: 'gradient' };
  }
  for (const l of stats.layers) {
    if (l.variables.some(v => v.weightNonFinite > 0)) return { layer: l.layer, where: 'weight' };
  }
  return undefined;
}

const SIGMOID_5 = 1 / (1 + Math.exp(-5));
const TANH_5 = Math.tanh(5);
const WATCHED = ['relu', 'relu6', 'elu', 'selu', 'leakyRelu', 'sigmoid', 'hardSigmoid', 'tanh'];

/** Whether a layer's output statistics are measured: LSTM/GRU outputs mix gates and cell state, no plain activation. */
export function watchesActivation(activation: string | undefined, layerType: string): activation is string {
  return activation !== undefined && layerType !== 'lstm' && layerType !== 'gru' && WATCHED.includes(activation);
}

/** Saturation bounds on the output: tanh |y| ≥ tanh(5), sigmoid y ≤ σ(−5) or y ≥ σ(5); NaN = not applicable. */
export function saturationBounds(activation: string): [number, number] {
  const lowS = 1 - SIGMOID_5;
  return activation === 'tanh' ? [-TANH_5, TANH_5] : activation === 'sigmoid' ? [lowS, SIGMOID_5]
    : activation === 'hardSigmoid' ? [0, 1] : [NaN, NaN];
}

export type { ActivationSums };

/** The sums behind the activation statistics, in one pass over a layer's output [..., units]. */
export function activationSumsOf(values: Float32Array, units: number, low: number, high: number): ActivationSums {
  const alive = new Uint8Array(units);
  const sums = { sum: 0, sumSq: 0, zeros: 0, saturated: 0, dead: 0 };
  for (let i = 0; i < values.length; i++) {
    const y = values[i];
    sums.sum += y;
    sums.sumSq += y * y;
    if (y === 0) sums.zeros++;
    else alive[i % units] = 1;
    if (y <= low || y >= high) sums.saturated++;
  }
  for (let u = 0; u < units; u++) if (!alive[u]) sums.dead++;
  return sums;
}

/**
 * Output statistics of a layer whose output is activation(pre-activation) elementwise, so |pre| ≥ 5 can be
 * read off the output. `sums` when already computed (the SIMD kernels on the wasm heap).
 */
export function activationStatsOf(values: Float32Array, units: number, activation: string, sums?: ActivationSums): ActivationStats {
  const [low, high] = saturationBounds(activation);
  return activationStatsFromSums(values.length, units, activation, sums ?? activationSumsOf(values, units, low, high));
}

/** The same from the sums over an output of `length` values (the trainer computed them on the wasm heap). */
export function activationStatsFromSums(length: number, units: number, activation: string, sums: ActivationSums): ActivationStats {
  const { sum, sumSq, zeros, saturated, dead } = sums;
  const n = length || 1;
  const mean = sum / n;
  return {
    activation,
    zeroFraction: zeros / n,
    deadUnitFraction: ['relu', 'relu6'].includes(activation) ? dead / units : 0,
    saturatedFraction: saturated / n,
    mean,
    std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
  };
}
