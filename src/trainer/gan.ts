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

/** What one step reports: its losses always (a divergence check needs them every step). */
export interface StepResult {
  dLoss: number;
  gLoss: number;
  /** D(x) and D(G(z)) per sample of the last discriminator update, when asked for. */
  outputs: { dReal: Float32Array; dFake: Float32Array } | null;
}

/**
 * tfjs-core 4.22 leaves the gradient tape behind when the function it differentiates throws: the
 * tensors the tape saved for backprop are never freed, and the next gradient starts a new tape.
 * This frees them (only outside any gradient computation).
 */
function releaseAbandonedTape(): void {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: { saved?: tf.Tensor[] }[] | null } }).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) tf.dispose(node.saved ?? []);
  state.activeTape = null;
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
   * One training iteration. Returns its losses; with `withOutputs`, also D's outputs on the last
   * real and generated minibatch. Every tensor it makes is freed, even when it throws.
   */
  async step(withOutputs: boolean): Promise<StepResult> {
    const m = this.config.training.batchSize;
    const k = this.config.training.dStepsPerGStep;
    const owned: tf.Tensor[] = [];
    const own = <T extends tf.Tensor>(t: T): T => {
      owned.push(t);
      return t;
    };
    try {
      let dLoss: tf.Scalar | null = null;
      let logits: { real: tf.Tensor; fake: tf.Tensor } | null = null;
      for (let i = 0; i < k; i++) {
        const last = i === k - 1;
        const real = own(this.realBatch(m));
        const z = own(this.noise(m));
        // G(z) is an input to D's update: no gradient flows into G here.
        const fake = own(tf.tidy(() => this.generator.apply(z, true)));
        dLoss = own(
          this.discriminatorOptimizer.minimize(
            () => {
              const onReal = this.discriminator.apply(real, true);
              const onFake = this.discriminator.apply(fake, true);
              // Kept out of the gradient tape's tidy when the outputs are wanted.
              if (last && withOutputs) logits = { real: own(tf.keep(onReal)), fake: own(tf.keep(onFake)) };
              return discriminatorCost(onReal, onFake);
            },
            true,
            this.discriminator.trainableVariables(),
          ) as tf.Scalar,
        );
      }
      const z = own(this.noise(m));
      const gLoss = own(
        this.generatorOptimizer.minimize(
          () => generatorCost(this.config.training.generatorCost, this.discriminator.apply(this.generator.apply(z, true), true)),
          true,
          this.generator.trainableVariables(),
        ) as tf.Scalar,
      );
      const [dLossValue, gLossValue] = await Promise.all([(dLoss as tf.Scalar).data(), gLoss.data()]);
      let outputs: StepResult['outputs'] = null;
      const captured = logits as { real: tf.Tensor; fake: tf.Tensor } | null;
      if (captured) {
        const dReal = own(tf.sigmoid(captured.real));
        const dFake = own(tf.sigmoid(captured.fake));
        outputs = { dReal: (await dReal.data()) as Float32Array, dFake: (await dFake.data()) as Float32Array };
      }
      return { dLoss: dLossValue[0], gLoss: gLossValue[0], outputs };
    } catch (error) {
      releaseAbandonedTape();
      throw error;
    } finally {
      tf.dispose(owned);
    }
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
