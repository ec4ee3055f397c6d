// Builds the config's sequential model on tfjs-layers and keeps, for each config layer, the tfjs layers and
// variables behind it: statistics, regularizers, constraints and findings are all per config layer.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { layerActivation } from '../config/shapes';
import type {
  ActivationName, ConstraintConfig, InitializerConfig, InitializerName, RegularizerConfig, ResolvedConfig, ResolvedLayer,
} from '../config/types';
import type { JsonPath, LayerSummary } from '../protocol';
import type { Dataset } from './data/types';
import { registerChainedOps } from './chainedOps';
import { fastOrthogonal } from './initializers';
import { fuseRecurrent } from './kernels/fused_rnn';
import { registerProjectGradients } from './gradients';
import type { LossSpec } from './losses';

registerChainedOps();
registerProjectGradients();

export interface ModelVariable {
  /** Display name: `<layer>/<weight>`, e.g. `lstm_1/recurrent_kernel`. */
  name: string;
  /** The weight's role: kernel, recurrent_kernel, bias, embeddings, gamma, beta. */
  role: string;
  variable: tf.Variable;
  regularizer?: RegularizerConfig;
  constraint?: ConstraintConfig;
}

export interface LayerGroup {
  config: ResolvedLayer;
  layers: tfl.layers.Layer[];
  variables: ModelVariable[];
  /** Activation applied to this layer's output (for dead-unit and saturation statistics). */
  activation?: string;
}

export interface BuiltModel {
  model: tfl.Sequential;
  groups: LayerGroup[];
  variables: ModelVariable[];
  loss: LossSpec;
  summaries: LayerSummary[];
  /** Runs the layers in order; `capture` collects each group's output (kept, caller disposes). */
  forward(x: tf.Tensor, training: boolean, capture?: (tf.Tensor | undefined)[]): tf.Tensor;
  dispose(): void;
}

/** A problem found while fitting the model to the loaded data: which key and what to do. */
export class ModelDataError extends Error {
  constructor(message: string, readonly jsonPath: JsonPath) {
    super(message);
    this.name = 'ModelDataError';
  }
}

const TFJS_ACTIVATION: Record<ActivationName, string | undefined> = {
  linear: 'linear', relu: 'relu', relu6: 'relu6', leakyRelu: undefined, elu: 'elu', selu: 'selu', sigmoid: 'sigmoid',
  hardSigmoid: 'hardSigmoid', tanh: 'tanh', softmax: 'softmax', softplus: 'softplus', softsign: 'softsign',
  swish: 'swish', gelu: 'gelu',
};

type TfInitializer = ReturnType<typeof tfl.initializers.zeros>;

function initializer(c: InitializerConfig | undefined, fallback: InitializerName, seed: number): TfInitializer {
  const spec: Exclude<InitializerConfig, string> = typeof c === 'string' ? { type: c } : c ?? { type: fallback };
  const I = tfl.initializers;
  switch (spec.type) {
    case 'glorotUniform': return I.glorotUniform({ seed });
    case 'glorotNormal': return I.glorotNormal({ seed });
    case 'heUniform': return I.heUniform({ seed });
    case 'heNormal': return I.heNormal({ seed });
    case 'leCunUniform': return I.leCunUniform({ seed });
    case 'leCunNormal': return I.leCunNormal({ seed });
    // tfjs-layers' own orthogonal initializer takes minutes for large recurrent layers (see initializers.ts).
    case 'orthogonal': return fastOrthogonal(spec.gain ?? 1, seed);
    case 'zeros': return I.zeros();
    case 'ones': return I.ones();
    case 'randomNormal': return I.randomNormal({ mean: spec.mean ?? 0, stddev: spec.stddev ?? 0.05, seed });
    case 'truncatedNormal': return I.truncatedNormal({ mean: spec.mean ?? 0, stddev: spec.stddev ?? 0.05, seed });
    case 'randomUniform': return I.randomUniform({ minval: spec.minval ?? -0.05, maxval: spec.maxval ?? 0.05, seed });
    default: return I.glorotUniform({ seed });
  }
}

export function lossSpec(config: ResolvedConfig): LossSpec {
  const last = config.model[config.model.length - 1];
  const act = layerActivation(last);
  const ce = config.loss === 'sparseCategoricalCrossentropy' || config.loss === 'categoricalCrossentropy';
  const bce = config.loss === 'binaryCrossentropy';
  // softmax/sigmoid on the last dense layer is folded into the loss; "linear" means the outputs are logits.
  const fromLogits = (ce && (act === 'softmax' || act === 'linear')) || (bce && (act === 'sigmoid' || act === 'linear'));
  return { name: config.loss, fromLogits, classification: ce || bce };
}

/** Checks that need the loaded data (class count, vocabulary), as positioned problems. */
export function checkModelAgainstData(config: ResolvedConfig, data: Dataset): ModelDataError | undefined {
  const lastIndex = config.model.length - 1;
  const last = config.model[lastIndex];
  const units = 'units' in last ? last.units : undefined;
  const ce = config.loss === 'sparseCategoricalCrossentropy' || config.loss === 'categoricalCrossentropy';
  if (data.task === 'classification' && ce && units !== undefined && data.numClasses !== undefined && units !== data.numClasses) {
    const names = data.labelNames ? ` (${data.labelNames.slice(0, 6).join(', ')}${data.labelNames.length > 6 ? ', …' : ''})` : '';
    return new ModelDataError(`The data has ${data.numClasses} classes${names} but the last layer has ${units} units. Set "units": ${data.numClasses}.`, ['model', lastIndex, 'units']);
  }
  if (config.loss === 'binaryCrossentropy' && data.numClasses !== undefined && data.numClasses !== 2) {
    return new ModelDataError(`binaryCrossentropy needs exactly two classes; the data has ${data.numClasses}. Use "sparseCategoricalCrossentropy" with a softmax layer of ${data.numClasses} units.`, ['loss']);
  }
  if (data.task === 'regression' && (ce || config.loss === 'binaryCrossentropy')) {
    return new ModelDataError(`${config.loss} is for classification, but the data's labels are continuous numbers. Use "meanSquaredError".`, ['loss']);
  }
  if (data.task === 'regression' && units !== undefined && data.targetSize !== undefined && units !== data.targetSize) {
    return new ModelDataError(`The data has ${data.targetSize} target value(s) per example but the last layer has ${units} units. Set "units": ${data.targetSize}.`, ['model', lastIndex, 'units']);
  }
  const first = config.model[0];
  if (first.type === 'embedding' && data.vocabularySize !== undefined && first.inputDim !== undefined && first.inputDim < data.vocabularySize) {
    return new ModelDataError(`embedding.inputDim is ${first.inputDim} but the vocabulary has ${data.vocabularySize} ids. Remove inputDim (it defaults to the vocabulary size) or set it to ${data.vocabularySize}.`, ['model', 0, 'inputDim']);
  }
  if (data.train.count === 0) {
    return new ModelDataError('No training examples are left after the validation split. Lower data.validationSplit or add data.', ['data', 'validationSplit']);
  }
  return undefined;
}

export function buildModel(config: ResolvedConfig, data: Dataset): BuiltModel {
  const loss = lossSpec(config);
  const model = tfl.sequential({ name: `gradmon_${config.name.replace(/[^A-Za-z0-9_]/g, '_')}` });
  const groups: LayerGroup[] = [];
  const lastIndex = config.model.length - 1;
  let seedCounter = 0;
  const nextSeed = () => (config.seed * 7919 + ++seedCounter * 104729) % 2147483647;

  config.model.forEach((layer, i) => {
    // Only the shape: a layer's dtype is the dtype of its weights (an embedding casts its token ids itself).
    const first = i === 0 ? { batchInputShape: [null, ...data.inputShape] } : {};
    const name = sanitizeName(layer.name);
    const built: tfl.layers.Layer[] = [];
    const act = layerActivation(layer);
    // The last softmax/sigmoid becomes part of the loss (computed from logits, stable).
    const effectiveAct = i === lastIndex && loss.fromLogits ? 'linear' : act;
    const tfAct = effectiveAct ? TFJS_ACTIVATION[effectiveAct] : undefined;
    const needsLeaky = effectiveAct === 'leakyRelu';

    switch (layer.type) {
      case 'dense':
        built.push(tfl.layers.dense({
          ...first, name, units: layer.units, activation: (needsLeaky ? 'linear' : tfAct) as never, useBias: layer.useBias ?? true,
          kernelInitializer: initializer(layer.kernelInitializer, 'glorotUniform', nextSeed()),
          biasInitializer: initializer(layer.biasInitializer, 'zeros', nextSeed()),
        }));
        break;
      case 'embedding':
        built.push(tfl.layers.embedding({
          ...first, name, inputDim: layer.inputDim ?? data.vocabularySize ?? 10000, outputDim: layer.outputDim,
          embeddingsInitializer: initializer(layer.embeddingsInitializer, 'randomUniform', nextSeed()),
        }));
        break;
      case 'simpleRNN':
      case 'lstm':
      case 'gru': {
        const common = {
          units: layer.units,
          activation: (TFJS_ACTIVATION[layer.activation ?? 'tanh'] ?? 'tanh') as never,
          returnSequences: layer.returnSequences ?? false,
          useBias: layer.useBias ?? true,
          kernelInitializer: initializer(layer.kernelInitializer, 'glorotUniform', nextSeed()),
          recurrentInitializer: initializer(layer.recurrentInitializer, 'orthogonal', nextSeed()),
          biasInitializer: initializer(layer.biasInitializer, 'zeros', nextSeed()),
        };
        const gates = { recurrentActivation: (TFJS_ACTIVATION[layer.recurrentActivation ?? 'sigmoid'] ?? 'sigmoid') as never };
        const make = (n: string, input: object) => layer.type === 'lstm'
          ? tfl.layers.lstm({ ...input, ...common, ...gates, name: n, unitForgetBias: layer.unitForgetBias ?? true })
          : layer.type === 'gru'
            ? tfl.layers.gru({ ...input, ...common, ...gates, name: n })
            : tfl.layers.simpleRNN({ ...input, ...common, name: n });
        const recurrent = layer.bidirectional
          ? tfl.layers.bidirectional({ ...first, name, layer: make(`${name}_cell`, {}) as never, mergeMode: 'concat' })
          : make(name, first);
        // One op per sequence instead of tfjs-layers' op-per-time-step (same formulas; see kernels/fused_rnn.ts).
        fuseRecurrent(recurrent);
        built.push(recurrent);
        break;
      }
      case 'conv1d':
        built.push(tfl.layers.conv1d({
          ...first, name, filters: layer.filters, kernelSize: layer.kernelSize, strides: layer.strides ?? 1,
          padding: layer.padding ?? 'valid', dilationRate: layer.dilationRate ?? 1,
          activation: (needsLeaky ? 'linear' : tfAct) as never, useBias: layer.useBias ?? true,
          kernelInitializer: initializer(layer.kernelInitializer, 'glorotUniform', nextSeed()),
          biasInitializer: initializer(layer.biasInitializer, 'zeros', nextSeed()),
        }));
        break;
      case 'globalMaxPooling1d': built.push(tfl.layers.globalMaxPooling1d({ ...first, name })); break;
      case 'globalAveragePooling1d': built.push(tfl.layers.globalAveragePooling1d({ ...first, name })); break;
      case 'maxPooling1d': built.push(tfl.layers.maxPooling1d({ ...first, name, poolSize: layer.poolSize ?? 2, strides: layer.strides })); break;
      case 'flatten': built.push(tfl.layers.flatten({ ...first, name })); break;
      case 'dropout': built.push(tfl.layers.dropout({ ...first, name, rate: layer.rate, seed: nextSeed() })); break;
      case 'batchNormalization': built.push(tfl.layers.batchNormalization({ ...first, name, momentum: layer.momentum ?? 0.99, epsilon: layer.epsilon ?? 0.001 })); break;
      case 'layerNormalization': built.push(tfl.layers.layerNormalization({ ...first, name, epsilon: layer.epsilon ?? 0.001 })); break;
      case 'activation':
        if (!needsLeaky) built.push(tfl.layers.activation({ ...first, name, activation: (tfAct ?? 'linear') as never }));
        break;
    }
    if (needsLeaky) {
      const alpha = 'alpha' in layer && layer.alpha !== undefined ? layer.alpha : 0.3;
      built.push(tfl.layers.leakyReLU({ ...(built.length === 0 ? first : {}), name: built.length ? `${name}_leaky` : name, alpha }));
    }
    for (const l of built) model.add(l);
    groups.push({ config: layer, layers: built, variables: [], activation: effectiveAct });
  });

  // Variables per config layer, with the regularizer and constraint the config gives their role.
  for (const g of groups) {
    for (const l of g.layers) {
      for (const w of l.trainableWeights) {
        const role = weightRole(w.name);
        const prefix = /(^|\/)(forward|backward)_/.exec(w.name)?.[2];
        g.variables.push({
          name: `${g.config.name}/${prefix ? `${prefix}/` : ''}${role}`,
          role,
          variable: w.read() as tf.Variable,
          regularizer: regularizerFor(g.config, role),
          constraint: constraintFor(g.config, role),
        });
      }
    }
  }

  const summaries: LayerSummary[] = groups.map(g => {
    const lastLayer = g.layers[g.layers.length - 1];
    const shape = lastLayer ? (lastLayer.outputShape as (number | null)[]).slice(1) : [];
    return {
      name: g.config.name,
      index: g.config.index,
      type: g.config.type,
      activation: layerActivation(g.config),
      outputShape: shape,
      params: g.variables.reduce((a, v) => a + v.variable.size, 0),
      variables: g.variables.map(v => ({ name: v.name, shape: v.variable.shape })),
    };
  });

  const forward = (x: tf.Tensor, training: boolean, capture?: (tf.Tensor | undefined)[]): tf.Tensor => {
    let t = x;
    for (let gi = 0; gi < groups.length; gi++) {
      for (const l of groups[gi].layers) t = l.apply(t, { training }) as tf.Tensor;
      if (capture) capture[gi] = tf.keep(t);
    }
    return t;
  };

  return {
    model, groups, variables: groups.flatMap(g => g.variables), loss, summaries, forward,
    dispose: () => model.dispose(),
  };
}

function sanitizeName(name: string): string {
  // tfjs layer names become variable scopes: keep them to identifier-like characters.
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function weightRole(tfName: string): string {
  const base = tfName.split('/').pop() ?? tfName;
  return base.replace(/_\d+$/, '');
}

function regularizerFor(layer: ResolvedLayer, role: string): RegularizerConfig | undefined {
  const l = layer as unknown as Record<string, RegularizerConfig | undefined>;
  if (role === 'kernel') return l.kernelRegularizer;
  if (role === 'recurrent_kernel') return l.recurrentRegularizer;
  if (role === 'bias') return l.biasRegularizer;
  if (role === 'embeddings') return l.embeddingsRegularizer;
  return undefined;
}

function constraintFor(layer: ResolvedLayer, role: string): ConstraintConfig | undefined {
  const l = layer as unknown as Record<string, ConstraintConfig | undefined>;
  if (role === 'kernel') return l.kernelConstraint;
  if (role === 'recurrent_kernel') return l.recurrentConstraint;
  if (role === 'bias') return l.biasConstraint;
  if (role === 'embeddings') return l.embeddingsConstraint;
  return undefined;
}

/** l1·Σ|w| + l2·Σw² over every regularized variable (undefined when none is). */
export function regularizationLoss(variables: ModelVariable[]): tf.Scalar | undefined {
  const terms: tf.Tensor[] = [];
  for (const v of variables) {
    const r = v.regularizer;
    if (!r) continue;
    if (r.l1) terms.push(tf.mul(r.l1, tf.sum(tf.abs(v.variable))));
    if (r.l2) terms.push(tf.mul(r.l2, tf.sum(tf.square(v.variable))));
  }
  return terms.length ? (tf.addN(terms) as tf.Scalar) : undefined;
}

/** Projects constrained weights back into their allowed set after an update (Keras' semantics). */
export function applyConstraints(variables: ModelVariable[]): void {
  tf.tidy(() => {
    for (const v of variables) {
      const c = v.constraint;
      if (!c) continue;
      const w = v.variable;
      const axis = 'axis' in c && c.axis !== undefined ? c.axis : 0;
      const norms = () => tf.sqrt(tf.sum(tf.square(w), axis, true));
      const eps = 1e-7;
      switch (c.type) {
        case 'maxNorm': {
          const n = norms();
          w.assign(tf.mul(w, tf.div(tf.clipByValue(n, 0, c.maxValue), tf.add(n, eps))));
          break;
        }
        case 'unitNorm': w.assign(tf.div(w, tf.add(norms(), eps))); break;
        case 'nonNeg': w.assign(tf.relu(w)); break;
        case 'minMaxNorm': {
          const n = norms();
          const rate = c.rate ?? 1;
          const desired = tf.add(tf.mul(rate, tf.clipByValue(n, c.minValue, c.maxValue)), tf.mul(1 - rate, n));
          w.assign(tf.mul(w, tf.div(desired, tf.add(n, eps))));
          break;
        }
        case 'clipValue': w.assign(tf.clipByValue(w, c.minValue, c.maxValue)); break;
      }
    }
  });
}
