/** The side panel's runs list: every run directory in the runs folder, newest first. */
import path from 'node:path';
import * as vscode from 'vscode';
import type { RunInfo } from '../protocol/runDirectory';
import { listRunDirs, readRunInfo } from '../runs/runReader';
import { runsFolder } from './settings';

export class RunItem extends vscode.TreeItem {
  constructor(
    readonly runDir: string,
    readonly info: RunInfo,
  ) {
    super(info.name, vscode.TreeItemCollapsibleState.None);
    this.id = runDir;
    this.description = `${info.id.slice(info.name.length + 1)} · ${info.status} · ${info.step}/${info.totalSteps}`;
    this.tooltip = new vscode.MarkdownString(undefined, true);
    this.tooltip.appendText(`${info.id}\n${info.status}${info.error ? `: ${info.error}` : ''}\nbackend ${info.backend ?? '?'}\n${runDir}`);
    this.iconPath = RunItem.icon(info);
    this.contextValue = `ganRun.${info.status}`;
    this.command = { command: 'ganWorkbench.openMonitor', title: 'Open monitor', arguments: [this] };
  }

  static icon(info: RunInfo): vscode.ThemeIcon {
    switch (info.status) {
      case 'running':
        return new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue'));
      case 'completed':
        return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
      case 'stopped':
        return new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('charts.yellow'));
      case 'failed':
        return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    }
  }
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunItem>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private refreshTimer: NodeJS.Timeout | undefined;

  /** Coalesces bursts of changes into one refresh. */
  refresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.changeEmitter.fire();
    }, 300);
  }

  getTreeItem(item: RunItem): vscode.TreeItem {
    return item;
  }

  async getChildren(): Promise<RunItem[]> {
    const folder = runsFolder();
    if (!folder?.ok) return [];
    const items: RunItem[] = [];
    for (const dir of await listRunDirs(folder.path)) {
      const info = await readRunInfo(dir);
      if (info) items.push(new RunItem(dir, info));
    }
    return items.sort((a, b) => b.info.startedAt.localeCompare(a.info.startedAt));
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.changeEmitter.dispose();
  }
}

export function runDirOf(arg: unknown): string | undefined {
  if (arg instanceof RunItem) return arg.runDir;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return path.resolve(arg);
  return undefined;
}
