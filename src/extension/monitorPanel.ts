/**
 * The run monitor: a webview panel per run directory. It draws from the run directory (a snapshot
 * when its webview says ready: when opened, and again after a window reload) and from the
 * trainer's live notifications while the run belongs to this window; a run written by another
 * process (a terminal, another machine) is followed through the runs folder's watcher.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import type { HostToMonitorMessage, MonitorPanelState, MonitorSnapshot } from '../protocol/monitorMessages';
import type { HealthAlert } from '../protocol/runDirectory';
import { dispatchMonitorMessage } from '../protocol/monitorMessages';
import { readRunInfo } from '../runs/runReader';
import { RunFollower } from '../runs/runFollower';
import type { RunSessions } from './runSessions';
import type { RunsWatcher } from './runsWatcher';
import type { TrainerSession } from './trainerSession';
import { loadSnapshot, readImageSamples, summarize } from '../runs/runSnapshot';
import { webviewHtml, webviewPanelOptions } from './webviewHtml';

/**
 * Feeds one monitor webview (an editor panel or the side panel's view) with one run: a snapshot
 * whenever the webview says `ready`, then live messages from this window's trainer or, for runs
 * written elsewhere, from the run folder's files.
 */
export class MonitorConnection implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private sessionSubscriptions: vscode.Disposable[] = [];
  private attachedSession: TrainerSession | undefined;
  private ready = false;
  private dataDimension = 0;
  private runName = '';
  private alerts: HealthAlert[] = [];
  /** Live messages held back while a snapshot is being read. */
  private held: HostToMonitorMessage[] | null = null;
  /** Reads what another process appends to the run's files (when no session of ours runs it). */
  private follower: RunFollower | undefined;
  private following: Promise<void> = Promise.resolve();
  private disposed = false;
  private snapshotGeneration = 0;

  constructor(
    private readonly webview: vscode.Webview,
    readonly runDir: string,
    private readonly sessions: RunSessions,
    watcher: RunsWatcher,
    /** Told the run's summary on every snapshot and update (titles and descriptions follow it). */
    private readonly onSnapshot: (run: MonitorSnapshot['run']) => void = () => undefined,
  ) {
    this.disposables.push(
      webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      sessions.onDidChange((session) => {
        if (session === sessions.get(runDir)) this.attachSession();
      }),
      watcher.onDidChangeRun((changedDir) => {
        if (changedDir === runDir) this.follow();
      }),
    );
    this.attachSession();
  }

  /**
   * Sends a fresh snapshot to a webview that is ready: after it is shown again, messages posted
   * while it was hidden may not all have arrived (the webview keeps each step once, so a snapshot
   * repairs any gap).
   */
  resync(): void {
    if (this.ready) void this.sendSnapshot();
  }

  /** For a webview that already said `ready` to an earlier connection: send this run now. */
  start(): void {
    this.ready = true;
    this.follower = undefined;
    void this.sendSnapshot();
  }

  /** Listens to the live trainer of this run, when this window runs it. */
  attachSession(): void {
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
              // (Before the first snapshot the name is not known yet: the run id starts with it.)
              name: this.runName || run.runId,
              status: session.status,
              backend: run.backend,
              step: record.step,
              totalSteps: run.totalSteps,
              error: null,
              dataDimension: this.dataDimension,
              alerts: this.alerts,
            },
          });
        }
      }),
      session.onDidLogHistogram((record) => this.post({ type: 'monitor/didUpdateHistogram', record })),
      session.onDidWriteSamples((samples) => this.post({ type: 'monitor/didUpdateSamples', samples })),
      session.onDidWriteImageSamples((samples) => this.post({ type: 'monitor/didUpdateImage', samples })),
      session.onDidUpdateLaboratory((samples) => this.post({ type: 'monitor/didUpdateSamples', samples })),
      session.onDidChangeControls(() => this.sendControls()),
      // run.json holds the alert by now: the summary read from it carries every alert.
      session.onDidRaiseAlert(() => void this.sendRunFromDisk()),
      session.onDidEnd(() => {
        void this.sendRunFromDisk();
        this.sendControls();
      }),
    );
    this.sendControls();
  }

  /** The laboratory's controls: this window's trainer of the run, or why there is none. */
  private sendControls(): void {
    const session = this.attachedSession;
    const controls = session?.controls ?? null;
    const reason = controls
      ? ''
      : session && session.status !== 'running'
        ? 'the run has ended'
        : session
          ? 'the trainer is starting'
          : 'step mode and live changes need a run started in this window (this one was started from a terminal, another window or an earlier session)';
    this.post({ type: 'monitor/didUpdateControls', controls, reason });
  }

  private async sendRunFromDisk(): Promise<void> {
    const info = await readRunInfo(this.runDir);
    if (!info) return;
    this.alerts = info.alerts ?? [];
    this.post({ type: 'monitor/didUpdateRun', run: summarize(info, this.dataDimension) });
  }

  private async sendSnapshot(): Promise<void> {
    // Live messages that arrive while the files are read may be newer than what the read sees,
    // or older: hold them, send the snapshot, then send them (the panel keeps each step once).
    const held: HostToMonitorMessage[] = [];
    this.held = held;
    const generation = ++this.snapshotGeneration;
    let snapshot: MonitorSnapshot | null;
    try {
      snapshot = await loadSnapshot(this.runDir);
    } finally {
      if (this.held === held) this.held = null;
    }
    // A later snapshot started meanwhile (shown and activated at once): it covers everything this
    // one has, and it may finish first; an older snapshot sent after it would wipe newer steps.
    if (generation !== this.snapshotGeneration) return;
    if (!snapshot) {
      void vscode.window.showWarningMessage(`GAN Workbench: ${this.runDir} is not a run directory (no run.json).`);
      return;
    }
    this.dataDimension = snapshot.run.dataDimension;
    this.alerts = snapshot.run.alerts ?? [];
    this.runName = snapshot.run.name;
    this.onSnapshot(snapshot.run);
    this.post({ type: 'monitor/didLoad', snapshot, state: { runDir: this.runDir } });
    for (const message of held) this.post(message);
    this.sendControls();
    const last = snapshot.metrics[snapshot.metrics.length - 1]?.step ?? -1;
    this.follower = new RunFollower(
      this.runDir,
      last,
      snapshot.latestHistogram?.step ?? -1,
      snapshot.latestSamples?.step ?? -1,
      snapshot.latestImage?.step ?? -1,
    );
  }

  /** Sends what another process wrote since the last look; this window's own trainer reports live instead. */
  private follow(): void {
    if (this.attachedSession?.status === 'running' || !this.follower || !this.ready) return;
    const follower = this.follower;
    // One read at a time, in order: a change that comes during a read is picked up by the next.
    this.following = this.following.then(async () => {
      if (follower !== this.follower) return;
      const delta = await follower.poll().catch(() => null);
      if (!delta || follower !== this.follower) return;
      if (delta.replaced) {
        // A resume rewrote the logs (steps after its checkpoint are trained again): start over.
        await this.sendSnapshot();
        return;
      }
      if (delta.metrics.length) this.post({ type: 'monitor/didAppendMetrics', records: delta.metrics });
      if (delta.histogram) this.post({ type: 'monitor/didUpdateHistogram', record: delta.histogram });
      if (delta.samples) this.post({ type: 'monitor/didUpdateSamples', samples: delta.samples });
      if (delta.image) this.post({ type: 'monitor/didUpdateImage', samples: delta.image });
      if (delta.info) {
        const lastStep = delta.metrics[delta.metrics.length - 1]?.step ?? 0;
        this.post({ type: 'monitor/didUpdateRun', run: summarize({ ...delta.info, step: Math.max(delta.info.step, lastStep) }, this.dataDimension) });
      }
    });
  }

  private onMessage(message: unknown): void {
    // The webview is untrusted input: only the declared messages do anything.
    dispatchMonitorMessage(message, {
      ready: () => this.start(),
      // The command stops this window's trainer, or asks a run started elsewhere to stop.
      stopRun: () => void vscode.commands.executeCommand('ganWorkbench.stopRun', this.runDir),
      // Only grids of this run's own samples folder, by step number: nothing else can be named.
      requestImage: (step) =>
        void readImageSamples(this.runDir, step).then((samples) => {
          if (samples) this.post({ type: 'monitor/didLoadImage', samples });
        }),
      control: (action) => {
        const session = this.attachedSession;
        if (!session || session.status !== 'running') {
          this.sendControls();
          return;
        }
        session.control(action).then(
          () => this.sendControls(),
          (error: Error) => {
            void vscode.window.showWarningMessage(`GAN Workbench: ${error.message}`);
            this.sendControls();
          },
        );
      },
    });
  }

  private post(message: HostToMonitorMessage): void {
    // A connection replaced while it was reading (the side panel switched runs) must not draw.
    if (this.disposed) return;
    if (message.type === 'monitor/didUpdateRun') this.onSnapshot(message.run);
    if (this.held && message.type !== 'monitor/didLoad') {
      this.held.push(message);
      return;
    }
    // Hosts retain their webviews while hidden, so a hidden monitor keeps up too.
    if (this.ready) void this.webview.postMessage(message);
  }

  dispose(): void {
    this.disposed = true;
    this.ready = false;
    this.follower = undefined;
    vscode.Disposable.from(...this.sessionSubscriptions, ...this.disposables).dispose();
    this.sessionSubscriptions = [];
  }
}

export class MonitorPanel implements vscode.Disposable {
  static readonly viewType = 'ganWorkbench.monitor';
  private static readonly panels = new Map<string, MonitorPanel>();

  private readonly connection: MonitorConnection;
  private readonly disposables: vscode.Disposable[] = [];

  /** Opens the monitor of a run, or brings its existing panel to the front. */
  static createOrShow(extensionUri: vscode.Uri, runDir: string, sessions: RunSessions, watcher: RunsWatcher): MonitorPanel {
    const existing = MonitorPanel.panels.get(runDir);
    if (existing) {
      existing.panel.reveal(undefined, true);
      existing.connection.attachSession();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      MonitorPanel.viewType,
      `GAN run: ${path.basename(runDir)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      webviewPanelOptions(extensionUri),
    );
    return new MonitorPanel(panel, extensionUri, runDir, sessions, watcher);
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, state: MonitorPanelState, sessions: RunSessions, watcher: RunsWatcher): MonitorPanel {
    panel.webview.options = webviewPanelOptions(extensionUri);
    return new MonitorPanel(panel, extensionUri, state.runDir, sessions, watcher);
  }

  static disposeAll(): void {
    for (const panel of [...MonitorPanel.panels.values()]) panel.dispose();
  }

  /** Closes the monitor of a run (e.g. when the run is deleted). */
  static close(runDir: string): void {
    MonitorPanel.panels.get(runDir)?.dispose();
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    readonly runDir: string,
    sessions: RunSessions,
    watcher: RunsWatcher,
  ) {
    MonitorPanel.panels.set(runDir, this);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gan.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'monitor', `GAN run ${path.basename(runDir)}`);
    this.connection = new MonitorConnection(panel.webview, runDir, sessions, watcher, (run) => {
      const title = `GAN run: ${run.name} (${run.runId.slice(run.name.length + 1) || run.runId})`;
      // Updates come many times a second; the workbench only hears of real changes.
      if (panel.title !== title) panel.title = title;
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        if (panel.visible) this.connection.resync();
      }),
    );
  }

  dispose(): void {
    MonitorPanel.panels.delete(this.runDir);
    vscode.Disposable.from(this.connection, ...this.disposables).dispose();
    this.panel.dispose();
  }
}

/** Restores monitor panels after a window reload. */
export class MonitorPanelSerializer implements vscode.WebviewPanelSerializer<MonitorPanelState> {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly sessions: RunSessions,
    private readonly watcher: RunsWatcher,
  ) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: MonitorPanelState | undefined): Promise<void> {
    if (!state || typeof state.runDir !== 'string') {
      panel.dispose();
      return;
    }
    MonitorPanel.revive(panel, this.extensionUri, state, this.sessions, this.watcher);
  }
}
