/**
 * The small MNIST classifier the evaluation measures generated digits with (classes covered, class
 * KL, classifier score, and the features of the Fréchet distance and precision/recall/density/
 * coverage). The project trains it itself on the built-in 10,000 digits with
 * `npm run train:classifier` (scripts/train-mnist-classifier.ts); its weights ship beside the
 * bundle as dist/data/mnist-classifier.bin.
 *
 * The network: 28×28×1 → conv 5×5/2 16 → ReLU → conv 5×5/2 32 → ReLU → dense 64 → ReLU (the
 * features) → dense 10 → softmax. Inputs are pixels in [-1, 1], as the data sources give them.
 *
 * The weights file: "GWMC", a little-endian uint32 header length, the header as JSON
 * (ClassifierHeader), then each tensor's bytes at its offset into the rest: int8 kernels with one
 * scale per tensor (w = scale · q, symmetric), float32 biases.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../random';

export const CLASSIFIER_FILE_NAME = 'mnist-classifier.bin';
const MAGIC = 'GWMC';

export const CLASSIFIER_SHAPES = {
  conv1: [5, 5, 1, 16],
  bias1: [16],
  conv2: [5, 5, 16, 32],
  bias2: [32],
  dense1: [7 * 7 * 32, 64],
  bias3: [64],
  dense2: [64, 10],
  bias4: [10],
} as const;

export type ClassifierWeightName = keyof typeof CLASSIFIER_SHAPES;
export type ClassifierWeights = Record<ClassifierWeightName, tf.Tensor>;

export interface ClassifierTensorEntry {
  name: ClassifierWeightName;
  shape: number[];
  dtype: 'int8' | 'float32';
  /** int8 only: w = scale · q. */
  scale: number;
  /** Byte offset into the data after the header. */
  offset: number;
  length: number;
}

export interface ClassifierHeader {
  format: 'gan-workbench-mnist-classifier';
  version: 1;
  tensors: ClassifierTensorEntry[];
  /** What the training script measured on the held-out digits, with the quantized weights. */
  heldOutAccuracy: number;
  trainedOn: string;
}

/** Penultimate-layer width: the evaluation's features. */
export const CLASSIFIER_FEATURES = 64;
export const CLASSIFIER_CLASSES = 10;

/** The digits held out from the classifier's training: a fixed 1,000 of the built-in 10,000, the same for the script and the tests. */
export function classifierSplit(count: number, heldOut = 1000): { train: number[]; test: number[] } {
  const order = Array.from({ length: count }, (_, i) => i);
  const random = new Random('mnist-classifier:split');
  for (let i = count - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { test: order.slice(0, heldOut).sort((a, b) => a - b), train: order.slice(heldOut) };
}

/** Logits and features of a batch [n, 784] in [-1, 1]; weights as tensors (training uses variables). */
export function classifierForward(weights: ClassifierWeights, x: tf.Tensor2D): { logits: tf.Tensor2D; features: tf.Tensor2D } {
  return tf.tidy(() => {
    const images = tf.reshape(x, [-1, 28, 28, 1]) as tf.Tensor4D;
    const h1 = tf.relu(tf.add(tf.conv2d(images, weights.conv1 as tf.Tensor4D, 2, 'same'), weights.bias1));
    const h2 = tf.relu(tf.add(tf.conv2d(h1 as tf.Tensor4D, weights.conv2 as tf.Tensor4D, 2, 'same'), weights.bias2));
    const flat = tf.reshape(h2, [-1, 7 * 7 * 32]) as tf.Tensor2D;
    const features = tf.relu(tf.add(tf.matMul(flat, weights.dense1 as tf.Tensor2D), weights.bias3)) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(features, weights.dense2 as tf.Tensor2D), weights.bias4) as tf.Tensor2D;
    return { logits, features };
  });
}

/** Encodes weights (int8 kernels, float32 biases) into the file format above. */
export function encodeClassifier(values: Record<ClassifierWeightName, Float32Array>, heldOutAccuracy: number, trainedOn: string): Buffer {
  const tensors: ClassifierTensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of Object.keys(CLASSIFIER_SHAPES) as ClassifierWeightName[]) {
    const data = values[name];
    const kernel = !name.startsWith('bias');
    let bytes: Buffer;
    let scale = 1;
    if (kernel) {
      const max = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      scale = max > 0 ? max / 127 : 1;
      const q = Int8Array.from(data, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
      bytes = Buffer.from(q.buffer);
    } else {
      bytes = Buffer.from(Float32Array.from(data).buffer);
    }
    // float32 data stays 4-byte aligned.
    const pad = (4 - (offset % 4)) % 4;
    if (pad) chunks.push(Buffer.alloc(pad));
    offset += pad;
    tensors.push({ name, shape: [...CLASSIFIER_SHAPES[name]], dtype: kernel ? 'int8' : 'float32', scale, offset, length: data.length });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const header: ClassifierHeader = { format: 'gan-workbench-mnist-classifier', version: 1, tensors, heldOutAccuracy, trainedOn };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.write(MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(json.length, 4);
  return Buffer.concat([prefix, json, ...chunks]);
}

/** Decodes the file format into float32 values per tensor, and the header. */
export function decodeClassifier(file: string, bytes: Buffer): { header: ClassifierHeader; values: Record<ClassifierWeightName, Float32Array> } {
  if (bytes.length < 8 || bytes.toString('ascii', 0, 4) !== MAGIC) throw new Error(`${file}: not a GAN Workbench MNIST classifier file`);
  const headerLength = bytes.readUInt32LE(4);
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as ClassifierHeader;
  if (header.format !== 'gan-workbench-mnist-classifier' || header.version !== 1) throw new Error(`${file}: unknown classifier format`);
  const base = 8 + headerLength;
  const values = {} as Record<ClassifierWeightName, Float32Array>;
  for (const entry of header.tensors) {
    const start = base + entry.offset;
    if (entry.dtype === 'int8') {
      const q = new Int8Array(bytes.buffer, bytes.byteOffset + start, entry.length);
      values[entry.name] = Float32Array.from(q, (v) => v * entry.scale);
    } else {
      values[entry.name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 4 * entry.length));
    }
  }
  for (const name of Object.keys(CLASSIFIER_SHAPES) as ClassifierWeightName[]) if (!values[name]) throw new Error(`${file}: tensor ${name} is missing`);
  return { header, values };
}

/** Where the weights are: beside the bundle (dist/data/), or in the sources (tests, scripts). */
export function classifierFile(): string {
  const bundled = path.join(__dirname, 'data', CLASSIFIER_FILE_NAME);
  if (existsSync(bundled)) return bundled;
  return path.join(__dirname, CLASSIFIER_FILE_NAME);
}

export class MnistClassifier {
  readonly features = CLASSIFIER_FEATURES;
  readonly classes = CLASSIFIER_CLASSES;

  private constructor(
    private readonly weights: ClassifierWeights,
    readonly header: ClassifierHeader,
  ) {}

  static async load(file = classifierFile()): Promise<MnistClassifier> {
    const { header, values } = decodeClassifier(file, await readFile(file));
    const weights = {} as ClassifierWeights;
    for (const name of Object.keys(CLASSIFIER_SHAPES) as ClassifierWeightName[]) weights[name] = tf.tensor(values[name], [...CLASSIFIER_SHAPES[name]]);
    return new MnistClassifier(weights, header);
  }

  /** Class probabilities [n, 10] and penultimate features [n, 64] of images [n, 784] in [-1, 1], row-major. */
  classify(images: Float32Array, batch = 500): { probabilities: Float32Array; features: Float32Array } {
    const n = images.length / 784;
    const probabilities = new Float32Array(n * this.classes);
    const features = new Float32Array(n * this.features);
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const [p, f] = tf.tidy(() => {
        const x = tf.tensor2d(images.subarray(start * 784, (start + count) * 784), [count, 784]);
        const out = classifierForward(this.weights, x);
        return [tf.softmax(out.logits), out.features];
      });
      probabilities.set(p.dataSync(), start * this.classes);
      features.set(f.dataSync(), start * this.features);
      p.dispose();
      f.dispose();
    }
    return { probabilities, features };
  }

  dispose(): void {
    for (const tensor of Object.values(this.weights)) tensor.dispose();
  }
}
