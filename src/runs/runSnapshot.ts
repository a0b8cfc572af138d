/** Builds the monitor's snapshot of a run from its directory (the single source of truth). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MonitorRunSummary, MonitorSnapshot } from '../protocol/monitorMessages';
import type { RunInfo } from '../protocol/runDirectory';
import { RUN_FILES, sampleFileName } from '../protocol/runDirectory';
import { listSampleSteps, readHistograms, readMetrics, readPointSamples, readRunInfo } from './runReader';

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

export function summarize(info: RunInfo, dataDimension: number): MonitorRunSummary {
  return {
    runId: info.id,
    name: info.name,
    status: info.status,
    backend: info.backend,
    step: info.step,
    totalSteps: info.totalSteps,
    error: info.error,
    dataDimension,
  };
}

export async function loadSnapshot(runDir: string): Promise<MonitorSnapshot | null> {
  const info = await readRunInfo(runDir);
  if (!info) return null;
  const [metrics, histograms, sampleSteps, realPoints] = await Promise.all([
    readMetrics(runDir),
    readHistograms(runDir),
    listSampleSteps(runDir),
    readJson<number[][]>(path.join(runDir, RUN_FILES.realSample)),
  ]);
  const lastSampleStep = sampleSteps[sampleSteps.length - 1];
  const latestSamples =
    lastSampleStep === undefined ? null : await readPointSamples(path.join(runDir, RUN_FILES.samples, sampleFileName(lastSampleStep, 'json')));
  const dataDimension = realPoints?.[0]?.length ?? latestSamples?.points[0]?.length ?? 0;
  const lastMetricsStep = metrics.length ? metrics[metrics.length - 1].step : 0;
  return {
    // run.json is written at most once a second; the logs may be a little ahead of it.
    run: summarize({ ...info, step: Math.max(info.step, lastMetricsStep) }, dataDimension),
    metrics,
    latestHistogram: histograms[histograms.length - 1] ?? null,
    latestSamples,
    realPoints,
  };
}
