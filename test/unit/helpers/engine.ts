// Test helpers: one backend per test process (GRADMON_TEST_BACKEND, default wasm) and configs built from text.

import * as path from 'path';
import { analyzeConfig } from '../../../src/config';
import type { ResolvedConfig } from '../../../src/config/types';
import { selectBackend } from '../../../src/engine/backend';
import { loadDataset } from '../../../src/engine/data';
import type { Dataset } from '../../../src/engine/data/types';
import { buildModel, type BuiltModel } from '../../../src/engine/model';
import { Trainer, type TrainerResult } from '../../../src/engine/trainer';
import type { RunEvent, StepEvent } from '../../../src/protocol';

export const TEST_BACKEND = (process.env.GRADMON_TEST_BACKEND ?? 'wasm') as 'wasm' | 'cpu' | 'tensorflow';

export async function useTestBackend() {
  return selectBackend(TEST_BACKEND, 'test');
}

export function configFrom(text: string | object): ResolvedConfig {
  const r = analyzeConfig(typeof text === 'string' ? text : JSON.stringify(text), 'test.gradmon.json');
  if (!r.config) throw new Error('invalid test config: ' + r.problems.map(p => p.message).join('; '));
  return r.config;
}

export async function datasetFor(config: ResolvedConfig, dir = path.resolve(__dirname, '..', '..', '..', '..')): Promise<Dataset> {
  return loadDataset(config.data, { configDir: dir, workspaceRoot: dir, seed: config.seed });
}

export interface TrainedRun {
  result: TrainerResult;
  events: RunEvent[];
  steps: StepEvent[];
  built: BuiltModel;
  data: Dataset;
}

/** Trains a config in-process; the caller disposes `built` (or passes keep=false). */
export async function train(config: ResolvedConfig, options: { maxSteps?: number; keep?: boolean; data?: Dataset } = {}): Promise<TrainedRun> {
  const data = options.data ?? await datasetFor(config);
  const built = buildModel(config, data);
  const events: RunEvent[] = [];
  const trainer = new Trainer({ config, data, built, maxSteps: options.maxSteps, emit: e => { events.push(e); } });
  const result = await trainer.run();
  if (!options.keep) built.dispose();
  return { result, events, steps: events.filter((e): e is StepEvent => e.type === 'step'), built, data };
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
