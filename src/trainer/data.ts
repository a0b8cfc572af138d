/**
 * Real data sources. Each draws minibatches with the run's seeded Random, so data order is part
 * of the reproducible state.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { DataConfig } from '../protocol/config';
import { MAX_CATEGORIES } from '../protocol/config';
import type { SampleColumn } from '../protocol/runDirectory';
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
  /**
   * Maps model-space values back to data space (undoes normalization). With `columns`, each row becomes one value per
   * column (a categorical column's one-hot group becomes the index of its largest unit); else rows keep their dimension.
   */
  toDataSpace(values: Float32Array): Float32Array;
  /**
   * CSV data with categorical columns (data.categorical): its feature columns in model order, a categorical one taking
   * `categories.length` one-hot units of a sample, a numeric one a single value. Absent for all other data.
   */
  readonly columns?: readonly SampleColumn[];
}

/** Values per row of toDataSpace's output: one per column for data with categorical columns, else the model's dimension. */
export function dataSpaceWidth(data: DataSource): number {
  return data.columns ? data.columns.length : data.dimension;
}

/** The groups of model-space units that are categorical columns (one-hot in the data, logits out of G), in order. */
export function categoricalGroups(columns: readonly SampleColumn[]): { offset: number; size: number }[] {
  const groups: { offset: number; size: number }[] = [];
  let offset = 0;
  for (const column of columns) {
    const size = column.categories ? column.categories.length : 1;
    if (column.categories) groups.push({ offset, size });
    offset += size;
  }
  return groups;
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
    /** With categorical columns: every feature column (their one-hot units have mean 0 and std 1, so sampling leaves them as they are). */
    readonly columns?: readonly SampleColumn[],
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
    if (!this.columns) {
      const result = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) result[i] = values[i] * this.std[i % d] + this.mean[i % d];
      return result;
    }
    const width = this.columns.length;
    const count = Math.floor(values.length / d);
    const result = new Float32Array(count * width);
    for (let r = 0; r < count; r++) {
      let unit = r * d;
      this.columns.forEach((column, c) => {
        if (!column.categories) {
          const j = unit - r * d;
          result[r * width + c] = values[unit++] * this.std[j] + this.mean[j];
          return;
        }
        // The category is the largest unit of the group (the first of equals).
        let best = 0;
        for (let k = 1; k < column.categories.length; k++) if (values[unit + k] > values[unit + best]) best = k;
        result[r * width + c] = best;
        unit += column.categories.length;
      });
    }
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
  const lineOf = (r: number) => r + (hasHeader ? 2 : 1);
  // Categorical columns (data.categorical): their distinct values, one one-hot unit each.
  const categorical = new Map(
    (config.categorical ?? []).map((name) => {
      const c = columnIndex(name, 'data.categorical');
      const { labels, classNames } = categoriesOf(
        body.map((record) => record[c]),
        (r) => `line ${lineOf(r)}, column ${name}`,
        file,
        name,
      );
      return [c, { labels, categories: classNames }] as const;
    }),
  );
  const widths = columns.map((c) => categorical.get(c)?.categories.length ?? 1);
  const d = widths.reduce((a, b) => a + b, 0);
  const rows = new Float32Array(body.length * d);
  body.forEach((record, r) => {
    let unit = r * d;
    columns.forEach((c, j) => {
      const group = categorical.get(c);
      if (group) {
        rows[unit + group.labels[r]] = 1;
        unit += widths[j];
        return;
      }
      const value = Number(record[c]);
      if (record[c] === '' || !Number.isFinite(value)) {
        const hint = categorical.size > 0 || Number.isNaN(value) ? ' (name it in data.categorical if it holds categories)' : '';
        throw new DataError(file, `line ${lineOf(r)}, column ${header[c]}: "${record[c]}" is not a finite number${hint}`);
      }
      rows[unit++] = value;
    });
  });
  const mean = new Float32Array(d);
  const std = new Float32Array(d).fill(1);
  // One-hot units keep mean 0 and std 1: normalization is for the numeric columns.
  const numericUnit = new Uint8Array(d).fill(1);
  let at = 0;
  columns.forEach((c, j) => {
    if (categorical.has(c)) numericUnit.fill(0, at, at + widths[j]);
    at += widths[j];
  });
  const sampleColumns =
    categorical.size === 0
      ? undefined
      : columns.map((c) => ({ name: header[c], ...(categorical.has(c) ? { categories: categorical.get(c)!.categories } : {}) }));
  if (config.normalize) {
    for (let j = 0; j < d; j++) {
      if (!numericUnit[j]) continue;
      let sum = 0;
      for (let r = 0; r < body.length; r++) sum += rows[r * d + j];
      mean[j] = sum / body.length;
      let squares = 0;
      for (let r = 0; r < body.length; r++) squares += (rows[r * d + j] - mean[j]) ** 2;
      std[j] = Math.sqrt(squares / body.length) || 1;
    }
  }
  if (labelIndex < 0) return new TableData(rows, d, mean, std, null, [], sampleColumns);
  const { labels, classNames } = classesOf(
    body.map((record) => record[labelIndex]),
    (r) => `line ${lineOf(r)}, column ${header[labelIndex]}`,
    file,
  );
  return new TableData(rows, d, mean, std, labels, classNames, sampleColumns);
}

/** A categorical column's categories (sorted like classes) and each row's index; 2 to MAX_CATEGORIES of them, or a DataError naming data.categorical. */
function categoriesOf(values: string[], where: (row: number) => string, file: string, name: string): { labels: Int32Array; classNames: string[] } {
  values.forEach((value, r) => {
    if (value === '') throw new DataError(file, `${where(r)}: the category is empty (a column of data.categorical needs a category on every row)`);
  });
  const distinct = new Set(values);
  if (distinct.size < 2) {
    throw new DataError(
      file,
      `data.categorical: column "${name}" has a single value ("${values[0]}"), so it tells D nothing; a categorical column needs 2 to ${MAX_CATEGORIES} distinct values (remove it)`,
    );
  }
  if (distinct.size > MAX_CATEGORIES) {
    throw new DataError(
      file,
      `data.categorical: column "${name}" has ${distinct.size} distinct values; a categorical column has at most ${MAX_CATEGORIES} (is it numeric or free text? leave it out of data.categorical)`,
    );
  }
  return classesOf(values, where, file);
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
