/**
 * The GAN costs. The cross-entropy ones of seed 003 §3 (Goodfellow 2016) are written on D's logits
 * l = σ⁻¹(D(x)) so that log D = -softplus(-l) and log(1 - D) = -softplus(l) stay finite when D
 * saturates; the others (Wasserstein, WGAN-GP, hinge, least squares) read D's raw output as a score.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CostConfig, GeneratorCost, TrainingConfig } from '../protocol/config';

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

/** E[D(x)] - E[D(G(z))]: the critic's estimate of the Wasserstein-1 distance (Arjovsky et al. 2017, §3). */
export function wassersteinEstimate(real: tf.Tensor, fake: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sub(tf.mean(real), tf.mean(fake)));
}

/**
 * What D minimizes, on its raw outputs for a real and a generated minibatch. WGAN-GP's penalty is
 * not included: it needs D itself, not its outputs (see gradientPenalty).
 * - cross-entropy: J(D) above;
 * - wasserstein, wgan-gp: E[D(G(z))] - E[D(x)] (the critic maximizes the Wasserstein estimate);
 * - hinge (Miyato et al. 2018, eq. 16): E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))];
 * - least-squares (Mao et al. 2017, eq. 2): ½ E[(D(x) - b)²] + ½ E[(D(G(z)) - a)²].
 */
export function criticCost(cost: CostConfig, real: tf.Tensor, fake: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    switch (cost.type) {
      case 'cross-entropy':
        return discriminatorCost(real, fake);
      case 'wasserstein':
      case 'wgan-gp':
        return tf.neg(wassersteinEstimate(real, fake));
      case 'hinge':
        return tf.add(tf.mean(tf.relu(tf.sub(1, real))), tf.mean(tf.relu(tf.add(1, fake))));
      case 'least-squares':
        return tf.mul(tf.add(tf.mean(tf.square(tf.sub(real, cost.b))), tf.mean(tf.square(tf.sub(fake, cost.a)))), 0.5);
    }
  });
}

/**
 * What G minimizes, on D's raw outputs for a generated minibatch:
 * - cross-entropy: training.generatorCost (non-saturating when absent);
 * - wasserstein, wgan-gp, hinge (Miyato et al. 2018, eq. 17): -E[D(G(z))];
 * - least-squares (Mao et al. 2017, eq. 2): ½ E[(D(G(z)) - c)²].
 */
export function adversarialGeneratorCost(training: Pick<TrainingConfig, 'cost' | 'generatorCost'>, fake: tf.Tensor): tf.Scalar {
  const { cost } = training;
  return tf.tidy(() => {
    switch (cost.type) {
      case 'cross-entropy':
        return generatorCost(training.generatorCost ?? 'non-saturating', fake);
      case 'wasserstein':
      case 'wgan-gp':
      case 'hinge':
        return tf.neg(tf.mean(fake)) as tf.Scalar;
      case 'least-squares':
        return tf.mul(tf.mean(tf.square(tf.sub(fake, cost.c))), 0.5) as tf.Scalar;
    }
  });
}

/** x̂ = εx + (1 - ε)G(z), one ε per row (Gulrajani et al. 2017, Algorithm 1 lines 4-6). */
export function interpolates(real: tf.Tensor2D, fake: tf.Tensor2D, epsilon: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.mul(epsilon, real), tf.mul(tf.sub(1, epsilon), fake)));
}

/**
 * Added inside the square root so the norm's gradient stays finite where ∇D(x̂) is exactly zero
 * (a ReLU critic whose units are all off at x̂); it shifts the norm by at most 1e-6.
 */
const NORM_EPSILON = 1e-12;

/**
 * E[(‖∇_x̂ D(x̂)‖₂ - 1)²] over the rows of `points` (Gulrajani et al. 2017, Algorithm 1 line 7, without λ). The
 * gradient is taken on the tape, so differentiating this with respect to D's weights backpropagates
 * through D's backward pass (see secondOrderGradients.ts).
 */
export function gradientPenalty(critic: (x: tf.Tensor2D) => tf.Tensor, points: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    // D scores each row on its own (without batch norm), so the gradient of the sum is the per-row gradient.
    const gradient = tf.grad((x) => tf.sum(critic(x as tf.Tensor2D)))(points);
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(gradient), 1), NORM_EPSILON));
    return tf.mean(tf.square(tf.sub(norms, 1)));
  });
}
