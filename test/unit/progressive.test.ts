/**
 * Progressive growing (Karras et al. 2018) on the pure-JS backend: the schedule, the resampling,
 * that a fade starting at α = 0 is the previous stage exactly (G and D), and that blocks not grown
 * yet do not move while the grown ones train.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { validateConfig, type GanConfigInput } from '../../src/protocol/config';
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { downsample2, growthAt, ProgressiveNetwork, upsample2 } from '../../src/trainer/progressiveNetwork';
import { randomStream } from '../../src/trainer/random';

function config(extra: Partial<GanConfigInput> = {}) {
  return validateConfig({
    name: 'grow',
    seed: 2,
    data: { type: 'mnist', classes: [0, 1] },
    latent: { size: 8 },
    generator: { type: 'progressive', channels: [4, 4, 2] },
    discriminator: { type: 'progressive', channels: [4, 4, 2] },
    training: { batchSize: 8, steps: 30, progressive: { stageSteps: 10, fadeSteps: 4 } },
    ...extra,
  });
}

describe('progressive growing', () => {
  it('grows a block every stageSteps, fading it in over fadeSteps', () => {
    const schedule = { stageSteps: 10, fadeSteps: 4 };
    assert.deepEqual(growthAt(1, 3, schedule), { stage: 0, alpha: 1 });
    assert.deepEqual(growthAt(10, 3, schedule), { stage: 0, alpha: 1 });
    assert.deepEqual(growthAt(11, 3, schedule), { stage: 1, alpha: 0.25 });
    assert.deepEqual(growthAt(13, 3, schedule), { stage: 1, alpha: 0.75 });
    assert.deepEqual(growthAt(14, 3, schedule), { stage: 1, alpha: 1 });
    assert.deepEqual(growthAt(21, 3, schedule), { stage: 2, alpha: 0.25 });
    assert.deepEqual(growthAt(500, 3, schedule), { stage: 2, alpha: 1 }, 'the last resolution trains to the end');
    assert.deepEqual(growthAt(11, 3, { stageSteps: 10, fadeSteps: 0 }), { stage: 1, alpha: 1 });
  });

  it('upsamples by repeating each pixel 2 × 2, and pooling that gives the image back', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    assert.deepEqual(Array.from(upsample2(x).dataSync()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    assert.deepEqual(Array.from(downsample2(upsample2(x)).dataSync()), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(downsample2(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1])).dataSync()), [2.5]);
  });

  it('at α = 0 a new stage is the previous one exactly, for G and for D', async () => {
    await tf.setBackend('cpu');
    const result = config();
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const data = await loadData(result.config.data, '.');
    const gan = new Gan(result.config, data);
    const g = gan.generator as ProgressiveNetwork;
    const d = gan.discriminator as ProgressiveNetwork;
    const z = gan.noise(3, randomStream(1, 'fixed-noise'));
    const x = tf.tensor2d(data.sample(randomStream(1, 'real-sample'), 3), [3, 784]);
    for (const stage of [1, 2]) {
      g.setGrowth({ stage: stage - 1, alpha: 1 });
      d.setGrowth({ stage: stage - 1, alpha: 1 });
      const [before, judged] = [g.apply(z, true).dataSync(), d.apply(x, true).dataSync()];
      g.setGrowth({ stage, alpha: 0 });
      d.setGrowth({ stage, alpha: 0 });
      const [after, judgedAfter] = [g.apply(z, true).dataSync(), d.apply(x, true).dataSync()];
      assert.ok(
        before.every((v, i) => Math.abs(v - after[i]) < 1e-5),
        `G at stage ${stage}, α 0`,
      );
      assert.ok(
        judged.every((v, i) => Math.abs(v - judgedAfter[i]) < 1e-4),
        `D at stage ${stage}, α 0: ${judged} vs ${judgedAfter}`,
      );
    }
    // Stage 0 draws 7 × 7 images enlarged ×4: each 4 × 4 cell is one value.
    g.setGrowth({ stage: 0, alpha: 1 });
    const image = g.apply(z, true).dataSync().subarray(0, 784);
    for (let row = 0; row < 28; row++)
      for (let column = 0; column < 28; column++) assert.equal(image[row * 28 + column], image[(row - (row % 4)) * 28 + (column - (column % 4))]);
    gan.dispose();
  });

  it('fades real images between the two resolutions while a block comes in', async () => {
    await tf.setBackend('cpu');
    const result = config();
    assert.ok(result.ok);
    const data = await loadData(result.config.data, '.');
    const gan = new Gan(result.config, data);
    const d = gan.discriminator as ProgressiveNetwork;
    const x = tf.tensor2d(data.sample(randomStream(1, 'real-sample'), 2), [2, 784]);
    d.setGrowth({ stage: 1, alpha: 1 });
    assert.equal(d.fadeReal(x), x, 'no fade: the images as they are');
    d.setGrowth({ stage: 1, alpha: 0 });
    // α = 0 at stage 1 (14×14): the real image at 7×7, enlarged: each 4 × 4 cell is one value.
    const coarse = d.fadeReal(x).dataSync().subarray(0, 784);
    for (let row = 0; row < 28; row++)
      for (let column = 0; column < 28; column++) assert.equal(coarse[row * 28 + column], coarse[(row - (row % 4)) * 28 + (column - (column % 4))]);
    d.setGrowth({ stage: 1, alpha: 0.25 });
    const mixed = d.fadeReal(x).dataSync();
    const original = x.dataSync();
    for (const i of [0, 100, 400, 783]) assert.ok(Math.abs(mixed[i] - (0.25 * original[i] + 0.75 * coarse[i])) < 1e-5);
    gan.dispose();
  });

  it('trains the grown blocks only; the next ones stay as initialized until they come in', async () => {
    await tf.setBackend('cpu');
    const result = config();
    assert.ok(result.ok);
    const data = await loadData(result.config.data, '.');
    const gan = new Gan(result.config, data);
    const value = (name: string) =>
      Array.from(
        gan.generator
          .namedVariables()
          .find((v) => v.name === name)!
          .variable.dataSync(),
      );
    const [rgb0, rgb2] = [value('generator/toRGB0/kernel'), value('generator/toRGB2/kernel')];
    for (let step = 1; step <= 5; step++) {
      gan.setStep(step);
      await gan.step(false);
    }
    assert.notDeepEqual(value('generator/toRGB0/kernel'), rgb0, 'stage 0 trains its toRGB');
    assert.deepEqual(value('generator/toRGB2/kernel'), rgb2, 'the 28×28 block has not come in');
    for (let step = 21; step <= 24; step++) {
      gan.setStep(step);
      await gan.step(false);
    }
    assert.notDeepEqual(value('generator/toRGB2/kernel'), rgb2, 'now it trains');
    gan.dispose();
  });

  it('refuses half a progressive GAN, a missing schedule, and images the blocks cannot halve', async () => {
    const problems = (extra: Partial<GanConfigInput>) => {
      const r = config(extra);
      return r.ok ? '' : r.problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('\n');
    };
    assert.match(problems({ discriminator: { type: 'mlp' } }), /discriminator\.type: must be "progressive" too/);
    assert.match(problems({ training: { batchSize: 8 } }), /training\.progressive: is needed with progressive networks/);
    assert.match(
      problems({ discriminator: { type: 'progressive', channels: [4, 4] } }),
      /discriminator\.channels: must have as many blocks as generator\.channels \(3\)/,
    );
    const r = config({ generator: { type: 'progressive', channels: [4, 4, 4, 4] }, discriminator: { type: 'progressive', channels: [4, 4, 4, 4] } });
    assert.ok(r.ok);
    await tf.setBackend('cpu');
    const data = await loadData(r.config.data, '.');
    assert.throws(() => new Gan(r.config, data), /4 blocks need square images whose side divides by 8/);
  });
});
