/**
 * Batch normalization in training mode, shared by Mlp and LayerNetwork: statistics per feature
 * (over the batch, and over height and width after a convolution), the running averages updated
 * for sampling, or, for virtual batch norm, the statistics of the reference rows at the front.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface BatchNormVariables {
  gamma: tf.Variable;
  beta: tf.Variable;
  runningMean: tf.Variable;
  runningVariance: tf.Variable;
}

export const BATCH_NORM_EPSILON = 1e-5;
/** Weight of the newest batch in the running averages (PyTorch's default momentum). */
export const BATCH_NORM_MOMENTUM = 0.1;

/** `referenceRows`: virtual batch norm's reference batch size (its rows come first in x), else null. */
export function trainingBatchNorm<T extends tf.Tensor>(x: T, norm: BatchNormVariables, referenceRows: number | null): T {
  const axes = [...Array(x.rank - 1).keys()];
  if (referenceRows !== null) {
    // Virtual batch norm: the reference rows give the statistics; sampling reuses them through the running averages.
    const stats = tf.moments(tf.slice(x, [0, ...x.shape.slice(1).map(() => 0)], [referenceRows, ...x.shape.slice(1).map(() => -1)]), axes);
    norm.runningMean.assign(stats.mean);
    norm.runningVariance.assign(stats.variance);
    const scale = tf.mul(tf.rsqrt(tf.add(stats.variance, BATCH_NORM_EPSILON)), norm.gamma);
    return tf.add(tf.mul(tf.sub(x, stats.mean), scale), norm.beta) as T;
  }
  const { mean, variance } = tf.moments(x, axes);
  // The running averages are bookkeeping for sampling, not part of the gradient.
  const n = x.size / x.shape[x.rank - 1];
  const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
  const blend = (running: tf.Variable, batch: tf.Tensor) => tf.add(tf.mul(running, 1 - BATCH_NORM_MOMENTUM), tf.mul(batch, BATCH_NORM_MOMENTUM));
  norm.runningMean.assign(blend(norm.runningMean, mean));
  norm.runningVariance.assign(blend(norm.runningVariance, unbiased));
  // Broadcasting ops rather than tf.batchNorm: its gradient tiles its inputs, and the WASM Tile
  // kernel cost more than all the batch-norm arithmetic together.
  const scale = tf.mul(tf.rsqrt(tf.add(variance, BATCH_NORM_EPSILON)), norm.gamma);
  return tf.add(tf.mul(tf.sub(x, mean), scale), norm.beta) as T;
}
