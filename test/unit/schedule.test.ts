/** The learning-rate schedule against its definition, and that the optimizers take it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { validateConfig, type GanConfig } from '../../src/protocol/config';
import { applyLearningRates, learningRateFactor } from '../../src/trainer/schedule';

function config(training: Record<string, unknown>, optimizer: Record<string, unknown> = { type: 'adam', learningRate: 0.001 }): GanConfig {
  const result = validateConfig({
    name: 'lr',
    data: { type: 'ring' },
    generator: { type: 'mlp', optimizer },
    discriminator: { type: 'mlp', optimizer },
    training,
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.config;
}

describe('learning-rate schedule', () => {
  it('is constant without a decay, and holds then falls linearly with one', () => {
    assert.equal(learningRateFactor(config({}), 900, 1000), 1);
    const decay = config({ learningRateDecay: { from: 0.5, to: 0.1 } });
    // Held to step 500 of 1,000, then 1 → 0.1 linearly: at 750, halfway, 1 − 0.9/2 = 0.55.
    assert.equal(learningRateFactor(decay, 1, 1000), 1);
    assert.equal(learningRateFactor(decay, 500, 1000), 1);
    assert.ok(Math.abs(learningRateFactor(decay, 750, 1000) - 0.55) < 1e-12);
    assert.ok(Math.abs(learningRateFactor(decay, 1000, 1000) - 0.1) < 1e-12);
    assert.equal(learningRateFactor(config({ learningRateDecay: {} }), 1000, 1000), 0, 'defaults: from half way down to zero');
  });

  it("sets the step size each optimizer's update reads (Adam's field, SGD's tensor)", () => {
    for (const optimizer of [
      { type: 'adam', learningRate: 0.001 },
      { type: 'sgd', learningRate: 0.001 },
      { type: 'rmsprop', learningRate: 0.001 },
    ]) {
      const c = config({ learningRateDecay: { from: 0, to: 0.5 } }, optimizer);
      const make = () => (optimizer.type === 'adam' ? tf.train.adam(0.001) : optimizer.type === 'sgd' ? tf.train.sgd(0.001) : tf.train.rmsprop(0.001));
      const [g, d] = [make(), make()];
      applyLearningRates(c, { generator: g, discriminator: d }, 100, 100);
      // SGD at rate r moves w by −r·∇: with ∇(w²/2) = w = 1, w becomes 1 − 0.0005.
      if (optimizer.type === 'sgd') {
        const w = tf.variable(tf.scalar(1));
        g.minimize(() => tf.mul(tf.square(w), 0.5) as tf.Scalar, false, [w]);
        assert.ok(Math.abs(w.dataSync()[0] - (1 - 0.0005)) < 1e-7, `sgd step ${w.dataSync()[0]}`);
        w.dispose();
      }
      assert.equal((g as unknown as { learningRate: number }).learningRate, 0.0005, optimizer.type);
      assert.equal((d as unknown as { learningRate: number }).learningRate, 0.0005, optimizer.type);
      g.dispose();
      d.dispose();
    }
  });

  it('refuses fractions outside [0, 1)', () => {
    for (const learningRateDecay of [{ from: 1 }, { from: -0.1 }, { to: 1.5 }]) {
      const result = validateConfig({
        name: 'lr',
        data: { type: 'ring' },
        generator: { type: 'mlp' },
        discriminator: { type: 'mlp' },
        training: { learningRateDecay },
      });
      assert.ok(!result.ok && result.problems.every((p) => p.path.slice(0, 2).join('.') === 'training.learningRateDecay'), JSON.stringify(learningRateDecay));
    }
  });
});
