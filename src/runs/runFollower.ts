/**
 * Follows a run directory that some other process writes (a terminal, another window, another
 * machine on a shared folder): each `poll()` returns only what is new since the last one, reading
 * the JSON Lines files from where the previous read stopped instead of from the start.
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { HistogramRecord, ImageSamples, MetricsRecord, PointSamples, RunInfo } from '../protocol/runDirectory';
import { readImageSamples } from './runSnapshot';
import { RUN_FILES, sampleFileName } from '../protocol/runDirectory';
import { listSampleSteps, parseJsonl, readPointSamples, readRunInfo } from './runReader';

export interface RunDelta {
  metrics: MetricsRecord[];
  /** The newest histogram, when a newer one was written. */
  histogram: HistogramRecord | null;
  /** The newest point samples, when newer ones were written. */
  samples: PointSamples | null;
  /** The newest sample grid (image GANs), when a newer one was written. */
  image: ImageSamples | null;
  /** run.json, when its content changed. */
  info: RunInfo | null;
  /** The metrics file was replaced (a resume rewrites it): what was read before may be stale. */
  replaced: boolean;
}

/** Reads the complete lines appended to a JSON Lines file since the last call. */
class JsonlCursor<T> {
  private offset = 0;
  private inode: number | null = null;
  /** Set when the file turned out to be a new one (replaced by rename, or truncated). */
  replaced = false;

  constructor(private readonly file: string) {}

  async readNew(): Promise<T[]> {
    const info = await stat(this.file).catch(() => null);
    const size = info?.size ?? 0;
    // A file that shrank or is another inode was replaced: start again from its beginning.
    if (info && ((this.inode !== null && info.ino !== this.inode) || size < this.offset)) {
      this.offset = 0;
      this.replaced = true;
    }
    if (info) this.inode = info.ino;
    if (size === this.offset) return [];
    const handle = await open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      const parsed = parseJsonl<T>(buffer.subarray(0, bytesRead).toString('utf8'));
      this.offset += parsed.completeBytes;
      return parsed.records;
    } finally {
      await handle.close();
    }
  }
}

export class RunFollower {
  private readonly metrics: JsonlCursor<MetricsRecord>;
  private readonly histograms: JsonlCursor<HistogramRecord>;
  private lastInfoText = '';

  /**
   * @param lastStep the newest metrics step the reader already has (e.g. from a snapshot); older
   *   records are not returned again.
   */
  constructor(
    readonly runDir: string,
    private lastStep = -1,
    private lastHistogramStep = -1,
    private lastSampleStep = -1,
    private lastImageStep = -1,
  ) {
    this.metrics = new JsonlCursor(path.join(runDir, RUN_FILES.metrics));
    this.histograms = new JsonlCursor(path.join(runDir, RUN_FILES.histograms));
  }

  async poll(): Promise<RunDelta> {
    this.metrics.replaced = false;
    const metrics = (await this.metrics.readNew()).filter((record) => record.step > this.lastStep);
    if (metrics.length) this.lastStep = metrics[metrics.length - 1].step;

    const histograms = (await this.histograms.readNew()).filter((record) => record.step > this.lastHistogramStep);
    const histogram = histograms[histograms.length - 1] ?? null;
    if (histogram) this.lastHistogramStep = histogram.step;

    let samples: PointSamples | null = null;
    const sampleSteps = await listSampleSteps(this.runDir);
    const newestSample = sampleSteps[sampleSteps.length - 1];
    if (newestSample !== undefined && newestSample > this.lastSampleStep) {
      samples = await readPointSamples(path.join(this.runDir, RUN_FILES.samples, sampleFileName(newestSample, 'json')));
      if (samples) this.lastSampleStep = newestSample;
    }

    let image: ImageSamples | null = null;
    const imageSteps = await listSampleSteps(this.runDir, 'png');
    const newestImage = imageSteps[imageSteps.length - 1];
    if (newestImage !== undefined && newestImage > this.lastImageStep) {
      image = await readImageSamples(this.runDir, newestImage);
      if (image) this.lastImageStep = newestImage;
    }

    const info = await readRunInfo(this.runDir);
    const infoText = info ? JSON.stringify(info) : '';
    const changed = info !== null && infoText !== this.lastInfoText;
    this.lastInfoText = infoText;
    return { metrics, histogram, samples, image, info: changed ? info : null, replaced: this.metrics.replaced };
  }
}
