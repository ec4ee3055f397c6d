// The JSON Schema (draft-07) of `*.gradmon.json`: the one source of structural rules. The extension
// contributes it (schemas/gradmon.schema.json, generated from this file by `npm run build`) and the
// engine's validator interprets it, so editor squiggles and `gradmon check` agree.

import { DEFAULT_THRESHOLDS } from '../diagnosis/thresholds';

export type JsonSchema = {
  $schema?: string;
  $id?: string;
  title?: string;
  type?: string | string[];
  description?: string;
  markdownDescription?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema | JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  if?: JsonSchema;
  then?: JsonSchema;
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
  defaultSnippets?: { label: string; description?: string; body: unknown }[];
  deprecationMessage?: string;
  errorMessage?: string;
};

const ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softmax',
  'softplus', 'softsign', 'swish', 'gelu',
];
const INITIALIZERS = [
  'glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'leCunUniform', 'leCunNormal', 'orthogonal',
  'zeros', 'ones', 'randomNormal', 'randomUniform', 'truncatedNormal',
];

const num = (description: string, dflt: number | undefined, examples: number[], extra: JsonSchema = {}): JsonSchema =>
  ({ type: 'number', description, ...(dflt !== undefined ? { default: dflt } : {}), examples, ...extra });
const int = (description: string, dflt: number | undefined, examples: number[], extra: JsonSchema = {}): JsonSchema =>
  ({ type: 'integer', description, ...(dflt !== undefined ? { default: dflt } : {}), examples, ...extra });
const bool = (description: string, dflt: boolean): JsonSchema =>
  ({ type: 'boolean', description, default: dflt, examples: [dflt, !dflt] });
const str = (description: string, examples: string[], extra: JsonSchema = {}): JsonSchema =>
  ({ type: 'string', description, examples, minLength: 1, ...extra });
const oneOfEnum = (description: string, values: string[], dflt: string | undefined, examples?: string[]): JsonSchema =>
  ({ type: 'string', description, enum: values, ...(dflt !== undefined ? { default: dflt } : {}), examples: examples ?? [dflt ?? values[0]] });

const activation = (dflt: string, what = 'Activation applied to the layer output.') =>
  oneOfEnum(`${what} ReLU-family activations keep gradients alive in deep stacks; sigmoid/tanh saturate (their gradient is < 0.01 once |x| > 5).`, ACTIVATIONS, dflt, [dflt, 'relu', 'tanh']);

const initializer = (description: string, dflt: string): JsonSchema => ({
  description: `${description} A name, or an object with parameters.`,
  default: dflt,
  examples: [dflt, { type: 'randomNormal', stddev: 0.05 }],
  oneOf: [
    { type: 'string', enum: INITIALIZERS },
    {
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: {
        type: oneOfEnum('Initializer.', INITIALIZERS, undefined, ['randomNormal']),
        mean: num('randomNormal / truncatedNormal: mean.', 0, [0]),
        stddev: num('randomNormal / truncatedNormal: standard deviation.', 0.05, [0.05, 1], { minimum: 0 }),
        minval: num('randomUniform: lower bound.', -0.05, [-0.05]),
        maxval: num('randomUniform: upper bound.', 0.05, [0.05]),
        gain: num('orthogonal: multiplicative factor.', 1, [1, 3], { minimum: 0 }),
      },
    },
  ],
});

const regularizer = (what: string): JsonSchema => ({
  type: 'object',
  description: `L1/L2 penalty on ${what}, added to the loss: l1·Σ|w| + l2·Σw². Keeps weights small, which also tames exploding gradients.`,
  additionalProperties: false,
  examples: [{ l2: 0.0001 }, { l1: 0.00001, l2: 0.0001 }],
  properties: {
    l1: num('L1 coefficient (drives weights to exactly zero).', 0, [0.00001], { minimum: 0 }),
    l2: num('L2 coefficient (weight decay).', 0, [0.0001], { minimum: 0 }),
  },
});

const constraint = (what: string): JsonSchema => ({
  type: 'object',
  description: `Constraint applied to ${what} after every update (the sources' "weight clipping"). maxNorm caps each unit's incoming weight vector; clipValue clips each weight.`,
  required: ['type'],
  examples: [{ type: 'maxNorm', maxValue: 3 }, { type: 'clipValue', minValue: -0.5, maxValue: 0.5 }],
  properties: {
    type: oneOfEnum('Kind of constraint.', ['maxNorm', 'unitNorm', 'nonNeg', 'minMaxNorm', 'clipValue'], undefined, ['maxNorm']),
    maxValue: num('maxNorm/minMaxNorm: the largest norm; clipValue: the largest weight.', undefined, [3]),
    minValue: num('minMaxNorm: the smallest norm; clipValue: the smallest weight.', undefined, [0]),
    rate: num('minMaxNorm: how far to move toward the bounds each step (1 = all the way).', 1, [1], { minimum: 0, maximum: 1 }),
    axis: int('Axis along which norms are computed (0 = per output unit for dense kernels).', 0, [0]),
  },
  additionalProperties: false,
  allOf: [
    { if: { properties: { type: { const: 'maxNorm' } } }, then: { required: ['maxValue'] } },
    { if: { properties: { type: { const: 'minMaxNorm' } } }, then: { required: ['minValue', 'maxValue'] } },
    { if: { properties: { type: { const: 'clipValue' } } }, then: { required: ['minValue', 'maxValue'] } },
  ],
});

const nameProp = str('Name shown in charts and findings. Defaults to `<type>_<n>`, e.g. `lstm_1`.', ['encoder', 'lstm_1']);

const weighted = (kernelDefault: string): Record<string, JsonSchema> => ({
  kernelInitializer: initializer('How the weight matrix starts. Too large and gradients explode, too small and they vanish.', kernelDefault),
  biasInitializer: initializer('How the bias starts.', 'zeros'),
  kernelRegularizer: regularizer('the weights'),
  biasRegularizer: regularizer('the bias'),
  kernelConstraint: constraint('the weights'),
  biasConstraint: constraint('the bias'),
  useBias: bool('Whether the layer has a bias vector.', true),
});

const layer = (type: string, description: string, properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: 'object',
  description,
  required: ['type', ...required],
  additionalProperties: false,
  properties: {
    type: { const: type, description },
    name: nameProp,
    ...properties,
  },
});

const units = (examples: number[]) => int('Number of units (output size). Must fit in memory: at most 1,000,000.', undefined, examples, { minimum: 1, maximum: 1_000_000 });

const recurrent = (type: string, description: string, extra: Record<string, JsonSchema> = {}): JsonSchema =>
  layer(type, description, {
    units: units([64, 128]),
    activation: activation('tanh', 'Activation of the cell output / candidate.'),
    returnSequences: bool('Return the output of every time step (needed to stack another recurrent layer on top) instead of the last one.', false),
    bidirectional: bool('Run the sequence in both directions and concatenate the outputs (a Bidirectional wrapper).', false),
    ...weighted('glorotUniform'),
    recurrentInitializer: initializer('How the recurrent (hidden-to-hidden) matrix starts. Its largest singular value decides whether gradients through time explode (> 1) or vanish (< 1); orthogonal keeps it at 1.', 'orthogonal'),
    recurrentRegularizer: regularizer('the recurrent weights'),
    recurrentConstraint: constraint('the recurrent weights'),
    ...extra,
  }, ['units']);

const LAYER_SCHEMAS: Record<string, JsonSchema> = {
  dense: layer('dense', 'Fully connected layer: activation(x·W + b).', {
    units: units([128, 10]),
    activation: activation('linear'),
    alpha: num('Slope for negative inputs when activation is leakyRelu.', 0.3, [0.01, 0.3], { minimum: 0 }),
    ...weighted('glorotUniform'),
  }, ['units']),
  embedding: layer('embedding', 'Maps token ids to dense vectors (the first layer of a text model).', {
    inputDim: int('Vocabulary size. Defaults to data.vocabularySize.', undefined, [5000, 10000], { minimum: 2, maximum: 10_000_000 }),
    outputDim: int('Size of each token vector.', undefined, [64, 128], { minimum: 1, maximum: 100_000 }),
    embeddingsInitializer: initializer('How the vectors start.', 'randomUniform'),
    embeddingsRegularizer: regularizer('the embedding vectors'),
    embeddingsConstraint: constraint('the embedding vectors'),
  }, ['outputDim']),
  simpleRNN: recurrent('simpleRNN', 'Plain (Elman) recurrent layer: h = activation(x·W + h·U + b). The classic case of vanishing and exploding gradients through time.'),
  lstm: recurrent('lstm', 'Long short-term memory (Hochreiter & Schmidhuber 1997): gated cell state that carries gradients over long sequences.', {
    recurrentActivation: activation('sigmoid', 'Activation of the gates. Defaults to sigmoid (as Keras and PyTorch; tfjs uses hardSigmoid).'),
    unitForgetBias: bool('Start the forget-gate bias at 1 so the cell remembers by default (Jozefowicz et al. 2015).', true),
  }),
  gru: recurrent('gru', 'Gated recurrent unit (Cho et al. 2014): a lighter gated cell than the LSTM.', {
    recurrentActivation: activation('sigmoid', 'Activation of the gates. Defaults to sigmoid (as Keras and PyTorch; tfjs uses hardSigmoid).'),
  }),
  conv1d: layer('conv1d', '1-D convolution over the sequence axis (n-gram detectors for text).', {
    filters: int('Number of filters (output channels).', undefined, [64, 128], { minimum: 1, maximum: 100_000 }),
    kernelSize: int('Width of the window, in time steps.', undefined, [3, 5], { minimum: 1, maximum: 10_000 }),
    strides: int('Step between windows.', 1, [1, 2], { minimum: 1 }),
    padding: oneOfEnum('valid: no padding (output shrinks); same: pad to keep the length; causal: pad on the left only.', ['valid', 'same', 'causal'], 'valid'),
    dilationRate: int('Spacing between the taps of the window.', 1, [1, 2], { minimum: 1 }),
    activation: activation('linear'),
    alpha: num('Slope for negative inputs when activation is leakyRelu.', 0.3, [0.01], { minimum: 0 }),
    ...weighted('glorotUniform'),
  }, ['filters', 'kernelSize']),
  globalMaxPooling1d: layer('globalMaxPooling1d', 'Maximum over the time axis: [batch, steps, features] → [batch, features].', {}),
  globalAveragePooling1d: layer('globalAveragePooling1d', 'Mean over the time axis: [batch, steps, features] → [batch, features].', {}),
  maxPooling1d: layer('maxPooling1d', 'Maximum over windows of the time axis.', {
    poolSize: int('Window size.', 2, [2, 3], { minimum: 1 }),
    strides: int('Step between windows (defaults to poolSize).', undefined, [2], { minimum: 1 }),
  }),
  flatten: layer('flatten', 'Flattens each example to a vector (e.g. before a dense layer).', {}),
  dropout: layer('dropout', 'Randomly zeroes a fraction of the inputs during training (regularization).', {
    rate: num('Fraction of inputs to drop.', undefined, [0.2, 0.5], { minimum: 0, exclusiveMaximum: 1 }),
  }, ['rate']),
  batchNormalization: layer('batchNormalization', 'Normalizes each feature over the batch (Ioffe & Szegedy 2015): keeps pre-activations in the range where gradients flow, so deep sigmoid/tanh stacks train.', {
    momentum: num('Momentum of the moving mean and variance used at inference.', 0.99, [0.99, 0.9], { minimum: 0, maximum: 1 }),
    epsilon: num('Added to the variance for numerical stability.', 0.001, [0.001], { exclusiveMinimum: 0 }),
  }),
  layerNormalization: layer('layerNormalization', 'Normalizes each example over its features (Ba et al. 2016): like batch normalization but independent of the batch, the usual choice in recurrent models.', {
    epsilon: num('Added to the variance for numerical stability.', 0.001, [0.001], { exclusiveMinimum: 0 }),
  }),
  activation: layer('activation', 'A standalone activation.', {
    activation: { ...activation('relu'), default: undefined },
    alpha: num('Slope for negative inputs when activation is leakyRelu.', 0.3, [0.01], { minimum: 0 }),
  }, ['activation']),
};

export const LAYER_TYPES = Object.keys(LAYER_SCHEMAS);

const fileProp = (what: string, examples: string[]) =>
  str(`${what} Relative to the config file; must stay inside the workspace.`, examples);

const textOptions: Record<string, JsonSchema> = {
  vocabularySize: int('Keep the most frequent (vocabularySize − 2) words of the training texts; id 0 is padding, 1 is out-of-vocabulary.', 10000, [5000, 20000], { minimum: 3, maximum: 10_000_000 }),
  sequenceLength: int('Pad or truncate every text to this many tokens. Long sequences are where recurrent gradients vanish or explode.', 100, [50, 200], { minimum: 1, maximum: 100_000 }),
  lowercase: bool('Lowercase texts before splitting into words.', true),
  truncating: oneOfEnum('Where to cut texts longer than sequenceLength.', ['pre', 'post'], 'post'),
  padding: oneOfEnum('Where to pad texts shorter than sequenceLength.', ['pre', 'post'], 'post'),
};
const splitOptions: Record<string, JsonSchema> = {
  validationSplit: num('Fraction of the examples held out for validation (after a seeded shuffle).', 0.1, [0.1, 0.2], { minimum: 0, exclusiveMaximum: 1 }),
  maxExamples: int('Use at most this many examples (after shuffling). Handy for quick runs.', undefined, [1000], { minimum: 1 }),
};

const DATA_SCHEMAS: Record<string, JsonSchema> = {
  synthetic: {
    type: 'object',
    description: 'Generated data: classic tasks for testing long-range gradients, and blobs for a quick classifier.',
    required: ['source', 'task'],
    additionalProperties: false,
    properties: {
      source: { const: 'synthetic', description: 'Generated data.' },
      task: oneOfEnum('adding: sum two marked numbers of a sequence (Hochreiter & Schmidhuber 1997, regression). temporalOrder: classify the order of two symbols X/Y hidden in noise (Pascanu, Mikolov & Bengio 2013, 4 classes). parity: parity of a bit sequence (2 classes). blobs: Gaussian clusters (a quick MLP task).',
        ['adding', 'temporalOrder', 'parity', 'blobs'], undefined, ['adding', 'temporalOrder']),
      examples: int('Number of examples to generate.', 2000, [2000, 10000], { minimum: 2, maximum: 10_000_000 }),
      sequenceLength: int('adding / temporalOrder / parity: length of each sequence — the knob for how far gradients must travel.', 50, [50, 200], { minimum: 2, maximum: 100_000 }),
      features: int('blobs: number of features.', 20, [20], { minimum: 1, maximum: 1_000_000 }),
      classes: int('blobs: number of classes.', 3, [3, 10], { minimum: 2, maximum: 100_000 }),
      noise: num('blobs: spread of each cluster (larger is harder).', 1, [1, 3], { minimum: 0 }),
      ...splitOptions,
    },
  },
  csv: {
    type: 'object',
    description: 'A CSV file with a header row: text classification (textColumn + labelColumn) or a numeric table (featureColumns + labelColumn).',
    required: ['source', 'path', 'labelColumn'],
    additionalProperties: false,
    properties: {
      source: { const: 'csv', description: 'A CSV file with a header row.' },
      path: fileProp('The CSV file.', ['data/spam.csv']),
      delimiter: str('Field separator: one character, not a quote or a line break.', [',', ';', '\t'], { default: ',', maxLength: 1 }),
      textColumn: str('Column holding the text (omit for a numeric table).', ['text']),
      labelColumn: str('Column holding the class label.', ['label']),
      featureColumns: { type: 'array', description: 'Numeric table: the feature columns (default: every column but the label).', items: { type: 'string', minLength: 1 }, minItems: 1, examples: [['x1', 'x2']] },
      ...textOptions,
      ...splitOptions,
    },
  },
  jsonl: {
    type: 'object',
    description: 'A JSON Lines file: one JSON object per line, with a text (or numeric features) and a label field.',
    required: ['source', 'path', 'labelColumn'],
    additionalProperties: false,
    properties: {
      source: { const: 'jsonl', description: 'A JSON Lines file.' },
      path: fileProp('The JSONL file.', ['data/reviews.jsonl']),
      textColumn: str('Field holding the text (omit for numeric features).', ['text']),
      labelColumn: str('Field holding the class label.', ['label']),
      featureColumns: { type: 'array', description: 'Numeric features: the fields to use.', items: { type: 'string', minLength: 1 }, minItems: 1, examples: [['x1', 'x2']] },
      ...textOptions,
      ...splitOptions,
    },
  },
  idx: {
    type: 'object',
    description: 'IDX files (the MNIST format): one of inputs, one of labels.',
    required: ['source', 'images', 'labels'],
    additionalProperties: false,
    properties: {
      source: { const: 'idx', description: 'IDX files (MNIST format).' },
      images: fileProp('IDX file of inputs.', ['data/mnist/train-images-idx3-ubyte']),
      labels: fileProp('IDX file of integer labels.', ['data/mnist/train-labels-idx1-ubyte']),
      normalize: bool('Divide byte values by 255 (inputs in [0, 1]).', true),
      flatten: bool('Flatten each input to a vector (for an MLP); false keeps rows as a sequence (for an RNN).', true),
      ...splitOptions,
    },
  },
};

const discriminated = (key: string, variants: Record<string, JsonSchema>, description: string, examples: unknown[]): JsonSchema => ({
  type: 'object',
  description,
  required: [key],
  examples,
  properties: { [key]: { type: 'string', enum: Object.keys(variants), description: `Kind: ${Object.keys(variants).join(', ')}.` } },
  allOf: Object.entries(variants).map(([k, s]) => ({ if: { properties: { [key]: { const: k } }, required: [key] }, then: s })),
});

const layerSchema = discriminated('type', LAYER_SCHEMAS, 'A layer, in TensorFlow.js / Keras terms.', [{ type: 'dense', units: 64, activation: 'relu' }]);

const clippingItem: JsonSchema = {
  type: 'object',
  description: 'Gradient clipping, with Keras\' meanings. value: clip each gradient element to [−threshold, threshold] (clipvalue). norm: rescale each tensor whose L2 norm exceeds threshold (clipnorm). globalNorm: rescale all gradients together when their joint norm exceeds threshold (global_clipnorm; keeps the direction — the usual cure for exploding gradients, Pascanu et al. 2013).',
  required: ['mode', 'threshold'],
  additionalProperties: false,
  examples: [{ mode: 'globalNorm', threshold: 1 }],
  properties: {
    mode: oneOfEnum('Which clipping.', ['value', 'norm', 'globalNorm'], 'globalNorm', ['globalNorm', 'value']),
    threshold: num('Clip at this value/norm. Pascanu et al. found half to ten times the average gradient norm works.', undefined, [1, 5], { exclusiveMinimum: 0 }),
  },
};

const thresholdsSchema: JsonSchema = {
  type: 'object',
  description: 'Override the diagnosis rules\' thresholds (see docs/rules.md for each rule and its source).',
  additionalProperties: false,
  examples: [{ explosionFactor: 20 }],
  properties: {
    explosionFactor: num('A norm above this many times its recent median is a spike (Pascanu et al. 2013: clipping at up to 10× the average norm still converges).', DEFAULT_THRESHOLDS.explosionFactor, [10], { exclusiveMinimum: 1 }),
    explosionRatio: num('First-to-last layer gradient ratio above which gradients explode (AUTOTRAINER: 70).', DEFAULT_THRESHOLDS.explosionRatio, [70], { exclusiveMinimum: 1 }),
    vanishingRatio: num('First-to-last layer gradient ratio below which gradients vanish (AUTOTRAINER: 1e-3).', DEFAULT_THRESHOLDS.vanishingRatio, [0.001], { exclusiveMinimum: 0, exclusiveMaximum: 1 }),
    vanishingNorm: num('First-layer gradient norm below which it has vanished (AUTOTRAINER: 1e-4).', DEFAULT_THRESHOLDS.vanishingNorm, [0.0001], { exclusiveMinimum: 0 }),
    tinyGradient: num('Mean |gradient| below which a layer gets no learning signal (DeepDiagnosis: 1e-7).', DEFAULT_THRESHOLDS.tinyGradient, [1e-7], { exclusiveMinimum: 0 }),
    deadReluFraction: num('Fraction of exactly-zero gradients for a dying ReLU layer (AUTOTRAINER: 0.7).', DEFAULT_THRESHOLDS.deadReluFraction, [0.7], { exclusiveMinimum: 0, maximum: 1 }),
    saturationFraction: num('Fraction of sigmoid/tanh pre-activations with |x| ≥ 5 for saturation (DeepDiagnosis: 0.5).', DEFAULT_THRESHOLDS.saturationFraction, [0.5], { exclusiveMinimum: 0, maximum: 1 }),
    updateRatioLow: num('Update/weight ratio below which a layer barely learns (DeepDiagnosis: 1e-5).', DEFAULT_THRESHOLDS.updateRatioLow, [1e-5], { exclusiveMinimum: 0 }),
    updateRatioHigh: num('Update/weight ratio above which updates are too large (DeepDiagnosis: 1e-1).', DEFAULT_THRESHOLDS.updateRatioHigh, [0.1], { exclusiveMinimum: 0 }),
    window: int('Monitored steps of history the adaptive rules compare against.', DEFAULT_THRESHOLDS.window, [50], { minimum: 5 }),
    patience: int('Monitored steps a condition must persist before it is reported.', DEFAULT_THRESHOLDS.patience, [3], { minimum: 1 }),
  },
};

export const CONFIG_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://gradmon.dev/schemas/gradmon.schema.json',
  title: 'Gradient Monitor training config',
  description: 'A model, its data and how to train it, watched by Gradient Monitor. Comments are allowed.',
  type: 'object',
  required: ['name', 'data', 'model', 'loss', 'optimizer'],
  additionalProperties: false,
  defaultSnippets: [{
    label: 'Text classifier (Embedding + LSTM)',
    body: {
      name: '${1:spam-lstm}', seed: 7, backend: 'auto',
      data: { source: 'csv', path: '${2:data/spam.csv}', textColumn: 'text', labelColumn: 'label', vocabularySize: 5000, sequenceLength: 100 },
      model: [{ type: 'embedding', outputDim: 64 }, { type: 'lstm', units: 64 }, { type: 'dense', units: 2, activation: 'softmax' }],
      loss: 'sparseCategoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.001 },
      clipping: { mode: 'globalNorm', threshold: 1 }, training: { epochs: 5, batchSize: 32 },
    },
  }],
  properties: {
    $schema: { type: 'string', description: 'The schema of this file (optional; the extension associates *.gradmon.json by itself).', examples: ['./node_modules/gradient-monitor/schemas/gradmon.schema.json'] },
    name: str('Name of the run, shown in the sidebar and the run history.', ['spam-lstm', 'mnist-mlp']),
    description: str('What this experiment is about.', ['LSTM on the spam corpus with global-norm clipping']),
    seed: int('Seed for weights, data shuffling and dropout: the same seed on the same backend gives the same run.', 42, [7, 42], { minimum: 0, maximum: 4294967295 }),
    backend: oneOfEnum('Where TensorFlow.js runs. auto: the fastest that works (tensorflow native, then wasm, then cpu). tensorflow needs @tensorflow/tfjs-node.', ['auto', 'tensorflow', 'wasm', 'cpu'], 'auto', ['auto', 'wasm']),
    data: discriminated('source', DATA_SCHEMAS, 'The training data.', [{ source: 'synthetic', task: 'adding', sequenceLength: 50 }]),
    model: {
      type: 'array', description: 'The layers, input to output (a sequential model). The input shape comes from the data.',
      minItems: 1, maxItems: 1000, items: layerSchema,
      examples: [[{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' }]],
    },
    loss: oneOfEnum('Loss function. Cross-entropies expect softmax (sigmoid for binary) on the last layer, or linear outputs treated as logits.',
      ['sparseCategoricalCrossentropy', 'categoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError', 'meanAbsoluteError', 'huber'],
      undefined, ['sparseCategoricalCrossentropy', 'meanSquaredError']),
    optimizer: {
      type: 'object',
      description: 'How weights move along the gradient.',
      required: ['type'],
      additionalProperties: false,
      examples: [{ type: 'adam', learningRate: 0.001 }, { type: 'sgd', learningRate: 0.01 }],
      properties: {
        type: oneOfEnum('sgd: w −= lr·g. momentum: accumulates a velocity (optionally Nesterov). rmsprop: divides by a running RMS of gradients. adam: momentum + RMS with bias correction (Kingma & Ba 2015). adagrad: per-weight rates that shrink with accumulated squared gradients.',
          ['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad'], undefined, ['adam', 'sgd']),
        learningRate: num('Step size. Too large diverges or explodes; too small stalls. Defaults: sgd/momentum 0.01, adam/rmsprop 0.001, adagrad 0.01.', undefined, [0.001, 0.01], { exclusiveMinimum: 0, maximum: 1000 }),
        momentum: num('momentum: decay of the velocity (0.9 is typical); rmsprop: optional momentum.', 0.9, [0.9], { minimum: 0, exclusiveMaximum: 1 }),
        nesterov: bool('momentum: Nesterov\'s look-ahead variant.', false),
        beta1: num('adam: decay of the first-moment (mean) estimate.', 0.9, [0.9], { minimum: 0, exclusiveMaximum: 1 }),
        beta2: num('adam: decay of the second-moment (uncentered variance) estimate.', 0.999, [0.999], { minimum: 0, exclusiveMaximum: 1 }),
        epsilon: num('adam/rmsprop/adagrad: added to the denominator to avoid division by zero.', 1e-7, [1e-7, 1e-8], { exclusiveMinimum: 0 }),
        biasCorrection: bool('adam: divide the moments by (1 − βᵗ) so that early steps are not biased toward zero.', true),
        rho: num('rmsprop: decay of the mean of squared gradients.', 0.9, [0.9], { minimum: 0, exclusiveMaximum: 1 }),
        centered: bool('rmsprop: normalize by the variance instead of the uncentered second moment.', false),
        initialAccumulatorValue: num('adagrad: starting value of the accumulator.', 0.1, [0.1], { minimum: 0 }),
        schedule: {
          type: 'object',
          description: 'Learning-rate schedule (with optional warm-up).',
          required: ['type'],
          additionalProperties: false,
          examples: [{ type: 'exponential', decayRate: 0.96, decaySteps: 100 }, { type: 'cosine', warmupSteps: 100 }],
          properties: {
            type: oneOfEnum('constant, step (× factor every N steps), exponential (× decayRate^(step/decaySteps)) or cosine (to minLearningRate over totalSteps).', ['constant', 'step', 'exponential', 'cosine'], 'constant', ['exponential']),
            every: int('step: steps between drops.', 1000, [1000], { minimum: 1 }),
            factor: num('step: multiply the rate by this at each drop.', 0.1, [0.1, 0.5], { exclusiveMinimum: 0 }),
            decayRate: num('exponential: decay per decaySteps.', 0.96, [0.96], { exclusiveMinimum: 0 }),
            decaySteps: int('exponential: steps per decay.', 1000, [1000], { minimum: 1 }),
            totalSteps: int('cosine: steps to decay over (default: the run\'s total steps).', undefined, [10000], { minimum: 1 }),
            minLearningRate: num('cosine: the final rate.', 0, [0], { minimum: 0 }),
            warmupSteps: int('Linear warm-up from 0 over this many steps.', 0, [100], { minimum: 0 }),
          },
        },
      },
    },
    clipping: {
      description: 'Gradient clipping before each update: one mode, or several applied in order (value, norm, globalNorm). null or omitted: no clipping.',
      default: null,
      examples: [{ mode: 'globalNorm', threshold: 1 }],
      oneOf: [
        { type: 'null' },
        clippingItem,
        { type: 'array', items: clippingItem, maxItems: 3 },
      ],
    },
    training: {
      type: 'object',
      description: 'The training loop.',
      additionalProperties: false,
      examples: [{ epochs: 5, batchSize: 32 }],
      properties: {
        epochs: int('Passes over the training data.', 5, [5, 20], { minimum: 1, maximum: 1_000_000 }),
        batchSize: int('Examples per micro-batch.', 32, [32, 64], { minimum: 1, maximum: 1_000_000 }),
        accumulationSteps: int('Average gradients over this many micro-batches per update: an effective batch of batchSize × accumulationSteps without the memory (steadier gradients, e.g. for tiny batches).', 1, [1, 4], { minimum: 1, maximum: 10_000 }),
        maxSteps: int('Stop after this many updates, even mid-epoch.', undefined, [1000], { minimum: 1 }),
        shuffle: bool('Reshuffle the training data every epoch (seeded).', true),
        validationEvery: int('Also evaluate on validation data every N updates (0: only at the end of each epoch).', 0, [0, 100], { minimum: 0 }),
      },
    },
    monitor: {
      type: 'object',
      description: 'What Gradient Monitor records and how it reacts.',
      additionalProperties: false,
      examples: [{ every: 1, histogramBins: 64 }],
      properties: {
        every: int('Full per-layer statistics and histograms every N updates (the loss and NaN/Inf checks run every update).', 1, [1, 10], { minimum: 1 }),
        histogramBins: int('Bins of the log10|gradient| histograms.', 64, [32, 64], { minimum: 4, maximum: 512 }),
        histogramRange: { type: 'array', description: 'The log10|gradient| range of the histograms, fixed so steps compare: [lowest, highest] decade.', default: [-12, 4], examples: [[-12, 4], [-10, 2]], items: [{ type: 'number', minimum: -45 }, { type: 'number', maximum: 38 }], minItems: 2, maxItems: 2 },
        onNonFinite: oneOfEnum('When the loss, a gradient or a weight becomes NaN/Inf: halt the run (cleanly, with the log kept) or continue.', ['halt', 'continue'], 'halt'),
        thresholds: thresholdsSchema,
      },
    },
  },
};
