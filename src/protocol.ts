// The typed messages between the training worker, the extension host and the webviews, in one place.
// Also the shapes of what a run records (statistics, findings), since those cross every boundary.
// No runtime dependencies: imported by the engine, the worker, the host and the browser bundle alike.

import type { BackendName, ClippingConfig, LayerType, ResolvedConfig } from './config/types';
import type { RunSnapshot } from './history/runHistory';

// ---------------------------------------------------------------------------------------------------
// Statistics

/**
 * Histogram of log10|x| over fixed edges (so steps can be compared). Bin k holds values with
 * edge[k] ≤ |x| < edge[k+1], edge[k] = float32(10^(lo + k·(hi−lo)/bins)). Nothing is dropped:
 * exact zeros, values below 10^lo, at or above 10^hi, NaN and ±Inf are counted separately.
 */
export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
  zeros: number;
  underflow: number;
  overflow: number;
  nan: number;
  posInf: number;
  negInf: number;
}

/** Statistics of one tensor. Non-finite values are counted and left out of the moments. */
export interface TensorStats {
  size: number;
  norm: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  maxAbs: number;
  zeroFraction: number;
  nanCount: number;
  infCount: number;
  /** Absent in run logs for steps whose detail was compacted away (see runlog.ts). */
  histogram?: Histogram;
}

export interface VariableStats {
  /** The variable's name in the model, e.g. `lstm_1/kernel`. */
  name: string;
  shape: number[];
  grad: TensorStats;
  weightNorm: number;
  /** ‖w_after − w_before‖ of this step's update. */
  updateNorm: number;
  weightNonFinite: number;
}

/** What a layer's outputs looked like in the forward pass (for dead-ReLU and saturation rules). */
export interface ActivationStats {
  activation: string;
  /** Fraction of outputs exactly zero (relu family). */
  zeroFraction: number;
  /** Fraction of units that were zero for every example of the batch (dead units). */
  deadUnitFraction: number;
  /** Fraction of outputs in the saturated region (sigmoid/tanh: pre-activation |x| ≥ 5). */
  saturatedFraction: number;
  mean: number;
  std: number;
}

export interface LayerStats {
  layer: string;
  /** Position in the config's `model` array (what diagnostics point at). */
  index: number;
  type: LayerType;
  /** L2 norm of all the layer's gradients together (before clipping). */
  gradNorm: number;
  /** Aggregate over the layer's variables. */
  grad: TensorStats;
  weightNorm: number;
  updateNorm: number;
  /** updateNorm / weightNorm: healthy around 1e-3 (Karpathy); outside [1e-5, 1e-1] is suspicious. */
  updateRatio: number;
  variables: VariableStats[];
  activation?: ActivationStats;
}

export interface StepStats {
  globalNorm: number;
  /** Global norm after clipping (equal to globalNorm when no clipping applies). */
  clippedGlobalNorm: number;
  layers: LayerStats[];
  /** Milliseconds the training thread spent on these statistics (the cost of watching). */
  statsMs: number;
  /** Milliseconds the monitor thread spent computing them, when it did (off the training thread). */
  threadMs?: number;
}

// ---------------------------------------------------------------------------------------------------
// Diagnosis

export type FindingKind =
  | 'explosion' | 'vanishing' | 'nonFinite' | 'deadRelu' | 'saturation'
  | 'lossDivergence' | 'lossOscillation' | 'lossPlateau' | 'updateRatio' | 'preflight';

export type Severity = 'error' | 'warning' | 'info';

export type JsonPath = (string | number)[];

/** One edit of the config: set `path` to `value` (undefined removes it); `insert` inserts into an array. */
export interface ConfigEdit {
  path: JsonPath;
  value: unknown;
  insert?: boolean;
}

export interface SuggestedFix {
  id: string;
  title: string;
  reason: string;
  edits: ConfigEdit[];
}

export interface FindingLayer {
  name: string;
  index: number;
}

export interface Finding {
  /** Stable across the run for the same rule and layer (used to update a finding as it evolves). */
  id: string;
  rule: string;
  kind: FindingKind;
  severity: Severity;
  /** Short statement, e.g. "Exploding gradients in lstm_1 from step 212". */
  title: string;
  /** Plain-language explanation of what it means and why it matters. */
  explanation: string;
  layer?: string;
  layerIndex?: number;
  /**
   * Every layer the finding concerns, `layer` first, when it is more than one (layers whose norms spiked with it,
   * the layers a vanishing gradient, dying ReLUs or saturation affect): each is marked in the layer lists, and the
   * config's diagnostic points at each entry. `index` is the layer's place in the config's "model".
   */
  layers?: FindingLayer[];
  firstStep?: number;
  lastStep?: number;
  evidence: Record<string, number | string>;
  /** Where in the config it belongs (for diagnostics). */
  jsonPath: JsonPath;
  fixes: SuggestedFix[];
  /** Link to the rule's documentation. */
  docs?: string;
}

// ---------------------------------------------------------------------------------------------------
// Run events: what the engine emits, the run log stores (one JSON line each) and the UI renders.

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  reason?: string;
  ms?: number;
}

export interface BackendReport {
  name: BackendName;
  /** Why this one: "auto: fastest that loaded", "config", "--backend". */
  chosenBy: string;
  attempts: BackendAttempt[];
  /** Kernels the project registered on top of stock tfjs for this backend. */
  customKernels: string[];
  simd?: boolean;
  /** When the native backend is missing: how to get it. */
  hint?: string;
}

export interface LayerSummary {
  name: string;
  index: number;
  type: LayerType;
  activation?: string;
  outputShape: (number | null)[];
  params: number;
  variables: { name: string; shape: number[] }[];
}

export interface DatasetSummary {
  description: string;
  trainExamples: number;
  validationExamples: number;
  inputShape: number[];
  classes?: number;
  labelNames?: string[];
  vocabularySize?: number;
}

export interface RunStartEvent {
  type: 'run-start';
  runId: string;
  runDir?: string;
  configPath?: string;
  config: ResolvedConfig;
  backend: BackendReport;
  layers: LayerSummary[];
  dataset: DatasetSummary;
  totalSteps: number;
  stepsPerEpoch: number;
  startedAt: string;
}

export interface StepEvent {
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  accuracy?: number;
  learningRate: number;
  /** Global gradient norm before/after clipping (present when known for this step). */
  globalNorm?: number;
  clippedGlobalNorm?: number;
  stats?: StepStats;
  /** Set at the first step with NaN/Inf: where it appeared first (forward pass, gradients, weights or just the loss). */
  nonFinite?: NonFiniteOrigin;
  stepMs: number;
  time: number;
}

export interface NonFiniteOrigin {
  step: number;
  where: 'loss' | 'forward' | 'gradient' | 'weight';
  /** forward: the first layer whose output was non-finite; gradient: the first layer in backward order. */
  layer?: string;
}

export interface ValidationEvent {
  type: 'validation';
  step: number;
  epoch: number;
  loss: number;
  accuracy?: number;
}

export interface EpochEvent {
  type: 'epoch-end';
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface FindingEvent {
  type: 'finding';
  step: number;
  finding: Finding;
}

export interface MessageEvent {
  type: 'message';
  level: 'info' | 'warning' | 'error';
  text: string;
}

export type RunStatus = 'completed' | 'stopped' | 'halted' | 'failed';

export interface RunSummary {
  runId: string;
  name: string;
  status: RunStatus;
  reason?: string;
  backend: BackendName;
  steps: number;
  epochs: number;
  finalLoss?: number;
  finalAccuracy?: number;
  finalValLoss?: number;
  finalValAccuracy?: number;
  /** Per layer: last and median gradient norm over the run. */
  layers: { layer: string; index: number; lastGradNorm: number; medianGradNorm: number; nonFinite: boolean }[];
  findings: Finding[];
  firstNonFinite?: NonFiniteOrigin;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  stepsPerSecond: number;
}

export interface RunEndEvent {
  type: 'run-end';
  summary: RunSummary;
}

export type RunEvent =
  | RunStartEvent | StepEvent | ValidationEvent | EpochEvent | FindingEvent | MessageEvent | RunEndEvent;

// ---------------------------------------------------------------------------------------------------
// Extension host ⇄ training worker (child process IPC)

export interface TrainRequest {
  type: 'train';
  configPath: string;
  workspaceRoot: string;
  maxSteps?: number;
  backend?: BackendName | 'auto';
}

export interface GradCheckRequest {
  type: 'gradcheck';
  configPath: string;
  workspaceRoot: string;
  backend?: BackendName | 'auto';
}

export type HostToWorker = TrainRequest | GradCheckRequest | { type: 'stop'; reason?: string } | { type: 'ping' };

export interface GradCheckLayerResult {
  layer: string;
  index: number;
  variables: { name: string; checked: number; maxRelativeError: number; maxAbsoluteError: number }[];
  maxRelativeError: number;
}

export interface GradCheckResult {
  backend: BackendName;
  epsilon: number;
  layers: GradCheckLayerResult[];
  worstRelativeError: number;
  passed: boolean;
  tolerance: number;
}

export interface ConfigProblemPayload {
  message: string;
  jsonPath: JsonPath;
  file: string;
  line: number;
  column: number;
}

export type WorkerToHost =
  | { type: 'ready'; pid: number; node: string }
  | { type: 'event'; event: RunEvent }
  /** Events in order, batched by the monitor thread (one IPC message for many fast steps). */
  | { type: 'events'; events: RunEvent[] }
  | { type: 'gradcheck-result'; result: GradCheckResult }
  | { type: 'config-error'; problems: ConfigProblemPayload[] }
  | { type: 'fatal'; message: string; stack?: string }
  | { type: 'pong' };

// ---------------------------------------------------------------------------------------------------
// Training thread ⇄ monitor thread (worker_threads, inside the training process; src/engine/monitorThread.ts).
// The trainer copies a monitored step's gradients and layer outputs into a buffer it moves to the thread with
// the rest of the step (the thread hands the buffer back once read); the monitor thread computes the statistics
// and runs the log and the diagnosis. `seq` numbers every message: the thread stores the last one it finished in
// the shared control array, which the trainer waits on.

/** What the statistics need to know of the model, as plain data. */
export interface StepLayout {
  groups: {
    name: string;
    index: number;
    type: LayerType;
    /** The activation applied to the layer's output, when its statistics are watched. */
    activation?: string;
    variables: { name: string; shape: number[]; size: number }[];
  }[];
  clipping: ClippingConfig[];
}

/** Which events the watcher of a run gets: all of them as they are, thinned for the extension host, or none. */
export type EventView = 'all' | 'host' | 'none';

export interface RecorderInit {
  config: ResolvedConfig;
  layers: LayerSummary[];
  /** The run folder the log goes to (already created by RunLogWriter.create); none: not logged. */
  logDir?: string;
  view: EventView;
}

/** How the trainer ended, for the summary. */
export interface RunEnd {
  status: RunStatus;
  reason?: string;
  steps: number;
  epochs: number;
  firstNonFinite?: NonFiniteOrigin;
  lastLoss?: number;
  lastAccuracy?: number;
  lastValLoss?: number;
  lastValAccuracy?: number;
}

/**
 * The end of a MessageChannel (worker_threads' MessagePort) through which the monitor thread hands each step's
 * buffer back to the trainer once it has read it; the trainer takes them off its end synchronously.
 */
export interface BufferReturnPort {
  postMessage(buffer: ArrayBuffer, transfer: ArrayBuffer[]): void;
}

/** A monitored step as the trainer hands it over: the arrays are in `buffer`, at these offsets. */
export interface RawStepMessage {
  type: 'step';
  seq: number;
  /**
   * The step's gradients and watched outputs, moved to the thread (a transfer: nothing is copied) and handed
   * back through the init message's `returns` port once read. Only the parts' ranges are meaningful.
   */
  buffer: ArrayBuffer;
  step: number;
  epoch: number;
  loss: number;
  accuracy?: number;
  learningRate: number;
  stepMs: number;
  time: number;
  /** Milliseconds the training thread spent on monitoring this step (copies, weight norms). */
  statsMs: number;
  /** Per variable in layout order: ‖w‖², ‖Δw‖², non-finite weights (measured by the update). */
  weightNorms: { sumSq: number; diffSq: number; nonFinite: number }[];
  /**
   * Per variable in layout order: where its gradient is in the buffer (in floats), and how many of its values are
   * zeros left out (a mostly-zero gradient is handed over as its nonzero part: wasm_stats.ts packNonzero).
   */
  gradients: { offset: number; length: number; zeros: number }[];
  /**
   * Per layout group: where its output is in the buffer; or, when the trainer summed it on the wasm heap (one SIMD
   * pass instead of copying the output: wasm_stats.ts activationSums), those sums; null when it is not watched.
   */
  activations: ({ offset: number; length: number; units: number } | { sums: ActivationSums; length: number; units: number } | null)[];
}

/** The sums behind a layer output's activation statistics (stepStats.ts activationSumsOf). */
export interface ActivationSums {
  sum: number;
  sumSq: number;
  zeros: number;
  saturated: number;
  /** Units (last axis) that were zero for every row. */
  dead: number;
}

export type TrainerToMonitor =
  | {
    type: 'init'; control: SharedArrayBuffer; returns: BufferReturnPort; recorder: RecorderInit; layout: StepLayout;
    histogram: { lo: number; hi: number; bins: number }; valueClip: number;
    /** The SIMD statistics module (wasm_simd.ts simdModuleBytes), when WebAssembly SIMD is there. */
    simdModule?: Uint8Array;
  }
  | { type: 'event'; seq: number; event: RunEvent }
  | RawStepMessage
  | { type: 'end'; seq: number; end: RunEnd; endedAt: string };

export type MonitorToTrainer =
  | { type: 'events'; events: RunEvent[] }
  | { type: 'ended'; summary: RunSummary; events: RunEvent[] }
  | { type: 'failed'; message: string };

// ---------------------------------------------------------------------------------------------------
// Extension host ⇄ webviews (gradient panel, sidebar monitor). The host keeps each run's history and sends
// complete snapshots (throttled), never deltas a hidden or reloaded webview could have missed; a webview says
// "ready" before the host sends anything.

export type { RunSnapshot };

export interface RunListEntry {
  runId: string;
  name: string;
  status: RunStatus | 'running';
  startedAt?: string;
  live: boolean;
}

/** What the panel shows; kept in the webview's state and restored by the serializer. */
export interface PanelViewState {
  runId?: string;
  /** Layers shown (empty or absent: all). */
  layers?: string[];
  /** Layer shown in the histogram and distribution views. */
  selectedLayer?: string;
  /** Step the scrubber looks at; absent: follow the latest step live. */
  scrubStep?: number;
}

export type HostToPanel =
  /**
   * The run on screen. `seq` numbers the snapshots; one with `base` is a patch on snapshot `base` (series and
   * columns continue what the webview has: applySnapshotPatch), one without is complete. A webview that does not
   * hold `base` answers `resync`.
   */
  | { type: 'snapshot'; seq: number; base?: number; run?: RunSnapshot; runs: RunListEntry[]; view: PanelViewState }
  /** Select a layer, and look at a step when given (without a step the panel stays live). */
  | { type: 'focus'; step?: number; layer?: string; findingId?: string }
  /** Asks the panel for a chart as PNG; it answers with `exportPng`. */
  | { type: 'exportRequest'; chart: 'norms' | 'loss' | 'histogram' | 'distribution' };

export type PanelToHost =
  | { type: 'ready'; view?: PanelViewState }
  /** The webview could not apply a patch (it does not hold its base): the next snapshot must be complete. */
  | { type: 'resync' }
  | { type: 'view'; view: PanelViewState }
  | { type: 'applyFix'; runId: string; findingId: string; fixId: string; retrain?: boolean }
  | { type: 'revealFinding'; runId: string; findingId: string }
  | { type: 'exportPng'; chart: string; dataUrl: string }
  | { type: 'command'; command: 'stop' | 'train' | 'export' }
  /** Rendering cost of the last snapshot, for the responsiveness benchmark. */
  /**
   * A snapshot drawn, over `frames` animation frames (a streamed one goes a slice per frame; see main.ts): `ms` is
   * the script of all of them (taking it in, charts, DOM); `frameMs` runs from the first to the end of the last frame
   * (style, layout, paint and canvas rasterization on the webview's main thread included): the time until the whole
   * snapshot shows. `longestFrameMs`: the longest of those frames, from its script's start to its end: what decides
   * whether the page keeps 60 Hz (16 ms) while it updates; `slowest` names the parts drawn in it ('norms', 'page+norms…').
   */
  | ({ type: 'rendered' } & PanelRender);

/** What the panel reports of a snapshot it drew (PanelToHost 'rendered'), for the benchmarks. */
export interface PanelRender { ms: number; frameMs: number; longestFrameMs: number; slowest: string; frames: number; layers: number; points: number }

/** The sidebar's model: the current run without the heavy parts (no histograms or distribution columns). */
export interface SidebarModel {
  run?: Omit<RunSnapshot, 'layers'> & { layers: Omit<RunSnapshot['layers'][number], 'columns' | 'histogram' | 'norm' | 'updateRatio'>[] };
  trusted: boolean;
  /** How to get the native backend, when it is missing. */
  backendHint?: string;
  hasConfigs: boolean;
}

export type HostToSidebar = { type: 'snapshot'; model: SidebarModel };

export type SidebarToHost =
  | { type: 'ready' }
  | { type: 'command'; command: 'train' | 'stop' | 'openPanel' | 'newConfig' | 'openConfig' }
  | { type: 'applyFix'; runId: string; findingId: string; fixId: string; retrain?: boolean }
  | { type: 'revealFinding'; runId: string; findingId: string }
  | { type: 'focusLayer'; layer: string };

export function isMessage<T extends { type: string }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
