// Fills a structurally valid config's defaults: the ResolvedConfig the engine runs and the run log records.

import { DEFAULT_THRESHOLDS } from '../diagnosis/thresholds';
import type { ClippingConfig, LayerConfig, OptimizerType, ResolvedConfig, ResolvedLayer, TrainingConfig } from './types';

/** Default learning rates per optimizer: the values Keras and the sources start from. */
export const DEFAULT_LEARNING_RATE: Record<OptimizerType, number> = {
  sgd: 0.01, momentum: 0.01, rmsprop: 0.001, adam: 0.001, adagrad: 0.01,
};

export const DEFAULTS = {
  seed: 42,
  backend: 'auto' as const,
  training: { epochs: 5, batchSize: 32, accumulationSteps: 1, shuffle: true, validationEvery: 0 },
  monitor: { every: 1, histogramBins: 64, histogramRange: [-12, 4] as [number, number], onNonFinite: 'halt' as const },
};

/** Display names: the user's, or `<type>_<n>` counted per type (dense_1, dense_2, lstm_1…). */
export function layerNames(model: LayerConfig[]): string[] {
  const counts = new Map<string, number>();
  return model.map(layer => {
    const n = (counts.get(layer.type) ?? 0) + 1;
    counts.set(layer.type, n);
    return layer.name ?? `${layer.type}_${n}`;
  });
}

export function normalizeConfig(config: TrainingConfig): ResolvedConfig {
  const names = layerNames(config.model);
  const model: ResolvedLayer[] = config.model.map((layer, index) => ({ ...layer, name: names[index], index }));
  const clipping: ClippingConfig[] = config.clipping == null ? [] : Array.isArray(config.clipping) ? config.clipping : [config.clipping];
  const order = { value: 0, norm: 1, globalNorm: 2 };
  return {
    name: config.name,
    description: config.description,
    seed: config.seed ?? DEFAULTS.seed,
    backend: config.backend ?? DEFAULTS.backend,
    data: config.data,
    model,
    loss: config.loss,
    optimizer: { ...config.optimizer, learningRate: config.optimizer.learningRate ?? DEFAULT_LEARNING_RATE[config.optimizer.type] },
    // Applied in Keras' order: elementwise value clipping, then per-tensor norm, then the global norm.
    clipping: [...clipping].sort((a, b) => order[a.mode] - order[b.mode]),
    training: { ...DEFAULTS.training, ...config.training },
    monitor: {
      ...DEFAULTS.monitor,
      ...config.monitor,
      thresholds: { ...DEFAULT_THRESHOLDS, ...config.monitor?.thresholds },
    },
  };
}
