// Static shape inference for a config: what the data feeds in, what each layer turns it into, how many
// parameters that takes. Lets validation say "lstm_1 needs sequences" before anything is built or loaded.

import type { ActivationName, DataConfig, LayerConfig, ResolvedConfig } from './types';

export type Dim = number | null;

export interface InputSpec {
  /** tokens: int ids [steps]; sequence: [steps, features]; vector: [features]. */
  kind: 'tokens' | 'sequence' | 'vector';
  shape: Dim[];
  task: 'classification' | 'regression' | 'unknown';
  /** Known without reading the data (synthetic tasks); null when the data decides. */
  classes: number | null;
  targetSize?: number;
  vocabularySize?: number;
}

export const TEXT_DEFAULTS = { vocabularySize: 10000, sequenceLength: 100 };
export const SYNTHETIC_DEFAULTS = { examples: 2000, sequenceLength: 50, features: 20, classes: 3, noise: 1 };

export function inputSpec(data: DataConfig): InputSpec {
  switch (data.source) {
    case 'synthetic': {
      const T = data.sequenceLength ?? SYNTHETIC_DEFAULTS.sequenceLength;
      switch (data.task) {
        case 'adding': return { kind: 'sequence', shape: [T, 2], task: 'regression', classes: null, targetSize: 1 };
        case 'temporalOrder': return { kind: 'sequence', shape: [T, 6], task: 'classification', classes: 4 };
        case 'parity': return { kind: 'sequence', shape: [T, 1], task: 'classification', classes: 2 };
        case 'blobs': return { kind: 'vector', shape: [data.features ?? SYNTHETIC_DEFAULTS.features], task: 'classification', classes: data.classes ?? SYNTHETIC_DEFAULTS.classes };
      }
      break;
    }
    case 'csv':
    case 'jsonl':
      if (data.textColumn !== undefined) {
        return {
          kind: 'tokens', shape: [data.sequenceLength ?? TEXT_DEFAULTS.sequenceLength], task: 'classification', classes: null,
          vocabularySize: data.vocabularySize ?? TEXT_DEFAULTS.vocabularySize,
        };
      }
      return { kind: 'vector', shape: [data.featureColumns?.length ?? null], task: 'unknown', classes: null };
    case 'idx':
      return data.flatten === false
        ? { kind: 'sequence', shape: [null, null], task: 'classification', classes: null }
        : { kind: 'vector', shape: [null], task: 'classification', classes: null };
  }
  return { kind: 'vector', shape: [null], task: 'unknown', classes: null };
}

export interface LayerShape {
  /** Output shape without the batch dimension. */
  output: Dim[];
  params: number;
  /** What went wrong feeding this layer, if anything (message and the key it concerns). */
  problem?: { message: string; key?: string };
}

const prod = (dims: Dim[]) => dims.reduce<number>((a, d) => a * (d ?? 1), 1);

/**
 * Output shape and parameter count of each layer, given the input; stops adding problems after the first.
 * `dataShape`: one example's shape from the loaded data, where the config alone leaves widths open.
 */
export function inferShapes(config: Pick<ResolvedConfig, 'model' | 'data'>, dataShape?: number[]): { input: InputSpec; layers: LayerShape[] } {
  const input = inputSpec(config.data);
  if (dataShape) input.shape = dataShape;
  let shape: Dim[] = input.shape;
  let isTokens = input.kind === 'tokens';
  let failed = false;
  const layers: LayerShape[] = [];
  config.model.forEach((layer, i) => {
    const r = layerShape(layer, shape, isTokens, input, config.model[i - 1]);
    if (failed) delete r.problem;
    if (r.problem) failed = true;
    layers.push(r);
    shape = r.output;
    isTokens = false;
  });
  return { input, layers };
}

function layerShape(layer: LayerConfig, inShape: Dim[], isTokens: boolean, input: InputSpec, previous: LayerConfig | undefined): LayerShape {
  const last = inShape[inShape.length - 1] ?? null;
  const needsTokens = (): LayerShape | undefined => isTokens
    ? { output: inShape, params: 0, problem: { message: `The data gives token ids (text); start the model with an embedding layer, e.g. { "type": "embedding", "outputDim": 64 }, before ${layer.type}.`, key: 'type' } }
    : undefined;
  const needsSequence = (what: string): LayerShape | undefined => {
    if (inShape.length === 2) return undefined;
    const fix = input.kind === 'vector'
      ? 'The data gives one feature vector per example; use dense layers, or sequence data (text, a synthetic sequence task, or idx with "flatten": false).'
      : previous && (previous.type === 'simpleRNN' || previous.type === 'lstm' || previous.type === 'gru')
        ? `Set "returnSequences": true on the ${previous.type} before it so that it passes on every time step.`
        : 'Put it before the layer that removes the time axis (flatten or global pooling).';
    return { output: inShape, params: 0, problem: { message: `${layer.type} needs sequences [steps, features], but receives ${describeShape(inShape)}. ${fix}`, key: 'type' } };
  };

  switch (layer.type) {
    case 'embedding': {
      if (!isTokens) {
        return {
          output: inShape, params: 0,
          problem: { message: `embedding expects token ids (text data from a csv/jsonl textColumn), but the data gives ${input.kind === 'sequence' ? 'sequences of numbers' : 'feature vectors'} ${describeShape(input.shape)}. Remove the embedding layer and feed the data to the next layer directly.`, key: 'type' },
        };
      }
      const vocab = layer.inputDim ?? input.vocabularySize ?? TEXT_DEFAULTS.vocabularySize;
      return { output: [...inShape, layer.outputDim], params: vocab * layer.outputDim };
    }
    case 'dense': {
      const t = needsTokens(); if (t) return t;
      const inF = last ?? 0;
      return { output: [...inShape.slice(0, -1), layer.units], params: inF * layer.units + (layer.useBias === false ? 0 : layer.units) };
    }
    case 'simpleRNN':
    case 'lstm':
    case 'gru': {
      const t = needsTokens() ?? needsSequence(layer.type); if (t) return t;
      const gates = layer.type === 'lstm' ? 4 : layer.type === 'gru' ? 3 : 1;
      const inF = last ?? 0;
      const dirs = layer.bidirectional ? 2 : 1;
      const biasPer = layer.useBias === false ? 0 : 1;
      const params = dirs * gates * (inF * layer.units + layer.units * layer.units + biasPer * layer.units);
      const out = layer.units * dirs;
      return { output: layer.returnSequences ? [inShape[0], out] : [out], params };
    }
    case 'conv1d': {
      const t = needsTokens() ?? needsSequence(layer.type); if (t) return t;
      const steps = inShape[0];
      const k = layer.kernelSize;
      const d = layer.dilationRate ?? 1;
      const s = layer.strides ?? 1;
      const span = (k - 1) * d + 1;
      let outSteps: Dim = null;
      if (steps !== null) {
        outSteps = layer.padding === 'same' || layer.padding === 'causal' ? Math.ceil(steps / s) : Math.floor((steps - span) / s) + 1;
        if (outSteps < 1) {
          return { output: [0, layer.filters], params: 0, problem: { message: `conv1d's window spans ${span} steps but the input has only ${steps}. Use a smaller kernelSize or dilationRate, "padding": "same", or longer sequences.`, key: 'kernelSize' } };
        }
      }
      return { output: [outSteps, layer.filters], params: k * (last ?? 0) * layer.filters + (layer.useBias === false ? 0 : layer.filters) };
    }
    case 'maxPooling1d': {
      const t = needsTokens() ?? needsSequence(layer.type); if (t) return t;
      const p = layer.poolSize ?? 2;
      const s = layer.strides ?? p;
      const steps = inShape[0];
      const outSteps = steps === null ? null : Math.floor((steps - p) / s) + 1;
      if (outSteps !== null && outSteps < 1) {
        return { output: [0, last], params: 0, problem: { message: `maxPooling1d's window spans ${p} steps but the input has only ${steps}. Use a smaller poolSize, or longer sequences.`, key: 'poolSize' } };
      }
      return { output: [outSteps, last], params: 0 };
    }
    case 'globalMaxPooling1d':
    case 'globalAveragePooling1d': {
      const t = needsTokens() ?? needsSequence(layer.type); if (t) return t;
      return { output: [last], params: 0 };
    }
    case 'flatten': {
      const t = needsTokens(); if (t) return t;
      return { output: [inShape.some(d => d === null) ? null : prod(inShape)], params: 0 };
    }
    case 'batchNormalization':
    case 'layerNormalization': {
      const t = needsTokens(); if (t) return t;
      // gamma and beta trainable (batchNormalization also keeps a moving mean and variance, not trained).
      return { output: inShape, params: 2 * (last ?? 0) };
    }
    case 'dropout':
    case 'activation': {
      const t = needsTokens(); if (t) return t;
      return { output: inShape, params: 0 };
    }
  }
  return { output: inShape, params: 0 };
}

/** The activation a layer applies to its output (with the defaults filled in), or undefined if none. */
export function layerActivation(layer: LayerConfig): ActivationName | undefined {
  switch (layer.type) {
    case 'dense':
    case 'conv1d': return layer.activation ?? 'linear';
    case 'simpleRNN':
    case 'lstm':
    case 'gru': return layer.activation ?? 'tanh';
    case 'activation': return layer.activation;
    default: return undefined;
  }
}

export function describeShape(shape: Dim[]): string {
  return `[${shape.map(d => d ?? '?').join(', ')}]`;
}
