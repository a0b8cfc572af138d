/**
 * Real data sources. Each draws minibatches with the run's seeded Random, so data order is part
 * of the reproducible state.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { DataConfig } from '../protocol/config';
import { loadBuiltInMnist, loadIdx, loadImageFolder } from './imageData';
import type { Random } from './random';

export interface DataSource {
  /** Numbers in one sample. */
  readonly dimension: number;
  /** Shape of one sample: [dimension] for vectors, [height, width, channels] for images. */
  readonly shape: readonly number[];
  /** Mode centres, for mixtures with known modes (used by quality metrics and the monitor). */
  readonly modes: number[][] | null;
  /** Fills `out` (batch × dimension, row-major) with real samples, in the model's space. */
  sample(random: Random, batch: number, out?: Float32Array): Float32Array;
  /**
   * The classes of labelled data, by label: a conditional GAN's classes (a mixture's mode index, a
   * CSV's labelColumn values, a digit or an image sub-folder). Empty for unlabelled data.
   */
  readonly classNames: readonly string[];
  /**
   * Like sample, also giving each sample's class (an index into classNames), from the same draws:
   * sample and sampleLabelled consume `random` alike. Unlabelled data gives class 0 throughout.
   */
  sampleLabelled(random: Random, batch: number, out?: Float32Array): { values: Float32Array; labels: Int32Array };
  /** Maps model-space values back to data space (undoes normalization). */
  toDataSpace(values: Float32Array): Float32Array;
}

export class DataError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** A mixture of Gaussians; the class of a sample is the index of its mode. */
class GaussianMixture implements DataSource {
  readonly dimension = 2;
  readonly shape = [2];
  readonly classNames: string[];
  constructor(
    readonly modes: number[][],
    private readonly std: number,
  ) {
    this.classNames = modes.map((_, i) => String(i));
  }

  sample(random: Random, batch: number, out = new Float32Array(batch * 2)): Float32Array {
    return this.sampleLabelled(random, batch, out).values;
  }

  sampleLabelled(random: Random, batch: number, out = new Float32Array(batch * 2)): { values: Float32Array; labels: Int32Array } {
    const labels = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const label = random.int(this.modes.length);
      const mode = this.modes[label];
      out[2 * i] = mode[0] + this.std * random.normal();
      out[2 * i + 1] = mode[1] + this.std * random.normal();
      labels[i] = label;
    }
    return { values: out, labels };
  }

  toDataSpace(values: Float32Array): Float32Array {
    return values;
  }
}

export function ringModes(count: number, radius: number): number[][] {
  return Array.from({ length: count }, (_, i) => {
    const angle = (2 * Math.PI * i) / count;
    return [radius * Math.cos(angle), radius * Math.sin(angle)];
  });
}

export function gridModes(size: number, spacing: number): number[][] {
  const offset = ((size - 1) * spacing) / 2;
  const modes: number[][] = [];
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) modes.push([i * spacing - offset, j * spacing - offset]);
  return modes;
}

class TableData implements DataSource {
  readonly modes = null;
  get shape(): number[] {
    return [this.dimension];
  }
  constructor(
    private readonly rows: Float32Array,
    readonly dimension: number,
    private readonly mean: Float32Array,
    private readonly std: Float32Array,
    /** Each row's class (an index into classNames), when the CSV has a labelColumn. */
    private readonly labels: Int32Array | null = null,
    readonly classNames: readonly string[] = [],
  ) {}

  get rowCount(): number {
    return this.rows.length / this.dimension;
  }

  sample(random: Random, batch: number, out = new Float32Array(batch * this.dimension)): Float32Array {
    return this.sampleLabelled(random, batch, out).values;
  }

  sampleLabelled(random: Random, batch: number, out = new Float32Array(batch * this.dimension)): { values: Float32Array; labels: Int32Array } {
    const d = this.dimension;
    const labels = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const row = random.int(this.rowCount);
      for (let j = 0; j < d; j++) out[i * d + j] = (this.rows[row * d + j] - this.mean[j]) / this.std[j];
      labels[i] = this.labels ? this.labels[row] : 0;
    }
    return { values: out, labels };
  }

  toDataSpace(values: Float32Array): Float32Array {
    const d = this.dimension;
    const result = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) result[i] = values[i] * this.std[i % d] + this.mean[i % d];
    return result;
  }
}

async function loadCsv(config: Extract<DataConfig, { type: 'csv' }>, baseDir: string): Promise<DataSource> {
  const file = path.resolve(baseDir, config.path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(file, code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(error)})`);
  }
  let records: string[][];
  try {
    records = parseCsv(text, { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
  } catch (error) {
    throw new DataError(file, `not a valid CSV file: ${(error as Error).message}`);
  }
  if (records.length === 0) throw new DataError(file, 'the file has no rows');
  const first = records[0];
  const hasHeader = first.some((cell) => cell !== '' && Number.isNaN(Number(cell)));
  const header = hasHeader ? first : first.map((_, i) => `column${i + 1}`);
  const body = hasHeader ? records.slice(1) : records;
  const columnIndex = (name: string, field: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new DataError(file, `${field}: no column named "${name}" (columns: ${header.join(', ')})`);
    return index;
  };
  const labelIndex = config.labelColumn === undefined ? -1 : columnIndex(config.labelColumn, 'data.labelColumn');
  // The class column is never a feature.
  let columns = header.map((_, i) => i).filter((i) => i !== labelIndex);
  if (config.columns) columns = config.columns.map((name) => columnIndex(name, 'data.columns'));
  if (columns.length === 0) throw new DataError(file, `the only column is data.labelColumn "${config.labelColumn}": no feature columns are left`);
  if (body.length < 2) throw new DataError(file, 'needs at least 2 data rows');
  const d = columns.length;
  const rows = new Float32Array(body.length * d);
  body.forEach((record, r) => {
    columns.forEach((c, j) => {
      const value = Number(record[c]);
      if (record[c] === '' || !Number.isFinite(value)) {
        throw new DataError(file, `line ${r + (hasHeader ? 2 : 1)}, column ${header[c]}: "${record[c]}" is not a finite number`);
      }
      rows[r * d + j] = value;
    });
  });
  const mean = new Float32Array(d);
  const std = new Float32Array(d).fill(1);
  if (config.normalize) {
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let r = 0; r < body.length; r++) sum += rows[r * d + j];
      mean[j] = sum / body.length;
      let squares = 0;
      for (let r = 0; r < body.length; r++) squares += (rows[r * d + j] - mean[j]) ** 2;
      std[j] = Math.sqrt(squares / body.length) || 1;
    }
  }
  if (labelIndex < 0) return new TableData(rows, d, mean, std);
  const { labels, classNames } = classesOf(
    body.map((record) => record[labelIndex]),
    (r) => `line ${r + (hasHeader ? 2 : 1)}, column ${header[labelIndex]}`,
    file,
  );
  return new TableData(rows, d, mean, std, labels, classNames);
}

/** More distinct values than this in a labelColumn is a feature column named by mistake. */
export const MAX_CLASSES = 1000;

/** The classes of a label column: its distinct values, sorted (numerically when all are numbers), and each row's index. */
function classesOf(values: string[], where: (row: number) => string, file: string): { labels: Int32Array; classNames: string[] } {
  values.forEach((value, r) => {
    if (value === '') throw new DataError(file, `${where(r)}: the class is empty (data.labelColumn needs a class on every row)`);
  });
  const distinct = [...new Set(values)];
  if (distinct.length > MAX_CLASSES) {
    throw new DataError(file, `data.labelColumn has ${distinct.length} distinct values; a class column has at most ${MAX_CLASSES} (is it a feature?)`);
  }
  const numeric = distinct.every((value) => Number.isFinite(Number(value)));
  const classNames = numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { labels: Int32Array.from(values, (value) => index.get(value)!), classNames };
}

/** Loads the configured data; file-based data is resolved against the config file's folder. */
export async function loadData(config: DataConfig, baseDir: string): Promise<DataSource> {
  switch (config.type) {
    case 'ring':
      return new GaussianMixture(ringModes(config.modes, config.radius), config.std);
    case 'grid':
      return new GaussianMixture(gridModes(config.size, config.spacing), config.std);
    case 'csv':
      return loadCsv(config, baseDir);
    case 'mnist':
      return loadBuiltInMnist(config.classes);
    case 'idx':
      return loadIdx(path.resolve(baseDir, config.images), config.labels === undefined ? undefined : path.resolve(baseDir, config.labels), config.classes);
    case 'images':
      return loadImageFolder(path.resolve(baseDir, config.path), config.size, config.channels);
  }
}
