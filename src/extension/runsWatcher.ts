/**
 * Watches the runs folder, so runs written by anyone (this window's trainers, a terminal, another
 * machine on a shared folder) show up and move live. One file-system watcher for the whole folder,
 * recreated when the setting changes; change events are coalesced per run, so a trainer writing
 * every few milliseconds causes a handful of reads a second, not a storm. A listing of the folder
 * every 3 s catches what the watcher misses.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { RUN_FILES } from '../protocol/runDirectory';
import * as vscode from 'vscode';
import { runsFolder } from './settings';

/** Per-run coalescing window. */
const RUN_EVENT_DELAY_MS = 150;
/** How often the runs folder is listed in case the watcher missed something. */
const SWEEP_INTERVAL_MS = 3000;

/**
 * What to watch for the runs folder. Inside a workspace folder, a pattern on the workspace folder:
 * VS Code serves it from the workspace's own recursive watcher, which already runs (a watcher on
 * a new base starts late and misses the first files), and it sees the runs folder appear when the
 * first run creates it. Elsewhere, the folder itself, or its parent until it exists.
 */
function watchPattern(runsDir: string): vscode.RelativePattern {
  const workspaceFolder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(runsDir));
  if (workspaceFolder) {
    const relative = path.relative(workspaceFolder.uri.fsPath, runsDir).split(path.sep).join('/');
    return new vscode.RelativePattern(workspaceFolder, relative ? `${relative}/**` : '**');
  }
  return existsSync(runsDir)
    ? new vscode.RelativePattern(vscode.Uri.file(runsDir), '**')
    : new vscode.RelativePattern(vscode.Uri.file(path.dirname(runsDir)), `${path.basename(runsDir)}/**`);
}

export class RunsWatcher implements vscode.Disposable {
  private watcher: vscode.FileSystemWatcher | undefined;
  private watcherSubscriptions: vscode.Disposable[] = [];
  private folder: string | undefined;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly runEmitter = new vscode.EventEmitter<string>();
  private readonly folderEmitter = new vscode.EventEmitter<void>();
  private readonly configSubscription: vscode.Disposable;
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping = false;
  private stamps = new Map<string, string>();
  /** A file of this run directory was created, changed or deleted (coalesced). */
  readonly onDidChangeRun = this.runEmitter.event;
  /** The runs folder setting changed (everything should be re-read). */
  readonly onDidChangeFolder = this.folderEmitter.event;

  constructor() {
    this.watch();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.configSubscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('ganWorkbench.runsFolder')) {
        this.watch();
        this.folderEmitter.fire();
      }
    });
  }

  /** The folder watched now, when the setting resolves to one. */
  get runsDir(): string | undefined {
    return this.folder;
  }

  private watch(): void {
    vscode.Disposable.from(...this.watcherSubscriptions).dispose();
    this.watcherSubscriptions = [];
    this.watcher?.dispose();
    this.watcher = undefined;
    const folder = runsFolder();
    this.folder = folder?.ok ? folder.path : undefined;
    if (!this.folder) return;
    const runsDir = this.folder;
    this.watcher = vscode.workspace.createFileSystemWatcher(watchPattern(runsDir));
    const onEvent = (uri: vscode.Uri) => this.onFileEvent(uri.fsPath);
    this.watcherSubscriptions.push(this.watcher.onDidCreate(onEvent), this.watcher.onDidChange(onEvent), this.watcher.onDidDelete(onEvent));
  }

  /**
   * A safety net under the watcher, which can miss events (its start, a busy or remote file
   * system): every few seconds, one listing of the runs folder and one stat of each run's
   * run.json and metrics.jsonl; a run whose files changed unseen gets its change event.
   */
  private async sweep(): Promise<void> {
    const runsDir = this.folder;
    if (!runsDir || this.sweeping) return;
    this.sweeping = true;
    try {
      const names = await readdir(runsDir).catch(() => [] as string[]);
      const seen = new Map<string, string>();
      for (const name of names) {
        if (name.startsWith('.')) continue;
        const dir = path.join(runsDir, name);
        const stamps = await Promise.all(
          [RUN_FILES.run, RUN_FILES.metrics].map((file) =>
            stat(path.join(dir, file)).then(
              (s) => `${s.size}:${s.mtimeMs}`,
              () => '-',
            ),
          ),
        );
        seen.set(dir, stamps.join('|'));
      }
      for (const [dir, stamp] of seen) if (this.stamps.get(dir) !== stamp) this.onFileEvent(path.join(dir, RUN_FILES.run));
      for (const dir of this.stamps.keys()) if (!seen.has(dir)) this.onFileEvent(path.join(dir, RUN_FILES.run));
      this.stamps = seen;
    } finally {
      this.sweeping = false;
    }
  }

  private onFileEvent(file: string): void {
    if (!this.folder) return;
    const relative = path.relative(this.folder, file);
    if (relative.startsWith('..') || path.isAbsolute(relative)) return;
    const runName = relative.split(path.sep)[0];
    if (!runName || runName.startsWith('.')) return;
    const runDir = path.join(this.folder, runName);
    if (this.pending.has(runDir)) return;
    this.pending.set(
      runDir,
      setTimeout(() => {
        this.pending.delete(runDir);
        this.runEmitter.fire(runDir);
      }, RUN_EVENT_DELAY_MS),
    );
  }

  dispose(): void {
    clearInterval(this.sweepTimer);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    vscode.Disposable.from(this.configSubscription, ...this.watcherSubscriptions, this.runEmitter, this.folderEmitter).dispose();
    this.watcher?.dispose();
  }
}
