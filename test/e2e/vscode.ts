/**
 * A real VS Code for end-to-end tests: code-server (installed by scripts/install-code-server.sh)
 * with the packaged extension, driven by Playwright in Debian's Chromium.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { launchChromium } from '../webview/page';

export const ROOT = path.resolve(__dirname, '../..');
export const CODE_SERVER = path.join(ROOT, '.e2e', 'code-server', 'node_modules', '.bin', 'code-server');
export const VSIX = path.join(ROOT, 'gan-workbench.vsix');
export const RESULTS = path.join(ROOT, 'test-results', 'e2e');

export type Theme = 'Default Dark Modern' | 'Default Light Modern';

export interface VsCodeOptions {
  workspace: string;
  theme?: Theme;
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** User keybindings (keybindings.json entries). */
  keybindings?: { key: string; command: string }[];
  /** Environment of code-server and so of the extension host and its trainers. */
  env?: Record<string, string>;
  /** Ask for workspace trust (Restricted Mode until granted) instead of disabling it. */
  workspaceTrust?: boolean;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs} ms:\n${log()}`);
}

export class VsCode {
  private constructor(
    readonly page: Page,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    private readonly home: string,
    readonly serverLog: () => string,
  ) {}

  /** Starts code-server with the packaged extension and opens `workspace` in Chromium. */
  static async launch(options: VsCodeOptions): Promise<VsCode> {
    if (!existsSync(CODE_SERVER)) throw new Error(`code-server is missing: run \`bash scripts/install-code-server.sh\` first (${CODE_SERVER})`);
    if (!existsSync(VSIX)) throw new Error(`${VSIX} is missing: run \`npm run package\` first`);
    const home = await mkdtemp(path.join(os.tmpdir(), 'gan-e2e-vscode-'));
    const userData = path.join(home, 'user-data');
    const extensions = path.join(home, 'extensions');
    await mkdir(path.join(userData, 'User'), { recursive: true });
    await writeFile(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify({
        'workbench.colorTheme': options.theme ?? 'Default Dark Modern',
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'security.workspace.trust.enabled': options.workspaceTrust === true,
        'security.workspace.trust.startupPrompt': 'always',
        'extensions.ignoreRecommendations': true,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'window.restoreWindows': 'none',
        'chat.commandCenter.enabled': false,
        ...options.settings,
      }),
    );
    if (options.keybindings) await writeFile(path.join(userData, 'User', 'keybindings.json'), JSON.stringify(options.keybindings));
    const install = spawnSync(CODE_SERVER, ['--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', VSIX, '--force'], {
      encoding: 'utf8',
    });
    if (install.status !== 0) throw new Error(`installing the extension failed:\n${install.stdout}\n${install.stderr}`);

    const port = await freePort();
    let log = '';
    const server = spawn(
      CODE_SERVER,
      [
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--auth',
        'none',
        '--disable-telemetry',
        '--disable-update-check',
        ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
        '--disable-getting-started-override',
        '--user-data-dir',
        userData,
        '--extensions-dir',
        extensions,
        options.workspace,
      ],
      // Its own process group, so dispose() can end code-server and everything it started.
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CS_DISABLE_FILE_DOWNLOADS: '1', ...options.env } },
    );
    server.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const serverLog = () => log;
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, server, serverLog);
      const browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`);
      await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 90_000 });
      return new VsCode(page, browser, server, home, serverLog);
    } catch (error) {
      VsCode.killGroup(server);
      throw error;
    }
  }

  private static killGroup(server: ChildProcess): void {
    if (server.pid === undefined || server.exitCode !== null) return;
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      server.kill('SIGKILL');
    }
  }

  /** Runs a command by its title from the command palette. */
  async runCommand(title: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    // A palette opened before the extension registered its commands never lists them: reopen it.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(`>${title}`);
        await row.waitFor({ timeout: 15_000 });
        break;
      } catch (error) {
        if (attempt === 3) throw error;
        await this.page.keyboard.press('Escape');
      }
    }
    await this.page.keyboard.press('Enter');
  }

  /** Reloads the window and waits for the workbench again. */
  async reload(): Promise<void> {
    await this.runCommand('Developer: Reload Window');
    await this.page.waitForTimeout(1000);
    await this.page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 90_000 });
  }

  /** A notification toast containing `text`. */
  notification(text: string | RegExp) {
    return this.page.locator('.notification-toast', { hasText: text }).first();
  }

  /** Opens a workspace file with Quick Open. */
  async openFile(relativePath: string): Promise<void> {
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(relativePath);
    await this.page
      .locator('.quick-input-list .monaco-list-row', { hasText: path.basename(relativePath) })
      .first()
      .waitFor({ timeout: 15_000 });
    await this.page.keyboard.press('Enter');
    // Quick Open has closed (the file is being opened), and its tab is there.
    await input.waitFor({ state: 'hidden', timeout: 15_000 });
    await this.page
      .locator(`.tab[aria-label^="${path.basename(relativePath)}"]`)
      .first()
      .waitFor({ timeout: 15_000 });
  }

  /**
   * The content frame of the first webview that contains `selector`; with `title`, only a webview
   * whose document title matches it (the editor's monitor panel is "GAN run <run id>", the side
   * panel's monitor view "GAN run", so a test can tell the two apart).
   */
  async webviewFrame(selector: string, timeoutMs = 60_000, title?: RegExp): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) continue;
        if (title && !title.test(await frame.title().catch(() => ''))) continue;
        const found = await frame.$(selector).catch(() => null);
        if (found) return frame;
      }
      await this.page.waitForTimeout(250);
    }
    const shot = await this.screenshot(`no-webview-${selector.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`).catch(() => 'none');
    throw new Error(`no webview with ${selector}${title ? ` titled ${String(title)}` : ''} appeared within ${timeoutMs} ms (screenshot: ${shot})`);
  }

  /** The run monitor in an editor tab (of the run whose id contains `runId`, when given). */
  async monitorPanelFrame(runId = '', timeoutMs = 60_000, selector = '#loss-chart'): Promise<Frame> {
    return this.webviewFrame(selector, timeoutMs, new RegExp(`^GAN run \\S*${runId.replace(/[^A-Za-z0-9-]/g, '')}`));
  }

  /** The compact run monitor in the side panel. */
  async monitorViewFrame(timeoutMs = 60_000): Promise<Frame> {
    return this.webviewFrame('#loss-chart', timeoutMs, /^GAN run$/);
  }

  async screenshot(name: string): Promise<string> {
    await mkdir(RESULTS, { recursive: true });
    const file = path.join(RESULTS, name);
    await this.page.screenshot({ path: file });
    return file;
  }

  async dispose(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    VsCode.killGroup(this.server);
    await rm(this.home, { recursive: true, force: true });
  }
}
