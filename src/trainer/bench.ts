/** `gan-workbench bench`: training throughput of a config, without writing a run. */
import path from 'node:path';
import type { BackendChoice, BackendName } from '../protocol/runDirectory';
import { backendThreads, selectBackend } from './backend';
import { loadConfigFile, resolveConfigPaths } from './configFile';
import { loadData } from './data';
import { Gan } from './gan';

export interface BenchOptions {
  configPath: string;
  steps: number;
  warmupSteps: number;
  backend: BackendChoice;
  log(line: string): void;
}

export interface BenchResult {
  config: string;
  backend: BackendName;
  /** Threads the backend's heap kernels ran on (GAN_WORKBENCH_THREADS). */
  threads: number;
  steps: number;
  batchSize: number;
  dStepsPerGStep: number;
  seconds: number;
  stepsPerSecond: number;
  /** Real samples consumed per second: batch size × steps / seconds. */
  samplesPerSecond: number;
}

export async function runBenchmark(options: BenchOptions): Promise<BenchResult> {
  const configPath = path.resolve(options.configPath);
  const config = resolveConfigPaths(await loadConfigFile(configPath), path.dirname(configPath));
  const data = await loadData(config.data, path.dirname(configPath));
  const backend = await selectBackend(options.backend);
  const threads = backendThreads();
  options.log(
    `bench ${path.basename(configPath)} on ${backend.backend}, ${threads} thread${threads === 1 ? '' : 's'}${backend.reason ? ` (skipped ${backend.reason})` : ''}`,
  );
  const gan = new Gan(config, data);
  try {
    for (let i = 0; i < options.warmupSteps; i++) await gan.step(false);
    // A synchronising read, so queued work of the warm-up is not timed.
    await gan.step(true);
    const start = process.hrtime.bigint();
    for (let i = 0; i < options.steps - 1; i++) await gan.step(false);
    await gan.step(true);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stepsPerSecond = options.steps / seconds;
    const result: BenchResult = {
      config: path.basename(configPath),
      backend: backend.backend,
      threads,
      steps: options.steps,
      batchSize: config.training.batchSize,
      dStepsPerGStep: config.training.dStepsPerGStep,
      seconds,
      stepsPerSecond,
      samplesPerSecond: stepsPerSecond * config.training.batchSize,
    };
    options.log(`${options.steps} steps in ${seconds.toFixed(2)} s: ${stepsPerSecond.toFixed(1)} steps/s, ${result.samplesPerSecond.toFixed(0)} samples/s`);
    return result;
  } finally {
    gan.dispose();
  }
}
