/**
 * Watches the runs folder, so runs written by anyone (this window's trainers, a terminal, another
 * machine on a shared folder) show up and move live. One file-system watcher for the whole folder,
 * recreated when the setting changes; change events are coalesced per run, so a trainer writing
 * every few milliseconds causes a handful of reads a second, not a storm.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { runsFolder } from './settings';

/** Per-run coalescing window. */
const RUN_EVENT_DELAY_MS = 150;

export class RunsWatcher implements vscode.Disposable {
  private watcher: vscode.FileSystemWatcher | undefined;
  private watcherSubscriptions: vscode.Disposable[] = [];
  private folder: string | undefined;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly runEmitter = new vscode.EventEmitter<string>();
  private readonly folderEmitter = new vscode.EventEmitter<void>();
  private readonly configSubscription: vscode.Disposable;
  /** A file of this run directory was created, changed or deleted (coalesced). */
  readonly onDidChangeRun = this.runEmitter.event;
  /** The runs folder setting changed (everything should be re-read). */
  readonly onDidChangeFolder = this.folderEmitter.event;

  constructor() {
    this.watch();
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
    // A runs folder that does not exist yet (a fresh workspace) is watched from its parent until
    // the first run creates it; a watcher on a missing folder would never fire.
    const exists = existsSync(runsDir);
    this.watcher = vscode.workspace.createFileSystemWatcher(
      exists
        ? new vscode.RelativePattern(vscode.Uri.file(runsDir), '**')
        : new vscode.RelativePattern(vscode.Uri.file(path.dirname(runsDir)), `${path.basename(runsDir)}/**`),
    );
    const onEvent = (uri: vscode.Uri) => {
      if (!exists && existsSync(runsDir)) this.watch();
      this.onFileEvent(uri.fsPath);
    };
    this.watcherSubscriptions.push(this.watcher.onDidCreate(onEvent), this.watcher.onDidChange(onEvent), this.watcher.onDidDelete(onEvent));
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
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    vscode.Disposable.from(this.configSubscription, ...this.watcherSubscriptions, this.runEmitter, this.folderEmitter).dispose();
    this.watcher?.dispose();
  }
}
