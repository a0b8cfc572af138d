/**
 * Writes a run directory. run.json is replaced atomically (write-file-atomic); JSONL files are
 * appended a whole line per write, and a torn last line left by a crash is closed off before the
 * next append so no record is glued to a broken one.
 */
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { GanConfig } from '../protocol/config';
import type { HistogramRecord, MetricsRecord, PointSamples, RunInfo } from '../protocol/runDirectory';
import { RUN_FILES, sampleFileName } from '../protocol/runDirectory';
import { parseJsonl } from '../runs/runReader';
import { injectWriteFault } from './faults';

class JsonlAppender {
  private constructor(private readonly handle: FileHandle) {}

  /** Opens for appending; with `keepUpToStep`, drops records past that step (a resume). */
  static async open(file: string, keepUpToStep: number | null): Promise<JsonlAppender> {
    const existing = await readFile(file, 'utf8').catch(() => '');
    if (keepUpToStep !== null && existing !== '') {
      const kept = parseJsonl<{ step: number }>(existing).records.filter((r) => r.step <= keepUpToStep);
      await writeFileAtomic(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    }
    const handle = await open(file, 'a');
    if (keepUpToStep === null && existing !== '' && !existing.endsWith('\n')) await handle.write('\n');
    return new JsonlAppender(handle);
  }

  async append(record: { step: number }): Promise<void> {
    injectWriteFault('append', record.step, 'jsonl');
    await this.handle.write(JSON.stringify(record) + '\n');
  }

  async close(): Promise<void> {
    await this.handle.sync().catch(() => undefined);
    await this.handle.close();
  }
}

export class RunWriter {
  private metrics: JsonlAppender | null = null;
  private histograms: JsonlAppender | null = null;
  private lastRunWrite = 0;

  constructor(
    readonly runDir: string,
    private info: RunInfo,
  ) {}

  get runInfo(): RunInfo {
    return this.info;
  }

  /** Creates the folder and its files; for a resume, trims logs past the checkpoint step. */
  async open(config: GanConfig | null, resumeStep: number | null): Promise<void> {
    await mkdir(path.join(this.runDir, RUN_FILES.samples), { recursive: true });
    await mkdir(path.join(this.runDir, RUN_FILES.checkpoints), { recursive: true });
    if (config) await writeFileAtomic(path.join(this.runDir, RUN_FILES.config), JSON.stringify(config, null, 2) + '\n');
    this.metrics = await JsonlAppender.open(path.join(this.runDir, RUN_FILES.metrics), resumeStep);
    this.histograms = await JsonlAppender.open(path.join(this.runDir, RUN_FILES.histograms), resumeStep);
    await this.updateRun({}, true);
  }

  /** Updates run.json; progress-only updates are written at most once a second. */
  async updateRun(changes: Partial<RunInfo>, force = false): Promise<void> {
    this.info = { ...this.info, ...changes };
    const now = Date.now();
    if (!force && now - this.lastRunWrite < 1000) return;
    this.lastRunWrite = now;
    injectWriteFault('rename', this.info.step, RUN_FILES.run);
    await writeFileAtomic(path.join(this.runDir, RUN_FILES.run), JSON.stringify(this.info, null, 2) + '\n');
  }

  async appendMetrics(record: MetricsRecord): Promise<void> {
    await this.metrics?.append(record);
  }

  async appendHistogram(record: HistogramRecord): Promise<void> {
    await this.histograms?.append(record);
  }

  async writePointSamples(samples: PointSamples): Promise<string> {
    const file = path.join(this.runDir, RUN_FILES.samples, sampleFileName(samples.step, 'json'));
    await writeFileAtomic(file, JSON.stringify(samples));
    return file;
  }

  async writeImageSamples(step: number, png: Buffer): Promise<string> {
    const file = path.join(this.runDir, RUN_FILES.samples, sampleFileName(step, 'png'));
    await writeFileAtomic(file, png);
    return file;
  }

  async writeRealImage(png: Buffer): Promise<void> {
    await writeFileAtomic(path.join(this.runDir, RUN_FILES.realImage), png);
  }

  async writeRealSample(points: number[][]): Promise<void> {
    await writeFileAtomic(path.join(this.runDir, RUN_FILES.realSample), JSON.stringify(points));
  }

  async close(): Promise<void> {
    await this.metrics?.close();
    await this.histograms?.close();
    this.metrics = this.histograms = null;
  }
}
