/**
 * Runs in the editor, in a real VS Code: a run started from a terminal appears in the side panel
 * and moves live; two runs with different learning rates from the palette; comparing them in an
 * editor tab with the step scrubber; a fork from a checkpoint drawn as a branch; the config form
 * keeping the file's comments; a new experiment from a template; the compare tab after a reload.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import type { RunInfo } from '../../src/protocol/runDirectory';
import { waitFor } from '../trainer/helpers';
import { ROOT, VsCode } from './vscode';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A small, fast experiment (about 100 steps/s here), with comments the form must keep. */
const TINY = `// Tiny ring experiment for the end-to-end tests.
// Keep this comment: the form edits values, not the layout.
{
  "name": "tiny",
  "seed": 5,
  "data": { "type": "ring" },
  "latent": { "size": 2 },
  /* Small networks, so a run takes seconds. */
  "generator": { "type": "mlp", "depth": 2, "width": 32, "batchNorm": true },
  "discriminator": { "type": "mlp", "depth": 2, "width": 32, "activation": "leakyRelu" },
  "training": { "steps": 400, "batchSize": 32 },
  "logging": { "metricsEvery": 10, "histogramsEvery": 50, "samplesEvery": 50, "sampleCount": 200, "checkpointEvery": 100, "keepCheckpoints": 10 }
}
`;

async function runInfos(runsDir: string): Promise<{ dir: string; info: RunInfo }[]> {
  const names = await readdir(runsDir).catch(() => [] as string[]);
  const infos: { dir: string; info: RunInfo }[] = [];
  for (const name of names) {
    try {
      infos.push({ dir: path.join(runsDir, name), info: JSON.parse(await readFile(path.join(runsDir, name, 'run.json'), 'utf8')) as RunInfo });
    } catch {
      // being created
    }
  }
  return infos;
}

describe('runs in the editor, in a real VS Code', () => {
  let workspace: string;
  let runsDir: string;
  let vscode: VsCode | undefined;
  let terminalRun: ChildProcess | undefined;

  before(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-runs-'));
    runsDir = path.join(workspace, 'runs');
    await writeFile(path.join(workspace, 'tiny.gan.json'), TINY);
    vscode = await VsCode.launch({ workspace });
  });

  after(async () => {
    terminalRun?.kill('SIGKILL');
    await vscode?.dispose();
    await rm(workspace, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
  });

  /** Picks the quick-pick row that contains `text` (typed as the filter). */
  async function pick(text: string, filter = text): Promise<void> {
    assert.ok(vscode);
    const { page } = vscode;
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(filter);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
  }

  /** Types into the input box whose prompt contains `prompt`. */
  async function answer(prompt: string, value: string): Promise<void> {
    assert.ok(vscode);
    const { page } = vscode;
    await page.locator('.quick-input-widget', { hasText: prompt }).waitFor({ timeout: 15_000 });
    await page.locator('.quick-input-widget input').fill(value);
    await page.keyboard.press('Enter');
  }

  async function runWithLearningRate(rate: string): Promise<void> {
    assert.ok(vscode);
    await vscode.runCommand('GAN: Modify hyperparameters and run');
    await pick('Generator learning rate');
    await answer('New value of generator.optimizer.learningRate', rate);
    // Back in the list, the change is shown; then start.
    await vscode.page
      .locator('.quick-input-list .monaco-list-row', { hasText: `learningRate = ${rate}` })
      .first()
      .waitFor({ timeout: 15_000 });
    await pick('Start run');
  }

  async function compareFrame(): Promise<Frame> {
    assert.ok(vscode);
    return vscode.webviewFrame('#runs-table', 60_000);
  }

  it('shows a run started from a terminal in the side panel, live, without any action in VS Code', async () => {
    assert.ok(vscode);
    const { page } = vscode;
    await vscode.runCommand('GAN Workbench: Focus on Runs View');
    await page.locator('.pane-header', { hasText: 'Runs' }).first().waitFor({ timeout: 30_000 });

    // The runs folder does not exist yet: the terminal run creates it.
    // A terminal's `gan-workbench train`: another process, nothing tells VS Code about it.
    terminalRun = spawn(process.execPath, [CLI, 'train', 'tiny.gan.json', '--out', runsDir, '--steps', '20000'], { cwd: workspace, stdio: 'ignore' });
    const [{ info }] = await waitFor('the terminal run to start', async () => ((await runInfos(runsDir)).length ? runInfos(runsDir) : null), 30_000);
    const suffix = info.id.slice('tiny-'.length);
    const row = page.locator('.monaco-list-row', { hasText: suffix }).first();
    await row.waitFor({ timeout: 30_000 });
    await page.locator('.monaco-list-row', { hasText: /^tiny/ }).first().waitFor({ timeout: 10_000 });
    // The description moves with the run (step and losses), with no refresh.
    const described = async () => ((await row.textContent()) ?? '').match(/running · (\d+)\/20000/);
    const firstStep = Number((await waitFor('a step in the tree', described, 30_000))[1]);
    await waitFor('the tree to move on', async () => Number((await described())?.[1] ?? 0) > firstStep, 30_000);

    // A click on the run opens its monitor in an editor tab and in the side panel's Monitor view;
    // each of the two webviews grows on its own as the terminal's trainer writes.
    await row.click();
    for (const [where, frame] of [
      ['editor tab', await vscode.monitorPanelFrame(suffix, 60_000)],
      ['side panel', await vscode.monitorViewFrame(60_000)],
    ] as const) {
      const points = async () => Number((await frame.getAttribute('#loss-chart', 'data-point-count')) ?? 0);
      await waitFor(`points in the monitor (${where})`, async () => (await points()) >= 3, 30_000);
      const before = await points();
      await waitFor(`the monitor (${where}) to follow the terminal run`, async () => (await points()) >= before + 5, 30_000);
      assert.match((await frame.textContent('.run-name')) ?? '', /tiny/, `the ${where} names the run`);
    }
    await vscode.screenshot('runs-view-terminal-run.png');
    // Stop it from the tree (its inline Stop action): the terminal's trainer stops like on Ctrl-C.
    // (The row is redrawn as the run moves; the click is repeated until the extension answers.)
    const asked = vscode.notification(/stops after its current step/);
    for (let attempt = 1; !(await asked.isVisible()); attempt++) {
      await row.hover();
      await row
        .locator('.action-label[aria-label="Stop run"]')
        .click({ timeout: 5_000 })
        .catch(() => undefined);
      await asked.waitFor({ timeout: 5_000 }).catch(() => undefined);
      if (attempt === 5) throw new Error('the Stop action of the terminal run did not answer');
    }
    await waitFor('the terminal run to stop', async () => (await runInfos(runsDir)).every((r) => r.info.status === 'stopped'), 60_000);
    const child = terminalRun;
    const exitCode = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))));
    assert.equal(exitCode, 130, 'the CLI exits as stopped');
    await page.locator('.monaco-list-row', { hasText: suffix }).filter({ hasText: 'stopped' }).first().waitFor({ timeout: 30_000 });
  });

  it('starts two runs with different learning rates from the palette and compares them in an editor tab', async () => {
    assert.ok(vscode);
    const { page } = vscode;
    await vscode.openFile('tiny.gan.json');
    await runWithLearningRate('0.002');
    await waitFor('the first palette run', async () => (await runInfos(runsDir)).length === 2, 60_000);
    await runWithLearningRate('0.0001');
    const all = await waitFor(
      'both palette runs to complete',
      async () => {
        const infos = await runInfos(runsDir);
        return infos.length === 3 && infos.filter((r) => r.info.status === 'completed').length === 2 ? infos : null;
      },
      120_000,
    );
    const rates = await Promise.all(
      all.map(
        async (r) =>
          (JSON.parse(await readFile(path.join(r.dir, 'config.json'), 'utf8')) as { generator: { optimizer: { learningRate: number } } }).generator.optimizer
            .learningRate,
      ),
    );
    assert.deepEqual([...rates].sort(), [0.0001, 0.0002, 0.002].sort(), 'each run records its own learning rate; the file keeps its own');
    assert.match(await readFile(path.join(workspace, 'tiny.gan.json'), 'utf8'), /"type": "mlp", "depth": 2, "width": 32, "batchNorm": true }/);

    // The experiment's group in the side panel lists the three runs.
    await page.locator('.monaco-list-row', { hasText: 'tiny' }).filter({ hasText: '3 runs' }).first().waitFor({ timeout: 30_000 });

    await vscode.runCommand('GAN: Compare runs of this experiment');
    const compare = await compareFrame();
    await compare.waitForSelector('#compare-chart[data-series-count="3"]', { timeout: 30_000 });
    assert.equal(await compare.locator('#runs-table tbody tr').count(), 3);
    // Only the field that differs gets a column.
    const headers = await compare.locator('#runs-table th').allTextContents();
    assert.ok(headers.includes('generator.optimizer.learningRate'), headers.join(' | '));
    assert.ok(!headers.includes('generator.width'));

    // Sort by G loss, then the scrubber: every run shows its samples at the same step.
    await compare.locator('#runs-table th', { hasText: 'G loss' }).click();
    await compare.evaluate(`(() => { const s = document.querySelector('#scrubber'); s.value = '200'; s.dispatchEvent(new Event('input')); })()`);
    await compare.waitForSelector('#samples[data-step="200"]', { timeout: 15_000 });
    const shown = await compare.locator('.sample-card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.step));
    assert.deepEqual(shown, ['200', '200', '200']);
    await compare.evaluate(`(() => { const s = document.querySelector('#smoothing'); s.value = '0.9'; s.dispatchEvent(new Event('input')); })()`);
    await vscode.screenshot('compare-dark.png');

    // The config difference opens in VS Code's own diff editor.
    await compare.locator('button.diff').first().click();
    await page.locator('.tab', { hasText: '↔' }).first().waitFor({ timeout: 15_000 });
  });

  it('forks a run from a checkpoint with a new learning rate and draws it as a branch', async () => {
    assert.ok(vscode);
    const before = await runInfos(runsDir);
    const parent = before.find((r) => r.info.status === 'completed');
    assert.ok(parent);
    await vscode.runCommand('GAN: Fork run from a checkpoint');
    await pick(parent.info.id, parent.info.id.slice(-9));
    await pick('step 200');
    await pick('Discriminator learning rate');
    await answer('New value of discriminator.optimizer.learningRate', '0.001');
    await pick('Start fork');
    const fork = await waitFor(
      'the fork to complete',
      async () => (await runInfos(runsDir)).find((r) => r.info.parent === parent.dir && r.info.status === 'completed'),
      90_000,
    );
    assert.equal(fork.info.parentStep, 200);
    const metrics = (await readFile(path.join(fork.dir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    assert.equal((JSON.parse(metrics[0]) as { step: number }).step, 210, 'the fork continues the step count from its checkpoint');

    // From the palette without a config in the editor: the experiment is picked by name.
    await vscode.runCommand('GAN: Compare runs of this experiment');
    await pick('tiny');
    const compare = await vscode.webviewFrame('.fork-note', 60_000);
    await compare.waitForSelector('#compare-chart[data-series-count="4"]', { timeout: 30_000 });
    assert.match((await compare.locator('.fork-note').first().textContent()) ?? '', /@200/);
    await vscode.screenshot('compare-fork.png');
  });

  it('edits the config through the form: the file keeps its comments', async () => {
    assert.ok(vscode);
    // With no config in the editor (the compare tab is in front), the command asks which one.
    await vscode.runCommand('GAN: Edit experiment');
    await pick('tiny.gan.json');
    const form = await vscode.webviewFrame('#field-training_steps', 60_000);
    await form.fill('#field-training_steps', '500');
    await form.press('#field-training_steps', 'Tab');
    const file = path.join(workspace, 'tiny.gan.json');
    await waitFor('the form to write the file', async () => (await readFile(file, 'utf8')).includes('"steps": 500'), 15_000);
    await form.selectOption('#field-generator_activation', 'tanh');
    await waitFor('the activation to be written', async () => (await readFile(file, 'utf8')).includes('"activation": "tanh"'), 15_000);
    const text = await readFile(file, 'utf8');
    for (const comment of ['// Tiny ring experiment for the end-to-end tests.', '// Keep this comment', '/* Small networks, so a run takes seconds. */']) {
      assert.ok(text.includes(comment), `kept: ${comment}\n${text}`);
    }
    // A bad value is written as typed and reported in the form (and in Problems), not silently dropped.
    await form.fill('#field-training_batchSize', '-4');
    await form.press('#field-training_batchSize', 'Tab');
    await form.waitForSelector('.field.invalid[data-path="training.batchSize"] .problem', { timeout: 15_000 });
    await vscode.screenshot('config-form.png');
    await form.fill('#field-training_batchSize', '32');
    await form.press('#field-training_batchSize', 'Tab');
    await waitFor('the fix to be written', async () => (await readFile(file, 'utf8')).includes('"batchSize": 32'), 15_000);
  });

  it('creates a new experiment from a template', async () => {
    assert.ok(vscode);
    await vscode.runCommand('GAN: New experiment');
    await pick('ring8-collapse');
    await answer('Experiment name', 'collapse-demo');
    await vscode.page.locator('.tab[aria-label^="collapse-demo.gan.json"]').first().waitFor({ timeout: 15_000 });
    const text = await readFile(path.join(workspace, 'collapse-demo.gan.json'), 'utf8');
    assert.match(text, /"name": "collapse-demo"/);
    assert.match(text, /^\/\/ A plain GAN that collapses/, "the template's comments come along");
  });

  it('brings the compare tab back after a window reload', async () => {
    assert.ok(vscode);
    await vscode.reload();
    // A restored tab in the background gets its webview when it is shown.
    await vscode.page.locator('.tab', { hasText: 'Compare: 4 GAN runs' }).first().click({ timeout: 60_000 });
    const compare = await compareFrame();
    await compare.waitForSelector('#runs-table tbody tr', { timeout: 60_000 });
    assert.ok((await compare.locator('#runs-table tbody tr').count()) >= 3);
    await copyFile(await vscode.screenshot('compare-after-reload.png'), path.join(ROOT, 'test-results', 'e2e-compare.png'));
  });

  it('deletes a run from the side panel after a confirmation', async () => {
    assert.ok(vscode);
    const { page } = vscode;
    const stopped = (await runInfos(runsDir)).find((r) => r.info.status === 'stopped');
    assert.ok(stopped, 'the terminal run (stopped) is there');
    await vscode.runCommand('GAN Workbench: Focus on Runs View');
    const row = page.locator('.monaco-list-row', { hasText: stopped.info.id.slice('tiny-'.length) }).first();
    const dialog = page.locator('.monaco-dialog-box');
    // (A tree refresh closes an open context menu: the right-click is repeated until the dialog shows.)
    for (let attempt = 1; !(await dialog.isVisible()); attempt++) {
      await row.click({ button: 'right', timeout: 5_000 }).catch(() => undefined);
      const clicked = await page
        .locator('.context-view .action-label', { hasText: 'Delete run' })
        .first()
        .click({ timeout: 5_000 })
        .then(() => true)
        .catch(() => false);
      await dialog.waitFor({ timeout: 5_000 }).catch(() => undefined);
      if (attempt === 5) throw new Error(`the delete confirmation did not show (screenshot: ${await vscode.screenshot('delete-menu.png')})`);
      // A menu left open blocks the next right-click.
      if (!clicked) await page.keyboard.press('Escape');
    }
    assert.match((await dialog.textContent()) ?? '', /Delete tiny-/);
    await dialog.locator('.monaco-button', { hasText: 'Delete' }).first().click();
    await waitFor('the run folder to be removed', async () => !(await runInfos(runsDir)).some((r) => r.dir === stopped.dir), 15_000);
    await row.waitFor({ state: 'detached', timeout: 15_000 });
  });
});
