/**
 * PacGAN packing (Lin et al. 2018): D judges m samples at once, concatenated into one input. Real
 * samples are packed with real ones and generated with generated, consecutive rows together: pack
 * j holds samples j·m … j·m + m - 1 of the minibatch.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The shape of one packed input: vectors side by side ([d] → [d·m]); images channel-wise ([h, w, c] → [h, w, c·m]). */
export function packedShape(shape: readonly number[], pack: number): number[] {
  if (pack <= 1) return [...shape];
  return [...shape.slice(0, -1), shape[shape.length - 1] * pack];
}

/**
 * Packs the flat rows `x` ([batch, dimension], each row a sample of `shape`, channels last) into
 * [batch / pack, dimension · pack] rows of `packedShape(shape, pack)`. Vectors: the rows of a pack
 * concatenated. Images: at each pixel, the channels of the pack's images in order (image i's
 * channel ch is channel i·c + ch of the packed image), so a conv D sees the images stacked.
 */
export function packSamples(x: tf.Tensor2D, shape: readonly number[], pack: number): tf.Tensor2D {
  if (pack <= 1) return x;
  const [batch, dimension] = x.shape;
  if (batch % pack !== 0) throw new Error(`cannot pack ${batch} samples in packs of ${pack} (training.batchSize must be divisible by training.pack)`);
  const groups = batch / pack;
  if (shape.length <= 1) return tf.reshape(x, [groups, dimension * pack]);
  const channels = shape[shape.length - 1];
  const pixels = dimension / channels;
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [groups, pack, pixels, channels]), [0, 2, 1, 3]), [groups, dimension * pack]));
}
