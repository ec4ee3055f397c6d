// Numerical gradient checking (the sources' "gradient checking"): compares the autograd gradient of the
// config's model with central finite differences (L(w+ε) − L(w−ε)) / 2ε on a few weights per variable.
// In float32 the difference quotient is only good to ~1e-4 absolute, hence a mixed tolerance.

import * as tf from '@tensorflow/tfjs-core';
import type { GradCheckLayerResult, GradCheckResult } from '../protocol';
import type { Dataset } from './data/types';
import { computeLoss } from './losses';
import { regularizationLoss, type BuiltModel } from './model';
import { SeededRandom } from './random';
import { makeBatch } from './trainer';

export interface GradCheckOptions {
  /** Examples in the batch the check differentiates. */
  batchSize?: number;
  /** Weights checked per variable (some random, the rest the largest-gradient ones). */
  perVariable?: number;
  epsilon?: number;
  /** Relative tolerance on significant entries. */
  tolerance?: number;
  seed?: number;
}

/** Below this magnitude a float32 finite difference is noise; such entries are checked by absolute error. */
const SIGNIFICANT = 1e-3;
const ABSOLUTE_TOLERANCE = 2e-4;

export function gradientCheck(built: BuiltModel, data: Dataset, backend: GradCheckResult['backend'], options: GradCheckOptions = {}): GradCheckResult {
  const eps = options.epsilon ?? 1e-2;
  const tolerance = options.tolerance ?? 2e-2;
  const perVariable = options.perVariable ?? 6;
  const rng = new SeededRandom(options.seed ?? 1);
  const n = Math.min(options.batchSize ?? 8, data.train.count);
  const { x, y } = makeBatch(data.train, data, Int32Array.from({ length: n }, (_, i) => i));
  // training=false: dropout off and batch statistics fixed, so the loss is a deterministic function of w.
  const lossOf = () => tf.tidy(() => {
    const out = built.forward(x, false);
    const loss = computeLoss(built.loss, out, y);
    const reg = regularizationLoss(built.variables);
    return reg ? tf.add(loss, reg) : loss;
  }) as tf.Scalar;
  const vars = built.variables.map(v => v.variable);
  const { value, grads } = tf.variableGrads(lossOf, vars);
  value.dispose();

  const results = new Map<number, GradCheckLayerResult>();
  for (const group of built.groups) {
    if (!group.variables.length) continue;
    const layer: GradCheckLayerResult = { layer: group.config.name, index: group.config.index, variables: [], maxRelativeError: 0 };
    for (const v of group.variables) {
      const analytic = grads[v.variable.name].dataSync() as Float32Array;
      const weights = (v.variable.dataSync() as Float32Array).slice();
      const picks = pickIndices(analytic, perVariable, rng);
      let maxRel = 0;
      let maxAbs = 0;
      for (const i of picks) {
        const original = weights[i];
        const loss = (w: number) => {
          weights[i] = w;
          v.variable.assign(tf.tensor(weights, v.variable.shape));
          const l = lossOf();
          const r = l.dataSync()[0];
          l.dispose();
          return r;
        };
        const numeric = (loss(original + eps) - loss(original - eps)) / (2 * eps);
        weights[i] = original;
        v.variable.assign(tf.tensor(weights, v.variable.shape));
        const a = analytic[i];
        const abs = Math.abs(a - numeric);
        const scale = Math.max(Math.abs(a), Math.abs(numeric));
        maxAbs = Math.max(maxAbs, abs);
        if (scale >= SIGNIFICANT) maxRel = Math.max(maxRel, abs / scale);
        else if (abs > ABSOLUTE_TOLERANCE) maxRel = Math.max(maxRel, abs / SIGNIFICANT);
      }
      layer.variables.push({ name: v.name, checked: picks.length, maxRelativeError: maxRel, maxAbsoluteError: maxAbs });
      layer.maxRelativeError = Math.max(layer.maxRelativeError, maxRel);
    }
    results.set(group.config.index, layer);
  }
  tf.dispose([x, y, ...Object.values(grads)]);
  const layers = [...results.values()];
  const worst = layers.reduce((a, l) => Math.max(a, l.maxRelativeError), 0);
  return { backend, epsilon: eps, layers, worstRelativeError: worst, passed: worst <= tolerance, tolerance };
}

/** Half random entries, half the largest |gradient| (where a wrong gradient shows most). */
function pickIndices(g: Float32Array, k: number, rng: SeededRandom): number[] {
  const chosen = new Set<number>();
  const byMagnitude = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
  for (const i of byMagnitude.slice(0, Math.ceil(k / 2))) chosen.add(i);
  for (let tries = 0; chosen.size < Math.min(k, g.length) && tries < 10 * k; tries++) chosen.add(rng.int(g.length));
  return [...chosen];
}
