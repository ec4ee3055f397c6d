// The config contract: syntax, schema and semantic problems come back positioned with a message that says
// what to do; valid configs normalize with their defaults; the generated JSON Schema is current.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { analyzeConfig, analyzeConfigFile } from '../../src/config';
import { DEFAULT_LEARNING_RATE, DEFAULTS } from '../../src/config/normalize';
import { CONFIG_SCHEMA } from '../../src/config/schema';
import { preflightFindings } from '../../src/diagnosis/preflight';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const VALID = `{
  "name": "spam-lstm",
  "seed": 7,
  "backend": "auto",                       // auto | tensorflow | wasm | cpu
  "data": { "source": "csv", "path": "data/spam.csv", "textColumn": "text", "labelColumn": "label",
            "vocabularySize": 5000, "sequenceLength": 100, "validationSplit": 0.1 },
  "model": [
    { "type": "embedding", "outputDim": 64 },
    { "type": "lstm", "units": 64 },
    { "type": "dense", "units": 2, "activation": "softmax" }
  ],
  "loss": "sparseCategoricalCrossentropy",
  "optimizer": { "type": "sgd", "learningRate": 0.5 },
  "clipping": { "mode": "globalNorm", "threshold": 1.0 },
  "training": { "epochs": 5, "batchSize": 32, "accumulationSteps": 1 },
  "monitor": { "every": 1, "histogramBins": 64 }
}`;

function problemsOf(text: string) {
  const r = analyzeConfig(text, 'test.gradmon.json', { memoryBudgetBytes: 4 * 2 ** 30 });
  return r.problems.map(p => {
    const pos = r.doc.position(p.start);
    return { ...p, line: pos.line + 1, col: pos.character + 1, text: text.slice(p.start, p.end) };
  });
}

function withChange(from: string, to: string): string {
  assert.ok(VALID.includes(from), `fixture contains ${from}`);
  return VALID.replace(from, to);
}

describe('config analysis', () => {
  it('accepts the issue example with comments and fills defaults', () => {
    const r = analyzeConfig(VALID, 'x.gradmon.json');
    assert.deepEqual(r.problems, []);
    assert.ok(r.config);
    assert.equal(r.config.model[1].name, 'lstm_1');
    assert.equal(r.config.model[2].index, 2);
    assert.deepEqual(r.config.clipping, [{ mode: 'globalNorm', threshold: 1 }]);
    assert.equal(r.config.monitor.onNonFinite, 'halt');
    assert.equal(r.config.monitor.thresholds.explosionRatio, 70);
    assert.equal(r.config.training.shuffle, true);
  });

  it('defaults the learning rate per optimizer', () => {
    const r = analyzeConfig(withChange('{ "type": "sgd", "learningRate": 0.5 }', '{ "type": "adam" }'), 'x');
    assert.equal(r.config?.optimizer.learningRate, DEFAULT_LEARNING_RATE.adam);
  });

  it('points a quoted number at its value and says to drop the quotes', () => {
    const ps = problemsOf(withChange('"units": 64 }', '"units": "64" }'));
    assert.equal(ps.length, 1);
    assert.equal(ps[0].code, 'schema/type');
    assert.equal(ps[0].line, 9);
    assert.equal(ps[0].text, '"64"');
    assert.match(ps[0].message, /model\[1\]\.units.*Write 64 without quotes/);
  });

  it('suggests the closest name for a misspelled key, layer type or enum value', () => {
    const key = problemsOf(withChange('"units": 64 }', '"unit": 64 }'));
    assert.ok(key.some(p => p.code === 'schema/unknown-key' && /Did you mean "units"/.test(p.message) && p.text === '"unit"'));
    assert.ok(key.some(p => p.code === 'schema/required' && /missing "units"/.test(p.message)));
    const type = problemsOf(withChange('"type": "lstm"', '"type": "lstmm"'));
    assert.equal(type.length, 1);
    assert.match(type[0].message, /Unknown type "lstmm". Did you mean "lstm"\?/);
    const act = problemsOf(withChange('"softmax"', '"sofmax"'));
    assert.match(act[0].message, /Did you mean "softmax"/);
  });

  it('reports ranges with the allowed bound and why', () => {
    const ps = problemsOf(withChange('"validationSplit": 0.1', '"validationSplit": 1.5'));
    assert.equal(ps.length, 1);
    assert.match(ps[0].message, /validationSplit" must be < 1, not 1.5/);
  });

  it('reports missing required keys at the object that lacks them', () => {
    const ps = problemsOf('{ "name": "x", "data": { "source": "synthetic", "task": "adding" }, "model": [], "loss": "meanSquaredError" }');
    assert.ok(ps.some(p => /missing "optimizer"/.test(p.message)));
    assert.ok(ps.some(p => /"model" needs at least 1 item/.test(p.message)));
  });

  it('reports syntax errors, truncation and duplicate keys with positions', () => {
    const truncated = problemsOf(VALID.slice(0, 200));
    assert.ok(truncated.length > 0);
    assert.ok(truncated.every(p => p.code.startsWith('syntax/')));
    const dup = problemsOf(withChange('"seed": 7,', '"seed": 7, "seed": 8,'));
    assert.equal(dup.length, 1);
    assert.equal(dup[0].code, 'syntax/duplicate-key');
    assert.match(dup[0].message, /Duplicate key "seed" \(also on line 3\)/);
    assert.equal(problemsOf('')[0].code, 'syntax/empty');
    assert.match(problemsOf('[1, 2]')[0].message, /must be a JSON object/);
  });

  it('checks that layers fit the data and each other', () => {
    const emb = problemsOf(`{ "name": "a", "data": { "source": "synthetic", "task": "adding" },
      "model": [ { "type": "embedding", "outputDim": 8 }, { "type": "lstm", "units": 8 }, { "type": "dense", "units": 1 } ],
      "loss": "meanSquaredError", "optimizer": { "type": "adam" } }`);
    assert.equal(emb.length, 1);
    assert.match(emb[0].message, /embedding expects token ids/);
    const stacked = problemsOf(`{ "name": "a", "data": { "source": "synthetic", "task": "adding" },
      "model": [ { "type": "lstm", "units": 8 }, { "type": "lstm", "units": 8 }, { "type": "dense", "units": 1 } ],
      "loss": "meanSquaredError", "optimizer": { "type": "adam" } }`);
    assert.equal(stacked.length, 1);
    assert.match(stacked[0].message, /Set "returnSequences": true on the lstm before it/);
    assert.deepEqual(stacked[0].path, ['model', 1, 'type']);
    const text = problemsOf(withChange('{ "type": "embedding", "outputDim": 64 },', ''));
    assert.match(text[0].message, /start the model with an embedding layer/);
  });

  it('checks the loss against the task and the last activation', () => {
    const act = problemsOf(withChange('"units": 2, "activation": "softmax"', '"units": 2, "activation": "relu"'));
    assert.equal(act.length, 1);
    assert.equal(act[0].code, 'semantic/loss-activation');
    assert.equal(act[0].text, '"relu"');
    const classes = problemsOf(`{ "name": "a", "data": { "source": "synthetic", "task": "temporalOrder" },
      "model": [ { "type": "lstm", "units": 8 }, { "type": "dense", "units": 3, "activation": "softmax" } ],
      "loss": "sparseCategoricalCrossentropy", "optimizer": { "type": "adam" } }`);
    assert.match(classes[0].message, /4 classes but the last layer has 3 units. Set "units": 4/);
    const regression = problemsOf(`{ "name": "a", "data": { "source": "synthetic", "task": "adding" },
      "model": [ { "type": "lstm", "units": 8 }, { "type": "dense", "units": 1 } ],
      "loss": "sparseCategoricalCrossentropy", "optimizer": { "type": "adam" } }`);
    assert.ok(regression.some(p => p.code === 'semantic/loss-task'));
  });

  it('refuses dilated convolutions, which TensorFlow.js cannot differentiate', () => {
    const ps = problemsOf(`{ "name": "a", "data": { "source": "synthetic", "task": "temporalOrder" },
      "model": [ { "type": "conv1d", "filters": 8, "kernelSize": 3, "dilationRate": 2 }, { "type": "globalMaxPooling1d" }, { "type": "dense", "units": 4, "activation": "softmax" } ],
      "loss": "sparseCategoricalCrossentropy", "optimizer": { "type": "adam" } }`);
    assert.equal(ps.length, 1);
    assert.deepEqual(ps[0].path, ['model', 0, 'dilationRate']);
    assert.match(ps[0].message, /cannot train dilated convolutions/);
  });

  it('refuses models that cannot fit in memory before building them', () => {
    const ps = problemsOf(`{ "name": "a", "data": { "source": "synthetic", "task": "blobs", "features": 100000 },
      "model": [ { "type": "dense", "units": 1000000 }, { "type": "dense", "units": 3, "activation": "softmax" } ],
      "loss": "sparseCategoricalCrossentropy", "optimizer": { "type": "adam" } }`);
    assert.equal(ps.length, 1);
    assert.equal(ps[0].code, 'semantic/too-large');
    assert.match(ps[0].message, /100,0\d\d,\d{3},\d{3} parameters.*more than the 4\.0 GB available/);
  });

  it('reads files and reports I/O problems instead of throwing', () => {
    const missing = analyzeConfigFile('/nonexistent/x.gradmon.json');
    assert.equal(missing.problems[0].code, 'io/read');
    assert.match(missing.problems[0].message, /not found/);
    const dir = analyzeConfigFile(ROOT);
    assert.match(dir.problems[0].message, /is a directory/);
  });

  it('every schema property has a description and examples or an enum/const', () => {
    const missing: string[] = [];
    const walk = (s: typeof CONFIG_SCHEMA, where: string) => {
      for (const [k, p] of Object.entries(s.properties ?? {})) {
        if (!p.description) missing.push(`${where}.${k}: description`);
        if (!p.examples && !p.enum && p.const === undefined) missing.push(`${where}.${k}: examples`);
        walk(p, `${where}.${k}`);
      }
      for (const b of s.allOf ?? []) if (b.then) walk(b.then, `${where}(${JSON.stringify(b.if?.properties)})`);
      for (const o of s.oneOf ?? []) walk(o, where);
      if (s.items && !Array.isArray(s.items)) walk(s.items, `${where}[]`);
    };
    walk(CONFIG_SCHEMA, '');
    assert.deepEqual(missing, []);
  });

  it('schema defaults agree with the engine defaults', () => {
    const props = CONFIG_SCHEMA.properties!;
    assert.equal(props.seed.default, DEFAULTS.seed);
    assert.equal(props.backend.default, DEFAULTS.backend);
    for (const [k, v] of Object.entries(DEFAULTS.training)) assert.equal(props.training.properties![k].default, v, `training.${k}`);
    for (const [k, v] of Object.entries(DEFAULTS.monitor)) assert.deepEqual(props.monitor.properties![k].default, v, `monitor.${k}`);
  });

  it('the committed schemas/gradmon.schema.json is generated from src/config/schema.ts', () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'gradmon.schema.json'), 'utf8'));
    assert.deepEqual(committed, JSON.parse(JSON.stringify(CONFIG_SCHEMA)), 'run `npm run build` to regenerate it');
  });
});

describe('pre-flight checks', () => {
  const config = (text: string) => {
    const r = analyzeConfig(text, 'x');
    assert.ok(r.config, JSON.stringify(r.problems));
    return r.config;
  };

  it('flags large-learning-rate SGD without clipping, lowering the rate first and clipping next', () => {
    const fs1 = preflightFindings(config(withChange('"clipping": { "mode": "globalNorm", "threshold": 1.0 },', '')));
    const f = fs1.find(x => x.rule === 'preflight/large-sgd-lr');
    assert.ok(f);
    assert.deepEqual(f.jsonPath, ['optimizer', 'learningRate']);
    assert.deepEqual(f.fixes.map(x => x.id), ['lower-learning-rate', 'clip-global-norm', 'use-adam']);
    assert.deepEqual(f.fixes[0].edits, [{ path: ['optimizer', 'learningRate'], value: 0.05 }]);
    assert.ok(!preflightFindings(config(VALID)).some(x => x.rule === 'preflight/large-sgd-lr'));
  });

  it('flags deep sigmoid stacks and long SimpleRNNs, not healthy models', () => {
    const deep = config(`{ "name": "a", "data": { "source": "synthetic", "task": "blobs" },
      "model": [ { "type": "dense", "units": 32, "activation": "sigmoid" }, { "type": "dense", "units": 32, "activation": "sigmoid" },
                 { "type": "dense", "units": 32, "activation": "sigmoid" }, { "type": "dense", "units": 3, "activation": "softmax" } ],
      "loss": "sparseCategoricalCrossentropy", "optimizer": { "type": "adam" } }`);
    const f = preflightFindings(deep).find(x => x.rule === 'preflight/deep-saturating');
    assert.ok(f);
    assert.equal(f.fixes[0].id, 'use-relu');
    assert.equal(f.fixes[0].edits.filter(e => e.path[2] === 'activation').length, 3);
    const rnn = config(`{ "name": "a", "data": { "source": "synthetic", "task": "adding", "sequenceLength": 100 },
      "model": [ { "type": "simpleRNN", "units": 16 }, { "type": "dense", "units": 1 } ],
      "loss": "meanSquaredError", "optimizer": { "type": "adam" } }`);
    const r = preflightFindings(rnn).find(x => x.rule === 'preflight/long-simple-rnn');
    assert.ok(r);
    assert.equal(r.severity, 'warning');
    assert.deepEqual(r.fixes[0].edits, [{ path: ['model', 0, 'type'], value: 'lstm' }]);
    const healthy = config(`{ "name": "a", "data": { "source": "synthetic", "task": "blobs" },
      "model": [ { "type": "dense", "units": 32, "activation": "relu" }, { "type": "dense", "units": 3, "activation": "softmax" } ],
      "loss": "sparseCategoricalCrossentropy", "optimizer": { "type": "adam" } }`);
    assert.deepEqual(preflightFindings(healthy), []);
  });

  it('flags more than one clipping mode', () => {
    const c = config(withChange('"clipping": { "mode": "globalNorm", "threshold": 1.0 }', '"clipping": [{ "mode": "value", "threshold": 0.5 }, { "mode": "globalNorm", "threshold": 1.0 }]'));
    const f = preflightFindings(c).find(x => x.rule === 'preflight/multiple-clipping');
    assert.ok(f);
    assert.deepEqual(f.fixes[0].edits[0].value, { mode: 'globalNorm', threshold: 1 });
  });
});
