// One optimizer update of one variable as a single pass over its memory on the cpu and wasm backends, with the
// weight norms the monitor needs computed in the same pass.

import * as tf from '@tensorflow/tfjs-core';
import { CpuBackend, WasmBackend } from './backend_access';
import { onHeap, simdKernels } from './wasm_simd';

/**
 * Why: an update written with tf ops is 5-12 elementwise kernels per variable (Adam: 11), each a full pass
 * with its own allocation; for the Embedding(5000, 64) table that was ~3 ms of a step on wasm. One JS loop over
 * the backend's memory does it with no temporaries, and updates the optimizer's slots in place (nothing else
 * holds them). The weights get new memory on wasm (see below) or when another tensor still holds the old
 * values, else (cpu) they too are updated in place. Same float32 results as the tf-op version (see `update`).
 */
export type UpdateRule =
  | { type: 'sgd' }
  | { type: 'momentum'; momentum: number; nesterov: boolean }
  | { type: 'rmsprop'; rho: number; eps: number; momentum: number; centered: boolean }
  | { type: 'adam'; beta1: number; beta2: number; eps: number; c1: number; c2: number }
  | { type: 'adagrad'; eps: number };

/** ‖w_after‖², ‖w_after − w_before‖² and the count of non-finite entries of w_after. */
export interface WeightNorms {
  sumSq: number;
  diffSq: number;
  nonFinite: number;
}

let enabled = true;

/** Switches the fused update off (the tf-op update runs instead), for tests and benchmarks that compare. */
export function setFusedUpdate(on: boolean): void {
  enabled = on;
}

/** Whether `fusedUpdate` can run here (the cpu and wasm backends, float32 tensors). */
export function canFuseUpdate(variable: tf.Tensor, gradient: tf.Tensor): boolean {
  const name = tf.getBackend();
  return enabled && (name === 'wasm' || name === 'cpu') && variable.dtype === 'float32' && gradient.dtype === 'float32'
    && variable.size === gradient.size;
}

type Floats = Float32Array;

/**
 * Applies `rule` to `variable` with `gradient` at learning rate `lr`; `slots` are the rule's state variables in
 * the order the rule's formula names them (momentum: velocity; rmsprop: meanSquare, [meanGrad], [momentum];
 * adam: m, v; adagrad: accumulator). Returns the weight norms when `measure` is set.
 */
export function fusedUpdate(rule: UpdateRule, variable: tf.Variable, gradient: tf.Tensor, slots: tf.Variable[], lr: number, measure: boolean): WeightNorms | undefined {
  const name = tf.getBackend();
  const wasm = name === 'wasm' ? (tf.backend() as unknown as WasmBackend) : undefined;
  const cpu = name === 'cpu' ? (tf.backend() as unknown as CpuBackend) : undefined;
  const backend = (wasm ?? cpu)!;
  const shared = (t: tf.Tensor) => backend.refCount(t.dataId) > 1;
  // Slots are the optimizer's own: shared only while their initial value's tensor is still alive (first step).
  const ownSlots = slots.map(s => (shared(s) ? replaceData(s, wasm, cpu) : s));
  // On wasm the weights always get new memory: its XNNPACK matMul and conv operators keep a packed copy of their
  // weights, cached by tensor id, so weights changed under the same id would be used stale.
  const inPlace = !wasm && !shared(variable);
  const fresh = inPlace ? undefined : newData(variable, wasm, cpu);
  // Views after every allocation (a wasm heap growth detaches earlier ones).
  const view = (t: tf.TensorInfo): Floats => (wasm ? wasm.typedArrayFromHeap(t) : cpu!.data.get(t.dataId).values) as Floats;
  const w = view(variable);
  const out = fresh ? view(fresh) : w;
  const g = view(gradient);
  const s = ownSlots.map(view);
  const norms = update(rule, w, out, g, s, lr, measure);
  if (fresh) {
    const t = tf.engine().makeTensorFromTensorInfo(fresh);
    variable.assign(t);
    t.dispose();
  }
  return norms;
}

/** New backend memory of the variable's shape (not yet a tensor). */
function newData(like: tf.Tensor, wasm: WasmBackend | undefined, cpu: CpuBackend | undefined): tf.TensorInfo {
  return wasm ? wasm.makeOutput(like.shape, 'float32') : cpu!.makeTensorInfo(like.shape, 'float32', new Float32Array(like.size));
}

/** Gives a slot variable memory of its own, with its current values. */
function replaceData(slot: tf.Variable, wasm: WasmBackend | undefined, cpu: CpuBackend | undefined): tf.Variable {
  const info = newData(slot, wasm, cpu);
  const view = (t: tf.TensorInfo): Floats => (wasm ? wasm.typedArrayFromHeap(t) : cpu!.data.get(t.dataId).values) as Floats;
  view(info).set(view(slot));
  const t = tf.engine().makeTensorFromTensorInfo(info);
  slot.assign(t);
  t.dispose();
  return slot;
}

const f = Math.fround;

/**
 * The update, element by element in the order of the tf ops of optimizers.ts, each result rounded to float32
 * as a tfjs kernel stores it (and the constants rounded as tfjs makes scalar tensors of them): the same bits
 * as the tf-op version on cpu and wasm. On wasm, Adam and SGD run as SIMD (wasm_simd.ts), with the same
 * float32 operations; the JS loop then takes the last n mod 4 elements.
 */
function update(rule: UpdateRule, w: Floats, out: Floats, g: Floats, s: Floats[], lr: number, measure: boolean): WeightNorms | undefined {
  const n = w.length;
  let sumSq = 0;
  let diffSq = 0;
  let from = 0;
  const simd = simdKernels();
  if (simd && (rule.type === 'adam' || rule.type === 'sgd') && n >= 4 && [w, out, g, ...s].every(a => onHeap(simd, a))) {
    const bytes = (n - (n % 4)) * 4;
    if (rule.type === 'adam') {
      const { beta1, beta2, eps, c1, c2 } = rule;
      simd.adam(w.byteOffset, out.byteOffset, g.byteOffset, s[0].byteOffset, s[1].byteOffset, bytes, lr, beta1, 1 - beta1, beta2, 1 - beta2, c1, c2, eps);
    } else {
      simd.sgd(w.byteOffset, out.byteOffset, g.byteOffset, bytes, lr);
    }
    sumSq = simd.result.a.value;
    diffSq = simd.result.b.value;
    from = n - (n % 4);
  }
  const flr = f(lr);
  // Each case: the new weight into `out` (which may be `w`), the slots in place, the norms.
  switch (rule.type) {
    case 'sgd':
      for (let i = from; i < n; i++) {
        const before = w[i];
        const after = f(before - f(g[i] * flr));
        out[i] = after;
        sumSq += after * after;
        diffSq += (after - before) * (after - before);
      }
      break;
    case 'momentum': {
      const [b] = s;
      const mu = f(rule.momentum);
      for (let i = from; i < n; i++) {
        const nb = f(f(b[i] * mu) + g[i]);
        b[i] = nb;
        const step = rule.nesterov ? f(g[i] + f(nb * mu)) : nb;
        const before = w[i];
        const after = f(before - f(step * flr));
        out[i] = after;
        sumSq += after * after;
        diffSq += (after - before) * (after - before);
      }
      break;
    }
    case 'rmsprop': {
      const rho = f(rule.rho);
      const oneMinusRho = f(1 - rule.rho);
      const eps = f(rule.eps);
      const momentum = f(rule.momentum);
      const ms = s[0];
      const mg = rule.centered ? s[1] : undefined;
      const mom = rule.momentum > 0 ? s[rule.centered ? 2 : 1] : undefined;
      for (let i = from; i < n; i++) {
        const gi = g[i];
        const ns = f(f(ms[i] * rho) + f(f(gi * gi) * oneMinusRho));
        ms[i] = ns;
        let denomSq = ns;
        if (mg) {
          const nm = f(f(mg[i] * rho) + f(gi * oneMinusRho));
          mg[i] = nm;
          denomSq = f(ns - f(nm * nm));
        }
        let step = f(gi / f(f(Math.sqrt(denomSq)) + eps));
        if (mom) {
          const nb = f(f(mom[i] * momentum) + step);
          mom[i] = nb;
          step = nb;
        }
        const before = w[i];
        const after = f(before - f(step * flr));
        out[i] = after;
        sumSq += after * after;
        diffSq += (after - before) * (after - before);
      }
      break;
    }
    case 'adam': {
      const [beta1, oneMinusBeta1, beta2, oneMinusBeta2] = [f(rule.beta1), f(1 - rule.beta1), f(rule.beta2), f(1 - rule.beta2)];
      const [eps, c1, c2] = [f(rule.eps), f(rule.c1), f(rule.c2)];
      const [m, v] = s;
      for (let i = from; i < n; i++) {
        const gi = g[i];
        const nm = f(f(m[i] * beta1) + f(gi * oneMinusBeta1));
        const nv = f(f(v[i] * beta2) + f(f(gi * gi) * oneMinusBeta2));
        m[i] = nm;
        v[i] = nv;
        const step = f(f(nm / c1) / f(f(Math.sqrt(f(nv / c2))) + eps));
        const before = w[i];
        const after = f(before - f(step * flr));
        out[i] = after;
        sumSq += after * after;
        diffSq += (after - before) * (after - before);
      }
      break;
    }
    case 'adagrad': {
      const [a] = s;
      const eps = f(rule.eps);
      for (let i = from; i < n; i++) {
        const gi = g[i];
        const na = f(a[i] + f(gi * gi));
        a[i] = na;
        const before = w[i];
        const after = f(before - f(f(gi / f(f(Math.sqrt(na)) + eps)) * flr));
        out[i] = after;
        sumSq += after * after;
        diffSq += (after - before) * (after - before);
      }
      break;
    }
  }
  if (!measure) return undefined;
  let nonFinite = 0;
  if (!Number.isFinite(sumSq)) for (let i = 0; i < n; i++) if (!Number.isFinite(out[i])) nonFinite++;
  return { sumSq, diffSq, nonFinite };
}
