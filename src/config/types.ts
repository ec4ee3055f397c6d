// The training-config format (`*.gradmon.json`): the user-facing contract, as TypeScript types.
// Names follow TensorFlow.js layers / Keras config names in camelCase. The JSON Schema in
// src/config/schema.json describes the same shape for the editor; `normalizeConfig` fills the defaults.

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;

export type ActivationName =
  | 'linear' | 'relu' | 'relu6' | 'leakyRelu' | 'elu' | 'selu' | 'sigmoid' | 'hardSigmoid'
  | 'tanh' | 'softmax' | 'softplus' | 'softsign' | 'swish' | 'gelu';

export type InitializerName =
  | 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'leCunUniform' | 'leCunNormal'
  | 'orthogonal' | 'zeros' | 'ones' | 'randomNormal' | 'randomUniform' | 'truncatedNormal';

/** An initializer by name, or with parameters (e.g. `{ "type": "randomNormal", "stddev": 2 }`). */
export type InitializerConfig = InitializerName | {
  type: InitializerName;
  /** randomNormal/truncatedNormal: mean and standard deviation. */
  mean?: number;
  stddev?: number;
  /** randomUniform: bounds. */
  minval?: number;
  maxval?: number;
  /** orthogonal: multiplicative gain. */
  gain?: number;
};

/** L1/L2 weight penalties added to the loss (the sources' L1/L2 regularization). */
export interface RegularizerConfig { l1?: number; l2?: number }

/** Weight constraints applied after every update (the sources' "weight clipping"). */
export type ConstraintConfig =
  | { type: 'maxNorm'; maxValue: number; axis?: number }
  | { type: 'unitNorm'; axis?: number }
  | { type: 'nonNeg' }
  | { type: 'minMaxNorm'; minValue: number; maxValue: number; rate?: number; axis?: number }
  | { type: 'clipValue'; minValue: number; maxValue: number };

interface LayerBase {
  /** A name shown in charts and findings; defaults to `<type>_<n>` (e.g. `lstm_1`). */
  name?: string;
}

interface WeightedLayerBase extends LayerBase {
  kernelInitializer?: InitializerConfig;
  biasInitializer?: InitializerConfig;
  kernelRegularizer?: RegularizerConfig;
  biasRegularizer?: RegularizerConfig;
  kernelConstraint?: ConstraintConfig;
  biasConstraint?: ConstraintConfig;
  useBias?: boolean;
}

export interface DenseLayerConfig extends WeightedLayerBase {
  type: 'dense';
  units: number;
  activation?: ActivationName;
  /** Slope for negative inputs when activation is leakyRelu. */
  alpha?: number;
}

export interface EmbeddingLayerConfig extends LayerBase {
  type: 'embedding';
  /** Vocabulary size; defaults to data.vocabularySize. */
  inputDim?: number;
  outputDim: number;
  embeddingsInitializer?: InitializerConfig;
  embeddingsRegularizer?: RegularizerConfig;
  embeddingsConstraint?: ConstraintConfig;
}

export interface RecurrentLayerConfig extends WeightedLayerBase {
  type: 'simpleRNN' | 'lstm' | 'gru';
  units: number;
  activation?: ActivationName;
  /** Gate activation for lstm/gru. Defaults to sigmoid (as Keras and PyTorch; tfjs defaults to hardSigmoid). */
  recurrentActivation?: ActivationName;
  returnSequences?: boolean;
  /** Wrap in a Bidirectional layer (outputs of both directions concatenated). */
  bidirectional?: boolean;
  recurrentInitializer?: InitializerConfig;
  recurrentRegularizer?: RegularizerConfig;
  recurrentConstraint?: ConstraintConfig;
  /** lstm: add 1 to the forget gate bias at initialization (Jozefowicz et al. 2015). */
  unitForgetBias?: boolean;
}

export interface Conv1DLayerConfig extends WeightedLayerBase {
  type: 'conv1d';
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: 'valid' | 'same' | 'causal';
  dilationRate?: number;
  activation?: ActivationName;
  alpha?: number;
}

export interface PoolingLayerConfig extends LayerBase {
  type: 'globalMaxPooling1d' | 'globalAveragePooling1d' | 'flatten';
}

export interface MaxPooling1DLayerConfig extends LayerBase {
  type: 'maxPooling1d';
  poolSize?: number;
  strides?: number;
}

export interface DropoutLayerConfig extends LayerBase {
  type: 'dropout';
  rate: number;
}

export interface BatchNormalizationLayerConfig extends LayerBase {
  type: 'batchNormalization';
  momentum?: number;
  epsilon?: number;
}

export interface LayerNormalizationLayerConfig extends LayerBase {
  type: 'layerNormalization';
  epsilon?: number;
}

export interface ActivationLayerConfig extends LayerBase {
  type: 'activation';
  activation: ActivationName;
  alpha?: number;
}

export type LayerConfig =
  | DenseLayerConfig | EmbeddingLayerConfig | RecurrentLayerConfig | Conv1DLayerConfig
  | PoolingLayerConfig | MaxPooling1DLayerConfig | DropoutLayerConfig
  | BatchNormalizationLayerConfig | LayerNormalizationLayerConfig | ActivationLayerConfig;

export type LayerType = LayerConfig['type'];

export type SyntheticTask = 'adding' | 'temporalOrder' | 'blobs' | 'parity';

interface DataBase {
  /** Fraction of the examples held out for validation (taken after a seeded shuffle). */
  validationSplit?: number;
  /** Use at most this many examples (after shuffling). */
  maxExamples?: number;
}

export interface SyntheticDataConfig extends DataBase {
  source: 'synthetic';
  task: SyntheticTask;
  /** Number of examples to generate. */
  examples?: number;
  /** adding/temporalOrder/parity: length of each sequence — the knob for long-range dependencies. */
  sequenceLength?: number;
  /** blobs: feature count and class count. */
  features?: number;
  classes?: number;
  /** blobs: standard deviation of each cluster (larger = harder). */
  noise?: number;
}

export interface TextOptions {
  /** Keep the most frequent `vocabularySize - 2` words (ids 0 = padding, 1 = out of vocabulary). */
  vocabularySize?: number;
  /** Pad or truncate every text to this many tokens. */
  sequenceLength?: number;
  lowercase?: boolean;
  /** Where to cut texts that are too long, and where to pad short ones. */
  truncating?: 'pre' | 'post';
  padding?: 'pre' | 'post';
}

export interface CsvDataConfig extends DataBase, TextOptions {
  source: 'csv';
  path: string;
  delimiter?: string;
  /** Text column (text classification). Omit it for a numeric table. */
  textColumn?: string;
  labelColumn: string;
  /** Numeric table: the feature columns (default: every column but the label). */
  featureColumns?: string[];
}

export interface JsonlDataConfig extends DataBase, TextOptions {
  source: 'jsonl';
  path: string;
  textColumn?: string;
  labelColumn: string;
  featureColumns?: string[];
}

export interface IdxDataConfig extends DataBase {
  source: 'idx';
  /** IDX file of inputs (e.g. train-images-idx3-ubyte). */
  images: string;
  /** IDX file of integer labels (e.g. train-labels-idx1-ubyte). */
  labels: string;
  /** Divide byte inputs by 255. */
  normalize?: boolean;
  /** Flatten each input to a vector (for an MLP). */
  flatten?: boolean;
}

export type DataConfig = SyntheticDataConfig | CsvDataConfig | JsonlDataConfig | IdxDataConfig;

export type LossName =
  | 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy' | 'binaryCrossentropy'
  | 'meanSquaredError' | 'meanAbsoluteError' | 'huber';

export type OptimizerType = 'sgd' | 'momentum' | 'rmsprop' | 'adam' | 'adagrad';

export interface LearningRateSchedule {
  type: 'constant' | 'step' | 'exponential' | 'cosine';
  /** step: multiply the rate by `factor` every `every` steps. */
  every?: number;
  factor?: number;
  /** exponential: rate × decayRate^(step / decaySteps). */
  decayRate?: number;
  decaySteps?: number;
  /** cosine: decay to `minLearningRate` over `totalSteps` (default: the run's steps). */
  totalSteps?: number;
  minLearningRate?: number;
  /** Linear warm-up from 0 over this many steps (any schedule). */
  warmupSteps?: number;
}

export interface OptimizerConfig {
  type: OptimizerType;
  learningRate?: number;
  /** momentum: the velocity's decay (0.9); rmsprop: optional momentum. */
  momentum?: number;
  nesterov?: boolean;
  /** adam: decay of the first and second moment estimates. */
  beta1?: number;
  beta2?: number;
  /** adam/rmsprop/adagrad: added to the denominator for numerical stability. */
  epsilon?: number;
  /** adam: divide the moments by (1 − βᵗ) so early steps are not biased toward zero. */
  biasCorrection?: boolean;
  /** rmsprop: decay of the squared-gradient average. */
  rho?: number;
  centered?: boolean;
  /** adagrad: starting value of the accumulator. */
  initialAccumulatorValue?: number;
  schedule?: LearningRateSchedule;
}

export type ClippingMode = 'value' | 'norm' | 'globalNorm';

/** Keras' meanings: value = clipvalue (elementwise), norm = clipnorm (each tensor), globalNorm = global_clipnorm. */
export interface ClippingConfig {
  mode: ClippingMode;
  threshold: number;
}

export interface TrainingOptions {
  epochs?: number;
  batchSize?: number;
  /** Average gradients over this many micro-batches before each update (effective batch = batchSize × N). */
  accumulationSteps?: number;
  /** Stop after this many optimizer steps (overrides epochs when reached first). */
  maxSteps?: number;
  shuffle?: boolean;
  /** Evaluate on validation data every N steps as well as at each epoch's end (0 = epoch ends only). */
  validationEvery?: number;
}

/** Thresholds of the diagnosis rules; every one documented in docs/rules.md. */
export interface MonitorThresholds {
  explosionFactor?: number;
  explosionRatio?: number;
  vanishingRatio?: number;
  vanishingNorm?: number;
  tinyGradient?: number;
  deadReluFraction?: number;
  saturationFraction?: number;
  updateRatioLow?: number;
  updateRatioHigh?: number;
  window?: number;
  patience?: number;
}

export interface MonitorOptions {
  /** Compute full per-layer statistics every N steps (the loss and non-finite checks run every step). */
  every?: number;
  histogramBins?: number;
  /** log10|g| range of the histogram: fixed edges so steps can be compared. */
  histogramRange?: [number, number];
  /** What to do when the loss, a gradient or a weight becomes NaN/Inf: stop the run or keep going. */
  onNonFinite?: 'halt' | 'continue';
  thresholds?: MonitorThresholds;
}

export interface TrainingConfig {
  $schema?: string;
  name: string;
  description?: string;
  seed?: number;
  backend?: BackendChoice;
  data: DataConfig;
  model: LayerConfig[];
  loss: LossName;
  optimizer: OptimizerConfig;
  /** One clipping mode, or several applied in order (value, then norm, then globalNorm). */
  clipping?: ClippingConfig | ClippingConfig[] | null;
  training?: TrainingOptions;
  monitor?: MonitorOptions;
}

/** A config with every default filled in: what the engine actually runs. */
export interface ResolvedConfig {
  name: string;
  description?: string;
  seed: number;
  backend: BackendChoice;
  data: DataConfig;
  model: ResolvedLayer[];
  loss: LossName;
  optimizer: Required<Pick<OptimizerConfig, 'type' | 'learningRate'>> & OptimizerConfig;
  clipping: ClippingConfig[];
  training: Required<Omit<TrainingOptions, 'maxSteps'>> & { maxSteps?: number };
  monitor: Required<Omit<MonitorOptions, 'thresholds'>> & { thresholds: Required<MonitorThresholds> };
}

/** A layer config with its display name and its position in the config's `model` array. */
export type ResolvedLayer = LayerConfig & { name: string; index: number };
