/**
 * The run monitor: a webview panel per run directory. It draws from the run directory (snapshot
 * on ready, which also happens after the panel is re-shown or the window reloads) and from the
 * trainer's live notifications while the run belongs to this window.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import type { HostToMonitorMessage, MonitorPanelState, MonitorSnapshot } from '../protocol/monitorMessages';
import { dispatchMonitorMessage } from '../protocol/monitorMessages';
import { readRunInfo } from '../runs/runReader';
import type { RunSessions } from './runSessions';
import type { TrainerSession } from './trainerSession';
import { loadSnapshot, summarize } from '../runs/runSnapshot';
import { webviewHtml, webviewRoot } from './webviewHtml';

export class MonitorPanel implements vscode.Disposable {
  static readonly viewType = 'ganWorkbench.monitor';
  private static readonly panels = new Map<string, MonitorPanel>();

  private readonly disposables: vscode.Disposable[] = [];
  private sessionSubscriptions: vscode.Disposable[] = [];
  private attachedSession: TrainerSession | undefined;
  private ready = false;
  private dataDimension = 0;
  private runName = '';
  /** Live messages held back while a snapshot is being read. */
  private held: HostToMonitorMessage[] | null = null;

  /** Opens the monitor of a run, or brings its existing panel to the front. */
  static createOrShow(extensionUri: vscode.Uri, runDir: string, sessions: RunSessions): MonitorPanel {
    const existing = MonitorPanel.panels.get(runDir);
    if (existing) {
      existing.panel.reveal(undefined, true);
      existing.attachSession();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      MonitorPanel.viewType,
      `GAN run: ${path.basename(runDir)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      MonitorPanel.webviewOptions(extensionUri),
    );
    return new MonitorPanel(panel, extensionUri, runDir, sessions);
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, state: MonitorPanelState, sessions: RunSessions): MonitorPanel {
    panel.webview.options = MonitorPanel.webviewOptions(extensionUri);
    return new MonitorPanel(panel, extensionUri, state.runDir, sessions);
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, enableCommandUris: false, localResourceRoots: [webviewRoot(extensionUri)], retainContextWhenHidden: false };
  }

  static disposeAll(): void {
    for (const panel of [...MonitorPanel.panels.values()]) panel.dispose();
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    readonly runDir: string,
    private readonly sessions: RunSessions,
  ) {
    MonitorPanel.panels.set(runDir, this);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gan.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'monitor', `GAN run ${path.basename(runDir)}`);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      // A hidden webview is torn down; it says `ready` again when shown and gets a fresh snapshot.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      sessions.onDidChange((session) => {
        if (session === sessions.get(runDir)) this.attachSession();
      }),
    );
    this.attachSession();
  }

  /** Listens to the live trainer of this run, when this window runs it. */
  private attachSession(): void {
    const session = this.sessions.get(this.runDir);
    // Re-subscribing while the session's emitter delivers an event would drop that event.
    if (session === this.attachedSession) return;
    this.attachedSession = session;
    vscode.Disposable.from(...this.sessionSubscriptions).dispose();
    this.sessionSubscriptions = [];
    if (!session) return;
    this.sessionSubscriptions.push(
      session.onDidLogMetrics((record) => {
        this.post({ type: 'monitor/didAppendMetrics', records: [record] });
        const run = session.run;
        if (run) {
          this.post({
            type: 'monitor/didUpdateRun',
            run: {
              runId: run.runId,
              name: this.runName,
              status: session.status,
              backend: run.backend,
              step: record.step,
              totalSteps: run.totalSteps,
              error: null,
              dataDimension: this.dataDimension,
            },
          });
        }
      }),
      session.onDidLogHistogram((record) => this.post({ type: 'monitor/didUpdateHistogram', record })),
      session.onDidWriteSamples((samples) => this.post({ type: 'monitor/didUpdateSamples', samples })),
      session.onDidEnd(() => void this.sendRunFromDisk()),
    );
  }

  private async sendRunFromDisk(): Promise<void> {
    const info = await readRunInfo(this.runDir);
    if (info) this.post({ type: 'monitor/didUpdateRun', run: summarize(info, this.dataDimension) });
  }

  private async sendSnapshot(): Promise<void> {
    // Live messages that arrive while the files are read may be newer than what the read sees,
    // or older: hold them, send the snapshot, then send them (the panel keeps each step once).
    const held: HostToMonitorMessage[] = [];
    this.held = held;
    let snapshot: MonitorSnapshot | null;
    try {
      snapshot = await loadSnapshot(this.runDir);
    } finally {
      if (this.held === held) this.held = null;
    }
    if (!snapshot) {
      void vscode.window.showWarningMessage(`GAN Workbench: ${this.runDir} is not a run directory (no run.json).`);
      return;
    }
    this.dataDimension = snapshot.run.dataDimension;
    this.runName = snapshot.run.name;
    this.panel.title = `GAN run: ${snapshot.run.name} (${snapshot.run.runId.slice(snapshot.run.name.length + 1) || snapshot.run.runId})`;
    this.post({ type: 'monitor/didLoad', snapshot, state: { runDir: this.runDir } });
    for (const message of held) this.post(message);
  }

  private onMessage(message: unknown): void {
    // The webview is untrusted input: only the declared messages do anything.
    dispatchMonitorMessage(message, {
      ready: () => {
        this.ready = true;
        void this.sendSnapshot();
      },
      stopRun: () => void this.sessions.get(this.runDir)?.stop(),
    });
  }

  private post(message: HostToMonitorMessage): void {
    if (this.held && message.type !== 'monitor/didLoad') {
      this.held.push(message);
      return;
    }
    // Nothing is queued for a hidden panel: it reloads from the run directory when shown.
    if (this.ready && this.panel.visible) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    MonitorPanel.panels.delete(this.runDir);
    vscode.Disposable.from(...this.sessionSubscriptions, ...this.disposables).dispose();
    this.sessionSubscriptions = [];
    this.panel.dispose();
  }
}

/** Restores monitor panels after a window reload. */
export class MonitorPanelSerializer implements vscode.WebviewPanelSerializer<MonitorPanelState> {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly sessions: RunSessions,
  ) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: MonitorPanelState | undefined): Promise<void> {
    if (!state || typeof state.runDir !== 'string') {
      panel.dispose();
      return;
    }
    MonitorPanel.revive(panel, this.extensionUri, state, this.sessions);
  }
}
