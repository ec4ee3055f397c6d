// Checks a schema can't express: layers that don't fit the data or each other, a loss that doesn't match
// the last activation, a model too large for memory, clashing names. Each problem points at the key.

import type { ConfigDocument, ConfigProblem } from './document';
import { describeShape, inferShapes, layerActivation } from './shapes';
import type { InitializerConfig, LossName, ResolvedConfig } from './types';

const BYTES_PER_FLOAT = 4;
/**
 * Copies of every parameter alive during training: weights, gradients, up to two optimizer slots (Adam's
 * moments) and the accumulated gradient of gradient accumulation.
 */
const PARAMETER_COPIES = 5;

export interface SemanticOptions {
  /** Bytes a training run may use; defaults to half the machine's memory (capped at 16 GiB). */
  memoryBudgetBytes?: number;
}

export function defaultMemoryBudget(): number {
  // Imported lazily so the module stays usable where `os` is absent (the webview bundle).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const total: number = require('os').totalmem();
  return Math.min(total / 2, 16 * 2 ** 30);
}

const CROSS_ENTROPY: LossName[] = ['sparseCategoricalCrossentropy', 'categoricalCrossentropy'];

export function semanticProblems(doc: ConfigDocument, config: ResolvedConfig, options: SemanticOptions = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (path: (string | number)[], message: string, code: string, severity: 'error' | 'warning' = 'error') =>
    problems.push(doc.problem(code, severity, path, message));

  // Names must be unique: findings and charts are keyed by them.
  const seen = new Map<string, number>();
  config.model.forEach((layer, i) => {
    const prev = seen.get(layer.name);
    if (prev !== undefined) at(doc.node(['model', i, 'name']) ? ['model', i, 'name'] : ['model', i], `Layer name "${layer.name}" is already used by model[${prev}]. Give each layer a unique name.`, 'semantic/duplicate-name');
    seen.set(layer.name, i);
  });

  // TensorFlow.js 4.22 has no gradient for dilated convolutions (tfjs-core's Conv2D gradient refuses them),
  // and no causal padding.
  config.model.forEach((layer, i) => {
    if (layer.type === 'conv1d' && (layer.dilationRate ?? 1) > 1) {
      at(['model', i, 'dilationRate'], `TensorFlow.js cannot train dilated convolutions (no gradient for dilationRate > 1). Use "dilationRate": 1 and a larger kernelSize, or stack conv1d layers for a wider receptive field.`, 'semantic/unsupported');
    }
    // tfjs-layers 4.22 sizes a causal conv1d as "valid" and then refuses to run it (conv1dWithBias: not implemented).
    if (layer.type === 'conv1d' && layer.padding === 'causal') {
      at(['model', i, 'padding'], `TensorFlow.js cannot run causal convolutions (conv1d "padding": "causal" is not implemented in tfjs-layers). Use "padding": "same", or "valid".`, 'semantic/unsupported');
    }
  });
  dataOptionProblems(config, at);

  // An orthogonal initializer needs a matrix; a bias is a vector (tfjs fails deep in the build: "Shape must be at least 2D").
  config.model.forEach((layer, i) => {
    const bias = (layer as { biasInitializer?: InitializerConfig }).biasInitializer;
    if ((typeof bias === 'string' ? bias : bias?.type) === 'orthogonal') {
      at(['model', i, 'biasInitializer'], 'An orthogonal initializer needs a weight matrix, but a bias is a vector. Use "zeros" (the default) or "ones".', 'semantic/initializer');
    }
  });
  const { input, layers } = inferShapes(config);
  layers.forEach((l, i) => {
    if (l.problem) at(['model', i, ...(l.problem.key ? [l.problem.key] : [])], l.problem.message, 'semantic/shape');
  });
  if (layers.some(l => l.problem)) return problems;

  // Memory: refuse what cannot fit before anything is allocated (run.ts checks again once the data has
  // given the widths a config leaves open: csv/jsonl columns, idx images).
  const memory = memoryProblem(config, options);
  if (memory) at(memory.path, memory.message, 'semantic/too-large');

  // The output must match the task.
  const lastIndex = config.model.length - 1;
  const last = config.model[lastIndex];
  const outShape = layers[lastIndex].output;
  const lastActivation = layerActivation(last) ?? 'linear';
  const lastUnits = outShape[outShape.length - 1];
  if (outShape.length !== 1) {
    at(['model', lastIndex], `The model's output is ${describeShape(outShape)} per example, but the loss needs one vector per example. Add a globalMaxPooling1d or flatten layer, or set "returnSequences": false on the last recurrent layer.`, 'semantic/output-rank');
    return problems;
  }

  const loss = config.loss;
  if (CROSS_ENTROPY.includes(loss)) {
    if (input.task === 'regression') {
      at(['loss'], `${loss} is for classification, but the ${dataName(config)} task is regression (a number per example). Use "meanSquaredError".`, 'semantic/loss-task');
    }
    if (lastActivation !== 'softmax' && lastActivation !== 'linear') {
      at(lastActivationPath(config, lastIndex), `${loss} expects class probabilities: the last layer's activation should be "softmax" (or "linear" for logits), not "${lastActivation}".`, 'semantic/loss-activation');
    }
    if (input.classes !== null && lastUnits !== null && lastUnits !== input.classes) {
      at(['model', lastIndex, 'units'], `The data has ${input.classes} classes but the last layer has ${lastUnits} units. Set "units": ${input.classes}.`, 'semantic/output-size');
    }
    if (lastUnits === 1) {
      at(['model', lastIndex, 'units'], `${loss} with a single output unit cannot learn (softmax over one unit is always 1). Use one unit per class, or "binaryCrossentropy" with a sigmoid unit for two classes.`, 'semantic/output-size');
    }
  } else if (loss === 'binaryCrossentropy') {
    if (input.task === 'regression') at(['loss'], `binaryCrossentropy is for two-class problems, but the ${dataName(config)} task is regression. Use "meanSquaredError".`, 'semantic/loss-task');
    if (input.classes !== null && input.classes !== 2) at(['loss'], `binaryCrossentropy needs two classes; the data has ${input.classes}. Use "sparseCategoricalCrossentropy" with softmax.`, 'semantic/loss-task');
    if (lastUnits !== null && lastUnits !== 1) at(['model', lastIndex, 'units'], `binaryCrossentropy expects one output unit (the probability of the positive class); the last layer has ${lastUnits}. Set "units": 1 with "activation": "sigmoid".`, 'semantic/output-size');
    if (lastActivation !== 'sigmoid' && lastActivation !== 'linear') at(lastActivationPath(config, lastIndex), `binaryCrossentropy expects a probability: the last activation should be "sigmoid" (or "linear" for logits), not "${lastActivation}".`, 'semantic/loss-activation');
  } else {
    if (input.task === 'classification') {
      at(['loss'], `${loss} is a regression loss but the data is classification (${input.classes ?? 'several'} classes). Use "sparseCategoricalCrossentropy" with a softmax output.`, 'semantic/loss-task', 'warning');
    }
    if (input.targetSize !== undefined && lastUnits !== null && lastUnits !== input.targetSize) {
      at(['model', lastIndex, 'units'], `The ${dataName(config)} task has ${input.targetSize} target value${input.targetSize === 1 ? '' : 's'} per example but the last layer has ${lastUnits} units. Set "units": ${input.targetSize}.`, 'semantic/output-size');
    }
    if (lastActivation === 'softmax') at(lastActivationPath(config, lastIndex), `softmax squeezes outputs into probabilities that sum to 1, which a regression loss cannot fit. Use "linear".`, 'semantic/loss-activation');
  }

  const schedule = config.optimizer.schedule;
  if (schedule?.type === 'step' && schedule.factor !== undefined && schedule.factor > 1) {
    at(['optimizer', 'schedule', 'factor'], `A step schedule factor of ${schedule.factor} makes the learning rate grow; use a value below 1 (e.g. 0.1).`, 'semantic/schedule', 'warning');
  }
  return problems;
}

/**
 * Data options the loader would refuse, reported where the editor shows them instead of at the first run
 * (the loader keeps its own checks: `gradmon train` may be given a config no editor has seen).
 */
function dataOptionProblems(config: ResolvedConfig, at: (path: (string | number)[], message: string, code: string) => void): void {
  const d = config.data;
  const code = 'semantic/data-options';
  if (d.source === 'idx') {
    if (d.images === d.labels) at(['data', 'labels'], `data.images and data.labels are the same file, "${d.labels}"; labels come in their own file (e.g. train-labels-idx1-ubyte).`, code);
    return;
  }
  if (d.source !== 'csv' && d.source !== 'jsonl') return;
  if (d.source === 'csv' && d.delimiter !== undefined && ['"', '\n', '\r'].includes(d.delimiter)) {
    at(['data', 'delimiter'], `data.delimiter cannot be a quote or a line break: CSV uses those to quote fields and end rows. Use ",", ";" or "\\t".`, code);
  } else if (d.source === 'csv' && d.delimiter !== undefined && d.delimiter.length !== 1) {
    // One character to the schema, but two UTF-16 units (an emoji): the parser compares single units.
    at(['data', 'delimiter'], `data.delimiter must be a single plain character such as ",", ";" or "\\t".`, code);
  }
  if (d.textColumn !== undefined && d.featureColumns !== undefined) {
    at(['data', 'featureColumns'], 'Set either "textColumn" (text classification) or "featureColumns" (a numeric table), not both.', code);
  }
  if (d.textColumn !== undefined && d.textColumn === d.labelColumn) {
    at(['data', 'textColumn'], `"textColumn" and "labelColumn" are both "${d.labelColumn}": the text cannot also be its label.`, code);
  }
  d.featureColumns?.forEach((c, i) => {
    if (c === d.labelColumn) at(['data', 'featureColumns', i], `"featureColumns" includes the label column "${c}": the model would see the answer. Remove it.`, code);
    else if (d.featureColumns!.indexOf(c) !== i) at(['data', 'featureColumns', i], `"${c}" is listed twice in "featureColumns".`, code);
  });
}

/** A model too large for the memory budget: the layer to point at and what to say. */
export interface MemoryProblem { path: (string | number)[]; message: string }

/**
 * Estimated training memory (parameters with their gradient and optimizer copies, plus activations kept for
 * backpropagation) against the budget. `inputShape`: one example's shape from the loaded data, for the
 * sources whose width the config does not say (statically those count as width 1, an underestimate).
 */
export function memoryProblem(config: ResolvedConfig, options: SemanticOptions = {}, inputShape?: number[]): MemoryProblem | undefined {
  const { input, layers } = inferShapes(config, inputShape);
  if (layers.some(l => l.problem)) return undefined;
  const params = layers.reduce((a, l) => a + l.params, 0);
  const batch = config.training.batchSize;
  let activationFloats = 0;
  config.model.forEach((layer, i) => {
    const out = layers[i].output.reduce<number>((a, d) => a * (d ?? 1), 1);
    // Recurrent layers keep every step's gate activations for backpropagation through time.
    const steps = (layer.type === 'lstm' || layer.type === 'gru' || layer.type === 'simpleRNN') ? (i === 0 ? input.shape[0] : layers[i - 1].output[0]) ?? 1 : 1;
    const gates = layer.type === 'lstm' ? 6 : layer.type === 'gru' ? 5 : layer.type === 'simpleRNN' ? 2 : 2;
    activationFloats += batch * out * gates * (steps as number);
  });
  const bytes = (params * PARAMETER_COPIES + activationFloats) * BYTES_PER_FLOAT;
  const budget = options.memoryBudgetBytes ?? defaultMemoryBudget();
  if (Number.isFinite(bytes) && bytes <= budget) return undefined;
  const largest = layers.reduce((best, l, i) => (l.params > layers[best].params ? i : best), 0);
  const data = inputShape ? `, for the data's examples of ${describeShape(inputShape)}` : '';
  return {
    path: ['model', largest],
    message: `This model needs about ${formatBytes(bytes)} to train (${params.toLocaleString('en-US')} parameters, the largest in ${config.model[largest].name}; batch ${batch}${data}), more than the ${formatBytes(budget)} available. Use fewer units, a smaller vocabulary or a smaller batch${inputShape ? ', or fewer input features' : ''}.`,
  };
}

function dataName(config: ResolvedConfig): string {
  return config.data.source === 'synthetic' ? `synthetic "${config.data.task}"` : config.data.source;
}

function lastActivationPath(config: ResolvedConfig, index: number): (string | number)[] {
  const layer = config.model[index];
  return 'activation' in layer && layer.activation !== undefined ? ['model', index, 'activation'] : ['model', index];
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'an unbounded amount of memory';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
  return `${bytes < 10 ? bytes.toFixed(1) : Math.round(bytes)} ${units[i]}`;
}
