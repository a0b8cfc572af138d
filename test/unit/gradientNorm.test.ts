/**
 * G's gradient norm ‖∇θg J(G)‖₂ (StepResult.generatorGradientNorm): taken from the gradients of G's
 * own update, so a step that reports it trains exactly like one that does not, on the pure-JS
 * backend and on WASM with the fused Adam update.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { validateConfig, type GanConfig, type GanConfigInput } from '../../src/protocol/config';
import { selectBackend } from '../../src/trainer/backend';
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { ADAM_UPDATE } from '../../src/trainer/kernels/fusedAdam';

function config(overrides: Partial<GanConfigInput> = {}): GanConfig {
  const result = validateConfig({
    name: 'norm',
    seed: 11,
    data: { type: 'ring' },
    generator: { type: 'mlp', depth: 2, width: 16, batchNorm: true },
    discriminator: { type: 'mlp', depth: 2, width: 16, activation: 'leakyRelu' },
    training: { batchSize: 32 },
    ...overrides,
  });
  assert.ok(result.ok);
  return result.config;
}

async function weights(gan: Gan): Promise<number[]> {
  const values: number[] = [];
  for (const { variable } of [...gan.generator.namedVariables(), ...gan.discriminator.namedVariables()]) values.push(...(await variable.data()));
  return values;
}

/** Wraps G's optimizer to record ‖g‖₂ of each update in float64 from the gradients it is given. */
function recordGeneratorNorms(gan: Gan): number[] {
  const norms: number[] = [];
  const optimizer = gan.generatorOptimizer;
  const original = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads) => {
    const tensors = Array.isArray(grads) ? grads.map((g) => g.tensor) : Object.values(grads);
    let sum = 0;
    for (const t of tensors) for (const v of t.dataSync()) sum += v * v;
    norms.push(Math.sqrt(sum));
    original(grads);
  };
  return norms;
}

async function compare(c: GanConfig, steps: number): Promise<void> {
  const data = await loadData(c.data, '.');
  const [measured, plain] = [new Gan(c, data), new Gan(c, data)];
  const expected = recordGeneratorNorms(plain);
  try {
    for (let i = 0; i < steps; i++) {
      const a = await measured.step(true);
      const b = await plain.step(false);
      assert.equal(b.generatorGradientNorm, null, 'not measured when not asked for');
      assert.equal(a.dLoss, b.dLoss);
      assert.equal(a.gLoss, b.gLoss);
      assert.ok(a.generatorGradientNorm !== null && a.generatorGradientNorm > 0);
      const want = expected[i];
      assert.ok(Math.abs(a.generatorGradientNorm - want) <= 1e-5 * want, `step ${i + 1}: ${a.generatorGradientNorm} vs ${want}`);
    }
    assert.deepEqual(await weights(measured), await weights(plain), 'the same weights bit for bit');
  } finally {
    measured.dispose();
    plain.dispose();
  }
}

describe("G's gradient norm", () => {
  it('is the L2 norm of the gradients G is updated with, and changes nothing in training (CPU, Adam; SGD; unrolled)', async () => {
    await tf.setBackend('cpu');
    await compare(config(), 6);
    await compare(config({ generator: { type: 'mlp', depth: 2, width: 16, optimizer: { type: 'sgd', learningRate: 0.01 } } }), 3);
    await compare(config({ training: { batchSize: 32, unrollSteps: 2 } }), 3);
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('cpu');
    const c = config();
    const gan = new Gan(c, await loadData(c.data, '.'));
    await gan.step(true);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await gan.step(true);
    assert.equal(tf.memory().numTensors, before);
    gan.dispose();
  });

  it('keeps the fused Adam update on WASM, bit for bit', async () => {
    await selectBackend('wasm');
    await compare(config(), 4);
    const c = config();
    const gan = new Gan(c, await loadData(c.data, '.'));
    const profile = await tf.profile(async () => {
      await gan.step(true);
    });
    const adamUpdates = profile.kernels.filter((k) => k.name === ADAM_UPDATE).length;
    // One fused update per variable of D and of G, none of them replaced by tfjs's 14 kernels.
    assert.equal(adamUpdates, gan.discriminator.trainableVariables().length + gan.generator.trainableVariables().length);
    gan.dispose();
  });
});
