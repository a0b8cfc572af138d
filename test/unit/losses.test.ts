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
import { discriminatorCost, generatorCost } from '../../src/trainer/losses';

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
