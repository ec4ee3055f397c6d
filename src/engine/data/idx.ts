// IDX files (the MNIST format, LeCun et al.): header parsing, streamed reads, and a writer for tests/tools.

import * as fs from 'fs';
import type { IdxDataConfig } from '../../config/types';
import type { JsonPath } from '../../protocol';
import { DATA_DEFAULTS } from './defaults';
import { fileError, formatBytes, fromFsError } from './errors';
import { encodeLabels } from './labels';
import { readBool, readSplitOptions } from './options';
import { DataFile, resolveDataFile } from './paths';
import { checkInputSize, planSplit, SplitBuffers } from './split';
import { DataContext, Dataset } from './types';

/** The element types of the IDX specification (yann.lecun.com/exdb/mnist); all multi-byte values big-endian. */
interface IdxType {
  code: number;
  name: string;
  bytes: number;
  read(view: DataView, offset: number): number;
  write(view: DataView, offset: number, value: number): void;
}

const IDX_TYPES: IdxType[] = [
  { code: 0x08, name: 'ubyte', bytes: 1, read: (v, o) => v.getUint8(o), write: (v, o, x) => v.setUint8(o, x) },
  { code: 0x09, name: 'byte', bytes: 1, read: (v, o) => v.getInt8(o), write: (v, o, x) => v.setInt8(o, x) },
  { code: 0x0b, name: 'short', bytes: 2, read: (v, o) => v.getInt16(o), write: (v, o, x) => v.setInt16(o, x) },
  { code: 0x0c, name: 'int', bytes: 4, read: (v, o) => v.getInt32(o), write: (v, o, x) => v.setInt32(o, x) },
  { code: 0x0d, name: 'float', bytes: 4, read: (v, o) => v.getFloat32(o), write: (v, o, x) => v.setFloat32(o, x) },
  { code: 0x0e, name: 'double', bytes: 8, read: (v, o) => v.getFloat64(o), write: (v, o, x) => v.setFloat64(o, x) },
];

export type IdxTypeName = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';

export interface IdxHeader {
  type: IdxType;
  /** dims[0] is the number of examples. */
  dims: number[];
  dataOffset: number;
  count: number;
  /** Values per example: the product of dims[1…]. */
  exampleSize: number;
}

/** An IDX file in memory: magic 0 0 type ndim, ndim big-endian uint32 dims, then the values. */
export function encodeIdx(type: IdxTypeName, dims: number[], values: ArrayLike<number>): Buffer {
  const t = IDX_TYPES.find(x => x.name === type)!;
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`encodeIdx: ${values.length} values for dims [${dims.join(', ')}]`);
  const buf = Buffer.alloc(4 + 4 * dims.length + count * t.bytes);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[2] = t.code;
  buf[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const offset = 4 + 4 * dims.length;
  for (let i = 0; i < count; i++) t.write(view, offset + i * t.bytes, values[i]);
  return buf;
}

export async function readIdxHeader(file: DataFile, jsonPath: JsonPath): Promise<IdxHeader> {
  const fail = (message: string) => fileError(file.display, message, jsonPath);
  let head: Buffer;
  try {
    const fh = await fs.promises.open(file.absolute, 'r');
    try {
      head = Buffer.alloc(Math.min(file.size, 4 + 4 * 255));
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fromFsError(err, file.display, jsonPath);
  }
  if (head.length < 4) throw fail(`is ${file.size} bytes long, too short to be an IDX file`);
  const magic = head.readUInt32BE(0).toString(16).padStart(8, '0');
  if (head[0] === 0x1f && head[1] === 0x8b) {
    throw fail(`is gzip-compressed (magic 0x${magic}), as MNIST downloads are: decompress it first (gunzip)`);
  }
  if (head[0] !== 0 || head[1] !== 0) {
    throw fail(`is not an IDX file (magic 0x${magic}; IDX files start with two zero bytes, a type code and the ` +
      'number of dimensions, e.g. 0x00000803 for MNIST images)');
  }
  const type = IDX_TYPES.find(t => t.code === head[2]);
  if (!type) {
    throw fail(`has IDX type code 0x${head[2].toString(16).padStart(2, '0')} (magic 0x${magic}), which is not one of ` +
      IDX_TYPES.map(t => `0x${t.code.toString(16).padStart(2, '0')} ${t.name}`).join(', '));
  }
  const ndim = head[3];
  if (ndim === 0) throw fail(`has 0 dimensions in its header (magic 0x${magic}); expected at least the example count`);
  const dataOffset = 4 + 4 * ndim;
  if (head.length < dataOffset) throw fail(`is truncated inside its header (${ndim} dimensions need ${dataOffset} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(head.readUInt32BE(4 + 4 * i));
  const count = dims[0];
  const exampleSize = dims.slice(1).reduce((a, b) => a * b, 1);
  const expected = dataOffset + count * exampleSize * type.bytes;
  if (expected !== file.size) {
    const shape = `[${dims.join(', ')}] of ${type.name}`;
    throw fail(expected > file.size
      ? `is truncated: its header describes ${shape} (${formatBytes(expected)}) but the file has ${formatBytes(file.size)}`
      : `is ${formatBytes(file.size)} but its header describes ${shape} (${expected} bytes): ` +
        `${file.size - expected} bytes too many — not an IDX file, or a damaged one`);
  }
  return { type, dims, dataOffset, count, exampleSize };
}

/**
 * Reads the values of the examples for which `wanted(k)` holds, a few hundred examples per read so memory
 * stays flat whatever the file size; `onExample` gets a scratch array it must copy from.
 */
export async function readIdxExamples(
  file: DataFile, header: IdxHeader, jsonPath: JsonPath,
  wanted: (k: number) => boolean, onExample: (k: number, values: Float64Array) => void,
): Promise<void> {
  const { type, exampleSize, count } = header;
  const exampleBytes = exampleSize * type.bytes;
  const perRead = Math.max(1, Math.floor((1 << 20) / Math.max(1, exampleBytes)));
  const buf = Buffer.alloc(Math.min(perRead, Math.max(1, count)) * exampleBytes);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const values = new Float64Array(exampleSize);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(file.absolute, 'r');
    for (let first = 0; first < count; first += perRead) {
      const n = Math.min(perRead, count - first);
      const length = n * exampleBytes;
      const { bytesRead } = await fh.read(buf, 0, length, header.dataOffset + first * exampleBytes);
      if (bytesRead !== length) throw fileError(file.display, 'became shorter while being read', jsonPath);
      for (let j = 0; j < n; j++) {
        const k = first + j;
        if (!wanted(k)) continue;
        const base = j * exampleBytes;
        if (type.bytes === 1 && type.code === 0x08) {
          for (let i = 0; i < exampleSize; i++) values[i] = buf[base + i];
        } else {
          for (let i = 0; i < exampleSize; i++) values[i] = type.read(view, base + i * type.bytes);
        }
        onExample(k, values);
      }
    }
  } catch (err) {
    throw fromFsError(err, file.display, jsonPath);
  } finally {
    await fh?.close();
  }
}

export async function loadIdxDataset(config: IdxDataConfig, ctx: DataContext): Promise<Dataset> {
  const IMAGES: JsonPath = ['data', 'images'];
  const LABELS: JsonPath = ['data', 'labels'];
  const normalize = readBool(config, 'normalize', DATA_DEFAULTS.normalize);
  const flatten = readBool(config, 'flatten', DATA_DEFAULTS.flatten);
  const { validationSplit, maxExamples } = readSplitOptions(config);
  const imagesFile = await resolveDataFile(config.images, IMAGES, ctx);
  const labelsFile = await resolveDataFile(config.labels, LABELS, ctx);
  const images = await readIdxHeader(imagesFile, IMAGES);
  const labels = await readIdxHeader(labelsFile, LABELS);

  if (images.count === 0) {
    throw fileError(imagesFile.display, `has no examples: its header says [${images.dims.join(', ')}], 0 of them`, IMAGES);
  }
  if (images.exampleSize === 0) {
    throw fileError(imagesFile.display,
      `has examples of 0 values: its header says [${images.dims.join(', ')}], and a dimension of 0 leaves nothing to learn from`,
      IMAGES);
  }

  if (labels.exampleSize !== 1) {
    const swapped = images.exampleSize === 1 ? ' The two files look swapped: check data.images and data.labels.' : '';
    throw fileError(labelsFile.display,
      `has dimensions [${labels.dims.join(', ')}], but a labels file holds one integer per example ([count]).${swapped}`,
      LABELS);
  }
  if (labels.count !== images.count) {
    throw fileError(labelsFile.display,
      `has ${labels.count} labels but ${imagesFile.display} has ${images.count} examples; they must pair one to one ` +
      '(train-images with train-labels, t10k-images with t10k-labels)', LABELS);
  }
  const labelValues: number[] = new Array(labels.count);
  await readIdxExamples(labelsFile, labels, LABELS, () => true, (k, v) => {
    if (!Number.isInteger(v[0])) {
      throw fileError(labelsFile.display, `label ${k} (counting from 0) is ${v[0]}; labels must be integer class ids`,
        LABELS);
    }
    labelValues[k] = v[0];
  });
  const encoded = encodeLabels(labelValues, {
    display: labelsFile.display, column: 'labels', jsonPath: LABELS, forceClassification: true,
  });

  const plan = planSplit(images.count, validationSplit, maxExamples, ctx.seed, ['data', 'validationSplit']);
  const E = images.exampleSize;
  checkInputSize(plan.trainCount + plan.validationCount, E, ['data', 'maxExamples'], imagesFile.display);
  const buffers = new SplitBuffers(plan, E, 1, 'float32', 'int32');
  // Only unsigned bytes have a known range (0–255 pixels); other types are passed through as stored.
  const scale = normalize && images.type.name === 'ubyte' ? 255 : 1;
  // float and double files can hold NaN or ±Infinity, which would poison the first step's loss far from the cause.
  const mayBeNonFinite = images.type.name === 'float' || images.type.name === 'double';
  await readIdxExamples(imagesFile, images, IMAGES, k => plan.slotOf[k] >= 0, (k, values) => {
    const at = buffers.locate(k)!;
    const x = at.split.x;
    const base = at.row * E;
    if (mayBeNonFinite) {
      for (let i = 0; i < E; i++) {
        if (!Number.isFinite(values[i])) {
          throw fileError(imagesFile.display,
            `example ${k} (counting from 0) holds ${values[i]} at value ${i}, not a finite number; ` +
            'fix or drop that example (inputs must be finite)', IMAGES);
        }
      }
    }
    for (let i = 0; i < E; i++) x[base + i] = values[i] / scale;
    at.split.y[at.row] = encoded.y[k];
  });

  const exampleDims = images.dims.length > 1 ? images.dims.slice(1) : [1];
  const inputShape = flatten ? [E] : exampleDims;
  const kept = plan.trainCount + plan.validationCount;
  const sampled = kept < images.count ? ` (a random ${kept} of ${images.count}, data.maxExamples)` : '';
  const names = encoded.labelNames!;
  return {
    task: 'classification',
    inputShape,
    inputDtype: 'float32',
    numClasses: encoded.numClasses,
    labelNames: names,
    train: buffers.train,
    validation: buffers.validation,
    description:
      `${imagesFile.display}: ${kept} examples${sampled} of [${exampleDims.join(', ')}] ${images.type.name}` +
      `${scale !== 1 ? ' scaled to [0, 1]' : ''}${flatten && exampleDims.length > 1 ? `, flattened to [${E}]` : ''}, ` +
      `${encoded.numClasses} classes (${names.length > 10 ? `${names.slice(0, 10).join(', ')}, …` : names.join(', ')}); ` +
      `${plan.trainCount} train / ${plan.validationCount} validation`,
  };
}
