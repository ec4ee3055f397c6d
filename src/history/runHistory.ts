// A run as the UI shows it: fed the same events the run log stores, it keeps a bounded, downsampled history
// (series of at most SERIES_CAPACITY buckets, histogram columns for the distribution-over-time view, the latest
// statistics per layer) so a 100k-step run costs the same memory and rendering as a 1k-step one.
// Plain module: the extension host builds snapshots from it; the webviews render those snapshots.

import type {
  BackendReport, DatasetSummary, Finding, Histogram, LayerStats, LayerSummary, NonFiniteOrigin, RunEvent, RunStatus,
} from '../protocol';

/** Buckets per series: enough for a chart a few hundred pixels wide, two points per pixel at most. */
export const SERIES_CAPACITY = 512;
/** Histogram columns kept per layer for the distribution-over-time view. */
export const HEATMAP_CAPACITY = 160;
/** Raw recent values per layer for sidebar sparklines. */
export const SPARKLINE_LENGTH = 60;

/**
 * A series downsampled by buckets: when full, neighbouring buckets merge and the stride doubles. Each
 * bucket keeps its first step, last value, min and max, so spikes survive downsampling (a norm explosion is
 * exactly the point a naive decimation would drop). Non-finite values are kept as NaN/±Infinity.
 */
export class Series {
  steps: number[] = [];
  last: number[] = [];
  min: number[] = [];
  max: number[] = [];
  stride = 1;
  private open = 0;

  constructor(readonly capacity = SERIES_CAPACITY) {}

  push(step: number, raw: number): void {
    const value = displayed(raw);
    const n = this.steps.length;
    if (n > 0 && this.open < this.stride && step - this.steps[n - 1] < this.stride) {
      const i = n - 1;
      this.last[i] = value;
      if (value < this.min[i] || Number.isNaN(value)) this.min[i] = value;
      if (value > this.max[i] || Number.isNaN(value)) this.max[i] = value;
      this.open++;
      return;
    }
    this.steps.push(step);
    this.last.push(value);
    this.min.push(value);
    this.max.push(value);
    this.open = 1;
    if (this.steps.length > this.capacity) this.compact();
  }

  private compact(): void {
    const steps: number[] = [];
    const last: number[] = [];
    const min: number[] = [];
    const max: number[] = [];
    for (let i = 0; i < this.steps.length; i += 2) {
      const j = Math.min(i + 1, this.steps.length - 1);
      steps.push(this.steps[i]);
      last.push(this.last[j]);
      min.push(pick(this.min[i], this.min[j], Math.min));
      max.push(pick(this.max[i], this.max[j], Math.max));
    }
    Object.assign(this, { steps, last, min, max });
    this.stride *= 2;
    this.open = this.stride; // the merged last bucket is full
  }

  toJSON(): SeriesData {
    return { steps: this.steps, last: this.last.map(enc), min: this.min.map(enc), max: this.max.map(enc), stride: this.stride };
  }

  /** The buckets from `from` on, as a patch (SnapshotCursor). */
  tail(from: number): SeriesData {
    const { steps, last, min, max } = this;
    return { steps: steps.slice(from), last: last.slice(from).map(enc), min: min.slice(from).map(enc), max: max.slice(from).map(enc), stride: this.stride, from };
  }

  static from(d: SeriesData, capacity = SERIES_CAPACITY): Series {
    const s = new Series(capacity);
    s.steps = [...d.steps];
    s.last = d.last.map(dec);
    s.min = d.min.map(dec);
    s.max = d.max.map(dec);
    s.stride = d.stride;
    s.open = s.stride;
    return s;
  }
}

/**
 * A value as the views use it: 6 significant digits (charts and labels show 3–4). The figures are float32
 * statistics printed with 17 digits otherwise: rounding halves the snapshots the host sends several times a
 * second (a 50-layer panel snapshot: 1.2 MB → 0.8 MB), and with them the host's and the webview's work.
 */
export function displayed(x: number): number {
  return Number.isFinite(x) && !Number.isInteger(x) ? Number(x.toPrecision(6)) : x;
}

function pick(a: number, b: number, f: (x: number, y: number) => number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return f(a, b);
}

/** JSON-safe numbers: NaN and ±Infinity travel as strings (postMessage and JSON drop them otherwise). */
export type Num = number | 'NaN' | 'Infinity' | '-Infinity';
export function enc(x: number): Num {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}
export function dec(x: Num | null | undefined): number {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  return NaN;
}

export interface SeriesData {
  steps: number[];
  last: Num[];
  min: Num[];
  max: Num[];
  stride: number;
  /** In a patch (see SnapshotCursor): the arrays replace the receiver's entries from this index on. */
  from?: number;
}

const EMPTY_SERIES: SeriesData = { steps: [], last: [], min: [], max: [], stride: 1 };

/** One column of the distribution view: the layer's histogram at a step (counts normalized on display). */
export interface HeatColumn {
  step: number;
  counts: number[];
  zeros: number;
  underflow: number;
  overflow: number;
  nan: number;
  inf: number;
}

export type LayerHealth = 'ok' | 'exploding' | 'vanishing' | 'nonFinite' | 'dead' | 'saturated';

const HEALTH_OF_KIND: Partial<Record<Finding['kind'], LayerHealth>> = {
  nonFinite: 'nonFinite', explosion: 'exploding', vanishing: 'vanishing', deadRelu: 'dead', saturation: 'saturated',
};
const HEALTH_RANK: Record<LayerHealth, number> = { nonFinite: 0, exploding: 1, vanishing: 2, dead: 3, saturated: 4, ok: 5 };

export interface LayerLatest {
  step: number;
  gradNorm: Num;
  mean: Num;
  std: Num;
  maxAbs: Num;
  zeroFraction: number;
  nanCount: number;
  infCount: number;
  weightNorm: Num;
  updateRatio: Num;
  activation?: { activation: string; zeroFraction: number; deadUnitFraction: number; saturatedFraction: number };
}

interface LayerTrack {
  summary: LayerSummary;
  norm: Series;
  updateRatio: Series;
  sparkline: number[];
  latest?: LayerLatest;
  histogram?: Histogram;
  columns: HeatColumn[];
  columnStride: number;
  columnsSeen: number;
}

export interface RunSnapshot {
  runId: string;
  name: string;
  configPath?: string;
  runDir?: string;
  status: RunStatus | 'running';
  reason?: string;
  backend?: BackendReport;
  dataset?: DatasetSummary;
  startedAt?: string;
  endedAt?: string;
  step: number;
  epoch: number;
  totalSteps: number;
  stepsPerEpoch: number;
  stepsPerSecond: number;
  /**
   * What watching costs, per monitored step, averaged over the last ~20 (ms): on the training thread (copies or
   * statistics), on the monitor thread (statistics, off the training thread), and the whole step.
   */
  monitoringCost?: { trainingMs: number; threadMs?: number; stepMs: number };
  lastLoss?: Num;
  lastAccuracy?: number;
  loss: SeriesData;
  accuracy: SeriesData;
  validation: { step: number; loss: Num; accuracy?: number }[];
  globalNorm: SeriesData;
  clippedGlobalNorm: SeriesData;
  learningRate: SeriesData;
  clipping: { mode: string; threshold: number }[];
  layers: {
    name: string;
    index: number;
    type: string;
    activation?: string;
    params: number;
    health: LayerHealth;
    norm: SeriesData;
    updateRatio: SeriesData;
    sparkline: Num[];
    latest?: LayerLatest;
    histogram?: Histogram;
    /** Present for the layers the view asked for (the distribution view is the heaviest part). */
    columns?: HeatColumn[];
    /** In a patch (see SnapshotCursor): `columns` continue the receiver's from this index. */
    columnsFrom?: number;
  }[];
  findings: Finding[];
  firstNonFinite?: NonFiniteOrigin;
  histogramRange: [number, number];
  histogramBins: number;
}

export interface SnapshotOptions {
  /** Layers whose distribution-over-time columns and latest histogram to include (default: all). */
  columnsFor?: string[];
  /** The panel shows neither update ratios nor sparklines: leaving them out halves its messages. */
  forPanel?: boolean;
  /** No per-layer entries (see glance()). */
  withoutLayers?: boolean;
  /** What the receiver already holds: series and columns then come as patches (applySnapshotPatch). */
  cursor?: SnapshotCursor;
}

/**
 * What one receiver (the panel's webview) already holds of a run's history, so the next snapshot carries only
 * what changed. A series changes only in its last bucket or by new ones until it compacts (its stride doubles),
 * and a layer's columns only by new ones until they thin out (a new array): a patch sends the entries from the
 * receiver's last bucket on, or everything after a compaction, a thinning, another run or a reset. At 50 layers
 * and 4 snapshots a second this is what keeps the host's JSON and the webview's message small (0.86 MB → a few KB).
 * The receiver must have applied every message since the cursor's last reset (the panel checks a sequence number
 * and asks for a full snapshot otherwise).
 */
export class SnapshotCursor {
  history?: RunHistory;
  private sent = new WeakMap<Series, { stride: number; length: number }>();
  private sentColumns = new Map<string, { ref: HeatColumn[]; length: number }>();

  /** Forgets what was sent: the next snapshot is complete. */
  reset(history?: RunHistory): void {
    this.history = history;
    this.sent = new WeakMap();
    this.sentColumns = new Map();
  }

  series(s: Series): SeriesData {
    const had = this.sent.get(s);
    const n = s.steps.length;
    this.sent.set(s, { stride: s.stride, length: n });
    if (!had || had.stride !== s.stride || had.length === 0 || had.length > n) return s.toJSON();
    return s.tail(had.length - 1); // the receiver's last bucket may have taken more steps since
  }

  columnsOf(layer: string, columns: HeatColumn[] | undefined): { columns?: HeatColumn[]; columnsFrom?: number } {
    const had = this.sentColumns.get(layer);
    if (!columns) {
      this.sentColumns.delete(layer);
      return {};
    }
    this.sentColumns.set(layer, { ref: columns, length: columns.length });
    if (!had || had.ref !== columns || had.length > columns.length) return { columns };
    return { columns: columns.slice(had.length), columnsFrom: had.length };
  }
}

/**
 * A snapshot made with a cursor, applied to the receiver's previous one (the same run): series with `from` and
 * columns with `columnsFrom` continue what it had; everything else is taken as sent. Returns a new snapshot; the
 * previous one is not changed.
 */
export function applySnapshotPatch(previous: RunSnapshot, patch: RunSnapshot): RunSnapshot {
  const series = (old: SeriesData | undefined, p: SeriesData): SeriesData => {
    if (p.from === undefined) return p;
    if (!old || old.steps.length < p.from) throw new Error(`a series patch from ${p.from} onto ${old?.steps.length ?? 'nothing'}`);
    const at = p.from;
    return {
      steps: old.steps.slice(0, at).concat(p.steps), last: old.last.slice(0, at).concat(p.last),
      min: old.min.slice(0, at).concat(p.min), max: old.max.slice(0, at).concat(p.max), stride: p.stride,
    };
  };
  const before = new Map(previous.layers.map(l => [l.name, l]));
  return {
    ...patch,
    loss: series(previous.loss, patch.loss),
    accuracy: series(previous.accuracy, patch.accuracy),
    globalNorm: series(previous.globalNorm, patch.globalNorm),
    clippedGlobalNorm: series(previous.clippedGlobalNorm, patch.clippedGlobalNorm),
    learningRate: series(previous.learningRate, patch.learningRate),
    layers: patch.layers.map(l => {
      const old = before.get(l.name);
      const { columnsFrom, ...layer } = l;
      let columns = layer.columns;
      if (columnsFrom !== undefined) {
        if (!old?.columns || old.columns.length < columnsFrom) throw new Error(`${l.name}: columns patch from ${columnsFrom} onto ${old?.columns?.length ?? 'nothing'}`);
        columns = old.columns.slice(0, columnsFrom).concat(layer.columns ?? []);
      }
      return { ...layer, norm: series(old?.norm, l.norm), updateRatio: series(old?.updateRatio, l.updateRatio), columns };
    }),
  };
}

export class RunHistory {
  runId = '';
  name = '';
  configPath?: string;
  runDir?: string;
  status: RunStatus | 'running' = 'running';
  reason?: string;
  backend?: BackendReport;
  dataset?: DatasetSummary;
  startedAt?: string;
  endedAt?: string;
  step = 0;
  epoch = 0;
  totalSteps = 0;
  stepsPerEpoch = 0;
  stepsPerSecond = 0;
  lastLoss?: number;
  lastAccuracy?: number;
  readonly loss = new Series();
  readonly accuracy = new Series();
  readonly validation: { step: number; loss: number; accuracy?: number }[] = [];
  readonly globalNorm = new Series();
  readonly clippedGlobalNorm = new Series();
  readonly learningRate = new Series();
  readonly findings = new Map<string, Finding>();
  firstNonFinite?: NonFiniteOrigin;
  clipping: { mode: string; threshold: number }[] = [];
  histogramRange: [number, number] = [-12, 4];
  histogramBins = 64;
  private readonly layers = new Map<string, LayerTrack>();
  private lastStepTime?: number;
  private monitoringCost?: { trainingMs: number; threadMs?: number; stepMs: number };
  /** Bumped on every change: consumers re-render only when it moved. */
  version = 0;

  static fromEvents(events: Iterable<RunEvent>): RunHistory {
    const h = new RunHistory();
    for (const e of events) h.apply(e);
    return h;
  }

  apply(e: RunEvent): void {
    this.version++;
    switch (e.type) {
      case 'run-start':
        this.runId = e.runId;
        this.name = e.config.name;
        this.configPath = e.configPath;
        this.runDir = e.runDir;
        this.backend = e.backend;
        this.dataset = e.dataset;
        this.startedAt = e.startedAt;
        this.totalSteps = e.totalSteps;
        this.stepsPerEpoch = e.stepsPerEpoch;
        this.clipping = e.config.clipping;
        this.histogramRange = e.config.monitor.histogramRange;
        this.histogramBins = e.config.monitor.histogramBins;
        for (const l of e.layers) {
          if (l.params === 0) continue;
          this.layers.set(l.name, {
            summary: l, norm: new Series(), updateRatio: new Series(), sparkline: [], columns: [], columnStride: 1, columnsSeen: 0,
          });
        }
        break;
      case 'step':
        this.step = e.step;
        this.epoch = e.epoch;
        this.lastLoss = e.loss;
        this.lastAccuracy = e.accuracy;
        this.loss.push(e.step, e.loss);
        if (e.accuracy !== undefined) this.accuracy.push(e.step, e.accuracy);
        this.learningRate.push(e.step, e.learningRate);
        if (e.globalNorm !== undefined) this.globalNorm.push(e.step, e.globalNorm);
        if (e.clippedGlobalNorm !== undefined) this.clippedGlobalNorm.push(e.step, e.clippedGlobalNorm);
        if (e.nonFinite && !this.firstNonFinite) this.firstNonFinite = e.nonFinite;
        // Steps per second from wall-clock time between steps (includes statistics and logging), smoothed.
        if (this.lastStepTime !== undefined && e.time > this.lastStepTime) {
          const rate = 1000 / (e.time - this.lastStepTime);
          this.stepsPerSecond = this.stepsPerSecond ? 0.9 * this.stepsPerSecond + 0.1 * rate : rate;
        } else if (!this.stepsPerSecond && e.stepMs > 0) this.stepsPerSecond = 1000 / e.stepMs;
        this.lastStepTime = e.time;
        if (e.stats && e.stepMs > 0) {
          const m = this.monitoringCost;
          const avg = (a: number | undefined, x: number | undefined) => (x === undefined ? a : a === undefined ? x : 0.95 * a + 0.05 * x);
          this.monitoringCost = { trainingMs: avg(m?.trainingMs, e.stats.statsMs)!, threadMs: avg(m?.threadMs, e.stats.threadMs), stepMs: avg(m?.stepMs, e.stepMs)! };
        }
        for (const l of e.stats?.layers ?? []) this.applyLayer(e.step, l);
        break;
      case 'validation':
        this.validation.push({ step: e.step, loss: e.loss, accuracy: e.accuracy });
        if (this.validation.length > SERIES_CAPACITY) this.validation.splice(0, this.validation.length - SERIES_CAPACITY);
        break;
      case 'epoch-end':
        if (e.valLoss !== undefined && !this.validation.some(v => v.step === e.step)) {
          this.validation.push({ step: e.step, loss: e.valLoss, accuracy: e.valAccuracy });
        }
        break;
      case 'finding':
        this.findings.set(e.finding.id, e.finding);
        break;
      case 'run-end':
        this.status = e.summary.status;
        this.reason = e.summary.reason;
        this.endedAt = e.summary.endedAt;
        this.firstNonFinite ??= e.summary.firstNonFinite;
        for (const f of e.summary.findings) this.findings.set(f.id, f);
        if (e.summary.stepsPerSecond) this.stepsPerSecond = e.summary.stepsPerSecond;
        break;
      case 'message':
        break;
    }
  }

  private applyLayer(step: number, l: LayerStats): void {
    let t = this.layers.get(l.layer);
    if (!t) {
      const summary: LayerSummary = { name: l.layer, index: l.index, type: l.type, outputShape: [], params: l.grad.size, variables: [] };
      this.layers.set(l.layer, (t = { summary, norm: new Series(), updateRatio: new Series(), sparkline: [], columns: [], columnStride: 1, columnsSeen: 0 }));
    }
    t.norm.push(step, l.gradNorm);
    t.updateRatio.push(step, l.updateRatio);
    t.sparkline.push(displayed(l.gradNorm));
    if (t.sparkline.length > SPARKLINE_LENGTH) t.sparkline.shift();
    t.latest = {
      step,
      gradNorm: enc(l.gradNorm), mean: enc(l.grad.mean), std: enc(l.grad.std), maxAbs: enc(l.grad.maxAbs),
      zeroFraction: l.grad.zeroFraction, nanCount: l.grad.nanCount, infCount: l.grad.infCount,
      weightNorm: enc(l.weightNorm), updateRatio: enc(l.updateRatio),
      activation: l.activation && {
        activation: l.activation.activation, zeroFraction: l.activation.zeroFraction,
        deadUnitFraction: l.activation.deadUnitFraction, saturatedFraction: l.activation.saturatedFraction,
      },
    };
    const h = l.grad.histogram;
    if (h) {
      t.histogram = h;
      // Distribution over time: one column every `columnStride` histograms; when full, every other column goes
      // and the stride doubles. Columns with NaN/Inf are always kept: they are what the view is for.
      const keep = t.columnsSeen % t.columnStride === 0 || h.nan + h.posInf + h.negInf > 0;
      t.columnsSeen++;
      if (keep) {
        t.columns.push({ step, counts: h.counts, zeros: h.zeros, underflow: h.underflow, overflow: h.overflow, nan: h.nan, inf: h.posInf + h.negInf });
        if (t.columns.length > HEATMAP_CAPACITY) {
          t.columns = t.columns.filter((c, i) => i % 2 === 0 || c.nan + c.inf > 0 || i === t!.columns.length - 1);
          t.columnStride *= 2;
        }
      }
    }
  }

  health(layer: string): LayerHealth {
    let best: LayerHealth = 'ok';
    for (const f of this.findings.values()) {
      if ((f.layer !== layer && !f.layers?.some(l => l.name === layer)) || f.severity === 'info') continue;
      const h = HEALTH_OF_KIND[f.kind];
      if (h && HEALTH_RANK[h] < HEALTH_RANK[best]) best = h;
    }
    const latest = this.layers.get(layer)?.latest;
    if (latest && latest.nanCount + latest.infCount > 0) best = 'nonFinite';
    return best;
  }

  layerNames(): string[] {
    return [...this.layers.values()].sort((a, b) => a.summary.index - b.summary.index).map(t => t.summary.name);
  }

  /** The sidebar's view of the run: the snapshot without per-layer series, histograms or distributions. */
  glance(): Omit<RunSnapshot, 'layers'> & { layers: Omit<RunSnapshot['layers'][number], 'columns' | 'histogram' | 'norm' | 'updateRatio'>[] } {
    const { layers: _l, ...rest } = this.snapshot({ columnsFor: [], withoutLayers: true });
    return {
      ...rest,
      layers: [...this.layers.values()].sort((a, b) => a.summary.index - b.summary.index).map(t => ({
        name: t.summary.name, index: t.summary.index, type: t.summary.type, activation: t.summary.activation, params: t.summary.params,
        health: this.health(t.summary.name), sparkline: t.sparkline.map(enc), latest: t.latest,
      })),
    };
  }

  snapshot(options: SnapshotOptions = {}): RunSnapshot {
    const want = options.columnsFor ? new Set(options.columnsFor) : undefined;
    const cursor = options.cursor;
    if (cursor && cursor.history !== this) cursor.reset(this);
    const out = (s: Series) => (cursor ? cursor.series(s) : s.toJSON());
    const columnsOf = (t: LayerTrack) => {
      const wanted = !want || want.has(t.summary.name);
      return cursor ? cursor.columnsOf(t.summary.name, wanted ? t.columns : undefined) : { columns: wanted ? t.columns : undefined };
    };
    return {
      runId: this.runId, name: this.name, configPath: this.configPath, runDir: this.runDir,
      status: this.status, reason: this.reason, backend: this.backend, dataset: this.dataset,
      startedAt: this.startedAt, endedAt: this.endedAt,
      step: this.step, epoch: this.epoch, totalSteps: this.totalSteps, stepsPerEpoch: this.stepsPerEpoch,
      stepsPerSecond: this.stepsPerSecond,
      monitoringCost: this.monitoringCost && { ...this.monitoringCost },
      lastLoss: this.lastLoss === undefined ? undefined : enc(this.lastLoss), lastAccuracy: this.lastAccuracy,
      loss: out(this.loss), accuracy: out(this.accuracy),
      validation: this.validation.map(v => ({ step: v.step, loss: enc(v.loss), accuracy: v.accuracy })),
      globalNorm: out(this.globalNorm), clippedGlobalNorm: out(this.clippedGlobalNorm), learningRate: out(this.learningRate),
      clipping: this.clipping,
      layers: options.withoutLayers ? [] : [...this.layers.values()].sort((a, b) => a.summary.index - b.summary.index).map(t => ({
        name: t.summary.name, index: t.summary.index, type: t.summary.type, activation: t.summary.activation, params: t.summary.params,
        health: this.health(t.summary.name),
        norm: out(t.norm),
        updateRatio: options.forPanel ? EMPTY_SERIES : out(t.updateRatio),
        sparkline: options.forPanel ? [] : t.sparkline.map(enc),
        // The latest histogram only where the panel can show it (the selected layer comes first in columnsFor).
        latest: t.latest, histogram: !want || want.has(t.summary.name) ? t.histogram : undefined,
        ...columnsOf(t),
      })),
      findings: [...this.findings.values()],
      firstNonFinite: this.firstNonFinite,
      histogramRange: this.histogramRange,
      histogramBins: this.histogramBins,
    };
  }
}
