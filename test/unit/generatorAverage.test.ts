/** The moving average of G's weights: its recurrence computed by hand, sampling from it, and checkpoints. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { validateConfig, type GanConfig } from '../../src/protocol/config';
import { restoreCheckpoint, saveCheckpoint } from '../../src/trainer/checkpoint';
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { Random } from '../../src/trainer/random';

function config(generatorAverage?: number): GanConfig {
  const result = validateConfig({
    name: 'ema',
    seed: 11,
    data: { type: 'ring' },
    generator: { type: 'mlp', depth: 1, width: 6, batchNorm: true },
    discriminator: { type: 'mlp', depth: 1, width: 6 },
    training: { batchSize: 8, ...(generatorAverage === undefined ? {} : { generatorAverage }) },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.config;
}

async function makeGan(c: GanConfig): Promise<Gan> {
  return new Gan(c, await loadData(c.data, '.'));
}

async function generatorValues(gan: Gan): Promise<number[][]> {
  return Promise.all(gan.generator.namedVariables().map(async ({ variable }) => Array.from(await variable.data())));
}

describe("moving average of G's weights", () => {
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-ema-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('follows average ← β·average + (1 − β)·weights with β = min(decay, (1 + t)/(10 + t)), computed by hand', async () => {
    const gan = await makeGan(config(0.5));
    try {
      // By hand, in float64, from G's weights after each step.
      let average = await generatorValues(gan);
      for (let t = 0; t < 6; t++) {
        await gan.step(false);
        const beta = Math.min(0.5, (1 + t) / (10 + t));
        const weights = await generatorValues(gan);
        average = average.map((values, i) => values.map((a, j) => beta * a + (1 - beta) * weights[i][j]));
      }
      const own = await generatorValues(gan);
      const averaged = await gan.generatorAverage!.withAverage(() => generatorValues(gan));
      averaged.forEach((values, i) => values.forEach((v, j) => assert.ok(Math.abs(v - average[i][j]) < 1e-5, `variable ${i}[${j}]: ${v} vs ${average[i][j]}`)));
      assert.notDeepEqual(averaged, own, 'the average is not the last iterate');
      assert.deepEqual(await generatorValues(gan), own, "G's own weights are back after sampling");
    } finally {
      gan.dispose();
    }
  });

  it('is what samples come from, and training is unchanged by it', async () => {
    const [plain, averaged] = [await makeGan(config()), await makeGan(config(0.9))];
    try {
      for (let i = 0; i < 5; i++) assert.equal((await plain.step(false)).dLoss, (await averaged.step(false)).dLoss, `step ${i}: same training`);
      const noise = () => plain.noise(4, new Random('fixed'));
      const fromAverage = await averaged.generate(noise());
      const fromLast = await plain.generate(noise());
      assert.notDeepEqual([...fromAverage], [...fromLast]);
      const byHand = await averaged.generatorAverage!.withAverage(async () => {
        const out = averaged.generator.apply(noise(), false);
        const values = Array.from(await out.data());
        out.dispose();
        return values;
      });
      assert.deepEqual([...fromAverage], byHand);
    } finally {
      plain.dispose();
      averaged.dispose();
    }
  });

  it('is checkpointed: resume is exact, and a checkpoint without one starts it from G', async () => {
    const a = await makeGan(config(0.9));
    const b = await makeGan(config(0.9));
    try {
      for (let i = 0; i < 4; i++) await a.step(false);
      await saveCheckpoint(dir, a, 4, 1);
      await restoreCheckpoint(dir, 4, b);
      await a.step(false);
      await b.step(false);
      const noise = () => a.noise(3, new Random('z'));
      assert.deepEqual([...(await b.generate(noise()))], [...(await a.generate(noise()))]);
    } finally {
      a.dispose();
      b.dispose();
    }
    const without = await makeGan(config());
    const withAverage = await makeGan(config(0.9));
    try {
      await without.step(false);
      await saveCheckpoint(dir, without, 1, 1);
      await restoreCheckpoint(dir, 1, withAverage);
      assert.deepEqual(await withAverage.generatorAverage!.withAverage(() => generatorValues(withAverage)), await generatorValues(without));
    } finally {
      without.dispose();
      withAverage.dispose();
    }
  });

  it('takes a decay in (0, 1) only', () => {
    for (const bad of [0, 1, 1.5, -0.1]) {
      const result = validateConfig({ ...config(), training: { generatorAverage: bad } });
      assert.ok(!result.ok && result.problems.some((p) => p.path.join('.') === 'training.generatorAverage'), String(bad));
    }
  });
});
