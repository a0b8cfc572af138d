/** Reliability in a real VS Code: a monitor that is hidden or reloaded, a crash loop, Restricted Mode. */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import type { MetricsRecord } from '../../src/protocol/runDirectory';
import { parseJsonl, readRunInfo } from '../../src/runs/runReader';
import { isAlive } from '../trainer/helpers';
import { ROOT, VsCode, type VsCodeOptions } from './vscode';

/** A small, fast ring GAN: metrics every 10 steps, checkpoints every 100. */
const TINY = {
  name: 'tiny',
  data: { type: 'ring' },
  generator: { type: 'mlp', depth: 2, width: 64, batchNorm: true },
  discriminator: { type: 'mlp', depth: 2, width: 64, activation: 'leakyRelu' },
  training: { steps: 100000, batchSize: 64 },
  logging: { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 100, sampleCount: 100, checkpointEvery: 100 },
};

let vscode: VsCode | undefined;
let workspace: string | undefined;

async function open(options: Omit<VsCodeOptions, 'workspace'> = {}): Promise<{ vscode: VsCode; workspace: string }> {
  workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-rel-'));
  await cp(path.join(ROOT, 'examples'), workspace, { recursive: true });
  await writeFile(path.join(workspace, 'tiny.gan.json'), JSON.stringify(TINY, null, 2));
  vscode = await VsCode.launch({ workspace, ...options });
  return { vscode, workspace };
}

/** The chart's points are exactly one per logged step, from the first to the last: no gap, no duplicate. */
async function assertContinuous(monitor: Frame, what: string): Promise<number> {
  // Both in one read: a point drawn between two separate reads would look like a gap.
  const [count, last] = (await monitor.evaluate(
    `(() => { const chart = document.querySelector('#loss-chart'); return [Number(chart.dataset.pointCount), Number(chart.dataset.lastStep)]; })()`,
  )) as [number, number];
  assert.ok(count > 0, `${what}: no points`);
  assert.equal(count, last / 10, `${what}: ${count} points up to step ${last}`);
  return last;
}

const pointsAtLeast = (monitor: Frame, n: number, timeout = 60_000) =>
  monitor.waitForFunction((min) => Number(document.querySelector('#loss-chart')?.getAttribute('data-point-count') ?? 0) >= min, n, { timeout });

/** Starts the tiny config from the palette; returns its monitor once it shows `points` points. */
async function startTiny(vscode: VsCode, points: number): Promise<Frame> {
  await vscode.openFile('tiny.gan.json');
  await vscode.runCommand('GAN: Start GAN run');
  const monitor = await vscode.monitorPanelFrame('', 90_000);
  await pointsAtLeast(monitor, points);
  return monitor;
}

afterEach(async () => {
  await vscode?.dispose();
  vscode = undefined;
  // (An orphaned trainer may still be writing its last checkpoint for a moment after the window is gone.)
  if (workspace) await rm(workspace, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
});

describe('reliability in a real VS Code', () => {
  it('a monitor hidden mid-run and shown again, and a window reload, resync with no gap and no duplicate', async () => {
    const { vscode, workspace } = await open();
    let monitor = await startTiny(vscode, 5);
    await assertContinuous(monitor, 'live');

    // Hide it behind another editor in its group, let the run go on, show it again.
    const monitorTab = vscode.page.locator('.tab', { hasText: 'GAN run: tiny' }).first();
    await monitorTab.click();
    await vscode.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'grid25.gan.json' }).first().click();
    await vscode.page.locator('.tab.active', { hasText: 'grid25.gan.json' }).last().waitFor({ timeout: 10_000 });
    await vscode.page.waitForTimeout(3000);
    await monitorTab.click();
    monitor = await vscode.monitorPanelFrame('', 30_000, '#loss-chart[data-point-count]');
    const before = await assertContinuous(monitor, 'after re-show');
    await pointsAtLeast(monitor, before / 10 + 3);
    await assertContinuous(monitor, 'live after re-show');

    // A window reload: the panel comes back through its serializer and reloads from the run directory.
    await vscode.reload();
    monitor = await vscode.monitorPanelFrame('', 90_000, '#loss-chart[data-point-count]');
    const [runId] = await readdir(path.join(workspace, 'runs'));
    const runDir = path.join(workspace, 'runs', runId);
    await monitor.waitForFunction(() => document.querySelector('#status')?.textContent !== 'running', undefined, { timeout: 30_000 });
    const last = await assertContinuous(monitor, 'after reload');
    const logged = parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records.map((m) => m.step);
    assert.equal(last, logged[logged.length - 1], 'the chart ends where metrics.jsonl ends');
    assert.notEqual((await readRunInfo(runDir))?.status, 'running', 'the reload ended the trainer with its extension host');
  });

  it('a trainer that keeps crashing is resumed from its checkpoint 4 times, then the user is told, with the log', async () => {
    const { vscode, workspace } = await open({ env: { GAN_WORKBENCH_FAULTS: JSON.stringify({ crashAfterSteps: 150 }) } });
    await vscode.openFile('tiny.gan.json');
    await vscode.runCommand('GAN: Start GAN run');
    const toast = vscode.notification(/crashed 5 times in 3 minutes and is not restarted again/);
    await toast.waitFor({ timeout: 120_000 });
    await vscode.screenshot('crash-loop.png');
    await toast.locator('a.monaco-button, .monaco-button', { hasText: 'Show Log' }).first().click();
    await vscode.page.locator('.part.panel .monaco-editor', { hasText: 'Restarting' }).first().waitFor({ timeout: 15_000 });
    const [runId] = await readdir(path.join(workspace, 'runs'));
    const runDir = path.join(workspace, 'runs', runId);
    const info = await readRunInfo(runDir);
    assert.equal(info?.status, 'failed');
    // Each process crashes 150 steps after it started, and each restart resumed from the newest
    // checkpoint: 0 → 150, 100 → 250, 200 → 350, 300 → 450, 400 → 550. Ending at 550 means
    // exactly 4 restarts.
    const steps = parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records.map((m) => m.step);
    assert.equal(steps[steps.length - 1], 550);
    assert.deepEqual(steps, [...new Set(steps)], 'no step logged twice across the restarts');
  });

  it('Restricted Mode: runs can be browsed but nothing starts, even by keybinding; granting trust enables training without a reload', async () => {
    const keybindings = [{ key: 'ctrl+alt+g', command: 'ganWorkbench.startRun' }];
    const ws = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-untrusted-'));
    // A run somebody left in the folder, to browse; and a workspace setting that names an executable.
    await mkdir(path.join(ws, 'runs', 'old-1'), { recursive: true });
    await writeFile(
      path.join(ws, 'runs', 'old-1', 'run.json'),
      JSON.stringify({
        id: 'old-1',
        name: 'old',
        status: 'completed',
        backend: 'wasm',
        backendReason: '',
        pid: null,
        host: 'elsewhere',
        startedAt: '2026-01-01T00:00:00Z',
        endedAt: '2026-01-01T00:10:00Z',
        step: 300,
        totalSteps: 300,
        error: null,
        configPath: null,
        parent: null,
      }),
    );
    // A workspace setting naming a path: ignored in Restricted Mode (restrictedConfigurations), honoured once trusted.
    await mkdir(path.join(ws, '.vscode'));
    await writeFile(path.join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'ganWorkbench.runsFolder': 'trusted-runs' }));
    await cp(path.join(ROOT, 'examples'), ws, { recursive: true });
    workspace = ws;
    vscode = await VsCode.launch({ workspace: ws, workspaceTrust: true, keybindings });
    const page = vscode.page;
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: "No, I don't trust the authors" }).click({ timeout: 30_000 });
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30_000 });

    await vscode.runCommand('View: Show GAN Workbench');
    await page.locator('.monaco-list-row', { hasText: 'old' }).first().waitFor({ timeout: 30_000 });

    await vscode.openFile('ring8.gan.json');
    await page.keyboard.press('Control+Alt+G');
    await vscode.notification('disabled in Restricted Mode').waitFor({ timeout: 15_000 });
    assert.deepEqual(await readdir(path.join(ws, 'runs')), ['old-1'], 'nothing was started');
    await vscode.screenshot('restricted-mode.png');

    // Grant trust in the Workspace Trust editor; no reload.
    await vscode.runCommand('Workspaces: Manage Workspace Trust');
    await page
      .locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ })
      .first()
      .click();
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'detached', timeout: 15_000 });
    // The Workspace Trust editor is active, so the command offers the workspace's configs.
    await page.keyboard.press('Control+Alt+G');
    const pick = page.locator('.quick-input-widget input');
    await pick.waitFor({ state: 'visible', timeout: 15_000 });
    await pick.fill('ring8');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'ring8.gan.json' }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    const monitor = await vscode.monitorPanelFrame('', 90_000);
    await pointsAtLeast(monitor, 2);
    assert.equal((await readdir(path.join(ws, 'trusted-runs'))).length, 1, 'once trusted, the workspace runsFolder applies');
    assert.deepEqual(await readdir(path.join(ws, 'runs')), ['old-1']);
  });

  it('when the extension host is killed, its trainer is gone within 5 s and the run does not claim to be running', async () => {
    const { vscode, workspace } = await open();
    await startTiny(vscode, 3);
    const [runId] = await readdir(path.join(workspace, 'runs'));
    const runDir = path.join(workspace, 'runs', runId);
    const trainer = (await readRunInfo(runDir))?.pid;
    assert.ok(trainer);
    // The trainer's parent is the extension host process that code-server started for this window.
    const extensionHost = Number((await readFile(`/proc/${trainer}/stat`, 'utf8')).split(') ')[1].split(' ')[1]);
    assert.match(await readFile(`/proc/${extensionHost}/cmdline`, 'utf8'), /extensionHost|bootstrap-fork|code-server/);
    const killedAt = Date.now();
    process.kill(extensionHost, 'SIGKILL');
    while (isAlive(trainer) && Date.now() - killedAt < 5000) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - killedAt) / 1000;
    assert.equal(isAlive(trainer), false, `the trainer outlived its extension host by ${seconds} s`);
    assert.notEqual((await readRunInfo(runDir))?.status, 'running');
  });
});
