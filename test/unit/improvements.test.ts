/**
 * The training improvements of Salimans et al. 2016 and spectral normalization (Miyato et al. 2018),
 * each through one real training step on tiny networks with hand-set weights and plain SGD, so an
 * update is θ - η·∂L/∂θ. The expected numbers are computed here in float64 JavaScript from the
 * papers' formulas, never by the code under test: the forward passes and losses written out by
 * hand below, their gradients by central finite differences of those functions (or by the chain rule
 * where it is one line):
 *   label smoothing      L_D = -½ E[α log σ(l_x) + (1 - α) log(1 - σ(l_x))] - ½ E[log(1 - σ(l_G(z)))]
 *   feature matching     L_G = ‖E f(x) - E f(G(z))‖₂², f = tanh of D's hidden layer
 *   minibatch discr.     o(x_i)_b = Σ_j exp(-‖M_i,b - M_j,b‖_L1), M = f·T, joined to f before D's output
 *   historical averaging L += λ‖θ - θ̄‖², then θ̄ ← θ̄ + (θ - θ̄)/(t + 1)
 *   spectral norm        v = Wu/‖Wu‖, u ← Wᵀv/‖Wᵀv‖, σ = ‖Wu‖, D uses W/σ
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
import { loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { SpectralNorm } from '../../src/trainer/improvements';
import { Random } from '../../src/trainer/random';
import { train } from '../../src/trainer/train';

const LR = 0.1;
const sgd = { type: 'sgd', learningRate: LR } as const;

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

// ---- the independent reference, in float64 -------------------------------------------------------

type Params = Record<string, number[]>;
const softplus = (x: number) => Math.log1p(Math.exp(x));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));

/** x [n, rows] times the row-major matrix w [rows, cols]. */
function matmul(x: number[][], w: number[], cols: number): number[][] {
  return x.map((row) => Array.from({ length: cols }, (_, c) => row.reduce((sum, value, r) => sum + value * w[r * cols + c], 0)));
}
const addBias = (x: number[][], b: number[]) => x.map((row) => row.map((v, i) => v + b[i]));

/** G(z) = zW + β, the generator without a hidden layer. */
const generate = (g: Params, z: number[][]) => addBias(matmul(z, g['output/kernel'], 2), g['output/bias']);

/** Central finite differences of f at every entry of p. */
function gradient(f: (p: Params) => number, p: Params, h = 1e-6): Params {
  const out: Params = {};
  for (const [key, values] of Object.entries(p)) {
    out[key] = values.map((_, i) => {
      const at = (delta: number) => f({ ...p, [key]: values.map((v, j) => (j === i ? v + delta : v)) });
      return (at(h) - at(-h)) / (2 * h);
    });
  }
  return out;
}
const sgdStep = (p: Params, grad: Params): Params => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.map((x, i) => x - LR * grad[k][i])]));

const crossEntropyD = (real: number[], fake: number[], alpha = 1) =>
  0.5 * mean(real.map((l) => alpha * softplus(-l) + (1 - alpha) * softplus(l))) + 0.5 * mean(fake.map(softplus));
const nonSaturatingG = (fake: number[]) => 0.5 * mean(fake.map((l) => softplus(-l)));

// ---- the real step on hand-set weights --------------------------------------------------------------

function config(overrides: Partial<GanConfigInput> & { training?: GanConfigInput['training'] }, discriminator: object = {}): GanConfig {
  const result = validateConfig({
    name: 'improvements',
    data: { type: 'ring' },
    latent: { size: 2 },
    generator: { type: 'mlp', depth: 0, optimizer: sgd },
    discriminator: 'layers' in discriminator ? { optimizer: sgd, ...discriminator } : { type: 'mlp', depth: 0, optimizer: sgd, ...discriminator },
    ...overrides,
    training: { batchSize: 4, ...overrides.training },
  });
  assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('; '));
  return result.config;
}

function problems(input: object): string[] {
  const result = validateConfig({
    name: 'refusals',
    data: { type: 'ring' },
    generator: { type: 'mlp' },
    discriminator: { type: 'mlp' },
    ...input,
  });
  assert.ok(!result.ok, 'expected the config to be refused');
  return result.problems.map(formatProblem);
}

function values(gan: Gan, scope: 'generator' | 'discriminator'): Params {
  const net = scope === 'generator' ? gan.generator : gan.discriminator;
  return Object.fromEntries(net.namedVariables().map(({ name, variable }) => [name.slice(scope.length + 1), Array.from(variable.dataSync())]));
}

function setAll(gan: Gan, scope: 'generator' | 'discriminator', params: Params): void {
  const net = scope === 'generator' ? gan.generator : gan.discriminator;
  for (const [name, values] of Object.entries(params)) {
    const named = net.namedVariables().find((v) => v.name === `${scope}/${name}`);
    assert.ok(named, `${scope}/${name}`);
    tf.tidy(() => named.variable.assign(tf.tensor(values, named.variable.shape)));
  }
}

const G0: Params = { 'output/kernel': [0.6, -0.2, 0.3, 0.8], 'output/bias': [0.05, -0.1] };

/** A Gan on the fixed minibatches: every real minibatch is REAL; noise Z_CRITIC for each critic update, then Z_GENERATOR. */
async function fixedGan(c: GanConfig, d: Params): Promise<Gan> {
  const gan = new Gan(c, await loadData(c.data, '.'));
  gan.data.sample = () => Float32Array.from(REAL.flat());
  let calls = 0;
  const k = c.training.dStepsPerGStep;
  gan.noise = (count) => {
    assert.equal(count, 4);
    return tf.tensor2d((calls++ % (k + 1) < k ? Z_CRITIC : Z_GENERATOR).flat(), [4, 2]);
  };
  setAll(gan, 'generator', G0);
  setAll(gan, 'discriminator', d);
  return gan;
}

function close(actual: number, expected: number, what: string, tolerance = 2e-5): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual}, expected ${expected}`);
}
function closeParams(actual: Params, expected: Params, what: string, tolerance?: number): void {
  for (const [key, values] of Object.entries(expected)) {
    assert.equal(actual[key]?.length, values.length, `${what} ${key}`);
    values.forEach((v, i) => close(actual[key][i], v, `${what} ${key}[${i}]`, tolerance));
  }
}

/** D(x) = x·w + b. */
const linearD = (d: Params, x: number[][]) => addBias(matmul(x, d['output/kernel'], 1), d['output/bias']).map((r) => r[0]);

describe('training improvements through one training step (hand-set weights, plain SGD)', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('one-sided label smoothing: D’s real target is α, the fake target 0 (Salimans et al. 2016, §3.4)', async () => {
    const alpha = 0.9;
    const c = config({ training: { labelSmoothing: alpha } });
    const d0: Params = { 'output/kernel': [0.7, -0.4], 'output/bias': [0.2] };
    const gan = await fixedGan(c, d0);
    const result = await gan.step(false);
    const fake = generate(G0, Z_CRITIC);
    const lossD = (d: Params) => crossEntropyD(linearD(d, REAL), linearD(d, fake), alpha);
    close(result.dLoss, lossD(d0), 'dLoss');
    // By the chain rule: ∂L/∂l_x = ½(σ(l_x) - α)/m, ∂L/∂l_G(z) = ½σ(l)/m.
    const lr = linearD(d0, REAL).map((l) => (0.5 * (sigmoid(l) - alpha)) / 4);
    const lf = linearD(d0, fake).map((l) => (0.5 * sigmoid(l)) / 4);
    const gw = [0, 1].map((k) => lr.reduce((s, g, i) => s + g * REAL[i][k], 0) + lf.reduce((s, g, i) => s + g * fake[i][k], 0));
    const gb = [...lr, ...lf].reduce((a, b) => a + b, 0);
    const d1 = { 'output/kernel': d0['output/kernel'].map((w, k) => w - LR * gw[k]), 'output/bias': [d0['output/bias'][0] - LR * gb] };
    closeParams(values(gan, 'discriminator'), d1, 'D after');
    closeParams(values(gan, 'discriminator'), sgdStep(d0, gradient(lossD, d0)), 'D after (finite differences)');
    // G's cost is unchanged by smoothing: the non-saturating one against the updated D.
    close(result.gLoss, nonSaturatingG(linearD(d1, generate(G0, Z_GENERATOR))), 'gLoss');
    gan.dispose();
  });

  it('feature matching: G minimizes ‖E f(x) - E f(G(z))‖² on D’s chosen layer, mlp or layers (§3.1), and reports it', async () => {
    const c = config({ training: { featureMatching: { layer: 0 } } }, { depth: 1, width: 3, activation: 'tanh' });
    const d0: Params = {
      'dense0/kernel': [0.5, -0.3, 0.8, 0.2, 0.7, -0.6],
      'dense0/bias': [0.1, -0.2, 0.05],
      'output/kernel': [0.4, -0.9, 0.3],
      'output/bias': [0.1],
    };
    const features = (d: Params, x: number[][]) => addBias(matmul(x, d['dense0/kernel'], 3), d['dense0/bias']).map((r) => r.map(Math.tanh));
    const score = (d: Params, x: number[][]) => addBias(matmul(features(d, x), d['output/kernel'], 1), d['output/bias']).map((r) => r[0]);
    const lossD = (d: Params) => crossEntropyD(score(d, REAL), score(d, generate(G0, Z_CRITIC)));
    const d1 = sgdStep(d0, gradient(lossD, d0));
    const fm = (g: Params) => {
      const real = features(d1, REAL);
      const fake = features(d1, generate(g, Z_GENERATOR));
      return [0, 1, 2].reduce((s, j) => s + (mean(real.map((r) => r[j])) - mean(fake.map((r) => r[j]))) ** 2, 0);
    };
    // The same D as a layers stack: its layer 1 (the tanh) is the mlp's hidden layer 0.
    const layers = config(
      { training: { featureMatching: { layer: 1 } } },
      { type: 'layers', init: { type: 'uniform-fan-in' }, layers: [{ type: 'dense', units: 3 }, { type: 'tanh' }, { type: 'dense', units: 1 }] },
    );
    const names = {
      'dense0/kernel': 'layer0-dense/kernel',
      'dense0/bias': 'layer0-dense/bias',
      'output/kernel': 'layer2-dense/kernel',
      'output/bias': 'layer2-dense/bias',
    };
    for (const [cfg, rename] of [
      [c, (p: Params) => p],
      [layers, (p: Params) => Object.fromEntries(Object.entries(p).map(([k, v]) => [names[k as keyof typeof names], v]))],
    ] as const) {
      const what = cfg.discriminator.type;
      const gan = await fixedGan(cfg, rename(d0));
      const result = await gan.step(false);
      close(result.dLoss, lossD(d0), `${what}: dLoss`);
      closeParams(values(gan, 'discriminator'), rename(d1), `${what}: D after`);
      close(result.gLoss, fm(G0), `${what}: gLoss`);
      close(result.featureMatching!, fm(G0), `${what}: featureMatching`);
      closeParams(values(gan, 'generator'), sgdStep(G0, gradient(fm, G0)), `${what}: G after`);
      assert.throws(() => tf.tidy(() => gan.discriminator.features(tf.zeros([1, 2]), false, 3)), /no (hidden )?layer 3/);
      gan.dispose();
    }
  });

  const T0 = [0.3, -0.5, 0.8, 0.1, -0.2, 0.6, 0.4, -0.7];
  /** [f, o] with o_b(x_i) = Σ_j exp(-Σ_c |M_i,b,c - M_j,b,c|), M = f·T reshaped [n, B = 2, C = 2]. */
  const minibatchFeatures = (f: number[][], t: number[]) => {
    const m = matmul(f, t, 4);
    return f.map((row, i) => [
      ...row,
      ...[0, 1].map((b) => m.reduce((s, other) => s + Math.exp(-[0, 1].reduce((l1, cc) => l1 + Math.abs(m[i][b * 2 + cc] - other[b * 2 + cc]), 0)), 0)),
    ]);
  };
  const mbdScore = (d: Params, x: number[][]) => addBias(matmul(minibatchFeatures(x, d.T), d['output/kernel'], 1), d['output/bias']).map((r) => r[0]);

  it('minibatch discrimination (§3.2), as an mlp option and as a layer: D’s loss and one update of T and the output', async () => {
    const d0: Params = { T: T0, 'output/kernel': [0.5, -0.3, 0.2, -0.4], 'output/bias': [0.1] };
    const lossD = (d: Params) => crossEntropyD(mbdScore(d, REAL), mbdScore(d, generate(G0, Z_CRITIC)));
    const d1 = sgdStep(d0, gradient(lossD, d0));
    const mlp = config({}, { minibatchDiscrimination: { kernels: 2, dimension: 2 } });
    const layers = config(
      {},
      {
        type: 'layers',
        layers: [
          { type: 'minibatchDiscrimination', kernels: 2, dimension: 2 },
          { type: 'dense', units: 1 },
        ],
      },
    );
    for (const [c, names] of [
      [mlp, { T: 'minibatch/T', 'output/kernel': 'output/kernel', 'output/bias': 'output/bias' }],
      [layers, { T: 'layer0-minibatchDiscrimination/T', 'output/kernel': 'layer1-dense/kernel', 'output/bias': 'layer1-dense/bias' }],
    ] as const) {
      const rename = (p: Params) => Object.fromEntries(Object.entries(p).map(([k, v]) => [names[k as keyof typeof names], v]));
      const gan = await fixedGan(c, rename(d0));
      const result = await gan.step(false);
      close(result.dLoss, lossD(d0), `${c.discriminator.type}: dLoss`);
      closeParams(values(gan, 'discriminator'), rename(d1), `${c.discriminator.type}: D after`);
      close(result.gLoss, nonSaturatingG(mbdScore(d1, generate(G0, Z_GENERATOR))), `${c.discriminator.type}: gLoss`);
      gan.dispose();
    }
  });

  it('historical averaging (§3.3): λ‖θ - θ̄‖² in both costs, then θ̄ ← θ̄ + (θ - θ̄)/(t + 1)', async () => {
    const lambda = 0.5;
    const c = config({ training: { historicalAveraging: lambda } });
    const d0: Params = { 'output/kernel': [0.7, -0.4], 'output/bias': [0.2] };
    const gan = await fixedGan(c, d0);
    // θ̄ set by hand as if 3 iterations had passed (t = 3).
    const averages = {
      generator: { 'output/kernel': [0.5, 0.1, 0.2, 0.6], 'output/bias': [0, 0.1] },
      discriminator: { 'output/kernel': [0.4, -0.1], 'output/bias': [0.3] },
    };
    const named = gan.historicalAverages!.namedVariables();
    const setAverage = (name: string, v: number[]) => {
      const { variable } = named.find((n) => n.name === name)!;
      tf.tidy(() => variable.assign(tf.tensor(v, variable.shape)));
    };
    for (const scope of ['generator', 'discriminator'] as const) {
      setAverage(`${scope}/historicalAverage/0`, averages[scope]['output/kernel']);
      setAverage(`${scope}/historicalAverage/1`, averages[scope]['output/bias']);
      setAverage(`${scope}/historicalAverage/count`, [3]);
    }
    const result = await gan.step(false);
    const distance = (p: Params, avg: Params) => Object.keys(avg).reduce((s, k) => s + p[k].reduce((t, v, i) => t + (v - avg[k][i]) ** 2, 0), 0);
    const lossD = (d: Params) => crossEntropyD(linearD(d, REAL), linearD(d, generate(G0, Z_CRITIC))) + lambda * distance(d, averages.discriminator);
    close(result.dLoss, lossD(d0), 'dLoss');
    const d1 = sgdStep(d0, gradient(lossD, d0));
    closeParams(values(gan, 'discriminator'), d1, 'D after');
    const lossG = (g: Params) => nonSaturatingG(linearD(d1, generate(g, Z_GENERATOR))) + lambda * distance(g, averages.generator);
    close(result.gLoss, lossG(G0), 'gLoss');
    const g1 = sgdStep(G0, gradient(lossG, G0));
    closeParams(values(gan, 'generator'), g1, 'G after');
    const after = Object.fromEntries(named.map(({ name, variable }) => [name, Array.from(variable.dataSync())]));
    for (const [scope, theta] of [
      ['generator', g1],
      ['discriminator', d1],
    ] as const) {
      const avg = averages[scope];
      closeParams(
        { k: after[`${scope}/historicalAverage/0`], b: after[`${scope}/historicalAverage/1`] },
        {
          k: avg['output/kernel'].map((a, i) => a + (theta['output/kernel'][i] - a) / 4),
          b: avg['output/bias'].map((a, i) => a + (theta['output/bias'][i] - a) / 4),
        },
        `${scope} average`,
      );
      assert.deepEqual(after[`${scope}/historicalAverage/count`], [4]);
    }
    gan.dispose();
  });

  it('spectral norm (Miyato et al. 2018): one power iteration per D update, D uses W/σ(W), the largest σ reported', async () => {
    const c = config({}, { depth: 1, width: 2, activation: 'tanh', spectralNorm: true });
    const d0: Params = {
      'dense0/kernel': [0.9, -0.4, 0.3, 1.2],
      'dense0/bias': [0.1, -0.1],
      'output/kernel': [0.8, -0.5],
      'output/bias': [0.2],
      'dense0/spectralU': [0.6, 0.8],
      'output/spectralU': [1],
    };
    const transpose = (w: number[], rows: number, cols: number) => Array.from({ length: rows * cols }, (_, i) => w[(i % rows) * cols + Math.floor(i / rows)]);
    /** One power iteration on W [rows, cols] from u: returns the new u and σ = ‖Wu‖. */
    const iterate = (w: number[], rows: number, cols: number, u: number[]) => {
      const wu = matmul([u], transpose(w, rows, cols), rows)[0];
      const v = wu.map((x) => x / norm(wu));
      const wtv = matmul([v], w, cols)[0];
      const u1 = wtv.map((x) => x / norm(wtv));
      return { u: u1, sigma: norm(matmul([u1], transpose(w, rows, cols), rows)[0]) };
    };
    const hidden = iterate(d0['dense0/kernel'], 2, 2, d0['dense0/spectralU']);
    const out = iterate(d0['output/kernel'], 2, 1, d0['output/spectralU']);
    /** D with every kernel divided by ‖Wu‖ for the given (held) u vectors. */
    const score = (d: Params, x: number[][], uh: number[], uo: number[]) => {
      const sh = norm(matmul([uh], transpose(d['dense0/kernel'], 2, 2), 2)[0]);
      const so = norm(matmul([uo], transpose(d['output/kernel'], 2, 1), 2)[0]);
      const h = addBias(
        matmul(
          x,
          d['dense0/kernel'].map((w) => w / sh),
          2,
        ),
        d['dense0/bias'],
      ).map((r) => r.map(Math.tanh));
      return addBias(
        matmul(
          h,
          d['output/kernel'].map((w) => w / so),
          1,
        ),
        d['output/bias'],
      ).map((r) => r[0]);
    };
    const gan = await fixedGan(c, d0);
    const result = await gan.step(false);
    close(result.spectralNorm!, Math.max(hidden.sigma, out.sigma), 'largest σ');
    const trainable = (d: Params) => ({
      'dense0/kernel': d['dense0/kernel'],
      'dense0/bias': d['dense0/bias'],
      'output/kernel': d['output/kernel'],
      'output/bias': d['output/bias'],
    });
    const lossD = (d: Params) => crossEntropyD(score(d, REAL, hidden.u, out.u), score(d, generate(G0, Z_CRITIC), hidden.u, out.u));
    close(result.dLoss, lossD(trainable(d0)), 'dLoss');
    const d1 = sgdStep(trainable(d0), gradient(lossD, trainable(d0)));
    const after = values(gan, 'discriminator');
    closeParams(after, { ...d1, 'dense0/spectralU': hidden.u, 'output/spectralU': out.u }, 'D after');
    // G's update: no power iteration, D as updated with the held u.
    close(result.gLoss, nonSaturatingG(score(d1, generate(G0, Z_GENERATOR), hidden.u, out.u)), 'gLoss');
    gan.dispose();
  });

  it('virtual batch norm (§3.4): every example normalized with the reference batch’s statistics; sampling reuses them', async () => {
    const c = config({}, { depth: 1, width: 2, activation: 'tanh', batchNorm: 'virtual' });
    const REF = [
      [0.2, 0.4],
      [-0.8, 0.1],
      [0.5, -0.6],
    ];
    const d0: Params = {
      'dense0/kernel': [0.9, -0.4, 0.3, 1.2],
      'dense0/bias': [0.1, -0.1],
      'norm0/gamma': [1.2, 0.7],
      'norm0/beta': [0.1, -0.3],
      'output/kernel': [0.8, -0.5],
      'output/bias': [0.2],
    };
    /** The reference batch's per-unit mean and (biased) variance of the pre-activations. */
    const stats = (d: Params) => {
      const pre = addBias(matmul(REF, d['dense0/kernel'], 2), d['dense0/bias']);
      const mu = [0, 1].map((j) => mean(pre.map((r) => r[j])));
      return { mu, variance: [0, 1].map((j) => mean(pre.map((r) => (r[j] - mu[j]) ** 2))) };
    };
    const score = (d: Params, x: number[][]) => {
      const { mu, variance } = stats(d);
      const h = addBias(matmul(x, d['dense0/kernel'], 2), d['dense0/bias']).map((r) =>
        r.map((v, j) => Math.tanh(((v - mu[j]) / Math.sqrt(variance[j] + 1e-5)) * d['norm0/gamma'][j] + d['norm0/beta'][j])),
      );
      return addBias(matmul(h, d['output/kernel'], 1), d['output/bias']).map((r) => r[0]);
    };
    const gan = await fixedGan(c, d0);
    tf.tidy(() => gan.discriminator.setVirtualReference(tf.tensor2d(REF)));
    const result = await gan.step(false);
    const lossD = (d: Params) => crossEntropyD(score(d, REAL), score(d, generate(G0, Z_CRITIC)));
    close(result.dLoss, lossD(d0), 'dLoss');
    const d1 = sgdStep(d0, gradient(lossD, d0));
    const after = values(gan, 'discriminator');
    closeParams(after, d1, 'D after');
    close(result.gLoss, nonSaturatingG(score(d1, generate(G0, Z_GENERATOR))), 'gLoss');
    // The last training pass (G's update) left the reference statistics of D as updated for sampling.
    closeParams(after, { 'norm0/runningMean': stats(d1).mu, 'norm0/runningVariance': stats(d1).variance }, 'running statistics');
    // An example's score does not depend on the rest of its minibatch, in training as in inference.
    for (const training of [true, false]) {
      const first = (rows: number[][]) => tf.tidy(() => gan.discriminator.apply(tf.tensor2d(rows), training).dataSync()[0]);
      close(first([REAL[0], REAL[1]]), first([REAL[0], REAL[2], REAL[3]]), `alone in its minibatch (training: ${training})`, 1e-6);
      close(first([REAL[0]]), score(d1, [REAL[0]])[0], `D(x) (training: ${training})`);
    }
    gan.dispose();
  });

  it('virtual batch norm’s reference batch: drawn once from the seed (real samples for D, noise for G), the same in every Gan of the config', async () => {
    const c = config(
      {
        seed: 3,
        generator: {
          type: 'layers',
          layers: [{ type: 'dense', units: 4 }, { type: 'batchNorm', virtual: true }, { type: 'relu' }, { type: 'dense', units: 2 }],
        },
      },
      { depth: 1, width: 4, batchNorm: 'virtual' },
    );
    const reference = (gan: Gan, scope: 'generator' | 'discriminator') => values(gan, scope)['virtualBatchNorm/reference'];
    const [a, b] = [new Gan(c, await loadData(c.data, '.')), new Gan(c, await loadData(c.data, '.'))];
    assert.equal(reference(a, 'generator').length, 4 * 2);
    assert.equal(reference(a, 'discriminator').length, 4 * 2);
    assert.deepEqual(reference(a, 'generator'), reference(b, 'generator'));
    assert.deepEqual(reference(a, 'discriminator'), reference(b, 'discriminator'));
    // D's reference rows are samples of the ring (radius 1, std 0.01).
    const d = reference(a, 'discriminator');
    for (let i = 0; i < 4; i++) close(Math.hypot(d[2 * i], d[2 * i + 1]), 1, 'on the ring', 0.05);
    await a.step(false);
    assert.deepEqual(reference(a, 'generator'), reference(b, 'generator'), 'fixed while training');
    a.dispose();
    b.dispose();
  });

  it('spectral norm of a conv kernel: [kh, kw, in, out] read as [kh·kw·in, out]; the power iteration converges to its largest singular value', () => {
    const values = [0.3, -0.2, 0.5, 0.9, -0.7, 0.4, 0.1, 0.6];
    const kernel = tf.variable(tf.tensor4d(values, [2, 2, 1, 2]));
    const sn = new SpectralNorm(kernel, new Random('sn'));
    let sigma = 0;
    for (let i = 0; i < 100; i++) {
      const s = sn.update();
      sigma = s.dataSync()[0];
      s.dispose();
    }
    // MᵀM of M [4, 2] is 2×2: its largest eigenvalue is the square of M's largest singular value.
    const col = (c: number) => [0, 1, 2, 3].map((r) => values[r * 2 + c]);
    const [a, b, d] = [col(0).reduce((s, x) => s + x * x, 0), col(0).reduce((s, x, i) => s + x * col(1)[i], 0), col(1).reduce((s, x) => s + x * x, 0)];
    const largest = Math.sqrt((a + d) / 2 + Math.sqrt(((a - d) / 2) ** 2 + b * b));
    close(sigma, largest, 'σ', 1e-5);
    const normalized = sn.normalized();
    assert.deepEqual(normalized.shape, [2, 2, 1, 2]);
    Array.from(normalized.dataSync()).forEach((v, i) => close(v, values[i] / largest, `W/σ[${i}]`, 1e-5));
    tf.dispose([normalized, kernel, sn.u]);
  });

  it('WGAN-GP’s double backprop goes through minibatch discrimination, spectral norm (a conv critic) and virtual batch norm', async () => {
    const c = config(
      { training: { cost: { type: 'wgan-gp' }, dStepsPerGStep: 1 } },
      {
        type: 'layers',
        spectralNorm: true,
        layers: [
          { type: 'reshape', shape: [1, 2, 1] },
          { type: 'conv2d', filters: 2, kernel: 1, stride: 1 },
          { type: 'leakyRelu' },
          { type: 'flatten' },
          { type: 'minibatchDiscrimination', kernels: 2, dimension: 2 },
          { type: 'dense', units: 1 },
        ],
      },
    );
    // And through virtual batch norm (an mlp critic), whose statistics come from the reference rows only.
    const vbn = config({ training: { cost: { type: 'wgan-gp' }, dStepsPerGStep: 1 } }, { depth: 2, width: 4, batchNorm: 'virtual', spectralNorm: true });
    for (const critic of [c, vbn]) {
      const gan = new Gan(critic, await loadData(critic.data, '.'));
      const before = values(gan, 'discriminator');
      for (let i = 0; i < 2; i++) {
        const result = await gan.step(false);
        for (const v of [result.dLoss, result.gLoss, result.gradientPenalty!, result.spectralNorm!]) assert.ok(Number.isFinite(v), String(v));
      }
      assert.notDeepEqual(values(gan, 'discriminator'), before);
      gan.dispose();
    }
  });
});

describe('training improvements free every tensor they make', () => {
  it('a Gan with all of them, stepped and disposed, leaves no tensor behind', async () => {
    await tf.setBackend('cpu');
    for (const extra of [
      {
        generator: { type: 'mlp', depth: 1, width: 8, batchNorm: 'virtual' },
        discriminator: { type: 'mlp', depth: 2, width: 8, spectralNorm: true, minibatchDiscrimination: { kernels: 3, dimension: 2 } },
        training: { batchSize: 8, labelSmoothing: 0.9, featureMatching: { layer: 1 }, historicalAveraging: 0.1 },
      },
      {
        generator: { type: 'mlp', depth: 1, width: 8 },
        discriminator: { type: 'mlp', depth: 2, width: 8, batchNorm: 'virtual', spectralNorm: true },
        training: { batchSize: 8, cost: { type: 'wgan-gp' }, featureMatching: { layer: 0 }, historicalAveraging: 0.1 },
      },
    ]) {
      const before = tf.memory().numTensors;
      const result = validateConfig({ name: 'leak', data: { type: 'ring' }, ...extra });
      assert.ok(result.ok);
      const gan = new Gan(result.config, await loadData(result.config.data, '.'));
      await gan.step(true);
      const during = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) await gan.step(i === 0);
      assert.equal(tf.memory().numTensors, during, 'a step frees what it makes');
      gan.dispose();
      assert.equal(tf.memory().numTensors, before, 'dispose frees the rest');
    }
  });
});

describe('training improvements in the config', () => {
  it('accepts them composed: smoothing, feature matching, historical averaging, minibatch discrimination and spectral norm', () => {
    config(
      { training: { labelSmoothing: 0.9, featureMatching: { layer: 1 }, historicalAveraging: 0.01 } },
      { depth: 2, width: 4, spectralNorm: true, minibatchDiscrimination: { kernels: 3, dimension: 2 } },
    );
  });

  it('refuses what makes no sense, naming the fields', () => {
    assert.match(problems({ training: { cost: { type: 'hinge' }, labelSmoothing: 0.9 } }).join(), /training\.labelSmoothing: .*"hinge"/);
    assert.match(
      problems({ discriminator: { type: 'mlp', depth: 2 }, training: { featureMatching: { layer: 2 } } }).join(),
      /training\.featureMatching\.layer: 2 does not exist: with discriminator\.depth .* 0 to 1/,
    );
    assert.match(
      problems({
        discriminator: {
          type: 'layers',
          layers: [
            { type: 'dense', units: 4 },
            { type: 'dense', units: 1 },
          ],
        },
        training: { featureMatching: { layer: 1 } },
      }).join(),
      /training\.featureMatching\.layer: 1 does not exist: with discriminator\.layers the feature layer must be a layer before the last, 0 to 0/,
    );
    assert.match(
      problems({ discriminator: { type: 'mlp', depth: 0 }, training: { featureMatching: { layer: 0 } } }).join(),
      /discriminator\.depth gives D no hidden layer/,
    );
    assert.match(
      problems({ discriminator: { type: 'mlp', spectralNorm: true }, training: { cost: { type: 'wasserstein' } } }).join(),
      /discriminator\.spectralNorm: .*weight clipping/,
    );
    assert.match(problems({ generator: { type: 'mlp', spectralNorm: true } }).join(), /generator\.spectralNorm: .*discriminator/);
    assert.match(problems({ generator: { type: 'mlp', minibatchDiscrimination: {} } }).join(), /generator\.minibatchDiscrimination/);
    assert.match(
      problems({ generator: { type: 'layers', layers: [{ type: 'minibatchDiscrimination' }, { type: 'dense', units: 2 }] } }).join(),
      /generator\.layers\[0\]\.type: "minibatchDiscrimination" is a discriminator layer/,
    );
    assert.match(problems({ training: { historicalAveraging: 0 } }).join(), /training\.historicalAveraging/);
    assert.match(
      problems({ generator: { type: 'mlp', batchNorm: 'virtual' }, conditional: true }).join(),
      /conditional: .*virtual batch norm of generator\.batchNorm/,
    );
    assert.match(
      problems({ discriminator: { type: 'mlp', batchNorm: 'virtual', minibatchDiscrimination: {} } }).join(),
      /discriminator\.minibatchDiscrimination: .*virtual batch norm of discriminator\.batchNorm/,
    );
  });
});

describe('exact resume with the stateful improvements (historical averages, spectral norm’s u, virtual batch norm’s reference)', () => {
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-improvements-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const state = (gan: Gan) =>
    [...gan.generator.namedVariables(), ...gan.discriminator.namedVariables(), ...gan.historicalAverages!.namedVariables()].map(({ name, variable }) => [
      name,
      Array.from(variable.dataSync()),
    ]);

  it('N steps equal N/2 + save + restore + N/2', async () => {
    const result = validateConfig({
      name: 'resume',
      seed: 5,
      data: { type: 'ring' },
      generator: { type: 'mlp', depth: 1, width: 8, batchNorm: 'virtual' },
      discriminator: { type: 'mlp', depth: 2, width: 8, activation: 'leakyRelu', spectralNorm: true, minibatchDiscrimination: { kernels: 3, dimension: 2 } },
      training: { batchSize: 8, labelSmoothing: 0.9, featureMatching: { layer: 1 }, historicalAveraging: 0.1 },
    });
    assert.ok(result.ok);
    const c = result.config;
    const straight = new Gan(c, await loadData(c.data, '.'));
    for (let i = 0; i < 4; i++) await straight.step(false);
    const expected = state(straight);
    const expectedNext = await straight.step(true);
    straight.dispose();

    const first = new Gan(c, await loadData(c.data, '.'));
    for (let i = 0; i < 2; i++) await first.step(false);
    await saveCheckpoint(dir, first, 2, 1);
    first.dispose();
    const second = new Gan(c, await loadData(c.data, '.'));
    await restoreCheckpoint(dir, 2, second);
    for (let i = 0; i < 2; i++) await second.step(false);
    assert.deepEqual(state(second), expected);
    const next = await second.step(true);
    assert.equal(next.dLoss, expectedNext.dLoss);
    assert.equal(next.gLoss, expectedNext.gLoss);
    assert.equal(next.featureMatching, expectedNext.featureMatching);
    assert.equal(next.spectralNorm, expectedNext.spectralNorm);
    second.dispose();
  });

  it('a checkpoint without historical averages (a fork that turns it on) starts them from the restored weights, t = 1', async () => {
    const base = {
      name: 'fork',
      seed: 2,
      data: { type: 'ring' },
      generator: { type: 'mlp', depth: 1, width: 4 },
      discriminator: { type: 'mlp', depth: 1, width: 4 },
    };
    const [plain, averaged] = [validateConfig(base), validateConfig({ ...base, training: { historicalAveraging: 0.1 } })];
    assert.ok(plain.ok && averaged.ok);
    const first = new Gan(plain.config, await loadData(plain.config.data, '.'));
    for (let i = 0; i < 2; i++) await first.step(false);
    const runDir = path.join(dir, 'fork');
    await saveCheckpoint(runDir, first, 2, 1);
    const trained = first.generator.trainableVariables().map((v) => Array.from(v.dataSync()));
    first.dispose();
    const second = new Gan(averaged.config, await loadData(averaged.config.data, '.'));
    await restoreCheckpoint(runDir, 2, second);
    const averages = second.historicalAverages!.namedVariables().filter(({ name }) => name.startsWith('generator/historicalAverage/'));
    assert.deepEqual(
      averages.filter(({ name }) => !name.endsWith('count')).map(({ variable }) => Array.from(variable.dataSync())),
      trained,
    );
    assert.deepEqual(Array.from(averages.find(({ name }) => name.endsWith('count'))!.variable.dataSync()), [1]);
    second.dispose();
  });

  it('metrics.jsonl carries featureMatching and spectralNorm', async () => {
    const configPath = path.join(dir, 'metrics.gan.json');
    await writeFile(
      configPath,
      JSON.stringify({
        name: 'metrics',
        data: { type: 'ring' },
        generator: { type: 'mlp', depth: 1, width: 8 },
        discriminator: { type: 'mlp', depth: 1, width: 8, spectralNorm: true },
        training: { steps: 4, batchSize: 8, featureMatching: { layer: 0 } },
        logging: { metricsEvery: 2, histogramsEvery: 2, samplesEvery: 4, sampleCount: 10, checkpointEvery: 4 },
      }),
    );
    const run = await train({ configPath, runsDir: path.join(dir, 'runs'), backend: 'cpu' });
    assert.equal(run.status, 'completed', run.error ?? '');
    const records = (await readFile(path.join(run.runDir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as MetricsRecord);
    assert.equal(records.length, 2);
    for (const r of records) {
      assert.equal(typeof r.featureMatching, 'number');
      assert.ok(r.spectralNorm! > 0);
      close(r.gLoss, r.featureMatching!, 'gLoss is the feature-matching distance');
    }
  });
});
