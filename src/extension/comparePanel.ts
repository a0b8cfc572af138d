/**
 * Compare runs in an editor tab: any number of runs, overlaid curves, one step scrubber for all of
 * them, a sortable table, and config differences in VS Code's own diff editor. The tab follows
 * its runs live (through the runs folder's watcher) and comes back after a window reload.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import type { ComparePanelState, HostToCompareMessage } from '../protocol/compareMessages';
import { dispatchCompareMessage } from '../protocol/compareMessages';
import { RUN_FILES } from '../protocol/runDirectory';
import { loadCompareRun, samplesAt } from '../runs/compareData';
import { readFile } from 'node:fs/promises';
import type { RunsWatcher } from './runsWatcher';
import { webviewHtml, webviewPanelOptions } from './webviewHtml';

/** Live updates of one run are sent at most this often. */
const UPDATE_INTERVAL_MS = 1000;

export class ComparePanel implements vscode.Disposable {
  static readonly viewType = 'ganWorkbench.compare';
  private static readonly panels = new Set<ComparePanel>();

  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  private readonly pendingUpdates = new Map<number, NodeJS.Timeout>();

  static createOrShow(extensionUri: vscode.Uri, watcher: RunsWatcher, runDirs: string[]): ComparePanel {
    const key = [...runDirs].sort().join('\n');
    for (const existing of ComparePanel.panels) {
      if ([...existing.runDirs].sort().join('\n') === key) {
        existing.panel.reveal();
        return existing;
      }
    }
    const panel = vscode.window.createWebviewPanel(ComparePanel.viewType, 'Compare GAN runs', vscode.ViewColumn.Active, webviewPanelOptions(extensionUri));
    return new ComparePanel(panel, extensionUri, watcher, runDirs);
  }

  static disposeAll(): void {
    for (const panel of [...ComparePanel.panels]) panel.dispose();
  }

  constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    watcher: RunsWatcher,
    readonly runDirs: string[],
  ) {
    ComparePanel.panels.add(this);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gan.svg');
    panel.title = `Compare: ${runDirs.length} GAN run${runDirs.length === 1 ? '' : 's'}`;
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'compare', panel.title);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      watcher.onDidChangeRun((runDir) => {
        const index = this.runDirs.indexOf(runDir);
        if (index >= 0) this.scheduleUpdate(index);
      }),
    );
  }

  private onMessage(message: unknown): void {
    dispatchCompareMessage(message, this.runDirs.length, {
      ready: () => {
        this.ready = true;
        void this.sendAll();
      },
      requestSamples: (step) => void this.sendSamples(step),
      diffConfigs: (base, other) => void this.diffConfigs(base, other),
      openMonitor: (index) => void vscode.commands.executeCommand('ganWorkbench.openMonitor', this.runDirs[index]),
    });
  }

  private async sendAll(): Promise<void> {
    const loaded = await Promise.all(this.runDirs.map((dir) => loadCompareRun(dir, this.runDirs)));
    const missing = this.runDirs.filter((_, i) => !loaded[i]);
    if (missing.length) void vscode.window.showWarningMessage(`GAN Workbench: no longer a run directory: ${missing.map((d) => path.basename(d)).join(', ')}`);
    const runs = loaded.flatMap((run) => (run ? [run] : []));
    // Runs that are gone are dropped from the tab (and from what a reload restores).
    this.runDirs.splice(0, this.runDirs.length, ...this.runDirs.filter((_, i) => loaded[i]));
    const realPoints = await this.readRealPoints();
    this.post({ type: 'compare/didLoad', runs, realPoints, state: { runDirs: this.runDirs } });
  }

  private async readRealPoints(): Promise<number[][] | null> {
    for (const dir of this.runDirs) {
      try {
        return JSON.parse(await readFile(path.join(dir, RUN_FILES.realSample), 'utf8')) as number[][];
      } catch {
        // Not a 2-D run, or no real sample written: try the next.
      }
    }
    return null;
  }

  private scheduleUpdate(index: number): void {
    if (this.pendingUpdates.has(index)) return;
    this.pendingUpdates.set(
      index,
      setTimeout(() => {
        this.pendingUpdates.delete(index);
        void (async () => {
          const runDir = this.runDirs[index];
          const run = runDir ? await loadCompareRun(runDir, this.runDirs) : null;
          if (run) this.post({ type: 'compare/didUpdateRun', runIndex: index, run });
        })();
      }, UPDATE_INTERVAL_MS),
    );
  }

  private async sendSamples(step: number): Promise<void> {
    const samples = await Promise.all(this.runDirs.map((dir, i) => samplesAt(dir, i, step)));
    this.post({ type: 'compare/didLoadSamples', step, samples });
  }

  /** Opens the two runs' config snapshots in VS Code's diff editor. */
  private async diffConfigs(base: number, other: number): Promise<void> {
    const left = vscode.Uri.file(path.join(this.runDirs[base], RUN_FILES.config));
    const right = vscode.Uri.file(path.join(this.runDirs[other], RUN_FILES.config));
    await vscode.commands.executeCommand('vscode.diff', left, right, `${path.basename(this.runDirs[base])} ↔ ${path.basename(this.runDirs[other])} (config)`);
  }

  private post(message: HostToCompareMessage): void {
    // Reads finish after the tab may have been closed: a disposed webview must not be touched.
    if (this.ready && !this.disposed) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    this.disposed = true;
    ComparePanel.panels.delete(this);
    for (const timer of this.pendingUpdates.values()) clearTimeout(timer);
    vscode.Disposable.from(...this.disposables).dispose();
    this.panel.dispose();
  }
}

/** Brings compare tabs back after a window reload. */
export class ComparePanelSerializer implements vscode.WebviewPanelSerializer<ComparePanelState> {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly watcher: RunsWatcher,
  ) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: ComparePanelState | undefined): Promise<void> {
    const runDirs = Array.isArray(state?.runDirs) ? state.runDirs.filter((d): d is string => typeof d === 'string' && path.isAbsolute(d)) : [];
    if (runDirs.length === 0) {
      panel.dispose();
      return;
    }
    panel.webview.options = webviewPanelOptions(this.extensionUri);
    new ComparePanel(panel, this.extensionUri, this.watcher, runDirs);
  }
}
