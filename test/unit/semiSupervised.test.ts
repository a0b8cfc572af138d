/**
 * The semi-supervised GAN (Salimans et al. 2016 §5) against its formulas, computed by hand here:
 * D(x) = Z/(Z + 1) with Z = Σ exp(lₖ), the supervised cross-entropy, the split, and the config's refusals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { validateConfig, type GanConfigInput } from '../../src/protocol/config';
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { loadBuiltInMnist } from '../../src/trainer/imageData';
import { classifierAccuracy, ClassifyingDiscriminator, splitSemiSupervised, supervisedCost } from '../../src/trainer/semiSupervised';

function config(extra: Partial<GanConfigInput> = {}) {
  return validateConfig({
    name: 'semi',
    seed: 5,
    data: { type: 'ring' },
    generator: { type: 'mlp', depth: 2, width: 16 },
    discriminator: { type: 'mlp', depth: 2, width: 32, activation: 'leakyRelu', optimizer: { type: 'adam', learningRate: 0.003, beta1: 0.5 } },
    training: { batchSize: 32 },
    semiSupervised: { labels: 16, testSamples: 200 },
    ...extra,
  });
}

describe('semi-supervised GAN', () => {
  it("plays the game on log Z: σ(D's output) = Z/(Z + 1), Z = Σ exp(lₖ)", async () => {
    await tf.setBackend('cpu');
    const logits = [
      [0.5, -1, 2],
      [-3, -2, -4],
    ];
    const fake = {
      scope: 'd',
      outputSize: 3,
      conditioning: null,
      virtualBatchNorm: false,
      apply: () => tf.tensor2d(logits),
    } as unknown as ConstructorParameters<typeof ClassifyingDiscriminator>[0];
    const d = new ClassifyingDiscriminator(fake);
    const p = tf.sigmoid(d.apply(tf.zeros([2, 2]), false)).dataSync();
    logits.forEach((row, i) => {
      const z = row.reduce((sum, l) => sum + Math.exp(l), 0);
      assert.ok(Math.abs(p[i] - z / (z + 1)) < 1e-6, `${p[i]} vs ${z / (z + 1)}`);
    });
  });

  it('supervised cost is −mean log softmax(l)_y, by hand', async () => {
    await tf.setBackend('cpu');
    const logits = [
      [1, 2, 3],
      [0, 0, 0],
    ];
    const labels = Int32Array.from([2, 1]);
    const byHand =
      logits
        .map((row, i) => {
          const z = row.reduce((s, l) => s + Math.exp(l), 0);
          return -Math.log(Math.exp(row[labels[i]]) / z);
        })
        .reduce((a, b) => a + b) / 2;
    assert.ok(Math.abs(supervisedCost(tf.tensor2d(logits), labels).dataSync()[0] - byHand) < 1e-6);
  });

  it('splits images once from the seed: test held out, labelled balanced and drawn from the rest', async () => {
    const mnist = await loadBuiltInMnist();
    const split = splitSemiSupervised(mnist, { labels: 100, testSamples: 1000, weight: 1, adversarial: true }, 7);
    assert.equal(split.test.count, 1000);
    assert.equal((split.train as typeof mnist).count, mnist.count - 1000);
    assert.equal(split.labelled.count, 100);
    assert.deepEqual(
      Array.from({ length: 10 }, (_, c) => split.labelled.labels.filter((l) => l === c).length),
      new Array(10).fill(10),
    );
    // No labelled or training image is a test image (compared by content: the shuffle moves indexes).
    const key = (values: Float32Array, i: number) => values.subarray(i * 784, (i + 1) * 784).join();
    const testImages = new Set(Array.from({ length: split.test.count }, (_, i) => key(split.test.values, i)));
    const labelledInTest = Array.from({ length: split.labelled.count }, (_, i) => key(split.labelled.values, i)).filter((k) => testImages.has(k));
    // (The digits hold a few exact duplicates; a handful at most.)
    assert.ok(labelledInTest.length <= 1, `${labelledInTest.length} labelled images are also test images`);
    const again = splitSemiSupervised(mnist, { labels: 100, testSamples: 1000, weight: 1, adversarial: true }, 7);
    assert.deepEqual(Array.from(again.labelled.labels), Array.from(split.labelled.labels), 'the same seed, the same split');
  });

  it('learns the labelled classes: test accuracy on a ring rises from chance', async () => {
    await tf.setBackend('cpu');
    const result = config();
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const c = result.config;
    const data = await loadData(c.data, '.');
    const split = splitSemiSupervised(data, c.semiSupervised!, c.seed);
    assert.equal(split.labelled.count, 16, '2 of each of the 8 modes');
    const gan = new Gan(c, split.train);
    gan.labelled = split.labelled;
    assert.ok(gan.discriminator instanceof ClassifyingDiscriminator);
    const before = await classifierAccuracy(gan.discriminator, split.test, 2);
    for (let i = 0; i < 150; i++) await gan.step(false);
    const after = await classifierAccuracy(gan.discriminator, split.test, 2);
    assert.ok(before < 0.5, `chance is 1/8: ${before}`);
    assert.ok(after > 0.9, `the ring's modes are easy to tell apart: ${after}`);
    gan.dispose();
  });

  it('refuses what makes no sense with it, naming the fields', () => {
    const problems = (extra: Partial<GanConfigInput>) => {
      const result = config(extra);
      return result.ok ? [] : result.problems.map((p) => `${p.path.join('.')}: ${p.message}`);
    };
    assert.match(
      problems({ training: { batchSize: 32, cost: { type: 'wgan-gp' } } }).join('\n'),
      /training\.cost\.type: "wgan-gp" cannot be used with semiSupervised/,
    );
    assert.match(problems({ conditional: true }).join('\n'), /conditional: cannot be combined with semiSupervised/);
    assert.match(problems({ training: { batchSize: 32, pack: 2 } }).join('\n'), /training\.pack: cannot be combined with semiSupervised/);
    assert.match(problems({ data: { type: 'csv', path: 'x.csv' } }).join('\n'), /semiSupervised: is not available for csv data yet/);
    assert.deepEqual(problems({}), []);
  });
});
