/**
 * Discrete data through Gumbel-softmax (seed 003 §4.5; Jang et al. 2017; Maddison et al. 2017), checked
 * against the formulas computed here independently, for fixed U:
 *   g = -log(-log U),  y = softmax((l + g)/τ),  ∂y_i/∂l_j = (1/τ) y_i (δ_ij - y_j)
 * y → one-hot(argmax(l + g)) as τ → 0, and argmax(l + g) ~ softmax(l) (the Gumbel-max trick). Also the
 * categorical CSV columns (one-hot in, category indices out) and the config's refusals.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { configJsonSchema, formatProblem, validateConfig, type GanConfigInput } from '../../src/protocol/config';
import { categoricalGroups, dataSpaceWidth, loadData, type DataSource } from '../../src/trainer/data';
import { CategoricalGenerator, gumbelNoise, gumbelSoftmax } from '../../src/trainer/gumbelSoftmax';
import type { Network } from '../../src/trainer/layerNetwork';
import { Random } from '../../src/trainer/random';

const LOGITS = [
  [1, 0.5, -1],
  [0, 2, 0.3],
];
const U = [
  [0.3, 0.8, 0.55],
  [0.9, 0.05, 0.6],
];
const gumbelOf = (u: number) => -Math.log(-Math.log(u));

/** softmax((l + g)/τ) of one row, by hand. */
function relaxed(logits: number[], g: number[], tau: number): number[] {
  const a = logits.map((l, i) => (l + g[i]) / tau);
  const max = Math.max(...a);
  const e = a.map((x) => Math.exp(x - max));
  const sum = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / sum);
}

const argmax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

function close(actual: ArrayLike<number>, expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** A Random whose uniform() returns the given values in turn. */
function fixedUniforms(values: number[]): Random {
  let i = 0;
  return { uniform: () => values[i++], int: (n: number) => Math.floor(values[i++] * n) } as unknown as Random;
}

describe('Gumbel-softmax', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('draws g = -log(-log U) from the stream it is given, drawing U = 0 again', () => {
    close(gumbelNoise(fixedUniforms([0.3, 0, 0.8]), 2), [gumbelOf(0.3), gumbelOf(0.8)], 1e-6, 'g');
    const [a, b] = [new Random('s'), new Random('s')];
    close(
      gumbelNoise(a, 5),
      Array.from({ length: 5 }, () => gumbelOf(b.uniform())),
      1e-6,
      'g from a seeded stream',
    );
  });

  it('is softmax((logits + g)/τ) for fixed U, with the gradient (1/τ) y_i (δ_ij - y_j)', () => {
    const tau = 0.7;
    const g = U.map((row) => row.map(gumbelOf));
    const expected = LOGITS.map((row, r) => relaxed(row, g[r], tau));
    const y = tf.tidy(() => gumbelSoftmax(tf.tensor2d(LOGITS), tf.tensor2d(g), tau).arraySync());
    y.forEach((row, r) => close(row, expected[r], 1e-5, `y[${r}]`));
    // ∂(Σ w·y)/∂l_j = (1/τ) y_j (w_j - Σ_i w_i y_i), by hand.
    const w = [
      [1, -2, 0.5],
      [0.3, 1, -1],
    ];
    const expectedGradient = expected.map((row, r) => {
      const mean = row.reduce((s, yi, i) => s + w[r][i] * yi, 0);
      return row.map((yj, j) => (yj * (w[r][j] - mean)) / tau);
    });
    const gradient = tf.tidy(() =>
      tf
        .grad((l: tf.Tensor) => tf.sum(tf.mul(gumbelSoftmax(l as tf.Tensor2D, tf.tensor2d(g), tau), tf.tensor2d(w))))(tf.tensor2d(LOGITS))
        .arraySync(),
    ) as number[][];
    gradient.forEach((row, r) => close(row, expectedGradient[r], 1e-5, `∂/∂l[${r}]`));
    // Straight-through: the one-hot forward, the soft sample's gradient.
    const hard = tf.tidy(() => gumbelSoftmax(tf.tensor2d(LOGITS), tf.tensor2d(g), tau, true).arraySync());
    hard.forEach((row, r) =>
      close(
        row,
        [0, 1, 2].map((i) => (i === argmax(expected[r]) ? 1 : 0)),
        0,
        `hard y[${r}]`,
      ),
    );
    const hardGradient = tf.tidy(() =>
      tf
        .grad((l: tf.Tensor) => tf.sum(tf.mul(gumbelSoftmax(l as tf.Tensor2D, tf.tensor2d(g), tau, true), tf.tensor2d(w))))(tf.tensor2d(LOGITS))
        .arraySync(),
    ) as number[][];
    hardGradient.forEach((row, r) => close(row, expectedGradient[r], 1e-5, `straight-through ∂/∂l[${r}]`));
  });

  it('approaches the one-hot argmax of logits + g as τ → 0', () => {
    const g = U.map((row) => row.map(gumbelOf));
    let previous = Infinity;
    for (const tau of [1, 0.3, 0.1, 0.03, 0.01]) {
      const y = tf.tidy(() => gumbelSoftmax(tf.tensor2d(LOGITS), tf.tensor2d(g), tau).arraySync());
      const distance = Math.max(
        ...y.flatMap((row, r) => {
          const best = argmax(LOGITS[r].map((l, i) => l + g[r][i]));
          return row.map((yi, i) => Math.abs(yi - (i === best ? 1 : 0)));
        }),
      );
      assert.ok(distance < previous, `τ ${tau}: ${distance} is not below ${previous}`);
      previous = distance;
    }
    assert.ok(previous < 1e-3, `at τ 0.01 the sample is ${previous} from one-hot`);
  });

  it('draws categories with probabilities softmax(logits) (the Gumbel-max trick)', () => {
    const logits = [1.2, -0.4, 0.3, 0];
    const max = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - max));
    const p = e.map((x) => x / e.reduce((s, y) => s + y, 0));
    const draws = 40000;
    const random = new Random('gumbel-max');
    const counts = new Array<number>(logits.length).fill(0);
    const g = gumbelNoise(random, draws * logits.length);
    for (let n = 0; n < draws; n++) counts[argmax(logits.map((l, i) => l + g[n * logits.length + i]))]++;
    // 4 standard errors of a frequency (≤ 0.0025 at 40,000 draws).
    close(
      counts.map((c) => c / draws),
      p,
      0.01,
      'frequencies',
    );
  });

  it("relaxes G's categorical groups, leaves its numeric units linear, and gives one-hot argmaxes when sampling", () => {
    const logits = [[0.4, 1, -2, 0.1, 3, 0.2, 0]];
    // Units: a numeric column, a 3-category column, a numeric column, a 2-category column.
    const groups = categoricalGroups([{ name: 'a' }, { name: 'b', categories: ['x', 'y', 'z'] }, { name: 'c' }, { name: 'd', categories: ['no', 'yes'] }]);
    assert.deepEqual(groups, [
      { offset: 1, size: 3 },
      { offset: 5, size: 2 },
    ]);
    const inner = { apply: (x: tf.Tensor2D) => tf.add(x, 0) as tf.Tensor2D, dispose: () => {} } as unknown as Network;
    const uniforms = [0.2, 0.7, 0.4, 0.6, 0.1];
    const stream = fixedUniforms(uniforms);
    const generator = new CategoricalGenerator(inner, { groups, gumbelSoftmax: { temperature: 0.5, hard: false }, random: () => stream });
    const trained = tf.tidy(() => generator.apply(tf.tensor2d(logits), true).arraySync())[0];
    const g = uniforms.map(gumbelOf);
    close(trained, [0.4, ...relaxed([1, -2, 0.1], g.slice(0, 3), 0.5), 3, ...relaxed([0.2, 0], g.slice(3), 0.5)], 1e-5, 'training pass');
    // Sampling: argmax(logits + g), one-hot (with a gap no likely g closes), the numeric units as they are.
    const sampled = tf.tidy(() => generator.apply(tf.tensor2d([[0.4, 1, -2, 40, 3, 40, -40]]), false).arraySync())[0];
    close(sampled, [0.4, 0, 0, 1, 3, 1, 0], 1e-6, 'sampling pass');
  });
});

describe('categorical CSV columns', () => {
  async function table(csv: string, data: Record<string, unknown>): Promise<DataSource> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-categorical-'));
    await writeFile(path.join(dir, 't.csv'), csv);
    const result = validateConfig({ ...base, data: { type: 'csv', path: 't.csv', ...data } });
    assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('; '));
    return loadData(result.config.data, dir);
  }

  it('one-hot encodes them, standardizes the numeric ones and maps samples back to category indices', async () => {
    const data = await table('size,colour,kind\n1,red,a\n3,green,b\n5,blue,a\n7,red,b\n', { categorical: ['colour', 'kind'], normalize: true });
    assert.equal(data.dimension, 1 + 3 + 2);
    assert.equal(dataSpaceWidth(data), 3);
    assert.deepEqual(data.columns, [{ name: 'size' }, { name: 'colour', categories: ['blue', 'green', 'red'] }, { name: 'kind', categories: ['a', 'b'] }]);
    const rows = data.sample(fixedUniforms([0, 0.3, 0.6, 0.9]), 4);
    const std = Math.sqrt(5);
    close(rows, [-3 / std, 0, 0, 1, 1, 0, -1 / std, 0, 1, 0, 0, 1, 1 / std, 1, 0, 0, 1, 0, 3 / std, 0, 0, 1, 0, 1], 1e-5, 'model rows');
    close(data.toDataSpace(Float32Array.from([0.5, 0.1, 0.7, 0.2, -1, 2])), [4 + 0.5 * std, 1, 1], 1e-5, 'data row');
  });

  it('refuses a column with a single value or more than 64, naming data.categorical', async () => {
    await assert.rejects(table('x,c\n1,a\n2,a\n', { categorical: ['c'] }), /data\.categorical: column "c" has a single value \("a"\)/);
    const many = ['x,c', ...Array.from({ length: 70 }, (_, i) => `${i},v${i}`)].join('\n');
    await assert.rejects(table(many, { categorical: ['c'] }), /data\.categorical: column "c" has 70 distinct values; a categorical column has at most 64/);
    await assert.rejects(table('x,c\n1,a\n2,b\n', { categorical: ['colour'] }), /data\.categorical: no column named "colour"/);
    await assert.rejects(table('x,c\n1,a\n2,b\n', {}), /column c: "a" is not a finite number \(name it in data\.categorical if it holds categories\)/);
  });
});

const base: GanConfigInput = { name: 'cat', data: { type: 'ring' }, generator: { type: 'mlp' }, discriminator: { type: 'mlp' } };

describe('categorical config', () => {
  const problems = (input: Partial<GanConfigInput>) => {
    const result = validateConfig({ ...base, ...input });
    return result.ok ? [] : result.problems.map(formatProblem);
  };
  const csv = { type: 'csv' as const, path: 't.csv', categorical: ['kind'] };

  it('fills the Gumbel-softmax defaults (τ = 2/3, soft)', () => {
    const result = validateConfig({ ...base, data: csv, generator: { type: 'mlp', gumbelSoftmax: {} } });
    assert.ok(result.ok);
    assert.deepEqual((result.config.generator as { gumbelSoftmax?: unknown }).gumbelSoftmax, { temperature: 2 / 3, hard: true });
  });

  it('refuses gumbelSoftmax without categorical data, on D, and a temperature ≤ 0, naming the fields', () => {
    assert.deepEqual(problems({ generator: { type: 'mlp', gumbelSoftmax: {} } }), [
      'generator.gumbelSoftmax: needs categorical columns to relax: only CSV data (data.type "csv") has them, with data.categorical (data.type is "ring"); remove gumbelSoftmax',
    ]);
    assert.deepEqual(problems({ data: { type: 'csv', path: 't.csv' }, generator: { type: 'mlp', gumbelSoftmax: { temperature: 0.5 } } }), [
      'generator.gumbelSoftmax: needs categorical columns to relax, but data.categorical is not set (name the CSV columns that hold categories, or remove gumbelSoftmax)',
    ]);
    assert.deepEqual(problems({ data: csv, generator: { type: 'mlp', gumbelSoftmax: { temperature: 0 } } }), [
      'generator.gumbelSoftmax.temperature: expected > 0, got 0',
    ]);
    assert.deepEqual(problems({ data: csv, generator: { type: 'mlp', gumbelSoftmax: { temperature: -1 } } }), [
      'generator.gumbelSoftmax.temperature: expected > 0, got -1',
    ]);
    assert.deepEqual(problems({ data: csv, discriminator: { type: 'mlp', gumbelSoftmax: {} } }), [
      "discriminator.gumbelSoftmax: relaxes G's categorical outputs (Jang et al. 2017); set it on generator instead",
    ]);
  });

  it('refuses a categorical column that is the label column, not among data.columns, or named twice', () => {
    assert.deepEqual(problems({ data: { ...csv, categorical: ['kind', 'kind'] } }), ['data.categorical[1]: "kind" is named twice']);
    assert.deepEqual(problems({ data: { ...csv, labelColumn: 'kind' } }), [
      'data.categorical[0]: "kind" is data.labelColumn: the class column cannot be a feature (remove it from data.categorical)',
    ]);
    assert.deepEqual(problems({ data: { ...csv, columns: ['x'] } }), [
      'data.categorical[0]: "kind" is not in data.columns: a categorical column is a feature column (add it to data.columns or remove it here)',
    ]);
    assert.deepEqual(problems({ data: { ...csv, categorical: [] } }), ['data.categorical: expected at least 1 items, got an array']);
  });

  it('gives the editor hover text that cites the papers', () => {
    const schema = JSON.stringify(configJsonSchema());
    assert.match(schema, /Jang, Gu & Poole 2017/);
    assert.match(schema, /Maddison, Mnih & Teh 2017/);
    assert.match(schema, /distinct values/);
  });
});
