/**
 * The 2-D laboratory in a real VS Code: the ring example started from the palette draws D's
 * surface live; its step mode pauses the real trainer, makes single D and G updates, takes a new
 * learning rate and k, and resumes; the run directory records what was changed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MetricsRecord, RunInfo } from '../../src/protocol/runDirectory';
import { ROOT, VsCode } from './vscode';

describe('2-D laboratory in a real VS Code', () => {
  let workspace: string;
  let vscode: VsCode | undefined;

  before(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-lab-'));
    // Long enough to be running through the whole test.
    const text = (await readFile(path.join(ROOT, 'examples', 'ring8.gan.json'), 'utf8')).replace('"steps": 8000', '"steps": 20000');
    await writeFile(path.join(workspace, 'ring8.gan.json'), text);
    vscode = await VsCode.launch({ workspace });
  });

  after(async () => {
    await vscode?.dispose();
    await rm(workspace, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
  });

  it('draws the surface live, pauses, steps D and G, changes lr and k, and resumes', async () => {
    assert.ok(vscode);
    await vscode.openFile('ring8.gan.json');
    await vscode.runCommand('GAN: Start GAN run');
    const monitor = await vscode.monitorPanelFrame('', 90_000, '#scatter-chart');
    // Live frames: the laboratory's step moves between the sample files (every 100 steps).
    const stepOf = async () => Number((await monitor.getAttribute('#scatter-chart', 'data-step')) || -1);
    await monitor.waitForFunction(() => Number(document.querySelector('#scatter-chart')?.getAttribute('data-step') || 0) > 0, undefined, { timeout: 60_000 });
    await monitor.waitForFunction(() => Number(document.querySelector('#scatter-chart')?.getAttribute('data-step') || 0) % 100 !== 0, undefined, {
      timeout: 60_000,
    });
    await monitor.waitForSelector('#lab-pause:not([disabled])', { timeout: 30_000 });
    assert.match((await monitor.textContent('#scatter-chart-card .card-subtitle')) ?? '', /background: D\(x\)/);

    await monitor.click('#lab-pause');
    await monitor.waitForFunction(() => /^Paused after step/.test(document.querySelector('#lab-status')?.textContent ?? ''), undefined, { timeout: 30_000 });
    // (The laboratory's own step may be older: live frames are spaced out; a single update sends one at once.)
    const pausedStep = Number(/^Paused after step ([\d,]+)/.exec((await monitor.textContent('#lab-status')) ?? '')![1].replace(/,/g, ''));
    await monitor.click('#lab-d-step');
    await monitor.waitForFunction(() => /single updates so far: 1 D, 0 G/.test(document.querySelector('#lab-status')?.textContent ?? ''), undefined, {
      timeout: 30_000,
    });
    await monitor.click('#lab-g-step');
    await monitor.waitForFunction(() => /single updates so far: 1 D, 1 G/.test(document.querySelector('#lab-status')?.textContent ?? ''), undefined, {
      timeout: 30_000,
    });
    assert.equal(await stepOf(), pausedStep, 'single updates leave the step counter');
    await monitor.fill('#lab-lr-d', '1e-4');
    await monitor.fill('#lab-k', '2');
    await monitor.click('#lab-apply');
    await monitor.waitForFunction(
      () => (document.querySelector('#lab-k') as HTMLInputElement | null)?.value === '2' && document.querySelector('#lab-apply')?.hasAttribute('disabled'),
      undefined,
      {
        timeout: 30_000,
      },
    );
    // The runs view says so too (from run.json, as for a run paused in another window).
    await vscode.runCommand('GAN Workbench: Focus on Runs View');
    const row = vscode.page.locator('.monaco-list-row', { hasText: /paused · \d+\/20000/ }).first();
    await row.waitFor({ timeout: 30_000 });
    assert.equal(await row.locator('.codicon-debug-pause').count(), 1, 'the pause icon');
    await vscode.runCommand('View: Close Primary Side Bar');
    await vscode.page.waitForTimeout(800);
    await vscode.screenshot('laboratory-paused.png');

    const runsDir = path.join(workspace, 'runs');
    const [runId] = await readdir(runsDir);
    const info = JSON.parse(await readFile(path.join(runsDir, runId, 'run.json'), 'utf8')) as RunInfo;
    assert.equal(info.paused, true);
    assert.deepEqual(
      info.controlChanges?.map((c) => [c.discriminatorLearningRate, c.dStepsPerGStep]),
      [[0.0001, 2]],
    );

    await monitor.click('#lab-pause');
    await monitor.waitForFunction(() => /^Training/.test(document.querySelector('#lab-status')?.textContent ?? ''), undefined, { timeout: 30_000 });
    await monitor.waitForFunction((after) => Number(document.querySelector('#scatter-chart')?.getAttribute('data-step') || 0) > after + 50, pausedStep, {
      timeout: 60_000,
    });
    const records = (await readFile(path.join(runsDir, runId, 'metrics.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as MetricsRecord);
    const last = records[records.length - 1];
    assert.ok(last.step > pausedStep);
    assert.deepEqual([last.discriminatorLearningRate, last.dStepsPerGStep, last.singleDiscriminatorUpdates, last.singleGeneratorUpdates], [0.0001, 2, 1, 1]);
    await vscode.screenshot('laboratory-live.png');
    await vscode.runCommand('GAN: Stop run');
  });
});
