/** Image data (IDX, image folders, the built-in digits), sample grids, and layer-by-layer networks. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { validateConfig, type GanConfigInput } from '../../src/protocol/config';
import { encodeImageGrid } from '../../src/runs/imageGrid';
import { restoreCheckpoint, saveCheckpoint } from '../../src/trainer/checkpoint';
import { loadConfigFile } from '../../src/trainer/configFile';
import { DataError, loadData } from '../../src/trainer/data';
import { Gan } from '../../src/trainer/gan';
import { encodeIdx, loadBuiltInMnist, loadIdx, loadImageFolder, parseIdx, resizeToSquare } from '../../src/trainer/imageData';
import { NetworkShapeError } from '../../src/trainer/layerNetwork';
import { Random } from '../../src/trainer/random';

function png(width: number, height: number, rgba: (x: number, y: number) => [number, number, number, number]): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data.set(rgba(x, y), (y * width + x) * 4);
  return PNG.sync.write(image);
}

/** A small DCGAN on 8×8 grayscale images: the same layer types as the reference one. */
const smallDcgan = (imageFolder: string): GanConfigInput => ({
  name: 'small-dcgan',
  seed: 3,
  data: { type: 'images', path: imageFolder, size: 8, channels: 1 },
  latent: { size: 4 },
  generator: {
    type: 'layers',
    layers: [
      { type: 'dense', units: 2 * 2 * 8, bias: false },
      { type: 'batchNorm' },
      { type: 'leakyRelu' },
      { type: 'reshape', shape: [2, 2, 8] },
      { type: 'conv2dTranspose', filters: 4, bias: false },
      { type: 'batchNorm' },
      { type: 'relu' },
      { type: 'conv2dTranspose', filters: 1 },
      { type: 'tanh' },
    ],
  },
  discriminator: {
    type: 'layers',
    layers: [
      { type: 'conv2d', filters: 4 },
      { type: 'leakyRelu' },
      { type: 'conv2d', filters: 8 },
      { type: 'leakyRelu' },
      { type: 'flatten' },
      { type: 'dense', units: 1 },
    ],
  },
  training: { batchSize: 4 },
});

describe('image data', () => {
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-images-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads IDX files, gzipped or not, and says what is wrong with a bad one', async () => {
    const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
    const plain = encodeIdx([3, 2, 2], pixels);
    for (const bytes of [plain, gzipSync(plain)]) {
      const parsed = parseIdx('x.idx', bytes);
      assert.deepEqual(parsed.dims, [3, 2, 2]);
      assert.deepEqual([...parsed.data], [...pixels]);
    }
    assert.throws(
      () =>
        parseIdx(
          'a.png',
          png(1, 1, () => [0, 0, 0, 255]),
        ),
      /a\.png: not an IDX file/,
    );
    assert.throws(() => parseIdx('cut.idx', plain.subarray(0, plain.length - 1)), /cut\.idx: the header promises 3×2×2 = 12 bytes but the file holds 11/);
    assert.throws(() => parseIdx('float.idx', Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0])), /elements of type float are not supported/);
    assert.throws(() => parseIdx('bad.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3])), /bad\.gz: a damaged gzip file/);
  });

  it('loads MNIST-format images with labels, scales bytes to [-1, 1], and checks that the labels fit', async () => {
    const images = path.join(dir, 'images-idx3-ubyte.gz');
    const labels = path.join(dir, 'labels-idx1-ubyte');
    await writeFile(images, gzipSync(encodeIdx([2, 1, 2], Uint8Array.from([0, 255, 51, 204]))));
    await writeFile(labels, encodeIdx([2], Uint8Array.from([3, 7])));
    const set = await loadIdx(images, labels);
    assert.deepEqual(set.shape, [1, 2, 1]);
    assert.deepEqual(set.classNames.length, 8);
    const random = new Random('idx');
    const { images: x, labels: y } = set.sampleLabelled(random, 20);
    for (let i = 0; i < 20; i++) {
      const pair = [x[2 * i], x[2 * i + 1]].map((v) => Math.round(v * 1000) / 1000);
      assert.deepEqual(pair, y[i] === 3 ? [-1, 1] : [-0.6, 0.6], `sample ${i} is a whole image with its own label`);
    }
    await writeFile(path.join(dir, 'short-labels'), encodeIdx([3], Uint8Array.from([1, 2, 3])));
    await assert.rejects(
      loadIdx(images, path.join(dir, 'short-labels')),
      /short-labels: expected 2 labels \(one per image in images-idx3-ubyte\.gz\), got shape \[3\]/,
    );
    await assert.rejects(
      loadIdx(path.join(dir, 'missing.gz'), undefined),
      (error: unknown) => error instanceof DataError && /missing\.gz: file not found/.test(error.message),
    );
    assert.equal((await loadIdx(images, labels, [7])).count, 1, 'classes keeps only the named labels');
  });

  it('resizes with a box filter: each target pixel is the mean of the source pixels it covers', () => {
    // 4×4 RGBA: four 2×2 blocks of grey levels 0, 100, 200, 40.
    const levels = [0, 100, 200, 40];
    const rgba = new Uint8Array(4 * 4 * 4);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const v = levels[(y >> 1) * 2 + (x >> 1)];
        rgba.set([v, v, v, 255], (y * 4 + x) * 4);
      }
    }
    const out = new Uint8Array(4);
    resizeToSquare({ width: 4, height: 4, rgba }, 2, 1, out, 0);
    assert.deepEqual([...out], levels);
    resizeToSquare({ width: 4, height: 4, rgba }, 1, 1, out, 0);
    assert.equal(out[0], Math.round((0 + 100 + 200 + 40) / 4));
  });

  it('loads a folder of PNG and JPEG images, with sub-folders as classes, and names a damaged file', async () => {
    const folder = path.join(dir, 'shapes');
    await mkdir(path.join(folder, 'dark'), { recursive: true });
    await mkdir(path.join(folder, 'light'), { recursive: true });
    await writeFile(
      path.join(folder, 'dark', 'a.png'),
      png(16, 12, () => [10, 10, 10, 255]),
    );
    const light = jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(8 * 8 * 4, 250) }, 95);
    await writeFile(path.join(folder, 'light', 'b.jpg'), light.data);
    const set = await loadImageFolder(folder, 4, 3);
    assert.equal(set.count, 2);
    assert.deepEqual(set.shape, [4, 4, 3]);
    assert.deepEqual(set.classNames, ['dark', 'light']);
    const { images, labels } = set.sampleLabelled(new Random('folder'), 8);
    for (let i = 0; i < 8; i++) {
      const value = (images[i * 48] + 1) * 127.5;
      assert.ok(labels[i] === 0 ? Math.abs(value - 10) < 1 : Math.abs(value - 250) < 3, `image ${i} (class ${labels[i]}): ${value}`);
    }
    await writeFile(path.join(folder, 'light', 'c.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    await assert.rejects(loadImageFolder(folder, 4, 3), /c\.png: a damaged image/);
    await assert.rejects(loadImageFolder(path.join(dir, 'nowhere'), 4, 3), /nowhere: folder not found/);
  });

  it('has the 10,000 built-in digits, about 1,000 of each class', async () => {
    const set = await loadBuiltInMnist();
    assert.equal(set.count, 10_000);
    assert.deepEqual(set.shape, [28, 28, 1]);
    const perClass = new Array<number>(10).fill(0);
    for (const label of set.labels!) perClass[label]++;
    for (const [digit, n] of perClass.entries()) assert.ok(n > 800 && n < 1200, `digit ${digit}: ${n}`);
    const { images } = set.sampleLabelled(new Random('mnist'), 1);
    assert.ok(Math.min(...images) === -1 && Math.max(...images) > 0.9, 'a digit is white strokes on black, in [-1, 1]');
  });

  it('tiles samples into a PNG grid with a gutter', () => {
    // Two 2×2 grayscale images: all -1 (black) and all 1 (white), side by side.
    const values = Float32Array.from([-1, -1, -1, -1, 1, 1, 1, 1]);
    const grid = PNG.sync.read(encodeImageGrid(values, 2, { shape: [2, 2, 1], columns: 2, gutter: 1 }));
    assert.equal(grid.width, 2 * 2 + 3);
    assert.equal(grid.height, 2 + 2);
    const at = (x: number, y: number) => grid.data[(y * grid.width + x) * 4];
    assert.equal(at(0, 0), 128, 'gutter');
    assert.equal(at(1, 1), 0, 'first image black');
    assert.equal(at(4, 2), 255, 'second image white');
  });
});

describe('layer-by-layer networks', () => {
  let dir: string;
  let folder: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-layers-'));
    folder = path.join(dir, 'images');
    await mkdir(folder);
    for (let i = 0; i < 6; i++)
      await writeFile(
        path.join(folder, `${i}.png`),
        png(8, 8, (x, y) => (x === i || y === i ? [255, 255, 255, 255] : [0, 0, 0, 255])),
      );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('express the reference DCGAN, whose G makes 28×28×1 images and whose D gives one score', async () => {
    const config = await loadConfigFile(path.join(__dirname, '../../bench/configs/dcgan.gan.json'));
    const gan = new Gan(config, await loadData(config.data, '.'));
    try {
      assert.equal(gan.generator.outputSize, 784);
      assert.equal(gan.discriminator.outputSize, 1);
      // Parameters as in PyTorch's reference: G 100·6272 + BN + 128·64·16 + BN + 64·16 + 1, D 16·64+64 + 64·128·16+128 + 6272+1.
      const count = (vars: { variable: tf.Variable }[]) => vars.filter((v) => v.variable.trainable).reduce((n, v) => n + v.variable.size, 0);
      assert.equal(count(gan.generator.namedVariables()), 100 * 6272 + 2 * 6272 + 128 * 64 * 16 + 2 * 64 + 64 * 16 + 1);
      assert.equal(count(gan.discriminator.namedVariables()), 16 * 64 + 64 + 64 * 128 * 16 + 128 + 6272 + 1);
      const std = Math.sqrt(((await gan.generator.namedVariables()[0].variable.data()) as Float32Array).reduce((s, v) => s + v * v, 0) / (100 * 6272));
      assert.ok(Math.abs(std - 0.02) < 0.001, `weights from N(0, 0.02²): std ${std}`);
    } finally {
      gan.dispose();
    }
  });

  it('train, and a checkpoint restores them exactly', async () => {
    const result = validateConfig(smallDcgan(folder));
    assert.ok(result.ok);
    const data = await loadData(result.config.data, dir);
    const a = new Gan(result.config, data);
    const b = new Gan(result.config, data);
    try {
      const before = await a.generate(a.noise(2, new Random('z')));
      for (let i = 0; i < 3; i++) await a.step(false);
      const after = await a.generate(a.noise(2, new Random('z')));
      assert.notDeepEqual([...after], [...before], 'a step changes G');
      assert.ok(
        after.every((v) => v >= -1 && v <= 1),
        'tanh output',
      );
      await saveCheckpoint(dir, a, 3, 1);
      await restoreCheckpoint(dir, 3, b);
      assert.deepEqual([...(await b.generate(b.noise(2, new Random('z'))))], [...after]);
      const [ra, rb] = [await a.step(true), await b.step(true)];
      assert.equal(ra.dLoss, rb.dLoss, 'the restored GAN takes the same next step');
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('refuse a stack that does not fit, naming the layer and the shapes', async () => {
    const data = await loadData({ type: 'images', path: folder, size: 8, channels: 1 }, dir);
    const broken = (generator: GanConfigInput['generator']) => {
      const result = validateConfig({ ...smallDcgan(folder), generator });
      assert.ok(result.ok);
      return () => new Gan(result.config, data);
    };
    assert.throws(
      broken({
        type: 'layers',
        layers: [
          { type: 'dense', units: 30 },
          { type: 'reshape', shape: [2, 2, 8] },
        ],
      }),
      (error: unknown) =>
        error instanceof NetworkShapeError &&
        /generator\.layers\[1\] \(reshape\): cannot reshape \[30\] \(30 values\) to \[2, 2, 8\] \(32 values\)/.test(error.message),
    );
    assert.throws(
      broken({ type: 'layers', layers: [{ type: 'conv2d', filters: 4 }] }),
      /generator\.layers\[0\] \(conv2d\): needs an image input \[height, width, channels\], got \[4\]/,
    );
    assert.throws(
      broken({
        type: 'layers',
        layers: [
          { type: 'dense', units: 16 },
          { type: 'reshape', shape: [4, 4, 1] },
        ],
      }),
      /generator\.layers: the last layer gives \[4, 4, 1\] \(16 values\) per sample; expected a sample of the data's shape \[8, 8, 1\] \(64 values\)/,
    );
  });
});
