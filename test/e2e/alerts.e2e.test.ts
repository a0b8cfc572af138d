/**
 * Health alerts in a real VS Code: the collapsing example, started from the palette, is told once
 * as a notification and shows as "alerting" in the runs view while it runs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, VsCode } from './vscode';

describe('health alerts in a real VS Code', () => {
  let workspace: string;
  let vscode: VsCode | undefined;

  before(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-alerts-'));
    // Long enough to still be running when the alert comes (after the first fifth of the run).
    const text = (await readFile(path.join(ROOT, 'examples', 'ring8-collapse.gan.json'), 'utf8')).replace('"steps": 3000', '"steps": 20000');
    await writeFile(path.join(workspace, 'collapse.gan.json'), text);
    vscode = await VsCode.launch({ workspace });
  });

  after(async () => {
    await vscode?.dispose();
    await rm(workspace, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
  });

  it('tells of mode collapse once, and the run shows as alerting in the runs view', async () => {
    assert.ok(vscode);
    const { page } = vscode;
    await vscode.openFile('collapse.gan.json');
    await vscode.runCommand('GAN: Start GAN run');
    const toast = vscode.notification(/mode collapse: G covers \d of 8 modes/);
    // The rule looks only after the first fifth of the run (4,000 of these 20,000 steps): about 30 s
    // alone, but over two minutes on a CI machine busy with code-server and Chromium (seen in CI).
    await toast.waitFor({ timeout: 300_000 });
    assert.match((await toast.textContent()) ?? '', /Usually helps: pack D's inputs \(PacGAN\)/);
    await vscode.runCommand('GAN Workbench: Focus on Runs View');
    const row = page.locator('.monaco-list-row', { hasText: /alerting · \d+\/20000/ }).first();
    await row.waitFor({ timeout: 30_000 });
    assert.equal(await row.locator('.codicon-warning').count(), 1, 'the warning icon');
    // The run's monitor lists the alert with its advice.
    const monitor = await vscode.monitorPanelFrame('', 30_000);
    await monitor.waitForSelector('#alerts li[data-kind="mode-collapse"]', { timeout: 30_000 });
    assert.match((await monitor.textContent('#alerts')) ?? '', /mode collapse: G covers \d of 8 modes.*Usually helps: pack D's inputs/);
    // The side panel's monitor, first shown now, follows the run too.
    const view = await vscode.monitorViewFrame(90_000);
    await view.waitForFunction(() => Number(document.querySelector('#loss-chart')?.getAttribute('data-point-count') ?? 0) > 10, undefined, { timeout: 30_000 });
    await vscode.screenshot('alerting-run.png');
    // (The toast may have timed out by now; a second one would still be showing.)
    assert.ok((await page.locator('.notification-toast', { hasText: 'mode collapse' }).count()) <= 1, 'told once');
    await vscode.runCommand('GAN: Stop run');
  });
});
