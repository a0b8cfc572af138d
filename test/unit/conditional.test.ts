/**
 * The conditional GAN (Mirza & Osindero 2014): G(z, y) and D(x, y) with y one-hot over the data's
 * classes. The networks are checked on hand-set weights against products computed here in plain
 * JavaScript (never by the code under test): a linear G is [z; y]·W + β, a linear D [x; y]·w + b,
 * and a 1×1 convolution over an image with the label maps appended as channels is, at each pixel,
 * k_x·x + k_y[label]. The step is checked by spying on D (each real row arrives with its own label),
 * the sample grid by a G whose output is its label, resume by comparing with a run that was not
 * interrupted, and the whole path by short runs on MNIST, a ring and a CSV on the pure-JS backend.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import { configJsonSchema, formatProblem, validateConfig, type GanConfig, type GanConfigInput } from '../../src/protocol/config';
import type { PointSamples } from '../../src/protocol/runDirectory';
import { encodeImageGrid } from '../../src/runs/imageGrid';
import { readConfigSnapshot } from '../../src/runs/runReader';
import { restoreCheckpoint, saveCheckpoint } from '../../src/trainer/checkpoint';
import { blockLabels, classGridLayout, joinLabels, oneHot } from '../../src/trainer/conditioning';
import { DataError, loadData, ringModes } from '../../src/trainer/data';
import { exportGenerator } from '../../src/trainer/exportGenerator';
import { Gan } from '../../src/trainer/gan';
import { loadBuiltInMnist } from '../../src/trainer/imageData';
import { buildNetwork } from '../../src/trainer/layerNetwork';
import { Random } from '../../src/trainer/random';
import { sampleRun } from '../../src/trainer/sample';
import { fixedSamples, realClassGrid, train } from '../../src/trainer/train';

function valid(input: GanConfigInput): GanConfig {
  const result = validateConfig(input);
  assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('; '));
  return result.config;
}

function problems(input: unknown): string[] {
  const result = validateConfig(input);
  assert.equal(result.ok, false, 'expected the config to be refused');
  return result.ok ? [] : result.problems.map(formatProblem);
}

function set(variable: tf.Variable, values: number[]): void {
  tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
}

function variable(net: { namedVariables(): { name: string; variable: tf.Variable }[] }, name: string): tf.Variable {
  const found = net.namedVariables().find((v) => v.name === name);
  assert.ok(
    found,
    `no variable ${name} (have ${net
      .namedVariables()
      .map((v) => v.name)
      .join(', ')})`,
  );
  return found.variable;
}

function png(width: number, height: number, grey: number): Buffer {
  const image = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) image.data.set([grey, grey, grey, 255], i * 4);
  return PNG.sync.write(image);
}

/** A 2×3 matrix product by hand: rows · matrix (+ bias). */
function affine(rows: number[][], matrix: number[][], bias: number[]): number[][] {
  return rows.map((row) => bias.map((b, k) => row.reduce((sum, v, j) => sum + v * matrix[j][k], b)));
}

function close(actual: ArrayLike<number>, expected: number[], what: string, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

const ring3 = { type: 'ring', modes: 3 } as const;
const Z = [
  [0.5, -1.0],
  [1.2, 0.3],
  [-0.7, 0.4],
  [-1.5, -0.2],
];
const Y = [2, 0, 1, 2];
const ONE_HOT = Y.map((y) => [0, 1, 2].map((c) => (c === y ? 1 : 0)));
/** W[j][k], j over [z1, z2, y0, y1, y2] (latent then one-hot), k over the two outputs. */
const W = [
  [0.6, -0.2],
  [0.3, 0.8],
  [1.0, -1.0],
  [0.25, 0.5],
  [-2.0, 3.0],
];
const BETA = [0.05, -0.1];

describe('conditional GAN', () => {
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-conditional-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  describe('config', () => {
    const base = { name: 'c', data: ring3, generator: { type: 'mlp' }, discriminator: { type: 'mlp' } } as const;

    it('takes true or options, writes true out as its defaults and leaves false out', () => {
      assert.deepEqual(valid({ ...base, conditional: true }).conditional, { discriminatorLabels: 'input' });
      assert.deepEqual(valid({ ...base, conditional: { discriminatorLabels: 'dense' } }).conditional, { discriminatorLabels: 'dense' });
      assert.equal('conditional' in valid({ ...base, conditional: false }), false);
      assert.equal('conditional' in valid(base), false);
      // A resolved config (a run's config.json) validates again as it is.
      const resolved = valid({ ...base, conditional: true });
      assert.deepEqual(valid(resolved as GanConfigInput), resolved);
      const schema = configJsonSchema() as { properties: Record<string, { description?: string }> };
      assert.match(schema.properties.conditional.description ?? '', /Mirza & Osindero 2014/);
    });

    it('refuses conditional data without labels, naming the fields', () => {
      assert.deepEqual(problems({ ...base, conditional: true, data: { type: 'csv', path: 'table.csv' } }), [
        "conditional: needs labelled data, but data.labelColumn is not set (name the CSV column that holds each row's class); or remove conditional",
      ]);
      assert.deepEqual(problems({ ...base, conditional: true, data: { type: 'idx', images: 'train-images-idx3-ubyte.gz' } }), [
        'conditional: needs labelled data, but data.labels is not set (give the IDX labels file, e.g. train-labels-idx1-ubyte.gz); or remove conditional',
      ]);
      assert.deepEqual(problems({ ...base, data: { type: 'csv', path: 't.csv', columns: ['a', 'b'], labelColumn: 'b' } }), [
        'data.labelColumn: "b" is also in data.columns: the class column cannot be a feature (remove it from data.columns)',
      ]);
      assert.deepEqual(
        problems({
          ...base,
          conditional: { discriminatorLabels: 'dense' },
          discriminator: { type: 'layers', layers: [{ type: 'conv2d', filters: 1 }] },
        }),
        [
          `conditional.discriminatorLabels: "dense" joins the label at D's first dense layer, but discriminator.layers has none (use "input" or add a dense layer)`,
        ],
      );
      assert.deepEqual(problems({ ...base, conditional: 'yes' }), [
        'conditional: expected true, false or an object such as { "discriminatorLabels": "input" }, got "yes"',
      ]);
      assert.deepEqual(problems({ ...base, conditional: { discriminatorLabel: 'input' } }), [
        'conditional.discriminatorLabel: unknown field (remove it or check its spelling)',
      ]);
      // The labelled kinds pass.
      for (const data of [
        ring3,
        { type: 'grid' },
        { type: 'mnist' },
        { type: 'idx', images: 'i.gz', labels: 'l.gz' },
        { type: 'csv', path: 't.csv', labelColumn: 'k' },
      ]) {
        valid({ ...base, conditional: true, data } as GanConfigInput);
      }
    });

    it('refuses an image folder without class sub-folders when the data is loaded, before anything is written', async () => {
      const folder = path.join(dir, 'flat-images');
      await mkdir(folder, { recursive: true });
      for (const name of ['a.png', 'b.png']) await writeFile(path.join(folder, name), png(4, 4, 200));
      const config = valid({
        name: 'flat',
        data: { type: 'images', path: folder, size: 4, channels: 1 },
        conditional: true,
        latent: { size: 2 },
        generator: { type: 'mlp', depth: 0 },
        discriminator: { type: 'mlp', depth: 0 },
      });
      const data = await loadData(config.data, dir);
      assert.throws(
        () => new Gan(config, data),
        (error: unknown) =>
          error instanceof DataError &&
          error.message.includes(`data.path "${folder}"`) &&
          /put the images of each class in their own sub-folder/.test(error.message),
      );
      const configFile = path.join(dir, 'flat.gan.json');
      await writeFile(configFile, JSON.stringify(config));
      const runs = path.join(dir, 'runs-flat');
      await assert.rejects(train({ configPath: configFile, runsDir: runs, backend: 'cpu' }), DataError);
      assert.deepEqual(await readdir(runs).catch(() => []), [], 'no run directory');
    });
  });

  describe('labelled data', () => {
    it('gives a mixture sample the index of its mode as its class, drawing as sample() does', async () => {
      const data = await loadData({ type: 'ring', modes: 8, radius: 1, std: 0.01 }, '.');
      assert.deepEqual(data.classNames, ['0', '1', '2', '3', '4', '5', '6', '7']);
      const { values, labels } = data.sampleLabelled(new Random('ring'), 50);
      const modes = ringModes(8, 1);
      for (let i = 0; i < 50; i++) {
        const mode = modes[labels[i]];
        assert.ok(Math.hypot(values[2 * i] - mode[0], values[2 * i + 1] - mode[1]) < 0.06, `point ${i} lies at its mode ${labels[i]}`);
      }
      assert.deepEqual([...data.sample(new Random('ring'), 50)], [...values], 'the same draws as sample()');
    });

    it('reads a CSV labelColumn: the other columns are the features, the sorted distinct values the classes', async () => {
      const file = path.join(dir, 'labelled.csv');
      await writeFile(file, 'x,kind,y\n1,b,10\n2,a,20\n3,b,30\n4,c,40\n');
      const data = await loadData({ type: 'csv', path: file, labelColumn: 'kind', normalize: false }, dir);
      assert.equal(data.dimension, 2);
      assert.deepEqual(data.classNames, ['a', 'b', 'c']);
      const { values, labels } = data.sampleLabelled(new Random('csv'), 40);
      const classOfX = { 1: 1, 2: 0, 3: 1, 4: 2 } as Record<number, number>;
      for (let i = 0; i < 40; i++) {
        assert.equal(values[2 * i + 1], values[2 * i] * 10, 'a whole row of features, without the class');
        assert.equal(labels[i], classOfX[values[2 * i]], `row with x = ${values[2 * i]}`);
      }
      await writeFile(file, 'x,digit\n1,10\n2,9\n3,10\n');
      assert.deepEqual(
        (await loadData({ type: 'csv', path: file, labelColumn: 'digit', normalize: false }, dir)).classNames,
        ['9', '10'],
        'numbers sort as numbers',
      );
      await assert.rejects(
        loadData({ type: 'csv', path: file, labelColumn: 'kind', normalize: false }, dir),
        /data\.labelColumn: no column named "kind" \(columns: x, digit\)/,
      );
      await writeFile(file, 'x,k\n1,a\n2,\n');
      await assert.rejects(loadData({ type: 'csv', path: file, labelColumn: 'k', normalize: false }, dir), /line 3, column k: the class is empty/);
    });

    it('keeps the selected digits as the classes, in order', async () => {
      const set = await loadBuiltInMnist([5, 3]);
      assert.deepEqual(set.classNames, ['3', '5']);
      assert.deepEqual([...new Set(set.labels)].sort(), [0, 1]);
    });
  });

  describe('networks', () => {
    it('an mlp G concatenates the one-hot label to z: G(z, y) = [z; y]·W + β', async () => {
      const config = valid({
        name: 'g',
        data: ring3,
        conditional: true,
        latent: { size: 2 },
        generator: { type: 'mlp', depth: 0 },
        discriminator: { type: 'mlp', depth: 0 },
      });
      const gan = new Gan(config, await loadData(config.data, '.'));
      try {
        assert.equal(gan.classes, 3);
        assert.deepEqual(variable(gan.generator, 'generator/output/kernel').shape, [5, 2], 'fan-in latent + classes, same variable name');
        set(variable(gan.generator, 'generator/output/kernel'), W.flat());
        set(variable(gan.generator, 'generator/output/bias'), BETA);
        const expected = affine(
          Z.map((z, i) => [...z, ...ONE_HOT[i]]),
          W,
          BETA,
        ).flat();
        const z = tf.tensor2d(Z);
        close(await gan.generate(z, Y), expected, 'G(z, y)');
        const y = oneHot(Y, 3);
        const out = gan.generator.apply(z, true, y);
        close(out.dataSync(), expected, 'apply(z, training, y)');
        assert.throws(() => gan.generator.apply(z, false), /generator: a conditional network needs each sample's label/);
        tf.dispose([z, y, out]);
      } finally {
        gan.dispose();
      }
    });

    it('an mlp D concatenates the one-hot label to its input row: D(x, y) = [x; y]·w + b', async () => {
      const config = valid({
        name: 'd',
        data: ring3,
        conditional: true,
        latent: { size: 2 },
        generator: { type: 'mlp', depth: 0 },
        discriminator: { type: 'mlp', depth: 0 },
      });
      const gan = new Gan(config, await loadData(config.data, '.'));
      try {
        const w = [0.7, -0.4, 1.5, -2.5, 0.125];
        set(variable(gan.discriminator, 'discriminator/output/kernel'), w);
        set(variable(gan.discriminator, 'discriminator/output/bias'), [0.3]);
        const expected = Z.map((x, i) => [...x, ...ONE_HOT[i]].reduce((s, v, j) => s + v * w[j], 0.3));
        const [x, y] = [tf.tensor2d(Z), oneHot(Y, 3)];
        const out = gan.discriminator.apply(x, false, y);
        close(out.dataSync(), expected, 'D(x, y)');
        tf.dispose([x, y, out]);
      } finally {
        gan.dispose();
      }
    });

    it('a layers G concatenates the one-hot label to z before its first layer', async () => {
      const config = valid({
        name: 'lg',
        data: ring3,
        conditional: true,
        latent: { size: 2 },
        generator: { type: 'layers', layers: [{ type: 'dense', units: 2 }] },
        discriminator: { type: 'mlp', depth: 0 },
      });
      const gan = new Gan(config, await loadData(config.data, '.'));
      try {
        const kernel = variable(gan.generator, 'generator/layer0-dense/kernel');
        assert.deepEqual(kernel.shape, [5, 2]);
        set(kernel, W.flat());
        set(variable(gan.generator, 'generator/layer0-dense/bias'), BETA);
        const z = tf.tensor2d(Z);
        close(
          await gan.generate(z, Y),
          affine(
            Z.map((row, i) => [...row, ...ONE_HOT[i]]),
            W,
            BETA,
          ).flat(),
          'G(z, y)',
        );
        z.dispose();
      } finally {
        gan.dispose();
      }
    });

    it('joins the label to images as constant one-hot feature maps, one extra channel per class', () => {
      // Two 2×2 one-channel images, labels 1 and 0 of 2 classes.
      const images = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
      const labels = oneHot([1, 0], 2);
      const joined = joinLabels(images, labels);
      assert.deepEqual(joined.shape, [2, 2, 2, 3]);
      // NHWC: each pixel is [value, map of class 0, map of class 1].
      assert.deepEqual(Array.from(joined.dataSync()), [1, 0, 1, 2, 0, 1, 3, 0, 1, 4, 0, 1, 5, 1, 0, 6, 1, 0, 7, 1, 0, 8, 1, 0]);
      tf.dispose([images, labels, joined]);
    });

    it('a conv D reads the label maps as input channels: a 1×1 convolution gives k_x·x + k_y[label] at each pixel', async () => {
      const config = valid({
        name: 'maps',
        data: ring3,
        conditional: true,
        generator: { type: 'mlp', depth: 0 },
        discriminator: {
          type: 'layers',
          layers: [{ type: 'conv2d', filters: 1, kernel: 1, stride: 1, bias: false }, { type: 'flatten' }, { type: 'dense', units: 1 }],
        },
      });
      const d = buildNetwork('discriminator', config.discriminator, 2, [2, 2, 1], new Random('w'), { classes: 3, at: 'input' });
      try {
        const conv = variable(d, 'discriminator/layer0-conv2d/kernel');
        assert.deepEqual(conv.shape, [1, 1, 4, 1], '1 image channel + 3 label maps in');
        const k = [0.5, 10, 20, 30];
        set(conv, k);
        const v = [1, -1, 2, 0.5];
        set(variable(d, 'discriminator/layer2-dense/kernel'), v);
        set(variable(d, 'discriminator/layer2-dense/bias'), [0.25]);
        const pixels = [
          [0.1, 0.2, 0.3, 0.4],
          [-1, 0, 1, 0.5],
        ];
        const labels = [2, 0];
        const expected = pixels.map((row, i) => row.reduce((s, x, p) => s + (k[0] * x + k[1 + labels[i]]) * v[p], 0.25));
        const [x, y] = [tf.tensor2d(pixels), oneHot(labels, 3)];
        const out = d.apply(x, false, y);
        close(out.dataSync(), expected, 'D(x, y)');
        tf.dispose([x, y, out]);
      } finally {
        d.dispose();
      }
    });

    it('with discriminatorLabels "dense", a conv D joins the label to the flattened features at its first dense layer', async () => {
      const config = valid({
        name: 'dense',
        data: ring3,
        conditional: { discriminatorLabels: 'dense' },
        generator: { type: 'mlp', depth: 0 },
        discriminator: {
          type: 'layers',
          layers: [{ type: 'conv2d', filters: 1, kernel: 1, stride: 1, bias: false }, { type: 'flatten' }, { type: 'dense', units: 1 }],
        },
      });
      const d = buildNetwork('discriminator', config.discriminator, 2, [2, 2, 1], new Random('w'), { classes: 3, at: 'dense' });
      try {
        assert.deepEqual(variable(d, 'discriminator/layer0-conv2d/kernel').shape, [1, 1, 1, 1], 'the convolution sees the image only');
        set(variable(d, 'discriminator/layer0-conv2d/kernel'), [2]);
        const v = [1, -1, 2, 0.5, 100, 200, 300];
        const dense = variable(d, 'discriminator/layer2-dense/kernel');
        assert.deepEqual(dense.shape, [4 + 3, 1]);
        set(dense, v);
        set(variable(d, 'discriminator/layer2-dense/bias'), [0]);
        const pixels = [0.1, 0.2, 0.3, 0.4];
        const expected = [0, 1, 2].map((label) => pixels.reduce((s, x, p) => s + 2 * x * v[p], 0) + v[4 + label]);
        const [x, y] = [tf.tensor2d([pixels, pixels, pixels]), oneHot([0, 1, 2], 3)];
        const out = d.apply(x, false, y);
        close(out.dataSync(), expected, 'D(x, y)');
        tf.dispose([x, y, out]);
      } finally {
        d.dispose();
      }
    });
  });

  describe('the step', () => {
    const ring8 = (overrides: Partial<GanConfigInput> = {}) =>
      valid({
        name: 'c-ring',
        seed: 5,
        data: { type: 'ring', modes: 8, radius: 1, std: 0.01 },
        conditional: true,
        generator: { type: 'mlp', depth: 2, width: 8, batchNorm: true },
        discriminator: { type: 'mlp', depth: 2, width: 8, activation: 'leakyRelu' },
        training: { batchSize: 16 },
        ...overrides,
      });

    it("D's update sees each real sample with its own label, G's samples with the labels they were made for", async () => {
      const gan = new Gan(ring8({ training: { batchSize: 16, dStepsPerGStep: 2 } }), await loadData({ type: 'ring', modes: 8, radius: 1, std: 0.01 }, '.'));
      const modes = ringModes(8, 1);
      const calls: { role: string; x: Float32Array; y: Float32Array | null }[] = [];
      for (const [role, net] of [
        ['G', gan.generator],
        ['D', gan.discriminator],
      ] as const) {
        const apply = net.apply.bind(net);
        net.apply = (x, training, labels) => {
          const out = apply(x, training, labels);
          calls.push({ role, x: (role === 'G' ? out : x).dataSync() as Float32Array, y: labels ? (labels.dataSync() as Float32Array) : null });
          return out;
        };
      }
      const fakeLabels: number[] = [];
      try {
        for (let step = 0; step < 20; step++) {
          calls.length = 0;
          await gan.step(step % 2 === 0);
          // Per D update: G(z, y'), then D on the real batch and on G(z, y'); then G(z, y''), D(G(z, y''), y'').
          assert.deepEqual(
            calls.map((c) => c.role),
            ['G', 'D', 'D', 'G', 'D', 'D', 'G', 'D'],
          );
          const argmax = (y: Float32Array, i: number) => {
            const row = Array.from(y.subarray(i * 8, (i + 1) * 8));
            assert.equal(
              row.reduce((a, b) => a + b, 0),
              1,
              'one-hot',
            );
            return row.indexOf(1);
          };
          for (const real of [calls[1], calls[4]]) {
            for (let i = 0; i < 16; i++) {
              const label = argmax(real.y!, i);
              const nearest = modes.map((m) => Math.hypot(real.x[2 * i] - m[0], real.x[2 * i + 1] - m[1]));
              assert.equal(label, nearest.indexOf(Math.min(...nearest)), `step ${step}: real sample ${i} arrives with the class of its mode`);
            }
          }
          for (const [g, d] of [
            [calls[0], calls[2]],
            [calls[3], calls[5]],
            [calls[6], calls[7]],
          ]) {
            assert.deepEqual(d.y, g.y, 'D judges G(z, y) with the y G was given');
            assert.deepEqual(d.x, g.x, '…on that very output');
            for (let i = 0; i < 16; i++) fakeLabels.push(argmax(g.y!, i));
          }
          assert.notDeepEqual(calls[0].y, calls[6].y, "G's update draws fresh labels");
        }
      } finally {
        gan.dispose();
      }
      // Uniform over the 8 classes: 960 draws, 120 expected each (a binomial's std is about 10).
      const counts = new Array<number>(8).fill(0);
      for (const label of fakeLabels) counts[label]++;
      for (const [label, n] of counts.entries()) assert.ok(n > 80 && n < 160, `class ${label} drawn ${n} times of 960`);
    });

    it('runs every cost, and the losses are finite', async () => {
      for (const cost of [{ type: 'cross-entropy' }, { type: 'wasserstein' }, { type: 'wgan-gp' }, { type: 'hinge' }, { type: 'least-squares' }] as const) {
        const gan = new Gan(
          ring8({ discriminator: { type: 'mlp', depth: 2, width: 8, activation: 'leakyRelu' }, training: { batchSize: 8, dStepsPerGStep: 2, cost } }),
          await loadData({ type: 'ring', modes: 8, radius: 1, std: 0.01 }, '.'),
        );
        try {
          for (let i = 0; i < 3; i++) {
            const result = await gan.step(true);
            assert.ok(Number.isFinite(result.dLoss) && Number.isFinite(result.gLoss), `${cost.type}: ${result.dLoss}, ${result.gLoss}`);
            if (cost.type === 'wgan-gp') assert.ok(Number.isFinite(result.gradientPenalty));
          }
        } finally {
          gan.dispose();
        }
      }
    });

    it('leaks no tensors', async () => {
      const gan = new Gan(
        ring8({ training: { batchSize: 8, dStepsPerGStep: 2, cost: { type: 'wgan-gp' } } }),
        await loadData({ type: 'ring', modes: 8, radius: 1, std: 0.01 }, '.'),
      );
      try {
        await gan.step(true);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) await gan.step(i % 2 === 0);
        const z = gan.noise(4);
        await gan.generate(z, [0, 1, 2, 3]);
        z.dispose();
        assert.equal(tf.memory().numTensors, before);
      } finally {
        gan.dispose();
      }
    });

    for (const cost of [{ type: 'cross-entropy' }, { type: 'wgan-gp' }] as const) {
      it(`resumes exactly (${cost.type}): N steps equal N/2 + save + restore + N/2, and the next step is the same`, async () => {
        const c = ring8({ training: { batchSize: 16, cost } });
        const data = await loadData(c.data, '.');
        const weights = (gan: Gan) =>
          [...gan.generator.namedVariables(), ...gan.discriminator.namedVariables()].flatMap((v) => Array.from(v.variable.dataSync()));
        const straight = new Gan(c, data);
        for (let i = 0; i < 6; i++) await straight.step(false);
        const expected = weights(straight);
        const expectedNext = await straight.step(true);
        straight.dispose();

        const first = new Gan(c, data);
        for (let i = 0; i < 3; i++) await first.step(false);
        const runDir = path.join(dir, `resume-${cost.type}`);
        await saveCheckpoint(runDir, first, 3, 1);
        first.dispose();
        const second = new Gan(c, data);
        await restoreCheckpoint(runDir, 3, second);
        for (let i = 0; i < 3; i++) await second.step(false);
        assert.deepEqual(weights(second), expected, 'the same weights, bit for bit');
        const next = await second.step(true);
        assert.equal(next.dLoss, expectedNext.dLoss);
        assert.equal(next.gLoss, expectedNext.gLoss);
        assert.deepEqual(next.outputs, expectedNext.outputs);
        second.dispose();
      });
    }
  });

  describe('samples', () => {
    let folder: string;
    const GREYS = [0, 120, 250];
    const folderConfig = (sampleCount: number) =>
      valid({
        name: 'grid',
        seed: 2,
        data: { type: 'images', path: folder, size: 4, channels: 1 },
        conditional: true,
        latent: { size: 3 },
        generator: {
          type: 'layers',
          layers: [
            { type: 'dense', units: 16 },
            { type: 'reshape', shape: [4, 4, 1] },
          ],
        },
        discriminator: { type: 'layers', layers: [{ type: 'flatten' }, { type: 'dense', units: 1 }] },
        logging: { sampleCount },
      });
    before(async () => {
      folder = path.join(dir, 'classes');
      for (const [i, name] of ['dark', 'mid', 'light'].entries()) {
        await mkdir(path.join(folder, name), { recursive: true });
        for (const file of ['a.png', 'b.png']) await writeFile(path.join(folder, name, file), png(4, 4, GREYS[i]));
      }
    });

    it('lays the grid out as one row per class and one column per fixed noise vector, within IMAGE_GRID_MAX', () => {
      assert.deepEqual(classGridLayout(10, 100), { rows: 10, columns: 10 });
      assert.deepEqual(classGridLayout(3, 100), { rows: 3, columns: 33 });
      assert.deepEqual(classGridLayout(3, 12), { rows: 3, columns: 4 });
      assert.deepEqual(classGridLayout(250, 100), { rows: 100, columns: 1 }, 'more classes than fit: the first 100, one image each');
      assert.deepEqual([...blockLabels(7, [4, 9])], [4, 4, 4, 4, 9, 9, 9]);
    });

    it('draws row c of the sample grid from class c (a G that ignores z and outputs its label)', async () => {
      const config = folderConfig(12);
      const data = await loadData(config.data, dir);
      assert.deepEqual(data.classNames, ['dark', 'light', 'mid']);
      const gan = new Gan(config, data);
      const { sampleCount, gridLayout, fixedNoise, fixedLabels } = fixedSamples(gan, config, data);
      try {
        assert.equal(sampleCount, 12);
        assert.deepEqual(gridLayout, { shape: [4, 4, 1], columns: 4 });
        assert.deepEqual([...fixedLabels!], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
        const z = fixedNoise.arraySync();
        for (let n = 0; n < 12; n++) assert.deepEqual(z[n], z[n % 4], `cell ${n} uses noise vector ${n % 4}: the same z down a column`);
        assert.notDeepEqual(z[0], z[1]);
        // G(z, y) = v_y everywhere: the z rows of the kernel are 0, label row c is all v_c, no bias.
        const value = [-0.8, 0.1, 0.9];
        const kernel = [...new Array<number>(3 * 16).fill(0), ...value.flatMap((v) => new Array<number>(16).fill(v))];
        set(variable(gan.generator, 'generator/layer0-dense/kernel'), kernel);
        set(variable(gan.generator, 'generator/layer0-dense/bias'), new Array<number>(16).fill(0));
        const grid = PNG.sync.read(encodeImageGrid(await gan.generate(fixedNoise, fixedLabels!), sampleCount, gridLayout!));
        assert.equal(grid.width, 4 * 4 + 5 * 2);
        assert.equal(grid.height, 3 * 4 + 4 * 2);
        for (let row = 0; row < 3; row++) {
          for (let column = 0; column < 4; column++) {
            const [x, y] = [2 + column * 6 + 1, 2 + row * 6 + 1];
            assert.equal(grid.data[(y * grid.width + x) * 4], Math.round((value[row] + 1) * 127.5), `row ${row}, column ${column}`);
          }
        }
        // The real grid beside it: a real image of class c in row c.
        const real = realClassGrid(data, fixedLabels!, new Random('real'));
        const greyOf = { 0: GREYS[0], 1: GREYS[2], 2: GREYS[1] } as Record<number, number>;
        for (let n = 0; n < 12; n++) assert.ok(Math.abs((real[n * 16] + 1) * 127.5 - greyOf[fixedLabels![n]]) < 1, `real cell ${n}`);
      } finally {
        fixedNoise.dispose();
        gan.dispose();
      }
    });

    it('an image-folder run given a relative path samples a class, and resumes, from its run directory', async () => {
      const configFile = path.join(dir, 'folder.gan.json');
      const { data: _data, ...rest } = folderConfig(12);
      await writeFile(
        configFile,
        JSON.stringify({ ...rest, data: { type: 'images', path: 'classes', size: 4, channels: 1 }, training: { steps: 2, batchSize: 4 } }),
      );
      const runsDir = path.join(dir, 'runs-folder');
      const result = await train({ configPath: configFile, runsDir, backend: 'cpu' });
      assert.equal(result.status, 'completed', result.error ?? '');
      const drawn = await sampleRun({ runDir: result.runDir, count: 2, step: 'latest', seed: 0, backend: 'cpu', classes: ['mid'] });
      assert.deepEqual(drawn.labels, [2, 2]);
      assert.equal((await train({ resumeFrom: result.runDir, runsDir, backend: 'cpu', steps: 3 })).status, 'completed');
    });

    it('a 2-D conditional run trains, and its samples carry their labels', async () => {
      const configFile = path.join(dir, 'ring.gan.json');
      const input: GanConfigInput = {
        name: 'ring-conditional',
        data: { type: 'ring', modes: 4, radius: 1, std: 0.02 },
        conditional: true,
        generator: { type: 'mlp', depth: 1, width: 8 },
        discriminator: { type: 'mlp', depth: 1, width: 8, activation: 'leakyRelu' },
        training: { steps: 12, batchSize: 8 },
        logging: { metricsEvery: 4, samplesEvery: 6, sampleCount: 10, checkpointEvery: 6 },
      };
      await writeFile(configFile, JSON.stringify(input));
      const result = await train({ configPath: configFile, runsDir: path.join(dir, 'runs-ring'), backend: 'cpu' });
      assert.equal(result.status, 'completed', result.error ?? '');
      const samples = JSON.parse(await readFile(path.join(result.runDir, 'samples', 'step-00000012.json'), 'utf8')) as PointSamples;
      assert.equal(samples.points.length, 10);
      assert.deepEqual(samples.labels, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
      assert.deepEqual(samples.classNames, ['0', '1', '2', '3']);
      const drawn = await sampleRun({ runDir: result.runDir, count: 6, step: 'latest', seed: 0, backend: 'cpu', classes: ['2'] });
      assert.deepEqual(drawn.labels, [2, 2, 2, 2, 2, 2]);
      assert.equal(drawn.samples[0].length, 2);

      // The same config without conditional: no labels anywhere, and no class to ask for.
      const { conditional: _conditional, ...plain } = input;
      await writeFile(configFile, JSON.stringify({ ...plain, name: 'ring-plain' }));
      const unconditional = await train({ configPath: configFile, runsDir: path.join(dir, 'runs-ring'), backend: 'cpu' });
      const plainSamples = JSON.parse(await readFile(path.join(unconditional.runDir, 'samples', 'step-00000012.json'), 'utf8')) as PointSamples;
      assert.equal(plainSamples.labels, undefined);
      assert.equal((await sampleRun({ runDir: unconditional.runDir, count: 2, step: 'latest', seed: 0, backend: 'cpu' })).labels, null);
      await assert.rejects(
        sampleRun({ runDir: unconditional.runDir, count: 2, step: 'latest', seed: 0, backend: 'cpu', classes: ['1'] }),
        /--class: .* is not a conditional run/,
      );
    });
  });

  describe('MNIST', () => {
    let runDir: string;
    before(async () => {
      const configFile = path.join(dir, 'mnist.gan.json');
      const input: GanConfigInput = {
        name: 'mnist-conditional-tiny',
        seed: 4,
        data: { type: 'mnist' },
        conditional: true,
        latent: { size: 8 },
        generator: {
          type: 'layers',
          layers: [
            { type: 'dense', units: 7 * 7 * 4, bias: false },
            { type: 'batchNorm' },
            { type: 'relu' },
            { type: 'reshape', shape: [7, 7, 4] },
            { type: 'conv2dTranspose', filters: 1, kernel: 4, stride: 4 },
            { type: 'tanh' },
          ],
        },
        discriminator: {
          type: 'layers',
          layers: [{ type: 'conv2d', filters: 4, kernel: 4, stride: 4 }, { type: 'leakyRelu' }, { type: 'flatten' }, { type: 'dense', units: 1 }],
        },
        training: { steps: 6, batchSize: 8 },
        logging: { metricsEvery: 2, samplesEvery: 3, sampleCount: 100, checkpointEvery: 3 },
      };
      await writeFile(configFile, JSON.stringify(input));
      const result = await train({ configPath: configFile, runsDir: path.join(dir, 'runs-mnist'), backend: 'cpu' });
      assert.equal(result.status, 'completed', result.error ?? '');
      assert.ok(result.lastMetrics && Number.isFinite(result.lastMetrics.dLoss) && Number.isFinite(result.lastMetrics.gLoss));
      runDir = result.runDir;
    });

    it('trains a tiny conditional DCGAN without error and writes a 10×10 grid, one row per digit', async () => {
      for (const file of ['step-00000006.png', 'real.png']) {
        const grid = PNG.sync.read(await readFile(path.join(runDir, 'samples', file)));
        assert.equal(grid.width, 10 * 28 + 11 * 2, file);
        assert.equal(grid.height, 10 * 28 + 11 * 2, file);
      }
    });

    it('samples only the asked-for digits, with their labels', async () => {
      const result = await sampleRun({ runDir, count: 5, step: 'latest', seed: 1, backend: 'cpu', classes: ['3', '7'] });
      assert.deepEqual(result.labels, [3, 3, 3, 7, 7]);
      assert.deepEqual(result.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      assert.equal(result.samples[0].length, 784);
      assert.ok(result.samples.flat().every((v) => v >= -1 && v <= 1));
      const all = await sampleRun({ runDir, count: 20, step: 'latest', seed: 1, backend: 'cpu' });
      assert.deepEqual(all.labels, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
      await assert.rejects(
        sampleRun({ runDir, count: 5, step: 'latest', seed: 1, backend: 'cpu', classes: ['12'] }),
        /--class 12: the run has no class "12" \(its classes: 0, 1, 2/,
      );
    });

    it('exports G as a functional tfjs model with inputs z and label that gives what the run gives', async () => {
      const outDir = path.join(dir, 'export-mnist');
      await exportGenerator({ runDir, step: 'latest', outDir, backend: 'cpu' });
      const json = JSON.parse(await readFile(path.join(outDir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const model = await tfl.loadLayersModel({
        load: async () =>
          tf.io.getModelArtifactsForJSON(json, async (manifest) => {
            const bytes = await readFile(path.join(outDir, manifest[0].paths[0]));
            return [manifest[0].weights, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer];
          }),
      });
      assert.deepEqual(
        model.inputs.map((input) => input.shape),
        [
          [null, 8],
          [null, 10],
        ],
      );
      const config = await readConfigSnapshot(runDir);
      assert.ok(config);
      const gan = new Gan(config, await loadData(config.data, runDir));
      try {
        await restoreCheckpoint(runDir, 6, gan);
        const labels = [0, 3, 9, 5];
        const z = gan.noise(4, new Random('export'));
        const expected = Array.from(await gan.generate(z, labels));
        const y = oneHot(labels, 10);
        const predicted = model.predict([z, y]) as tf.Tensor;
        close(predicted.dataSync(), expected, 'exported G(z, y)');
        tf.dispose([z, y, predicted]);
      } finally {
        gan.dispose();
        model.dispose();
      }
    });
  });
});
