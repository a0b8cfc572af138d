/**
 * The side panel's compact monitor: the same monitor webview as the editor panel, in the GAN
 * activity-bar container, following the run selected in the runs view (or the one just started).
 */
import * as vscode from 'vscode';
import { MonitorConnection, MonitorPanel } from './monitorPanel';
import type { RunSessions } from './runSessions';
import type { RunsWatcher } from './runsWatcher';
import { webviewHtml } from './webviewHtml';

export class MonitorViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'ganWorkbench.monitorView';

  private view: vscode.WebviewView | undefined;
  private connection: MonitorConnection | undefined;
  private viewSubscriptions: vscode.Disposable[] = [];
  private runDir: string | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly sessions: RunSessions,
    private readonly watcher: RunsWatcher,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    vscode.Disposable.from(...this.viewSubscriptions).dispose();
    this.view = view;
    view.webview.options = MonitorPanel.webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'monitor', 'GAN run');
    this.viewSubscriptions = [
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.connection?.markHidden();
      }),
      view.onDidDispose(() => {
        this.connection?.dispose();
        this.connection = undefined;
        this.view = undefined;
      }),
    ];
    this.runDir ??= this.sessions.active()?.runDir;
    if (this.runDir) this.connect(this.runDir, false);
    else view.description = 'select a run';
  }

  /** Shows `runDir` in the view (if the view has been opened). */
  show(runDir: string): void {
    if (runDir === this.runDir && this.connection) return;
    this.runDir = runDir;
    if (this.view) this.connect(runDir, true);
  }

  private connect(runDir: string, webviewIsReady: boolean): void {
    const view = this.view;
    if (!view) return;
    this.connection?.dispose();
    this.connection = new MonitorConnection(
      view.webview,
      () => view.visible,
      runDir,
      this.sessions,
      this.watcher,
      (run) => {
        view.description = `${run.name} · ${run.status}`;
      },
    );
    // A webview that already runs its script will not say `ready` again: send the new run now.
    if (webviewIsReady) this.connection.start();
  }

  dispose(): void {
    this.connection?.dispose();
    vscode.Disposable.from(...this.viewSubscriptions).dispose();
  }
}
