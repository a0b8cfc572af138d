/** The side panel's runs list: the runs folder's runs, grouped by experiment, newest first. */
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { alertLine, runStatusView } from '../protocol/healthAlerts';
import type { MetricsRecord, RunInfo } from '../protocol/runDirectory';
import { listRunDirs, readLastMetrics, readRunInfo } from '../runs/runReader';

/** How often runs of this machine that show as running are checked for a dead trainer. */
const ALIVE_CHECK_MS = 5000;

const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : String(x));

export class RunItem extends vscode.TreeItem {
  constructor(
    readonly runDir: string,
    readonly info: RunInfo,
    readonly last: MetricsRecord | null,
  ) {
    super(info.id.startsWith(`${info.name}-`) ? info.id.slice(info.name.length + 1) : info.id, vscode.TreeItemCollapsibleState.None);
    this.id = runDir;
    const step = Math.max(info.step, last?.step ?? 0);
    const metrics = last ? ` · D ${fmt(last.dLoss)} G ${fmt(last.gLoss)}` : '';
    const alerts = info.alerts ?? [];
    // A running run with an alert is "alerting"; an ended one keeps the count (and says when it ended on a divergence).
    const status = runStatusView(info).label;
    const alertCount = alerts.length > 0 && info.status !== 'running' ? ` · ${alerts.length} alert${alerts.length === 1 ? '' : 's'}` : '';
    this.description = `${status} · ${step}/${info.totalSteps}${metrics}${alertCount}`;
    this.tooltip = new vscode.MarkdownString(undefined, true);
    this.tooltip.appendText(
      `${info.id}\n${info.status}${info.error ? `: ${info.error}` : ''}\nstep ${step} of ${info.totalSteps} · backend ${info.backend ?? '?'}`,
    );
    if (last) this.tooltip.appendText(`\nD loss ${fmt(last.dLoss)} · G loss ${fmt(last.gLoss)} · D(x) ${fmt(last.dReal)} · D(G(z)) ${fmt(last.dFake)}`);
    if (info.parent)
      this.tooltip.appendText(
        `\nforked from ${path.basename(info.parent)}${info.parentStep !== undefined && info.parentStep !== null ? ` at step ${info.parentStep}` : ''}`,
      );
    for (const alert of alerts) this.tooltip.appendText(`\n⚠ ${alertLine(alert)}`);
    this.tooltip.appendText(`\n${runDir}`);
    this.iconPath = RunItem.icon(info);
    this.contextValue = `ganRun.${info.status}`;
    this.resourceUri = vscode.Uri.file(runDir);
    this.command = { command: 'ganWorkbench.openMonitor', title: 'Open monitor', arguments: [this] };
  }

  static icon(info: RunInfo): vscode.ThemeIcon {
    const { icon, color } = runStatusView(info);
    return new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
  }
}

/** The runs of one experiment (one config `name`). */
export class ExperimentItem extends vscode.TreeItem {
  constructor(
    readonly name: string,
    readonly runs: RunItem[],
  ) {
    super(name, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `experiment:${name}`;
    const running = runs.filter((r) => r.info.status === 'running').length;
    this.description = `${runs.length} run${runs.length === 1 ? '' : 's'}${running ? ` · ${running} running` : ''}`;
    this.iconPath = new vscode.ThemeIcon('beaker');
    this.contextValue = 'ganExperiment';
  }
}

export type RunsTreeItem = ExperimentItem | RunItem;

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsTreeItem>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private refreshTimer: NodeJS.Timeout | undefined;
  private aliveTimer: NodeJS.Timeout | undefined;
  private experiments: ExperimentItem[] = [];

  constructor(
    private readonly runsDir: () => string | undefined,
    /** Told each run's alerts whenever it is read (the notifier keeps only what is new). */
    private readonly onAlerts: (runDir: string, info: RunInfo) => void = () => undefined,
  ) {}

  /** Runs read so far; only the ones whose files changed are read again. */
  private readonly cache = new Map<string, RunItem>();
  private readonly stale = new Set<string>();

  /**
   * Coalesces bursts of changes into one refresh (a training run writes many times a second).
   * With `runDir`, only that run is read again; without, every run.
   */
  refresh(runDir?: string): void {
    if (runDir) this.stale.add(runDir);
    else this.cache.clear();
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.changeEmitter.fire();
    }, 500);
  }

  getTreeItem(item: RunsTreeItem): vscode.TreeItem {
    return item;
  }

  getParent(item: RunsTreeItem): RunsTreeItem | undefined {
    if (item instanceof ExperimentItem) return undefined;
    return this.experiments.find((e) => e.name === item.info.name);
  }

  async getChildren(parent?: RunsTreeItem): Promise<RunsTreeItem[]> {
    if (parent instanceof ExperimentItem) return parent.runs;
    if (parent) return [];
    const runs = await this.runs();
    const byName = new Map<string, RunItem[]>();
    for (const run of runs) byName.set(run.info.name, [...(byName.get(run.info.name) ?? []), run]);
    this.experiments = [...byName.entries()].map(([name, items]) => new ExperimentItem(name, items)).sort((a, b) => a.name.localeCompare(b.name));
    return this.experiments;
  }

  /** Every run in the runs folder, newest first. */
  async runs(): Promise<RunItem[]> {
    const folder = this.runsDir();
    if (!folder) return [];
    const items: RunItem[] = [];
    const dirs = await listRunDirs(folder);
    for (const dir of dirs) {
      let item = this.stale.has(dir) ? undefined : this.cache.get(dir);
      this.stale.delete(dir);
      if (!item) {
        const [info, last] = await Promise.all([readRunInfo(dir), readLastMetrics(dir)]);
        item = info ? new RunItem(dir, info, last) : undefined;
        if (item) this.cache.set(dir, item);
        if (info?.alerts?.length) this.onAlerts(dir, info);
      }
      // A running run is read again each time: on this machine its pid may have died silently.
      if (item?.info.status === 'running') this.stale.add(dir);
      if (item) items.push(item);
    }
    for (const dir of this.cache.keys()) if (!dirs.includes(dir)) this.cache.delete(dir);
    // A trainer killed outright writes nothing more, so no file event would say so: look again
    // every few seconds while a run of this machine shows as running.
    clearTimeout(this.aliveTimer);
    const local = items.filter((item) => item.info.status === 'running' && item.info.host === os.hostname());
    if (local.length > 0) this.aliveTimer = setTimeout(() => local.forEach((item) => this.refresh(item.runDir)), ALIVE_CHECK_MS);
    return items.sort((a, b) => b.info.startedAt.localeCompare(a.info.startedAt));
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    clearTimeout(this.aliveTimer);
    this.changeEmitter.dispose();
  }
}

export function runDirOf(arg: unknown): string | undefined {
  if (arg instanceof RunItem) return arg.runDir;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return path.resolve(arg);
  return undefined;
}
