/**
 * The conditional GAN (Mirza & Osindero 2014): G(z, y) and D(x, y) both see the class label y,
 * one-hot over the data's classes. This holds what the networks, the step and the samplers share:
 * how a label joins a network's input, one-hot rows, and the class-by-row layout of sample grids.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Random } from './random';

/**
 * How a conditional network takes each sample's one-hot label y. G: y is concatenated to z. D,
 * `input`: y joins the input, appended to the row of vector data or, for images, as `classes`
 * constant feature maps appended as extra input channels (map c is 1 where the label is c);
 * `dense`: y is concatenated to the (flattened) input of the first dense layer.
 */
export interface Conditioning {
  classes: number;
  at: 'input' | 'dense';
}

/** Checks that a conditional network was given labels of the right shape. */
export function checkLabels(scope: string, conditioning: Conditioning | null, x: tf.Tensor2D, labels: tf.Tensor2D | undefined): void {
  if (!conditioning) return;
  if (!labels) throw new Error(`${scope}: a conditional network needs each sample's label`);
  if (labels.shape[0] !== x.shape[0] || labels.shape[1] !== conditioning.classes) {
    throw new Error(`${scope}: labels of shape [${labels.shape.join(', ')}] for ${x.shape[0]} samples of ${conditioning.classes} classes`);
  }
}

/** The shape of one sample once the labels joined it at the input: one more feature, or channel, per class. */
export function conditionedInputShape(inputShape: readonly number[], conditioning: Conditioning | null): number[] {
  const shape = [...inputShape];
  if (conditioning?.at === 'input') shape[shape.length - 1] += conditioning.classes;
  return shape;
}

/**
 * y joined to a sample: concatenated to a row ([batch, d] → [batch, d + classes]), or, for images
 * ([batch, h, w, c]), as one constant h×w map per class appended as channels ([batch, h, w, c + classes]).
 */
export function joinLabels(h: tf.Tensor, labels: tf.Tensor2D): tf.Tensor {
  if (h.rank === 2) return tf.concat([h, labels], 1);
  const [batch, height, width] = h.shape;
  const maps = tf.tile(tf.reshape(labels, [batch, 1, 1, labels.shape[1]]), [1, height, width, 1]);
  return tf.concat([h, maps], 3);
}

/** One-hot rows, [labels.length, classes], float32. */
export function oneHot(labels: ArrayLike<number>, classes: number): tf.Tensor2D {
  const values = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new Error(`label ${label} is not one of the ${classes} classes`);
    values[i * classes + label] = 1;
  }
  return tf.tensor2d(values, [labels.length, classes]);
}

/** Labels drawn uniformly over the classes. */
export function uniformLabels(random: Random, count: number, classes: number): Int32Array {
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = random.int(classes);
  return labels;
}

/**
 * The class-conditional sample grid: row c is class c, column j is the j-th fixed noise vector
 * (the same z across a column, so a column shows one "style" in every class). Within at most
 * `maxImages` images: `columns` noise vectors, and the first `rows` classes (all of them when
 * they fit one image each).
 */
export function classGridLayout(classes: number, maxImages: number): { rows: number; columns: number } {
  const columns = Math.max(1, Math.floor(maxImages / classes));
  return { rows: Math.min(classes, Math.floor(maxImages / columns)), columns };
}

/** Sample n of the grid (row-major) is noise row n mod columns with label ⌊n / columns⌋. */
export function classGridRows(rows: number, columns: number): { noiseRow: Int32Array; labels: Int32Array } {
  const noiseRow = new Int32Array(rows * columns);
  const labels = new Int32Array(rows * columns);
  for (let n = 0; n < rows * columns; n++) {
    noiseRow[n] = n % columns;
    labels[n] = Math.floor(n / columns);
  }
  return { noiseRow, labels };
}

/**
 * `count` labels over the given classes in contiguous, near-equal blocks (class k gets
 * ⌊count/K⌋ or ⌈count/K⌉ samples, in the order listed): every class is asked for equally.
 */
export function blockLabels(count: number, classes: readonly number[]): Int32Array {
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = classes[Math.floor((i * classes.length) / count)];
  return labels;
}
