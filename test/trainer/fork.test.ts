/** Forks from a checkpoint, `--set`, and the CLI's export command: the real trainer, real files. */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import type { MetricsRecord, RunInfo } from '../../src/protocol/runDirectory';
import { parseJsonl } from '../../src/runs/runReader';
import { assertBuilt, cli, tempDir } from './helpers';

const CONFIG = {
  name: 'fork-test',
  seed: 7,
  data: { type: 'ring' },
  latent: { size: 2 },
  generator: { type: 'mlp', depth: 2, width: 32, batchNorm: true },
  discriminator: { type: 'mlp', depth: 2, width: 32, activation: 'leakyRelu' },
  training: { steps: 100, batchSize: 32 },
  logging: { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 50, sampleCount: 100, checkpointEvery: 50, keepCheckpoints: 5 },
};

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

async function metricsOf(runDir: string): Promise<MetricsRecord[]> {
  return parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records;
}

describe('forks, --set and export', () => {
  let work: string;
  let runs: string;
  let parent: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('fork');
    runs = path.join(work, 'runs');
    await writeFile(path.join(work, 'fork.gan.json'), JSON.stringify(CONFIG, null, 2));
    const { done } = cli(['train', 'fork.gan.json', '--out', runs], work);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    parent = path.join(runs, (await readdir(runs))[0]);
  });
  after(async () => rm(work, { recursive: true, force: true }));

  const newRuns = async (before: string[]) => (await readdir(runs)).filter((name) => !before.includes(name)).map((name) => path.join(runs, name));

  it('a fork with an unchanged config continues exactly where the parent went on', async () => {
    const existing = await readdir(runs);
    const result = await cli(['train', '--fork', parent, '--from-step', '50'], work).done;
    assert.equal(result.code, 0, result.stderr);
    const [child] = await newRuns(existing);
    const info = await readJson<RunInfo>(path.join(child, 'run.json'));
    assert.equal(info.parent, parent);
    assert.equal(info.parentStep, 50);
    assert.equal(info.status, 'completed');
    const childMetrics = await metricsOf(child);
    assert.deepEqual(
      childMetrics.map((m) => m.step),
      [60, 70, 80, 90, 100],
    );
    const parentMetrics = (await metricsOf(parent)).filter((m) => m.step > 50);
    childMetrics.forEach((m, i) => {
      assert.ok(Math.abs(m.dLoss - parentMetrics[i].dLoss) < 1e-5, `D loss at ${m.step}: ${m.dLoss} vs ${parentMetrics[i].dLoss}`);
      assert.ok(Math.abs(m.gLoss - parentMetrics[i].gLoss) < 1e-5, `G loss at ${m.step}`);
    });
  });

  it('a fork with a new learning rate records it and trains differently', async () => {
    const existing = await readdir(runs);
    const result = await cli(['train', '--fork', parent, '--from-step', '50', '--set', 'generator.optimizer.learningRate=0.005', '--steps', '120'], work).done;
    assert.equal(result.code, 0, result.stderr);
    const [child] = await newRuns(existing);
    const config = await readJson<typeof CONFIG & { generator: { optimizer: { learningRate: number } }; training: { steps: number } }>(
      path.join(child, 'config.json'),
    );
    assert.equal(config.generator.optimizer.learningRate, 0.005);
    assert.equal(config.training.steps, 120);
    const childMetrics = await metricsOf(child);
    assert.equal(childMetrics[0].step, 60);
    assert.equal(childMetrics[childMetrics.length - 1].step, 120);
    const parent60 = (await metricsOf(parent)).find((m) => m.step === 60);
    assert.notEqual(childMetrics[0].gLoss, parent60?.gLoss);
  });

  it('a changed optimizer type starts fresh optimizer state, with a warning', async () => {
    const result = await cli(['train', '--fork', parent, '--set', 'discriminator.optimizer={"type":"sgd","learningRate":0.01}', '--steps', '110'], work).done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr + result.stdout, /optimizer type changed/);
  });

  it('refuses a fork whose networks no longer fit, and a bad --set, writing nothing', async () => {
    const existing = await readdir(runs);
    const misfit = await cli(['train', '--fork', parent, '--set', 'generator.width=64', '--steps', '150'], work).done;
    assert.equal(misfit.code, 2);
    assert.match(misfit.stderr, /cannot fork .*does not fit the model: generator\/dense0\/kernel has shape \[2, 32\], expected \[2, 64\]/);
    const bad = await cli(['train', 'fork.gan.json', '--out', runs, '--set', 'training.batchSize=-3'], work).done;
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /training\.batchSize/);
    const noStep = await cli(['train', '--fork', parent, '--from-step', '70'], work).done;
    assert.equal(noStep.code, 2);
    assert.match(noStep.stderr, /no checkpoint at step 70 \(checkpoints: 50, 100\)/);
    const tooShort = await cli(['train', '--fork', parent, '--from-step', '100'], work).done;
    assert.equal(tooShort.code, 2);
    assert.match(tooShort.stderr, /training\.steps: the fork starts at step 100/);
    assert.deepEqual(await newRuns(existing), []);
  });

  it('exports the newest samples as a PNG and the run as TensorBoard events, once per folder', async () => {
    const png = await cli(['export', parent, '--format', 'png', '--out', path.join(work, 'png')], work).done;
    assert.equal(png.code, 0, png.stderr);
    const image = PNG.sync.read(await readFile(path.join(work, 'png', 'samples-step-00000100.png')));
    assert.ok(image.width > 100 && image.height > 100);
    // Another tool's event file in the same folder must survive our re-exports.
    await mkdir(path.join(work, 'tb'), { recursive: true });
    const other = 'events.out.tfevents.1700000000.other-host.v2';
    await writeFile(path.join(work, 'tb', other), '');
    for (let i = 0; i < 2; i++) {
      const tb = await cli(['export', parent, '--format', 'tensorboard', '--out', path.join(work, 'tb')], work).done;
      assert.equal(tb.code, 0, tb.stderr);
      // 10 records × 9 scalars (the losses, D(x), D(G(z)), the rate, G's gradient norm, both learning rates and k),
      // and the evaluations at steps 50 and 100 × 9 (modes 3, grid 2, precision/recall/density/coverage).
      assert.match(tb.stdout, /108 scalars, 4 histograms, 3 images/);
      await new Promise((r) => setTimeout(r, 1100));
    }
    const files = await readdir(path.join(work, 'tb'));
    const ours = files.filter((f) => f.startsWith('events.out.tfevents.') && f.endsWith(`.${path.basename(parent)}.gan-workbench`));
    assert.equal(ours.length, 1, `a re-export replaces its old event file: ${files.join(', ')}`);
    assert.ok(files.includes(other), 'a file the export did not write is left alone');
    const wrong = await cli(['export', parent, '--format', 'onnx'], work).done;
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--format must be tfjs, tensorboard or png/);
  });
});
