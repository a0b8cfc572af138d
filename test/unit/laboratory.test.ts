/**
 * The 2-D laboratory's trainer side on the pure-JS backend: the frame's geometry, that its arrows
 * point where G's cost falls (checked against D itself, for every cost), and the step-mode controls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { validateConfig, type GanConfig, type GanConfigInput } from '../../src/protocol/config';
import { TrainingControls } from '../../src/trainer/controls';
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { Laboratory, MANIFOLD_CELLS, SURFACE_CELLS } from '../../src/trainer/laboratory';
import { adversarialGeneratorCost } from '../../src/trainer/losses';
import { randomStream } from '../../src/trainer/random';

function config(training: GanConfigInput['training'] = {}, extra: Partial<GanConfigInput> = {}): GanConfig {
  const result = validateConfig({
    name: 'lab',
    seed: 3,
    data: { type: 'ring' },
    generator: { type: 'mlp', depth: 2, width: 16 },
    discriminator: { type: 'mlp', depth: 2, width: 16, activation: 'leakyRelu' },
    training: { batchSize: 16, ...training },
    ...extra,
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.config;
}

async function setUp(c: GanConfig) {
  await tf.setBackend('cpu');
  const data = await loadData(c.data, '.');
  const gan = new Gan(c, data);
  // A few steps, so D is not the flat function of its initialization.
  for (let i = 0; i < 5; i++) await gan.step(false);
  const real = data.sample(randomStream(c.seed, 'real-sample'), 64);
  return { gan, data, lab: new Laboratory(gan, data, real) };
}

describe('2-D laboratory frames', () => {
  it('covers the data with a square surface, an arrow per sample and a 16 × 16 manifold', async () => {
    const { gan, lab } = await setUp(config());
    const samples = await gan.generate(gan.noise(40, randomStream(1, 'fixed-noise')));
    const frame = await lab.frame(samples);
    const [x0, y0, x1, y1] = frame.surface.box;
    assert.ok(x0 < -1 && y0 < -1 && x1 > 1 && y1 > 1, `the ring of radius 1 lies inside ${frame.surface.box}`);
    assert.ok(Math.abs(x1 - x0 - (y1 - y0)) < 1e-3, 'square');
    assert.equal(frame.surface.values.length, SURFACE_CELLS * SURFACE_CELLS);
    assert.equal(frame.surface.kind, 'probability');
    assert.ok(frame.surface.values.every((v) => v > 0 && v < 1));
    assert.equal(frame.gradients.length, 40);
    assert.equal(frame.manifold?.points.length, MANIFOLD_CELLS * MANIFOLD_CELLS);
    lab.dispose();
    gan.dispose();
  });

  for (const training of [
    { generatorCost: 'non-saturating' },
    { generatorCost: 'minimax' },
    { cost: { type: 'wgan-gp' } },
    { cost: { type: 'least-squares' } },
    { cost: { type: 'hinge' } },
    { pack: 2 },
  ] as GanConfigInput['training'][]) {
    it(`arrows go where G's cost falls: ${JSON.stringify(training)}`, async () => {
      const c = config(training);
      const { gan, lab } = await setUp(c);
      const samples = await gan.generate(gan.noise(32, randomStream(2, 'fixed-noise')));
      const frame = await lab.frame(samples);
      const pack = c.training.pack ?? 1;
      // J(G) of the whole set of samples, moved along the arrows or against them by a small step.
      const cost = (shift: number) =>
        tf.tidy(() => {
          const moved = Float32Array.from(samples, (v, i) => v + shift * frame.gradients[i >> 1][i & 1]);
          const x = tf.tensor2d(moved, [32, 2]);
          const input = pack > 1 ? tf.reshape(x, [32 / pack, 2 * pack]) : x;
          return adversarialGeneratorCost(c.training, gan.discriminator.apply(input as tf.Tensor2D, false)).dataSync()[0];
        });
      const largest = Math.max(...frame.gradients.map(([dx, dy]) => Math.hypot(dx, dy)));
      const epsilon = 1e-3 / largest;
      assert.ok(cost(epsilon) < cost(0), 'along the arrows the cost falls');
      assert.ok(cost(-epsilon) > cost(0), 'against them it rises');
      lab.dispose();
      gan.dispose();
    });
  }

  it('judges the plane a training minibatch at a time, so a D with minibatch discrimination works (its o(x) is a sum over the batch)', async () => {
    const { gan, lab } = await setUp(config({}, { discriminator: { type: 'mlp', depth: 2, width: 16, activation: 'leakyRelu', minibatchDiscrimination: {} } }));
    const samples = await gan.generate(gan.noise(40, randomStream(2, 'fixed-noise')));
    const before = tf.memory().numTensors;
    const frame = await lab.frame(samples);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    assert.equal(frame.surface.values.length, SURFACE_CELLS * SURFACE_CELLS);
    assert.ok(frame.surface.values.every(Number.isFinite));
    assert.equal(frame.gradients.length, 40);
    lab.dispose();
    gan.dispose();
  });

  it('gives the raw score for a critic, and no manifold for a conditional G', async () => {
    const { gan, lab } = await setUp(config({ cost: { type: 'wgan-gp' } }, { conditional: true }));
    const labels = Int32Array.from({ length: 16 }, (_, i) => i % 8);
    const samples = await gan.generate(gan.noise(16, randomStream(2, 'fixed-noise')), labels);
    const frame = await lab.frame(samples, labels);
    assert.equal(frame.surface.kind, 'score');
    assert.equal(frame.manifold, null);
    assert.equal(frame.gradients.length, 16);
    lab.dispose();
    gan.dispose();
  });
});

describe('step-mode controls', () => {
  it('pause, single updates, resume, and changes, in order', async () => {
    const controls = new TrainingControls();
    let told = 0;
    controls.onChange = () => told++;
    assert.deepEqual(await controls.next(undefined), { kind: 'step' });
    assert.throws(() => controls.apply({ action: 'step', player: 'generator' }), /pause it first/);
    controls.apply({ action: 'pause' });
    assert.equal(controls.isPaused, false, 'asked for, not reached: the step in progress finishes first');
    let halts = 0;
    const waiting = controls.next(undefined, async () => void halts++);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(controls.isPaused, true);
    assert.equal(halts, 1);
    controls.apply({ action: 'step', player: 'discriminator' });
    assert.deepEqual(await waiting, { kind: 'single', player: 'discriminator' });
    controls.apply({ action: 'set', generatorLearningRate: 0.001 });
    assert.deepEqual(await controls.next(undefined), { kind: 'changed' }, 'a change made while paused is taken at once');
    assert.deepEqual(controls.takeChanges(), { generatorLearningRate: 0.001 });
    assert.equal(controls.takeChanges(), null);
    const resumed = controls.next(undefined);
    controls.apply({ action: 'resume' });
    assert.deepEqual(await resumed, { kind: 'step' });
    assert.equal(told, 5, 'pause, halt, step, set, resume; not the refused step');
  });

  it('refuses bad values with the field, and stops waiting on abort', async () => {
    const controls = new TrainingControls();
    assert.throws(() => controls.apply({ action: 'set', dStepsPerGStep: 2.5 }), /dStepsPerGStep must be a whole number/);
    assert.throws(() => controls.apply({ action: 'set', discriminatorLearningRate: -1 }), /discriminatorLearningRate must be more than 0/);
    assert.throws(() => controls.apply({ action: 'set', generatorLearningRate: Number.NaN }), /generatorLearningRate must be a finite number/);
    assert.throws(() => controls.apply({ action: 'set', batchSize: 64 } as never), /batchSize cannot be changed while the run goes/);
    assert.throws(() => controls.apply({ action: 'step', player: 'both' } as never), /not a control action/);
    assert.equal(controls.takeChanges(), null, 'nothing of a refused change is kept');
    controls.apply({ action: 'pause' });
    const abort = new AbortController();
    const waiting = controls.next(abort.signal);
    abort.abort();
    assert.deepEqual(await waiting, { kind: 'stop' });
  });
});
