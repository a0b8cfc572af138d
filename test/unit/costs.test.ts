/**
 * Every cost of training.cost against its paper's formula, through one real training step.
 *
 * The networks are tiny and their weights set by hand: G(z) = zW + β (no hidden layer) and, for all
 * but the gradient penalty, D(x) = w·x + b. Data and noise are fixed minibatches. Both optimizers are
 * plain SGD, so an update is θ - η·∂L/∂θ, and the expected losses and gradients are computed here in
 * plain float64 JavaScript from the formulas (by the chain rule by hand; by central finite
 * differences of an independent implementation for WGAN-GP), never by the code under test:
 *   cross-entropy  L_D = -½ E[log σ(D(x))] - ½ E[log(1 - σ(D(G(z))))], L_G = training.generatorCost
 *   wasserstein    L_D = E[D(G(z))] - E[D(x)], then every D parameter clipped to [-c, c]; L_G = -E[D(G(z))]
 *   wgan-gp        L_D = E[D(G(z))] - E[D(x)] + λ E[(‖∇D(x̂)‖₂ - 1)²], x̂ = εx + (1 - ε)G(z); L_G = -E[D(G(z))]
 *   hinge          L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], L_G = -E[D(G(z))]
 *   least-squares  L_D = ½ E[(D(x) - b)²] + ½ E[(D(G(z)) - a)²], L_G = ½ E[(D(G(z)) - c)²]
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { formatProblem, validateConfig, type GanConfig, type GanConfigInput } from '../../src/protocol/config';
import type { MetricsRecord } from '../../src/protocol/runDirectory';
import { restoreCheckpoint, saveCheckpoint } from '../../src/trainer/checkpoint';
import { selectBackend } from '../../src/trainer/backend';
import { loadData } from '../../src/trainer/data';
import { Gan, rankFractions } from '../../src/trainer/gan';
import { interpolates } from '../../src/trainer/losses';
import { Random } from '../../src/trainer/random';
import { train } from '../../src/trainer/train';

const LR = 0.1;
const sgd = { type: 'sgd', learningRate: LR } as const;

// m = 4 fixed real samples, and the noise of the critic update and of the generator update.
const REAL = [
  [0.9, 0.1],
  [-0.4, 0.8],
  [0.3, -0.7],
  [-0.6, -0.5],
];
const Z_CRITIC = [
  [0.5, -1.0],
  [1.2, 0.3],
  [-0.7, 0.4],
  [-1.5, -0.2],
];
const Z_GENERATOR = [
  [-0.3, 0.6],
  [0.8, -0.2],
  [0.4, 1.1],
  [-1.0, -0.5],
];
/** G's kernel W[j][k] (latent j → output k) and bias β. */
const G_KERNEL = [
  [0.6, -0.2],
  [0.3, 0.8],
];
const G_BIAS = [0.05, -0.1];

// ---- the independent reference, in float64 -------------------------------------------------------

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softplus = (x: number) => Math.log1p(Math.exp(x));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface LinearD {
  w: number[];
  b: number;
}
interface LinearG {
  W: number[][];
  beta: number[];
}
const generate = (g: LinearG, z: number[]) => [0, 1].map((k) => z[0] * g.W[0][k] + z[1] * g.W[1][k] + g.beta[k]);
const score = (d: LinearD, x: number[]) => d.w[0] * x[0] + d.w[1] * x[1] + d.b;

/** A cost's loss and its derivative with respect to each of D's outputs (the chain rule does the rest). */
interface Derivatives {
  loss: number;
  real: number[];
  fake: number[];
}

/** L_D and ∂L_D/∂D(xᵢ), ∂L_D/∂D(G(zᵢ)) of each cost, from the formulas in the header. */
function criticByHand(cost: GanConfig['training']['cost'], real: number[], fake: number[]): Derivatives {
  const m = real.length;
  switch (cost.type) {
    case 'cross-entropy':
      // d/dl softplus(-l) = -σ(-l); d/dl softplus(l) = σ(l).
      return {
        loss: 0.5 * mean(real.map((l) => softplus(-l))) + 0.5 * mean(fake.map(softplus)),
        real: real.map((l) => (-0.5 * sigmoid(-l)) / m),
        fake: fake.map((l) => (0.5 * sigmoid(l)) / m),
      };
    case 'wasserstein':
    case 'wgan-gp':
      return { loss: mean(fake) - mean(real), real: real.map(() => -1 / m), fake: fake.map(() => 1 / m) };
    case 'hinge':
      return {
        loss: mean(real.map((o) => Math.max(0, 1 - o))) + mean(fake.map((o) => Math.max(0, 1 + o))),
        real: real.map((o) => (1 - o > 0 ? -1 / m : 0)),
        fake: fake.map((o) => (1 + o > 0 ? 1 / m : 0)),
      };
    case 'least-squares':
      return {
        loss: 0.5 * mean(real.map((o) => (o - cost.b) ** 2)) + 0.5 * mean(fake.map((o) => (o - cost.a) ** 2)),
        real: real.map((o) => (o - cost.b) / m),
        fake: fake.map((o) => (o - cost.a) / m),
      };
  }
}

/** L_G and ∂L_G/∂D(G(zᵢ)). */
function generatorByHand(training: GanConfig['training'], fake: number[]): { loss: number; fake: number[] } {
  const m = fake.length;
  const { cost } = training;
  if (cost.type === 'cross-entropy') {
    switch (training.generatorCost) {
      case 'minimax': // ½ E[log(1 - σ(l))] = -½ E[softplus(l)]
        return { loss: -0.5 * mean(fake.map(softplus)), fake: fake.map((l) => (-0.5 * sigmoid(l)) / m) };
      case 'maximum-likelihood': // -½ E[exp(l)]
        return { loss: -0.5 * mean(fake.map(Math.exp)), fake: fake.map((l) => (-0.5 * Math.exp(l)) / m) };
      default: // non-saturating: -½ E[log σ(l)] = ½ E[softplus(-l)]
        return { loss: 0.5 * mean(fake.map((l) => softplus(-l))), fake: fake.map((l) => (-0.5 * sigmoid(-l)) / m) };
    }
  }
  if (cost.type === 'least-squares') return { loss: 0.5 * mean(fake.map((o) => (o - cost.c) ** 2)), fake: fake.map((o) => (o - cost.c) / m) };
  return { loss: -mean(fake), fake: fake.map(() => -1 / m) };
}

/** One SGD step of D then G with a linear D, by the chain rule: ∂L/∂w = Σᵢ ∂L/∂oᵢ·xᵢ, ∂L/∂b = Σᵢ ∂L/∂oᵢ. */
function expectedLinearStep(config: GanConfig, d: LinearD, g: LinearG) {
  const fakeForD = Z_CRITIC.map((z) => generate(g, z));
  const critic = criticByHand(
    config.training.cost,
    REAL.map((x) => score(d, x)),
    fakeForD.map((x) => score(d, x)),
  );
  const rows = [...REAL, ...fakeForD];
  const dOut = [...critic.real, ...critic.fake];
  const clip = config.training.cost.type === 'wasserstein' ? config.training.cost.clip : Infinity;
  const clamp = (v: number) => Math.min(clip, Math.max(-clip, v));
  const d1: LinearD = {
    w: [0, 1].map((k) => clamp(d.w[k] - LR * rows.reduce((s, x, i) => s + dOut[i] * x[k], 0))),
    b: clamp(d.b - LR * dOut.reduce((s, v) => s + v, 0)),
  };
  // G's update sees the updated D: ∂o/∂W[j][k] = z[j]·w[k], ∂o/∂β[k] = w[k].
  const fakeForG = Z_GENERATOR.map((z) => generate(g, z));
  const gen = generatorByHand(
    config.training,
    fakeForG.map((x) => score(d1, x)),
  );
  const g1: LinearG = {
    W: [0, 1].map((j) => [0, 1].map((k) => g.W[j][k] - LR * Z_GENERATOR.reduce((s, z, i) => s + gen.fake[i] * z[j] * d1.w[k], 0))),
    beta: [0, 1].map((k) => g.beta[k] - LR * gen.fake.reduce((s, v) => s + v * d1.w[k], 0)),
  };
  return { dLoss: critic.loss, gLoss: gen.loss, d1, g1, critic, fakeScoresForD: fakeForD.map((x) => score(d, x)) };
}

// ---- the real step on hand-set weights --------------------------------------------------------------

function config(training: GanConfigInput['training'], discriminator: Partial<GanConfigInput['discriminator']> = {}): GanConfig {
  const result = validateConfig({
    name: 'costs',
    data: { type: 'ring' },
    latent: { size: 2 },
    generator: { type: 'mlp', depth: 0, optimizer: sgd },
    discriminator: { type: 'mlp', depth: 0, optimizer: sgd, ...discriminator },
    training: { batchSize: 4, ...training },
  });
  assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('; '));
  return result.config;
}

function set(variable: tf.Variable, values: number[]): void {
  tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
}

function values(gan: Gan, scope: 'generator' | 'discriminator'): Record<string, number[]> {
  const net = scope === 'generator' ? gan.generator : gan.discriminator;
  return Object.fromEntries(net.namedVariables().map(({ name, variable }) => [name.slice(scope.length + 1), Array.from(variable.dataSync())]));
}

/** A Gan on the fixed minibatches: real data REAL, noise Z_CRITIC for each critic update then Z_GENERATOR. */
async function fixedGan(c: GanConfig): Promise<Gan> {
  const gan = new Gan(c, await loadData(c.data, '.'));
  gan.data.sample = () => Float32Array.from(REAL.flat());
  let calls = 0;
  const k = c.training.dStepsPerGStep;
  gan.noise = (count) => {
    assert.equal(count, 4);
    const z = calls++ % (k + 1) < k ? Z_CRITIC : Z_GENERATOR;
    return tf.tensor2d(z.flat(), [4, 2]);
  };
  const g = gan.generator.namedVariables();
  set(g.find((v) => v.name === 'generator/output/kernel')!.variable, G_KERNEL.flat());
  set(g.find((v) => v.name === 'generator/output/bias')!.variable, G_BIAS);
  return gan;
}

function setLinearD(gan: Gan, d: LinearD): void {
  const named = gan.discriminator.namedVariables();
  set(named.find((v) => v.name === 'discriminator/output/kernel')!.variable, d.w);
  set(named.find((v) => v.name === 'discriminator/output/bias')!.variable, [d.b]);
}

function close(actual: number, expected: number, what: string, tolerance = 2e-5): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual}, expected ${expected}`);
}

function closeAll(actual: number[], expected: number[], what: string, tolerance?: number): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((v, i) => close(v, expected[i], `${what}[${i}]`, tolerance));
}

const G0: LinearG = { W: G_KERNEL, beta: G_BIAS };

/** Runs one step of `c` from D = d and checks the losses and both updates against the hand computation. */
async function checkLinearStep(c: GanConfig, d: LinearD) {
  const expected = expectedLinearStep(c, d, G0);
  const gan = await fixedGan(c);
  setLinearD(gan, d);
  const result = await gan.step(true);
  close(result.dLoss, expected.dLoss, 'dLoss');
  close(result.gLoss, expected.gLoss, 'gLoss');
  const dAfter = values(gan, 'discriminator');
  closeAll(dAfter['output/kernel'], expected.d1.w, 'D kernel after the update');
  closeAll(dAfter['output/bias'], [expected.d1.b], 'D bias after the update');
  const gAfter = values(gan, 'generator');
  closeAll(gAfter['output/kernel'], expected.g1.W.flat(), 'G kernel after the update');
  closeAll(gAfter['output/bias'], expected.g1.beta, 'G bias after the update');
  gan.dispose();
  return { result, expected };
}

describe('GAN costs through one training step (hand-set weights, plain SGD)', () => {
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-costs-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const D0: LinearD = { w: [0.7, -0.4], b: 0.1 };

  for (const generatorCost of ['non-saturating', 'minimax', 'maximum-likelihood'] as const) {
    it(`cross-entropy with the ${generatorCost} generator cost (Goodfellow et al. 2014)`, async () => {
      const { result } = await checkLinearStep(config({ cost: { type: 'cross-entropy' }, generatorCost }), D0);
      // The cross-entropy D is a probability: dReal is σ of its logit, and no critic fields.
      close(result.outputs!.dReal[0], sigmoid(score(D0, REAL[0])), 'D(x₁)');
      assert.equal(result.wassersteinEstimate, null);
      assert.equal(result.gradientPenalty, null);
    });
  }

  it('a config of before training.cost (generatorCost only) still trains the cross-entropy game', async () => {
    await checkLinearStep(config({ generatorCost: 'minimax' }), D0);
  });

  it('wasserstein: L_D = E[D(G(z))] - E[D(x)], then every D parameter clipped to [-c, c] (Arjovsky et al. 2017)', async () => {
    // c = 0.5 clips the kernel's first weight but not the second nor the bias, so both cases are seen.
    const c = config({ cost: { type: 'wasserstein', clip: 0.5 }, dStepsPerGStep: 1 });
    const { result, expected } = await checkLinearStep(c, D0);
    assert.equal(expected.d1.w[0], 0.5, 'the test exercises a clipped weight');
    assert.ok(Math.abs(expected.d1.w[1]) < 0.5 && Math.abs(expected.d1.b) < 0.5, 'and unclipped ones');
    // The estimate is E[D(x)] - E[D(G(z))] of the critic update's minibatches, before that update.
    close(result.wassersteinEstimate!, -expected.dLoss, 'Wasserstein estimate');
    close(result.wassersteinEstimate!, mean(REAL.map((x) => score(D0, x))) - mean(expected.fakeScoresForD), 'E[D(x)] - E[D(G(z))]');
    closeAll(
      Array.from(result.outputs!.criticReal),
      REAL.map((x) => score(D0, x)),
      'raw critic scores on x',
    );
    // D(x) of a critic: the fraction of the generated minibatch it scores below x.
    const realScores = REAL.map((x) => score(D0, x));
    const below = (s: number, others: number[]) => others.filter((o) => o < s).length / others.length;
    closeAll(
      Array.from(result.outputs!.dReal),
      realScores.map((s) => below(s, expected.fakeScoresForD)),
      'D(x) as a rank',
    );
    closeAll(
      Array.from(result.outputs!.dFake),
      expected.fakeScoresForD.map((s) => below(s, realScores)),
      'D(G(z)) as a rank',
    );
    assert.equal(result.gradientPenalty, null);
  });

  it('wasserstein with the paper clip c = 0.01: every critic parameter ends in [-c, c]', async () => {
    const c = config({ cost: { type: 'wasserstein' }, dStepsPerGStep: 1 });
    assert.equal(c.training.cost.type === 'wasserstein' && c.training.cost.clip, 0.01);
    await checkLinearStep(c, D0);
    const gan = await fixedGan(config({ cost: { type: 'wasserstein' } }, { depth: 2, width: 8, batchNorm: true }));
    await gan.step(false);
    for (const { name, variable } of gan.discriminator.namedVariables()) {
      if (!variable.trainable) continue; // batch-norm running averages are statistics, not parameters
      for (const v of variable.dataSync()) assert.ok(Math.abs(v) <= Math.fround(0.01), `${name}: ${v}`);
    }
    gan.dispose();
  });

  it('hinge: L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], L_G = -E[D(G(z))] (Miyato et al. 2018)', async () => {
    // Larger weights so that some terms are past the hinge (zero gradient) and some are not.
    const d: LinearD = { w: [1.5, -0.8], b: 0.1 };
    const { expected } = await checkLinearStep(config({ cost: { type: 'hinge' } }), d);
    assert.ok(expected.critic.real.includes(0) && expected.critic.real.some((v) => v !== 0), 'real terms on both sides of the hinge');
    assert.ok(expected.critic.fake.includes(0) && expected.critic.fake.some((v) => v !== 0), 'fake terms on both sides of the hinge');
  });

  for (const coding of [
    { a: 0, b: 1, c: 1 },
    { a: -1, b: 1, c: 0 },
  ]) {
    it(`least squares with a = ${coding.a}, b = ${coding.b}, c = ${coding.c} (Mao et al. 2017)`, async () => {
      const c = config({ cost: { type: 'least-squares', ...coding } });
      await checkLinearStep(c, D0);
    });
  }

  it('least squares defaults to the 0-1 coding a = 0, b = c = 1', () => {
    assert.deepEqual(config({ cost: { type: 'least-squares' } }).training.cost, { type: 'least-squares', a: 0, b: 1, c: 1 });
  });
});

// ---- WGAN-GP: a hidden layer, so ∇ₓD depends on x̂ ----------------------------------------------------

const HIDDEN = 3;
/**
 * D(x) = Σₕ vₕ·act(BN(Σⱼ xⱼUⱼₕ + cₕ)) + d as the flat θ = [U (2×3, row-major), c, (γ, β), v, d], where
 * BN (only with batch norm) is (p - mean)/√(var + 1e-5)·γ + β over the batch, var biased.
 */
const THETA0 = [0.8, -0.5, 0.3, -0.6, 0.9, 0.7, 0.1, -0.2, 0.15, 1.8, -1.4, 1.1, 0.05];
const BN_THETA0 = [...THETA0.slice(0, 9), 1.2, 0.8, 1.1, 0.1, -0.3, 0.2, ...THETA0.slice(9)];

const ACTIVATIONS = {
  leakyRelu: { f: (p: number) => (p > 0 ? p : 0.2 * p), df: (p: number) => (p > 0 ? 1 : 0.2) },
  elu: { f: (p: number) => (p > 0 ? p : Math.exp(p) - 1), df: (p: number) => (p > 0 ? 1 : Math.exp(p)) },
  tanh: { f: Math.tanh, df: (p: number) => 1 - Math.tanh(p) ** 2 },
  sigmoid: { f: sigmoid, df: (p: number) => sigmoid(p) * (1 - sigmoid(p)) },
} as const;
type Activation = keyof typeof ACTIVATIONS;

/** The critic without batch norm: each row on its own, with its input gradient written out by hand. */
function hiddenD(theta: number[], activation: Activation) {
  const U = (j: number, h: number) => theta[j * HIDDEN + h];
  const c = (h: number) => theta[2 * HIDDEN + h];
  const v = (h: number) => theta[3 * HIDDEN + h];
  const d = theta[4 * HIDDEN];
  const pre = (x: number[]) => [0, 1, 2].map((h) => x[0] * U(0, h) + x[1] * U(1, h) + c(h));
  const { f, df } = ACTIVATIONS[activation];
  return {
    score: (x: number[]) => pre(x).reduce((s, p, h) => s + v(h) * f(p), d),
    /** ∇ₓD(x)ⱼ = Σₕ Uⱼₕ·vₕ·act'(preₕ). */
    gradient: (x: number[]) => [0, 1].map((j) => pre(x).reduce((s, p, h) => s + U(j, h) * v(h) * df(p), 0)),
  };
}

/** The critic with batch norm in training mode: the scores of a whole batch, each depending on every row. */
function batchNormD(theta: number[], activation: Activation) {
  const at = (offset: number) => (h: number) => theta[offset + h];
  const [c, gamma, beta, v] = [at(6), at(9), at(12), at(15)];
  const d = theta[18];
  const { f } = ACTIVATIONS[activation];
  return (rows: number[][]) => {
    const pre = rows.map((x) => [0, 1, 2].map((h) => x[0] * theta[h] + x[1] * theta[HIDDEN + h] + c(h)));
    const mu = [0, 1, 2].map((h) => mean(pre.map((p) => p[h])));
    const variance = [0, 1, 2].map((h) => mean(pre.map((p) => (p[h] - mu[h]) ** 2)));
    return pre.map((p) => p.reduce((s, ph, h) => s + v(h) * f(((ph - mu[h]) / Math.sqrt(variance[h] + 1e-5)) * gamma(h) + beta(h)), d));
  };
}

/** ∂f/∂θ by central differences, in float64. */
function finiteDifferences(f: (theta: number[]) => number, theta: number[], h = 1e-6): number[] {
  return theta.map((_, i) => {
    const plus = theta.slice();
    const minus = theta.slice();
    plus[i] += h;
    minus[i] -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

for (const backend of ['cpu', 'wasm'] as const)
  describe(`WGAN-GP through one training step on ${backend} (Gulrajani et al. 2017)`, () => {
    before(async () => {
      await selectBackend(backend);
    });

    it('x̂ = εx + (1 - ε)G(z), one ε per row', () => {
      const out = interpolates(tf.tensor2d([1, 2, -1, 4], [2, 2]), tf.tensor2d([3, -2, 5, 0], [2, 2]), tf.tensor2d([0.25, 1], [2, 1]));
      // Row 1: 0.25·(1, 2) + 0.75·(3, -2) = (2.5, -1); row 2 with ε = 1 is the real sample.
      assert.deepEqual(Array.from(out.dataSync()), [2.5, -1, -1, 4]);
      out.dispose();
    });

    const cases: { activation: Activation; batchNorm: boolean }[] = [
      ...(Object.keys(ACTIVATIONS) as Activation[]).map((activation) => ({ activation, batchNorm: false })),
      { activation: 'leakyRelu', batchNorm: true },
      { activation: 'tanh', batchNorm: true },
    ];
    for (const { activation, batchNorm } of cases) {
      const label = `${activation}${batchNorm ? ' + batch norm' : ''} critic`;
      it(`the penalty λ·E[(‖∇D(x̂)‖₂ - 1)²] is in the critic's loss and its update (${label}, finite differences)`, async () => {
        const lambda = 10;
        const c = config({ cost: { type: 'wgan-gp', lambda }, dStepsPerGStep: 1 }, { depth: 1, width: HIDDEN, activation, batchNorm });
        const gan = await fixedGan(c);
        const theta0 = batchNorm ? BN_THETA0 : THETA0;
        const byName = new Map(gan.discriminator.trainableVariables().map((v) => [v.name, v] as const));
        const parts = gan.discriminator.namedVariables().filter(({ variable }) => variable.trainable);
        let offset = 0;
        for (const { variable } of parts) {
          set(byName.get(variable.name)!, theta0.slice(offset, offset + variable.size));
          offset += variable.size;
        }
        assert.equal(offset, theta0.length);
        // ε comes from the run's checkpointed stream: the only draw of the step, since data and noise are fixed.
        const epsilon = Array.from(new Random('shadow', gan.random.state()).fillUniform(new Float32Array(4), 0, 1));
        assert.ok(epsilon.every((e) => e >= 0 && e < 1));

        const fake = Z_CRITIC.map((z) => generate(G0, z));
        const points = REAL.map((x, i) => [0, 1].map((j) => epsilon[i] * x[j] + (1 - epsilon[i]) * fake[i][j]));
        // Scores of a batch; and the gradients of Σ D(x̂) per row: by hand without batch norm, by central
        // differences with it (where every row's score depends on every row).
        const scores = (theta: number[], rows: number[][]) => (batchNorm ? batchNormD(theta, activation)(rows) : rows.map(hiddenD(theta, activation).score));
        const inputGradients = (theta: number[]) => {
          if (!batchNorm) return points.map(hiddenD(theta, activation).gradient);
          const total = (rows: number[][]) => scores(theta, rows).reduce((a, b) => a + b, 0);
          return points.map((_, i) => finiteDifferences((p) => total(points.map((row, r) => (r === i ? p : row))), points[i], 1e-5));
        };
        const penaltyOf = (theta: number[]) => lambda * mean(inputGradients(theta).map((g) => (Math.hypot(...g) - 1) ** 2));
        const lossOf = (theta: number[]) => mean(scores(theta, fake)) - mean(scores(theta, REAL)) + penaltyOf(theta);
        const theta1 = theta0.map((t, i) => t - LR * finiteDifferences(lossOf, theta0, batchNorm ? 1e-4 : 1e-6)[i]);
        // G's update against the updated critic: L_G = -E[D(G(z))] with θ_G = [W (row-major), β].
        const gLossOf = (thetaG: number[]) => {
          const g: LinearG = { W: [thetaG.slice(0, 2), thetaG.slice(2, 4)], beta: thetaG.slice(4) };
          return -mean(
            scores(
              theta1,
              Z_GENERATOR.map((z) => generate(g, z)),
            ),
          );
        };
        const thetaG0 = [...G_KERNEL.flat(), ...G_BIAS];
        const thetaG1 = thetaG0.map((t, i) => t - LR * finiteDifferences(gLossOf, thetaG0)[i]);

        const result = await gan.step(true);
        assert.ok(penaltyOf(theta0) > 0.5, `the penalty matters in this test (${penaltyOf(theta0)})`);
        close(result.gradientPenalty!, penaltyOf(theta0), 'gradient penalty', 1e-4);
        close(result.dLoss, lossOf(theta0), 'dLoss (penalty included)', 1e-4);
        close(result.wassersteinEstimate!, penaltyOf(theta0) - lossOf(theta0), 'Wasserstein estimate', 1e-4);
        const after = gan.discriminator
          .namedVariables()
          .filter(({ variable }) => variable.trainable)
          .flatMap(({ variable }) => Array.from(variable.dataSync()));
        closeAll(after, theta1, 'critic after the update', 1e-4);
        close(result.gLoss, gLossOf(thetaG0), 'gLoss', 1e-4);
        const g = values(gan, 'generator');
        closeAll([...g['output/kernel'], ...g['output/bias']], thetaG1, 'G after the update', 1e-4);
        gan.dispose();
      });
    }
  });

// ---- n_critic, clipping order, defaults -------------------------------------------------------------

/** Counts optimizer updates and records the largest |critic parameter| each update starts from. */
function spy(gan: Gan): { calls: string[]; criticMaxBefore: number[] } {
  const calls: string[] = [];
  const criticMaxBefore: number[] = [];
  const largest = () => Math.max(...gan.discriminator.trainableVariables().flatMap((v) => Array.from(v.dataSync(), Math.abs)));
  for (const [name, optimizer] of [
    ['D', gan.discriminatorOptimizer],
    ['G', gan.generatorOptimizer],
  ] as const) {
    const original = optimizer.applyGradients.bind(optimizer);
    optimizer.applyGradients = (grads) => {
      calls.push(name);
      criticMaxBefore.push(largest());
      original(grads);
    };
  }
  return { calls, criticMaxBefore };
}

describe('n_critic and clipping', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const network = { type: 'mlp', depth: 1, width: 8 } as const;
  const base = { name: 'ncritic', data: { type: 'ring' }, generator: network, discriminator: network } as const;

  it('wasserstein makes n_critic = 5 critic updates, each followed by clipping, then one generator update', async () => {
    const result = validateConfig({ ...base, training: { batchSize: 8, cost: { type: 'wasserstein' } } });
    assert.ok(result.ok);
    const gan = new Gan(result.config, await loadData(result.config.data, '.'));
    const sampled: number[] = [];
    const sample = gan.data.sample.bind(gan.data);
    gan.data.sample = (random, batch, out) => {
      sampled.push(batch);
      return sample(random, batch, out);
    };
    const { calls, criticMaxBefore } = spy(gan);
    await gan.step(false);
    assert.deepEqual(calls, ['D', 'D', 'D', 'D', 'D', 'G']);
    assert.deepEqual(sampled, [8, 8, 8, 8, 8], 'a fresh real minibatch for each critic update');
    // The initial weights are larger than c; every later update starts from clipped ones.
    assert.ok(criticMaxBefore[0] > 0.01);
    for (const [i, max] of criticMaxBefore.slice(1).entries()) assert.ok(max <= Math.fround(0.01), `update ${i + 2} starts from ${max}`);
    gan.dispose();
  });

  it('wgan-gp makes 5 critic updates by default; an explicit dStepsPerGStep wins', async () => {
    for (const [training, expected] of [
      [{ batchSize: 8, cost: { type: 'wgan-gp' } }, ['D', 'D', 'D', 'D', 'D', 'G']],
      [{ batchSize: 8, cost: { type: 'wgan-gp' }, dStepsPerGStep: 2 }, ['D', 'D', 'G']],
    ] as const) {
      const result = validateConfig({ ...base, training });
      assert.ok(result.ok);
      const gan = new Gan(result.config, await loadData(result.config.data, '.'));
      const { calls } = spy(gan);
      await gan.step(false);
      assert.deepEqual(calls, expected);
      gan.dispose();
    }
  });

  it('leaks no tensors with any cost', async () => {
    for (const cost of [{ type: 'wasserstein' }, { type: 'wgan-gp' }, { type: 'hinge' }, { type: 'least-squares' }] as const) {
      const result = validateConfig({ ...base, discriminator: { ...network, batchNorm: true }, training: { batchSize: 8, cost, dStepsPerGStep: 2 } });
      assert.ok(result.ok);
      const gan = new Gan(result.config, await loadData(result.config.data, '.'));
      await gan.step(true);
      const count = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) await gan.step(i % 2 === 0);
      assert.equal(tf.memory().numTensors, count, cost.type);
      gan.dispose();
    }
  });
});

describe('D(x) and D(G(z)) of a critic', () => {
  it('is the fraction of the other minibatch scored below, ties counting ½', () => {
    const real = Float32Array.from([3, -1, 0.5, 0.5]);
    const fake = Float32Array.from([0.5, -2, 4, 1]);
    // 3 beats -2, 0.5, 1 (3/4); -1 beats -2 (1/4); 0.5 beats -2 and ties 0.5 ((1 + ½)/4 = 0.375).
    assert.deepEqual(Array.from(rankFractions(real, fake)), [0.75, 0.25, 0.375, 0.375]);
    // 0.5 beats -1, ties twice ((1 + 1)/4); -2 beats nothing; 4 beats all; 1 beats -1, 0.5, 0.5.
    assert.deepEqual(Array.from(rankFractions(fake, real)), [0.5, 0, 1, 0.75]);
    // Adding a constant to every score (which no Wasserstein loss can see) changes nothing.
    assert.deepEqual(
      Array.from(
        rankFractions(
          real.map((v) => v + 100),
          fake.map((v) => v + 100),
        ),
      ),
      [0.75, 0.25, 0.375, 0.375],
    );
  });
});

describe('costs in the config', () => {
  const minimal = { name: 'x', data: { type: 'ring' }, generator: { type: 'mlp' }, discriminator: { type: 'mlp' } } as const;
  const resolve = (training: unknown, more: object = {}) => {
    const result = validateConfig({ ...minimal, ...more, training });
    assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('; '));
    return result.config;
  };
  const problems = (training: unknown, more: object = {}) => {
    const result = validateConfig({ ...minimal, ...more, training });
    assert.equal(result.ok, false, 'expected a refusal');
    return result.ok ? [] : result.problems.map(formatProblem);
  };

  it("fills each paper's defaults when the fields are absent", () => {
    const wgan = resolve({ cost: { type: 'wasserstein' } });
    assert.deepEqual(wgan.training.cost, { type: 'wasserstein', clip: 0.01 });
    assert.equal(wgan.training.dStepsPerGStep, 5);
    assert.equal(wgan.training.generatorCost, undefined);
    for (const net of [wgan.generator, wgan.discriminator]) {
      assert.deepEqual(net.optimizer, { type: 'rmsprop', learningRate: 5e-5, decay: 0.9, momentum: 0, epsilon: 1e-8 });
    }
    const gp = resolve({ cost: { type: 'wgan-gp' } });
    assert.deepEqual(gp.training.cost, { type: 'wgan-gp', lambda: 10 });
    assert.equal(gp.training.dStepsPerGStep, 5);
    for (const net of [gp.generator, gp.discriminator]) {
      assert.deepEqual(net.optimizer, { type: 'adam', learningRate: 1e-4, beta1: 0, beta2: 0.9, epsilon: 1e-8 });
    }
    for (const type of ['cross-entropy', 'hinge', 'least-squares'] as const) {
      const c = resolve({ cost: { type } });
      assert.equal(c.training.dStepsPerGStep, 1, type);
      assert.deepEqual(c.discriminator.optimizer, { type: 'adam', learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 }, type);
    }
    assert.equal(resolve({}).training.generatorCost, 'non-saturating');
    assert.deepEqual(resolve({}).training.cost, { type: 'cross-entropy' });
  });

  it('explicit fields win over the cost defaults', () => {
    const c = resolve(
      { cost: { type: 'wgan-gp' }, dStepsPerGStep: 1 },
      { discriminator: { type: 'mlp', optimizer: { type: 'adam', learningRate: 3e-4 } }, generator: { type: 'mlp', optimizer: { type: 'sgd' } } },
    );
    assert.equal(c.training.dStepsPerGStep, 1);
    // The written optimizer is used as written; its omitted fields take its own defaults, not the paper's.
    assert.deepEqual(c.discriminator.optimizer, { type: 'adam', learningRate: 3e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 });
    assert.deepEqual(c.generator.optimizer, { type: 'sgd', learningRate: 1e-2 });
  });

  it('a resolved config (a run snapshot) validates again to itself, for every cost', () => {
    for (const cost of ['cross-entropy', 'wasserstein', 'wgan-gp', 'hinge', 'least-squares']) {
      const once = resolve({ cost: { type: cost } });
      const again = validateConfig(JSON.parse(JSON.stringify(once)));
      assert.ok(again.ok, cost);
      assert.deepEqual(again.config, once, cost);
    }
  });

  it('refuses weight clipping or a gradient penalty on a cost that has none, naming the field', () => {
    assert.deepEqual(problems({ cost: { type: 'hinge', clip: 0.01 } }), [
      'training.cost.clip: belongs to the "wasserstein" cost, not "hinge" (set training.cost.type to "wasserstein" or remove it)',
    ]);
    assert.deepEqual(problems({ cost: { type: 'wgan-gp', clip: 0.01 } }), [
      'training.cost.clip: belongs to the "wasserstein" cost, not "wgan-gp" (set training.cost.type to "wasserstein" or remove it)',
    ]);
    assert.deepEqual(problems({ cost: { type: 'wasserstein', lambda: 10 } }), [
      'training.cost.lambda: belongs to the "wgan-gp" cost, not "wasserstein" (set training.cost.type to "wgan-gp" or remove it)',
    ]);
    assert.deepEqual(problems({ cost: { type: 'least-squares', clip: 0.01 } }), [
      'training.cost.clip: belongs to the "wasserstein" cost, not "least-squares" (set training.cost.type to "wasserstein" or remove it)',
    ]);
  });

  it('refuses a generator cost of the cross-entropy game with another cost', () => {
    assert.deepEqual(problems({ cost: { type: 'wasserstein' }, generatorCost: 'minimax' }), [
      'training.generatorCost: applies only to training.cost "cross-entropy"; the "wasserstein" cost defines its own generator cost, so remove this field',
    ]);
  });

  it('refuses n_critic < 1, λ < 0, c ≤ 0 and a least-squares coding with a = b', () => {
    assert.deepEqual(problems({ cost: { type: 'wgan-gp', lambda: -1 }, dStepsPerGStep: 0 }).sort(), [
      'training.cost.lambda: expected ≥ 0, got -1',
      'training.dStepsPerGStep: expected > 0, got 0',
    ]);
    assert.deepEqual(problems({ cost: { type: 'wasserstein', clip: 0 } }), ['training.cost.clip: expected > 0, got 0']);
    assert.deepEqual(problems({ cost: { type: 'least-squares', a: 1 } }), [
      'training.cost.b: must differ from training.cost.a (both are 1: D would have no real/generated targets to tell apart)',
    ]);
  });

  it('lists the costs when the type is unknown', () => {
    assert.deepEqual(problems({ cost: { type: 'wgan' } }), [
      'training.cost.type: expected one of "cross-entropy", "wasserstein", "wgan-gp", "hinge", "least-squares", got "wgan"',
    ]);
  });
});

// ---- the real thing on both backends, and exact resume ------------------------------------------------

describe('WGAN-GP trains on the pure-JS and the WASM backends (double backprop)', () => {
  const gp = (discriminator: object): GanConfig => {
    const result = validateConfig({
      name: 'wgan-gp',
      seed: 5,
      data: { type: 'ring' },
      generator: { type: 'mlp', depth: 2, width: 16, batchNorm: true, optimizer: { type: 'adam', learningRate: 1e-3, beta1: 0, beta2: 0.9 } },
      discriminator: { type: 'mlp', depth: 2, width: 16, optimizer: { type: 'adam', learningRate: 1e-3, beta1: 0, beta2: 0.9 }, ...discriminator },
      training: { batchSize: 32, cost: { type: 'wgan-gp' } },
    });
    assert.ok(result.ok);
    return result.config;
  };
  const runs: Record<string, number[][]> = {};

  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [label, discriminator] of [
      ['leakyRelu', { activation: 'leakyRelu' }],
      ['relu + batch norm', { activation: 'relu', batchNorm: true }],
      ['elu', { activation: 'elu' }],
    ] as const) {
      it(`${backend}: ${label} critic`, async () => {
        await selectBackend(backend);
        const c = gp(discriminator);
        const gan = new Gan(c, await loadData(c.data, '.'));
        const history: number[][] = [];
        for (let i = 0; i < 20; i++) {
          const r = await gan.step(false);
          for (const v of [r.dLoss, r.gLoss, r.wassersteinEstimate!, r.gradientPenalty!]) assert.ok(Number.isFinite(v), `step ${i}: ${v}`);
          history.push([r.dLoss, r.gLoss, r.wassersteinEstimate!, r.gradientPenalty!]);
        }
        gan.dispose();
        // The critic learns: it drives its gradient norm towards 1, so the penalty falls.
        const penalty = history.map((h) => h[3]);
        assert.ok(mean(penalty.slice(-5)) < 0.75 * mean(penalty.slice(0, 5)), `penalty ${penalty.map((p) => p.toFixed(3)).join(' ')}`);
        runs[`${backend} ${label}`] = history;
        const other = runs[`cpu ${label}`];
        if (backend === 'wasm' && other) {
          // The same seed gives the same run on both backends, up to float32 rounding.
          closeAll(history[0], other[0], 'first step, wasm vs cpu', 1e-3);
        }
      });
    }
  }
});

describe('exact resume with the Wasserstein costs', () => {
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-costs-resume-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const weights = (gan: Gan) =>
    [...gan.generator.namedVariables(), ...gan.discriminator.namedVariables()].flatMap(({ variable }) => Array.from(variable.dataSync()));

  for (const cost of [{ type: 'wasserstein' }, { type: 'wgan-gp' }] as const) {
    it(`${cost.type}: N steps equal N/2 + save + restore + N/2 (RMSProp/Adam state and the ε stream)`, async () => {
      const result = validateConfig({
        name: 'resume',
        seed: 11,
        data: { type: 'ring' },
        generator: { type: 'mlp', depth: 1, width: 8, batchNorm: true },
        discriminator: { type: 'mlp', depth: 1, width: 8, activation: 'leakyRelu' },
        training: { batchSize: 8, cost, dStepsPerGStep: 2 },
      });
      assert.ok(result.ok);
      const c = result.config;
      const straight = new Gan(c, await loadData(c.data, '.'));
      for (let i = 0; i < 4; i++) await straight.step(false);
      const expected = weights(straight);
      const expectedNext = await straight.step(true);
      straight.dispose();

      const first = new Gan(c, await loadData(c.data, '.'));
      for (let i = 0; i < 2; i++) await first.step(false);
      const runDir = path.join(dir, cost.type);
      await saveCheckpoint(runDir, first, 2, 1);
      first.dispose();
      const second = new Gan(c, await loadData(c.data, '.'));
      await restoreCheckpoint(runDir, 2, second);
      for (let i = 0; i < 2; i++) await second.step(false);
      assert.deepEqual(weights(second), expected);
      const next = await second.step(true);
      assert.equal(next.dLoss, expectedNext.dLoss);
      assert.equal(next.wassersteinEstimate, expectedNext.wassersteinEstimate);
      assert.equal(next.gradientPenalty, expectedNext.gradientPenalty);
      second.dispose();
    });
  }
});

describe('metrics.jsonl of each cost', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-costs-metrics-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const run = async (cost: object): Promise<MetricsRecord[]> => {
    const configPath = path.join(dir, `${Object.values(cost).join('-')}.gan.json`);
    const network = { type: 'mlp', depth: 1, width: 8 };
    await writeFile(
      configPath,
      JSON.stringify({
        name: 'metrics',
        data: { type: 'ring' },
        generator: network,
        discriminator: network,
        training: { steps: 6, batchSize: 8, cost },
        logging: { metricsEvery: 3, histogramsEvery: 3, samplesEvery: 6, sampleCount: 10, checkpointEvery: 6 },
      }),
    );
    const result = await train({ configPath, runsDir: path.join(dir, 'runs'), backend: 'cpu' });
    assert.equal(result.status, 'completed', result.error ?? '');
    const text = await readFile(path.join(result.runDir, 'metrics.jsonl'), 'utf8');
    return text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as MetricsRecord);
  };

  it('wgan-gp: the estimate and the penalty, with dLoss = -estimate + penalty, and the raw critic means', async () => {
    const records = await run({ type: 'wgan-gp' });
    assert.deepEqual(
      records.map((r) => r.step),
      [3, 6],
    );
    for (const r of records) {
      for (const key of ['wassersteinEstimate', 'gradientPenalty', 'criticReal', 'criticFake'] as const) assert.equal(typeof r[key], 'number', key);
      close(r.dLoss, -r.wassersteinEstimate! + r.gradientPenalty!, 'dLoss');
      // The estimate and the raw means come from the same minibatches of the last critic update.
      close(r.wassersteinEstimate!, r.criticReal! - r.criticFake!, 'estimate', 1e-4);
      assert.ok(r.dReal >= 0 && r.dReal <= 1, 'D(x) is a fraction');
      close(r.dReal + r.dFake, 1, 'a rank: D(x) + D(G(z)) = 1');
    }
  });

  it('wasserstein: the estimate, no penalty; hinge and least squares: raw means only; cross-entropy: none of these', async () => {
    const [wgan] = await run({ type: 'wasserstein' });
    assert.equal(typeof wgan.wassersteinEstimate, 'number');
    assert.equal(wgan.gradientPenalty, undefined);
    close(wgan.dLoss, -wgan.wassersteinEstimate!, 'dLoss');
    for (const type of ['hinge', 'least-squares']) {
      const [r] = await run({ type });
      assert.equal(typeof r.criticReal, 'number', type);
      assert.equal(r.wassersteinEstimate, undefined, type);
      assert.equal(r.gradientPenalty, undefined, type);
    }
    const [ce] = await run({ type: 'cross-entropy' });
    for (const key of ['wassersteinEstimate', 'gradientPenalty', 'criticReal', 'criticFake']) assert.ok(!(key in ce), key);
  });
});
