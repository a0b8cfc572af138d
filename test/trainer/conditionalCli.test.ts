/**
 * The conditional GAN through the built CLI, as a user runs it: train a tiny conditional DCGAN on
 * the built-in digits, then `sample --class 3 --out x.json` (rows plus x.labels.json), a PNG with
 * one row per class, a refused unknown class, and the two-input export.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import type { GanConfigInput } from '../../src/protocol/config';
import { assertBuilt, cli, tempDir } from './helpers';

const config: GanConfigInput = {
  name: 'tiny-conditional',
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
  training: { batchSize: 16 },
  logging: { metricsEvery: 5, samplesEvery: 10, sampleCount: 100, checkpointEvery: 10 },
};

describe('conditional GAN from the CLI', () => {
  let work: string;
  let runDir: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('conditional-cli');
    await writeFile(path.join(work, 'tiny.gan.json'), JSON.stringify(config));
    const result = await cli(['train', 'tiny.gan.json', '--steps', '20', '--backend', 'cpu'], work).done;
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const runs = await readdir(path.join(work, 'runs'));
    assert.equal(runs.length, 1);
    runDir = path.join(work, 'runs', runs[0]);
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('trains 20 steps and writes the class-conditional grid', async () => {
    const grid = PNG.sync.read(await readFile(path.join(runDir, 'samples', 'step-00000020.png')));
    assert.deepEqual([grid.width, grid.height], [10 * 28 + 11 * 2, 10 * 28 + 11 * 2], 'ten rows of ten');
  });

  it('sample --class 3 --out x.json writes flat pixel rows and their classes beside them', async () => {
    const result = await cli(['sample', runDir, '--class', '3', '--n', '8', '--out', 'x.json', '--backend', 'cpu'], work).done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /their classes written to x\.labels\.json/);
    const rows = JSON.parse(await readFile(path.join(work, 'x.json'), 'utf8')) as number[][];
    assert.equal(rows.length, 8);
    assert.ok(rows.every((row) => row.length === 784 && row.every((v) => v >= -1 && v <= 1)));
    const labels = JSON.parse(await readFile(path.join(work, 'x.labels.json'), 'utf8')) as { labels: number[]; classNames: string[] };
    assert.deepEqual(labels, { labels: [3, 3, 3, 3, 3, 3, 3, 3], classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
  });

  it('a PNG of several classes gives each its own row; an unknown class is refused with the list', async () => {
    const png = await cli(['sample', runDir, '--class', '3,7', '--class', '1', '--n', '12', '--out', 'g.png', '--backend', 'cpu'], work).done;
    assert.equal(png.code, 0, png.stderr);
    const grid = PNG.sync.read(await readFile(path.join(work, 'g.png')));
    assert.deepEqual([grid.width, grid.height], [4 * 28 + 5 * 2, 3 * 28 + 4 * 2]);
    const bad = await cli(['sample', runDir, '--class', '42', '--backend', 'cpu'], work).done;
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--class 42: the run has no class "42" \(its classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\)/);
  });

  it('export --format tfjs writes a two-input functional model', async () => {
    const result = await cli(['export', runDir, '--format', 'tfjs', '--out', 'exported', '--backend', 'cpu'], work).done;
    assert.equal(result.code, 0, result.stderr);
    const model = JSON.parse(await readFile(path.join(work, 'exported', 'model.json'), 'utf8')) as {
      modelTopology: { class_name: string; config: { input_layers: unknown[] } };
      userDefinedMetadata: { conditional?: { inputs: string[] } };
    };
    assert.equal(model.modelTopology.class_name, 'Model');
    assert.deepEqual(model.modelTopology.config.input_layers, [
      ['z', 0, 0],
      ['label', 0, 0],
    ]);
    assert.deepEqual(model.userDefinedMetadata.conditional?.inputs, ['z', 'label']);
  });
});
