/**
 * End-to-end harness: a real VS Code (code-server 4.100.3, installed into .e2e/code-server by
 * scripts/install-code-server.sh) with extensions installed from .vsix files, opened on a
 * workspace folder in Debian's Chromium and driven by Playwright.
 *
 *   const vscode = await startVsCode({ workspace, extensions: [EXTENSION_VSIX] });
 *   try {
 *     await openFile(vscode.page, 'ring8.gan.json');
 *     await runCommand(vscode.page, 'GAN: Start GAN run');
 *     const monitor = await webviewFrame(vscode.page, /^GAN run/, { selector: '#loss-chart' });
 *     await waitForAttribute(monitor, '#loss-chart', 'data-point-count', (n) => Number(n) >= 5);
 *     await screenshot(vscode.page, 'monitor.png');
 *   } finally {
 *     await vscode.dispose();
 *   }
 *
 * Functions passed to Playwright's `evaluate`/`waitForFunction` from files that tsx compiles may
 * carry esbuild's `__name(...)` helper, which the page does not have: prefer locators, the
 * node-side `waitFor*` helpers here, or pass the page code as a string.
 *
 * Environment: CODE_SERVER (binary), CHROMIUM_PATH (default /usr/bin/chromium), E2E_KEEP_TEMP=1
 * (keep each session's temp directory with user data, logs and code-server.log).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Frame, type FrameLocator, type Locator, type Page } from 'playwright-core';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER_BIN = process.env.CODE_SERVER ?? path.join(REPO_ROOT, '.e2e', 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** What `npm run package` writes. */
export const EXTENSION_VSIX = path.join(REPO_ROOT, 'gan-workbench.vsix');
/** Where relative `screenshot` paths go. */
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results', 'e2e');

/** Budget for code-server + Chromium + workbench to come up (a cold start here takes 10–30 s). */
export const STARTUP_TIMEOUT_MS = 120_000;
/** Budget for one UI step (a palette row, a tab, a webview) to appear. */
export const UI_TIMEOUT_MS = 30_000;

export type ThemeName = 'Default Dark Modern' | 'Default Light Modern' | 'Default Dark+' | 'Default Light+' | (string & {});
/** A panel (editor tab) title: exactly this string, matching this RegExp, or accepted by this predicate. */
export type TitleMatch = string | RegExp | ((title: string) => boolean);

export interface StartOptions {
  /** Absolute folder to open (`?folder=`); none opens an empty window. */
  workspace?: string;
  /** .vsix files to install into the session's fresh extensions dir before starting. */
  extensions?: string[];
  /** Color theme; default 'Default Dark Modern'. */
  theme?: ThemeName;
  /** More user settings (merged over the defaults of `defaultSettings`). */
  settings?: Record<string, unknown>;
  /** User keybindings.json entries. */
  keybindings?: { key: string; command: string; when?: string; args?: unknown }[];
  /** Ask for workspace trust (Restricted Mode until granted) instead of disabling it. Default false. */
  workspaceTrust?: boolean;
  /** Extra environment of code-server, its extension host and what extensions spawn. */
  env?: Record<string, string>;
  /** Browser viewport; default 1600×1000. */
  viewport?: { width: number; height: number };
  /** Default STARTUP_TIMEOUT_MS. */
  startupTimeoutMs?: number;
}

export interface VsCodeSession {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly browser: Browser;
  /** The workbench URL, e.g. http://127.0.0.1:41234/?folder=%2Ftmp%2Fws */
  readonly url: string;
  readonly port: number;
  /** code-server's process id (the leader of its process group). */
  readonly pid: number;
  /** Temp directory holding user-data/, extensions/, config.yaml and code-server.log. */
  readonly home: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** code-server's stdout and stderr so far. */
  serverLog(): string;
  /** Uncaught page errors and console errors of the workbench page so far. */
  browserErrors(): string[];
  /** Closes the browser, ends code-server's whole process tree and removes `home`. Idempotent. */
  dispose(): Promise<void>;
}

/** The user settings every session starts with (before `StartOptions.settings`). */
export function defaultSettings(theme: ThemeName = 'Default Dark Modern', workspaceTrust = false): Record<string, unknown> {
  return {
    'workbench.colorTheme': theme,
    'workbench.startupEditor': 'none',
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'window.commandCenter': true,
    'window.restoreWindows': 'none',
    'chat.commandCenter.enabled': false,
    'security.workspace.trust.enabled': workspaceTrust,
    'security.workspace.trust.startupPrompt': 'always',
    'security.workspace.trust.emptyWindow': false,
    'extensions.ignoreRecommendations': true,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'editor.accessibilitySupport': 'off',
    'git.openRepositoryInParentFolders': 'never',
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  zombie: boolean;
}

/** All processes, from /proc (Linux). */
function listProcesses(): ProcInfo[] {
  const result: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      result.push({ pid: Number(entry), ppid: Number(fields[1]), pgid: Number(fields[2]), zombie: fields[0] === 'Z' });
    } catch {
      // exited meanwhile
    }
  }
  return result;
}

/** `root`, its descendants and the members of its process group that are still alive (not zombies). */
export function processTree(root: number): number[] {
  const all = listProcesses();
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const found = new Set<number>();
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (found.has(pid)) continue;
    found.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  for (const p of all) if (p.pgid === root) found.add(p.pid);
  const alive = new Set(all.filter((p) => !p.zombie).map((p) => p.pid));
  return [...found].filter((pid) => alive.has(pid));
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/**
 * Ends a process and everything it started (children, grandchildren — also those that moved to
 * their own session, like terminals — and its process group): SIGTERM, then SIGKILL after `graceMs`.
 */
export async function killProcessTree(root: number, graceMs = 3_000): Promise<void> {
  const seen = new Set(processTree(root));
  signal([...seen], 'SIGTERM');
  const deadline = Date.now() + graceMs;
  for (;;) {
    // Processes started while ending count too; those already known stay known after reparenting.
    for (const pid of processTree(root)) seen.add(pid);
    const alive = new Set(listProcesses().filter((p) => !p.zombie).map((p) => p.pid));
    const left = [...seen].filter((pid) => alive.has(pid));
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      signal(left, 'SIGKILL');
      if (Date.now() >= deadline + 5_000) throw new Error(`processes ${left.join(', ')} of ${root} survived SIGKILL`);
    }
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The environment for code-server: ours without the variables of a VS Code this may run inside. */
function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VSCODE_|CODE_SERVER_|ELECTRON_RUN_AS_NODE$)/.test(key) || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** `code-server --version`'s first word, or undefined when it is missing or broken. */
export async function codeServerVersion(bin = CODE_SERVER_BIN): Promise<string | undefined> {
  if (!existsSync(bin)) return undefined;
  try {
    const { stdout } = await execFileAsync(bin, ['--version'], { timeout: 30_000, env: childEnv(undefined) });
    return stdout.trim().split(/\s+/)[0];
  } catch {
    return undefined;
  }
}

/** Installs .vsix files into `extensionsDir` (code-server --install-extension). */
export async function installExtensions(vsixFiles: string[], dirs: { userDataDir: string; extensionsDir: string }): Promise<void> {
  if (vsixFiles.length === 0) return;
  for (const vsix of vsixFiles) if (!existsSync(vsix)) throw new Error(`${vsix} does not exist (for the extension itself: \`npm run package\`)`);
  const args = ['--user-data-dir', dirs.userDataDir, '--extensions-dir', dirs.extensionsDir, '--force'];
  for (const vsix of vsixFiles) args.push('--install-extension', path.resolve(vsix));
  try {
    const { stdout } = await execFileAsync(CODE_SERVER_BIN, args, { timeout: 120_000, env: childEnv(undefined), encoding: 'utf8' });
    // It reports some failures on stdout with exit status 0.
    if (/failed|error/i.test(stdout)) throw new Error(stdout);
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`installing ${vsixFiles.join(', ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Debian's Chromium, headless, through playwright-core. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Playwright gives it a fresh profile (its --user-data-dir) and removes it on close.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}

async function waitForHttp(url: string, server: ChildProcess, deadline: number, log: () => string): Promise<void> {
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`code-server exited (${server.exitCode ?? server.signalCode}) before answering:\n${tail(log())}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`code-server did not answer ${url} in time:\n${tail(log())}`);
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Processes of sessions not yet disposed, ended if the test process exits without `dispose`. */
const liveServers = new Set<number>();
process.once('exit', () => {
  for (const pid of liveServers) signal(processTree(pid), 'SIGKILL');
});

/**
 * Starts code-server on a free 127.0.0.1 port with a fresh user-data and extensions dir, installs
 * `extensions`, opens `workspace` in headless Chromium and waits for the workbench.
 */
export async function startVsCode(options: StartOptions = {}): Promise<VsCodeSession> {
  const version = await codeServerVersion();
  if (version !== CODE_SERVER_VERSION) {
    throw new Error(`code-server ${CODE_SERVER_VERSION} is not installed at ${CODE_SERVER_BIN} (found: ${version ?? 'nothing'}): run \`bash scripts/install-code-server.sh\``);
  }
  if (options.workspace !== undefined && !path.isAbsolute(options.workspace)) throw new Error(`workspace must be absolute: ${options.workspace}`);
  const deadline = Date.now() + (options.startupTimeoutMs ?? STARTUP_TIMEOUT_MS);
  const workspaceTrust = options.workspaceTrust ?? false;

  const home = await mkdtemp(path.join(os.tmpdir(), 'e2e-vscode-'));
  const userDataDir = path.join(home, 'user-data');
  const extensionsDir = path.join(home, 'extensions');
  await mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await mkdir(extensionsDir, { recursive: true });
  const settings = { ...defaultSettings(options.theme, workspaceTrust), ...options.settings };
  await writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  if (options.keybindings) await writeFile(path.join(userDataDir, 'User', 'keybindings.json'), JSON.stringify(options.keybindings, null, 2));
  // Our own config file, so code-server neither reads nor creates ~/.config/code-server/config.yaml.
  const config = path.join(home, 'config.yaml');
  await writeFile(config, 'auth: none\ncert: false\n');

  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let log = '';
  const serverLog = () => log;
  const errors: string[] = [];
  let disposed = false;

  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    if (browser) await Promise.race([browser.close().catch(() => undefined), sleep(15_000)]);
    if (server?.pid !== undefined) {
      await killProcessTree(server.pid);
      liveServers.delete(server.pid);
    }
    await writeFile(path.join(home, 'code-server.log'), log).catch(() => undefined);
    if (process.env.E2E_KEEP_TEMP === '1') console.log(`[e2e] kept ${home}`);
    else await rm(home, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    await installExtensions(options.extensions ?? [], { userDataDir, extensionsDir });

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      log = '';
      const args = [
        '--config',
        config,
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--auth',
        'none',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-getting-started-override',
        ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
        '--user-data-dir',
        userDataDir,
        '--extensions-dir',
        extensionsDir,
        '--locale',
        'en',
      ];
      // detached: its own process group, for `killProcessTree` (which follows the tree as well).
      const child = spawn(CODE_SERVER_BIN, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(options.env) });
      server = child;
      if (child.pid !== undefined) liveServers.add(child.pid);
      const append = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.length > 1_000_000) log = log.slice(-500_000);
      };
      child.stdout?.on('data', append);
      child.stderr?.on('data', append);
      try {
        await waitForHttp(`http://127.0.0.1:${port}/healthz`, child, deadline, serverLog);
        break;
      } catch (error) {
        if (attempt < 3 && /EADDRINUSE/.test(log)) {
          if (child.pid !== undefined) await killProcessTree(child.pid);
          continue; // the port was taken between freePort() and code-server's listen
        }
        throw error;
      }
    }

    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    const url = `http://127.0.0.1:${port}/` + (options.workspace !== undefined ? `?folder=${encodeURIComponent(options.workspace)}` : '?ew=true');
    await page.goto(url, { timeout: Math.max(1_000, deadline - Date.now()) });
    await waitForWorkbench(page, Math.max(1_000, deadline - Date.now()));

    const session: VsCodeSession = {
      page,
      context,
      browser,
      url,
      port,
      pid: server?.pid ?? -1,
      home,
      userDataDir,
      extensionsDir,
      serverLog,
      browserErrors: () => [...errors],
      dispose,
    };
    return session;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const logTail = log && !message.includes(tail(log, 5)) ? `\ncode-server log:\n${tail(log)}` : '';
    await dispose();
    throw new Error(`starting VS Code failed: ${message}${logTail}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// Workbench

/** Waits until the workbench is laid out: `.monaco-workbench` with its status bar and editor area. */
export async function waitForWorkbench(page: Page, timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1_000, deadline - Date.now());
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: left() });
  await page.locator('.monaco-workbench .part.editor').waitFor({ state: 'visible', timeout: left() });
  // The status bar's entries arrive once the workbench has restored its parts.
  await page.locator('.monaco-workbench .part.statusbar .statusbar-item').first().waitFor({ state: 'attached', timeout: left() });
}

/** Reloads the window (as "Developer: Reload Window" does in the browser) and waits for the workbench. */
export async function reloadWindow(page: Page, timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
  await page.reload({ timeout: timeoutMs });
  await waitForWorkbench(page, timeoutMs);
}

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = '.quick-input-widget .quick-input-box input';
const QUICK_INPUT_ROW = '.quick-input-widget .quick-input-list .monaco-list-row';

/** Escape a string for a RegExp. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The visible quick-input rows' labels (for error messages). */
async function quickInputLabels(page: Page): Promise<string[]> {
  return page
    .locator(`${QUICK_INPUT_ROW} .label-name`)
    .allTextContents()
    .catch(() => []);
}

/** Opens the quick input with `key` and types `text`; retries while the workbench is still starting. */
async function openQuickInput(page: Page, key: string, text: string, timeoutMs: number): Promise<Locator> {
  const widget = page.locator(QUICK_INPUT);
  const input = page.locator(QUICK_INPUT_BOX);
  const deadline = Date.now() + timeoutMs;
  if (await widget.isVisible()) {
    await page.keyboard.press('Escape');
    await widget.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  }
  for (;;) {
    await page.keyboard.press(key);
    try {
      await input.waitFor({ state: 'visible', timeout: 3_000 });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
  await input.fill(text);
  return input;
}

/**
 * Runs a command by its palette title ("Category: Title", as the palette shows it) from the
 * command palette (F1), choosing the row whose label is exactly `title`.
 */
export async function runCommand(page: Page, title: string, timeoutMs = UI_TIMEOUT_MS): Promise<void> {
  await openQuickInput(page, 'F1', `>${title}`, timeoutMs);
  const row = page.locator(QUICK_INPUT_ROW).filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) });
  try {
    await row.first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    const shown = await quickInputLabels(page);
    await page.keyboard.press('Escape');
    throw new Error(`command "${title}" is not in the command palette (it shows: ${shown.length > 0 ? shown.map((s) => `"${s}"`).join(', ') : 'nothing'})`);
  }
  await row.first().click();
  // The palette closes, or the command opened a quick input of its own.
  await page
    .waitForFunction(
      `(() => { const i = document.querySelector(${JSON.stringify(QUICK_INPUT_BOX)}); return !i || !i.offsetParent || i.value !== ${JSON.stringify(`>${title}`)}; })()`,
      undefined,
      { timeout: 5_000 },
    )
    .catch(() => undefined);
}

/**
 * Opens a file of the workspace with Quick Open (Ctrl+P) and waits for its editor tab to be active.
 * `relativePath` is relative to the workspace folder (or absolute).
 */
export async function openFile(page: Page, relativePath: string, timeoutMs = UI_TIMEOUT_MS): Promise<void> {
  const name = path.basename(relativePath);
  await openQuickInput(page, 'Control+P', relativePath, timeoutMs);
  const row = page.locator(QUICK_INPUT_ROW).filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) });
  try {
    await row.first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    const shown = await quickInputLabels(page);
    await page.keyboard.press('Escape');
    throw new Error(`Quick Open does not find "${relativePath}" (it shows: ${shown.length > 0 ? shown.map((s) => `"${s}"`).join(', ') : 'nothing'})`);
  }
  await page.keyboard.press('Enter');
  await activeTab(page, name).waitFor({ state: 'visible', timeout: timeoutMs });
}

/** The active tab of the active editor group, when its label is `title`. */
function activeTab(page: Page, title: string): Locator {
  return page
    .locator('.editor-group-container.active .tabs-container .tab.active')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) });
}

function titleMatches(match: TitleMatch, title: string): boolean {
  if (typeof match === 'string') return title === match;
  if (match instanceof RegExp) return match.test(title);
  return match(title);
}

function describeMatch(match: TitleMatch): string {
  return typeof match === 'string' ? `"${match}"` : match instanceof RegExp ? String(match) : 'the predicate';
}

/** Titles of all editor tabs, in every group. */
export async function editorTabTitles(page: Page): Promise<string[]> {
  return page.locator('.editor-group-container .tabs-container .tab').evaluateAll((tabs) =>
    tabs.map((tab) => tab.querySelector('.label-name')?.textContent ?? tab.getAttribute('aria-label') ?? ''),
  );
}

/**
 * Finds the webview panel whose tab title matches, brings its tab to the front, and returns the
 * id of the editor element its webview is laid over.
 *
 * code-server 4.100 (VS Code 1.100) draws a webview panel as an overlay outside the editor:
 * `div[data-parent-flow-to-element-id=<editor element id>] > iframe.webview` (the host page of the
 * webview) whose document holds `iframe#active-frame` with the extension's HTML. The editor
 * element, `.editor-instance > #webview-editor-element-<uuid>`, exists only while its tab is active.
 */
async function webviewHostId(page: Page, match: TitleMatch, deadline: number): Promise<string> {
  const tabs = page.locator('.editor-group-container .tabs-container .tab');
  let titles: string[] = [];
  for (;;) {
    titles = await editorTabTitles(page);
    const index = titles.findIndex((title) => titleMatches(match, title));
    if (index >= 0) {
      const tab = tabs.nth(index);
      if (!((await tab.getAttribute('class')) ?? '').split(/\s+/).includes('active')) await tab.click();
      const group = tab.locator('xpath=ancestor::div[contains(concat(" ", normalize-space(@class), " "), " editor-group-container ")][1]');
      const host = group.locator('.editor-instance [id^="webview-editor-element-"]').first();
      const id = await host.getAttribute('id', { timeout: 1_000 }).catch(() => null);
      if (id) return id;
    }
    if (Date.now() > deadline) {
      throw new Error(`no webview panel titled ${describeMatch(match)} (editor tabs: ${titles.length > 0 ? titles.map((t) => `"${t}"`).join(', ') : 'none'})`);
    }
    await sleep(250);
  }
}

export interface WebviewOptions {
  /** Default UI_TIMEOUT_MS × 2. */
  timeoutMs?: number;
  /** Also wait until this selector is in the webview's content. */
  selector?: string;
}

/**
 * The Playwright Frame of the content (the extension's HTML) of the webview panel whose tab title
 * matches, after bringing that tab to the front. A Frame stays valid while the panel keeps its
 * HTML; after the extension sets `webview.html` again, or the webview is recreated (hidden without
 * `retainContextWhenHidden`, window reloaded), call this again, or use `webviewFrameLocator`.
 */
export async function webviewFrame(page: Page, match: TitleMatch, options: WebviewOptions = {}): Promise<Frame> {
  const timeoutMs = options.timeoutMs ?? UI_TIMEOUT_MS * 2;
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1_000, deadline - Date.now());
  for (;;) {
    const id = await webviewHostId(page, match, deadline);
    try {
      const outerHandle = await page.locator(`[data-parent-flow-to-element-id="${id}"] iframe.webview`).elementHandle({ timeout: left() });
      const outer = await outerHandle.contentFrame();
      if (!outer) throw new Error('the webview host iframe has no frame');
      const innerHandle = await outer.waitForSelector('iframe#active-frame', { state: 'attached', timeout: left() });
      const inner = await innerHandle.contentFrame();
      if (!inner) throw new Error('the webview content iframe has no frame');
      if (options.selector !== undefined) await inner.waitForSelector(options.selector, { state: 'attached', timeout: left() });
      return inner;
    } catch (error) {
      // The content frame was swapped (new HTML) or detached meanwhile: look again.
      if (Date.now() > deadline) {
        throw new Error(`the webview titled ${describeMatch(match)} has no content${options.selector ? ` with ${options.selector}` : ''}: ${(error as Error).message}`);
      }
      await sleep(250);
    }
  }
}

/**
 * A FrameLocator of the content of the webview panel whose tab title matches (brought to the
 * front). Unlike a Frame it follows the content across `webview.html` updates of that panel.
 */
export async function webviewFrameLocator(page: Page, match: TitleMatch, timeoutMs = UI_TIMEOUT_MS * 2): Promise<FrameLocator> {
  const id = await webviewHostId(page, match, Date.now() + timeoutMs);
  return page.frameLocator(`[data-parent-flow-to-element-id="${id}"] iframe.webview`).frameLocator('iframe#active-frame');
}

/** A notification toast containing `text`. */
export function notification(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
}

/**
 * Polls `probe` (node-side) until `accept` takes its value; returns that value. The error names
 * `what` and the last value seen.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = UI_TIMEOUT_MS, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = lastError !== undefined ? `error: ${(lastError as Error).message ?? String(lastError)}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${seen})`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Waits until attribute `name` of the first `selector` in `target` (a webview Frame, a Page, or a
 * FrameLocator) satisfies `accept`, e.g. `(v) => Number(v) >= 5`; returns the value.
 */
export async function waitForAttribute(
  target: Frame | Page | FrameLocator,
  selector: string,
  name: string,
  accept: (value: string | null) => boolean,
  timeoutMs = UI_TIMEOUT_MS * 2,
): Promise<string | null> {
  const element = target.locator(selector).first();
  return waitUntil(`${selector}[${name}]`, () => element.getAttribute(name, { timeout: 1_000 }), accept, timeoutMs);
}

/**
 * Saves a screenshot of the whole page; a relative `file` goes under test-results/e2e/.
 * Returns the absolute path.
 */
export async function screenshot(page: Page, file: string): Promise<string> {
  const target = path.resolve(RESULTS_DIR, file);
  await mkdir(path.dirname(target), { recursive: true });
  await page.screenshot({ path: target, animations: 'disabled', caret: 'hide' });
  return target;
}
