/**
 * Reads run directories (DESIGN.md § Run directory). Node-only; shared by the extension and the
 * CLI. Readers are tolerant: a torn last line is skipped (the writer may be mid-append) and a
 * run whose trainer died without saying so is reported as failed.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { validateConfig, type GanConfig } from '../protocol/config';
import type { HistogramRecord, MetricsRecord, PointSamples, RunInfo } from '../protocol/runDirectory';
import { RUN_FILES, stepOfCheckpointDir, stepOfSampleFile } from '../protocol/runDirectory';

export interface JsonlResult<T> {
  records: T[];
  /** Problems found, e.g. "line 7: not valid JSON"; a torn final line is not one of them. */
  warnings: string[];
  /** Bytes of the file that ended in a complete line (where the next read may start). */
  completeBytes: number;
}

/** Parses JSON Lines, keeping every complete record; an unterminated last line is left for later. */
export function parseJsonl<T>(text: string, firstLineNumber = 1): JsonlResult<T> {
  const records: T[] = [];
  const warnings: string[] = [];
  const end = text.lastIndexOf('\n') + 1;
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      warnings.push(`line ${firstLineNumber + i}: not valid JSON`);
    }
  });
  return { records, warnings, completeBytes: Buffer.byteLength(text.slice(0, end)) };
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

export async function readMetrics(runDir: string): Promise<MetricsRecord[]> {
  const text = await readText(path.join(runDir, RUN_FILES.metrics));
  return text === null ? [] : parseJsonl<MetricsRecord>(text).records;
}

/** The newest metrics record, read from the end of the file (cheap for long runs). */
export async function readLastMetrics(runDir: string): Promise<MetricsRecord | null> {
  let handle;
  try {
    handle = await open(path.join(runDir, RUN_FILES.metrics), 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 8192);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // Drop the (possibly partial) first line of the window; keep complete lines only.
    const window = size > length ? text.slice(text.indexOf('\n') + 1) : text;
    const { records } = parseJsonl<MetricsRecord>(window);
    return records[records.length - 1] ?? null;
  } finally {
    await handle.close();
  }
}

/**
 * The last complete record of a JSON Lines file, read from its end in growing windows (a long
 * run's histograms.jsonl is tens of MB; the monitor's snapshot needs only the newest one).
 */
export async function readLastRecord<T>(file: string): Promise<T | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    for (let length = Math.min(size, 64 * 1024); length > 0; length = Math.min(size, length * 4)) {
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const text = buffer.toString('utf8');
      // Complete lines only: the window's first line may be cut, the file's last one unfinished.
      const window = size > length ? text.slice(text.indexOf('\n') + 1) : text;
      const { records } = parseJsonl<T>(window);
      if (records.length) return records[records.length - 1];
      if (length === size) return null;
    }
    return null;
  } finally {
    await handle.close();
  }
}

export async function readHistograms(runDir: string): Promise<HistogramRecord[]> {
  const text = await readText(path.join(runDir, RUN_FILES.histograms));
  return text === null ? [] : parseJsonl<HistogramRecord>(text).records;
}

/** Is this process alive? (Only meaningful on the machine that started it.) */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads run.json. A run marked `running` whose trainer process on this machine is gone is
 * returned as `failed`, so nobody waits for a run that will never finish.
 */
export async function readRunInfo(runDir: string, alive: (pid: number) => boolean = isProcessAlive): Promise<RunInfo | null> {
  const text = await readText(path.join(runDir, RUN_FILES.run));
  if (text === null) return null;
  let info: RunInfo;
  try {
    info = JSON.parse(text) as RunInfo;
  } catch {
    return null;
  }
  if (info.status === 'running' && info.pid !== null && info.host === os.hostname() && !alive(info.pid)) {
    return {
      ...info,
      status: 'failed',
      error: info.error ?? `the trainer (pid ${info.pid}) ended without finishing the run: killed or crashed after step ${info.step}`,
    };
  }
  return info;
}

/** Sample files of a run, by step, oldest first (the real-data sample is not among them). */
export async function listSampleSteps(runDir: string, extension: 'json' | 'png' = 'json'): Promise<number[]> {
  const names = await readdir(path.join(runDir, RUN_FILES.samples)).catch(() => [] as string[]);
  return names
    .filter((name) => name.endsWith(`.${extension}`))
    .map(stepOfSampleFile)
    .filter((step): step is number => step !== null)
    .sort((a, b) => a - b);
}

export async function readPointSamples(file: string): Promise<PointSamples | null> {
  const text = await readText(file);
  if (text === null) return null;
  try {
    return JSON.parse(text) as PointSamples;
  } catch {
    return null;
  }
}

/** Run directories under a runs folder (folders with a run.json), newest first by start time. */
export async function listRunDirs(runsDir: string): Promise<string[]> {
  const names = await readdir(runsDir).catch(() => [] as string[]);
  const dirs: { dir: string; mtime: number }[] = [];
  for (const name of names) {
    const dir = path.join(runsDir, name);
    const info = await stat(path.join(dir, RUN_FILES.run)).catch(() => null);
    if (info) dirs.push({ dir, mtime: info.birthtimeMs || info.mtimeMs });
  }
  return dirs.sort((a, b) => b.mtime - a.mtime).map((d) => d.dir);
}

/** Steps of the complete checkpoints of a run, oldest first (interrupted writes are not listed). */
export async function listCheckpoints(runDir: string): Promise<number[]> {
  const names = await readdir(path.join(runDir, RUN_FILES.checkpoints)).catch(() => [] as string[]);
  return names
    .map(stepOfCheckpointDir)
    .filter((step): step is number => step !== null)
    .sort((a, b) => a - b);
}

/** The config a run used (its config.json), or null when it is missing or not a valid config. */
export async function readConfigSnapshot(runDir: string): Promise<GanConfig | null> {
  const text = await readText(path.join(runDir, RUN_FILES.config));
  if (text === null) return null;
  try {
    const result = validateConfig(JSON.parse(text));
    return result.ok ? result.config : null;
  } catch {
    return null;
  }
}
