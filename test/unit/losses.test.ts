/**
 * The costs against seed 003 §3's formulas, computed here independently from D's probabilities:
 *   J(D) = -½ E[log D(x)] - ½ E[log(1 - D(G(z)))]
 *   minimax:            J(G) = -J(D)  →  θ_G-dependent part ½ E[log(1 - D(G(z)))]
 *   non-saturating:     J(G) = -½ E[log D(G(z))]
 *   maximum likelihood: J(G) = -½ E[exp(σ⁻¹(D(G(z))))]
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { adversarialGeneratorCost, criticCost, discriminatorCost, generatorCost, gradientPenalty, wassersteinEstimate } from '../../src/trainer/losses';

const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));
const logit = (p: number) => Math.log(p / (1 - p));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function value(t: tf.Scalar): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** d cost / d logit_i, by the backend's autodiff. */
function gradient(f: (l: tf.Tensor) => tf.Scalar, logits: number[]): number[] {
  const g = tf.grad(f)(tf.tensor1d(logits));
  const values = Array.from(g.dataSync());
  g.dispose();
  return values;
}

describe('GAN costs (seed 003 §3)', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const dReal = [0.9, 0.6, 0.75, 0.99];
  const dFake = [0.1, 0.3, 0.45, 0.02];

  it('J(D) is the cross-entropy on a real and a fake minibatch, with the ½ factors', () => {
    const expected = -0.5 * mean(dReal.map(Math.log)) - 0.5 * mean(dFake.map((d) => Math.log(1 - d)));
    const actual = value(discriminatorCost(tf.tensor1d(dReal.map(logit)), tf.tensor1d(dFake.map(logit))));
    assert.ok(Math.abs(actual - expected) < 1e-5, `${actual} vs ${expected}`);
  });

  it('minimax J(G) is ½ E[log(1 - D(G(z)))], the part of -J(D) that depends on G', () => {
    const expected = 0.5 * mean(dFake.map((d) => Math.log(1 - d)));
    assert.ok(Math.abs(value(generatorCost('minimax', tf.tensor1d(dFake.map(logit)))) - expected) < 1e-5);
  });

  it('non-saturating J(G) is -½ E[log D(G(z))]', () => {
    const expected = -0.5 * mean(dFake.map(Math.log));
    assert.ok(Math.abs(value(generatorCost('non-saturating', tf.tensor1d(dFake.map(logit)))) - expected) < 1e-5);
  });

  it('maximum-likelihood J(G) is -½ E[exp(σ⁻¹(D(G(z))))] = -½ E[D/(1-D)]', () => {
    const expected = -0.5 * mean(dFake.map((d) => d / (1 - d)));
    assert.ok(Math.abs(value(generatorCost('maximum-likelihood', tf.tensor1d(dFake.map(logit)))) - expected) < 1e-5);
  });

  it('stays finite when D saturates (logits of ±40)', () => {
    for (const cost of ['minimax', 'non-saturating'] as const) {
      assert.ok(Number.isFinite(value(generatorCost(cost, tf.tensor1d([-40, 40])))), cost);
    }
    assert.ok(Number.isFinite(value(discriminatorCost(tf.tensor1d([-40, 40]), tf.tensor1d([40, -40])))));
  });

  it("minimax's gradient vanishes as D(G(z)) → 0 while the non-saturating one does not", () => {
    // d/dl of the per-sample cost, by hand: minimax ½·d/dl log(1-σ(l)) = -½σ(l); non-saturating -½·d/dl log σ(l) = -½(1-σ(l)).
    for (const d of [1e-2, 1e-4, 1e-6]) {
      const l = logit(d);
      const [minimax] = gradient((x) => generatorCost('minimax', x), [l]);
      const [nonSaturating] = gradient((x) => generatorCost('non-saturating', x), [l]);
      assert.ok(Math.abs(minimax - -0.5 * sigmoid(l)) < 1e-6, `minimax gradient ${minimax}`);
      assert.ok(Math.abs(nonSaturating - -0.5 * (1 - sigmoid(l))) < 1e-6, `non-saturating gradient ${nonSaturating}`);
      assert.ok(Math.abs(minimax) <= d, `minimax gradient ${minimax} should be at most D(G(z)) = ${d}`);
      assert.ok(Math.abs(nonSaturating) > 0.49, `non-saturating gradient ${nonSaturating} should stay near -½`);
    }
  });

  it('both generator costs push D(G(z)) up (negative gradient on the logit)', () => {
    for (const cost of ['minimax', 'non-saturating', 'maximum-likelihood'] as const) {
      for (const g of gradient((x) => generatorCost(cost, x), dFake.map(logit))) assert.ok(g < 0, `${cost}: ${g}`);
    }
  });
});

describe('the costs on raw critic scores', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  // Raw scores: two real samples past the hinge margin (D(x) ≥ 1) and one generated one (D(G(z)) ≤ -1).
  const real = [1.5, 0.2, -0.3, 1.0];
  const fake = [-1.2, 0.4, 0.0, -0.5];
  const t = (xs: number[]) => tf.tensor1d(xs);

  it('wasserstein and wgan-gp: L_D = E[D(G(z))] - E[D(x)] = -(0.6 - (-0.325)), L_G = -E[D(G(z))] = 0.325', () => {
    for (const cost of [
      { type: 'wasserstein', clip: 0.01 },
      { type: 'wgan-gp', lambda: 10 },
    ] as const) {
      assert.ok(Math.abs(value(criticCost(cost, t(real), t(fake))) - -0.925) < 1e-6);
      assert.ok(Math.abs(value(adversarialGeneratorCost({ cost }, t(fake))) - 0.325) < 1e-6);
    }
    assert.ok(Math.abs(value(wassersteinEstimate(t(real), t(fake))) - 0.925) < 1e-6);
  });

  it('hinge: L_D = mean(0, 0.8, 1.3, 0) + mean(0, 1.4, 1, 0.5) = 0.525 + 0.725, L_G = 0.325', () => {
    const cost = { type: 'hinge' } as const;
    assert.ok(Math.abs(value(criticCost(cost, t(real), t(fake))) - 1.25) < 1e-6);
    assert.ok(Math.abs(value(adversarialGeneratorCost({ cost }, t(fake))) - 0.325) < 1e-6);
  });

  it('least squares with a = -1, b = 1, c = 0: ½ mean((D(x) - 1)²) + ½ mean((D(G(z)) + 1)²), ½ mean(D(G(z))²)', () => {
    const cost = { type: 'least-squares', a: -1, b: 1, c: 0 } as const;
    // (0.25 + 0.64 + 1.69 + 0)/4 = 0.645; (0.04 + 1.96 + 1 + 0.25)/4 = 0.8125; (1.44 + 0.16 + 0 + 0.25)/4 = 0.4625.
    assert.ok(Math.abs(value(criticCost(cost, t(real), t(fake))) - 0.5 * (0.645 + 0.8125)) < 1e-6);
    assert.ok(Math.abs(value(adversarialGeneratorCost({ cost }, t(fake))) - 0.5 * 0.4625) < 1e-6);
  });

  it('cross-entropy: criticCost is J(D) and the generator cost is training.generatorCost (non-saturating when absent)', () => {
    const cost = { type: 'cross-entropy' } as const;
    assert.equal(value(criticCost(cost, t(real), t(fake))), value(discriminatorCost(t(real), t(fake))));
    assert.equal(value(adversarialGeneratorCost({ cost }, t(fake))), value(generatorCost('non-saturating', t(fake))));
    assert.equal(value(adversarialGeneratorCost({ cost, generatorCost: 'minimax' }, t(fake))), value(generatorCost('minimax', t(fake))));
  });

  it('the gradient penalty of a linear critic D(x) = (3, 4)·x is (‖(3, 4)‖ - 1)² = 16 wherever it is taken', () => {
    const w = tf.tensor2d([3, 4], [2, 1]);
    const critic = (x: tf.Tensor2D) => tf.matMul(x, w);
    assert.ok(Math.abs(value(gradientPenalty(critic, tf.tensor2d([0, 0, 1, -2, 5, 7], [3, 2]))) - 16) < 1e-4);
    // A critic flat at x̂ (ReLU off): ‖∇‖ = 0, penalty (0 - 1)² = 1, and its gradient stays finite.
    const flat = (x: tf.Tensor2D) => tf.relu(tf.matMul(x, w));
    assert.ok(Math.abs(value(gradientPenalty(flat, tf.tensor2d([-1, -1], [1, 2]))) - 1) < 1e-4);
    const g = tf.grad((v) => gradientPenalty((x) => tf.relu(tf.matMul(x, v as tf.Tensor2D)), tf.tensor2d([-1, -1], [1, 2])))(w);
    assert.ok(Array.from(g.dataSync()).every(Number.isFinite));
    w.dispose();
  });
});
