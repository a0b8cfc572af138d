/** `gan-workbench sample`: draws from a run's generator at one of its checkpoints. */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, SampleColumn } from '../protocol/runDirectory';
import { RUN_FILES } from '../protocol/runDirectory';
import { selectBackend } from './backend';
import { listCheckpoints, readConfigSnapshot } from '../runs/runReader';
import { restoreCheckpoint, restoreLatestCheckpoint } from './checkpoint';
import { dataSpaceWidth, loadData, type DataSource } from './data';
import type { GanConfig } from '../protocol/config';
import { Gan } from './gan';
import { blockLabels } from './conditioning';
import { Random } from './random';
import { rejectionSample } from './rejection';

export class SampleError extends Error {}

export interface SampleOptions {
  runDir: string;
  count: number;
  step: number | 'latest';
  seed: number;
  backend: BackendChoice;
  /**
   * Conditional runs: draw only these classes (class names, as in the data's classNames: the digit,
   * the mode index, the sub-folder or labelColumn value), in equal shares; all classes when absent.
   */
  classes?: readonly string[];
  /** false: G alone even when the run's config asks for sampling.rejection "discriminator" (`--no-rejection`). */
  rejection?: boolean;
  warn?(message: string): void;
}

/** What `sample` draws: rows (flat pixel rows in [-1, 1] for images), and for conditional runs the class of each. */
export interface SampleResult {
  step: number;
  samples: number[][];
  shape: readonly number[];
  /** Conditional runs: the class of each row, an index into classNames, in contiguous blocks of equal size. */
  labels: number[] | null;
  /** Conditional runs: the run's class names, by label. */
  classNames: string[] | null;
  /** Categorical CSV columns: what each value of a row is (a categorical column's value is its category's index). */
  columns: SampleColumn[] | null;
  /** Discriminator rejection sampling: the share of G's draws kept; null when G was sampled alone. */
  acceptanceRate: number | null;
}

/** Rows with each categorical column's index replaced by its category's name, e.g. [0.3, "spam", "yes"]. */
export function namedRows(rows: readonly number[][], columns: readonly SampleColumn[]): (number | string)[][] {
  return rows.map((row) => row.map((value, c) => columns[c]?.categories?.[value] ?? value));
}

/** The labels asked for by name; throws `fail` naming the classes there are. */
export function resolveClasses(names: readonly string[], classNames: readonly string[], fail: (message: string) => Error): number[] {
  return names.map((name) => {
    const label = classNames.indexOf(name);
    if (label < 0) {
      const list = classNames.length > 20 ? `${classNames.slice(0, 20).join(', ')}, … (${classNames.length} classes)` : classNames.join(', ');
      throw fail(`--class ${name}: the run has no class "${name}" (its classes: ${list})`);
    }
    return label;
  });
}

/** A run's networks restored at one of its checkpoints; `dispose()` frees them. */
export interface RestoredRun {
  runDir: string;
  config: GanConfig;
  data: DataSource;
  gan: Gan;
  step: number;
  dispose(): void;
}

/**
 * Restores a run's GAN at `step` (or its newest checkpoint that reads back whole, warning about
 * the ones skipped); every problem is thrown as `fail(message)` (SampleError, ExportError…).
 */
export async function restoreRun(
  options: { runDir: string; step: number | 'latest'; backend: BackendChoice; warn?(message: string): void },
  fail: (message: string) => Error,
): Promise<RestoredRun> {
  const runDir = path.resolve(options.runDir);
  const config = await readConfigSnapshot(runDir);
  if (!config) throw fail(`${runDir}: not a run directory (no valid ${RUN_FILES.config})`);
  const steps = await listCheckpoints(runDir);
  if (steps.length === 0) throw fail(`${runDir}: has no checkpoint yet`);
  if (options.step !== 'latest' && !steps.includes(options.step)) {
    throw fail(`${runDir}: no checkpoint at step ${options.step} (checkpoints: ${steps.join(', ')})`);
  }

  await selectBackend(options.backend);
  const data = await loadData(config.data, runDir);
  const gan = new Gan(config, data);
  const dispose = () => {
    gan.dispose();
    tf.disposeVariables();
  };
  try {
    let step: number;
    if (options.step === 'latest') {
      // The newest checkpoint that reads back whole; a corrupt newer one is skipped, with a warning.
      const restored = await restoreLatestCheckpoint(runDir, gan);
      for (const reason of restored.skipped) options.warn?.(`skipped a checkpoint that does not read back: ${reason}`);
      step = restored.manifest.step;
    } else {
      step = (await restoreCheckpoint(runDir, options.step, gan)).step;
    }
    // A progressive run samples at the resolution it had reached at that step.
    gan.setStep(step);
    return { runDir, config, data, gan, step, dispose };
  } catch (error) {
    dispose();
    throw fail((error as Error).message);
  }
}

/**
 * Rows of the generated samples (flat pixel rows in [-1, 1] for images) and the shape of one. A
 * conditional run draws every class (or those of `classes`) in equal, contiguous blocks, and says
 * which class each row is.
 */
export async function sampleRun(options: SampleOptions): Promise<SampleResult> {
  const { gan, data, step, config, dispose } = await restoreRun(options, (message) => new SampleError(message));
  try {
    const fail = (message: string) => new SampleError(message);
    if (options.classes?.length && !gan.classes) {
      throw fail(`--class: ${options.runDir} is not a conditional run (its config has no "conditional"), so it cannot be asked for a class`);
    }
    const wanted = options.classes?.length ? resolveClasses(options.classes, data.classNames, fail) : data.classNames.map((_, label) => label);
    const labels = gan.classes ? blockLabels(options.count, wanted) : null;
    const rows: number[][] = [];
    const random = new Random(`sample:${options.seed}`);
    const width = dataSpaceWidth(data);
    let acceptanceRate: number | null = null;
    if (config.sampling?.rejection === 'discriminator' && options.rejection !== false) {
      const kept = await rejectionSample(gan, options.count, random);
      const values = data.toDataSpace(kept.rows);
      for (let i = 0; i < options.count; i++) rows.push(Array.from(values.subarray(i * width, (i + 1) * width)));
      acceptanceRate = kept.acceptanceRate;
    }
    // Generate in chunks so a large --n does not build one huge tensor.
    for (let done = rows.length; done < options.count;) {
      const n = Math.min(1000, options.count - done);
      const noise = gan.noise(n, random);
      const values = data.toDataSpace(await gan.generate(noise, labels?.subarray(done, done + n)));
      noise.dispose();
      for (let i = 0; i < n; i++) rows.push(Array.from(values.subarray(i * width, (i + 1) * width)));
      done += n;
    }
    return {
      step,
      samples: rows,
      shape: data.shape,
      labels: labels ? Array.from(labels) : null,
      classNames: gan.classes ? [...data.classNames] : null,
      columns: data.columns ? data.columns.map((column) => ({ ...column })) : null,
      acceptanceRate,
    };
  } finally {
    dispose();
  }
}
