/**
 * An image GAN in a real VS Code: a small DCGAN on the built-in MNIST digits started from the
 * palette; the monitor shows the newest sample grid beside the real digits, and its step slider
 * scrubs back through the grids the run wrote.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../trainer/helpers';
import { VsCode } from './vscode';

/** The reference DCGAN's layer types at a fraction of its width, so a run takes seconds. */
const TINY_DCGAN = {
  name: 'tiny-dcgan',
  seed: 2,
  data: { type: 'mnist' },
  latent: { size: 16 },
  generator: {
    type: 'layers',
    layers: [
      { type: 'dense', units: 7 * 7 * 8, bias: false },
      { type: 'batchNorm' },
      { type: 'leakyRelu', slope: 0.2 },
      { type: 'reshape', shape: [7, 7, 8] },
      { type: 'conv2dTranspose', filters: 8, kernel: 4, stride: 2, bias: false },
      { type: 'batchNorm' },
      { type: 'leakyRelu', slope: 0.2 },
      { type: 'conv2dTranspose', filters: 1, kernel: 4, stride: 2 },
      { type: 'tanh' },
    ],
  },
  discriminator: {
    type: 'layers',
    layers: [
      { type: 'conv2d', filters: 8, kernel: 4, stride: 2 },
      { type: 'leakyRelu', slope: 0.2 },
      { type: 'conv2d', filters: 16, kernel: 4, stride: 2 },
      { type: 'leakyRelu', slope: 0.2 },
      { type: 'flatten' },
      { type: 'dense', units: 1 },
    ],
  },
  training: { steps: 400, batchSize: 16 },
  logging: { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 50, sampleCount: 36, checkpointEvery: 200, evaluationSamples: 200 },
};

describe('an image GAN in a real VS Code', () => {
  let workspace: string;
  let vscode: VsCode | undefined;

  before(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-images-'));
    await writeFile(path.join(workspace, 'tiny-dcgan.gan.json'), JSON.stringify(TINY_DCGAN, null, 2));
    vscode = await VsCode.launch({ workspace });
  });

  after(async () => {
    await vscode?.dispose();
    await rm(workspace, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
  });

  it('shows the sample grid beside the real digits, and the slider scrubs back to older grids', async () => {
    assert.ok(vscode);
    await vscode.openFile('tiny-dcgan.gan.json');
    await vscode.runCommand('GAN: Start GAN run');
    const monitor = await vscode.monitorPanelFrame('', 90_000);
    await monitor.waitForSelector('#generated-grid[src^="data:image/png;base64,"]', { timeout: 90_000 });
    assert.match((await monitor.getAttribute('#real-grid', 'src')) ?? '', /^data:image\/png;base64,/, 'the real digits are shown too');
    // The scatter of 2-D runs is not shown for images.
    assert.equal(await monitor.isVisible('#scatter-chart-card'), false);

    // The grid follows the run: its step moves on while the slider sits on the newest.
    const shownStep = async () => Number((await monitor.getAttribute('#sample-grid', 'data-step')) ?? -1);
    await waitFor('a newer grid', async () => (await shownStep()) >= 100, 90_000);
    const [runId] = await readdir(path.join(workspace, 'runs'));
    const grids = (await readdir(path.join(workspace, 'runs', runId, 'samples'))).filter((f) => /^step-\d+\.png$/.test(f));
    assert.ok(grids.length >= 3, `grids written: ${grids.join(', ')}`);

    // Scrub back to the first grid (step 0): the host sends that step's PNG.
    const slider = monitor.locator('#sample-step');
    // (fill sets a range input's value and fires its input event, as a drag does.)
    await slider.fill('0');
    await waitFor('the first grid', async () => (await shownStep()) === 0, 30_000);
    assert.match((await monitor.textContent('#sample-step-text')) ?? '', /^0 of \d/);
    // And forward to the newest again, where it follows the run once more.
    await slider.fill((await slider.getAttribute('max')) ?? '0');
    await waitFor('the newest grid again', async () => (await shownStep()) >= 100, 15_000);
    await vscode.screenshot('image-run-monitor.png');
  });
});
