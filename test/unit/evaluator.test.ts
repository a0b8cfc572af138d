/**
 * createEvaluator on stub generators: what it measures for each kind of data, that a G which
 * draws from the data scores near the ideal and a collapsed one does not, and that it draws its
 * noise and real sample from its own streams only.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { validateConfig, type GanConfig } from '../../src/protocol/config';
import { selectBackend } from '../../src/trainer/backend';
import { loadData, type DataSource } from '../../src/trainer/data';
import { createEvaluator, type EvaluatedGenerator } from '../../src/trainer/evaluation/evaluator';
import { ImageSet, loadBuiltInMnist } from '../../src/trainer/imageData';
import { Random } from '../../src/trainer/random';

function config(fields: Record<string, unknown>): GanConfig {
  const result = validateConfig({ name: 't', generator: { type: 'mlp' }, discriminator: { type: 'mlp' }, ...fields });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.config;
}

/** A "generator" that returns the data's own samples (or whatever `make` gives), counting the noise it was handed. */
function stub(data: DataSource, make?: (count: number) => Float32Array, classes = 0): EvaluatedGenerator & { noiseRows: number; labelled: number[] } {
  const random = new Random('stub');
  return {
    classes,
    noiseRows: 0,
    labelled: [],
    noise(count, r) {
      this.noiseRows += count;
      return tf.tensor2d(r.fillNormal(new Float32Array(count * 2)), [count, 2]);
    },
    labels(count, r) {
      return Int32Array.from({ length: count }, () => r.int(classes));
    },
    async generate(noise, labels) {
      if (labels) this.labelled.push(...Array.from(labels));
      return make ? make(noise.shape[0]) : data.sample(random, noise.shape[0]);
    },
  };
}

before(async () => {
  await selectBackend('wasm');
});

describe('createEvaluator', () => {
  it('is off with evaluationSamples 0', async () => {
    const c = config({ data: { type: 'ring' }, logging: { evaluationSamples: 0 } });
    assert.equal(await createEvaluator(c, await loadData(c.data, '.')), null);
  });

  it('ring: a G that draws from the data covers all 8 modes with high precision and recall; a collapsed one covers 1', async () => {
    const c = config({ data: { type: 'ring' }, logging: { evaluationSamples: 800 } });
    const data = await loadData(c.data, '.');
    const evaluator = (await createEvaluator(c, data))!;
    assert.equal(evaluator.features, 'points');
    const good = await evaluator.evaluate(stub(data));
    assert.equal(good.modesCovered, 8);
    // A 2-D Gaussian has 1 − e^(−4.5) = 98.9% of its mass within 3σ.
    assert.ok(good.highQuality! > 0.97 && good.gridJs! < 0.05 && good.precision! > 0.8 && good.recall! > 0.8 && good.coverage! > 0.9, JSON.stringify(good));
    assert.equal(good.frechetDistance, undefined);
    const collapsed = await evaluator.evaluate(stub(data, (n) => new Float32Array(n * 2).map((_, i) => (i % 2 === 0 ? 1 : 0))));
    assert.equal(collapsed.modesCovered, 1);
    assert.ok(collapsed.modeReverseKl! > 2 && collapsed.gridJs! > 0.3 && collapsed.recall! < 0.2 && collapsed.coverage! < 0.2, JSON.stringify(collapsed));
    evaluator.dispose();
  });

  it('draws its fixed noise once, from its own stream: the same every evaluation and for every evaluator of the seed', async () => {
    const c = config({ data: { type: 'ring' }, logging: { evaluationSamples: 300 } });
    const data = await loadData(c.data, '.');
    const a = (await createEvaluator(c, data))!;
    const b = (await createEvaluator(c, data))!;
    const seen: number[][] = [];
    const recording = (g: EvaluatedGenerator): EvaluatedGenerator => ({
      ...g,
      noise: g.noise.bind(g),
      labels: g.labels.bind(g),
      async generate(noise) {
        seen.push(Array.from(noise.dataSync()));
        return g.generate(noise);
      },
    });
    const g = stub(data);
    await a.evaluate(recording(g));
    await a.evaluate(recording(g));
    await b.evaluate(recording(g));
    assert.equal(g.noiseRows, 600, 'each evaluator made its 300 rows once');
    const perEvaluation = seen.length / 3;
    assert.deepEqual(seen.slice(0, perEvaluation), seen.slice(perEvaluation, 2 * perEvaluation));
    assert.deepEqual(seen.slice(0, perEvaluation), seen.slice(2 * perEvaluation));
    a.dispose();
    b.dispose();
  });

  it('conditional: labels uniform over the classes', async () => {
    const c = config({ data: { type: 'ring' }, conditional: true, logging: { evaluationSamples: 800 } });
    const data = await loadData(c.data, '.');
    const evaluator = (await createEvaluator(c, data))!;
    const g = stub(data, undefined, 8);
    await evaluator.evaluate(g);
    assert.equal(g.labelled.length, 800);
    for (let k = 0; k < 8; k++) {
      const count = g.labelled.filter((y) => y === k).length;
      assert.ok(count > 60 && count < 140, `class ${k}: ${count}`);
    }
    evaluator.dispose();
  });

  it('mnist: the classifier metrics on real digits as G are near ideal', async () => {
    const c = config({ data: { type: 'mnist' }, logging: { evaluationSamples: 500 } });
    const data = await loadBuiltInMnist();
    const evaluator = (await createEvaluator(c, data))!;
    assert.equal(evaluator.features, 'mnist-classifier');
    const m = await evaluator.evaluate(stub(data));
    assert.equal(m.classesCovered, 10);
    assert.ok(m.classKl! < 0.05 && m.classifierScore! > 8 && m.precision! > 0.7 && m.recall! > 0.7, JSON.stringify(m));
    assert.ok(Number.isFinite(m.frechetDistance));
    assert.equal(m.gridKl, undefined);
    evaluator.dispose();
  });

  it('other images: raw pixels, with the Fréchet distance at 8×8', async () => {
    const random = new Random('pixels');
    const pixels = Uint8Array.from({ length: 400 * 64 }, () => random.int(256));
    const data = new ImageSet(pixels, 400, 8, 8, 1, null, []);
    const c = config({ data: { type: 'images', path: 'x', size: 8, channels: 1 }, logging: { evaluationSamples: 200 } });
    const evaluator = (await createEvaluator(c, data))!;
    assert.equal(evaluator.features, 'pixels');
    const m = await evaluator.evaluate(stub(data));
    assert.equal(m.evaluationFeatures, 'pixels');
    assert.ok(Number.isFinite(m.frechetDistance) && Number.isFinite(m.precision));
    assert.equal(m.classesCovered, undefined);
    evaluator.dispose();
  });
});
