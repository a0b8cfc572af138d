/** Leak guard: the tensor count stays flat over a 2,000-step run of the real training loop. */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { train } from '../../src/trainer/train';
import { tempDir } from './helpers';

describe('tensor hygiene of the training loop', () => {
  let work: string;
  before(async () => {
    work = await tempDir('leak');
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('keeps the number of tensors flat from warm-up to step 2,000 (metrics, histograms, samples and checkpoints included)', async () => {
    const config = path.join(work, 'leak.gan.json');
    await writeFile(
      config,
      JSON.stringify({
        name: 'leak',
        data: { type: 'grid' },
        generator: { type: 'mlp', depth: 2, width: 16, batchNorm: true },
        discriminator: { type: 'mlp', depth: 2, width: 16, activation: 'leakyRelu' },
        training: { steps: 2000, batchSize: 32, dStepsPerGStep: 2 },
        logging: { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 250, sampleCount: 50, checkpointEvery: 500 },
      }),
    );
    const counts = new Map<number, number>();
    const result = await train({
      configPath: config,
      runsDir: path.join(work, 'runs'),
      backend: 'wasm',
      observer: { onStep: (step) => counts.set(step, tf.memory().numTensors) },
    });
    assert.equal(result.status, 'completed', result.error ?? '');
    const warm = counts.get(50);
    assert.ok(warm !== undefined);
    for (const step of [100, 500, 501, 1000, 1500, 1999, 2000]) assert.equal(counts.get(step), warm, `tensors at step ${step}`);
    // A second run in the same process leaves no more tensors behind than the first.
    const afterFirst = tf.memory().numTensors;
    assert.equal(afterFirst, 0, 'everything the run made is freed when it ends');
    const again = await train({ configPath: config, runsDir: path.join(work, 'runs'), backend: 'wasm', steps: 200 });
    assert.equal(again.status, 'completed');
    assert.equal(tf.memory().numTensors, afterFirst);
  });
});
