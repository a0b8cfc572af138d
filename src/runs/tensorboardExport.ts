/**
 * Exports a run directory as a TensorBoard event file, so GAN Workbench runs can be opened in
 * TensorBoard next to runs from other tools. Pure TypeScript (TFRecord framing, protobufjs,
 * pngjs): no TensorFlow or native code is needed, and the result is a plain file anyone can copy.
 */
import { crc32c } from '@aws-crypto/crc32c';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import protobuf from 'protobufjs';
import { OPTIONAL_METRICS } from '../protocol/optionalMetrics';
import type { HistogramRecord, MetricsRecord } from '../protocol/runDirectory';
import { RUN_FILES, sampleFileName } from '../protocol/runDirectory';
import { listSampleSteps, readHistograms, readMetrics, readPointSamples } from './runReader';

/**
 * The parts of TensorFlow's event.proto and summary.proto we write, with their real field
 * numbers (TensorBoard reads fields by number, so these must never change).
 */
const EVENT_SCHEMA = `
syntax = "proto3";
package tensorflow;

message HistogramProto {
  double min = 1;
  double max = 2;
  double num = 3;
  double sum = 4;
  double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true];
  repeated double bucket = 7 [packed = true];
}

message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Value {
    string tag = 1;
    oneof value {
      float simple_value = 2;
      Image image = 4;
      HistogramProto histo = 5;
    }
  }
  repeated Value value = 1;
}

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
`;

let eventType: protobuf.Type | null = null;

function encodeEvent(event: Record<string, unknown>): Uint8Array {
  eventType ??= protobuf.parse(EVENT_SCHEMA).root.lookupType('tensorflow.Event');
  return eventType.encode(eventType.fromObject(event)).finish();
}

/** TFRecord's masked CRC32C: a CRC of data that itself contains CRCs would otherwise be weak. */
function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length (u64 LE), masked CRC of the length, the data, masked CRC of the data. */
function frameRecord(data: Uint8Array): Buffer {
  const record = Buffer.alloc(8 + 4 + data.length + 4);
  record.writeBigUInt64LE(BigInt(data.length), 0);
  record.writeUInt32LE(maskedCrc32c(record.subarray(0, 8)), 8);
  record.set(data, 12);
  record.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return record;
}

/**
 * TensorBoard tags of the metrics every run writes, then of the optional ones (only the costs that
 * write them: `critic/wasserstein_estimate`, `critic/gradient_penalty`, …; see OPTIONAL_METRICS).
 */
export const SCALAR_TAGS: Readonly<Partial<Record<keyof MetricsRecord, string>>> = {
  dLoss: 'loss/discriminator',
  gLoss: 'loss/generator',
  dReal: 'D(x)/mean',
  dFake: 'D(G(z))/mean',
  stepsPerSecond: 'speed/steps_per_second',
  ...Object.fromEntries(OPTIONAL_METRICS.map((metric) => [metric.key, metric.tag])),
};

export const HISTOGRAM_TAGS = { dReal: 'D(x)', dFake: 'D(G(z))' } as const;
export const IMAGE_TAG = 'samples';

/** TensorFlow's Summary.Image colorspace by PNG colour type (palette images decode to RGB). */
const PNG_COLORSPACE: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface EncodedImage {
  width: number;
  height: number;
  colorspace: number;
  bytes: Buffer;
}

/** Width, height and colorspace from the IHDR chunk; null for a file that is not a complete PNG. */
function describePng(bytes: Buffer): EncodedImage | null {
  if (bytes.length < 45 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  // A PNG cut short by a crash lacks its IEND chunk; TensorBoard would show a broken image.
  if (bytes.toString('latin1', bytes.length - 8, bytes.length - 4) !== 'IEND') return null;
  const colorspace = PNG_COLORSPACE[bytes[25]];
  if (colorspace === undefined) return null;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), colorspace, bytes };
}

const PLOT_SIZE = 256;
const PLOT_MARGIN = 0.08;
const REAL_COLOUR = [200, 200, 200] as const;
const FAKE_COLOUR = [214, 39, 40] as const;
const AXIS_COLOUR = [235, 235, 235] as const;

export interface PlotView {
  cx: number;
  cy: number;
  /** Data units per pixel (the same on both axes, so rings stay round). */
  scale: number;
}

/** A square view around the points with a margin; null when no point has two finite coordinates. */
export function viewOf(points: number[][]): PlotView | null {
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    xMin = Math.min(xMin, x);
    xMax = Math.max(xMax, x);
    yMin = Math.min(yMin, y);
    yMax = Math.max(yMax, y);
  }
  if (xMin > xMax) return null;
  const span = Math.max(xMax - xMin, yMax - yMin) || 1;
  return { cx: (xMin + xMax) / 2, cy: (yMin + yMax) / 2, scale: (span * (1 + 2 * PLOT_MARGIN)) / PLOT_SIZE };
}

/** A scatter plot of the first two coordinates: real points light grey, generated points red. */
export function renderScatterPng(generated: number[][], real: number[][] | null, view: PlotView): Buffer {
  const png = new PNG({ width: PLOT_SIZE, height: PLOT_SIZE });
  png.data.fill(255);
  const put = (px: number, py: number, [r, g, b]: readonly number[]) => {
    if (px < 0 || py < 0 || px >= PLOT_SIZE || py >= PLOT_SIZE) return;
    const i = (py * PLOT_SIZE + px) * 4;
    png.data[i] = r;
    png.data[i + 1] = g;
    png.data[i + 2] = b;
  };
  const toPixel = (x: number, y: number) => [Math.floor(PLOT_SIZE / 2 + (x - view.cx) / view.scale), Math.floor(PLOT_SIZE / 2 - (y - view.cy) / view.scale)];
  // Faint axes through the origin, when it is in view, to anchor the eye between steps.
  const [ox, oy] = toPixel(0, 0);
  for (let i = 0; i < PLOT_SIZE; i++) {
    put(ox, i, AXIS_COLOUR);
    put(i, oy, AXIS_COLOUR);
  }
  const dot = (point: number[], colour: readonly number[]) => {
    const [x, y] = point;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const [px, py] = toPixel(x, y);
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) put(px + dx, py + dy, colour);
  };
  for (const point of real ?? []) dot(point, REAL_COLOUR);
  for (const point of generated) dot(point, FAKE_COLOUR);
  return PNG.sync.write(png, { colorType: 2, inputHasAlpha: true });
}

/** Points with at least two coordinates, or null when the value is not a list of such points. */
function asPoints(value: unknown): number[][] | null {
  if (!Array.isArray(value)) return null;
  const points = value.filter((p): p is number[] => Array.isArray(p) && p.length >= 2);
  return points.length > 0 ? points : null;
}

async function readRealPoints(runDir: string): Promise<number[][] | null> {
  try {
    return asPoints(JSON.parse(await readFile(path.join(runDir, RUN_FILES.realSample), 'utf8')));
  } catch {
    return null;
  }
}

const isStep = (step: unknown): step is number => typeof step === 'number' && Number.isInteger(step) && step >= 0;

/** Keeps the last record of each step (a restarted writer may repeat steps), ordered by step. */
function lastPerStep<T extends { step: number }>(records: T[]): T[] {
  const byStep = new Map<number, T>();
  for (const record of records) if (record && isStep(record.step)) byStep.set(record.step, record);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** Bin-centre estimates, as TensorBoard expects a HistogramProto; null for a malformed record. */
function histogramProto(edges: number[], counts: unknown): Record<string, unknown> | null {
  if (!Array.isArray(counts) || counts.length !== edges.length - 1 || !counts.every((c) => typeof c === 'number' && Number.isFinite(c) && c >= 0)) return null;
  let num = 0;
  let sum = 0;
  let sumSquares = 0;
  let first = -1;
  let last = -1;
  counts.forEach((count: number, i) => {
    if (count === 0) return;
    const centre = (edges[i] + edges[i + 1]) / 2;
    num += count;
    sum += count * centre;
    sumSquares += count * centre * centre;
    if (first < 0) first = i;
    last = i;
  });
  return {
    min: first < 0 ? edges[0] : edges[first],
    max: last < 0 ? edges[edges.length - 1] : edges[last + 1],
    num,
    sum,
    sumSquares,
    bucketLimit: edges.slice(1),
    bucket: counts,
  };
}

/** An event to write: built lazily so image bytes are read only while writing. */
interface PendingEvent {
  step: number;
  /** Within a step: scalars, then histograms, then images (the order a trainer would log them). */
  kind: number;
  wallTime: number;
  values: () => Promise<Record<string, unknown>[]>;
}

/** Finds the wall time of a step: the metrics record of that step or the nearest earlier one. */
function wallTimeFinder(metrics: MetricsRecord[]): (step: number, fallback: number) => number {
  const timed = metrics.filter((m) => typeof m.time === 'number' && Number.isFinite(m.time));
  return (step, fallback) => {
    let lo = 0;
    let hi = timed.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (timed[mid].step <= step) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? fallback : timed[found].time / 1000;
  };
}

const mtimeSeconds = async (file: string): Promise<number> =>
  stat(file).then(
    (info) => info.mtimeMs / 1000,
    () => Date.now() / 1000,
  );

/**
 * Writes the file under a name without "tfevents" (TensorBoard picks up any file whose name
 * contains it, so a half-written temp file must not look like one), then renames it into place.
 */
async function writeRecordsAtomically(file: string, produce: (write: (record: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  const temp = path.join(path.dirname(file), `.gan-workbench-export-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    let chunks: Buffer[] = [];
    let pending = 0;
    const flush = async () => {
      if (pending > 0) await handle.write(Buffer.concat(chunks, pending));
      chunks = [];
      pending = 0;
    };
    await produce(async (record) => {
      chunks.push(record);
      pending += record.length;
      if (pending >= 1 << 20) await flush();
    });
    await flush();
    await handle.sync();
    await handle.close();
    await rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Exports a run directory (metrics, D(x)/D(G(z)) histograms and samples) as one TensorBoard
 * event file in `outDir`; point `tensorboard --logdir` at it (or at a folder of such exports).
 * Counts are of summary values written. Re-exporting writes a new file named by the current time.
 */
const eventFilePrefix = 'events.out.tfevents.';

/** The last part of an exported event file's name: the run's id. */
export function eventFileTag(runDir: string): string {
  return `${path.basename(path.resolve(runDir))}.gan-workbench`;
}

/** Whether `fileName` is an event file that an export of `runDir` wrote. */
export function isExportOf(fileName: string, runDir: string): boolean {
  return fileName.startsWith(eventFilePrefix) && fileName.endsWith(`.${eventFileTag(runDir)}`);
}

export async function exportTensorBoard(
  runDir: string,
  outDir = path.join(runDir, 'tensorboard'),
): Promise<{ file: string; scalars: number; histograms: number; images: number }> {
  const metricsFile = path.join(runDir, RUN_FILES.metrics);
  const metricsInfo = await stat(metricsFile).catch(() => null);
  if (!metricsInfo?.isFile()) throw new Error(`Cannot export to TensorBoard: ${runDir} has no ${RUN_FILES.metrics}, so it is not a GAN Workbench run folder.`);
  const metricsMtime = metricsInfo.mtimeMs / 1000;

  const metrics = lastPerStep(await readMetrics(runDir));
  const wallTimeAt = wallTimeFinder(metrics);
  const counts = { scalars: 0, histograms: 0, images: 0 };
  const events: PendingEvent[] = [];

  for (const record of metrics) {
    // A tag with no number in this record (an optional metric of another cost, NaN written as null) is left out.
    const values = (Object.entries(SCALAR_TAGS) as [keyof MetricsRecord, string][])
      .map(([key, tag]) => ({ tag, value: record[key] }))
      .filter(({ value }) => typeof value === 'number' && Number.isFinite(value))
      .map(({ tag, value }) => ({ tag, simpleValue: value }));
    if (values.length === 0) continue;
    counts.scalars += values.length;
    const wallTime = Number.isFinite(record.time) ? record.time / 1000 : metricsMtime;
    events.push({ step: record.step, kind: 0, wallTime, values: async () => values });
  }

  const histogramsMtime = await mtimeSeconds(path.join(runDir, RUN_FILES.histograms));
  for (const record of lastPerStep<HistogramRecord>(await readHistograms(runDir))) {
    if (!Array.isArray(record.edges) || record.edges.length < 2 || !record.edges.every(Number.isFinite)) continue;
    const values = (Object.entries(HISTOGRAM_TAGS) as [keyof typeof HISTOGRAM_TAGS, string][])
      .map(([key, tag]) => ({ tag, histo: histogramProto(record.edges, record[key]) }))
      .filter((value) => value.histo !== null);
    if (values.length === 0) continue;
    counts.histograms += values.length;
    events.push({ step: record.step, kind: 1, wallTime: wallTimeAt(record.step, histogramsMtime), values: async () => values });
  }

  const samplesDir = path.join(runDir, RUN_FILES.samples);
  const imageValue = (image: EncodedImage) => ({
    tag: IMAGE_TAG,
    image: { height: image.height, width: image.width, colorspace: image.colorspace, encodedImageString: image.bytes },
  });
  const pngSteps = await listSampleSteps(runDir, 'png');
  for (const step of pngSteps) {
    const file = path.join(samplesDir, sampleFileName(step, 'png'));
    // Read now (not lazily) so an unreadable or torn PNG is left out of the counts too.
    const image = describePng(await readFile(file).catch(() => Buffer.alloc(0)));
    if (!image) continue;
    counts.images++;
    events.push({ step, kind: 2, wallTime: wallTimeAt(step, await mtimeSeconds(file)), values: async () => [imageValue(image)] });
  }

  // Point samples (2-D or tabular data): drawn over the real data, in one view for every step so
  // the generated distribution can be watched moving towards the real one.
  const jsonSteps = (await listSampleSteps(runDir, 'json')).filter((step) => !pngSteps.includes(step));
  if (jsonSteps.length > 0) {
    const real = await readRealPoints(runDir);
    const samples: { step: number; points: number[][]; file: string }[] = [];
    for (const step of jsonSteps) {
      const file = path.join(samplesDir, sampleFileName(step, 'json'));
      const points = asPoints((await readPointSamples(file))?.points);
      if (points) samples.push({ step, points, file });
    }
    const view = viewOf(real ?? samples.flatMap((s) => s.points));
    if (view) {
      for (const { step, points, file } of samples) {
        counts.images++;
        const wallTime = wallTimeAt(step, await mtimeSeconds(file));
        const bytes = async () => renderScatterPng(points, real, view);
        events.push({ step, kind: 2, wallTime, values: async () => [imageValue({ width: PLOT_SIZE, height: PLOT_SIZE, colorspace: 3, bytes: await bytes() })] });
      }
    }
  }

  // TensorBoard takes a step going backwards as a restart and purges the later data of those
  // tags, so events are written in step order, as a trainer would have logged them.
  events.sort((a, b) => a.step - b.step || a.kind - b.kind);

  await mkdir(outDir, { recursive: true });
  const now = Date.now() / 1000;
  // The run's id ends the name, so a re-export can replace its own file and nothing else's.
  const file = path.join(outDir, `${eventFilePrefix}${Math.floor(now)}.${os.hostname()}.${eventFileTag(runDir)}`);
  await writeRecordsAtomically(file, async (write) => {
    await write(frameRecord(encodeEvent({ wallTime: now, fileVersion: 'brain.Event:2' })));
    for (const event of events) {
      const value = await event.values();
      await write(frameRecord(encodeEvent({ wallTime: event.wallTime, step: event.step, summary: { value } })));
    }
  });
  return { file, ...counts };
}
