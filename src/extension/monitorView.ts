/**
 * The side panel's compact monitor: the same monitor webview as the editor panel, in the GAN
 * activity-bar container, following the run selected in the runs view (or the one just started).
 */
import * as vscode from 'vscode';
import { MonitorConnection } from './monitorPanel';
import type { RunSessions } from './runSessions';
import type { RunsWatcher } from './runsWatcher';
import { webviewHtml, webviewPanelOptions } from './webviewHtml';

export class MonitorViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'ganWorkbench.monitorView';

  private view: vscode.WebviewView | undefined;
  private connection: MonitorConnection | undefined;
  private viewSubscriptions: vscode.Disposable[] = [];
  private runDir: string | undefined;
  /** Whether the view holds the monitor page (not the "select a run" text). */
  private monitorLoaded = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly sessions: RunSessions,
    private readonly watcher: RunsWatcher,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    vscode.Disposable.from(...this.viewSubscriptions).dispose();
    this.view = view;
    view.webview.options = webviewPanelOptions(this.extensionUri);
    this.viewSubscriptions = [
      view.onDidChangeVisibility(() => {
        if (view.visible) this.connection?.resync();
      }),
      view.onDidDispose(() => {
        this.connection?.dispose();
        this.connection = undefined;
        this.view = undefined;
      }),
    ];
    this.runDir ??= this.sessions.active()?.runDir;
    this.monitorLoaded = false;
    if (this.runDir) {
      this.connect(this.runDir);
    } else {
      view.description = undefined;
      // No script and no run yet: a line of text in VS Code's own webview styles.
      view.webview.html = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>
<body><p>Select a run in the Runs list, or start one, to watch it here.</p></body></html>`;
    }
  }

  /** Shows `runDir` in the view (if the view has been opened). */
  show(runDir: string): void {
    if (runDir === this.runDir && this.connection) return;
    this.runDir = runDir;
    if (this.view) this.connect(runDir);
  }

  private connect(runDir: string): void {
    const view = this.view;
    if (!view) return;
    // The monitor's script says `ready` once loaded; after that, a new run is sent at once.
    const webviewIsReady = this.monitorLoaded;
    if (!this.monitorLoaded) {
      view.webview.html = webviewHtml(view.webview, this.extensionUri, 'monitor', 'GAN run');
      this.monitorLoaded = true;
    }
    this.connection?.dispose();
    this.connection = new MonitorConnection(view.webview, runDir, this.sessions, this.watcher, (run) => {
      const description = `${run.name} · ${run.status}`;
      if (view.description !== description) view.description = description;
    });
    // A webview that already runs its script will not say `ready` again: send the new run now.
    if (webviewIsReady) this.connection.start();
  }

  dispose(): void {
    this.connection?.dispose();
    vscode.Disposable.from(...this.viewSubscriptions).dispose();
  }
}
