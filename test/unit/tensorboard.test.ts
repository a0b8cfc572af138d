import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import protobuf from 'protobufjs';
import type { HistogramRecord, MetricsRecord } from '../../src/protocol/runDirectory';
import { exportTensorBoard } from '../../src/runs/tensorboardExport';

// An independent reader: its own CRC32C and its own copy of the TensorFlow protos, so a mistake in
// the exporter's framing or field numbers cannot be cancelled out by the same mistake here.

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const masked = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 0x100000000;

/** Splits a TFRecord file into its records, checking both CRCs and that nothing trails the last one. */
function readRecords(file: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let at = 0;
  while (at < file.length) {
    assert.ok(at + 12 <= file.length, `record header cut short at byte ${at}`);
    const length = Number(file.readBigUInt64LE(at));
    if (file.readUInt32LE(at + 8) !== masked(crc32c(file.subarray(at, at + 8)))) throw new Error(`length CRC mismatch at byte ${at}`);
    const end = at + 12 + length;
    assert.ok(end + 4 <= file.length, `record data cut short at byte ${at}`);
    const data = file.subarray(at + 12, end);
    if (file.readUInt32LE(end) !== masked(crc32c(data))) throw new Error(`data CRC mismatch at byte ${at}`);
    records.push(data);
    at = end + 4;
  }
  assert.equal(at, file.length);
  return records;
}

const PROTO = `
syntax = "proto3";
package tb;
message Histo {
  double min = 1;
  double max = 2;
  double num = 3;
  double sum = 4;
  double sum_squares = 5;
  repeated double bucket_limit = 6;
  repeated double bucket = 7;
}
message Img {
  int32 height = 1;
  int32 width = 2;
  int32 colorspace = 3;
  bytes encoded_image_string = 4;
}
message Val {
  string tag = 1;
  oneof value {
    float simple_value = 2;
    bytes obsolete_old_style_histogram = 3;
    Img image = 4;
    Histo histo = 5;
  }
}
message Sum {
  repeated Val value = 1;
}
message Ev {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Sum summary = 5;
  }
}
`;
const Ev = protobuf.parse(PROTO).root.lookupType('tb.Ev');

interface Histo {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}
interface Val {
  tag: string;
  value?: 'simpleValue' | 'image' | 'histo';
  simpleValue?: number;
  image?: { height: number; width: number; colorspace: number; encodedImageString: Buffer };
  histo?: Histo;
}
interface Ev {
  wallTime: number;
  step: number;
  what?: 'fileVersion' | 'summary';
  fileVersion?: string;
  summary?: { value: Val[] };
}

const decode = (data: Buffer) => Ev.toObject(Ev.decode(data), { longs: Number, oneofs: true, arrays: true }) as Ev;

const T0 = 1_767_225_600_000;
const metrics: MetricsRecord[] = [0, 10, 20, 30, 40].map((step, i) => ({
  step,
  time: T0 + i * 1500,
  dLoss: 1.3 - i * 0.1,
  gLoss: 0.7 + i * 0.05,
  dReal: 0.5 + i * 0.01,
  dFake: 0.5 - i * 0.01,
  // Zero must still be written (a oneof value of 0 is easy to lose).
  stepsPerSecond: i === 0 ? 0 : 120.5 + i,
}));
// A value the trainer could not compute: JSON has no NaN, so it arrives as null and must be skipped.
(metrics[2] as unknown as Record<string, unknown>).gLoss = null;

const edges = [0, 0.2, 0.4, 0.6, 0.8, 1];
const histograms: HistogramRecord[] = [
  { step: 10, edges, dReal: [1, 1, 1, 1, 1], dFake: [1, 1, 1, 1, 1] },
  { step: 35, edges, dReal: [0, 0, 1, 3, 4], dFake: [5, 2, 1, 0, 0] },
];
const real = [
  [-1, -1],
  [1, 1],
  [-1, 1],
  [1, -1],
];

const SCALAR_TAGS: [keyof MetricsRecord, string][] = [
  ['dLoss', 'loss/discriminator'],
  ['gLoss', 'loss/generator'],
  ['dReal', 'D(x)/mean'],
  ['dFake', 'D(G(z))/mean'],
  ['stepsPerSecond', 'speed/steps_per_second'],
];

/** The optional scalars, with the tags TensorBoard users will look for (written here by hand, not taken from the exporter). */
const CRITIC_TAGS: [keyof MetricsRecord, string][] = [
  ['wassersteinEstimate', 'critic/wasserstein_estimate'],
  ['gradientPenalty', 'critic/gradient_penalty'],
  ['criticReal', 'critic/real_score_mean'],
  ['criticFake', 'critic/fake_score_mean'],
];

it('the test reader computes the standard CRC32C check value', () => {
  assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
});

describe('TensorBoard export', () => {
  let dir: string;
  let runDir: string;
  let pngBytes: Buffer;
  let result: Awaited<ReturnType<typeof exportTensorBoard>>;
  let fileBytes: Buffer;
  let events: Ev[];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-tb-'));
    runDir = path.join(dir, 'run');
    await mkdir(path.join(runDir, 'samples'), { recursive: true });
    await writeFile(path.join(runDir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m) + '\n').join('') + '{"step":50,"ti');
    await writeFile(path.join(runDir, 'histograms.jsonl'), histograms.map((h) => JSON.stringify(h) + '\n').join(''));
    await writeFile(path.join(runDir, 'samples', 'real.json'), JSON.stringify(real));
    await writeFile(
      path.join(runDir, 'samples', 'step-00000010.json'),
      JSON.stringify({
        step: 10,
        points: [
          [0, 0],
          [0.5, 0.5],
          [5, 5],
        ],
      }),
    );
    // Tabular data: only the first two columns are drawn.
    await writeFile(
      path.join(runDir, 'samples', 'step-00000030.json'),
      JSON.stringify({
        step: 30,
        points: [
          [0.9, -0.9, 7],
          [-0.9, 0.9, 7],
        ],
      }),
    );
    const png = new PNG({ width: 8, height: 6 });
    png.data.fill(128);
    pngBytes = PNG.sync.write(png);
    await writeFile(path.join(runDir, 'samples', 'step-00000040.png'), pngBytes);

    result = await exportTensorBoard(runDir);
    fileBytes = await readFile(result.file);
    events = readRecords(fileBytes).map(decode);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('writes one event file, atomically, in run/tensorboard and reports what it wrote', async () => {
    assert.equal(path.dirname(result.file), path.join(runDir, 'tensorboard'));
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // TensorBoard's name (it reads any file with "tfevents" in it), ending in the run's id.
    assert.match(
      path.basename(result.file),
      new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${escape(os.hostname())}\\.${escape(path.basename(runDir))}\\.gan-workbench$`),
    );
    assert.deepEqual(await readdir(path.join(runDir, 'tensorboard')), [path.basename(result.file)]);
    assert.deepEqual({ scalars: result.scalars, histograms: result.histograms, images: result.images }, { scalars: 24, histograms: 4, images: 3 });
    // File version, 5 scalar events, 2 histogram events, 3 image events; readRecords checked nothing trails.
    assert.equal(events.length, 1 + 5 + 2 + 3);
  });

  it('starts with the file version event', () => {
    assert.equal(events[0].what, 'fileVersion');
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    assert.ok(Math.abs(events[0].wallTime - Date.now() / 1000) < 600);
  });

  it('writes events in step order', () => {
    const steps = events.slice(1).map((e) => e.step);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
    );
  });

  it('writes every scalar with its tag, step, value and wall time', () => {
    const written = events.flatMap((e) =>
      (e.summary?.value ?? []).filter((v) => v.value === 'simpleValue').map((v) => ({ step: e.step, wallTime: e.wallTime, tag: v.tag, value: v.simpleValue })),
    );
    const expected = metrics.flatMap((m) =>
      SCALAR_TAGS.filter(([key]) => typeof m[key] === 'number').map(([key, tag]) => ({
        step: m.step,
        wallTime: m.time / 1000,
        tag,
        value: Math.fround(m[key] as number),
      })),
    );
    assert.equal(expected.length, 24);
    assert.deepEqual(written, expected);
    // A cross-entropy run has no critic: none of its scalars.
    assert.ok(!written.some((w) => w.tag.startsWith('critic/')));
  });

  it('writes the D(x) and D(G(z)) histograms with their buckets, counts and range', () => {
    const histoEvents = events.filter((e) => e.summary?.value.some((v) => v.value === 'histo'));
    assert.deepEqual(
      histoEvents.map((e) => e.step),
      [10, 35],
    );
    const last = histoEvents[1];
    // Step 35 has no metrics record of its own: it takes the time of step 30.
    assert.equal(last.wallTime, metrics[3].time / 1000);
    const [dx, dgz] = last.summary?.value ?? [];
    assert.equal(dx.tag, 'D(x)');
    assert.equal(dgz.tag, 'D(G(z))');
    assert.deepEqual(dx.histo?.bucketLimit, [0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(dx.histo?.bucket, [0, 0, 1, 3, 4]);
    assert.equal(dx.histo?.num, 8);
    assert.equal(dx.histo?.min, 0.4);
    assert.equal(dx.histo?.max, 1);
    assert.ok(Math.abs((dx.histo?.sum ?? 0) - (0.5 + 3 * 0.7 + 4 * 0.9)) < 1e-9);
    assert.ok(Math.abs((dx.histo?.sumSquares ?? 0) - (0.25 + 3 * 0.49 + 4 * 0.81)) < 1e-9);
    assert.deepEqual(dgz.histo?.bucket, [5, 2, 1, 0, 0]);
    assert.equal(dgz.histo?.num, 8);
    assert.equal(dgz.histo?.min, 0);
    assert.equal(dgz.histo?.max, 0.6);
  });

  it('writes samples as PNG images of the declared size', () => {
    const images = events.flatMap((e) =>
      (e.summary?.value ?? []).filter((v) => v.value === 'image').map((v) => ({ step: e.step, tag: v.tag, image: v.image! })),
    );
    assert.deepEqual(
      images.map((i) => [i.step, i.tag]),
      [
        [10, 'samples'],
        [30, 'samples'],
        [40, 'samples'],
      ],
    );
    for (const { image } of images) {
      const png = PNG.sync.read(image.encodedImageString);
      assert.equal(png.width, image.width);
      assert.equal(png.height, image.height);
    }
    // The PNG sample is embedded as it is, RGBA.
    assert.deepEqual(images[2].image.encodedImageString, pngBytes);
    assert.deepEqual([images[2].image.width, images[2].image.height, images[2].image.colorspace], [8, 6, 4]);
    // Scatter plots are RGB, with the real data in grey and the generated points in another colour.
    const plot = PNG.sync.read(images[0].image.encodedImageString);
    assert.equal(images[0].image.colorspace, 3);
    const colours = new Set<string>();
    for (let i = 0; i < plot.data.length; i += 4) colours.add(`${plot.data[i]},${plot.data[i + 1]},${plot.data[i + 2]}`);
    assert.ok(colours.has('255,255,255'), 'white background');
    assert.ok(
      [...colours].some((c) => /^(\d+),\1,\1$/.test(c) && c !== '255,255,255'),
      'grey real points',
    );
    assert.ok(
      [...colours].some((c) => new Set(c.split(',')).size > 1),
      'coloured generated points',
    );
  });

  it('detects a corrupted CRC', () => {
    const badData = Buffer.from(fileBytes);
    const firstLength = Number(badData.readBigUInt64LE(0));
    badData[12 + firstLength + 4 + 12] ^= 0x01; // a byte of the second record's data
    assert.throws(() => readRecords(badData), /data CRC mismatch/);
    const badLength = Buffer.from(fileBytes);
    badLength[8] ^= 0x80; // the first record's length CRC
    assert.throws(() => readRecords(badLength), /length CRC mismatch/);
    assert.throws(() => readRecords(fileBytes.subarray(0, fileBytes.length - 1)), /cut short/);
  });

  it('refuses a folder without metrics with a clear error', async () => {
    const empty = path.join(dir, 'not-a-run');
    await mkdir(empty);
    await assert.rejects(exportTensorBoard(empty), (error: Error) => error.message.includes(empty) && error.message.includes('metrics.jsonl'));
    await assert.rejects(readdir(path.join(empty, 'tensorboard')), { code: 'ENOENT' });
  });
});

describe('TensorBoard export of a Wasserstein run', () => {
  let dir: string;

  // WGAN-GP writes all four optional fields; a WGAN (clipping) run has no penalty; a NaN penalty arrives as null.
  const wgan: MetricsRecord[] = [10, 20, 30].map((step, i) => ({
    step,
    time: T0 + i * 1000,
    dLoss: -0.2 + 0.05 * i,
    gLoss: 1.1,
    dReal: 0.6,
    dFake: 0.4,
    stepsPerSecond: 3.5,
    criticReal: -3.9 - i,
    criticFake: -4.1 - i,
    wassersteinEstimate: 0.2 - 0.01 * i,
    gradientPenalty: 0.03 * (i + 1),
  }));
  (wgan[2] as unknown as Record<string, unknown>).gradientPenalty = null;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-tb-wgan-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('writes the Wasserstein estimate, the gradient penalty and the raw critic means as scalars, reading back their values', async () => {
    const runDir = path.join(dir, 'run');
    await mkdir(runDir, { recursive: true });
    await writeFile(path.join(runDir, 'metrics.jsonl'), wgan.map((m) => JSON.stringify(m) + '\n').join(''));
    const result = await exportTensorBoard(runDir);
    const events = readRecords(await readFile(result.file)).map(decode);
    const scalars = events.flatMap((e) =>
      (e.summary?.value ?? []).filter((v) => v.value === 'simpleValue').map((v) => ({ step: e.step, tag: v.tag, value: v.simpleValue })),
    );
    for (const [key, tag] of CRITIC_TAGS) {
      const expected = wgan.filter((m) => typeof m[key] === 'number').map((m) => ({ step: m.step, tag, value: Math.fround(m[key] as number) }));
      assert.deepEqual(
        scalars.filter((s) => s.tag === tag),
        expected,
        tag,
      );
    }
    // Step 30's penalty was null: that tag alone is missing there.
    assert.deepEqual(
      scalars.filter((s) => s.step === 30).map((s) => s.tag),
      [...SCALAR_TAGS.map(([, tag]) => tag), 'critic/wasserstein_estimate', 'critic/real_score_mean', 'critic/fake_score_mean'],
    );
    assert.equal(result.scalars, 3 * 5 + 3 + 2 + 3 + 3);
  });
});
