/**
 * `npm run screenshots`: the pictures in docs/, taken in a real VS Code (code-server) — the
 * monitor while the ring example trains, and the compare tab with the side panel over runs
 * trained beforehand by the CLI, in the dark and the light default themes. `ONLY=laboratory`: the
 * 2-D laboratory on the ring example and on the one that collapses.
 */
import { spawn } from 'node:child_process';
import { cp, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Frame } from 'playwright-core';
import { ROOT, VsCode, type Theme } from '../test/e2e/vscode';

/**
 * A fresh workspace with the examples in a real VS Code in `theme`, `example` open and its run
 * started from the palette; `shot` gets the window and the run's monitor panel; then the screenshot is written to `file`.
 */
async function shootRun(
  theme: Theme,
  example: string,
  file: string,
  shot: (vscode: VsCode, monitor: Frame) => Promise<void>,
  selector?: string,
): Promise<void> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-shots-'));
  await cp(path.join(ROOT, 'examples'), workspace, { recursive: true });
  const vscode = await VsCode.launch({ workspace, theme, settings: { 'workbench.activityBar.location': 'default' } });
  try {
    await vscode.openFile(example);
    await vscode.runCommand('GAN: Start GAN run');
    await shot(vscode, await vscode.monitorPanelFrame('', 90_000, selector));
    await vscode.page.waitForTimeout(1500);
    await copyFile(await vscode.screenshot(path.basename(file)), file);
    console.log(`wrote ${path.relative(ROOT, file)}`);
  } finally {
    await vscode.dispose();
    await rm(workspace, { recursive: true, force: true });
  }
}

/** The ring's monitor after `seconds` of training, given the whole window. */
function shoot(theme: Theme, file: string, seconds: number): Promise<void> {
  return shootRun(theme, 'ring8.gan.json', file, async (vscode) => {
    await vscode.page.waitForTimeout(seconds * 1000);
    await vscode.runCommand('View: Close Primary Side Bar');
  });
}

/**
 * The 2-D laboratory of a run of `example` after `seconds` of training, paused, with the
 * manifold on and the monitor given the whole window.
 */
function shootLaboratory(theme: Theme, example: string, file: string, seconds: number): Promise<void> {
  return shootRun(
    theme,
    example,
    file,
    async (vscode, monitor) => {
      await vscode.page.waitForTimeout(seconds * 1000);
      await monitor.click('#lab-pause');
      await monitor.waitForFunction(() => /^Paused/.test(document.querySelector('#lab-status')?.textContent ?? ''), undefined, { timeout: 30_000 });
      await monitor.check('#lab-manifold');
      await vscode.runCommand('View: Close Primary Side Bar');
      await vscode.runCommand('View: Close Other Editors in Group');
      await vscode.runCommand('View: Maximize Editor Group');
      await monitor.evaluate(() => document.querySelector('#scatter-chart-card')?.scrollIntoView({ block: 'start' }));
    },
    '#scatter-chart',
  );
}

function cli(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { cwd, stdio: 'ignore' });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`gan-workbench ${args.join(' ')} exited with ${code}`))));
  });
}

/** Three runs of the ring with different learning rates and a fork of one of them. */
async function trainRunsToCompare(workspace: string): Promise<void> {
  const steps = process.env.COMPARE_STEPS ?? '1500';
  const common = ['train', 'ring8.gan.json', '--out', 'runs', '--steps', steps];
  await Promise.all([
    cli(common, workspace),
    cli([...common, '--set', 'generator.optimizer.learningRate=1e-4', '--set', 'discriminator.optimizer.learningRate=1e-4'], workspace),
  ]);
  // Fork the run with the example's own learning rates, from step 500, with a slower discriminator.
  let first = '';
  for (const name of await readdir(path.join(workspace, 'runs'))) {
    const config = JSON.parse(await readFile(path.join(workspace, 'runs', name, 'config.json'), 'utf8')) as {
      discriminator: { optimizer: { learningRate: number } };
    };
    if (config.discriminator.optimizer.learningRate === 2e-4) first = name;
  }
  await Promise.all([
    cli([...common, '--set', 'generator.optimizer.learningRate=2e-3'], workspace),
    cli(['train', '--fork', path.join('runs', first), '--from-step', '500', '--steps', steps, '--set', 'discriminator.optimizer.learningRate=1e-4'], workspace),
  ]);
}

async function shootCompare(theme: Theme, workspace: string, file: string): Promise<void> {
  const vscode = await VsCode.launch({ workspace, theme, settings: { 'workbench.activityBar.location': 'default' } });
  try {
    await vscode.openFile('ring8.gan.json');
    await vscode.runCommand('GAN: Compare runs of this experiment');
    const compare = await vscode.webviewFrame('#runs-table', 60_000);
    await compare.waitForSelector('#samples[data-step]', { timeout: 30_000 });
    await compare.evaluate(`(() => { const s = document.querySelector('#scrubber'); s.value = '600'; s.dispatchEvent(new Event('input')); })()`);
    await compare.waitForSelector('#samples[data-step="600"]', { timeout: 30_000 });
    await vscode.runCommand('GAN Workbench: Focus on Runs View');
    await vscode.runCommand('View: Close Other Editors in Group');
    await vscode.page.waitForTimeout(1500);
    await copyFile(await vscode.screenshot(path.basename(file)), file);
    console.log(`wrote ${path.relative(ROOT, file)}`);
  } finally {
    await vscode.dispose();
  }
}

void (async () => {
  await mkdir(path.join(ROOT, 'docs'), { recursive: true });
  if (process.env.ONLY?.startsWith('laboratory')) {
    const seconds = Number(process.env.TRAIN_SECONDS ?? 60);
    if (process.env.ONLY !== 'laboratory-collapse') {
      await shootLaboratory('Default Dark Modern', 'ring8.gan.json', path.join(ROOT, 'docs', 'laboratory-ring8-dark.png'), seconds);
      await shootLaboratory('Default Light Modern', 'ring8.gan.json', path.join(ROOT, 'docs', 'laboratory-ring8-light.png'), seconds);
    }
    // (Its 3,000 steps take about 20 s on a quiet machine: paused before it ends, once it has collapsed.)
    await shootLaboratory('Default Dark Modern', 'ring8-collapse.gan.json', path.join(ROOT, 'docs', 'laboratory-collapse-dark.png'), Math.min(seconds, 12));
    return;
  }
  if (process.env.ONLY !== 'monitor') {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-shots-compare-'));
    await cp(path.join(ROOT, 'examples'), workspace, { recursive: true });
    try {
      await trainRunsToCompare(workspace);
      await shootCompare('Default Dark Modern', workspace, path.join(ROOT, 'docs', 'compare-dark.png'));
      await shootCompare('Default Light Modern', workspace, path.join(ROOT, 'docs', 'compare-light.png'));
    } finally {
      await rm(workspace, { recursive: true, force: true });
    }
  }
  if (process.env.ONLY === 'compare') return;
  const seconds = Number(process.env.TRAIN_SECONDS ?? 60);
  await shoot('Default Dark Modern', path.join(ROOT, 'docs', 'monitor-dark.png'), seconds);
  await shoot('Default Light Modern', path.join(ROOT, 'docs', 'monitor-light.png'), seconds);
})();
