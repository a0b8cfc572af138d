/** Builds the monitor's snapshot of a run from its directory (the single source of truth). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { COST_DEFAULTS, type CostType } from '../protocol/config';
import type { MonitorRunSummary, MonitorSnapshot } from '../protocol/monitorMessages';
import type { HistogramRecord, ImageSamples, RunInfo } from '../protocol/runDirectory';
import { RUN_FILES, sampleFileName } from '../protocol/runDirectory';
import { readSnapshotMetrics } from './metricsHistory';
import { listSampleSteps, readLastRecord, readPointSamples, readRunInfo } from './runReader';

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Larger files are not sent to a webview (a sample grid is tens of kilobytes). */
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

async function readImageUri(file: string): Promise<string | null> {
  const bytes = await readFile(file).catch(() => null);
  return bytes && bytes.byteLength > 0 && bytes.byteLength <= MAX_IMAGE_BYTES ? `data:image/png;base64,${bytes.toString('base64')}` : null;
}

/** The sample grid of one step, or null when the run has none for it. */
export async function readImageSamples(runDir: string, step: number): Promise<ImageSamples | null> {
  const image = await readImageUri(path.join(runDir, RUN_FILES.samples, sampleFileName(step, 'png')));
  return image ? { step, image } : null;
}

/**
 * The cost of a run's config.json, read without validating the whole config (a run written by an
 * older or newer version still says its cost); a config without a cost is the cross-entropy game.
 */
export function costOfConfig(config: unknown): CostType | null {
  if (config === null || typeof config !== 'object') return null;
  const training: unknown = (config as { training?: unknown }).training;
  const cost: unknown = training !== null && typeof training === 'object' ? (training as { cost?: unknown }).cost : undefined;
  if (cost === undefined) return 'cross-entropy';
  const type: unknown = cost !== null && typeof cost === 'object' ? (cost as { type?: unknown }).type : undefined;
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(COST_DEFAULTS, type) ? (type as CostType) : null;
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
    alerts: info.alerts ?? [],
  };
}

export async function loadSnapshot(runDir: string): Promise<MonitorSnapshot | null> {
  const info = await readRunInfo(runDir);
  if (!info) return null;
  const [{ metrics, history }, latestHistogram, sampleSteps, realPoints, imageSteps, realImage, config] = await Promise.all([
    readSnapshotMetrics(runDir),
    readLastRecord<HistogramRecord>(path.join(runDir, RUN_FILES.histograms)),
    listSampleSteps(runDir),
    readJson<number[][]>(path.join(runDir, RUN_FILES.realSample)),
    listSampleSteps(runDir, 'png'),
    readImageUri(path.join(runDir, RUN_FILES.realImage)),
    readJson<unknown>(path.join(runDir, RUN_FILES.config)),
  ]);
  const lastImageStep = imageSteps[imageSteps.length - 1];
  const latestImage = lastImageStep === undefined ? null : await readImageSamples(runDir, lastImageStep);
  const lastSampleStep = sampleSteps[sampleSteps.length - 1];
  const latestSamples =
    lastSampleStep === undefined ? null : await readPointSamples(path.join(runDir, RUN_FILES.samples, sampleFileName(lastSampleStep, 'json')));
  const dataDimension = realPoints?.[0]?.length ?? latestSamples?.points[0]?.length ?? 0;
  const lastMetricsStep = metrics.length ? metrics[metrics.length - 1].step : 0;
  return {
    // run.json is written at most once a second; the logs may be a little ahead of it.
    run: summarize({ ...info, step: Math.max(info.step, lastMetricsStep) }, dataDimension),
    metrics,
    ...(history ? { history } : {}),
    latestHistogram,
    latestSamples,
    realPoints,
    imageSteps,
    latestImage,
    realImage,
    cost: costOfConfig(config),
  };
}
