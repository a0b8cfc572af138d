/**
 * A training run from start to end: validate, pick the backend, create (or reopen) the run
 * directory, loop over Algorithm 1's iterations while logging, sampling and checkpointing, and
 * leave run.json saying how it ended. The CLI and the forked child both drive this.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from '../protocol/config';
import type {
  BackendChoice,
  BackendName,
  HealthAlert,
  HistogramRecord,
  ImageSamples,
  MetricsRecord,
  PointSamples,
  RunInfo,
  RunStatus,
} from '../protocol/runDirectory';
import { IMAGE_GRID_MAX } from '../protocol/runDirectory';
import { encodeImageGrid, gridColumns } from '../runs/imageGrid';
import { RUN_FILES } from '../protocol/runDirectory';
import { listCheckpoints, readConfigSnapshot, readLastMetrics, readRunInfo } from '../runs/runReader';
import { selectBackend, type BackendLoader } from './backend';
import { CheckpointError, pruneCheckpoints, removeCheckpointLeftovers, restoreCheckpoint, restoreLatestCheckpoint, saveCheckpoint } from './checkpoint';
import { applySettings, type ConfigSetting } from '../protocol/configPatch';
import { formatProblem } from '../protocol/config';
import { ConfigError, loadConfigFile, resolveConfigPaths } from './configFile';
import { dataSpaceWidth, loadData, type DataSource } from './data';
import { createEvaluator } from './evaluation/evaluator';
import { faults } from './faults';
import { Gan, type StepResult } from './gan';
import { HealthWatch } from './health';
import { learningRateFactor, setLearningRates } from './schedule';
import { modeQuality, type ModeQuality } from './quality';
import { Random, randomStream } from './random';
import { classGridLayout, classGridRows } from './conditioning';
import { RunWriter } from './runWriter';
import { Laboratory } from './laboratory';
import { classifierAccuracy, ClassifyingDiscriminator, splitSemiSupervised } from './semiSupervised';
import type { Player, TrainingControls } from './controls';
import { RejectionError, rejectionSample } from './rejection';
import type { ControlState } from '../protocol/trainerRpc';
import type { ControlChange, LiveHyperparameters } from '../protocol/runDirectory';

export interface TrainOptions {
  /** A `*.gan.json` file (new runs). */
  configPath?: string;
  /** Continue this run directory from its newest checkpoint. */
  resumeFrom?: string;
  /**
   * Start a new run from this run's checkpoint (`forkStep`, else its newest): the networks (and
   * the optimizers, when their type is unchanged) continue from there under the new config
   * (`configPath`, else the parent's config, with `settings` applied).
   */
  forkFrom?: string;
  forkStep?: number;
  /** Field changes applied to the config before it is validated (`--set path=value`). */
  settings?: ConfigSetting[];
  runsDir: string;
  backend: BackendChoice;
  steps?: number;
  seed?: number;
  /** Aborting stops the run after the current step, with a checkpoint. */
  signal?: AbortSignal;
  observer?: TrainObserver;
  backendLoaders?: Record<BackendName, BackendLoader>;
  /** Step mode and live changes (the extension's `run/control`); absent for CLI runs. */
  controls?: TrainingControls;
  /** 2-D data: send laboratory frames between the written samples (observer.onLaboratory), as often as costs about a quarter of the time. */
  liveLaboratory?: boolean;
}

/** At most this many points in a live laboratory frame: enough to see the cloud, cheap to draw and to compute. */
const LIVE_LABORATORY_POINTS = 500;
/** Live frames are at least this far apart (ms)… */
const LIVE_LABORATORY_INTERVAL_MS = 100;
/**
 * …and this many times their own cost, so they take at most about a quarter of the time (a frame
 * of ring8's networks costs about 1.4 training steps: G on the points and a 16² noise grid, D on 40² cells).
 */
const LIVE_LABORATORY_SPACING = 3;

export interface StartedRun {
  runId: string;
  runDir: string;
  name: string;
  backend: BackendName;
  backendReason: string;
  startStep: number;
  totalSteps: number;
  dataDimension: number;
  config: GanConfig;
}

export interface TrainResult {
  runId: string;
  runDir: string;
  status: Exclude<RunStatus, 'running'>;
  step: number;
  totalSteps: number;
  error: string | null;
  backend: BackendName;
  seconds: number;
  lastMetrics: MetricsRecord | null;
  /** Mode coverage of the final samples, for the built-in mixtures. */
  quality: ModeQuality | null;
  /** The same for as many samples drawn with the config's discriminator rejection (sampling.rejection), and the share kept. */
  rejectedQuality: (ModeQuality & { acceptanceRate: number }) | null;
  /** A run that diverged (failed): the last finite checkpoint it kept, to resume or fork from; else null. */
  diverged: { checkpoint: number | null } | null;
}

/** Everything is optional: the CLI draws a progress bar, the child forwards over IPC. */
export interface TrainObserver {
  onStart?(run: StartedRun): void;
  onStep?(step: number, totalSteps: number): void;
  onMetrics?(record: MetricsRecord): void;
  onHistogram?(record: HistogramRecord): void;
  onSamples?(samples: PointSamples): void;
  /** A sample grid of an image GAN was written. */
  onImageSamples?(samples: ImageSamples): void;
  onEnd?(result: TrainResult): void;
  /** Something the user should know that does not stop the run. */
  onWarning?(message: string): void;
  /** A health alert was raised (once per kind and run). */
  onAlert?(alert: HealthAlert): void;
  /** A live laboratory frame (liveLaboratory): samples of part of the fixed noise with their frame, not written to disk. */
  onLaboratory?(samples: PointSamples): void;
  /** The controls changed (a pause, a single update, new rates or k). */
  onControls?(state: ControlState): void;
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'run'
  );
}

function timestampForId(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** A run whose losses stopped being finite; it ends as failed and keeps its last finite checkpoint. */
export class DivergedError extends Error {}

/** Fault injection: one NaN in G's first weight matrix, as a diverging update would leave it. */
function poisonWeights(gan: Gan): void {
  const { variable } = gan.generator.namedVariables()[0];
  const values = variable.dataSync().slice();
  values[0] = NaN;
  const poisoned = tf.tensor(values, variable.shape);
  variable.assign(poisoned);
  poisoned.dispose();
}

/** The name of a variable of G or D holding NaN or Inf, or null when all are finite. */
async function nonFiniteVariable(gan: Gan): Promise<string | null> {
  for (const { name, variable } of [...gan.generator.namedVariables(), ...gan.discriminator.namedVariables()]) {
    if (!(await variable.data()).every(Number.isFinite)) return name;
  }
  return null;
}

export function histogram(values: Float32Array, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(value * bins)))]++;
  return counts;
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length ? sum / values.length : NaN;
}

/** The optional MetricsRecord fields of the costs whose D is a critic, not a classifier. */
function criticMetrics(config: GanConfig, result: StepResult): Partial<MetricsRecord> {
  const extra: Partial<MetricsRecord> = {};
  if (config.training.cost.type !== 'cross-entropy' && result.outputs) {
    extra.criticReal = mean(result.outputs.criticReal);
    extra.criticFake = mean(result.outputs.criticFake);
  }
  if (result.wassersteinEstimate !== null) extra.wassersteinEstimate = result.wassersteinEstimate;
  if (result.gradientPenalty !== null) extra.gradientPenalty = result.gradientPenalty;
  if (result.featureMatching !== null) extra.featureMatching = result.featureMatching;
  if (result.spectralNorm !== null) extra.spectralNorm = result.spectralNorm;
  if (result.generatorGradientNorm !== null) extra.generatorGradientNorm = result.generatorGradientNorm;
  return extra;
}

function toRows(values: Float32Array, dimension: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < values.length; i += dimension) rows.push(Array.from(values.subarray(i, i + dimension), (v) => Math.round(v * 1e5) / 1e5));
  return rows;
}

function mixtureStd(config: GanConfig): number | null {
  return config.data.type === 'ring' || config.data.type === 'grid' ? config.data.std : null;
}

/**
 * The fixed noise the samples are drawn from. Unconditional: sampleCount vectors (at most a
 * grid's worth for images). Conditional images: the class-conditional grid, row c = class c and
 * column j = noise vector j (the same z down a column). Conditional points: label i mod classes.
 */
export function fixedSamples(
  gan: Gan,
  config: GanConfig,
  data: DataSource,
): { sampleCount: number; gridLayout: { shape: readonly number[]; columns: number } | null; fixedNoise: tf.Tensor2D; fixedLabels: Int32Array | null } {
  const imageShape = data.shape.length === 3 ? data.shape : null;
  const random = randomStream(config.seed, 'fixed-noise');
  if (!gan.classes) {
    const sampleCount = imageShape ? Math.min(config.logging.sampleCount, IMAGE_GRID_MAX) : config.logging.sampleCount;
    const gridLayout = imageShape ? { shape: imageShape, columns: gridColumns(sampleCount) } : null;
    return { sampleCount, gridLayout, fixedNoise: gan.noise(sampleCount, random), fixedLabels: null };
  }
  if (!imageShape) {
    const sampleCount = config.logging.sampleCount;
    const fixedLabels = Int32Array.from({ length: sampleCount }, (_, i) => i % gan.classes);
    return { sampleCount, gridLayout: null, fixedNoise: gan.noise(sampleCount, random), fixedLabels };
  }
  const { rows, columns } = classGridLayout(gan.classes, Math.min(config.logging.sampleCount, IMAGE_GRID_MAX));
  const { noiseRow, labels } = classGridRows(rows, columns);
  const noise = gan.noise(columns, random);
  const fixedNoise = tf.tidy(() => tf.gather(noise, tf.tensor1d(noiseRow, 'int32')));
  noise.dispose();
  return { sampleCount: rows * columns, gridLayout: { shape: imageShape, columns }, fixedNoise, fixedLabels: labels };
}

/** Real images laid out as the class-conditional grid: cell n holds a real image of class labels[n] (black when none is found). */
export function realClassGrid(data: DataSource, labels: Int32Array, random: Random): Float32Array {
  const d = data.dimension;
  const out = new Float32Array(labels.length * d).fill(-1);
  const waiting = new Map<number, number[]>();
  labels.forEach((label, n) => waiting.set(label, [...(waiting.get(label) ?? []), n]));
  // Rare classes may take a few batches; give up on a class that does not turn up in 100.
  for (let attempt = 0; attempt < 100 && waiting.size > 0; attempt++) {
    const batch = data.sampleLabelled(random, 256);
    batch.labels.forEach((label, i) => {
      const cells = waiting.get(label);
      if (!cells) return;
      out.set(batch.values.subarray(i * d, (i + 1) * d), cells.shift()! * d);
      if (cells.length === 0) waiting.delete(label);
    });
  }
  return out;
}

interface Prepared {
  config: GanConfig;
  data: DataSource;
  resume: { runDir: string; info: RunInfo } | null;
  fork: { runDir: string; step: number; optimizers: boolean } | null;
}

function withSettings(config: GanConfig, settings: readonly ConfigSetting[] | undefined, where: string): GanConfig {
  if (!settings?.length) return config;
  const result = applySettings(config, settings);
  if (!result.ok) throw new ConfigError(`${where}: ${result.problems.map(formatProblem).join('; ')}`);
  return result.config;
}

/** Loads everything a run needs before anything is written; throws ConfigError/DataError. */
async function prepare(options: TrainOptions): Promise<Prepared> {
  if (options.resumeFrom) {
    const runDir = path.resolve(options.resumeFrom);
    const info = await readRunInfo(runDir);
    if (!info) throw new ConfigError(`${runDir}: not a run directory (no readable ${RUN_FILES.run})`);
    if (info.status === 'running') throw new ConfigError(`${runDir}: the run is still running (pid ${info.pid} on ${info.host})`);
    const snapshot = await readConfigSnapshot(runDir);
    if (!snapshot) throw new ConfigError(`${runDir}: ${RUN_FILES.config} is missing or invalid`);
    if ((await listCheckpoints(runDir)).length === 0) throw new ConfigError(`${runDir}: has no checkpoint to resume from`);
    // The run's target is run.json's (a continued run has more steps than its config.json says).
    const steps = options.steps ?? info.totalSteps;
    const config = { ...snapshot, training: { ...snapshot.training, steps } };
    const data = await loadData(config.data, runDir);
    return { config, data, resume: { runDir, info }, fork: null };
  }
  let config: GanConfig;
  let dataDir: string;
  let fork: Prepared['fork'] = null;
  let parentConfig: GanConfig | null = null;
  if (options.forkFrom) {
    const parentDir = path.resolve(options.forkFrom);
    parentConfig = await readConfigSnapshot(parentDir);
    if (!parentConfig) throw new ConfigError(`${parentDir}: not a run directory (no valid ${RUN_FILES.config})`);
    const steps = await listCheckpoints(parentDir);
    if (steps.length === 0) throw new ConfigError(`${parentDir}: has no checkpoint to fork from`);
    const step = options.forkStep ?? steps[steps.length - 1];
    if (!steps.includes(step)) throw new ConfigError(`${parentDir}: no checkpoint at step ${step} (checkpoints: ${steps.join(', ')})`);
    fork = { runDir: parentDir, step, optimizers: true };
  }
  if (options.configPath) {
    const configPath = path.resolve(options.configPath);
    config = resolveConfigPaths(await loadConfigFile(configPath), path.dirname(configPath));
    dataDir = path.dirname(configPath);
  } else if (fork && parentConfig) {
    config = parentConfig;
    dataDir = fork.runDir;
  } else {
    throw new ConfigError('no config file given');
  }
  config = withSettings(config, options.settings, options.configPath ?? 'the config');
  if (options.steps !== undefined) config = { ...config, training: { ...config.training, steps: options.steps } };
  if (options.seed !== undefined) config = { ...config, seed: options.seed };
  if (fork && parentConfig) {
    if (config.training.steps <= fork.step) {
      throw new ConfigError(`training.steps: the fork starts at step ${fork.step}, so steps must be more than that (got ${config.training.steps})`);
    }
    // Adam's moments mean nothing to RMSProp: a changed optimizer type starts from fresh state.
    fork.optimizers =
      config.generator.optimizer.type === parentConfig.generator.optimizer.type &&
      config.discriminator.optimizer.type === parentConfig.discriminator.optimizer.type;
  }
  const data = await loadData(config.data, dataDir);
  return { config, data, resume: null, fork };
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, data: allData, resume, fork } = await prepare(options);
  // semiSupervised: the held-out test examples leave the training data; a few labelled ones are kept apart.
  const semi = config.semiSupervised ? splitSemiSupervised(allData, config.semiSupervised, config.seed) : null;
  const data = semi ? semi.train : allData;
  const backend = await selectBackend(options.backend, options.backendLoaders);
  const startedAt = new Date();
  const runId = resume ? resume.info.id : `${slug(config.name)}-${timestampForId(startedAt)}-${randomBytes(2).toString('hex')}`;
  const runDir = resume ? resume.runDir : path.join(path.resolve(options.runsDir), runId);
  const totalSteps = config.training.steps;

  const gan = new Gan(config, data);
  if (semi) gan.labelled = semi.labelled;
  let step = 0;
  let elapsedBefore = 0;
  if (resume) {
    await removeCheckpointLeftovers(runDir);
    const { manifest, skipped } = await restoreLatestCheckpoint(runDir, gan);
    for (const reason of skipped) options.observer?.onWarning?.(`skipped a checkpoint that does not read back: ${reason}`);
    step = manifest.step;
    elapsedBefore = manifest.elapsedSeconds;
  } else {
    if (fork) {
      try {
        // The fork's history includes the parent's training up to the fork step.
        elapsedBefore = (await restoreCheckpoint(fork.runDir, fork.step, gan, { optimizers: fork.optimizers })).elapsedSeconds;
      } catch (error) {
        gan.dispose();
        // The edited config no longer fits the parent's networks (or the checkpoint is damaged).
        if (error instanceof CheckpointError) throw new ConfigError(`cannot fork ${path.basename(fork.runDir)}: ${error.message}`);
        throw error;
      }
      if (!fork.optimizers) options.observer?.onWarning?.('the optimizer type changed, so the fork starts with fresh optimizer state');
      step = fork.step;
    }
    await mkdir(runDir, { recursive: true });
  }

  // A resume trains again from its checkpoint, and the logs after it are cut: so are the alerts and live changes
  // made after it (the run goes on as it was at the checkpoint, and the history stays true).
  const keptAlerts = (resume?.info.alerts ?? []).filter((alert) => alert.step <= step);
  const keptChanges = (resume?.info.controlChanges ?? []).filter((change) => change.step <= step);
  const writer = new RunWriter(runDir, {
    id: runId,
    name: config.name,
    status: 'running',
    backend: backend.backend,
    backendReason: backend.reason,
    pid: process.pid,
    host: os.hostname(),
    startedAt: resume ? resume.info.startedAt : startedAt.toISOString(),
    endedAt: null,
    step,
    totalSteps,
    error: null,
    configPath: resume ? resume.info.configPath : options.configPath ? path.resolve(options.configPath) : null,
    parent: resume ? resume.info.parent : fork ? fork.runDir : null,
    parentStep: resume ? (resume.info.parentStep ?? null) : fork ? fork.step : null,
    ...(keptAlerts.length ? { alerts: keptAlerts } : {}),
    ...(keptChanges.length ? { controlChanges: keptChanges } : {}),
  });
  await writer.open(resume ? null : config, resume ? step : null);

  // Images are shown as one grid; points as a cloud of sampleCount. A conditional GAN's grid has one row per class.
  const { sampleCount, gridLayout, fixedNoise, fixedLabels } = fixedSamples(gan, config, data);
  // (Its own stream: drawing it again on a resume changes nothing else.)
  const realPoints = data.dimension === 2 && !data.columns ? data.sample(randomStream(config.seed, 'real-sample'), sampleCount) : null;
  if (!resume && realPoints) await writer.writeRealSample(toRows(data.toDataSpace(realPoints), 2));
  const laboratory = realPoints ? new Laboratory(gan, data, realPoints) : null;
  const liveCount = Math.min(sampleCount, LIVE_LABORATORY_POINTS);
  const liveNoise = laboratory && options.liveLaboratory ? tf.slice(fixedNoise, [0, 0], [liveCount, -1]) : null;
  if (!resume && gridLayout) {
    const real = fixedLabels
      ? realClassGrid(data, fixedLabels, randomStream(config.seed, 'real-sample'))
      : data.sample(randomStream(config.seed, 'real-sample'), sampleCount);
    await writer.writeRealImage(encodeImageGrid(real, sampleCount, gridLayout));
  }
  // Sample quality every samplesEvery steps and at the end, on its own fixed noise and real sample.
  const evaluator = await createEvaluator(config, data).catch((caught: unknown) => {
    options.observer?.onWarning?.(`the run goes on without the evaluation metrics: ${caught instanceof Error ? caught.message : String(caught)}`);
    return null;
  });
  options.observer?.onStart?.({
    runId,
    runDir,
    name: config.name,
    backend: backend.backend,
    backendReason: backend.reason,
    startStep: step,
    totalSteps,
    dataDimension: data.dimension,
    config,
  });

  const clock = Date.now();
  /** Time spent paused in step mode: not training time (elapsed, the rate). */
  let pausedMs = 0;
  const elapsed = () => elapsedBefore + (Date.now() - clock - pausedMs) / 1000;
  let lastLog = { time: Date.now(), step };
  let lastMetrics: MetricsRecord | null = null;
  let lastSamples: Float32Array | null = null;
  let status: TrainResult['status'] = 'completed';
  let error: string | null = null;
  let diverged: TrainResult['diverged'] = null;
  let rejectedQuality: TrainResult['rejectedQuality'] = null;
  const { metricsEvery, histogramsEvery, samplesEvery, checkpointEvery, keepCheckpoints, histogramBins } = config.logging;

  const writeSamples = async (atStep: number) => {
    gan.setStep(atStep);
    const modelSamples = await gan.generate(fixedNoise, fixedLabels ?? undefined);
    lastSamples = data.toDataSpace(modelSamples);
    if (gridLayout) {
      const png = encodeImageGrid(lastSamples, sampleCount, gridLayout);
      await writer.writeImageSamples(atStep, png);
      options.observer?.onImageSamples?.({ step: atStep, image: `data:image/png;base64,${png.toString('base64')}` });
      return;
    }
    const samples: PointSamples = {
      step: atStep,
      // Categorical columns: one value a column, a category's index, named by columns.
      points: toRows(lastSamples, dataSpaceWidth(data)),
      ...(data.columns ? { columns: data.columns.map((column) => ({ ...column })) } : {}),
      ...(fixedLabels ? { labels: Array.from(fixedLabels), classNames: [...data.classNames] } : {}),
      ...(laboratory ? { laboratory: await laboratory.frame(modelSamples, fixedLabels ?? undefined) } : {}),
    };
    await writer.writePointSamples(samples);
    options.observer?.onSamples?.(samples);
    lastLiveFrame = { time: Date.now(), cost: 0 };
  };
  let lastLiveFrame = { time: 0, cost: 0 };
  /** A live laboratory frame when the last one is old enough (or `now`: after a single update). */
  const sendLiveFrame = async (atStep: number, now = false) => {
    if (!liveNoise || !laboratory) return;
    const since = Date.now() - lastLiveFrame.time;
    if (!now && (since < LIVE_LABORATORY_INTERVAL_MS || since < LIVE_LABORATORY_SPACING * lastLiveFrame.cost)) return;
    const started = Date.now();
    const labels = fixedLabels?.subarray(0, liveCount);
    const modelSamples = await gan.generate(liveNoise, labels);
    const frame = await laboratory.frame(modelSamples, labels);
    options.observer?.onLaboratory?.({
      step: atStep,
      live: true,
      points: toRows(data.toDataSpace(modelSamples), 2),
      ...(labels ? { labels: Array.from(labels), classNames: [...data.classNames] } : {}),
      laboratory: frame,
    });
    lastLiveFrame = { time: Date.now(), cost: Date.now() - started };
  };

  // Live changes: base rates and k as they are now, and the single updates made in step mode.
  const live = {
    generatorLearningRate: config.generator.optimizer.learningRate,
    discriminatorLearningRate: config.discriminator.optimizer.learningRate,
    dStepsPerGStep: config.training.dStepsPerGStep,
    singles: { discriminator: 0, generator: 0 } as Record<Player, number>,
  };
  // The counts go on from the last record a resumed run kept (the log is cut at its checkpoint).
  const lastKept = resume ? await readLastMetrics(runDir) : null;
  live.singles.discriminator = lastKept?.singleDiscriminatorUpdates ?? 0;
  live.singles.generator = lastKept?.singleGeneratorUpdates ?? 0;
  const controlChanges: ControlChange[] = [...keptChanges];
  const applyChange = (change: LiveHyperparameters) => {
    if (change.generatorLearningRate !== undefined) live.generatorLearningRate = change.generatorLearningRate;
    if (change.discriminatorLearningRate !== undefined) live.discriminatorLearningRate = change.discriminatorLearningRate;
    if (change.dStepsPerGStep !== undefined) live.dStepsPerGStep = change.dStepsPerGStep;
  };
  // A resumed run goes on as it was left.
  for (const change of controlChanges) applyChange(change);
  const optimizers = { generator: gan.generatorOptimizer, discriminator: gan.discriminatorOptimizer };
  /** The schedule's rates at a step, from the base rates as they are now (live changes included). */
  const ratesInForce = (atStep: number) => {
    const factor = learningRateFactor(config, Math.max(1, atStep), totalSteps);
    return { generator: live.generatorLearningRate * factor, discriminator: live.discriminatorLearningRate * factor };
  };
  const controlState = (): ControlState => {
    const rates = ratesInForce(step);
    return {
      paused: options.controls?.isPaused ?? false,
      step,
      generatorLearningRate: live.generatorLearningRate,
      discriminatorLearningRate: live.discriminatorLearningRate,
      generatorRateInForce: rates.generator,
      discriminatorRateInForce: rates.discriminator,
      dStepsPerGStep: live.dStepsPerGStep,
      singleDiscriminatorUpdates: live.singles.discriminator,
      singleGeneratorUpdates: live.singles.generator,
    };
  };
  const controls = options.controls;
  let pausedInRunJson = false;
  /** Applies waiting changes (recorded in run.json) and keeps run.json's `paused` true to the controls. */
  const takeControls = async () => {
    if (!controls) return;
    const change = controls.takeChanges();
    if (change) {
      applyChange(change);
      controlChanges.push({ step, time: Date.now(), ...change });
      await writer.updateRun({ controlChanges: [...controlChanges] }, true);
    }
    if (controls.isPaused !== pausedInRunJson) {
      pausedInRunJson = controls.isPaused;
      await writer.updateRun({ paused: pausedInRunJson }, true);
    }
    if (change) options.observer?.onControls?.(controlState());
  };
  if (controls) {
    controls.onChange = () => options.observer?.onControls?.(controlState());
    options.observer?.onControls?.(controlState());
  }
  let lastCheckpoint: number | null = resume ? step : null;
  const checkpoint = async (atStep: number) => {
    // A diverging update can leave NaN weights behind losses that were still finite: never checkpoint them.
    const broken = await nonFiniteVariable(gan);
    if (broken) await diverge(atStep, `${broken} holds NaN or Inf before its checkpoint`);
    await saveCheckpoint(runDir, gan, atStep, elapsed());
    lastCheckpoint = atStep;
    await pruneCheckpoints(runDir, keepCheckpoints);
  };
  const injected = faults();
  const health = new HealthWatch(config, keptAlerts);
  const alerts: HealthAlert[] = [...keptAlerts];
  const raiseAlerts = async (raised: HealthAlert[]) => {
    if (raised.length === 0) return;
    alerts.push(...raised);
    await writer.updateRun({ alerts: [...alerts] }, true);
    for (const alert of raised) options.observer?.onAlert?.(alert);
  };
  /** The controls in force at a step, for its metrics record (so the logged history says what trained it). */
  const controlMetrics = (atStep: number): Partial<MetricsRecord> => {
    const rates = ratesInForce(atStep);
    return {
      generatorLearningRate: Number(rates.generator.toPrecision(6)),
      discriminatorLearningRate: Number(rates.discriminator.toPrecision(6)),
      dStepsPerGStep: live.dStepsPerGStep,
      ...(live.singles.discriminator || live.singles.generator
        ? { singleDiscriminatorUpdates: live.singles.discriminator, singleGeneratorUpdates: live.singles.generator }
        : {}),
    };
  };
  /** Records the divergence alert (replacing one of before a resume), then ends the run as failed. */
  const diverge = async (atStep: number, seen: string): Promise<never> => {
    const kept = lastCheckpoint === null ? 'no checkpoint was written yet' : `the last finite checkpoint is step ${lastCheckpoint}`;
    const alert = health.onDivergence(atStep, seen, lastCheckpoint);
    alerts.splice(0, alerts.length, ...alerts.filter((a) => a.kind !== 'divergence'));
    await raiseAlerts([alert]);
    throw new DivergedError(`diverged: ${seen} at step ${atStep}; ${kept}`);
  };
  const mixture = data.modes && mixtureStd(config) !== null ? { modes: data.modes, std: mixtureStd(config)! } : null;
  const startStep = step;

  try {
    if (!resume) await writeSamples(step);
    while (step < totalSteps && !options.signal?.aborted) {
      await takeControls();
      const waitedFrom = Date.now();
      const work = controls ? await controls.next(options.signal, takeControls) : ({ kind: 'step' } as const);
      if (controls) {
        const waited = Date.now() - waitedFrom;
        pausedMs += waited;
        lastLog.time += waited;
      }
      await takeControls();
      if (work.kind === 'stop') break;
      if (work.kind === 'changed') continue;
      if (work.kind === 'single') {
        // Step mode: one update of one player; the step counter stays (a step is one iteration of Algorithm 1).
        setLearningRates(optimizers, ratesInForce(step));
        const single = await gan.step(false, { phase: work.player });
        const loss = work.player === 'discriminator' ? single.dLoss : single.gLoss;
        if (!Number.isFinite(loss)) await diverge(step, `a single ${work.player} update in step mode made its loss ${loss}`);
        live.singles[work.player]++;
        options.observer?.onControls?.(controlState());
        await sendLiveFrame(step, true);
        continue;
      }
      const next = step + 1;
      const evaluate = (evaluator !== null || semi !== null) && (next % samplesEvery === 0 || next === totalSteps);
      // An evaluated step is a logged one: its record carries the evaluation.
      const logMetrics = next % metricsEvery === 0 || next === totalSteps || evaluate;
      const logHistogram = next % histogramsEvery === 0;
      if (injected.nanAtStep === next) poisonWeights(gan);
      setLearningRates(optimizers, ratesInForce(next));
      gan.setStep(next);
      const result = await gan.step(logMetrics || logHistogram, { dStepsPerGStep: live.dStepsPerGStep });
      if (!Number.isFinite(result.dLoss) || !Number.isFinite(result.gLoss))
        await diverge(next, `the losses became ${result.dLoss} (D) and ${result.gLoss} (G)`);
      step = next;
      if (injected.nanAfterStep === step) poisonWeights(gan);
      if (result.outputs && logMetrics) {
        const now = Date.now();
        const record: MetricsRecord = {
          step,
          time: now,
          dLoss: result.dLoss,
          gLoss: result.gLoss,
          dReal: mean(result.outputs.dReal),
          dFake: mean(result.outputs.dFake),
          stepsPerSecond: ((step - lastLog.step) * 1000) / Math.max(1, now - lastLog.time),
          ...criticMetrics(config, result),
          ...controlMetrics(step),
          ...(evaluate && evaluator ? await evaluator.evaluate(gan) : {}),
          ...(evaluate && semi && gan.discriminator instanceof ClassifyingDiscriminator
            ? { testAccuracy: await classifierAccuracy(gan.discriminator, semi.test, data.dimension) }
            : {}),
        };
        lastLog = { time: now, step };
        lastMetrics = record;
        await writer.appendMetrics(record);
        options.observer?.onMetrics?.(record);
        await raiseAlerts(health.onMetrics(record));
        // (The classes the digit classifier finds in real samples: for non-digit 28×28 images they are not the data's classes.)
        if (evaluate && gridLayout && evaluator && record.evaluationFeatures) {
          await raiseAlerts(health.onEvaluation(record, evaluator.realClassCount ?? 0, totalSteps));
        }
      }
      if (result.outputs && logHistogram) {
        const record: HistogramRecord = {
          step,
          edges: Array.from({ length: histogramBins + 1 }, (_, i) => i / histogramBins),
          dReal: histogram(result.outputs.dReal, histogramBins),
          dFake: histogram(result.outputs.dFake, histogramBins),
        };
        await writer.appendHistogram(record);
        options.observer?.onHistogram?.(record);
      }
      if (step % samplesEvery === 0 || step === totalSteps) {
        await writeSamples(step);
        if (mixture && lastSamples) await raiseAlerts(health.onCoverage(step, modeQuality(lastSamples, mixture.modes, mixture.std), totalSteps));
      }
      if (step % checkpointEvery === 0 && step !== totalSteps) await checkpoint(step);
      options.observer?.onStep?.(step, totalSteps);
      await writer.updateRun({ step });
      await sendLiveFrame(step);
      if (injected.crashAfterSteps !== undefined && step - startStep >= injected.crashAfterSteps) process.exit(70);
      // Let IPC messages and signals (stop requests) be handled between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (options.signal?.aborted) status = 'stopped';
    await checkpoint(step);
    if (mixture && config.sampling?.rejection === 'discriminator' && step > 0) {
      // What `gan-workbench sample` will give: G's draws kept by D, as many as the fixed-noise samples.
      // A check of the trained run: if D turns (nearly) everything away, say so and keep the run completed.
      try {
        const kept = await rejectionSample(gan, config.logging.sampleCount, new Random(`rejection:${config.seed}`));
        rejectedQuality = { ...modeQuality(data.toDataSpace(kept.rows), mixture.modes, mixture.std), acceptanceRate: kept.acceptanceRate };
      } catch (rejectionError) {
        if (!(rejectionError instanceof RejectionError)) throw rejectionError;
        options.observer?.onWarning?.(rejectionError.message);
      }
    }
    if (status === 'stopped' && step % samplesEvery !== 0) await writeSamples(step);
  } catch (caught) {
    status = 'failed';
    if (caught instanceof DivergedError) diverged = { checkpoint: lastCheckpoint };
    error = caught instanceof Error ? caught.message : String(caught);
  } finally {
    fixedNoise.dispose();
    liveNoise?.dispose();
    laboratory?.dispose();
    evaluator?.dispose();
    gan.dispose();
  }
  try {
    await writer.updateRun({ status, step, error, endedAt: new Date().toISOString(), pid: null, ...(pausedInRunJson ? { paused: false } : {}) }, true);
  } catch (writeError) {
    // The disk refused even this; readers see a dead pid and report the run as failed.
    options.observer?.onWarning?.(`could not record the end of the run in run.json: ${(writeError as Error).message}`);
  }
  await writer.close().catch(() => undefined);

  const std = mixtureStd(config);
  const quality = lastSamples && step > 0 && data.modes && std !== null ? modeQuality(lastSamples, data.modes, std) : null;
  const result: TrainResult = {
    runId,
    runDir,
    status,
    step,
    totalSteps,
    error,
    backend: backend.backend,
    seconds: elapsed(),
    lastMetrics,
    quality,
    rejectedQuality,
    diverged,
  };
  options.observer?.onEnd?.(result);
  return result;
}
