// Entry point of the data layer: turns the config's `data` section into train/validation arrays.

import type { DataConfig } from '../../config/types';
import { DataContext, DataError, Dataset } from './types';
import { generateSynthetic } from './synthetic';
import { loadCsvDataset, loadJsonlDataset } from './tabular';
import { loadIdxDataset } from './idx';

export { DataError } from './types';
export type { Dataset, DataSplit, DataContext } from './types';
export { DATA_DEFAULTS, DATA_LIMITS } from './defaults';
export { tokenize, buildVocabulary, encodeText, PAD_ID, OOV_ID } from './text';
export { parseCsvText, CsvParser } from './csv';
export { encodeIdx } from './idx';
export { resolveDataFile, isInside } from './paths';
export { planSplit } from './split';

const SOURCES = ['synthetic', 'csv', 'jsonl', 'idx'];

/**
 * Loads or generates the dataset a config describes. Every problem a user can fix is a DataError naming
 * the config key, the file and the line; reads are streamed and bounded (DATA_LIMITS).
 */
export async function loadDataset(config: DataConfig, ctx: DataContext): Promise<Dataset> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new DataError('data must be an object with a "source" (synthetic, csv, jsonl or idx)', ['data']);
  }
  switch (config.source) {
    case 'synthetic':
      return generateSynthetic(config, ctx);
    case 'csv':
      return loadCsvDataset(config, ctx);
    case 'jsonl':
      return loadJsonlDataset(config, ctx);
    case 'idx':
      return loadIdxDataset(config, ctx);
    default: {
      const source = (config as { source?: unknown }).source;
      throw new DataError(
        `data.source ${JSON.stringify(source) ?? 'is missing'}${source === undefined ? '' : ' is not supported'}; ` +
        `use one of ${SOURCES.map(s => `"${s}"`).join(', ')}`, ['data', 'source']);
    }
  }
}
