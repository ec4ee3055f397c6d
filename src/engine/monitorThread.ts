// Monitoring off the training thread. The trainer copies a monitored step's gradients and layer outputs into a
// buffer (one memcpy, ~0.09 ms for 118k floats in a training step), moves the buffer to this thread with the step
// (a transfer: no second copy) and goes on with the next step; this thread computes the statistics, hands the
// buffer back, writes the run log, runs the diagnosis and batches the events for the watcher. On a machine with a
// second core, watching every step then costs the training thread little more than that copy. Two buffers go
// round, so the trainer fills one while the thread reads the other. (Shared memory slots cost more: a copy into
// a SharedArrayBuffer runs word by word, 0.145 against 0.09 ms for the MLP benchmark's gradients.)
//
// Order and halting stay as on one thread: every message carries a sequence number, the thread stores the last
// one it finished in a shared control array, and before each update the trainer waits (Atomics.wait, normally
// not at all) until everything it posted before that step is done, then reads the halt verdict. A finding that
// halts the run at step N therefore stops it before step N+1's update, as when the diagnosis ran inline.
//
// The same file is the thread's entry (the bundle dist/monitorThread.js, or out/src/engine/monitorThread.js).

import * as fs from 'fs';
import * as path from 'path';
import { isMainThread, MessageChannel, parentPort, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'worker_threads';
import type {
  BufferReturnPort, MonitorToTrainer, RawStepMessage, RecorderInit, RunEnd, RunEvent, RunSummary, StepEvent, StepLayout, TrainerToMonitor,
} from '../protocol';
import { RunRecorder, type HaltCause } from './recorder';
import { histogramSpec, StatsAccumulator, type HistogramSpec } from './stats';
import { activationSumsWith, addStatisticsWith, MAX_UNITS, type StatsKernels, type StatsTables } from './kernels/simd_stats';
import { activationStatsFromSums, activationStatsOf, assembleStepStats, firstNonFiniteLayer, saturationBounds } from './stepStats';

// The WebAssembly JS API as far as used here (the project's TypeScript libs have no WebAssembly types).
type WasmModule = object;
interface WasmMemory { readonly buffer: ArrayBuffer }
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
};

/** Control array: [0] last finished seq, [1] halt cause (HALT_CODES index), [2] 1 when the thread failed. */
const DONE = 0;
const HALT = 1;
const FAILED = 2;
const HALT_CODES: (HaltCause | undefined)[] = [undefined, 'rule', 'nonFinite', 'log'];
/** How long the trainer waits for the thread before calling it stuck. */
const STUCK_MS = 60000;
/** How often (at most) the thread hands its batch of events to the watcher. */
const BATCH_MS = 50;
/** The first bytes of the thread's statistics memory: the SIMD statistics' tables (two 4096-entry int32 tables, counts, alive). */
const TABLE_BYTES = 65536;
const PAGE = 65536;
/** Buffers going round between the trainer and the thread. */
const BUFFERS = 2;

export const MONITOR_THREAD_FILE = 'monitorThread.js';

export type Verdict = HaltCause | 'failed';

/** The trainer's side: owns the thread and the step buffers. */
export class MonitorThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(3 * 4));
  private seq = 0;
  /** The trainer's end of the channel the thread hands the buffers back through (read with receiveMessageOnPort). */
  private readonly returns: MessagePort;
  /** Buffers back from the thread, free to fill; the one `slot` gave out; the seqs of the steps holding the others. */
  private readonly free: ArrayBuffer[] = [];
  private filling?: ArrayBuffer;
  private readonly inFlight: number[] = [];
  private barrierSeq = 0;
  private ended?: { resolve(s: RunSummary): void; reject(e: Error): void };
  failure?: string;

  private constructor(private readonly worker: Worker, private readonly onEvents: (events: RunEvent[]) => void, returns: MessagePort) {
    this.returns = returns;
    returns.unref();
    worker.on('message', (m: MonitorToTrainer) => {
      if (m.type === 'events') this.onEvents(m.events);
      else if (m.type === 'ended') {
        if (m.events.length) this.onEvents(m.events);
        this.ended?.resolve(m.summary);
        this.ended = undefined;
      } else if (m.type === 'failed') {
        // The stack goes to the process' stderr (the extension's output channel); the first line is the reason.
        process.stderr.write(`gradmon monitor thread: ${m.message}\n`);
        this.fail(m.message.split('\n')[0]);
      }
    });
    worker.on('error', e => this.fail(e.message));
    worker.on('exit', code => { if (this.ended) this.fail(`the monitor thread exited (code ${code}) before the run's summary`); });
  }

  /**
   * Starts the thread, or says why it cannot (its script missing from a broken install, or threads off with
   * GRADMON_MONITOR_THREAD=0): the run is then monitored on the training thread, as before. `simdModule`: the
   * SIMD statistics module (wasm_simd.ts simdModuleBytes); without it, JS loops.
   */
  static start(init: RecorderInit, layout: StepLayout, onEvents: (events: RunEvent[]) => void, simdModule?: Uint8Array): MonitorThread | string {
    if (process.env.GRADMON_MONITOR_THREAD === '0') return 'GRADMON_MONITOR_THREAD=0';
    const script = path.join(__dirname, MONITOR_THREAD_FILE);
    if (!fs.existsSync(script)) return `${script} is missing`;
    let worker: Worker;
    try {
      worker = new Worker(script, { workerData: { gradmonMonitor: true } });
    } catch (e) {
      return (e as Error).message;
    }
    const channel = new MessageChannel();
    const t = new MonitorThread(worker, onEvents, channel.port1);
    const m = init.config.monitor;
    t.send({
      type: 'init', control: t.control.buffer as SharedArrayBuffer, returns: channel.port2, recorder: init, layout,
      histogram: { lo: m.histogramRange[0], hi: m.histogramRange[1], bins: m.histogramBins },
      valueClip: init.config.clipping.find(c => c.mode === 'value')?.threshold ?? 0,
      simdModule: process.env.GRADMON_SIMD === '0' ? undefined : simdModule,
    }, [channel.port2]);
    return t;
  }

  private send(m: TrainerToMonitor, transfer?: (ArrayBuffer | MessagePort)[]): void {
    this.worker.postMessage(m, transfer);
  }

  private fail(message: string): void {
    this.failure ??= message;
    this.ended?.reject(new Error(`the monitor thread failed: ${this.failure}`));
    this.ended = undefined;
  }

  /** Hands an event over (in order with the steps). */
  post(event: RunEvent): void {
    this.send({ type: 'event', seq: ++this.seq, event });
  }

  /**
   * A buffer for the next monitored step, at least `floats` long, that the thread has finished reading (waiting
   * for it when both are in use). Fill it from index 0, then `postStep`.
   */
  slot(floats: number): Float32Array {
    this.collect();
    if (!this.free.length && this.inFlight.length >= BUFFERS) {
      this.waitFor(this.inFlight[0]); // the thread hands a buffer back before it marks the step done
      this.collect();
    }
    let buffer = this.free.pop();
    // None back (the thread failed: the next verdict says so), or too short: a new one, with room to grow a little
    // (a longer sequence, a larger last batch). The short one is left to the garbage collector.
    if (!buffer || buffer.byteLength < floats * 4) buffer = new ArrayBuffer(Math.ceil(floats * 1.25) * 4);
    this.filling = buffer;
    return new Float32Array(buffer, 0, floats);
  }

  /** Takes the buffers the thread has handed back off the channel (in the order of the steps that held them). */
  private collect(): void {
    for (let r = receiveMessageOnPort(this.returns); r; r = receiveMessageOnPort(this.returns)) {
      this.free.push(r.message as ArrayBuffer);
      this.inFlight.shift();
    }
  }

  /** Hands the step over with the buffer `slot` gave out (moved to the thread; unusable here until it comes back). */
  postStep(m: Omit<RawStepMessage, 'type' | 'seq' | 'buffer'>): void {
    const buffer = this.filling;
    if (!buffer) throw new Error('postStep without slot');
    this.filling = undefined;
    const seq = ++this.seq;
    this.inFlight.push(seq);
    this.send({ ...m, type: 'step', seq, buffer }, [buffer]);
  }

  /** Marks the start of a step: `verdict` then waits for everything posted before it. */
  barrier(): void {
    this.barrierSeq = this.seq;
  }

  /** After waiting for the thread to catch up with the barrier: whether the run must stop, and why. */
  verdict(): Verdict | undefined {
    this.waitFor(this.barrierSeq);
    if (this.failure) return 'failed';
    return HALT_CODES[Atomics.load(this.control, HALT)];
  }

  private waitFor(seq: number): void {
    const since = Date.now();
    for (;;) {
      const done = Atomics.load(this.control, DONE);
      if (done >= seq) return;
      if (Atomics.load(this.control, FAILED)) {
        this.failure ??= 'it stopped on an error (its stack is in the training process\' output)';
        return;
      }
      if (this.failure) return;
      if (Date.now() - since > STUCK_MS) {
        this.failure = `it did not answer for ${STUCK_MS / 1000} s`;
        return;
      }
      Atomics.wait(this.control, DONE, done, 500);
    }
  }

  /** Ends the run on the thread (summary, run-end, log closed) and stops it. */
  async end(end: RunEnd, endedAt = new Date()): Promise<RunSummary> {
    try {
      if (this.failure) throw new Error(`the monitor thread failed: ${this.failure}`);
      const summary = new Promise<RunSummary>((resolve, reject) => { this.ended = { resolve, reject }; });
      this.send({ type: 'end', seq: ++this.seq, end, endedAt: endedAt.toISOString() });
      return await summary;
    } finally {
      this.returns.close();
      await this.worker.terminate();
    }
  }

  /** Stops the thread without a summary. */
  async dispose(): Promise<void> {
    this.ended = undefined;
    this.returns.close();
    await this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------------
// The thread

function runThread(): void {
  const port = parentPort!;
  let control: Int32Array;
  let recorder: RunRecorder;
  let layout: StepLayout;
  let spec: HistogramSpec;
  let valueClip = 0;
  let returns: BufferReturnPort;
  /**
   * The SIMD module and, once bound to a memory of this thread's: the kernels, their tables, and the memory (the
   * tables in its first TABLE_BYTES, then room for a step's floats).
   */
  let simd: { module: WasmModule; bound?: { kernels: StatsKernels; tables: StatsTables; memory: Float32Array } } | undefined;
  let batch: RunEvent[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    timer = undefined;
    if (batch.length) port.postMessage({ type: 'events', events: batch } satisfies MonitorToTrainer);
    batch = [];
  };
  const out = (e: RunEvent) => {
    batch.push(e);
    timer ??= setTimeout(flush, BATCH_MS);
  };

  /**
   * The SIMD kernels with room for `floats` after their tables: a (new, larger) memory when it lacks room, the
   * kernels bound to it and the tables written into its first page. Undefined without SIMD (JS loops then).
   */
  const kernelsWithRoom = (floats: number) => {
    if (!simd) return undefined;
    if (simd.bound && simd.bound.memory.length - TABLE_BYTES / 4 >= floats) return simd.bound;
    // Room to grow a little (a longer sequence, a larger last batch), as the trainer's buffers.
    const m = new WebAssembly.Memory({ initial: Math.ceil((TABLE_BYTES + Math.ceil(floats * 1.25) * 4) / PAGE) });
    let e: Omit<StatsKernels, 'result'> & Record<'a' | 'b' | 'min' | 'max' | 'zeros' | 'count', { value: number }>;
    try {
      e = new WebAssembly.Instance(simd.module, { env: { memory: m } }).exports as unknown as typeof e;
    } catch {
      simd = undefined; // the JS loops give the same figures
      return undefined;
    }
    const ints = new Int32Array(m.buffer, 0, TABLE_BYTES / 4);
    ints.set(spec.slot, 0);
    ints.set(spec.edgeAbove, spec.slot.length);
    const countsAt = spec.slot.length + spec.edgeAbove.length;
    simd.bound = {
      kernels: { moments: e.moments, histogram: e.histogram, activation: e.activation, result: { a: e.a, b: e.b, min: e.min, max: e.max, zeros: e.zeros, count: e.count } },
      tables: {
        slotsAt: 0, edgesAt: spec.slot.length * 4,
        counts: ints.subarray(countsAt, countsAt + spec.bins + 2),
        alive: ints.subarray(countsAt + spec.bins + 2, countsAt + spec.bins + 2 + MAX_UNITS),
      },
      memory: new Float32Array(m.buffer),
    };
    return simd.bound;
  };

  /** Hands a step's buffer back to the trainer (once: a transferred buffer is detached here, length 0). */
  const release = (m: RawStepMessage) => {
    if (m.buffer.byteLength > 0) returns.postMessage(m.buffer, [m.buffer]);
  };

  const step = (m: RawStepMessage): StepEvent => {
    const t0 = performance.now();
    let used = 0; // floats of the buffer in use: the end of its last part
    for (const p of m.gradients) used = Math.max(used, p.offset + p.length);
    for (const a of m.activations) if (a && 'offset' in a) used = Math.max(used, a.offset + a.length);
    // With SIMD, the floats go into the kernels' memory (one memcpy on this thread) and the buffer straight back;
    // the JS loops read the buffer itself and hand it back after.
    let floats: Float32Array = new Float32Array(m.buffer, 0, used);
    let base = 0;
    const withSimd = kernelsWithRoom(used);
    if (withSimd) {
      base = TABLE_BYTES / 4;
      withSimd.memory.set(floats, base);
      floats = withSimd.memory;
      release(m);
    }
    const at = (offset: number, length: number) => floats.subarray(base + offset, base + offset + length);
    const accumulators: StatsAccumulator[] = [];
    let k = 0;
    for (const g of layout.groups) {
      for (const v of g.variables) {
        const part = m.gradients[k++];
        if (part.length + part.zeros !== v.size) throw new Error(`step ${m.step}: ${v.name}'s gradient came as ${part.length} + ${part.zeros} values for ${v.size}`);
        const acc = new StatsAccumulator(spec);
        const values = at(part.offset, part.length);
        if (withSimd) addStatisticsWith(withSimd.kernels, withSimd.tables, acc, values, valueClip);
        else acc.add(values, valueClip);
        acc.addZeros(part.zeros); // a packed gradient's zeros, left out of the copy
        accumulators.push(acc);
      }
    }
    const activations = layout.groups.map((g, gi) => {
      const a = m.activations[gi];
      if (!a || !g.activation) return undefined;
      if ('sums' in a) return activationStatsFromSums(a.length, a.units, g.activation, a.sums); // summed by the trainer
      const values = at(a.offset, a.length);
      const [low, high] = saturationBounds(g.activation);
      const sums = withSimd ? activationSumsWith(withSimd.kernels, withSimd.tables, values, a.units, low, high) : undefined;
      return activationStatsOf(values, a.units, g.activation, sums);
    });
    release(m);
    const stats = assembleStepStats(layout, spec, accumulators, m.weightNorms, activations);
    stats.statsMs = m.statsMs;
    stats.threadMs = performance.now() - t0;
    const origin = firstNonFiniteLayer(stats);
    return {
      type: 'step', step: m.step, epoch: m.epoch, loss: m.loss, accuracy: m.accuracy, learningRate: m.learningRate,
      globalNorm: stats.globalNorm, clippedGlobalNorm: stats.clippedGlobalNorm, stats,
      nonFinite: origin ? { step: m.step, layer: origin.layer, where: origin.where } : undefined,
      stepMs: m.stepMs, time: m.time,
    };
  };

  const handle = (m: TrainerToMonitor) => {
    switch (m.type) {
      case 'init':
        control = new Int32Array(m.control);
        layout = m.layout;
        spec = histogramSpec(m.histogram.lo, m.histogram.hi, m.histogram.bins);
        valueClip = m.valueClip;
        returns = m.returns;
        recorder = new RunRecorder(m.recorder, out);
        // SIMD when the module compiles here and the layout's bins suit its one-edge table cells (as wasm_stats.ts).
        if (m.simdModule && !spec.slot.some(x => x < 0) && 2 * spec.slot.length * 4 + (spec.bins + 2 + MAX_UNITS) * 4 <= TABLE_BYTES) {
          try {
            simd = { module: new WebAssembly.Module(m.simdModule) };
          } catch { /* no SIMD here: JS loops */ }
        }
        return;
      case 'event':
      case 'step': {
        const cause = recorder.record(m.type === 'step' ? step(m) : m.event);
        if (cause) Atomics.store(control, HALT, HALT_CODES.indexOf(cause));
        return;
      }
      case 'end': {
        const summary = recorder.finish(m.end, new Date(m.endedAt));
        if (timer) clearTimeout(timer);
        const events = batch;
        batch = [];
        port.postMessage({ type: 'ended', summary, events } satisfies MonitorToTrainer);
        return;
      }
    }
  };

  port.on('message', (m: TrainerToMonitor) => {
    try {
      handle(m);
    } catch (e) {
      if (m.type === 'step' && returns) release(m); // the trainer must not wait for it
      if (control) Atomics.store(control, FAILED, 1);
      port.postMessage({ type: 'failed', message: (e as Error).stack ?? String(e) } satisfies MonitorToTrainer);
      recorder?.abandon();
    } finally {
      if (control && m.type !== 'init') {
        Atomics.store(control, DONE, m.seq);
        Atomics.notify(control, DONE);
      }
    }
  });
}

if (!isMainThread && (workerData as { gradmonMonitor?: boolean } | undefined)?.gradmonMonitor) runThread();
