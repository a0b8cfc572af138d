/**
 * `npm run screenshots`: the pictures in docs/, taken in a real VS Code (code-server) while the
 * ring example trains — the monitor in the dark and the light default themes.
 */
import { cp, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, VsCode, type Theme } from '../test/e2e/vscode';

async function shoot(theme: Theme, file: string, seconds: number): Promise<void> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'gan-shots-'));
  await cp(path.join(ROOT, 'examples'), workspace, { recursive: true });
  const vscode = await VsCode.launch({ workspace, theme, settings: { 'workbench.activityBar.location': 'default' } });
  try {
    await vscode.openFile('ring8.gan.json');
    await vscode.runCommand('GAN: Start GAN run');
    await vscode.webviewFrame('#loss-chart', 90_000);
    // Let it train, then give the monitor the whole window.
    await vscode.page.waitForTimeout(seconds * 1000);
    await vscode.runCommand('View: Close Primary Side Bar');
    await vscode.page.waitForTimeout(1500);
    await copyFile(await vscode.screenshot(path.basename(file)), file);
    console.log(`wrote ${path.relative(ROOT, file)}`);
  } finally {
    await vscode.dispose();
    await rm(workspace, { recursive: true, force: true });
  }
}

void (async () => {
  await mkdir(path.join(ROOT, 'docs'), { recursive: true });
  const seconds = Number(process.env.TRAIN_SECONDS ?? 60);
  await shoot('Default Dark Modern', path.join(ROOT, 'docs', 'monitor-dark.png'), seconds);
  await shoot('Default Light Modern', path.join(ROOT, 'docs', 'monitor-light.png'), seconds);
})();
