/**
 * The learning-rate schedule: constant, or held until a fraction of the run and then decayed
 * linearly to a fraction of the configured rate (the decaying rate of the PacGAN calibration and
 * of many DCGAN recipes: the game settles instead of orbiting its solution). It is a function of
 * the step alone, so resume and forks need no extra state.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from '../protocol/config';

/** The factor on the configured learning rates at `step` (1-based) of `totalSteps`. */
export function learningRateFactor(config: GanConfig, step: number, totalSteps: number): number {
  const decay = config.training.learningRateDecay;
  if (!decay || totalSteps <= 0) return 1;
  const start = decay.from * totalSteps;
  if (step <= start) return 1;
  const progress = Math.min(1, (step - start) / Math.max(1, totalSteps - start));
  return 1 + (decay.to - 1) * progress;
}

/** Sets an optimizer's step size; tfjs keeps it in a field the update reads each step (SGD in a tensor too). */
function setRate(optimizer: tf.Optimizer, rate: number): void {
  const target = optimizer as unknown as { learningRate: number; setLearningRate?(rate: number): void };
  if (target.learningRate === rate) return;
  if (target.setLearningRate) target.setLearningRate(rate);
  else target.learningRate = rate;
}

type Optimizers = { generator: tf.Optimizer; discriminator: tf.Optimizer };

/** Sets both optimizers' step sizes (rates already scheduled). */
export function setLearningRates(optimizers: Optimizers, rates: { generator: number; discriminator: number }): void {
  setRate(optimizers.generator, rates.generator);
  setRate(optimizers.discriminator, rates.discriminator);
}

/** Applies the schedule to both optimizers before the step `step`. */
export function applyLearningRates(config: GanConfig, optimizers: Optimizers, step: number, totalSteps: number): void {
  const factor = learningRateFactor(config, step, totalSteps);
  setLearningRates(optimizers, {
    generator: config.generator.optimizer.learningRate * factor,
    discriminator: config.discriminator.optimizer.learningRate * factor,
  });
}
