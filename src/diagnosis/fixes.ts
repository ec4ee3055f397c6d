// Suggested fixes: concrete edits of the config (JSON path + new value), each with a one-line reason. The
// rules rank them; the extension applies them with jsonc-parser's modify, keeping formatting and comments.

import type { ResolvedConfig, ResolvedLayer } from '../config/types';
import type { ConfigEdit, SuggestedFix } from '../protocol';

/** "a, b, c … y, z (26)": long layer lists stay readable. */
export function listNames(names: string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 3).join(', ')} … ${names.slice(-2).join(', ')} (${names.length})`;
}

/** Two significant digits: thresholds users read and edit. */
export function roundNice(x: number): number {
  if (!Number.isFinite(x) || x <= 0) return 1;
  return Number(x.toPrecision(2));
}

const SATURATING = ['sigmoid', 'tanh', 'hardSigmoid', 'softsign'];

export function clipByGlobalNorm(threshold: number, basis: string): SuggestedFix {
  const t = roundNice(threshold);
  return {
    id: 'clip-global-norm',
    title: `Clip gradients by global norm at ${t}`,
    reason: `Rescales all gradients together when their joint norm exceeds ${t} (${basis}): bounds the step, keeps its direction (Pascanu et al. 2013).`,
    edits: [{ path: ['clipping'], value: { mode: 'globalNorm', threshold: t } }],
  };
}

export function clipByValue(threshold: number): SuggestedFix {
  const t = roundNice(threshold);
  return {
    id: 'clip-value',
    title: `Clip each gradient element to ±${t}`,
    reason: 'Caps every gradient component (Keras clipvalue): simple and robust to single huge entries, but it can change the update\'s direction.',
    edits: [{ path: ['clipping'], value: { mode: 'value', threshold: t } }],
  };
}

export function clipByNorm(threshold: number): SuggestedFix {
  const t = roundNice(threshold);
  return {
    id: 'clip-norm',
    title: `Clip each gradient tensor's norm at ${t}`,
    reason: 'Rescales each weight tensor\'s gradient separately when its norm exceeds the threshold (Keras clipnorm).',
    edits: [{ path: ['clipping'], value: { mode: 'norm', threshold: t } }],
  };
}

export function useAdam(config: ResolvedConfig): SuggestedFix {
  const value: Record<string, unknown> = { type: 'adam', learningRate: 0.001 };
  if (config.optimizer.schedule) value.schedule = config.optimizer.schedule;
  return {
    id: 'use-adam',
    title: 'Switch to Adam (learning rate 0.001)',
    reason: 'Adam scales each weight\'s step by a running RMS of its gradients, so one huge or tiny gradient no longer decides the step size (Kingma & Ba 2015).',
    edits: [{ path: ['optimizer'], value }],
  };
}

export function scaleLearningRate(config: ResolvedConfig, factor: number): SuggestedFix {
  const lr = Number((config.optimizer.learningRate * factor).toPrecision(2));
  const lower = factor < 1;
  return {
    id: lower ? 'lower-learning-rate' : 'raise-learning-rate',
    title: `${lower ? 'Lower' : 'Raise'} the learning rate to ${lr}`,
    reason: lower
      ? `Steps ${Math.round(1 / factor)}× smaller keep the weights where the loss is well behaved (now ${config.optimizer.learningRate}).`
      : `Updates are tiny relative to the weights: a ${factor}× larger rate lets the layer learn (now ${config.optimizer.learningRate}).`,
    edits: [{ path: ['optimizer', 'learningRate'], value: lr }],
  };
}

/** Layers (not the output layer) whose activation saturates. */
export function saturatingLayers(config: ResolvedConfig, only?: number): ResolvedLayer[] {
  const last = config.model.length - 1;
  return config.model.filter(l => l.index !== last && (only === undefined || l.index === only) &&
    (l.type === 'dense' || l.type === 'conv1d' || l.type === 'activation') && SATURATING.includes(('activation' in l && l.activation) || 'linear'));
}

export function useRelu(config: ResolvedConfig, only?: number): SuggestedFix | undefined {
  const layers = saturatingLayers(config, only);
  if (!layers.length) return undefined;
  const edits: ConfigEdit[] = [];
  for (const l of layers) {
    edits.push({ path: ['model', l.index, 'activation'], value: 'relu' });
    if (l.type !== 'activation') edits.push({ path: ['model', l.index, 'kernelInitializer'], value: 'heNormal' });
  }
  return {
    id: 'use-relu',
    title: `Use ReLU instead of ${[...new Set(layers.map(l => (l as { activation?: string }).activation))].join('/')} in ${listNames(layers.map(l => l.name))}`,
    reason: 'ReLU\'s gradient is 1 for active units instead of at most 0.25 (sigmoid) or 1 shrinking to 0 (tanh) as units saturate, so it does not shrink layer after layer; He initialization keeps the variance right for it.',
    edits,
  };
}

export function useSelu(config: ResolvedConfig, only?: number): SuggestedFix | undefined {
  const layers = saturatingLayers(config, only).filter(l => l.type === 'dense');
  if (!layers.length) return undefined;
  return {
    id: 'use-selu',
    title: `Use SELU (self-normalizing) in ${layers.map(l => l.name).join(', ')}`,
    reason: 'SELU with LeCun-normal initialization keeps activations near zero mean and unit variance through deep stacks without normalization layers (Klambauer et al. 2017).',
    edits: layers.flatMap(l => [
      { path: ['model', l.index, 'activation'], value: 'selu' },
      { path: ['model', l.index, 'kernelInitializer'], value: 'leCunNormal' },
    ]),
  };
}

/** Inserts a normalization layer after each given layer (edits ordered from the end so indices stay valid). */
export function addNormalization(config: ResolvedConfig, kind: 'batchNormalization' | 'layerNormalization', after: number[]): SuggestedFix | undefined {
  const targets = [...new Set(after)].filter(i => {
    const next = config.model[i + 1];
    return next && next.type !== 'batchNormalization' && next.type !== 'layerNormalization';
  }).sort((a, b) => b - a);
  if (!targets.length) return undefined;
  const names = targets.slice().reverse().map(i => config.model[i].name);
  return {
    id: kind === 'batchNormalization' ? 'add-batch-norm' : 'add-layer-norm',
    title: `Add ${kind === 'batchNormalization' ? 'batch' : 'layer'} normalization after ${listNames(names)}`,
    reason: kind === 'batchNormalization'
      ? 'Re-centres and re-scales each feature over the batch, keeping the next layer\'s inputs where gradients flow (Ioffe & Szegedy 2015).'
      : 'Normalizes each example over its features, independent of the batch — the usual choice with recurrent layers (Ba et al. 2016).',
    edits: targets.map(i => ({ path: ['model', i + 1], value: { type: kind }, insert: true })),
  };
}

export function gatedRecurrent(config: ResolvedConfig, only?: number): SuggestedFix | undefined {
  const layers = config.model.filter(l => l.type === 'simpleRNN' && (only === undefined || l.index === only));
  if (!layers.length) return undefined;
  return {
    id: 'use-lstm',
    title: `Use LSTM instead of SimpleRNN in ${layers.map(l => l.name).join(', ')}`,
    reason: 'The LSTM\'s additive cell state carries gradients across many steps instead of multiplying them by the recurrent matrix at every step (Hochreiter & Schmidhuber 1997).',
    edits: layers.map(l => ({ path: ['model', l.index, 'type'], value: 'lstm' })),
  };
}

export function accumulate(config: ResolvedConfig, steps = 4): SuggestedFix {
  const n = Math.max(2, steps);
  return {
    id: 'gradient-accumulation',
    title: `Accumulate gradients over ${n} micro-batches`,
    reason: `Averages ${n} batches of ${config.training.batchSize} before each update: an effective batch of ${n * config.training.batchSize} with less noisy gradients, without more memory.`,
    edits: [{ path: ['training', 'accumulationSteps'], value: n }],
  };
}

export function leakyRelu(config: ResolvedConfig, index: number): SuggestedFix | undefined {
  const l = config.model[index];
  if (!l || (l.type !== 'dense' && l.type !== 'conv1d' && l.type !== 'activation')) return undefined;
  return {
    id: 'use-leaky-relu',
    title: `Use leaky ReLU in ${l.name}`,
    reason: 'A small slope for negative inputs (α = 0.01) keeps a gradient flowing through units that would otherwise be dead.',
    edits: [{ path: ['model', index, 'activation'], value: 'leakyRelu' }, { path: ['model', index, 'alpha'], value: 0.01 }],
  };
}

export function heInitialization(config: ResolvedConfig, index: number): SuggestedFix | undefined {
  const l = config.model[index];
  if (!l || (l.type !== 'dense' && l.type !== 'conv1d')) return undefined;
  return {
    id: 'he-init',
    title: `Initialize ${l.name} with He normal`,
    reason: 'Variance 2/fan-in suits ReLU: fewer units start (and stay) in the dead region (He et al. 2015).',
    edits: [{ path: ['model', index, 'kernelInitializer'], value: 'heNormal' }],
  };
}

export function orthogonalRecurrent(config: ResolvedConfig, index: number): SuggestedFix | undefined {
  const l = config.model[index];
  if (!l || (l.type !== 'simpleRNN' && l.type !== 'lstm' && l.type !== 'gru')) return undefined;
  return {
    id: 'orthogonal-recurrent',
    title: `Initialize ${l.name}'s recurrent weights orthogonally`,
    reason: 'An orthogonal recurrent matrix has all singular values 1: gradients through time neither grow nor shrink at the start (Saxe et al. 2014).',
    edits: [{ path: ['model', index, 'recurrentInitializer'], value: 'orthogonal' }],
  };
}

export function keepOneClipping(config: ResolvedConfig): SuggestedFix | undefined {
  if (config.clipping.length < 2) return undefined;
  const keep = config.clipping.find(c => c.mode === 'globalNorm') ?? config.clipping[config.clipping.length - 1];
  return {
    id: 'single-clipping',
    title: `Keep only ${keep.mode} clipping at ${keep.threshold}`,
    reason: 'Stacked clipping modes make it hard to tell which one acts; one global-norm clip is usually enough.',
    edits: [{ path: ['clipping'], value: { mode: keep.mode, threshold: keep.threshold } }],
  };
}

export function compact<T>(xs: (T | undefined)[]): T[] {
  return xs.filter((x): x is T => x !== undefined);
}
