// The custom training loop: micro-batches with gradient accumulation, clipping, the optimizer step and
// constraints; every `monitor.every` steps (and at the first non-finite value) per-layer statistics read back
// from the backend in one pass, here or (with an offload) on the monitor thread from one copy. Emits typed run
// events; knows nothing of logs, UIs or diagnosis, only whether whoever watches asks it to halt.

import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedConfig } from '../config/types';
import type {
  ActivationStats, ActivationSums, NonFiniteOrigin, RawStepMessage, RunEnd, RunEvent, StepEvent, StepStats,
} from '../protocol';
import { describeNonFinite } from '../diagnosis/describe';
import { clipGradients } from './clipping';
import type { Dataset, DataSplit } from './data/types';
import { computeLoss, correctCount } from './losses';
import { applyConstraints, regularizationLoss, type BuiltModel } from './model';
import { readFloats } from './kernels/backend_access';
import { activationSums, addStatistics, GradientPacker, prepareWasmStatistics } from './kernels/wasm_stats';
import { createOptimizer, learningRateAt, type WeightNorms } from './optimizers';
import { SeededRandom } from './random';
import { RULE_HALT } from './recorder';
import { histogramSpec, normAndDistance, StatsAccumulator, type HistogramSpec } from './stats';
import {
  activationStatsOf, assembleStepStats, firstNonFiniteLayer, saturationBounds, watchesActivation, type StepLayout,
} from './stepStats';

export interface TrainerOptions {
  config: ResolvedConfig;
  data: Dataset;
  built: BuiltModel;
  /** Overrides training.maxSteps. */
  maxSteps?: number;
  signal?: AbortSignal;
  /** Called synchronously for every event, in order. Returning 'halt' stops the run after this event. */
  emit(event: RunEvent): void | 'halt';
  /**
   * Monitoring on another thread (monitorThread.ts): monitored steps with a finite loss are copied to it instead
   * of emitted, and its halt verdict is read before each update. Steps computed here (NaN/Inf localized,
   * unmonitored steps) and the other events still go through `emit`, which must then hand them to the same thread.
   */
  offload?: StatsOffload;
  /** Called after every step (emitted or offloaded); for benchmarks. */
  onStep?(info: { step: number; stepMs: number; statsMs: number; offloaded: boolean }): void;
}

/** What the trainer needs of a monitor thread (MonitorThread implements it). */
export interface StatsOffload {
  barrier(): void;
  verdict(): 'rule' | 'nonFinite' | 'log' | 'failed' | undefined;
  slot(floats: number): Float32Array;
  postStep(m: Omit<RawStepMessage, 'type' | 'seq' | 'buffer'>): void;
  readonly failure?: string;
}

/** How the run ended (protocol.ts RunEnd: what the recorder makes the summary from). */
export type TrainerResult = RunEnd;

/** Longest the loop runs without yielding to the event loop (so a stop request or IPC gets through). */
const YIELD_EVERY_MS = 25;
const EVAL_BATCH = 256;

export function planSteps(config: ResolvedConfig, trainCount: number, maxSteps?: number) {
  const perUpdate = config.training.batchSize * config.training.accumulationSteps;
  const stepsPerEpoch = Math.max(1, Math.ceil(trainCount / perUpdate));
  const limit = maxSteps ?? config.training.maxSteps;
  const totalSteps = Math.min(limit ?? Infinity, stepsPerEpoch * config.training.epochs);
  return { stepsPerEpoch, totalSteps };
}

/** Copies the examples at `indices` into batch tensors. */
export function makeBatch(split: DataSplit, data: Dataset, indices: ArrayLike<number>): { x: tf.Tensor; y: tf.Tensor } {
  const n = indices.length;
  const xSize = data.inputShape.reduce((a, b) => a * b, 1);
  const xs = data.inputDtype === 'int32' ? new Int32Array(n * xSize) : new Float32Array(n * xSize);
  for (let i = 0; i < n; i++) xs.set(split.x.subarray(indices[i] * xSize, (indices[i] + 1) * xSize), i * xSize);
  const x = tf.tensor(xs, [n, ...data.inputShape], data.inputDtype);
  let y: tf.Tensor;
  if (data.task === 'classification') {
    const ys = new Int32Array(n);
    for (let i = 0; i < n; i++) ys[i] = split.y[indices[i]];
    y = tf.tensor1d(ys, 'int32');
  } else {
    const k = data.targetSize ?? 1;
    const ys = new Float32Array(n * k);
    for (let i = 0; i < n; i++) ys.set(split.y.subarray(indices[i] * k, (indices[i] + 1) * k) as Float32Array, i * k);
    y = tf.tensor2d(ys, [n, k]);
  }
  return { x, y };
}

interface GradientPart {
  accumulators: StatsAccumulator[];
  nonFinite: boolean;
}

/** The model as the statistics see it (plain data). */
export function stepLayout(built: BuiltModel, config: ResolvedConfig): StepLayout {
  return {
    groups: built.groups.map(g => ({
      name: g.config.name,
      index: g.config.index,
      type: g.config.type,
      activation: watchesActivation(g.activation, g.config.type) ? g.activation : undefined,
      variables: g.variables.map(v => ({ name: v.name, shape: v.variable.shape, size: v.variable.size })),
    })),
    clipping: config.clipping,
  };
}

export class Trainer {
  private readonly spec: HistogramSpec;
  private readonly totalSteps: number;
  private readonly rng: SeededRandom;
  private readonly optimizer;
  private readonly variables: tf.Variable[];
  /** Which gradients go to the monitor thread as their nonzero part (an Embedding's), which whole. */
  private readonly packer = new GradientPacker();
  readonly layout: StepLayout;

  constructor(private readonly o: TrainerOptions) {
    const m = o.config.monitor;
    this.spec = histogramSpec(m.histogramRange[0], m.histogramRange[1], m.histogramBins);
    prepareWasmStatistics(this.spec);
    this.rng = new SeededRandom(o.config.seed ^ 0x5eed);
    this.optimizer = createOptimizer(o.config.optimizer);
    this.variables = o.built.variables.map(v => v.variable);
    this.totalSteps = planSteps(o.config, o.data.train.count, o.maxSteps).totalSteps;
    this.layout = stepLayout(o.built, o.config);
  }

  async run(): Promise<TrainerResult> {
    const { config, data } = this.o;
    const t = config.training;
    const { stepsPerEpoch, totalSteps } = planSteps(config, data.train.count, this.o.maxSteps);
    const result: TrainerResult = { status: 'completed', steps: 0, epochs: 0 };
    let lastYield = Date.now();
    let step = 0;
    const emit = (e: RunEvent) => this.o.emit(e) === 'halt';

    try {
      for (let epoch = 0; epoch < t.epochs && step < totalSteps; epoch++) {
        const order = t.shuffle ? this.rng.permutation(data.train.count) : Int32Array.from({ length: data.train.count }, (_, i) => i);
        let epochLoss = 0;
        let epochCorrect = 0;
        let epochCount = 0;
        for (let b = 0; b < stepsPerEpoch && step < totalSteps; b++) {
          if (this.o.signal?.aborted) {
            const why = this.o.signal.reason;
            return { ...result, status: 'stopped', reason: typeof why === 'string' ? why : 'stopped by the user' };
          }
          const event = this.step(step, epoch, order, b);
          if (event.verdict) {
            // The monitor thread's verdict on the steps before this one (this step's update was not applied).
            return event.verdict === 'failed'
              ? { ...result, status: 'failed', reason: `the monitor thread failed: ${this.o.offload?.failure}` }
              : { ...result, status: 'halted', reason: RULE_HALT };
          }
          epochLoss += event.loss * event.examples;
          epochCorrect += (event.accuracy ?? 0) * event.examples;
          epochCount += event.examples;
          result.steps = ++step;
          result.lastLoss = event.loss;
          result.lastAccuracy = event.accuracy;
          if (event.nonFinite && !result.firstNonFinite) result.firstNonFinite = event.nonFinite;
          this.o.onStep?.({ step: step - 1, stepMs: event.stepMs, statsMs: event.statsMs, offloaded: !event.step });
          const halt = event.step ? emit(event.step) : false;
          if (event.nonFinite && config.monitor.onNonFinite === 'halt') {
            return { ...result, status: 'halted', reason: `${describeNonFinite(event.nonFinite)} (monitor.onNonFinite is "halt")` };
          }
          if (halt) return { ...result, status: 'halted', reason: RULE_HALT };
          if (t.validationEvery > 0 && step % t.validationEvery === 0 && data.validation.count > 0) {
            const v = this.evaluate(data.validation);
            result.lastValLoss = v.loss;
            result.lastValAccuracy = v.accuracy;
            emit({ type: 'validation', step, epoch, loss: v.loss, accuracy: v.accuracy });
          }
          if (Date.now() - lastYield > YIELD_EVERY_MS) {
            await new Promise(r => setImmediate(r));
            lastYield = Date.now();
          }
        }
        result.epochs = epoch + 1;
        const classification = data.task === 'classification';
        const end: RunEvent = {
          type: 'epoch-end', epoch, step,
          trainLoss: epochCount ? epochLoss / epochCount : NaN,
          trainAccuracy: classification && epochCount ? epochCorrect / epochCount : undefined,
        };
        if (data.validation.count > 0) {
          const v = this.evaluate(data.validation);
          end.valLoss = result.lastValLoss = v.loss;
          end.valAccuracy = result.lastValAccuracy = v.accuracy;
        }
        if (emit(end)) return { ...result, status: 'halted', reason: RULE_HALT };
      }
      return result;
    } finally {
      this.optimizer.dispose();
    }
  }

  /** One optimizer update over `accumulationSteps` micro-batches. */
  private step(step: number, epoch: number, order: Int32Array, batchInEpoch: number) {
    const { config, data, built } = this.o;
    const t0 = performance.now();
    const offload = this.o.offload;
    offload?.barrier();
    const { batchSize, accumulationSteps } = config.training;
    const monitor = config.monitor;
    let monitored = step % monitor.every === 0;
    const vars = this.variables;
    let accumulated: tf.Tensor[] | undefined;
    let lossSum = 0;
    let correct = 0;
    let examples = 0;
    let lossTensors: tf.Scalar[] = [];
    const correctTensors: tf.Scalar[] = [];
    let captured: (tf.Tensor | undefined)[] | undefined;
    let lastBatch: { x: tf.Tensor; y: tf.Tensor } | undefined;

    const start = batchInEpoch * batchSize * accumulationSteps;
    let micro = 0;
    for (let k = 0; k < accumulationSteps; k++) {
      const idx = order.subarray(start + k * batchSize, Math.min(start + (k + 1) * batchSize, order.length));
      if (idx.length === 0) break;
      micro++;
      lastBatch?.x.dispose();
      lastBatch?.y.dispose();
      lastBatch = makeBatch(data.train, data, idx);
      const batch = lastBatch;
      const capture = monitored && k === accumulationSteps - 1 ? [] as (tf.Tensor | undefined)[] : undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = built.forward(batch.x, true, capture);
        const loss = computeLoss(built.loss, out, batch.y);
        if (built.loss.classification) correctTensors.push(tf.keep(correctCount(built.loss, out, batch.y)));
        const reg = regularizationLoss(built.variables);
        return reg ? tf.add(loss, reg) : loss;
      }, vars);
      if (capture) captured = capture;
      lossTensors.push(value);
      examples += idx.length;
      const g = vars.map(v => grads[v.name]);
      if (!accumulated) accumulated = g;
      else {
        const sum = accumulated.map((a, i) => tf.add(a, g[i]));
        tf.dispose([...accumulated, ...g]);
        accumulated = sum;
      }
    }
    let gradients = accumulated!;
    if (micro > 1) {
      const avg = gradients.map(gr => tf.div(gr, micro));
      tf.dispose(gradients);
      gradients = avg;
    }
    // Reading the loss is the one sync per step; it also surfaces NaN/Inf at every step.
    const losses = lossTensors.map(l => l.dataSync()[0]);
    lossSum = losses.reduce((a, b) => a + b, 0);
    const loss = lossSum / losses.length;
    for (const c of correctTensors) correct += c.dataSync()[0];
    tf.dispose([...lossTensors, ...correctTensors]);
    lossTensors = [];

    let nonFinite: NonFiniteOrigin | undefined;
    if (!Number.isFinite(loss)) {
      monitored = true; // localize it: full statistics at this step, whatever monitor.every says
      nonFinite = { step, where: 'loss' };
    }

    let stats: StepStats | undefined;
    let gradPart: GradientPart | undefined;
    let handOver: Omit<RawStepMessage, 'type' | 'seq' | 'buffer' | 'weightNorms' | 'statsMs' | 'stepMs' | 'time' | 'learningRate'> | undefined;
    const statsStart = performance.now();
    if (monitored && offload && !nonFinite) {
      // To the monitor thread: one copy of the gradients (a mostly-zero one as its nonzero part) and of the watched
      // outputs (or their sums). Packing allocates on the heap, which may detach views: each is taken when used.
      const watched = this.layout.groups.map((g, gi) => (g.activation ? captured?.[gi] : undefined));
      // A watched output the SIMD kernels can sum where it is (wasm) goes over as its sums: one pass over it
      // instead of a copy for the thread to read again. Summed before packing, whose allocations may detach views.
      const summed = watched.map((t, gi) => (t ? heapActivationSums(t, this.layout.groups[gi].activation!, this.spec) : undefined));
      const floats = [...gradients, ...watched.filter((_, gi) => !summed[gi])].reduce((a, t) => a + (t?.size ?? 0), 0);
      const buffer = offload.slot(floats);
      let at = 0;
      const handed = gradients.map((g, i) => {
        const packed = this.packer.pack(i, g, buffer.subarray(at));
        const length = packed?.floats ?? g.size;
        if (!packed) buffer.set(readFloats(g), at);
        const part = { offset: at, length, zeros: packed?.zeros ?? 0 };
        at += length;
        return part;
      });
      const activations = watched.map((t, gi) => {
        if (!t) return null;
        const sums = summed[gi];
        if (sums) return { sums, length: t.size, units: unitsOf(t) };
        const placed = { offset: at, length: t.size, units: unitsOf(t) };
        buffer.set(readFloats(t), at);
        at += t.size;
        return placed;
      });
      handOver = { step, epoch, loss, accuracy: data.task === 'classification' && examples ? correct / examples : undefined, activations, gradients: handed };
    } else if (monitored) {
      // Read in place (no copy off the backend), before anything else allocates on it.
      gradPart = this.gradientStatistics(gradients.map(readFloats));
    }
    let statsMs = performance.now() - statsStart;

    const clipped = clipGradients(gradients, config.clipping);
    tf.dispose(gradients);

    // The monitor thread's verdict on every step before this one: halting stops before this update.
    const verdict = offload?.verdict();
    if (verdict) {
      tf.dispose(clipped);
      captured?.forEach(c => c?.dispose());
      lastBatch?.x.dispose();
      lastBatch?.y.dispose();
      return { verdict, loss, accuracy: undefined, examples, nonFinite, stepMs: 0, statsMs: 0 };
    }

    const lr = learningRateAt(config.optimizer.learningRate, config.optimizer.schedule, step, this.totalSteps);
    const halting = config.monitor.onNonFinite === 'halt' && (nonFinite !== undefined || (gradPart?.nonFinite ?? false));
    // ‖w‖ and ‖Δw‖: measured by the fused update on its way through the weights (cpu, wasm), else from the
    // weights before and after. Tensors are immutable and the update assigns new data, so one more reference
    // keeps the old values alive (no copy). A constraint changes the weights after the update: those variables
    // are measured from before and after too.
    let norms: (WeightNorms | undefined)[] | undefined;
    let weightsBefore: (tf.Tensor | undefined)[] | undefined;
    if (monitored && !halting) {
      const s0 = performance.now();
      // (Handed over or not, the update measures the weight norms the statistics need.)
      const fused = this.optimizer.measuresNorms(vars, clipped);
      norms = new Array(vars.length).fill(undefined);
      weightsBefore = vars.map((v, i) => (fused && !built.variables[i].constraint ? undefined : tf.clone(v)));
      statsMs += performance.now() - s0;
    }
    if (!halting) {
      this.optimizer.apply(vars, clipped, lr, norms);
      applyConstraints(built.variables);
    }
    tf.dispose(clipped);

    if (handOver) {
      const s0 = performance.now();
      const weightNorms = vars.map((v, i) => {
        const before = weightsBefore?.[i];
        if (!before && norms?.[i]) return norms[i]!;
        return normAndDistance(readFloats(v), before && readFloats(before));
      });
      tf.dispose(weightsBefore?.filter((t): t is tf.Tensor => t !== undefined) ?? []);
      statsMs += performance.now() - s0;
      captured?.forEach(c => c?.dispose());
      lastBatch?.x.dispose();
      lastBatch?.y.dispose();
      const stepMs = performance.now() - t0;
      offload!.postStep({ ...handOver, learningRate: lr, weightNorms, statsMs, stepMs, time: Date.now() });
      return { step: undefined, loss, accuracy: handOver.accuracy, examples, nonFinite: undefined, stepMs, statsMs };
    }
    if (gradPart) {
      const s0 = performance.now();
      // Views taken after the update's allocations, used before the next one.
      const weightNorms = vars.map((v, i) => {
        const before = weightsBefore?.[i];
        if (!halting && !before && norms?.[i]) return norms[i]!;
        return normAndDistance(readFloats(v), before && readFloats(before));
      });
      stats = this.assembleStatistics(gradPart, weightNorms, captured);
      tf.dispose(weightsBefore?.filter((t): t is tf.Tensor => t !== undefined) ?? []);
      statsMs += performance.now() - s0;
      stats.statsMs = statsMs;
      if (!nonFinite) {
        const origin = firstNonFiniteLayer(stats);
        if (origin) nonFinite = { step, layer: origin.layer, where: origin.where };
      } else if (nonFinite.where === 'loss') {
        // The loss is the end of the forward pass: find where the forward pass first broke, if it did.
        const forward = this.forwardOrigin(lastBatch!.x);
        const backward = firstNonFiniteLayer(stats);
        if (forward) Object.assign(nonFinite, { where: 'forward', layer: forward });
        else if (backward) Object.assign(nonFinite, backward);
      }
    }
    captured?.forEach(c => c?.dispose());
    lastBatch?.x.dispose();
    lastBatch?.y.dispose();

    const stepEvent: StepEvent = {
      type: 'step',
      step,
      epoch,
      loss,
      accuracy: data.task === 'classification' && examples ? correct / examples : undefined,
      learningRate: lr,
      globalNorm: stats?.globalNorm,
      clippedGlobalNorm: stats?.clippedGlobalNorm,
      stats,
      nonFinite,
      stepMs: performance.now() - t0,
      time: Date.now(),
    };
    return { step: stepEvent, loss, accuracy: stepEvent.accuracy, examples, nonFinite, stepMs: stepEvent.stepMs, statsMs: stats?.statsMs ?? 0 };
  }

  /** Phase 1, before the update: one pass over each gradient. */
  private gradientStatistics(grads: Float32Array[]): GradientPart {
    const valueClip = this.o.config.clipping.find(c => c.mode === 'value')?.threshold ?? 0;
    const accumulators = grads.map(g => {
      const acc = new StatsAccumulator(this.spec);
      addStatistics(acc, g, valueClip); // SIMD on the wasm heap, else acc.add
      return acc;
    });
    return { accumulators, nonFinite: accumulators.some(a => a.nan + a.posInf + a.negInf > 0) };
  }

  /** Phase 2, after the update: weight norms, update ratios, and the per-layer view. */
  private assembleStatistics(part: GradientPart, weightNorms: WeightNorms[], captured: (tf.Tensor | undefined)[] | undefined): StepStats {
    const activations = this.layout.groups.map((g, gi) => (captured?.[gi] ? activationStats(captured[gi]!, g.activation ?? '', g.type, this.spec) : undefined));
    return assembleStepStats(this.layout, this.spec, part.accumulators, weightNorms, activations);
  }

  /** The first layer (in forward order) whose output holds NaN/Inf for this batch, if any. */
  private forwardOrigin(x: tf.Tensor): string | undefined {
    const capture: (tf.Tensor | undefined)[] = [];
    tf.tidy(() => { this.o.built.forward(x, true, capture); });
    let origin: string | undefined;
    for (let i = 0; i < capture.length; i++) {
      const values = capture[i]?.dataSync();
      if (!origin && values && !Number.isFinite(sumSquares(values as Float32Array))) origin = this.o.built.groups[i].config.name;
    }
    tf.dispose(capture.filter((c): c is tf.Tensor => c !== undefined));
    return origin;
  }

  /** Mean loss and accuracy over a split, without gradients. */
  evaluate(split: DataSplit): { loss: number; accuracy?: number } {
    const { data, built } = this.o;
    let lossSum = 0;
    let correct = 0;
    for (let s = 0; s < split.count; s += EVAL_BATCH) {
      const n = Math.min(EVAL_BATCH, split.count - s);
      const idx = Int32Array.from({ length: n }, (_, i) => s + i);
      const [l, c] = tf.tidy(() => {
        const { x, y } = makeBatch(split, data, idx);
        const out = built.forward(x, false);
        const loss = computeLoss(built.loss, out, y);
        return [loss, built.loss.classification ? correctCount(built.loss, out, y) : tf.scalar(0)];
      });
      lossSum += l.dataSync()[0] * n;
      correct += c.dataSync()[0];
      tf.dispose([l, c]);
    }
    return { loss: lossSum / split.count, accuracy: data.task === 'classification' ? correct / split.count : undefined };
  }
}

function sumSquares(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

export { firstNonFiniteLayer };

/** A layer output's activation statistics (SIMD on the wasm heap when it can); undefined when not watched. */
export function activationStats(output: tf.Tensor, activation: string, layerType: string, spec?: HistogramSpec): ActivationStats | undefined {
  if (!watchesActivation(activation, layerType)) return undefined;
  return activationStatsOf(readFloats(output), unitsOf(output), activation, spec ? heapActivationSums(output, activation, spec) : undefined);
}

/** Units of a layer output: its last axis. */
function unitsOf(output: tf.Tensor): number {
  return output.shape[output.shape.length - 1] ?? 1;
}

/** The sums behind an output's activation statistics, by the SIMD kernels where it is (wasm); else undefined. */
function heapActivationSums(output: tf.Tensor, activation: string, spec: HistogramSpec): ActivationSums | undefined {
  const [low, high] = saturationBounds(activation);
  return activationSums(readFloats(output), unitsOf(output), spec, low, high);
}
