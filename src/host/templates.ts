// Templates for "New Training Config": the classic setups of the sources, ready to train or to point at data.
// Plain module (no vscode) so tests can check that every template is a valid config.

export interface ConfigTemplate {
  id: string;
  label: string;
  detail: string;
  fileName: string;
  text: string;
}

const header = (lines: string[]) => lines.map(l => `  // ${l}`).join('\n');

const textTemplate = (id: string, label: string, layer: string, detail: string): ConfigTemplate => ({
  id, label, detail,
  fileName: `${id}.gradmon.json`,
  text: `{
${header([`${label}: a text classifier. Point data.path at a CSV with a text and a label column`, '(or use JSONL: "source": "jsonl"). Paths are relative to this file and must stay in the workspace.'])}
  "name": "${id}",
  "seed": 42,
  "backend": "auto",
  "data": {
    "source": "csv",
    "path": "data/texts.csv",
    "textColumn": "text",
    "labelColumn": "label",
    "vocabularySize": 5000,
    "sequenceLength": 50,
    "validationSplit": 0.1
  },
  "model": [
    { "type": "embedding", "outputDim": 64 },
${layer}
    { "type": "dense", "units": 2, "activation": "softmax" }
  ],
  "loss": "sparseCategoricalCrossentropy",
  "optimizer": { "type": "adam", "learningRate": 0.001 },
  "clipping": { "mode": "globalNorm", "threshold": 1.0 },
  "training": { "epochs": 5, "batchSize": 32 },
  "monitor": { "every": 1, "histogramBins": 64 }
}
`,
});

export const TEMPLATES: ConfigTemplate[] = [
  {
    id: 'mnist-mlp',
    label: 'MNIST MLP (784-128-128-10)',
    detail: 'The multilayer perceptron of the sources on handwritten digits (IDX files)',
    fileName: 'mnist-mlp.gradmon.json',
    text: `{
${header(['The classic MLP on MNIST digits. Get the IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte)', 'into data/mnist/, or run `node scripts/prepare-example-data.js` in the Gradient Monitor repository.'])}
  "name": "mnist-mlp",
  "seed": 42,
  "backend": "auto",
  "data": {
    "source": "idx",
    "images": "data/mnist/train-images-idx3-ubyte",
    "labels": "data/mnist/train-labels-idx1-ubyte",
    "validationSplit": 0.1
  },
  "model": [
    { "type": "dense", "units": 128, "activation": "relu", "kernelInitializer": "heNormal" },
    { "type": "dense", "units": 128, "activation": "relu", "kernelInitializer": "heNormal" },
    { "type": "dense", "units": 10, "activation": "softmax" }
  ],
  "loss": "sparseCategoricalCrossentropy",
  "optimizer": { "type": "sgd", "learningRate": 0.05 },
  "training": { "epochs": 3, "batchSize": 64 },
  "monitor": { "every": 1, "histogramBins": 64 }
}
`,
  },
  textTemplate('text-lstm', 'Text LSTM', '    { "type": "lstm", "units": 64 },', 'Embedding + LSTM: gated memory for long texts'),
  textTemplate('text-gru', 'Text GRU', '    { "type": "gru", "units": 64 },', 'Embedding + GRU: a lighter gated recurrent layer'),
  textTemplate('text-simple-rnn', 'Text SimpleRNN', '    { "type": "simpleRNN", "units": 64 },', 'Embedding + SimpleRNN: watch gradients vanish through time'),
  textTemplate('text-conv1d', 'Text Conv1D', '    { "type": "conv1d", "filters": 64, "kernelSize": 5, "activation": "relu" },\n    { "type": "globalMaxPooling1d" },', 'Embedding + Conv1D n-gram detectors + global max pooling'),
  {
    id: 'long-range-rnn',
    label: 'Long-range RNN task (adding problem)',
    detail: 'Synthetic data, no files needed: the classic test of vanishing/exploding gradients through time',
    fileName: 'adding-rnn.gradmon.json',
    text: `{
${header(['The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked numbers of a long sequence.', 'Raise data.sequenceLength and watch the recurrent layer\'s gradient; try "type": "lstm".', 'Predicting 1.0 always gives MSE ≈ 0.167: learning means going below it.'])}
  "name": "adding-rnn",
  "seed": 1,
  "data": { "source": "synthetic", "task": "adding", "sequenceLength": 50, "examples": 4000 },
  "model": [
    { "type": "simpleRNN", "units": 32 },
    { "type": "dense", "units": 1 }
  ],
  "loss": "meanSquaredError",
  "optimizer": { "type": "adam", "learningRate": 0.002 },
  "clipping": { "mode": "globalNorm", "threshold": 1.0 },
  "training": { "epochs": 4, "batchSize": 32 }
}
`,
  },
  {
    id: 'exploding-mlp',
    label: 'Exploding gradients demo (MLP, large learning rate)',
    detail: 'Synthetic data: SGD with a learning rate far too large — see the explosion, NaN, and the fix',
    fileName: 'exploding-mlp.gradmon.json',
    text: `{
${header(['A ReLU MLP trained with plain SGD at a learning rate far too large: the gradients explode within a', 'few steps and the run ends in NaN. Train it, look at the findings, apply the suggested fix, train again.'])}
  "name": "exploding-mlp",
  "seed": 3,
  "data": { "source": "synthetic", "task": "blobs", "examples": 2000, "features": 20, "noise": 2 },
  "model": [
    { "type": "dense", "units": 64, "activation": "relu" },
    { "type": "dense", "units": 64, "activation": "relu" },
    { "type": "dense", "units": 64, "activation": "relu" },
    { "type": "dense", "units": 3, "activation": "softmax" }
  ],
  "loss": "sparseCategoricalCrossentropy",
  "optimizer": { "type": "sgd", "learningRate": 1.5 },
  "training": { "epochs": 5, "batchSize": 32 }
}
`,
  },
];
