/**
 * An exponential moving average of G's weights, used for sampling (Yazıcı et al. 2019, "The
 * Unusual Effectiveness of Averaging in GAN Training"; also Karras et al. 2018): the average
 * smooths out the oscillation of the adversarial game, so its samples are cleaner than those of
 * the last iterate. Training is unchanged; only samples, `sample` and `export` read the average.
 * The average and its update count are variables, so checkpoints carry them and resume is exact.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from './layerNetwork';
import type { NamedVariable } from './mlp';

export class GeneratorAverage {
  /** The averaged copy of each of G's variables (batch-norm statistics included), by G's names. */
  private readonly shadows: NamedVariable[];
  /** Updates so far: the warm-up of the decay depends on it. */
  private readonly updates: tf.Variable;

  constructor(
    private readonly network: Network,
    readonly decay: number,
  ) {
    this.shadows = tf.tidy(() => network.namedVariables().map(({ name, variable }) => ({ name, variable: tf.variable(variable.clone(), false) })));
    this.updates = tf.tidy(() => tf.variable(tf.scalar(0), false));
  }

  /** Variables to checkpoint, with names apart from G's own. */
  namedVariables(): NamedVariable[] {
    return [...this.shadows.map(({ name, variable }) => ({ name: `average/${name}`, variable })), { name: 'average/updates', variable: this.updates }];
  }

  /**
   * One update after G's step: average ← β·average + (1 − β)·weights, with β = min(decay,
   * (1 + t)/(10 + t)) so the first steps are not dragged back to the initial weights.
   */
  update(): void {
    tf.tidy(() => {
      const t = this.updates.dataSync()[0];
      const beta = Math.min(this.decay, (1 + t) / (10 + t));
      const current = this.network.namedVariables();
      this.shadows.forEach(({ variable: shadow }, i) => shadow.assign(tf.add(tf.mul(shadow, beta), tf.mul(current[i].variable, 1 - beta))));
      this.updates.assign(tf.scalar(t + 1));
    });
  }

  /** Starts the average at G's current weights (a checkpoint written without one). */
  reset(): void {
    tf.tidy(() => {
      const current = this.network.namedVariables();
      this.shadows.forEach(({ variable: shadow }, i) => shadow.assign(current[i].variable));
      this.updates.assign(tf.scalar(0));
    });
  }

  /** Runs `use` with G's variables holding the average, then puts G's own weights back. */
  async withAverage<T>(use: () => Promise<T>): Promise<T> {
    const current = this.network.namedVariables();
    const saved = current.map(({ variable }) => variable.clone());
    current.forEach(({ variable }, i) => variable.assign(this.shadows[i].variable));
    try {
      return await use();
    } finally {
      current.forEach(({ variable }, i) => variable.assign(saved[i]));
      tf.dispose(saved);
    }
  }

  dispose(): void {
    for (const { variable } of this.namedVariables()) variable.dispose();
  }
}
