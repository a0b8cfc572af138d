/** The walking skeleton in a real VS Code: palette → trainer process → live monitor → stop. */
import assert from 'node:assert/strict';
import { cp, copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunInfo } from '../../src/protocol/runDirectory';
import { ROOT, VsCode } from './vscode';

describe('GAN: Start GAN run in a real VS Code', () => {
  let workspace: string;
  let vscode: VsCode | undefined;

  before(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-ws-'));
    await cp(path.join(ROOT, 'examples'), workspace, { recursive: true });
    // Written before VS Code starts, so Quick Open's file index has it.
    const text = (await readFile(path.join(workspace, 'ring8.gan.json'), 'utf8'))
      .replace('"batchSize": 200', '"batchSize": -5')
      .replace('"name": "ring8"', '"name": "broken"');
    await writeFile(path.join(workspace, 'broken.gan.json'), text);
    vscode = await VsCode.launch({ workspace });
  });

  after(async () => {
    await vscode?.dispose();
    await rm(workspace, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
  });

  it('starts the ring example from the command palette and draws the loss chart live', async () => {
    assert.ok(vscode);
    const { page } = vscode;
    await vscode.openFile('ring8.gan.json');
    await vscode.runCommand('GAN: Start GAN run');

    const monitor = await vscode.monitorPanelFrame('', 90_000);
    const points = async () => Number((await monitor.getAttribute('#loss-chart', 'data-point-count')) ?? 0);
    await monitor.waitForFunction(() => Number(document.querySelector('#loss-chart')?.getAttribute('data-point-count') ?? 0) >= 3, undefined, {
      timeout: 90_000,
    });
    const first = await points();
    await monitor.waitForFunction((n) => Number(document.querySelector('#loss-chart')?.getAttribute('data-point-count') ?? 0) >= n + 3, first, {
      timeout: 60_000,
    });
    assert.ok((await points()) > first, 'the chart grows while the run trains');
    assert.equal(await monitor.textContent('#status'), 'running');
    assert.match((await monitor.textContent('#step')) ?? '', /^step [\d,]+ \/ 8,000$/, "the example's 8,000 steps");
    await monitor.waitForSelector('#scatter-chart[data-step]:not([data-step=""])', { timeout: 30_000 });
    await monitor.waitForSelector('#histogram-chart[data-step]:not([data-step=""])', { timeout: 60_000 });
    // Losses, D's outputs, G's gradient norm and the training controls at least (the evaluation's cards come at step 250),
    // each drawn once.
    const charts = await monitor.locator('.uplot').count();
    assert.ok(charts >= 4, `${charts} charts`);
    assert.equal(await monitor.locator('.card-body:has(.uplot)').count(), charts, 'one chart per card');
    for (const id of ['loss-chart', 'equilibrium-chart', 'gradient-chart', 'controls-chart'])
      assert.equal(await monitor.locator(`#${id} .uplot`).count(), 1, id);

    // The webview's own security: strict CSP, no command links, and nothing outside dist/webview loads
    // (media/gan.svg is an image the CSP would allow: only localResourceRoots can refuse it).
    // (A string, not a function: tsx would wrap a function in helpers the webview does not have.)
    const security = (await monitor.evaluate(`(async () => {
      const csp = document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '';
      const style = document.querySelector('link[rel="stylesheet"]')?.href ?? '';
      const outside = await new Promise((resolve) => {
        const img = new Image();
        img.onload = () => resolve('loaded');
        img.onerror = () => resolve('refused');
        img.src = style.replace('dist/webview/monitor.css', 'media/gan.svg');
      });
      return { csp, style, outside, commandLinks: document.querySelectorAll('a[href^="command:"]').length };
    })()`)) as { csp: string; style: string; outside: string; commandLinks: number };
    assert.match(security.style, /dist\/webview\/monitor\.css$/);
    assert.match(security.csp, /^default-src 'none';/);
    assert.doesNotMatch(security.csp, /unsafe-eval/);
    assert.equal(security.outside, 'refused', 'a file outside dist/webview cannot be loaded by the webview');
    assert.equal(security.commandLinks, 0);

    // The status bar item follows the active run.
    const statusItem = page.locator('.statusbar-item', { hasText: /GAN \d+\/8000/ });
    await statusItem.first().waitFor({ timeout: 15_000 });

    await vscode.screenshot('monitor-running.png');
    await copyFile(await vscode.screenshot('monitor-running.png'), path.join(ROOT, 'test-results', 'e2e-monitor.png'));

    // Stop from the palette: the run ends as `stopped`, and says so in the panel and in run.json.
    await vscode.runCommand('GAN: Stop run');
    await monitor.waitForFunction(() => document.querySelector('#status')?.textContent === 'stopped', undefined, { timeout: 30_000 });
    const runsDir = path.join(workspace, 'runs');
    const [runId] = await readdir(runsDir);
    const info = JSON.parse(await readFile(path.join(runsDir, runId, 'run.json'), 'utf8')) as RunInfo;
    assert.equal(info.status, 'stopped');
    assert.equal(info.backend, 'wasm');
    assert.ok(info.step > 0);
    assert.ok((await readdir(path.join(runsDir, runId, 'checkpoints'))).length >= 1, 'a checkpoint was written on stop');
    await vscode.screenshot('monitor-stopped.png');
  });

  it('refuses an invalid config: the editor flags the field, the command says what is wrong, nothing starts', async () => {
    assert.ok(vscode);
    const { page } = vscode;
    await vscode.openFile('broken.gan.json');
    // The field is marked in the editor and listed in Problems with its path and what was expected.
    await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 30_000 });
    await vscode.runCommand('View: Focus Problems');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'training.batchSize: expected > 0, got -5' }).first().waitFor({ timeout: 15_000 });
    // ...and by the JSON Schema the extension contributes (the JSON support's own warning).
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'Value is below the exclusive minimum of 0' }).first().waitFor({ timeout: 30_000 });
    await vscode.runCommand('GAN: Start GAN run');
    const toast = page.locator('.notification-toast', { hasText: 'broken.gan.json is not a valid experiment' });
    await toast.waitFor({ timeout: 15_000 });
    assert.match((await toast.textContent()) ?? '', /training\.batchSize: expected > 0, got -5/);
    await vscode.screenshot('invalid-config.png');
    const runs = await readdir(path.join(workspace, 'runs')).catch(() => [] as string[]);
    assert.ok(!runs.some((name) => name.startsWith('broken')), 'no run directory for a refused config');
  });
});
