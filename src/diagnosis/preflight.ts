// Pre-flight checks: configurations the literature flags as prone to exploding or vanishing gradients,
// found before any training. Each is a finding (with fixes) pointing at its JSON path.

import type { ConfigDocument, ConfigProblem } from '../config/document';
import { inputSpec } from '../config/shapes';
import type { ResolvedConfig } from '../config/types';
import type { Finding } from '../protocol';
import {
  accumulate, addNormalization, clipByGlobalNorm, compact, gatedRecurrent, keepOneClipping, orthogonalRecurrent,
  saturatingLayers, scaleLearningRate, useAdam, useRelu, useSelu,
} from './fixes';
import { DOCS_BASE } from './rules';

/** Saturating layers stacked this deep without normalization: each multiplies the gradient by ≤ 0.25 (σ') — 0.25³ ≈ 0.016. */
const DEEP_SATURATING_STACK = 3;
/** Sequence length from which a SimpleRNN's gradient through time is at risk (Bengio et al. 1994 show decay within tens of steps). */
const LONG_SEQUENCE = 30;
/** SGD steps this large without clipping often diverge at the first steep region (the sources' cliff example). */
const LARGE_SGD_LR = 0.1;
/** Adam above this rarely trains stably. */
const LARGE_ADAM_LR = 0.01;

function finding(id: string, severity: Finding['severity'], jsonPath: Finding['jsonPath'], title: string, explanation: string, fixes: Finding['fixes'], evidence: Finding['evidence'] = {}): Finding {
  return { id: `preflight/${id}`, rule: `preflight/${id}`, kind: 'preflight', severity, title, explanation, jsonPath, fixes, evidence, docs: `${DOCS_BASE}#preflight-${id}` };
}

export function preflightFindings(config: ResolvedConfig): Finding[] {
  const out: Finding[] = [];
  const model = config.model;
  const hasNorm = model.some(l => l.type === 'batchNormalization' || l.type === 'layerNormalization');
  const clipped = config.clipping.length > 0;
  const seqLen = inputSpec(config.data).kind !== 'vector' ? inputSpec(config.data).shape[0] : null;

  const saturating = saturatingLayers(config);
  if (saturating.length >= DEEP_SATURATING_STACK && !hasNorm) {
    out.push(finding('deep-saturating', 'warning', ['model', saturating[0].index, 'activation'],
      `${saturating.length} sigmoid/tanh layers without normalization: gradients will likely vanish`,
      `Backpropagation multiplies the gradient by each layer's activation derivative — at most 0.25 for sigmoid — so ${saturating.length} such layers shrink it by up to ${(0.25 ** saturating.length).toExponential(1)} before it reaches ${saturating[0].name}.`,
      compact([useRelu(config), addNormalization(config, 'batchNormalization', saturating.map(l => l.index)), useSelu(config)]),
      { layers: saturating.length }));
  }

  for (const l of model) {
    if (l.type === 'simpleRNN' && seqLen !== null && seqLen >= LONG_SEQUENCE) {
      out.push(finding('long-simple-rnn', clipped ? 'info' : 'warning', ['model', l.index, 'type'],
        `SimpleRNN over ${seqLen} steps${clipped ? '' : ' without clipping'}: gradients through time tend to vanish or explode`,
        `The gradient reaching step 1 is multiplied by the recurrent Jacobian ${seqLen} times; unless its largest singular value stays at 1 it shrinks or grows exponentially (Bengio et al. 1994; Pascanu et al. 2013).`,
        compact([gatedRecurrent(config, l.index), clipped ? undefined : clipByGlobalNorm(1, 'a common starting point'), orthogonalRecurrent(config, l.index)]),
        { sequenceLength: seqLen }));
    }
    if ((l.type === 'simpleRNN' || l.type === 'lstm' || l.type === 'gru') && l.recurrentInitializer && typeof l.recurrentInitializer === 'object'
      && (l.recurrentInitializer.stddev ?? 0) * Math.sqrt(l.units) > 1.5) {
      const s = l.recurrentInitializer.stddev!;
      out.push(finding('large-recurrent-init', 'warning', ['model', l.index, 'recurrentInitializer'],
        `${l.name}'s recurrent weights start large (stddev ${s}, spectral radius ≈ ${(s * Math.sqrt(l.units)).toFixed(1)})`,
        'A random recurrent matrix with stddev σ over n units has spectral radius ≈ σ√n; above 1 the gradient through time grows exponentially with the sequence length.',
        compact([orthogonalRecurrent(config, l.index), clipped ? undefined : clipByGlobalNorm(1, 'a common starting point')]),
        { stddev: s, spectralRadius: Number((s * Math.sqrt(l.units)).toFixed(2)) }));
    }
    if ((l.type === 'dense' || l.type === 'conv1d') && (l.kernelInitializer === 'zeros' || l.kernelInitializer === 'ones')) {
      out.push(finding('constant-init', 'warning', ['model', l.index, 'kernelInitializer'],
        `${l.name} starts with every weight equal (${l.kernelInitializer})`,
        'Units with identical weights receive identical gradients and stay identical: the layer behaves like a single unit.',
        [{ id: 'glorot-init', title: `Initialize ${l.name} with glorotUniform`, reason: 'Random weights break the symmetry between units.', edits: [{ path: ['model', l.index, 'kernelInitializer'], value: 'glorotUniform' }] }]));
    }
  }

  const opt = config.optimizer;
  if ((opt.type === 'sgd' || opt.type === 'momentum') && opt.learningRate >= LARGE_SGD_LR && !clipped) {
    out.push(finding('large-sgd-lr', 'warning', ['optimizer', 'learningRate'],
      `${opt.type === 'sgd' ? 'SGD' : 'Momentum'} with learning rate ${opt.learningRate} and no clipping`,
      'A plain gradient step this large jumps far when it meets a steep wall of the loss surface (the "cliff" of Pascanu et al. 2013); the next gradients explode.',
      // The rate is what is wrong: lowering it comes first; clipping bounds the damage if it is kept.
      compact([scaleLearningRate(config, 0.1), clipByGlobalNorm(1, 'a common starting point'), useAdam(config)]),
      { learningRate: opt.learningRate }));
  }
  if (opt.type === 'adam' && opt.learningRate > LARGE_ADAM_LR) {
    out.push(finding('large-adam-lr', 'warning', ['optimizer', 'learningRate'],
      `Adam with learning rate ${opt.learningRate} (the usual range is 1e-4 to 1e-3)`,
      'Adam\'s step per weight is about the learning rate itself; at this size updates overshoot and training oscillates or diverges.',
      [scaleLearningRate(config, 0.1)], { learningRate: opt.learningRate }));
  }
  if (opt.type === 'adam' && opt.biasCorrection === false) {
    out.push(finding('no-bias-correction', 'info', ['optimizer', 'biasCorrection'],
      'Adam without bias correction',
      'The moment estimates start at zero; without dividing by (1 − βᵗ) the first steps are much smaller than intended (Kingma & Ba 2015, section 3).',
      [{ id: 'bias-correction', title: 'Turn on bias correction', reason: 'Unbiased moment estimates from the first step.', edits: [{ path: ['optimizer', 'biasCorrection'], value: true }] }]));
  }
  if (config.clipping.length > 1) {
    out.push(finding('multiple-clipping', 'warning', ['clipping'],
      `${config.clipping.length} clipping modes at once (${config.clipping.map(c => c.mode).join(', ')})`,
      'They apply in order value → norm → globalNorm; stacked, it is hard to tell which one acts, and value clipping changes the update\'s direction.',
      compact([keepOneClipping(config)])));
  }
  if (config.training.batchSize < 4 && model.some(l => l.type === 'batchNormalization')) {
    const bn = model.find(l => l.type === 'batchNormalization')!;
    out.push(finding('tiny-batch-bn', 'warning', ['training', 'batchSize'],
      `Batch normalization with batches of ${config.training.batchSize}`,
      'Mean and variance over so few examples are noise; the normalization itself becomes unstable.',
      compact([
        { id: 'bigger-batch', title: 'Use batches of 32', reason: 'Stable batch statistics.', edits: [{ path: ['training', 'batchSize'], value: 32 }] },
        addNormalization(config, 'layerNormalization', []),
        accumulate(config),
      ]), { batchSize: config.training.batchSize, layer: bn.name }));
  }
  const recurrent = model.filter(l => l.type === 'lstm' || l.type === 'gru');
  if (recurrent.length && !clipped && seqLen !== null && seqLen >= 100) {
    out.push(finding('long-rnn-no-clip', 'info', ['optimizer'],
      `Recurrent model over ${seqLen} steps without gradient clipping`,
      'Even gated recurrent layers meet occasional gradient spikes on long sequences; a global-norm clip is cheap insurance.',
      [clipByGlobalNorm(1, 'a common starting point')], { sequenceLength: seqLen }));
  }
  return out;
}

/** Pre-flight findings as positioned config problems (for `gradmon check` and editor diagnostics). */
export function preflightChecks(doc: ConfigDocument, config: ResolvedConfig): ConfigProblem[] {
  return preflightFindings(config).map(f => doc.problem(f.rule, f.severity, f.jsonPath, `${f.title}. ${f.explanation}${f.fixes.length ? ` Fix: ${f.fixes[0].title}.` : ''}`));
}
