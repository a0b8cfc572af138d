/** What the compare tab shows of each run, read from the run directories (no VS Code here). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GanConfig } from '../protocol/config';
import type { CompareRun, CompareSamples } from '../protocol/compareMessages';
import { RUN_FILES, sampleFileName } from '../protocol/runDirectory';
import { listSampleSteps, readConfigSnapshot, readMetrics, readPointSamples, readRunInfo } from './runReader';

/** Config leaves by dotted path; free text (name, description) is left out. */
export function flattenConfig(config: GanConfig): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const walk = (value: unknown, prefix: string) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      out[prefix] = value.join(', ');
    } else if (typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) walk(child, prefix ? `${prefix}.${key}` : key);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out[prefix] = value;
    }
  };
  const { name: _name, description: _description, $schema: _schema, ...rest } = config;
  walk(rest, '');
  return out;
}

/** The newest step in `steps` (ascending) at or before `step`. */
export function stepAtOrBefore(steps: readonly number[], step: number): number | null {
  let lo = 0;
  let hi = steps.length - 1;
  let found: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] <= step) {
      found = steps[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export async function loadCompareRun(runDir: string, shownRunDirs: readonly string[]): Promise<CompareRun | null> {
  const info = await readRunInfo(runDir);
  if (!info) return null;
  const [metrics, config, sampleSteps] = await Promise.all([readMetrics(runDir), readConfigSnapshot(runDir), listSampleSteps(runDir)]);
  const firstSample = sampleSteps.length ? await readPointSamples(path.join(runDir, RUN_FILES.samples, sampleFileName(sampleSteps[0], 'json'))) : null;
  const parentIndex = info.parent ? shownRunDirs.findIndex((dir) => path.resolve(dir) === path.resolve(info.parent ?? '')) : -1;
  const lastStep = metrics[metrics.length - 1]?.step ?? 0;
  return {
    runId: info.id,
    name: info.name,
    status: info.status,
    step: Math.max(info.step, lastStep),
    totalSteps: info.totalSteps,
    parentIndex: parentIndex >= 0 ? parentIndex : null,
    parentId: info.parent ? path.basename(info.parent) : null,
    parentStep: info.parentStep ?? null,
    params: config ? flattenConfig(config) : {},
    metrics,
    sampleSteps,
    dataDimension: firstSample?.points[0]?.length ?? 0,
  };
}

/** Sample grids larger than this are not sent to the webview (a data URI travels in a message). */
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

export async function samplesAt(runDir: string, runIndex: number, step: number): Promise<CompareSamples> {
  const [jsonSteps, pngSteps] = await Promise.all([listSampleSteps(runDir, 'json'), listSampleSteps(runDir, 'png')]);
  const json = stepAtOrBefore(jsonSteps, step);
  const png = stepAtOrBefore(pngSteps, step);
  if (png !== null && (json === null || png >= json)) {
    const bytes = await readFile(path.join(runDir, RUN_FILES.samples, sampleFileName(png, 'png'))).catch(() => null);
    if (bytes && bytes.byteLength <= MAX_IMAGE_BYTES) return { runIndex, step: png, samples: null, image: `data:image/png;base64,${bytes.toString('base64')}` };
  }
  const samples = json === null ? null : await readPointSamples(path.join(runDir, RUN_FILES.samples, sampleFileName(json, 'json')));
  return { runIndex, step: samples ? json : null, samples, image: null };
}
