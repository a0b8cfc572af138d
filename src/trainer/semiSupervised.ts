/**
 * The semi-supervised GAN (Salimans et al. 2016 §5): D's n class logits l, the logit of
 * "generated" fixed at 0. Then p(real | x) = Z/(Z + 1) with Z = Σₖ exp(lₖ), so the usual
 * cross-entropy game is played on D's "logit" log Z = logsumexp(l), and D also minimizes the
 * cross-entropy of the true class on a few labelled examples; the rest of the data is used unlabelled.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SemiSupervisedConfig } from '../protocol/semiSupervisedConfig';
import type { DataSource } from './data';
import { DataError } from './data';
import { ImageSet } from './imageData';
import type { Network } from './layerNetwork';
import { randomStream } from './random';

/** D as the rest of the trainer sees it (one logit, log Z), and its class logits for the supervised term and the test accuracy. */
export class ClassifyingDiscriminator implements Network {
  constructor(readonly classifier: Network) {}

  get scope(): string {
    return this.classifier.scope;
  }
  readonly outputSize = 1;
  get conditioning(): Network['conditioning'] {
    return this.classifier.conditioning;
  }
  get virtualBatchNorm(): boolean {
    return this.classifier.virtualBatchNorm;
  }

  /** log Z = logsumexp(l₁…lₙ): σ(log Z) = Z/(Z + 1) is D's probability that x is real. */
  apply(x: tf.Tensor2D, training: boolean, labels?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.logSumExp(this.classifier.apply(x, training, labels), 1, true) as tf.Tensor2D);
  }

  /** The n class logits, [batch, n]. */
  classLogits(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.classifier.apply(x, training);
  }

  features(x: tf.Tensor2D, training: boolean, layerIndex: number, labels?: tf.Tensor2D): tf.Tensor2D {
    return this.classifier.features(x, training, layerIndex, labels);
  }
  spectralNormUpdate(): tf.Scalar | null {
    return this.classifier.spectralNormUpdate();
  }
  setVirtualReference(x: tf.Tensor2D): void {
    this.classifier.setVirtualReference(x);
  }
  trainableVariables(): tf.Variable[] {
    return this.classifier.trainableVariables();
  }
  namedVariables(): ReturnType<Network['namedVariables']> {
    return this.classifier.namedVariables();
  }
  dispose(): void {
    this.classifier.dispose();
  }
}

/**
 * −E log p(y | x, y ≤ n) over a labelled minibatch: the softmax cross-entropy of the true class
 * over the n class logits (the "generated" class drops out of the conditional, Salimans et al. eq. 5).
 */
export function supervisedCost(classLogits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classLogits.shape[1]);
    return tf.mean(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(classLogits)), 1))) as tf.Scalar;
  });
}

export interface LabelledSet {
  values: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface SemiSupervisedSplit {
  /** The data both players train on (the test examples removed). */
  train: DataSource;
  /** The few labelled training examples, balanced over the classes. */
  labelled: LabelledSet;
  /** Held out: never trained on; the test accuracy's examples. */
  test: LabelledSet;
}

/** Draws `perClass` examples of every class from labelled draws (a mixture's infinite data). */
function balancedDraws(data: DataSource, perClass: number, seedStream: ReturnType<typeof randomStream>): LabelledSet {
  const classes = data.classNames.length;
  const d = data.dimension;
  const values = new Float32Array(perClass * classes * d);
  const labels = new Int32Array(perClass * classes);
  const taken = new Array<number>(classes).fill(0);
  let count = 0;
  for (let attempt = 0; attempt < 10_000 && count < perClass * classes; attempt++) {
    const batch = data.sampleLabelled(seedStream, 256);
    batch.labels.forEach((label, i) => {
      if (taken[label] >= perClass || count >= perClass * classes) return;
      taken[label]++;
      values.set(batch.values.subarray(i * d, (i + 1) * d), count * d);
      labels[count++] = label;
    });
  }
  return { values, labels, count };
}

/** Splits the data once, from the run's seed: the same run always has the same labelled and test examples. */
export function splitSemiSupervised(data: DataSource, config: SemiSupervisedConfig, seed: number): SemiSupervisedSplit {
  const classes = data.classNames.length;
  if (classes < 2) throw new DataError('data', `semiSupervised needs labelled data with at least 2 classes; this data has ${classes}`);
  const perClass = Math.max(1, Math.floor(config.labels / classes));
  const random = randomStream(seed, 'semi-supervised');
  if (!(data instanceof ImageSet)) {
    // A mixture: unlimited fresh draws, so held-out examples are simply draws of their own.
    if (data.modes === null) throw new DataError('data', 'semiSupervised works on image data and the built-in mixtures (ring, grid)');
    const perTestClass = Math.max(1, Math.floor(config.testSamples / classes));
    return { train: data, labelled: balancedDraws(data, perClass, random), test: balancedDraws(data, perTestClass, random) };
  }
  if (!data.labels) throw new DataError('data', 'semiSupervised needs a class for every image (data.labels, or images in class sub-folders)');
  // A seeded shuffle: the first testSamples are held out; the labelled examples come from the rest, in shuffled order.
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const testCount = Math.min(config.testSamples, Math.floor(data.count / 2));
  const test = order.subarray(0, testCount);
  const rest = order.subarray(testCount);
  const taken = new Array<number>(classes).fill(0);
  const labelledIndexes: number[] = [];
  for (const index of rest) {
    const label = data.labels[index];
    if (taken[label] < perClass) {
      taken[label]++;
      labelledIndexes.push(index);
    }
  }
  const missing = taken.findIndex((n) => n < perClass);
  if (missing >= 0)
    throw new DataError(
      'data',
      `semiSupervised.labels: class "${data.classNames[missing]}" has only ${taken[missing]} training examples, ${perClass} asked for`,
    );
  const pick = (indexes: ArrayLike<number>): LabelledSet => {
    const subset = data.subset(indexes);
    return { values: subset.pixelsAsModelSpace(), labels: Int32Array.from(subset.labels ?? []), count: subset.count };
  };
  return { train: data.subset(rest), labelled: pick(labelledIndexes), test: pick(test) };
}

/** D's accuracy as a classifier on a labelled set (inference mode), in batches. */
export async function classifierAccuracy(discriminator: ClassifyingDiscriminator, set: LabelledSet, dimension: number): Promise<number> {
  let correct = 0;
  const batch = 500;
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const predicted = tf.tidy(() =>
      tf.argMax(discriminator.classLogits(tf.tensor2d(set.values.subarray(start * dimension, (start + n) * dimension), [n, dimension]), false), 1),
    );
    const values = (await predicted.data()) as Int32Array;
    predicted.dispose();
    for (let i = 0; i < n; i++) if (values[i] === set.labels[start + i]) correct++;
  }
  return set.count === 0 ? 0 : correct / set.count;
}
