/**
 * Generator export: a run trained by the real CLI, exported, and loaded back with tfjs-layers'
 * own loadLayersModel, must give what the run's generator gives for the same noise.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { GanConfigInput } from '../../src/protocol/config';
import { readConfigSnapshot } from '../../src/runs/runReader';
import { selectBackend } from '../../src/trainer/backend';
import { restoreCheckpoint } from '../../src/trainer/checkpoint';
import { loadData } from '../../src/trainer/data';
import { exportGenerator } from '../../src/trainer/exportGenerator';
import { Gan } from '../../src/trainer/gan';
import { Random } from '../../src/trainer/random';
import { assertBuilt, cli, tempDir } from './helpers';

const discriminator = { type: 'mlp', depth: 2, width: 16, activation: 'leakyRelu' } as const;
const logging = { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 50, sampleCount: 50, checkpointEvery: 50 };

const ringConfig: GanConfigInput = {
  name: 'export-ring',
  seed: 3,
  data: { type: 'ring', modes: 8, radius: 1, std: 0.01 },
  latent: { size: 2, distribution: 'normal' },
  generator: { type: 'mlp', depth: 2, width: 16, activation: 'leakyRelu', leakyReluSlope: 0.2, batchNorm: true },
  discriminator,
  training: { steps: 60, batchSize: 32 },
  logging,
};

const csvConfig: GanConfigInput = {
  name: 'export-csv',
  seed: 4,
  data: { type: 'csv', path: 'table.csv', normalize: true },
  latent: { size: 3, distribution: 'uniform' },
  generator: { type: 'mlp', depth: 1, width: 8, activation: 'elu' },
  discriminator,
  training: { steps: 60, batchSize: 32 },
  logging,
};

/** A small DCGAN on the built-in digits, sampled from the moving average of G's weights. */
const convConfig: GanConfigInput = {
  name: 'export-dcgan',
  seed: 5,
  data: { type: 'mnist' },
  latent: { size: 8 },
  generator: {
    type: 'layers',
    layers: [
      { type: 'dense', units: 7 * 7 * 4, bias: false },
      { type: 'batchNorm' },
      { type: 'leakyRelu', slope: 0.2 },
      { type: 'reshape', shape: [7, 7, 4] },
      { type: 'conv2dTranspose', filters: 4, kernel: 4, stride: 2, bias: false },
      { type: 'batchNorm' },
      { type: 'relu' },
      { type: 'conv2dTranspose', filters: 1, kernel: 4, stride: 2 },
      { type: 'tanh' },
    ],
  },
  discriminator: { type: 'layers', layers: [{ type: 'conv2d', filters: 4 }, { type: 'leakyRelu' }, { type: 'flatten' }, { type: 'dense', units: 1 }] },
  training: { steps: 60, batchSize: 8, generatorAverage: 0.9 },
  logging,
};

/** Three columns on different scales, so the data-space layer is far from the identity. */
const csvRows = Array.from({ length: 40 }, (_, i) => [3 + 0.05 * i, -2 + Math.sin(i), 0.5 * ((i * 7) % 11)]);

async function trainRun(work: string, config: GanConfigInput): Promise<string> {
  const configFile = path.join(work, `${config.name}.gan.json`);
  await writeFile(configFile, JSON.stringify(config));
  const runs = path.join(work, `runs-${config.name}`);
  const result = await cli(['train', configFile, '--out', runs], work).done;
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const names = await readdir(runs);
  assert.equal(names.length, 1);
  return path.join(runs, names[0]);
}

/** An IOHandler that reads an exported model from disk, as tfjs's file:// handler would. */
function fromDisk(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const file of group.paths) {
            const bytes = await readFile(path.join(dir, file));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [manifest.flatMap((group) => group.weights), buffers];
      });
    },
  };
}

/** G(z) in data space from the run itself, restored the way `gan-workbench sample` does. */
async function referenceSamples(runDir: string, step: number, count: number): Promise<{ z: Float32Array; x: Float32Array; latent: number }> {
  const config = await readConfigSnapshot(runDir);
  assert.ok(config);
  const data = await loadData(config.data, runDir);
  const gan = new Gan(config, data);
  try {
    await restoreCheckpoint(runDir, step, gan);
    const noise = gan.noise(count, new Random('export-test'));
    const z = (await noise.data()) as Float32Array;
    const x = data.toDataSpace(await gan.generate(noise));
    noise.dispose();
    return { z, x, latent: config.latent.size };
  } finally {
    gan.dispose();
  }
}

function layerList(model: tfl.LayersModel): string[] {
  return model.layers.map((layer) => `${layer.getClassName()}:${layer.name}`);
}

/** Exports, then checks the loaded model against the run's own generator; returns the model for more checks. */
async function exportAndCompare(runDir: string, outDir: string, step: number | 'latest', expectedStep: number): Promise<tfl.LayersModel> {
  const before = tf.memory().numTensors;
  const exported = await exportGenerator({ runDir, step, outDir, backend: 'cpu' });
  assert.equal(exported.step, expectedStep);
  assert.deepEqual(exported.files, [path.join(outDir, 'model.json'), path.join(outDir, 'group1-shard1of1.bin')]);
  assert.equal(tf.memory().numTensors, before, 'the export frees every tensor and variable it made');

  // (exportGenerator disposes every variable at the end, so the reference and the model come after it.)
  const count = 64;
  const reference = await referenceSamples(runDir, expectedStep, count);
  const model = await tfl.loadLayersModel(fromDisk(outDir));
  const z = tf.tensor2d(reference.z, [count, reference.latent]);
  const predicted = model.predict(z) as tf.Tensor;
  const values = await predicted.data();
  tf.dispose([z, predicted]);
  assert.equal(values.length, reference.x.length);
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - reference.x[i]));
  assert.ok(worst <= 1e-5, `largest difference from the run's generator: ${worst}`);
  return model;
}

describe('exportGenerator', () => {
  let work: string;
  let ringRun: string;
  let csvRun: string;
  let convRun: string;
  before(async () => {
    assertBuilt();
    await selectBackend('cpu');
    work = await tempDir('export');
    await writeFile(path.join(work, 'table.csv'), ['a,b,c', ...csvRows.map((row) => row.join(','))].join('\n') + '\n');
    [ringRun, csvRun, convRun] = await Promise.all([trainRun(work, ringConfig), trainRun(work, csvConfig), trainRun(work, convConfig)]);
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('exports a batch-norm, LeakyReLU generator that loadLayersModel reads and that matches the run', async () => {
    const model = await exportAndCompare(ringRun, path.join(work, 'out-ring', 'nested'), 50, 50);
    try {
      assert.deepEqual(layerList(model), [
        'Dense:dense_Dense1',
        'BatchNormalization:batch_normalization_BatchNormalization1',
        'LeakyReLU:leaky_re_lu_LeakyReLU1',
        'Dense:dense_Dense2',
        'BatchNormalization:batch_normalization_BatchNormalization2',
        'LeakyReLU:leaky_re_lu_LeakyReLU2',
        'Dense:dense_Dense3',
      ]);
      assert.deepEqual(model.inputs[0].shape, [null, 2]);
      assert.deepEqual(model.outputs[0].shape, [null, 2]);
      const norm = model.layers[1].getConfig();
      assert.equal(norm.epsilon, 1e-5);
      assert.equal(norm.momentum, 0.9);
      assert.equal(model.layers[2].getConfig().alpha, 0.2);
      const movingVariance = await model.layers[1].getWeights()[3].data();
      assert.ok(
        movingVariance.some((v) => v !== 1),
        'the running variance was exported, not its initial value',
      );
      assert.deepEqual(model.getUserDefinedMetadata(), {
        step: 50,
        runId: path.basename(ringRun),
        configName: 'export-ring',
        latent: { size: 2, distribution: 'normal' },
        dataType: 'ring',
        dataDimension: 2,
      });
    } finally {
      model.dispose();
    }
  });

  it('maps standardized CSV samples back to data space with a final to_data_space layer', async () => {
    const model = await exportAndCompare(csvRun, path.join(work, 'out-csv'), 'latest', 60);
    try {
      assert.deepEqual(layerList(model), ['Dense:dense_Dense1', 'Activation:activation_Activation1', 'Dense:dense_Dense2', 'Dense:to_data_space']);
      assert.equal(model.layers[1].getConfig().activation, 'elu');
      // Kernel diag(std), bias the mean, of each column (population std, as the trainer standardizes).
      const [kernel, bias] = await Promise.all(model.layers[3].getWeights().map((w) => w.array()));
      for (let j = 0; j < 3; j++) {
        const column = csvRows.map((row) => row[j]);
        const mean = column.reduce((a, b) => a + b) / column.length;
        const std = Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length);
        assert.ok(Math.abs((bias as number[])[j] - mean) < 1e-5, `bias ${j}`);
        for (let k = 0; k < 3; k++) assert.ok(Math.abs((kernel as number[][])[k][j] - (k === j ? std : 0)) < 1e-5, `kernel ${k},${j}`);
      }
      assert.equal((model.getUserDefinedMetadata() as { dataType?: string } | undefined)?.dataType, 'csv');
    } finally {
      model.dispose();
    }
  });

  it('exports a DCGAN-style generator (its moving average) as Conv2DTranspose layers that give 28×28×1 images', async () => {
    const model = await exportAndCompare(convRun, path.join(work, 'out-dcgan'), 'latest', 60);
    try {
      assert.deepEqual(layerList(model), [
        'Dense:dense_Dense1',
        'BatchNormalization:batch_normalization_BatchNormalization1',
        'LeakyReLU:leaky_re_lu_LeakyReLU1',
        'Reshape:reshape_Reshape1',
        'Conv2DTranspose:conv2d_transpose_Conv2DTranspose1',
        'BatchNormalization:batch_normalization_BatchNormalization2',
        'Activation:activation_Activation1',
        'Conv2DTranspose:conv2d_transpose_Conv2DTranspose2',
        'Activation:activation_Activation2',
      ]);
      assert.deepEqual(model.outputs[0].shape, [null, 28, 28, 1]);
    } finally {
      model.dispose();
    }
  });

  it('names the run directory when there is no config, no checkpoint, or no checkpoint at that step', async () => {
    const outDir = path.join(work, 'out-none');
    const empty = path.join(work, 'not-a-run');
    await mkdir(empty);
    await assert.rejects(exportGenerator({ runDir: empty, step: 'latest', outDir, backend: 'cpu' }), {
      message: `${empty}: not a run directory (no valid config.json)`,
    });

    const fresh = path.join(work, 'fresh-run');
    await mkdir(fresh);
    await writeFile(path.join(fresh, 'config.json'), await readFile(path.join(ringRun, 'config.json')));
    await assert.rejects(exportGenerator({ runDir: fresh, step: 'latest', outDir, backend: 'cpu' }), { message: `${fresh}: has no checkpoint yet` });

    await assert.rejects(exportGenerator({ runDir: ringRun, step: 7, outDir, backend: 'cpu' }), {
      message: `${ringRun}: no checkpoint at step 7 (checkpoints: 50, 60)`,
    });
    await assert.rejects(readdir(outDir), { code: 'ENOENT' }, 'nothing is written when the export fails');
  });
});
