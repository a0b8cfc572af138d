#!/usr/bin/env node
/**
 * `gan-workbench`: the trainer from a terminal. The same code runs in the child process the
 * extension forks, so a run started here is the same as one started from VS Code.
 *
 * Exit codes: 0 done; 1 the run failed; 2 bad usage, config or data (nothing was written);
 * 130 stopped by Ctrl-C / SIGTERM (a checkpoint was written, `--resume` continues).
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { RUN_FILES, sampleFileName } from '../protocol/runDirectory';
import { listSampleSteps, readPointSamples } from '../runs/runReader';
import { exportTensorBoard, isExportOf, renderScatterPng, viewOf } from '../runs/tensorboardExport';
import { exportGenerator, ExportError } from './exportGenerator';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import type { BackendChoice } from '../protocol/runDirectory';
import { BACKENDS } from '../protocol/runDirectory';
import { parseSetting } from '../protocol/configPatch';
import { encodeImageGrid, gridColumns } from '../runs/imageGrid';
import { runBenchmark } from './bench';
import { ConfigError } from './configFile';
import { DataError } from './data';
import { namedRows, sampleRun, SampleError } from './sample';
import { metricsSummaryLines } from './summary';
import { train, type TrainObserver, type TrainResult } from './train';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const USAGE = `Usage:
  gan-workbench train <config.gan.json> [--out <runs-dir>] [--steps N] [--seed S] [--backend auto|${BACKENDS.join('|')}]
  gan-workbench train --resume <run-dir> [--steps N] [--backend …]
  gan-workbench train --fork <run-dir> [--from-step K] [config.gan.json] [--set field.path=value …] [--steps N]
      --set changes one config field, e.g. --set generator.optimizer.learningRate=1e-4 (repeatable)
  gan-workbench sample <run-dir> [--n N] [--step latest|K] [--out file.json|grid.png] [--seed S] [--class C …] [--no-rejection]
      file.json: one flat row per sample (pixels in [-1, 1], row-major HWC, for images; [x, y] for 2-D data;
      one value a column for CSV data, a data.categorical column's value its category name, e.g. [0.3, "spam"])
      conditional runs draw every class in equal blocks, or only the classes --class names (repeatable, or
      C1,C2; C is a class name: the digit, the mode index, the sub-folder or the labelColumn value), and
      --out x.json also writes x.labels.json: {"labels": [class index of each row], "classNames": [...]}
      (row i is of class classNames[labels[i]]; for the digits the index is the digit); a .png grid gives
      each class its own row when N is a multiple of the number of classes; a run whose config sets
      sampling.rejection "discriminator" keeps G's draws by D (Azadi et al. 2019), --no-rejection: G alone
  gan-workbench export <run-dir> --format tfjs|tensorboard|png [--out dir] [--step latest|K]
      tfjs: the generator as a TensorFlow.js Layers model (model.json + weights)
      tensorboard: event files with the losses, D(x)/D(G(z)) histograms and samples
      png: the newest samples as a PNG
  gan-workbench bench <config.gan.json> [--steps N] [--backend …]

Runs go to ./runs unless --out says otherwise.`;

class UsageError extends Error {}

function integerOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

function backendOption(value: string | undefined): BackendChoice {
  if (value === undefined) return 'auto';
  if (value === 'auto' || (BACKENDS as readonly string[]).includes(value)) return value as BackendChoice;
  throw new UsageError(`--backend must be one of auto, ${BACKENDS.join(', ')}; got "${value}"`);
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

const fmt = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '--' : x.toPrecision(4));

/** A progress bar on a terminal; plain progress lines (about every 10%) otherwise. */
function progressObserver(stream: NodeJS.WriteStream): TrainObserver & { stopBar(): void } {
  const tty = Boolean(stream.isTTY);
  let bar: SingleBar | null = null;
  let startTime = Date.now();
  let startStep = 0;
  let nextPlainStep = 0;
  let latest = { dLoss: NaN, gLoss: NaN };
  const rate = (step: number) => ((step - startStep) * 1000) / Math.max(1, Date.now() - startTime);
  return {
    onStart(run) {
      startTime = Date.now();
      startStep = run.startStep;
      stream.write(`Run ${run.runId}\n  dir      ${run.runDir}\n  backend  ${run.backend}${run.backendReason ? ` (skipped ${run.backendReason})` : ''}\n`);
      if (run.startStep > 0) stream.write(`  resuming from step ${run.startStep}\n`);
      if (tty) {
        bar = new SingleBar({
          format: ' {bar} {percentage}% | step {value}/{total} | {rate} steps/s | ETA {etaText} | D loss {dLoss} · G loss {gLoss}',
          barCompleteChar: '\u2588',
          barIncompleteChar: '\u2591',
          hideCursor: true,
          barsize: 30,
          stream,
          fps: 10,
        });
        bar.start(run.totalSteps, run.startStep, { rate: '--', etaText: '--', dLoss: '--', gLoss: '--' });
      }
      nextPlainStep = run.startStep;
    },
    onMetrics(record) {
      latest = record;
    },
    onWarning(message) {
      bar?.stop();
      bar = null;
      process.stderr.write(`warning: ${message}\n`);
    },
    onAlert(alert) {
      // Printed above the bar, which then goes on where it was.
      const progress = bar ? { value: bar.getProgress() * bar.getTotal(), total: bar.getTotal() } : null;
      bar?.stop();
      process.stderr.write(`alert at step ${alert.step}: ${alert.message}\n  usually helps: ${alert.advice}\n`);
      if (bar && progress)
        bar.start(progress.total, Math.round(progress.value), { rate: '--', etaText: '--', dLoss: fmt(latest.dLoss), gLoss: fmt(latest.gLoss) });
    },
    onStep(step, total) {
      const r = rate(step);
      const eta = formatDuration((total - step) / r);
      if (bar) {
        bar.update(step, { rate: r.toFixed(1), etaText: eta, dLoss: fmt(latest.dLoss), gLoss: fmt(latest.gLoss) });
      } else if (step >= nextPlainStep || step === total) {
        stream.write(
          `step ${step}/${total} (${Math.floor((100 * step) / total)}%) ${r.toFixed(1)} steps/s ETA ${eta} dLoss ${fmt(latest.dLoss)} gLoss ${fmt(latest.gLoss)}\n`,
        );
        nextPlainStep = step + Math.max(1, Math.ceil(total / 10));
      }
    },
    stopBar() {
      bar?.stop();
      bar = null;
    },
  };
}

function printSummary(result: TrainResult, stream: NodeJS.WriteStream): void {
  const m = result.lastMetrics;
  const lines = [
    '',
    `Summary: ${result.status}${result.error ? ` (${result.error})` : ''}`,
    `  steps        ${result.step}/${result.totalSteps} in ${formatDuration(result.seconds)} (${(result.step / Math.max(result.seconds, 1e-9)).toFixed(1)} steps/s overall, backend ${result.backend})`,
  ];
  // The hint under D(x) and D(G(z)) follows what they are for the cost; Wasserstein costs add the critic's estimate and penalty.
  if (m) lines.push(...metricsSummaryLines(m));
  if (result.quality) {
    const q = result.quality;
    lines.push(
      `  modes        ${q.modesCovered}/${q.modeCount} covered, ${(100 * q.highQuality).toFixed(1)}% high-quality samples (PacGAN protocol, fixed-noise samples)`,
    );
  }
  if (result.rejectedQuality) {
    const q = result.rejectedQuality;
    lines.push(
      `  sampled      ${q.modesCovered}/${q.modeCount} covered, ${(100 * q.highQuality).toFixed(1)}% high-quality samples, mode KL ${q.reverseKl.toFixed(4)}` +
        ` (G's draws kept by D, sampling.rejection; ${(100 * q.acceptanceRate).toFixed(1)}% kept: what \`gan-workbench sample\` gives)`,
    );
  }
  lines.push(`  run dir      ${result.runDir}`);
  if (result.status === 'stopped') lines.push(`  continue     gan-workbench train --resume ${result.runDir}`);
  // A diverged run keeps its last finite checkpoint: fork from it with lower rates (the divergence alert says what else helps).
  if (result.diverged?.checkpoint !== undefined && result.diverged.checkpoint !== null) {
    lines.push(`  fork         gan-workbench train --fork ${result.runDir} --from-step ${result.diverged.checkpoint} --set generator.optimizer.learningRate=…`);
    lines.push(`  or resume    gan-workbench train --resume ${result.runDir}`);
  }
  stream.write(lines.join('\n') + '\n');
}

async function trainCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      steps: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      resume: { type: 'string' },
      fork: { type: 'string' },
      'from-step': { type: 'string' },
      set: { type: 'string', multiple: true },
    },
  });
  if (values.resume ? positionals.length > 0 : values.fork ? positionals.length > 1 : positionals.length !== 1) {
    throw new UsageError('train needs one config file, or --resume <run-dir>, or --fork <run-dir> [config file]');
  }
  if (values.resume && values.fork) throw new UsageError('--resume and --fork cannot be combined');
  if (values.resume && (values.seed !== undefined || values.set)) throw new UsageError('--seed and --set cannot change a resumed run (fork it instead)');
  if (values['from-step'] !== undefined && !values.fork) throw new UsageError('--from-step needs --fork');
  const settings = (values.set ?? []).map((text) => {
    const setting = parseSetting(text);
    if ('error' in setting) throw new UsageError(`--set ${setting.error}`);
    return setting;
  });
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write('\nStopping after this step (a checkpoint is written); press Ctrl-C again to quit at once.\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = progressObserver(process.stdout);
  try {
    const result = await train({
      configPath: positionals[0],
      resumeFrom: values.resume,
      forkFrom: values.fork,
      forkStep: integerOption(values['from-step'], 'from-step', 0),
      settings,
      // A fork lives beside its parent unless told otherwise.
      runsDir: values.out ?? (values.fork ? path.dirname(path.resolve(values.fork)) : path.resolve('runs')),
      backend: backendOption(values.backend),
      steps: integerOption(values.steps, 'steps', 1),
      seed: integerOption(values.seed, 'seed', 0),
      signal: controller.signal,
      observer: progress,
    });
    progress.stopBar();
    printSummary(result, process.stdout);
    return result.status === 'completed' ? EXIT.ok : result.status === 'stopped' ? EXIT.interrupted : EXIT.failed;
  } finally {
    progress.stopBar();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function sampleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      n: { type: 'string' },
      step: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      class: { type: 'string', multiple: true },
      'no-rejection': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('sample needs one run directory');
  const classes = (values.class ?? []).flatMap((text) => text.split(',').map((name) => name.trim()));
  if (classes.some((name) => name === '')) throw new UsageError('--class needs a class name (e.g. --class 3 or --class 3,5)');
  const stepText = values.step ?? 'latest';
  const step = stepText === 'latest' ? 'latest' : integerOption(stepText, 'step', 0);
  const result = await sampleRun({
    runDir: positionals[0],
    count: integerOption(values.n, 'n', 1) ?? 1000,
    step: step ?? 'latest',
    seed: integerOption(values.seed, 'seed', 0) ?? 0,
    backend: backendOption(values.backend),
    classes,
    rejection: !values['no-rejection'],
    warn: (message) => process.stderr.write(`warning: ${message}\n`),
  });
  if (result.acceptanceRate !== null) {
    process.stderr.write(
      `discriminator rejection sampling (the run's sampling.rejection): kept ${(100 * result.acceptanceRate).toFixed(1)}% of G's draws (--no-rejection: G alone)\n`,
    );
  }
  const isImage = result.shape.length === 3;
  const count = result.samples.length;
  if (values.out?.endsWith('.png')) {
    if (!isImage) throw new UsageError('--out *.png is for image data; this run has points: name a .json file');
    const flat = Float32Array.from(result.samples.flat());
    // Conditional: the labels come in equal blocks, so with one row per block each row is a class.
    const drawn = result.labels ? new Set(result.labels).size : 0;
    const columns = drawn > 0 && count % drawn === 0 ? count / drawn : gridColumns(count);
    await writeFile(values.out, encodeImageGrid(flat, count, { shape: result.shape, columns }));
    process.stderr.write(`a grid of ${result.samples.length} samples from step ${result.step} written to ${values.out}\n`);
    return EXIT.ok;
  }
  // Categorical columns are printed as their category names.
  const json = JSON.stringify(result.columns ? namedRows(result.samples, result.columns) : result.samples);
  if (values.out) {
    if (!values.out.endsWith('.json'))
      throw new UsageError(`--out must name a .json file${isImage ? ' (flat pixel arrays) or a .png file (a grid)' : ' for point data'}`);
    await writeFile(values.out, json + '\n');
    process.stderr.write(`${result.samples.length} samples from step ${result.step} written to ${values.out}\n`);
    if (result.labels && result.classNames) {
      const labelsFile = labelsFileOf(values.out);
      await writeFile(labelsFile, JSON.stringify({ labels: result.labels, classNames: result.classNames }) + '\n');
      process.stderr.write(`their classes written to ${labelsFile}\n`);
    }
  } else {
    process.stdout.write(json + '\n');
  }
  return EXIT.ok;
}

/** `x.json` → `x.labels.json`: the classes of a conditional run's samples, beside them. */
export function labelsFileOf(out: string): string {
  return out.replace(/\.json$/, '.labels.json');
}

async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, out: { type: 'string' }, step: { type: 'string' }, backend: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('export needs one run directory');
  const runDir = path.resolve(positionals[0]);
  const format = values.format ?? 'tfjs';
  switch (format) {
    case 'tfjs': {
      const stepText = values.step ?? 'latest';
      const out = path.resolve(values.out ?? path.join(runDir, 'export', 'tfjs-generator'));
      const result = await exportGenerator({
        runDir,
        step: stepText === 'latest' ? 'latest' : (integerOption(stepText, 'step', 0) ?? 'latest'),
        outDir: out,
        backend: backendOption(values.backend),
        warn: (message) => process.stderr.write(`warning: ${message}\n`),
      });
      process.stdout.write(`generator of step ${result.step} exported to ${out} (load it with tf.loadLayersModel)\n`);
      return EXIT.ok;
    }
    case 'tensorboard': {
      const out = path.resolve(values.out ?? path.join(runDir, 'tensorboard'));
      const result = await exportTensorBoard(runDir, out).catch((error: Error) => {
        throw new ExportError(error.message);
      });
      // One event file per run and folder: an older export of this run would show every point
      // twice. Other files (other runs' exports, other tools' logs) are left alone.
      for (const name of await readdir(out)) {
        if (isExportOf(name, runDir) && path.join(out, name) !== result.file) await rm(path.join(out, name), { force: true });
      }
      process.stdout.write(
        `${result.scalars} scalars, ${result.histograms} histograms, ${result.images} images written to ${result.file}\n  view with: tensorboard --logdir ${out}\n`,
      );
      return EXIT.ok;
    }
    case 'png': {
      const out = path.resolve(values.out ?? path.join(runDir, 'export'));
      const file = await exportLatestSamplePng(runDir, out);
      process.stdout.write(`samples written to ${file}\n`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`--format must be tfjs, tensorboard or png; got "${format}"`);
  }
}

/** The newest samples as a PNG: the grid itself for image data, a scatter over the real data for points. */
async function exportLatestSamplePng(runDir: string, outDir: string): Promise<string> {
  const pngSteps = await listSampleSteps(runDir, 'png');
  const jsonSteps = await listSampleSteps(runDir, 'json');
  const lastPng = pngSteps[pngSteps.length - 1];
  const lastJson = jsonSteps[jsonSteps.length - 1];
  await mkdir(outDir, { recursive: true });
  if (lastPng !== undefined && (lastJson === undefined || lastPng >= lastJson)) {
    const target = path.join(outDir, `samples-${sampleFileName(lastPng, 'png')}`);
    await writeFileAtomic(target, await readFile(path.join(runDir, RUN_FILES.samples, sampleFileName(lastPng, 'png'))));
    return target;
  }
  if (lastJson === undefined) throw new SampleError(`${runDir}: has no samples yet`);
  const samples = await readPointSamples(path.join(runDir, RUN_FILES.samples, sampleFileName(lastJson, 'json')));
  if (!samples || samples.points.length === 0 || samples.points[0].length < 2) throw new SampleError(`${runDir}: the newest samples cannot be drawn in 2-D`);
  const real = await readFile(path.join(runDir, RUN_FILES.realSample), 'utf8')
    .then((text) => JSON.parse(text) as number[][])
    .catch(() => null);
  const view = viewOf(real ?? samples.points);
  if (!view) throw new SampleError(`${runDir}: the newest samples have no finite points`);
  const target = path.join(outDir, `samples-${sampleFileName(lastJson, 'png')}`);
  await writeFileAtomic(target, renderScatterPng(samples.points, real, view));
  return target;
}

async function benchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { steps: { type: 'string' }, backend: { type: 'string' }, warmup: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('bench needs one config file');
  const result = await runBenchmark({
    configPath: positionals[0],
    steps: integerOption(values.steps, 'steps', 1) ?? 200,
    warmupSteps: integerOption(values.warmup, 'warmup', 0) ?? 20,
    backend: backendOption(values.backend),
    log: (line) => process.stderr.write(line + '\n'),
  });
  process.stdout.write(JSON.stringify(result) + '\n');
  return EXIT.ok;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        return await trainCommand(rest);
      case 'sample':
        return await sampleCommand(rest);
      case 'export':
        return await exportCommand(rest);
      case 'bench':
        return await benchCommand(rest);
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return EXIT.ok;
      default:
        throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
    }
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`gan-workbench: ${error.message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError || error instanceof DataError || error instanceof SampleError || error instanceof ExportError) {
      process.stderr.write(`gan-workbench: ${error instanceof ConfigError ? 'invalid config\n' : ''}${error.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`gan-workbench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
