// The optimizers, written out so their formulas are the sources' (and PyTorch's, for the oracle tests):
// SGD, momentum (and Nesterov), RMSprop (optionally centered, with momentum), Adam with optional bias
// correction, Adagrad; plus learning-rate schedules with warm-up. tfjs' own optimizers cannot change the
// learning rate per step uniformly and hide the bias correction, hence our own.

import * as tf from '@tensorflow/tfjs-core';
import type { LearningRateSchedule, OptimizerConfig } from '../config/types';
import { canFuseUpdate, fusedUpdate, type UpdateRule, type WeightNorms } from './kernels/optimizer_update';

export type { WeightNorms };

export interface Optimizer {
  /**
   * Applies one update with the given (already clipped) gradients at this learning rate. With `norms`, also
   * fills norms[i] with variable i's ‖w_after‖², ‖w_after − w_before‖² where the update measured them on the
   * way (see `measuresNorms`), leaving the others undefined.
   */
  apply(variables: tf.Variable[], gradients: tf.Tensor[], learningRate: number, norms?: (WeightNorms | undefined)[]): void;
  /** Whether `apply` will measure the weight norms of these variables itself (a fused update on cpu and wasm). */
  measuresNorms(variables: tf.Variable[], gradients: tf.Tensor[]): boolean;
  /** Number of updates applied so far. */
  readonly iterations: number;
  dispose(): void;
}

type Slots = tf.Variable[];

abstract class SlotOptimizer implements Optimizer {
  iterations = 0;
  private slots = new Map<string, Slots>();

  protected slot(name: string, v: tf.Variable, init = 0): tf.Variable {
    let s = this.slots.get(name);
    if (!s) this.slots.set(name, (s = []));
    const i = this.indexOf(v);
    if (!s[i]) s[i] = tf.variable(init === 0 ? tf.zerosLike(v) : tf.fill(v.shape, init), false);
    return s[i];
  }

  private index = new Map<number, number>();
  private indexOf(v: tf.Variable): number {
    let i = this.index.get(v.id);
    if (i === undefined) this.index.set(v.id, (i = this.index.size));
    return i;
  }

  measuresNorms(variables: tf.Variable[], gradients: tf.Tensor[]): boolean {
    return variables.every((v, i) => canFuseUpdate(v, gradients[i]));
  }

  apply(variables: tf.Variable[], gradients: tf.Tensor[], learningRate: number, norms?: (WeightNorms | undefined)[]): void {
    this.iterations++;
    if (this.measuresNorms(variables, gradients)) {
      // One pass per variable over the backend's memory (kernels/optimizer_update.ts), same formulas as below.
      const slots = tf.tidy(() => variables.map(v => this.slotNames().map(([name, init]) => this.slot(name, v, init))));
      const rule = this.rule();
      for (let i = 0; i < variables.length; i++) {
        const measured = fusedUpdate(rule, variables[i], gradients[i], slots[i], learningRate, norms !== undefined);
        if (norms) norms[i] = measured;
      }
      return;
    }
    tf.tidy(() => {
      for (let i = 0; i < variables.length; i++) this.update(variables[i], gradients[i], learningRate);
    });
  }

  /** The update with tf ops (any backend): the reference the fused update follows. */
  protected abstract update(v: tf.Variable, g: tf.Tensor, lr: number): void;
  /** The same update for the fused pass, with this step's constants. */
  protected abstract rule(): UpdateRule;
  /** The slots `update` uses, in the order `rule` reads them, with their initial values. */
  protected abstract slotNames(): [string, number][];

  dispose(): void {
    for (const s of this.slots.values()) for (const v of s) v?.dispose();
    this.slots.clear();
  }
}

/** w ← w − lr·g */
class Sgd extends SlotOptimizer {
  protected update(v: tf.Variable, g: tf.Tensor, lr: number) {
    v.assign(tf.sub(v, tf.mul(g, lr)));
  }
  protected rule(): UpdateRule { return { type: 'sgd' }; }
  protected slotNames(): [string, number][] { return []; }
}

/** PyTorch's form: b ← μ·b + g; w ← w − lr·b (Nesterov: w ← w − lr·(g + μ·b)). */
class Momentum extends SlotOptimizer {
  constructor(private readonly momentum: number, private readonly nesterov: boolean) { super(); }
  protected update(v: tf.Variable, g: tf.Tensor, lr: number) {
    const b = this.slot('velocity', v);
    const nb = tf.add(tf.mul(b, this.momentum), g);
    b.assign(nb);
    const step = this.nesterov ? tf.add(g, tf.mul(nb, this.momentum)) : nb;
    v.assign(tf.sub(v, tf.mul(step, lr)));
  }
  protected rule(): UpdateRule { return { type: 'momentum', momentum: this.momentum, nesterov: this.nesterov }; }
  protected slotNames(): [string, number][] { return [['velocity', 0]]; }
}

/**
 * RMSprop (Hinton's lecture 6e; Keras' form): s ← ρ·s + (1−ρ)·g²; centered also tracks m ← ρ·m + (1−ρ)·g and
 * uses s − m²; update g/(√s + ε), with optional momentum on the update.
 */
class RmsProp extends SlotOptimizer {
  constructor(private readonly rho: number, private readonly eps: number, private readonly momentum: number, private readonly centered: boolean) { super(); }
  protected update(v: tf.Variable, g: tf.Tensor, lr: number) {
    const s = this.slot('meanSquare', v);
    const ns = tf.add(tf.mul(s, this.rho), tf.mul(tf.square(g), 1 - this.rho));
    s.assign(ns);
    let denomSq: tf.Tensor = ns;
    if (this.centered) {
      const m = this.slot('meanGrad', v);
      const nm = tf.add(tf.mul(m, this.rho), tf.mul(g, 1 - this.rho));
      m.assign(nm);
      denomSq = tf.sub(ns, tf.square(nm));
    }
    let step = tf.div(g, tf.add(tf.sqrt(denomSq), this.eps));
    if (this.momentum > 0) {
      const b = this.slot('momentum', v);
      const nb = tf.add(tf.mul(b, this.momentum), step);
      b.assign(nb);
      step = nb;
    }
    v.assign(tf.sub(v, tf.mul(step, lr)));
  }
  protected rule(): UpdateRule {
    return { type: 'rmsprop', rho: this.rho, eps: this.eps, momentum: this.momentum, centered: this.centered };
  }
  protected slotNames(): [string, number][] {
    return [['meanSquare', 0], ...(this.centered ? [['meanGrad', 0] as [string, number]] : []), ...(this.momentum > 0 ? [['momentum', 0] as [string, number]] : [])];
  }
}

/**
 * Adam (Kingma & Ba 2015): m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; with bias correction
 * m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ); w ← w − lr·m̂/(√v̂ + ε).
 */
class Adam extends SlotOptimizer {
  constructor(private readonly beta1: number, private readonly beta2: number, private readonly eps: number, private readonly biasCorrection: boolean) { super(); }
  protected update(v: tf.Variable, g: tf.Tensor, lr: number) {
    const m = this.slot('m', v);
    const s = this.slot('v', v);
    const nm = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const ns = tf.add(tf.mul(s, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    m.assign(nm);
    s.assign(ns);
    const t = this.iterations;
    const c1 = this.biasCorrection ? 1 - this.beta1 ** t : 1;
    const c2 = this.biasCorrection ? 1 - this.beta2 ** t : 1;
    const step = tf.div(tf.div(nm, c1), tf.add(tf.sqrt(tf.div(ns, c2)), this.eps));
    v.assign(tf.sub(v, tf.mul(step, lr)));
  }
  protected rule(): UpdateRule {
    const t = this.iterations;
    return {
      type: 'adam', beta1: this.beta1, beta2: this.beta2, eps: this.eps,
      c1: this.biasCorrection ? 1 - this.beta1 ** t : 1, c2: this.biasCorrection ? 1 - this.beta2 ** t : 1,
    };
  }
  protected slotNames(): [string, number][] { return [['m', 0], ['v', 0]]; }
}

/** Adagrad (Duchi et al. 2011): a ← a + g²; w ← w − lr·g/(√a + ε). */
class Adagrad extends SlotOptimizer {
  constructor(private readonly initial: number, private readonly eps: number) { super(); }
  protected update(v: tf.Variable, g: tf.Tensor, lr: number) {
    const a = this.slot('accumulator', v, this.initial);
    const na = tf.add(a, tf.square(g));
    a.assign(na);
    v.assign(tf.sub(v, tf.mul(tf.div(g, tf.add(tf.sqrt(na), this.eps)), lr)));
  }
  protected rule(): UpdateRule { return { type: 'adagrad', eps: this.eps }; }
  protected slotNames(): [string, number][] { return [['accumulator', this.initial]]; }
}

export function createOptimizer(c: OptimizerConfig): Optimizer {
  const eps = c.epsilon ?? 1e-7;
  switch (c.type) {
    case 'sgd': return new Sgd();
    case 'momentum': return new Momentum(c.momentum ?? 0.9, c.nesterov ?? false);
    case 'rmsprop': return new RmsProp(c.rho ?? 0.9, eps, c.momentum ?? 0, c.centered ?? false);
    case 'adam': return new Adam(c.beta1 ?? 0.9, c.beta2 ?? 0.999, eps, c.biasCorrection ?? true);
    case 'adagrad': return new Adagrad(c.initialAccumulatorValue ?? 0.1, eps);
  }
}

/** The learning rate for update number `step` (0-based) under a schedule. */
export function learningRateAt(base: number, schedule: LearningRateSchedule | undefined, step: number, totalSteps: number): number {
  if (!schedule) return base;
  const warm = schedule.warmupSteps ?? 0;
  if (step < warm) return (base * (step + 1)) / warm;
  const t = step - warm;
  switch (schedule.type) {
    case 'constant': return base;
    case 'step': return base * (schedule.factor ?? 0.1) ** Math.floor(t / (schedule.every ?? 1000));
    case 'exponential': return base * (schedule.decayRate ?? 0.96) ** (t / (schedule.decaySteps ?? 1000));
    case 'cosine': {
      const span = Math.max(1, (schedule.totalSteps ?? totalSteps) - warm);
      const min = schedule.minLearningRate ?? 0;
      const p = Math.min(1, t / span);
      return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * p));
    }
  }
}
