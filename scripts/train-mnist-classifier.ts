/**
 * Trains the evaluation's MNIST classifier (src/trainer/evaluation/mnistClassifier.ts) on the
 * built-in 10,000 digits, holding out a fixed 1,000 whose accuracy it prints, and writes the
 * int8-quantized weights to src/trainer/evaluation/mnist-classifier.bin (which the build copies to
 * dist/data/). Reproducible: fixed seeds for the split, the initial weights, the order and the
 * shifts, on the trainer's WASM backend.
 *
 *   npm run train:classifier [-- --epochs N]
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { selectBackend } from '../src/trainer/backend';
import {
  CLASSIFIER_FILE_NAME,
  CLASSIFIER_SHAPES,
  classifierForward,
  classifierSplit,
  decodeClassifier,
  encodeClassifier,
  type ClassifierWeightName,
  type ClassifierWeights,
} from '../src/trainer/evaluation/mnistClassifier';
import { mnistFromPackage } from '../src/trainer/imageData';
import { Random } from '../src/trainer/random';

const { values: args } = parseArgs({ options: { epochs: { type: 'string', default: '15' }, backend: { type: 'string', default: 'wasm' } } });
const EPOCHS = Number(args.epochs);
const BATCH = 64;

/** Image i of the set as [-1, 1] pixels, shifted by (dx, dy) with black (-1) filling in. */
function pixelsOf(images: Uint8Array, index: number, dx: number, dy: number, out: Float32Array, at: number): void {
  for (let y = 0; y < 28; y++) {
    const sy = y - dy;
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      out[at + y * 28 + x] = sy < 0 || sy >= 28 || sx < 0 || sx >= 28 ? -1 : images[index * 784 + sy * 28 + sx] / 127.5 - 1;
    }
  }
}

function accuracy(weights: ClassifierWeights, images: Uint8Array, labels: Uint8Array, indexes: number[]): number {
  let correct = 0;
  for (let start = 0; start < indexes.length; start += 500) {
    const batch = indexes.slice(start, start + 500);
    const x = new Float32Array(batch.length * 784);
    batch.forEach((index, i) => pixelsOf(images, index, 0, 0, x, i * 784));
    const predicted = tf.tidy(() => tf.argMax(classifierForward(weights, tf.tensor2d(x, [batch.length, 784])).logits, 1).dataSync());
    batch.forEach((index, i) => (correct += predicted[i] === labels[index] ? 1 : 0));
  }
  return correct / indexes.length;
}

async function main(): Promise<void> {
  const backend = await selectBackend(args.backend as 'wasm' | 'cpu');
  const { images, labels } = await mnistFromPackage();
  const count = labels.length;
  const { train, test } = classifierSplit(count);
  console.log(`backend ${backend.backend}; ${count} digits: ${train.length} to train on, ${test.length} held out`);

  // He-normal kernels, zero biases, from a fixed stream.
  const init = new Random('mnist-classifier:weights');
  const variables = {} as Record<ClassifierWeightName, tf.Variable>;
  for (const name of Object.keys(CLASSIFIER_SHAPES) as ClassifierWeightName[]) {
    const shape = [...CLASSIFIER_SHAPES[name]];
    const size = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
    const values = name.startsWith('bias') ? new Float32Array(size) : init.fillNormal(new Float32Array(size), 0, Math.sqrt(2 / fanIn));
    variables[name] = tf.variable(tf.tensor(values, shape), true, name);
  }
  const weights = variables as unknown as ClassifierWeights;
  const optimizer = tf.train.adam(1e-3);
  const random = new Random('mnist-classifier:training');
  const order = [...train];
  const x = new Float32Array(BATCH * 784);
  const y = new Int32Array(BATCH);
  const started = Date.now();
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    // The last epochs at a tenth of the rate.
    (optimizer as unknown as { learningRate: number }).learningRate = epoch > EPOCHS - 2 ? 1e-4 : 1e-3;
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start + BATCH <= order.length; start += BATCH) {
      for (let i = 0; i < BATCH; i++) {
        // Shifts of up to 2 pixels: generated digits are not centred as carefully as MNIST's.
        pixelsOf(images, order[start + i], random.int(5) - 2, random.int(5) - 2, x, i * 784);
        y[i] = labels[order[start + i]];
      }
      const loss = tf.tidy(() => {
        const xs = tf.tensor2d(x, [BATCH, 784]);
        const ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, classifierForward(weights, xs).logits) as tf.Scalar, true)!;
      });
      lossSum += loss.dataSync()[0];
      loss.dispose();
      batches++;
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(
      `epoch ${epoch}/${EPOCHS}: loss ${(lossSum / batches).toFixed(4)}, held-out accuracy ${(100 * accuracy(weights, images, labels, test)).toFixed(2)}% (${seconds} s)`,
    );
  }

  const values = {} as Record<ClassifierWeightName, Float32Array>;
  for (const name of Object.keys(CLASSIFIER_SHAPES) as ClassifierWeightName[]) values[name] = variables[name].dataSync() as Float32Array;
  // Measure the weights as they ship: quantized.
  const provisional = encodeClassifier(values, 0, '');
  const decoded = decodeClassifier('(memory)', provisional).values;
  const quantized = {} as ClassifierWeights;
  for (const name of Object.keys(CLASSIFIER_SHAPES) as ClassifierWeightName[]) quantized[name] = tf.tensor(decoded[name], [...CLASSIFIER_SHAPES[name]]);
  const heldOutAccuracy = accuracy(quantized, images, labels, test);
  const file = path.join(__dirname, '..', 'src', 'trainer', 'evaluation', CLASSIFIER_FILE_NAME);
  const bytes = encodeClassifier(values, heldOutAccuracy, `the built-in digits less the 1,000 held out; ${EPOCHS} epochs, batch ${BATCH}, Adam 1e-3`);
  await writeFile(file, bytes);
  console.log(`held-out accuracy with the int8 weights: ${(100 * heldOutAccuracy).toFixed(2)}%`);
  console.log(`wrote ${path.relative(process.cwd(), file)} (${bytes.length} bytes)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
