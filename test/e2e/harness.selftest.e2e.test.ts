/**
 * The e2e harness itself, against a throw-away extension built and packaged here: code-server
 * starts with it installed, Quick Open and the command palette work, the webview's content is
 * reachable by panel title, screenshots are written, and dispose() leaves no process behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  REPO_ROOT,
  editorTabTitles,
  openFile,
  processTree,
  runCommand,
  screenshot,
  startVsCode,
  waitForAttribute,
  webviewFrame,
  webviewFrameLocator,
  type VsCodeSession,
} from './harness';

const execFileAsync = promisify(execFile);

const PANEL_TITLE = 'E2E Selftest Panel';

const MANIFEST = {
  name: 'e2e-selftest',
  displayName: 'E2E Selftest',
  description: 'Throw-away extension of the e2e harness self-test.',
  publisher: 'gan-workbench-e2e',
  version: '0.0.1',
  license: 'MIT',
  engines: { vscode: '^1.90.0' },
  main: './extension.js',
  files: ['extension.js'],
  activationEvents: ['onCommand:e2eSelftest.open'],
  contributes: { commands: [{ command: 'e2eSelftest.open', title: 'Open panel', category: 'E2E Selftest' }] },
};

// A panel whose #hello says hello and whose #counter's data-count grows, like a live chart.
const EXTENSION_JS = `
const vscode = require('vscode');
const crypto = require('crypto');
exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('e2eSelftest.open', () => {
    const panel = vscode.window.createWebviewPanel('e2eSelftest', ${JSON.stringify(PANEL_TITLE)}, vscode.ViewColumn.Active, { enableScripts: true });
    const nonce = crypto.randomBytes(16).toString('base64');
    panel.webview.html = \`<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-\${nonce}';">
</head><body>
<div id="hello">hello</div>
<div id="counter" data-count="0">0</div>
<script nonce="\${nonce}">
  const counter = document.getElementById('counter');
  let n = 0;
  setInterval(() => { n++; counter.dataset.count = String(n); counter.textContent = String(n); }, 100);
</script>
</body></html>\`;
  }));
};
exports.deactivate = () => {};
`;

/** Writes the extension into `dir` and packages it with vsce; returns the .vsix path. */
async function packageSelftestExtension(dir: string): Promise<string> {
  const source = path.join(dir, 'extension');
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'package.json'), JSON.stringify(MANIFEST, null, 2));
  await writeFile(path.join(source, 'extension.js'), EXTENSION_JS);
  await writeFile(path.join(source, 'README.md'), '# E2E Selftest\n\nA throw-away extension of the e2e harness self-test.\n');
  const vsix = path.join(dir, 'e2e-selftest.vsix');
  const vsce = path.join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  await execFileAsync(
    process.execPath,
    [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', vsix],
    { cwd: source, timeout: 60_000 },
  );
  assert.ok(existsSync(vsix), 'vsce wrote the .vsix');
  return vsix;
}

/** Live processes among `pids`. */
function alive(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
}

describe('e2e harness self-test (code-server + Chromium)', { timeout: 300_000 }, () => {
  let temp: string;
  let workspace: string;
  let vscode: VsCodeSession | undefined;
  let baseline: number[];

  before(async () => {
    temp = await mkdtemp(path.join(os.tmpdir(), 'e2e-selftest-'));
    const vsix = await packageSelftestExtension(temp);
    workspace = path.join(temp, 'workspace');
    await mkdir(path.join(workspace, 'sub'), { recursive: true });
    await writeFile(path.join(workspace, 'a.txt'), 'a\n');
    await writeFile(path.join(workspace, 'sub', 'b.txt'), 'b\n');
    baseline = processTree(process.pid);
    vscode = await startVsCode({ workspace, extensions: [vsix], theme: 'Default Dark Modern' });
  });

  after(async () => {
    await vscode?.dispose();
    await rm(temp, { recursive: true, force: true });
  });

  it('opens workspace files with Quick Open, also one created after start', async () => {
    assert.ok(vscode);
    await openFile(vscode.page, 'sub/b.txt');
    await writeFile(path.join(workspace, 'later.txt'), 'later\n');
    await openFile(vscode.page, 'later.txt');
    assert.deepEqual((await editorTabTitles(vscode.page)).slice(-2), ['b.txt', 'later.txt']);
  });

  it('runs a command from the palette and reads its webview by panel title', async () => {
    assert.ok(vscode);
    const { page } = vscode;
    await runCommand(page, 'E2E Selftest: Open panel');

    const frame = await webviewFrame(page, PANEL_TITLE, { selector: '#hello' });
    assert.equal(await frame.textContent('#hello'), 'hello');
    // VS Code themes the webview: Default Dark Modern gives it the vscode-dark body class.
    assert.match((await frame.getAttribute('body', 'class')) ?? '', /\bvscode-dark\b/);

    // A live value grows (as the GAN monitor's data-point-count will).
    const first = Number(await waitForAttribute(frame, '#counter', 'data-count', (v) => Number(v) >= 3));
    const later = Number(await waitForAttribute(frame, '#counter', 'data-count', (v) => Number(v) >= first + 5));
    assert.ok(later > first);

    // Other ways to name the panel, and the FrameLocator form.
    const byPredicate = await webviewFrame(page, (title) => title.startsWith('E2E Selftest'));
    assert.equal(byPredicate, frame);
    assert.equal(await webviewFrame(page, /^E2E Selftest/), frame);
    assert.equal(await (await webviewFrameLocator(page, PANEL_TITLE)).locator('#hello').textContent(), 'hello');

    // Going back to a text editor and asking again brings the panel's tab to the front.
    await openFile(page, 'a.txt');
    const again = await webviewFrame(page, PANEL_TITLE, { selector: '#hello' });
    assert.equal(await again.textContent('#hello'), 'hello');

    const file = await screenshot(page, 'selftest.png');
    assert.equal(file, path.join(REPO_ROOT, 'test-results', 'e2e', 'selftest.png'));
    assert.ok(existsSync(file));
  });

  it('says what is missing', async () => {
    assert.ok(vscode);
    await assert.rejects(runCommand(vscode.page, 'E2E Selftest: No such command', 3_000), /command "E2E Selftest: No such command" is not in the command palette/);
    await assert.rejects(webviewFrame(vscode.page, 'No such panel', { timeoutMs: 2_000 }), /no webview panel titled "No such panel" \(editor tabs: .*"E2E Selftest Panel"/);
  });

  it('dispose() ends code-server, everything it started and the browser', async () => {
    assert.ok(vscode);
    const session = vscode;
    const started = processTree(process.pid).filter((pid) => !baseline.includes(pid));
    assert.ok(started.includes(session.pid), 'code-server is a child of the test');
    assert.ok(started.length >= 4, `code-server and Chromium run as several processes (${started.length})`);
    await session.dispose();
    vscode = undefined;
    assert.deepEqual(alive(started), [], 'no process of the session is left');
    assert.equal(session.browser.isConnected(), false);
    assert.equal(existsSync(session.home), false, 'its temp directory is removed');
    await session.dispose(); // idempotent
  });
});
