// CSV and JSONL sources: text classification (textColumn) or numeric tables (featureColumns), one code path.

import type { CsvDataConfig, JsonlDataConfig } from '../../config/types';
import type { JsonPath } from '../../protocol';
import { DATA_DEFAULTS, DATA_LIMITS } from './defaults';
import { readCsvFile } from './csv';
import { fileError, lineError, quote } from './errors';
import { describeJsonValue, readJsonlFile } from './jsonl';
import { encodeLabels, LabelKindGuard, LabelValue, parseDecimal } from './labels';
import { readBool, readEnum, readInt, readOptionalString, readRequiredString, readSplitOptions } from './options';
import { DataFile, resolveDataFile } from './paths';
import { checkInputSize, planSplit, Reservoir, SplitBuffers } from './split';
import { buildVocabulary, encodeText, EncodingOptions, newEncodeStats, TokenizerOptions } from './text';
import { DataContext, DataError, Dataset } from './types';

const PATH_KEY: JsonPath = ['data', 'path'];
const LABEL_KEY: JsonPath = ['data', 'labelColumn'];
const TEXT_KEY: JsonPath = ['data', 'textColumn'];
const FEATURES_KEY: JsonPath = ['data', 'featureColumns'];

interface TabularSettings {
  labelColumn: string;
  textColumn?: string;
  featureColumns?: string[];
  validationSplit: number;
  maxExamples?: number;
  text?: TokenizerOptions & EncodingOptions & { vocabularySize: number };
}

/** Every option is checked before the file is opened: a typo should not cost a 500 MB read. */
function readSettings(config: CsvDataConfig | JsonlDataConfig): TabularSettings {
  const labelColumn = readRequiredString(config, 'labelColumn', 'the column (or JSON field) holding each example\'s label');
  const textColumn = readOptionalString(config, 'textColumn');
  let featureColumns: string[] | undefined;
  const fc = (config as { featureColumns?: unknown }).featureColumns;
  if (fc !== undefined && fc !== null) {
    if (!Array.isArray(fc) || fc.some(c => typeof c !== 'string')) {
      throw new DataError('data.featureColumns must be a list of column names', FEATURES_KEY);
    }
    if (fc.length > 0) featureColumns = fc as string[];
  }
  if (textColumn !== undefined && featureColumns) {
    throw new DataError(
      'set either data.textColumn (text classification) or data.featureColumns (a numeric table), not both',
      FEATURES_KEY);
  }
  if (textColumn !== undefined && textColumn === labelColumn) {
    throw new DataError(`data.textColumn and data.labelColumn are both '${labelColumn}'`, TEXT_KEY);
  }
  featureColumns?.forEach((c, i) => {
    if (c === labelColumn) {
      throw new DataError(`data.featureColumns includes the label column '${c}': the model would see the answer`,
        [...FEATURES_KEY, i]);
    }
    const j = featureColumns!.indexOf(c);
    if (j !== i) throw new DataError(`data.featureColumns lists '${c}' twice`, [...FEATURES_KEY, i]);
  });
  const split = readSplitOptions(config);
  const text = textColumn === undefined ? undefined : {
    // 2 = only padding and out-of-vocabulary: degenerate but well defined.
    vocabularySize: readInt(config, 'vocabularySize', DATA_DEFAULTS.vocabularySize, 2),
    sequenceLength: readInt(config, 'sequenceLength', DATA_DEFAULTS.textSequenceLength, 1),
    lowercase: readBool(config, 'lowercase', DATA_DEFAULTS.lowercase),
    truncating: readEnum(config, 'truncating', DATA_DEFAULTS.truncating, ['pre', 'post'] as const),
    padding: readEnum(config, 'padding', DATA_DEFAULTS.padding, ['pre', 'post'] as const),
  };
  return { labelColumn, textColumn, featureColumns, ...split, text };
}

/** Rows kept while streaming; with maxExamples a reservoir, so memory is bounded by maxExamples. */
class RowStore {
  readonly labels: LabelValue[] = [];
  readonly texts: string[] = [];
  private featureData: Float32Array;
  private readonly reservoir: Reservoir;

  constructor(readonly featureCount: number, maxExamples: number | undefined, seed: number, private readonly display: string) {
    this.reservoir = new Reservoir(maxExamples ?? Infinity, seed);
    // Start small and double: a wide table must not allocate hundreds of MB before its first row.
    this.featureData = new Float32Array(featureCount * Math.min(maxExamples ?? 64, 64));
  }

  get count(): number {
    return this.labels.length;
  }

  get rowsSeen(): number {
    return this.reservoir.rowsSeen;
  }

  /** Slot for the next row, or -1 when the reservoir drops it (it is still validated by the caller). */
  reserve(line: number): number {
    const slot = this.reservoir.next();
    if (slot >= 0 && this.featureCount > 0 && (slot + 1) * this.featureCount > this.featureData.length) {
      if ((slot + 1) * this.featureCount > DATA_LIMITS.maxInputValues) {
        throw lineError(this.display, line,
          `the table has more than ${DATA_LIMITS.maxInputValues.toExponential(2)} values (512 MB) by this row; ` +
          'set data.maxExamples to use a random sample of the rows', PATH_KEY);
      }
      const grown = new Float32Array(Math.min(this.featureData.length * 2, DATA_LIMITS.maxInputValues));
      grown.set(this.featureData);
      this.featureData = grown;
    }
    return slot;
  }

  set(slot: number, label: LabelValue, text?: string, features?: Float32Array): void {
    this.labels[slot] = label;
    if (text !== undefined) this.texts[slot] = text;
    if (features) this.featureData.set(features, slot * this.featureCount);
  }

  features(k: number): Float32Array {
    return this.featureData.subarray(k * this.featureCount, (k + 1) * this.featureCount);
  }
}

/** "label 'Label' … did you mean 'label'?" — the commonest miss is case or stray spaces. */
function columnHint(wanted: string, available: string[]): string {
  const close = available.find(c => c.trim().toLowerCase() === wanted.trim().toLowerCase());
  return close !== undefined ? ` Did you mean ${quote(close)}?` : '';
}

function listColumns(columns: string[]): string {
  const shown = columns.slice(0, 20).map(c => quote(c)).join(', ');
  return columns.length > 20 ? `${shown}, … (${columns.length} in all)` : shown;
}

function finishDataset(
  store: RowStore, settings: TabularSettings, file: DataFile, ctx: DataContext, featureNames: string[] | undefined,
): Dataset {
  const count = store.count;
  const labels = encodeLabels(store.labels, { display: file.display, column: settings.labelColumn, jsonPath: LABEL_KEY });
  const plan = planSplit(count, settings.validationSplit, undefined, ctx.seed, ['data', 'validationSplit']);
  const regression = labels.task === 'regression';
  const yOf = (k: number) => labels.y.subarray(k, k + 1);
  const sampled = store.rowsSeen > count ? ` (a random ${count} of ${store.rowsSeen} rows, data.maxExamples)` : '';
  const labelSummary = regression
    ? `regression on '${settings.labelColumn}'`
    : `${labels.numClasses} classes (${labels.labelNames!.slice(0, 5).join(', ')}${labels.numClasses! > 5 ? ', …' : ''})`;
  const splitSummary = `${plan.trainCount} train / ${plan.validationCount} validation`;
  const common = {
    task: labels.task,
    ...(regression ? { targetSize: 1 } : { numClasses: labels.numClasses, labelNames: labels.labelNames }),
  };

  if (settings.text) {
    const t = settings.text;
    checkInputSize(count, t.sequenceLength, ['data', 'sequenceLength'], file.display);
    function* trainTexts(): Generator<string> {
      for (let k = 0; k < count; k++) if (plan.slotOf[k] < plan.trainCount) yield store.texts[k];
    }
    const vocabulary = buildVocabulary(trainTexts(), t.vocabularySize, t);
    const buffers = new SplitBuffers(plan, t.sequenceLength, 1, 'int32', regression ? 'float32' : 'int32');
    const stats = newEncodeStats();
    for (let k = 0; k < count; k++) {
      const at = buffers.locate(k)!;
      encodeText(store.texts[k], vocabulary, t, t, at.split.x as Int32Array, at.row * t.sequenceLength, stats);
      at.split.y.set(yOf(k), at.row);
    }
    const pct = (a: number, b: number) => (b === 0 ? 0 : (100 * a) / b).toFixed(1);
    return {
      ...common,
      inputShape: [t.sequenceLength],
      inputDtype: 'int32',
      vocabularySize: vocabulary.words.length,
      vocabulary: vocabulary.words,
      train: buffers.train,
      validation: buffers.validation,
      description:
        `${file.display}: ${count} texts${sampled}, ${labelSummary}, vocabulary ${vocabulary.words.length} ` +
        `(of ${vocabulary.distinctWords} distinct training words), ${t.sequenceLength} tokens per text ` +
        `(${pct(stats.truncatedTexts, count)} % of texts cut, ${pct(stats.oovTokens, stats.tokens)} % of tokens ` +
        `out of vocabulary); ${splitSummary}`,
    };
  }

  const F = store.featureCount;
  const buffers = new SplitBuffers(plan, F, 1, 'float32', regression ? 'float32' : 'int32');
  for (let k = 0; k < count; k++) buffers.put(k, store.features(k), yOf(k));
  const names = featureNames!.length > 6 ? `${featureNames!.slice(0, 6).join(', ')}, …` : featureNames!.join(', ');
  return {
    ...common,
    inputShape: [F],
    inputDtype: 'float32',
    train: buffers.train,
    validation: buffers.validation,
    // Features are passed through unscaled on purpose: badly scaled inputs are one of the gradient
    // problems this tool exists to show, so the data layer must not hide them.
    description: `${file.display}: ${count} rows${sampled} × ${F} features (${names}), ${labelSummary}; ${splitSummary}`,
  };
}

export async function loadCsvDataset(config: CsvDataConfig, ctx: DataContext): Promise<Dataset> {
  const settings = readSettings(config);
  const delimiter = (config as { delimiter?: unknown }).delimiter ?? DATA_DEFAULTS.delimiter;
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new DataError(
      `data.delimiter must be one character other than a quote or line break, e.g. ",", ";" or "\\t" (got ${JSON.stringify(delimiter)})`,
      ['data', 'delimiter']);
  }
  const file = await resolveDataFile(config.path, PATH_KEY, ctx);
  if (file.size === 0) {
    throw fileError(file.display, 'is empty. A CSV needs a header row naming the columns, then one row per example', PATH_KEY);
  }
  const guard = new LabelKindGuard(file.display, settings.labelColumn, LABEL_KEY);
  let header: string[] | undefined;
  let headerLine = 0;
  let labelIndex = -1;
  let textIndex = -1;
  let featureIndices: number[] = [];
  let featureNames: string[] = [];
  let store: RowStore | undefined;
  let scratch = new Float32Array(0);
  const delimiterName = delimiter === '\t' ? 'tab' : `'${delimiter}'`;

  // Column positions by name, built once: a search per feature column was quadratic, 10 s for 50 000 columns.
  let positions = new Map<string, number[]>();
  const findColumn = (name: string, jsonPath: JsonPath, role: string): number => {
    const h = header!;
    const found = positions.get(name);
    const at = found ? found[0] : -1;
    if (at < 0) {
      let hint = columnHint(name, h);
      const other = [',', ';', '\t', '|'].find(d => d !== delimiter && h.length === 1 && h[0].includes(d));
      if (other) {
        hint += ` The header is a single column: is the delimiter ${other === '\t' ? 'a tab' : `'${other}'`}? ` +
          'Set data.delimiter.';
      }
      throw lineError(file.display, headerLine,
        `the header has no column ${quote(name)} (the ${role}). Columns: ${listColumns(h)}.${hint}`, jsonPath);
    }
    if (found!.length > 1) {
      throw lineError(file.display, headerLine,
        `the header has two columns named ${quote(name)} (columns ${at + 1} and ${found![1] + 1}); ` +
        'rename one so the choice is unambiguous', jsonPath);
    }
    return at;
  };

  await readCsvFile(file, delimiter, PATH_KEY, record => {
    if (!header) {
      header = record.fields;
      headerLine = record.line;
      positions = new Map();
      header.forEach((name, i) => {
        const list = positions.get(name);
        if (list) list.push(i);
        else positions.set(name, [i]);
      });
      labelIndex = findColumn(settings.labelColumn, LABEL_KEY, 'labelColumn');
      if (settings.textColumn !== undefined) {
        textIndex = findColumn(settings.textColumn, TEXT_KEY, 'textColumn');
      } else {
        featureNames = settings.featureColumns ?? header.filter((_, i) => i !== labelIndex);
        featureIndices = featureNames.map((name, i) =>
          findColumn(name, settings.featureColumns ? [...FEATURES_KEY, i] : PATH_KEY, 'feature column'));
        if (featureIndices.length === 0) {
          throw lineError(file.display, headerLine,
            'the header has only the label column: add feature columns, or name a text column in data.textColumn',
            TEXT_KEY);
        }
        scratch = new Float32Array(featureIndices.length);
      }
      store = new RowStore(featureIndices.length, settings.maxExamples, ctx.seed, file.display);
      return;
    }
    const { fields, line } = record;
    if (fields.length !== header.length) {
      throw lineError(file.display, line,
        `has ${fields.length} field${fields.length === 1 ? '' : 's'} but the header (line ${headerLine}) has ` +
        `${header.length}. A field that contains the delimiter (${delimiterName}), a quote or a line break must be ` +
        'enclosed in double quotes', PATH_KEY);
    }
    const labelCell = fields[labelIndex].trim();
    if (labelCell === '') {
      throw lineError(file.display, line,
        `the label (column '${settings.labelColumn}') is empty; every example needs a label — fill it in or drop the row`,
        LABEL_KEY);
    }
    // Labels are trimmed ("spam " is "spam"); a cell that is a decimal number is a number.
    const label: LabelValue = parseDecimal(labelCell) ?? labelCell;
    guard.check(label, line);
    const slot = store!.reserve(line);
    if (textIndex >= 0) {
      if (slot >= 0) store!.set(slot, label, fields[textIndex]);
      return;
    }
    for (let f = 0; f < featureIndices.length; f++) {
      const cell = fields[featureIndices[f]];
      const value = parseDecimal(cell);
      if (value === undefined) {
        const what = cell.trim() === '' ? 'is empty (a missing value); fill it in or drop the row'
          : `is ${quote(cell)}, not a number`;
        const fix = settings.featureColumns ? '' :
          '. Every column but the label is a feature by default: list the numeric ones in data.featureColumns, ' +
          'or set data.textColumn for a text column';
        throw lineError(file.display, line, `column ${quote(featureNames[f])} ${what}${fix}`,
          settings.featureColumns ? [...FEATURES_KEY, f] : PATH_KEY);
      }
      scratch[f] = value;
    }
    if (slot >= 0) store!.set(slot, label, undefined, scratch);
  });

  if (!header) {
    throw fileError(file.display, 'has no header row (only blank lines). A CSV needs a header row naming the columns',
      PATH_KEY);
  }
  if (store!.count === 0) {
    throw lineError(file.display, headerLine, 'the header is the only row: the file has no examples', PATH_KEY);
  }
  return finishDataset(store!, settings, file, ctx, featureNames);
}

export async function loadJsonlDataset(config: JsonlDataConfig, ctx: DataContext): Promise<Dataset> {
  const settings = readSettings(config);
  const file = await resolveDataFile(config.path, PATH_KEY, ctx);
  if (file.size === 0) {
    throw fileError(file.display, 'is empty. JSON Lines needs one object per line, e.g. {"text": "…", "label": "…"}',
      PATH_KEY);
  }
  const guard = new LabelKindGuard(file.display, settings.labelColumn, LABEL_KEY);
  let store: RowStore | undefined;
  let featureNames: string[] = [];
  let scratch = new Float32Array(0);
  const { labelColumn, textColumn } = settings;

  const missing = (object: Record<string, unknown>, field: string, line: number, jsonPath: JsonPath) => lineError(
    file.display, line,
    `has no field ${quote(field)}. Its fields: ${listColumns(Object.keys(object))}.${columnHint(field, Object.keys(object))}`,
    jsonPath);

  await readJsonlFile(file, PATH_KEY, (object, line) => {
    if (!store) {
      if (textColumn === undefined) {
        // Default features: the first object's fields but the label, in their written order.
        featureNames = settings.featureColumns ?? Object.keys(object).filter(k => k !== labelColumn);
        if (featureNames.length === 0) {
          throw lineError(file.display, line,
            'has only the label field: add numeric feature fields, or name a text field in data.textColumn', TEXT_KEY);
        }
        scratch = new Float32Array(featureNames.length);
      }
      store = new RowStore(featureNames.length, settings.maxExamples, ctx.seed, file.display);
    }
    // Own fields only: `in` would find Object.prototype's "constructor" or "toString" in every line.
    if (!Object.hasOwn(object, labelColumn)) throw missing(object, labelColumn, line, LABEL_KEY);
    const label = object[labelColumn];
    if (typeof label !== 'string' && typeof label !== 'boolean' && !(typeof label === 'number' && Number.isFinite(label))) {
      throw lineError(file.display, line,
        `field ${quote(labelColumn)} holds ${describeJsonValue(label)}; a label must be a string, a number or a boolean`,
        LABEL_KEY);
    }
    if (label === '' || (typeof label === 'string' && label.trim() === '')) {
      throw lineError(file.display, line, `the label (field '${labelColumn}') is empty; every example needs a label`,
        LABEL_KEY);
    }
    guard.check(label, line);
    const slot = store.reserve(line);
    if (textColumn !== undefined) {
      if (!Object.hasOwn(object, textColumn)) throw missing(object, textColumn, line, TEXT_KEY);
      const text = object[textColumn];
      if (typeof text !== 'string') {
        throw lineError(file.display, line,
          `field ${quote(textColumn)} holds ${describeJsonValue(text)}; the text field must be a string`, TEXT_KEY);
      }
      if (slot >= 0) store.set(slot, label, text);
      return;
    }
    for (let f = 0; f < featureNames.length; f++) {
      const name = featureNames[f];
      if (!Object.hasOwn(object, name)) {
        throw missing(object, name, line, settings.featureColumns ? [...FEATURES_KEY, f] : PATH_KEY);
      }
      const value = object[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw lineError(file.display, line,
          `field ${quote(name)} holds ${describeJsonValue(value)}; numeric features must be JSON numbers` +
          (settings.featureColumns ? '' : '. By default every field but the label is a feature: list the numeric ' +
            'ones in data.featureColumns, or set data.textColumn for a text field'),
          settings.featureColumns ? [...FEATURES_KEY, f] : PATH_KEY);
      }
      scratch[f] = value;
    }
    if (slot >= 0) store.set(slot, label, undefined, scratch);
  });

  if (!store || store.count === 0) {
    throw fileError(file.display, 'has no JSON objects (only blank lines)', PATH_KEY);
  }
  return finishDataset(store, settings, file, ctx, featureNames);
}
