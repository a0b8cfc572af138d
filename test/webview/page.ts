/**
 * A stand-in for VS Code's webview host: the monitor's real bundle in headless Chromium, with
 * `acquireVsCodeApi` mocked and the theme variables VS Code injects (Default Dark/Light Modern).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '../..');

const THEMES = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      '--vscode-foreground': '#cccccc',
      '--vscode-descriptionForeground': '#9d9d9d',
      '--vscode-editor-background': '#1f1f1f',
      '--vscode-editorWidget-background': '#202020',
      '--vscode-panel-border': '#2b2b2b',
      '--vscode-widget-border': '#313131',
      '--vscode-font-family': "system-ui, 'Ubuntu', 'Droid Sans', sans-serif",
      '--vscode-font-size': '13px',
      '--vscode-charts-red': '#f14c4c',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-yellow': '#cca700',
      '--vscode-errorForeground': '#f85149',
      '--vscode-button-background': '#0078d4',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-hoverBackground': '#026ec1',
      '--vscode-progressBar-background': '#0078d4',
      '--vscode-focusBorder': '#0078d4',
      '--vscode-inputValidation-errorBackground': '#5a1d1d',
      '--vscode-inputValidation-errorBorder': '#be1100',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      '--vscode-foreground': '#3b3b3b',
      '--vscode-descriptionForeground': '#3b3b3b',
      '--vscode-editor-background': '#ffffff',
      '--vscode-editorWidget-background': '#f8f8f8',
      '--vscode-panel-border': '#e5e5e5',
      '--vscode-widget-border': '#e5e5e5',
      '--vscode-font-family': "system-ui, 'Ubuntu', 'Droid Sans', sans-serif",
      '--vscode-font-size': '13px',
      '--vscode-charts-red': '#e51400',
      '--vscode-charts-blue': '#1a85ff',
      '--vscode-charts-green': '#388a34',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-yellow': '#bf8803',
      '--vscode-errorForeground': '#f85149',
      '--vscode-button-background': '#005fb8',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-hoverBackground': '#0258a8',
      '--vscode-progressBar-background': '#005fb8',
      '--vscode-focusBorder': '#005fb8',
      '--vscode-inputValidation-errorBackground': '#f2dede',
      '--vscode-inputValidation-errorBorder': '#be1100',
    },
  },
} as const;

export type ThemeName = keyof typeof THEMES;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens the monitor bundle in a page; `window.posted` collects what it sends to the host. */
export function openMonitor(browser: Browser, theme: ThemeName, size = { width: 1200, height: 800 }): Promise<Page> {
  return openWebview(browser, theme, 'monitor', size);
}

/**
 * Opens a webview bundle (monitor, compare, configForm) in a page with the VS Code API mocked;
 * `distDir` holds the bundles (a benchmark may point it at another build).
 */
export async function openWebview(
  browser: Browser,
  theme: ThemeName,
  bundleName: string,
  size = { width: 1200, height: 800 },
  distDir = path.join(ROOT, 'dist'),
): Promise<Page> {
  const { bodyClass, vars } = THEMES[theme];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-webview-'));
  const file = path.join(dir, 'index.html');
  const style = Object.entries(vars)
    .map(([k, v]) => `${k}: ${v};`)
    .join(' ');
  const bundle = (name: string) => pathToFileURL(path.join(distDir, 'webview', name)).toString();
  await writeFile(
    file,
    `<!DOCTYPE html><html><head><meta charset="UTF-8"><link rel="stylesheet" href="${bundle(`${bundleName}.css`)}">
<script>
  window.posted = []; window.savedState = undefined;
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), setState: (s) => { window.savedState = s; }, getState: () => window.savedState });
</script></head>
<body class="${bodyClass}" style="${style}"><div id="root"></div><script src="${bundle(`${bundleName}.js`)}"></script></body></html>`,
  );
  const page = await browser.newPage({ viewport: size, deviceScaleFactor: 1 });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(pathToFileURL(file).toString());
  return page;
}

/** Posts a message as the host would, and waits two animation frames (the monitor draws live records in the next one). */
export async function send(page: Page, message: unknown): Promise<void> {
  await page.evaluate((m) => {
    window.postMessage(m, '*');
    return new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));
  }, message);
}
