/** PacGAN packing (Lin et al. 2018) and the unrolled GAN's first-order surrogate (Metz et al. 2017). */
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
import { packedShape, packSamples } from '../../src/trainer/packing';
import { Random } from '../../src/trainer/random';
import { withUnrolledDiscriminator } from '../../src/trainer/unrolled';

function config(training: Record<string, unknown>, extra: Partial<GanConfigInput> = {}): GanConfig {
  const result = validateConfig({
    name: 'pac',
    seed: 5,
    data: { type: 'ring' },
    generator: { type: 'mlp', depth: 1, width: 6, batchNorm: true },
    discriminator: { type: 'mlp', depth: 1, width: 6 },
    training: { batchSize: 8, ...training },
    ...extra,
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.config;
}

async function makeGan(c: GanConfig): Promise<Gan> {
  return new Gan(c, await loadData(c.data, '.'));
}

async function values(variables: readonly tf.Variable[]): Promise<number[][]> {
  return Promise.all(variables.map(async (variable) => Array.from(await variable.data())));
}

async function optimizerState(optimizer: tf.Optimizer): Promise<number[][]> {
  const weights = await optimizer.getWeights();
  return Promise.all(weights.map(async ({ tensor }) => Array.from(await tensor.data())));
}

const sigmoid = (s: number) => 1 / (1 + Math.exp(-s));
const dot = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * b[i], 0);

describe('PacGAN packing', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('packs consecutive vectors side by side: pack j holds samples j·m … j·m + m − 1', async () => {
    // Sample i is (10i, 10i + 1).
    const x = tf.tensor2d([0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51], [6, 2]);
    const byTwo = packSamples(x, [2], 2);
    assert.deepEqual(byTwo.shape, [3, 4]);
    assert.deepEqual(await byTwo.array(), [
      [0, 1, 10, 11],
      [20, 21, 30, 31],
      [40, 41, 50, 51],
    ]);
    const byThree = packSamples(x, [2], 3);
    assert.deepEqual(await byThree.array(), [
      [0, 1, 10, 11, 20, 21],
      [30, 31, 40, 41, 50, 51],
    ]);
    assert.equal(packSamples(x, [2], 1), x, 'a pack of one is the minibatch itself');
    assert.throws(() => packSamples(x, [2], 4), /divisible/);
    assert.deepEqual(packedShape([2], 4), [8]);
    assert.deepEqual(packedShape([28, 28, 1], 2), [28, 28, 2]);
    tf.dispose([x, byTwo, byThree]);
  });

  it("packs images channel-wise: at each pixel, image i's channel ch becomes channel i·c + ch", async () => {
    // Two images of 1×2 pixels, 2 channels (HWC flattened): value = 100·image + 10·pixel + channel.
    const x = tf.tensor2d([0, 1, 10, 11, 100, 101, 110, 111], [2, 4]);
    const packed = packSamples(x, [1, 2, 2], 2);
    assert.deepEqual(packed.shape, [1, 8]);
    // Pixel 0: image 0's channels, then image 1's; then pixel 1 likewise.
    assert.deepEqual(await packed.array(), [[0, 1, 100, 101, 10, 11, 110, 111]]);
    tf.dispose([x, packed]);
  });

  it('refuses a batch size that packs do not divide, and packing with a conditional GAN, naming the fields', () => {
    const refused = validateConfig({
      name: 'pac',
      data: { type: 'ring' },
      generator: { type: 'mlp' },
      discriminator: { type: 'mlp' },
      training: { batchSize: 100, pack: 3 },
    });
    assert.equal(refused.ok, false);
    const problem = !refused.ok ? refused.problems.find((p) => p.path.join('.') === 'training.pack') : undefined;
    assert.ok(problem, JSON.stringify(!refused.ok && refused.problems));
    assert.match(problem.message, /training\.batchSize/);
    assert.match(problem.message, /100/);
    assert.ok(
      validateConfig({ name: 'pac', data: { type: 'ring' }, generator: { type: 'mlp' }, discriminator: { type: 'mlp' }, training: { batchSize: 100, pack: 4 } })
        .ok,
    );
    const conditional = validateConfig({
      name: 'pac',
      data: { type: 'ring' },
      generator: { type: 'mlp' },
      discriminator: { type: 'mlp' },
      conditional: true,
      training: { batchSize: 100, pack: 2 },
    });
    assert.equal(conditional.ok, false);
    assert.ok(!conditional.ok && conditional.problems.some((p) => p.path.join('.') === 'training.pack' && /conditional/.test(p.message)));
  });

  it('builds D for packed inputs and trains with every cost (the wgan-gp interpolates packed too)', async () => {
    for (const cost of ['cross-entropy', 'wasserstein', 'wgan-gp', 'hinge', 'least-squares']) {
      const gan = await makeGan(config({ pack: 4, cost: { type: cost }, dStepsPerGStep: 1 }));
      try {
        assert.deepEqual(gan.discriminator.trainableVariables()[0].shape, [8, 6], `${cost}: D's first kernel reads 4 packed 2-D samples`);
        const result = await gan.step(true);
        assert.ok(Number.isFinite(result.dLoss) && Number.isFinite(result.gLoss), cost);
        assert.equal(result.outputs!.dReal.length, 2, `${cost}: one D output per pack (8 samples / 4)`);
        if (cost === 'wgan-gp') assert.ok(Number.isFinite(result.gradientPenalty));
      } finally {
        gan.dispose();
      }
    }
  });

  it('resumes exactly with packing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-pack-'));
    const c = config({ pack: 2, unrollSteps: 2 });
    const a = await makeGan(c);
    const b = await makeGan(c);
    try {
      for (let i = 0; i < 3; i++) await a.step(false);
      await saveCheckpoint(dir, a, 3, 1);
      await restoreCheckpoint(dir, 3, b);
      for (let i = 0; i < 2; i++) {
        const [ra, rb] = [await a.step(false), await b.step(false)];
        assert.equal(rb.dLoss, ra.dLoss);
        assert.equal(rb.gLoss, ra.gLoss);
      }
      const noise = () => a.noise(5, new Random('z'));
      assert.deepEqual([...(await b.generate(noise()))], [...(await a.generate(noise()))]);
      assert.deepEqual(await values(b.discriminator.trainableVariables()), await values(a.discriminator.trainableVariables()));
    } finally {
      a.dispose();
      b.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('unrolled GAN (first-order surrogate)', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });
  after(() => undefined);

  /** A linear D(x) = w·x + b with the cross-entropy cost, real x_r and generated x_f; SGD with step η. */
  function linearGame(eta: number) {
    const w = tf.variable(tf.tensor2d([0, 0], [2, 1]));
    const b = tf.variable(tf.scalar(0));
    const g = tf.variable(tf.tensor2d([[0, 1]]));
    const xr = tf.tensor2d([[1, 0]]);
    const optimizer = tf.train.sgd(eta);
    const d = (x: tf.Tensor2D) => tf.add(tf.matMul(x, w), b);
    const dUpdate = () =>
      void optimizer.minimize(() => tf.add(tf.mean(tf.softplus(tf.neg(d(xr)))), tf.mean(tf.softplus(d(tf.clone(g))))) as tf.Scalar, true, [w, b])?.dispose();
    /** ∂/∂g of G's non-saturating cost −log σ(D(g)), D's weights constant. */
    const generatorGradient = async () => {
      const { grads } = tf.variableGrads(() => tf.mean(tf.softplus(tf.neg(d(g)))) as tf.Scalar, [g]);
      const out = Array.from(await grads[g.name].data());
      tf.dispose(grads);
      return out;
    };
    return { w, b, g, xr, optimizer, dUpdate, generatorGradient, dispose: () => tf.dispose([w, b, g, xr]) };
  }

  it('gives G the gradient against the unrolled D, by hand on a linear D: one SGD step, η = 1', async () => {
    const game = linearGame(1);
    try {
      // Unrolled: w = 0, b = 0 give σ = ½ on both; ∂L_D/∂w = −½·x_r + ½·x_f = (−½, ½), ∂L_D/∂b = −½ + ½ = 0.
      // So w' = (½, −½), b' = 0, and at g = (0, 1): s = w'·g = −½, ∂/∂g [−log σ(s)] = −(1 − σ(−½))·w'.
      const expected = [-(1 - sigmoid(-0.5)) * 0.5, (1 - sigmoid(-0.5)) * 0.5];
      assert.ok(Math.abs(expected[0] + 0.311229) < 1e-6);
      const gradient = await withUnrolledDiscriminator([game.w, game.b], game.optimizer, 1, game.dUpdate, game.generatorGradient);
      gradient.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `∂/∂g[${i}]: ${v} vs ${expected[i]}`));
      // Without unrolling D (w = 0) gives G no gradient at all.
      assert.deepEqual(await withUnrolledDiscriminator([game.w, game.b], game.optimizer, 0, game.dUpdate, game.generatorGradient), [0, 0]);
      assert.deepEqual(await values([game.w, game.b]), [[0, 0], [0]], "D's weights are back");
    } finally {
      game.dispose();
    }
  });

  it('matches three hand-computed SGD steps of the linear D (η = 0.5)', async () => {
    const eta = 0.5;
    const game = linearGame(eta);
    try {
      let w = [0, 0];
      let b = 0;
      const [xr, xf] = [
        [1, 0],
        [0, 1],
      ];
      for (let t = 0; t < 3; t++) {
        const [pr, pf] = [sigmoid(dot(w, xr) + b), sigmoid(dot(w, xf) + b)];
        const gw = w.map((_, i) => -(1 - pr) * xr[i] + pf * xf[i]);
        const gb = -(1 - pr) + pf;
        w = w.map((v, i) => v - eta * gw[i]);
        b -= eta * gb;
      }
      const s = dot(w, xf) + b;
      const expected = w.map((v) => -(1 - sigmoid(s)) * v);
      const gradient = await withUnrolledDiscriminator([game.w, game.b], game.optimizer, 3, game.dUpdate, game.generatorGradient);
      gradient.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `∂/∂g[${i}]: ${v} vs ${expected[i]}`));
      assert.deepEqual(await values([game.w, game.b]), [[0, 0], [0]]);
    } finally {
      game.dispose();
    }
  });

  it("leaves D's weights and Adam's state exactly as they were", async () => {
    const gan = await makeGan(config({}));
    try {
      await gan.step(false);
      const variables = gan.discriminator.namedVariables().map(({ variable }) => variable);
      const [weightsBefore, stateBefore] = [await values(variables), await optimizerState(gan.discriminatorOptimizer)];
      let sawChange = false;
      await withUnrolledDiscriminator(
        variables,
        gan.discriminatorOptimizer,
        4,
        () => void gan.discriminatorOptimizer.minimize(() => tf.sum(tf.square(gan.discriminator.apply(tf.ones([3, 2]), true))) as tf.Scalar, true)?.dispose(),
        async () => {
          sawChange = JSON.stringify(await values(variables)) !== JSON.stringify(weightsBefore);
        },
      );
      assert.ok(sawChange, 'the unrolled updates moved D');
      assert.deepEqual(await values(variables), weightsBefore);
      assert.deepEqual(await optimizerState(gan.discriminatorOptimizer), stateBefore);
    } finally {
      gan.dispose();
    }
  });

  it("in a training step, D ends as without unrolling (only G's update differs)", async () => {
    const plain = await makeGan(config({}));
    const unrolled = await makeGan(config({ unrollSteps: 3 }));
    try {
      await plain.step(false);
      await unrolled.step(false);
      assert.deepEqual(await values(unrolled.discriminator.trainableVariables()), await values(plain.discriminator.trainableVariables()));
      assert.deepEqual(await optimizerState(unrolled.discriminatorOptimizer), await optimizerState(plain.discriminatorOptimizer));
      assert.notDeepEqual(await values(unrolled.generator.trainableVariables()), await values(plain.generator.trainableVariables()));
    } finally {
      plain.dispose();
      unrolled.dispose();
    }
  });
});
