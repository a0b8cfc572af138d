/**
 * The GAN costs of seed 003 §3 (Goodfellow 2016), written on D's logits l = σ⁻¹(D(x)) so that
 * log D = -softplus(-l) and log(1 - D) = -softplus(l) stay finite when D saturates.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GeneratorCost } from '../protocol/config';

/** J(D) = -½ E_x[log D(x)] - ½ E_z[log(1 - D(G(z)))]: cross-entropy on a real and a fake minibatch. */
export function discriminatorCost(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))), 0.5));
}

/**
 * J(G) for the chosen cost:
 * - minimax: J(G) = -J(D); its θ_G-dependent part is ½ E_z[log(1 - D(G(z)))];
 * - non-saturating: J(G) = -½ E_z[log D(G(z))];
 * - maximum-likelihood: J(G) = -½ E_z[exp(σ⁻¹(D(G(z))))].
 */
export function generatorCost(cost: GeneratorCost, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    switch (cost) {
      case 'minimax':
        return tf.mul(tf.mean(tf.softplus(fakeLogits)), -0.5);
      case 'non-saturating':
        return tf.mul(tf.mean(tf.softplus(tf.neg(fakeLogits))), 0.5);
      case 'maximum-likelihood':
        return tf.mul(tf.mean(tf.exp(fakeLogits)), -0.5);
    }
  });
}
