// Fused recurrent layers: a whole LSTM, GRU or SimpleRNN sequence as one op with its backward pass written
// out (backpropagation through time), instead of tfjs-layers' ~60 ops per time step in each direction.

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CpuBackend, WasmBackend, cpuValues, readFloats } from './backend_access';
import { matMulValues } from './cpu_mat_mul';

/**
 * Why: a recurrent layer in tfjs-layers runs every time step as separate small ops (matMul, split, add, the
 * gate activations, ...), each paying the engine's per-op cost twice (forward and gradient): ~3000 kernel calls
 * per step of an Embedding+SimpleRNN(64) model over 50 time steps, most of its time. Here each direction of a
 * sequence is one op: the input projection for all time steps is one matrix product, each time step one
 * recurrent product (XNNPACK on wasm, the project's JS kernel on cpu) plus a JS loop for the gates, and the
 * backward pass ends with one product per weight gradient. The formulas are tfjs-layers' (its LSTM gate
 * order i, f, c, o; its GRU with the reset gate applied before the recurrent product, as Keras' reset_after
 * false), so a fused layer computes what the unfused one does, to float32 rounding.
 */

type Kind = 'lstm' | 'gru' | 'simpleRNN';
type ActivationName = 'tanh' | 'sigmoid' | 'hardSigmoid' | 'relu' | 'linear';
const FUSABLE_ACTIVATIONS = new Set<string>(['tanh', 'sigmoid', 'hardSigmoid', 'relu', 'linear']);
const GATES: Record<Kind, number> = { lstm: 4, gru: 3, simpleRNN: 1 };

interface Spec {
  kind: Kind;
  units: number;
  activation: ActivationName;
  recurrentActivation: ActivationName;
  returnSequences: boolean;
  goBackwards: boolean;
}

let enabled = true;

/** Switches the fused path on or off for every patched layer (for tests and benchmarks that compare). */
export function setFusedRecurrent(on: boolean): void {
  enabled = on;
}

// ---------------------------------------------------------------------------------------------------
// Matrix products on the current backend, operands as plain arrays or tensors already on it

interface Mat {
  rows: number;
  cols: number;
  values?: Float32Array;
  tensor?: tf.Tensor;
  /** A copy on the wasm heap that outlives one product (released by `Products.release`). */
  resident?: tf.TensorInfo;
}

class Products {
  private readonly wasm: WasmBackend | undefined;
  private readonly cpu: CpuBackend | undefined;
  private readonly residents: tf.TensorInfo[] = [];

  constructor() {
    const name = tf.getBackend();
    if (name === 'wasm') this.wasm = tf.backend() as unknown as WasmBackend;
    else this.cpu = tf.backend() as unknown as CpuBackend;
  }

  /** Keeps `values` on the backend for many products (the recurrent kernel, its transpose). */
  keep(values: Float32Array, rows: number, cols: number): Mat {
    if (!this.wasm) return { rows, cols, values };
    const info = this.wasm.makeOutput([1, rows, cols], 'float32');
    this.wasm.typedArrayFromHeap(info).set(values);
    this.residents.push(info);
    return { rows, cols, resident: info };
  }

  release(): void {
    for (const info of this.residents) this.wasm!.disposeData(info.dataId);
    this.residents.length = 0;
  }

  /** op(a) · op(b), op = transpose when asked; written into `out` when given. */
  product(a: Mat, b: Mat, transposeA: boolean, transposeB: boolean, out?: Float32Array): Float32Array {
    const m = transposeA ? a.cols : a.rows;
    const k = transposeA ? a.rows : a.cols;
    const n = transposeB ? b.rows : b.cols;
    const result = out ?? new Float32Array(m * n);
    if (this.cpu) {
      const values = (x: Mat) => x.values ?? (cpuValues(this.cpu!, x.tensor!) as Float32Array);
      result.set(matMulValues(values(a), values(b), m, k, n, transposeA, transposeB));
      return result;
    }
    const wasm = this.wasm!;
    const temporaries: tf.TensorInfo[] = [];
    const info = (x: Mat): tf.TensorInfo => {
      if (x.resident) return x.resident;
      if (x.tensor) return { dataId: x.tensor.dataId, shape: [1, x.rows, x.cols], dtype: 'float32' };
      const t = wasm.makeOutput([1, x.rows, x.cols], 'float32');
      temporaries.push(t);
      return t;
    };
    const aInfo = info(a);
    const bInfo = info(b);
    // Views after every allocation (a heap growth detaches earlier ones).
    if (!a.resident && !a.tensor) wasm.typedArrayFromHeap(aInfo).set(a.values!);
    if (!b.resident && !b.tensor) wasm.typedArrayFromHeap(bInfo).set(b.values!);
    const kernel = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    const product = kernel({ inputs: { a: aInfo, b: bInfo }, backend: wasm as never, attrs: { transposeA, transposeB } as never }) as tf.TensorInfo;
    result.set(wasm.typedArrayFromHeap(product) as Float32Array);
    wasm.disposeData(product.dataId);
    for (const t of temporaries) wasm.disposeData(t.dataId);
    return result;
  }
}

// ---------------------------------------------------------------------------------------------------
// Activations: y = f(z) and f'(z) as tfjs-core's gradients define it, for a block of gate columns

/**
 * tanh to float32 accuracy (within 2.4e-7 relative of Math.tanh, ~2 float32 ulp) at a quarter of Math.tanh's
 * cost: the rational minimax form Eigen and XNNPACK use for float tanh. It is a third of an LSTM's gate work.
 */
function tanhFloat(x: number): number {
  if (x > 7.90531110763549805) return 1;
  if (x < -7.90531110763549805) return -1;
  if (x > -0.0004 && x < 0.0004) return x;
  const x2 = x * x;
  let p = -2.76076847742355e-16;
  p = p * x2 + 2.00018790482477e-13;
  p = p * x2 - 8.60467152213735e-11;
  p = p * x2 + 5.12229709037114e-8;
  p = p * x2 + 1.48572235717979e-5;
  p = p * x2 + 6.37261928875436e-4;
  p = p * x2 + 4.89352455891786e-3;
  let q = 1.19825839466702e-6;
  q = q * x2 + 1.18534705686654e-4;
  q = q * x2 + 2.268434632439e-3;
  q = q * x2 + 4.89352518554385e-3;
  return (p * x) / q;
}

/**
 * For columns [col, col + width) of each of `rows` rows (row length `stride`): y = f(z) and d = f'(z), z read at
 * zAt, y and d written at yAt. tanh and sigmoid derive from y (tfjs-core's gradients use the output);
 * hardSigmoid passes the gradient where 0 ≤ 0.2z + 0.5 ≤ 1, bounds included, as clipByValue's gradient does.
 */
function activate(
  name: ActivationName, z: Float32Array, zAt: number, y: Float32Array, d: Float32Array, yAt: number,
  rows: number, stride: number, col: number, width: number,
): void {
  for (let r = 0; r < rows; r++) {
    const from = r * stride + col;
    const zi = zAt + from;
    const yi = yAt + from;
    switch (name) {
      case 'tanh':
        for (let i = 0; i < width; i++) { const v = tanhFloat(z[zi + i]); y[yi + i] = v; d[yi + i] = 1 - v * v; }
        break;
      case 'sigmoid':
        for (let i = 0; i < width; i++) { const v = Math.fround(1 / (1 + Math.exp(-z[zi + i]))); y[yi + i] = v; d[yi + i] = v * (1 - v); }
        break;
      case 'hardSigmoid':
        for (let i = 0; i < width; i++) {
          const p = 0.2 * z[zi + i] + 0.5;
          y[yi + i] = p < 0 ? 0 : p > 1 ? 1 : p;
          d[yi + i] = p >= 0 && p <= 1 ? 0.2 : 0;
        }
        break;
      case 'relu':
        for (let i = 0; i < width; i++) { const v = z[zi + i]; y[yi + i] = v > 0 ? v : 0; d[yi + i] = v > 0 ? 1 : 0; }
        break;
      case 'linear':
        for (let i = 0; i < width; i++) { y[yi + i] = z[zi + i]; d[yi + i] = 1; }
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The fused op

interface Forward {
  output: Float32Array;
  backward(dy: Float32Array): { dx: Float32Array; dKernel: Float32Array; dRecurrent: Float32Array; dBias: Float32Array };
}

/**
 * One direction of a recurrent layer over x [batch, time, features]. Rows of the time-step matrices are laid
 * out as x's (row b·T + τ for example b at time τ), so the input projection and the weight gradients are
 * single products over all time steps. `t` counts processing steps; τ = t, or T−1−t going backwards; the
 * outputs are in processing order, as tfjs-layers returns them. Per step t the forward pass keeps, at
 * [t·B·width]: the activated gates and their derivatives, h, and for LSTM c with act(c) and its derivative,
 * for GRU r ⊙ h_prev.
 */
function runSequence(spec: Spec, x: tf.Tensor, kernel: tf.Tensor, recurrent: tf.Tensor, bias: tf.Tensor | undefined): Forward {
  const [B, T, D] = x.shape;
  const U = spec.units;
  const kind = spec.kind;
  const GU = GATES[kind] * U;
  const BU = B * U;
  const rows = B * T;
  const act = spec.activation;
  const gate = spec.recurrentActivation;
  const mm = new Products();
  const time = (t: number) => (spec.goBackwards ? T - 1 - t : t);

  // Input projection (+ bias) for every time step at once: [B·T, GU].
  const xw = mm.product({ rows, cols: D, tensor: x }, { rows: D, cols: GU, tensor: kernel }, false, false);
  if (bias) {
    const b = readFloats(bias);
    for (let r = 0; r < rows; r++) for (let j = 0; j < GU; j++) xw[r * GU + j] += b[j];
  }

  const recurrentValues = Float32Array.from(readFloats(recurrent)); // [U, GU]
  // GRU: the z,r columns of the recurrent kernel (rk1) and the h columns (rk2) are separate products.
  const recurrentCols = kind === 'gru' ? 2 * U : GU;
  const rk1 = kind === 'gru' ? columns(recurrentValues, U, GU, 0, 2 * U) : recurrentValues;
  const rk2 = kind === 'gru' ? columns(recurrentValues, U, GU, 2 * U, U) : undefined;

  const gates = new Float32Array(T * B * GU);
  const deriv = new Float32Array(T * B * GU);
  const hs = new Float32Array(T * BU);
  const cs = kind === 'lstm' ? new Float32Array(T * BU) : undefined;
  const actC = kind === 'lstm' ? new Float32Array(T * BU) : undefined;
  const dActC = kind === 'lstm' ? new Float32Array(T * BU) : undefined;
  const rhs = kind === 'gru' ? new Float32Array(T * BU) : undefined;

  const z = new Float32Array(B * GU); // this step's pre-activations
  const rec = new Float32Array(B * recurrentCols);
  const recH = kind === 'gru' ? new Float32Array(BU) : undefined;
  try {
    const rk1Mat = mm.keep(rk1, U, recurrentCols);
    const rk2Mat = rk2 ? mm.keep(rk2, U, U) : undefined;
    for (let t = 0; t < T; t++) {
      const tau = time(t);
      const at = t * B * GU;
      const hAt = t * BU;
      const prevAt = (t - 1) * BU;
      if (t > 0) mm.product({ rows: B, cols: U, values: hs.subarray(prevAt, hAt) }, rk1Mat, false, false, rec);
      if (kind === 'gru') {
        // z, r = ra(x·W_zr + h·rk1); hh = act(x·W_h + (r ⊙ h)·rk2); h = z ⊙ h + (1 − z) ⊙ hh
        for (let b = 0; b < B; b++) {
          const xRow = (b * T + tau) * GU;
          for (let j = 0; j < 2 * U; j++) z[b * GU + j] = xw[xRow + j] + (t > 0 ? rec[b * 2 * U + j] : 0);
        }
        activate(gate, z, 0, gates, deriv, at, B, GU, 0, 2 * U);
        const rh = rhs!;
        if (t > 0) {
          for (let b = 0; b < B; b++) for (let u = 0; u < U; u++) rh[hAt + b * U + u] = gates[at + b * GU + U + u] * hs[prevAt + b * U + u];
          mm.product({ rows: B, cols: U, values: rh.subarray(hAt, hAt + BU) }, rk2Mat!, false, false, recH);
        }
        for (let b = 0; b < B; b++) {
          const xRow = (b * T + tau) * GU + 2 * U;
          for (let u = 0; u < U; u++) z[b * GU + 2 * U + u] = xw[xRow + u] + (t > 0 ? recH![b * U + u] : 0);
        }
        activate(act, z, 0, gates, deriv, at, B, GU, 2 * U, U);
        for (let b = 0; b < B; b++) {
          const g = at + b * GU;
          for (let u = 0; u < U; u++) {
            const zg = gates[g + u];
            const hPrev = t > 0 ? hs[prevAt + b * U + u] : 0;
            hs[hAt + b * U + u] = zg * hPrev + (1 - zg) * gates[g + 2 * U + u];
          }
        }
        continue;
      }
      for (let b = 0; b < B; b++) {
        const xRow = (b * T + tau) * GU;
        const zRow = b * GU;
        if (t > 0) for (let j = 0; j < GU; j++) z[zRow + j] = xw[xRow + j] + rec[zRow + j];
        else for (let j = 0; j < GU; j++) z[zRow + j] = xw[xRow + j];
      }
      if (kind === 'simpleRNN') {
        activate(act, z, 0, gates, deriv, at, B, GU, 0, U);
        hs.set(gates.subarray(at, at + BU), hAt);
        continue;
      }
      // LSTM, gates i, f, c̃, o: c = f ⊙ c_prev + i ⊙ c̃; h = o ⊙ act(c)
      activate(gate, z, 0, gates, deriv, at, B, GU, 0, 2 * U);
      activate(act, z, 0, gates, deriv, at, B, GU, 2 * U, U);
      activate(gate, z, 0, gates, deriv, at, B, GU, 3 * U, U);
      const c = cs!;
      for (let b = 0; b < B; b++) {
        const g = at + b * GU;
        const k = hAt + b * U;
        for (let u = 0; u < U; u++) {
          const cPrev = t > 0 ? c[prevAt + b * U + u] : 0;
          c[k + u] = gates[g + U + u] * cPrev + gates[g + u] * gates[g + 2 * U + u];
        }
      }
      activate(act, c, hAt, actC!, dActC!, hAt, B, U, 0, U);
      for (let b = 0; b < B; b++) {
        const g = at + b * GU + 3 * U;
        const k = hAt + b * U;
        for (let u = 0; u < U; u++) hs[k + u] = gates[g + u] * actC![k + u];
      }
    }
  } finally {
    mm.release();
  }

  let output: Float32Array;
  if (spec.returnSequences) {
    output = new Float32Array(B * T * U);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) output.set(hs.subarray((t * B + b) * U, (t * B + b + 1) * U), (b * T + t) * U);
  } else {
    output = hs.slice((T - 1) * BU);
  }

  const backward = (dy: Float32Array) => {
    const mmB = new Products();
    const dG = new Float32Array(rows * GU); // d(pre-activations), rows b·T + τ
    const dh = new Float32Array(BU);
    const dc = kind === 'lstm' ? new Float32Array(BU) : undefined;
    const dRec = new Float32Array(B * recurrentCols); // d(the pre-activations fed by h·rk1), for dh_prev
    const dDirect = kind === 'gru' ? new Float32Array(BU) : undefined; // GRU: the paths to h_prev outside rk1
    const dAh = kind === 'gru' ? new Float32Array(BU) : undefined;
    const dRh = kind === 'gru' ? new Float32Array(BU) : undefined;
    try {
      const rk1T = mmB.keep(transpose(rk1, U, recurrentCols), recurrentCols, U);
      const rk2T = rk2 ? mmB.keep(transpose(rk2, U, U), U, U) : undefined;
      for (let t = T - 1; t >= 0; t--) {
        const tau = time(t);
        const at = t * B * GU;
        const hAt = t * BU;
        const prevAt = (t - 1) * BU;
        if (spec.returnSequences) {
          for (let b = 0; b < B; b++) for (let u = 0; u < U; u++) dh[b * U + u] += dy[(b * T + t) * U + u];
        } else if (t === T - 1) {
          for (let i = 0; i < BU; i++) dh[i] += dy[i];
        }
        if (kind === 'simpleRNN') {
          for (let b = 0; b < B; b++) {
            const g = at + b * GU;
            const dRow = (b * T + tau) * GU;
            for (let u = 0; u < U; u++) {
              const d = dh[b * U + u] * deriv[g + u];
              dG[dRow + u] = d;
              dRec[b * U + u] = d;
            }
          }
        } else if (kind === 'lstm') {
          const c = cs!;
          for (let b = 0; b < B; b++) {
            const g = at + b * GU;
            const dRow = (b * T + tau) * GU;
            const r = b * GU;
            for (let u = 0; u < U; u++) {
              const k = b * U + u;
              const dhk = dh[k];
              const o = gates[g + 3 * U + u];
              const dcTotal = dc![k] + dhk * o * dActC![hAt + k];
              const cPrev = t > 0 ? c[prevAt + k] : 0;
              const di = dcTotal * gates[g + 2 * U + u] * deriv[g + u];
              const df = dcTotal * cPrev * deriv[g + U + u];
              const dCand = dcTotal * gates[g + u] * deriv[g + 2 * U + u];
              const dO = dhk * actC![hAt + k] * deriv[g + 3 * U + u];
              dG[dRow + u] = di;
              dG[dRow + U + u] = df;
              dG[dRow + 2 * U + u] = dCand;
              dG[dRow + 3 * U + u] = dO;
              dRec[r + u] = di;
              dRec[r + U + u] = df;
              dRec[r + 2 * U + u] = dCand;
              dRec[r + 3 * U + u] = dO;
              dc![k] = dcTotal * gates[g + U + u];
            }
          }
        } else {
          // GRU, first through h = z ⊙ h_prev + (1 − z) ⊙ hh, then back through hh's product with rk2.
          for (let b = 0; b < B; b++) {
            const g = at + b * GU;
            const dRow = (b * T + tau) * GU;
            for (let u = 0; u < U; u++) {
              const k = b * U + u;
              const zg = gates[g + u];
              const hh = gates[g + 2 * U + u];
              const hPrev = t > 0 ? hs[prevAt + k] : 0;
              const ah = dh[k] * (1 - zg) * deriv[g + 2 * U + u];
              dAh![k] = ah;
              dG[dRow + 2 * U + u] = ah;
              const az = dh[k] * (hPrev - hh) * deriv[g + u];
              dG[dRow + u] = az;
              dRec[b * 2 * U + u] = az;
              dDirect![k] = dh[k] * zg;
            }
          }
          if (t > 0) {
            mmB.product({ rows: B, cols: U, values: dAh }, rk2T!, false, false, dRh); // d(r ⊙ h_prev)
            for (let b = 0; b < B; b++) {
              const g = at + b * GU;
              const dRow = (b * T + tau) * GU;
              for (let u = 0; u < U; u++) {
                const k = b * U + u;
                const ar = dRh![k] * hs[prevAt + k] * deriv[g + U + u];
                dG[dRow + U + u] = ar;
                dRec[b * 2 * U + U + u] = ar;
                dDirect![k] += dRh![k] * gates[g + U + u];
              }
            }
          } else {
            for (let b = 0; b < B; b++) dG.fill(0, (b * T + tau) * GU + U, (b * T + tau) * GU + 2 * U); // h_prev = 0: no gradient into r
          }
        }
        if (t === 0) break; // the initial state is constant: nothing to carry further
        mmB.product({ rows: B, cols: recurrentCols, values: dRec }, rk1T, false, false, dh);
        if (kind === 'gru') for (let i = 0; i < BU; i++) dh[i] += dDirect![i];
      }
    } finally {
      mmB.release();
    }

    // Weight gradients over all time steps at once.
    const dGMat: Mat = { rows, cols: GU, values: dG };
    const dKernel = mmB.product({ rows, cols: D, tensor: x }, dGMat, true, false); // Xᵀ·dG [D, GU]
    const dx = mmB.product(dGMat, { rows: D, cols: GU, tensor: kernel }, false, true); // dG·Wᵀ [B·T, D]
    const dBias = new Float32Array(GU);
    for (let r = 0; r < rows; r++) for (let j = 0; j < GU; j++) dBias[j] += dG[r * GU + j];
    // The rows that multiplied rk1 (h_prev) and, for GRU, rk2 (r ⊙ h_prev), for every (b, τ); zero at t = 0.
    const hPrevRows = new Float32Array(rows * U);
    const rhRows = kind === 'gru' ? new Float32Array(rows * U) : undefined;
    for (let t = 1; t < T; t++) {
      const tau = time(t);
      for (let b = 0; b < B; b++) {
        hPrevRows.set(hs.subarray(((t - 1) * B + b) * U, ((t - 1) * B + b + 1) * U), (b * T + tau) * U);
        rhRows?.set(rhs!.subarray((t * B + b) * U, (t * B + b + 1) * U), (b * T + tau) * U);
      }
    }
    let dRecurrent: Float32Array;
    if (kind === 'gru') {
      const d1 = mmB.product({ rows, cols: U, values: hPrevRows }, { rows, cols: 2 * U, values: columns(dG, rows, GU, 0, 2 * U) }, true, false);
      const d2 = mmB.product({ rows, cols: U, values: rhRows }, { rows, cols: U, values: columns(dG, rows, GU, 2 * U, U) }, true, false);
      dRecurrent = new Float32Array(U * GU);
      for (let i = 0; i < U; i++) {
        dRecurrent.set(d1.subarray(i * 2 * U, (i + 1) * 2 * U), i * GU);
        dRecurrent.set(d2.subarray(i * U, (i + 1) * U), i * GU + 2 * U);
      }
    } else {
      dRecurrent = mmB.product({ rows, cols: U, values: hPrevRows }, dGMat, true, false);
    }
    return { dx, dKernel, dRecurrent, dBias };
  };
  return { output, backward };
}

/** Columns [from, from + width) of a row-major [rows, cols] matrix. */
function columns(values: Float32Array, rows: number, cols: number, from: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols + from, r * cols + from + width), r * width);
  return out;
}

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

function fusedRecurrent(spec: Spec, x: tf.Tensor, kernel: tf.Tensor, recurrent: tf.Tensor, bias: tf.Tensor | undefined): tf.Tensor {
  const [B, T, D] = x.shape;
  const U = spec.units;
  const outShape = spec.returnSequences ? [B, T, U] : [B, U];
  const run = (inputs: tf.Tensor[]) => {
    const forward = runSequence(spec, inputs[0], inputs[1], inputs[2], inputs[3]);
    return {
      value: tf.tensor(forward.output, outShape, 'float32'),
      gradFunc: (dy: tf.Tensor) => {
        const g = forward.backward(readFloats(dy).slice());
        const grads = [tf.tensor(g.dx, [B, T, D], 'float32'), tf.tensor(g.dKernel, kernel.shape, 'float32'), tf.tensor(g.dRecurrent, recurrent.shape, 'float32')];
        if (bias) grads.push(tf.tensor(g.dBias, bias.shape, 'float32'));
        return grads;
      },
    };
  };
  // customGrad passes the inputs, then a `save` function (unused: the closure keeps what backward needs).
  const count = bias ? 4 : 3;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => run(args.slice(0, count) as tf.Tensor[]) as never);
  const xFloat = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
  const y = bias ? op(xFloat, kernel, recurrent, bias) : op(xFloat, kernel, recurrent);
  if (xFloat !== x) xFloat.dispose();
  return y;
}

// ---------------------------------------------------------------------------------------------------
// Patching tfjs-layers' recurrent layers

interface RecurrentCell {
  units: number;
  activation: { getClassName(): string };
  recurrentActivation?: { getClassName(): string };
  useBias: boolean;
  dropout: number;
  recurrentDropout: number;
  kernel: { read(): tf.Tensor };
  recurrentKernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
}
interface RecurrentLayer {
  cell: RecurrentCell;
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  stateful: boolean;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  getClassName(): string;
}

const KINDS: Record<string, Kind> = { LSTM: 'lstm', GRU: 'gru', SimpleRNN: 'simpleRNN' };

function specOf(layer: RecurrentLayer): Spec | undefined {
  const kind = KINDS[layer.getClassName()];
  const cell = layer.cell;
  if (!kind || !cell || layer.returnState || layer.stateful || cell.dropout > 0 || cell.recurrentDropout > 0) return undefined;
  const activation = cell.activation.getClassName();
  const recurrentActivation = cell.recurrentActivation?.getClassName() ?? 'sigmoid';
  if (!FUSABLE_ACTIVATIONS.has(activation) || !FUSABLE_ACTIVATIONS.has(recurrentActivation)) return undefined;
  return {
    kind, units: cell.units, returnSequences: layer.returnSequences, goBackwards: layer.goBackwards,
    activation: activation as ActivationName, recurrentActivation: recurrentActivation as ActivationName,
  };
}

function patch(layer: RecurrentLayer): boolean {
  const spec = specOf(layer);
  if (!spec) return false;
  const original = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const backend = tf.getBackend();
    if (!enabled || !(x instanceof tf.Tensor) || x.rank !== 3 || kwargs?.mask != null || kwargs?.initialState != null || (backend !== 'wasm' && backend !== 'cpu')) {
      return original(inputs, kwargs);
    }
    const cell = layer.cell;
    return fusedRecurrent(spec, x, cell.kernel.read(), cell.recurrentKernel.read(), cell.useBias && cell.bias ? cell.bias.read() : undefined);
  };
  return true;
}

/**
 * Makes an LSTM, GRU or SimpleRNN layer (or a Bidirectional wrapper of one) compute through the fused op on the
 * cpu and wasm backends. Layers it cannot fuse (dropout, returnState, stateful, an activation other than tanh,
 * sigmoid, hardSigmoid, relu or linear) keep tfjs-layers' path, as do masked calls and other backends.
 * Returns whether a layer was patched. The weights stay the layer's own variables.
 */
export function fuseRecurrent(layer: tfl.layers.Layer): boolean {
  const wrapper = layer as unknown as { forwardLayer?: RecurrentLayer; backwardLayer?: RecurrentLayer };
  if (wrapper.forwardLayer && wrapper.backwardLayer) {
    const forward = patch(wrapper.forwardLayer);
    const backward = patch(wrapper.backwardLayer);
    return forward && backward;
  }
  return patch(layer as unknown as RecurrentLayer);
}
