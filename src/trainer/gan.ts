/**
 * The GAN and its training step: Goodfellow et al. 2014, Algorithm 1 (seed 003 §3). One step is
 * k discriminator updates, each on m real and m generated samples, then one generator update on
 * m fresh noise vectors.
 */
import * as tf from '@tensorflow/tfjs-core';
// Gradients of every op live in a separate module of tfjs-core.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { GanConfig, OptimizerConfig } from '../protocol/config';
import type { DataSource } from './data';
import { discriminatorCost, generatorCost } from './losses';
import { Mlp } from './mlp';
import { Random, randomStream } from './random';

export function makeOptimizer(config: OptimizerConfig): tf.Optimizer {
  switch (config.type) {
    case 'adam':
      return tf.train.adam(config.learningRate, config.beta1, config.beta2, config.epsilon);
    case 'sgd':
      return tf.train.sgd(config.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(config.learningRate, config.decay, config.momentum, config.epsilon);
  }
}

/** Values of one step, read back from the backend only when asked for (reading forces a sync). */
export interface StepStatistics {
  dLoss: number;
  gLoss: number;
  /** D(x) per real sample of the last discriminator update. */
  dRealValues: Float32Array;
  /** D(G(z)) per generated sample of the last discriminator update. */
  dFakeValues: Float32Array;
}

export class Gan {
  readonly generator: Mlp;
  readonly discriminator: Mlp;
  readonly generatorOptimizer: tf.Optimizer;
  readonly discriminatorOptimizer: tf.Optimizer;
  /** Draws noise and data; its state is checkpointed. */
  random: Random;

  constructor(
    readonly config: GanConfig,
    readonly data: DataSource,
  ) {
    const weights = randomStream(config.seed, 'weights');
    this.generator = new Mlp('generator', config.generator, config.latent.size, data.dimension, 'linear', weights);
    this.discriminator = new Mlp('discriminator', config.discriminator, data.dimension, 1, 'linear', weights);
    this.generatorOptimizer = makeOptimizer(config.generator.optimizer);
    this.discriminatorOptimizer = makeOptimizer(config.discriminator.optimizer);
    this.random = randomStream(config.seed, 'training');
  }

  /** m noise vectors from p_z. */
  noise(count: number, random: Random = this.random): tf.Tensor2D {
    const values = new Float32Array(count * this.config.latent.size);
    if (this.config.latent.distribution === 'normal') random.fillNormal(values);
    else random.fillUniform(values, -1, 1);
    return tf.tensor2d(values, [count, this.config.latent.size]);
  }

  private realBatch(count: number): tf.Tensor2D {
    return tf.tensor2d(this.data.sample(this.random, count), [count, this.data.dimension]);
  }

  /**
   * One training iteration. With `withStatistics`, returns the losses and D's outputs of the last
   * discriminator update (costs a sync with the backend); otherwise returns null.
   */
  async step(withStatistics: boolean): Promise<StepStatistics | null> {
    const m = this.config.training.batchSize;
    let dLoss: tf.Scalar | null = null;
    // D's logits of the last update, kept out of the gradient tape's tidy when statistics are wanted.
    const captured: { real?: tf.Tensor; fake?: tf.Tensor } = {};
    const k = this.config.training.dStepsPerGStep;
    for (let i = 0; i < k; i++) {
      const last = i === k - 1;
      const real = this.realBatch(m);
      const z = this.noise(m);
      // G(z) is an input to D's update: no gradient flows into G here.
      const fake = tf.tidy(() => this.generator.apply(z, true));
      dLoss?.dispose();
      dLoss = this.discriminatorOptimizer.minimize(
        () => {
          const onReal = this.discriminator.apply(real, true);
          const onFake = this.discriminator.apply(fake, true);
          if (last && withStatistics) {
            captured.real = tf.keep(onReal);
            captured.fake = tf.keep(onFake);
          }
          return discriminatorCost(onReal, onFake);
        },
        true,
        this.discriminator.trainableVariables(),
      );
      tf.dispose([real, z, fake]);
    }
    const z = this.noise(m);
    const gLoss = this.generatorOptimizer.minimize(
      () => generatorCost(this.config.training.generatorCost, this.discriminator.apply(this.generator.apply(z, true), true)),
      true,
      this.generator.trainableVariables(),
    );
    z.dispose();
    const { real: realLogits, fake: fakeLogits } = captured;
    if (!withStatistics || !realLogits || !fakeLogits || !dLoss || !gLoss) {
      tf.dispose([dLoss, gLoss, realLogits, fakeLogits].filter((t): t is tf.Tensor => t != null));
      return null;
    }
    const [dRealValues, dFakeValues] = tf.tidy(() => [tf.sigmoid(realLogits), tf.sigmoid(fakeLogits)]);
    const [dLossValue, gLossValue, realValues, fakeValues] = await Promise.all([dLoss.data(), gLoss.data(), dRealValues.data(), dFakeValues.data()]);
    tf.dispose([dLoss, gLoss, realLogits, fakeLogits, dRealValues, dFakeValues]);
    return {
      dLoss: dLossValue[0],
      gLoss: gLossValue[0],
      dRealValues: realValues as Float32Array,
      dFakeValues: fakeValues as Float32Array,
    };
  }

  /** G(z) for the given noise, with batch norm in inference mode; model space, row-major. */
  async generate(noise: tf.Tensor2D): Promise<Float32Array> {
    const out = this.generator.apply(noise, false);
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    this.generatorOptimizer.dispose();
    this.discriminatorOptimizer.dispose();
  }
}
