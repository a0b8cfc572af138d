/** The training step (Algorithm 1), reproducibility, exact resume and tensor hygiene, on the pure-JS backend. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { validateConfig, type GanConfig, type GanConfigInput } from '../../src/protocol/config';
import { restoreCheckpoint, saveCheckpoint } from '../../src/trainer/checkpoint';
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';

function config(overrides: Partial<GanConfigInput> = {}): GanConfig {
  const result = validateConfig({
    name: 'tiny',
    seed: 7,
    data: { type: 'ring' },
    generator: { type: 'mlp', depth: 2, width: 8, batchNorm: true },
    discriminator: { type: 'mlp', depth: 2, width: 8, activation: 'leakyRelu' },
    training: { batchSize: 16 },
    ...overrides,
  });
  assert.ok(result.ok);
  return result.config;
}

async function makeGan(c: GanConfig): Promise<Gan> {
  return new Gan(c, await loadData(c.data, '.'));
}

async function weights(gan: Gan): Promise<number[]> {
  const values: number[] = [];
  for (const { variable } of [...gan.generator.namedVariables(), ...gan.discriminator.namedVariables()]) values.push(...(await variable.data()));
  return values;
}

describe('GAN training step', () => {
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-unit-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('makes k discriminator updates on m real and m generated samples, then one generator update', async () => {
    for (const k of [1, 3]) {
      const gan = await makeGan(config({ training: { batchSize: 16, dStepsPerGStep: k } }));
      const calls: string[] = [];
      const spy = (name: string, optimizer: tf.Optimizer) => {
        const original = optimizer.applyGradients.bind(optimizer);
        optimizer.applyGradients = (grads) => {
          calls.push(name);
          const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
          const own = (name === 'D' ? gan.discriminator : gan.generator).trainableVariables().map((v) => v.name);
          assert.deepEqual(names.sort(), own.sort(), `${name} updates only its own parameters`);
          original(grads);
        };
      };
      spy('D', gan.discriminatorOptimizer);
      spy('G', gan.generatorOptimizer);
      const sampled: number[] = [];
      const sample = gan.data.sample.bind(gan.data);
      gan.data.sample = (random, batch, out) => {
        sampled.push(batch);
        return sample(random, batch, out);
      };
      await gan.step(false);
      await gan.step(true);
      assert.deepEqual(calls, [...Array(k).fill('D'), 'G', ...Array(k).fill('D'), 'G']);
      assert.deepEqual(sampled, Array(2 * k).fill(16), 'one real minibatch of m per discriminator update');
      gan.dispose();
    }
  });

  it('returns the losses and D outputs of the last discriminator update', async () => {
    const gan = await makeGan(config());
    const stats = await gan.step(true);
    assert.ok(stats.outputs);
    assert.equal(stats.outputs.dReal.length, 16);
    assert.equal(stats.outputs.dFake.length, 16);
    for (const v of [...stats.outputs.dReal, ...stats.outputs.dFake]) assert.ok(v > 0 && v < 1);
    // For the cross-entropy cost the raw outputs are D's logits: D(x) = σ(logit).
    stats.outputs.criticReal.forEach((l, i) => assert.ok(Math.abs(1 / (1 + Math.exp(-l)) - stats.outputs!.dReal[i]) < 1e-6));
    assert.equal(stats.wassersteinEstimate, null);
    assert.equal(stats.gradientPenalty, null);
    assert.ok(Number.isFinite(stats.dLoss) && Number.isFinite(stats.gLoss));
    assert.equal((await gan.step(false)).outputs, null);
    gan.dispose();
  });

  it('is reproducible: the same seed gives the same losses and weights', async () => {
    const run = async (seed: number) => {
      const gan = await makeGan(config({ seed }));
      const losses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = await gan.step(true);
        losses.push(s.dLoss, s.gLoss);
      }
      const w = await weights(gan);
      gan.dispose();
      return { losses, w };
    };
    const a = await run(3);
    const b = await run(3);
    const c = await run(4);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.losses, c.losses);
  });

  it('resumes exactly from a checkpoint: N steps equal N/2 + save + restore + N/2', async () => {
    const c = config();
    const straight = await makeGan(c);
    for (let i = 0; i < 6; i++) await straight.step(false);
    const expected = await weights(straight);
    const expectedNext = await straight.step(true);
    straight.dispose();

    const first = await makeGan(c);
    for (let i = 0; i < 3; i++) await first.step(false);
    await saveCheckpoint(dir, first, 3, 1);
    first.dispose();
    const second = await makeGan(c);
    const manifest = await restoreCheckpoint(dir, 3, second);
    assert.equal(manifest.step, 3);
    for (let i = 0; i < 3; i++) await second.step(false);
    const resumed = await weights(second);
    assert.equal(resumed.length, expected.length);
    resumed.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-6, `weight ${i}: ${v} vs ${expected[i]}`));
    const next = await second.step(true);
    assert.ok(Math.abs(next.dLoss - expectedNext.dLoss) < 1e-6);
    second.dispose();
  });

  it('leaks no tensors: the count is flat across steps', async () => {
    const gan = await makeGan(config({ training: { batchSize: 16, dStepsPerGStep: 2 } }));
    for (let i = 0; i < 3; i++) await gan.step(i % 2 === 0);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await gan.step(i % 3 === 0);
    assert.equal(tf.memory().numTensors, before);
    const noise = gan.noise(10);
    await gan.generate(noise);
    noise.dispose();
    assert.equal(tf.memory().numTensors, before);
    gan.dispose();
  });

  it('leaks no tensors when a step throws halfway', async () => {
    const gan = await makeGan(config({ training: { batchSize: 16, dStepsPerGStep: 2 } }));
    await gan.step(true);
    const before = tf.memory().numTensors;
    const apply = gan.discriminator.apply.bind(gan.discriminator);
    let calls = 0;
    for (const failAt of [1, 3, 5]) {
      calls = 0;
      gan.discriminator.apply = (x, training) => {
        if (++calls === failAt) throw new Error('injected failure');
        return apply(x, training);
      };
      await assert.rejects(gan.step(true), /injected failure/);
      assert.equal(tf.memory().numTensors, before, `after a failure at D call ${failAt}`);
    }
    gan.discriminator.apply = apply;
    await gan.step(true);
    assert.equal(tf.memory().numTensors, before);
    gan.dispose();
  });
});
