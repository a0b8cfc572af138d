/**
 * GAN Workbench's extension host side: commands, the runs view, the status bar item, config
 * diagnostics and the run monitor panels. Training happens in a forked trainer process.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { NATIVE_DIR_ENV } from '../protocol/environment';
import { AlertNotifier } from './alertNotifier';
import { installGpuBackend, nativeDir } from './gpuBackend';
import { formatProblem } from '../protocol/config';
import { checkConfig, ConfigDiagnostics, isGanConfig } from './configDiagnostics';
import { MonitorPanel, MonitorPanelSerializer } from './monitorPanel';
import { RunSessions } from './runSessions';
import { ExperimentItem, RunItem, runDirOf, RunsTreeProvider, type RunsTreeItem } from './runsTree';
import { RunsWatcher } from './runsWatcher';
import { editHyperparameters } from './hyperparameters';
import { registerRunActions } from './runActions';
import { registerConfigCommands } from './configCommands';
import { ComparePanel, ComparePanelSerializer } from './comparePanel';
import { MonitorViewProvider } from './monitorView';
import type { ConfigSetting } from '../protocol/configPatch';
import { loadConfigFile, resolveConfigPaths } from '../trainer/configFile';
import { backendChoice, loggingDefaults, notifyRunEnded, runsFolder, trainerNodePath } from './settings';
import { parse as parseJsonc } from 'jsonc-parser';
import type { StartRunParams, StartRunResult } from '../protocol/trainerRpc';
import { listCheckpoints, readRunInfo } from '../runs/runReader';
import { stopForeignRun } from '../runs/foreignStop';
import { CRASH_WINDOW_MS, MAX_RESTARTS, RestartPolicy } from './restartPolicy';
import { TrainerSession, TrainerStartError, type SessionEnd } from './trainerSession';

const CONFIG_GLOB = '**/*.gan.json';
const CONFIG_EXCLUDE = '{**/node_modules/**,**/runs/**}';

class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('ganWorkbench.activeRun', vscode.StatusBarAlignment.Left, 10);

  constructor(private readonly sessions: RunSessions) {
    this.item.name = 'GAN Workbench: active run';
    this.item.command = 'ganWorkbench.openMonitor';
  }

  update(): void {
    const active = this.sessions.active();
    if (!active?.session.run) {
      this.item.hide();
      return;
    }
    const { session } = active;
    const run = session.run;
    if (!run) return;
    const rate = session.lastMetrics ? ` · ${session.lastMetrics.stepsPerSecond.toFixed(1)} steps/s` : '';
    const icon =
      session.status === 'running' ? '$(sync~spin)' : session.status === 'completed' ? '$(pass)' : session.status === 'failed' ? '$(error)' : '$(debug-pause)';
    this.item.text = `${icon} GAN ${session.step}/${run.totalSteps}${session.status === 'running' ? rate : ` ${session.status}`}`;
    const loss = session.lastMetrics ? `\nD loss ${session.lastMetrics.dLoss.toPrecision(4)} · G loss ${session.lastMetrics.gLoss.toPrecision(4)}` : '';
    this.item.tooltip = `${run.runId} (${session.status}, ${run.backend})${loss}\nClick to open the monitor`;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

async function pickConfig(): Promise<vscode.Uri | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (editor && isGanConfig(editor.document)) return editor.document.uri;
  const files = await vscode.workspace.findFiles(CONFIG_GLOB, CONFIG_EXCLUDE, 200);
  if (files.length === 0) {
    void vscode.window.showErrorMessage('GAN Workbench: no experiment config (*.gan.json) in this workspace. Open one and run "GAN: Start GAN run" again.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    files
      .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
      .map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(path.dirname(uri.fsPath)), uri })),
    { title: 'Start GAN run', placeHolder: 'Experiment config to train' },
  );
  return picked?.uri;
}

/** Set while the window closes: trainers that exit then were asked to. */
let deactivating = false;

export function activate(context: vscode.ExtensionContext): void {
  deactivating = false;
  const output = vscode.window.createOutputChannel('GAN Workbench');
  const sessions = new RunSessions();
  const statusBar = new StatusBar(sessions);
  const watcher = new RunsWatcher();
  const alertNotifier = new AlertNotifier();
  // Alerts of a live run are news (once each); those of ended runs are history.
  const runsTree = new RunsTreeProvider(
    () => watcher.runsDir,
    (runDir, info) => {
      if (info.status !== 'running') alertNotifier.know(runDir, info.alerts ?? []);
      else for (const alert of info.alerts ?? []) alertNotifier.notify(runDir, info.name, alert);
    },
  );
  const treeView = vscode.window.createTreeView('ganWorkbench.runs', { treeDataProvider: runsTree, canSelectMany: true, showCollapseAll: true });
  const monitorView = new MonitorViewProvider(context.extensionUri, sessions, watcher);
  const trainerScript = vscode.Uri.joinPath(context.extensionUri, 'dist', 'trainer.js').fsPath;

  const openMonitor = (runDir: string) => {
    MonitorPanel.createOrShow(context.extensionUri, runDir, sessions, watcher);
    monitorView.show(runDir);
  };

  /** Checks a config file before a run: saved, valid, with a usable runs folder. */
  async function prepareConfig(configUri: vscode.Uri): Promise<{ runsDir: string } | undefined> {
    const document = await vscode.workspace.openTextDocument(configUri);
    if (document.isDirty) await document.save();
    const problems = checkConfig(document.getText(), document.fileName);
    if (problems.length > 0) {
      const first = problems.slice(0, 3).map(formatProblem).join('; ');
      const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
      const action = await vscode.window.showErrorMessage(
        `GAN Workbench: ${path.basename(configUri.fsPath)} is not a valid experiment: ${first}${more}`,
        'Show Problems',
      );
      if (action === 'Show Problems') {
        await vscode.window.showTextDocument(document);
        await vscode.commands.executeCommand('workbench.actions.view.problems');
      }
      return undefined;
    }
    const folder = runsFolder(configUri);
    if (!folder) return undefined;
    if (!folder.ok) {
      void vscode.window.showErrorMessage(`GAN Workbench: not starting: ${folder.reason}.`);
      return undefined;
    }
    await mkdir(folder.path, { recursive: true });
    return { runsDir: folder.path };
  }

  function refuseUntrusted(): boolean {
    if (vscode.workspace.isTrusted) return false;
    void vscode.window.showErrorMessage(
      'GAN Workbench: training runs code on your machine, so it is disabled in Restricted Mode. Trust this workspace to start runs.',
    );
    return true;
  }

  async function startRun(configArg?: unknown, settings?: ConfigSetting[]): Promise<string | undefined> {
    if (refuseUntrusted()) return undefined;
    const configUri = configArg instanceof vscode.Uri ? configArg : await pickConfig();
    if (!configUri) return undefined;
    const prepared = await prepareConfig(configUri);
    if (!prepared) return undefined;
    const text = (await vscode.workspace.openTextDocument(configUri)).getText();
    settings = [...loggingDefaults(configUri, parseJsonc(text)), ...(settings ?? [])];
    output.appendLine(
      `Starting ${configUri.fsPath} → ${prepared.runsDir}${settings?.length ? ` with ${settings.map((s) => `${s.path}=${JSON.stringify(s.value)}`).join(', ')}` : ''}`,
    );
    return launch(
      { configPath: configUri.fsPath, runsDir: prepared.runsDir, backend: backendChoice(), settings },
      path.basename(configUri.fsPath),
      new RestartPolicy(),
    );
  }

  /** "Modify hyperparameters and run": the usual fields in a quick pick, then a run with them (the file is unchanged). */
  async function runWithHyperparameters(configArg?: unknown): Promise<string | undefined> {
    if (refuseUntrusted()) return undefined;
    const configUri = configArg instanceof vscode.Uri ? configArg : await pickConfig();
    if (!configUri) return undefined;
    if (!(await prepareConfig(configUri))) return undefined;
    const config = resolveConfigPaths(await loadConfigFile(configUri.fsPath), path.dirname(configUri.fsPath));
    const settings = await editHyperparameters(config, `Run ${config.name} with…`, 'Start run');
    if (!settings) return undefined;
    return startRun(configUri, settings);
  }

  /** Starts a trainer for `params`; a trainer that crashes is resumed from its checkpoint while `policy` allows. */
  async function launch(params: StartRunParams, label: string, policy: RestartPolicy): Promise<string | undefined> {
    // The GPU backend installed by "GAN: Install GPU backend" lives in the global storage.
    const env = { ...process.env, [NATIVE_DIR_ENV]: [nativeDir(context), process.env[NATIVE_DIR_ENV]].filter(Boolean).join(path.delimiter) };
    const session = new TrainerSession(trainerScript, output, trainerNodePath(), env);
    try {
      const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting GAN trainer…' }, () => session.start(params));
      output.appendLine(`Run ${run.runId} on ${run.backend}${run.backendReason ? ` (skipped ${run.backendReason})` : ''}: ${run.runDir}`);
      sessions.add(run.runDir, session);
      session.onDidEnd((ended) => void onEnded(run, ended, params, policy));
      session.onDidRaiseAlert((alert) => {
        alertNotifier.notify(run.runDir, run.runId, alert);
        runsTree.refresh(run.runDir);
      });
      openMonitor(run.runDir);
      runsTree.refresh(run.runDir);
      return run.runDir;
    } catch (error) {
      session.dispose();
      const message = error instanceof Error ? error.message : String(error);
      output.appendLine(`Could not start: ${message}`);
      // A config or data problem the editor could not see (e.g. a corrupt data file) is the user's to fix.
      const what = error instanceof TrainerStartError && error.invalidConfig ? `${label} cannot be trained` : 'could not start the run';
      void vscode.window.showErrorMessage(`GAN Workbench: ${what}: ${message}`, 'Show Log').then((a) => a && output.show());
      return undefined;
    }
  }

  async function onEnded(run: StartRunResult, ended: SessionEnd, params: StartRunParams, policy: RestartPolicy): Promise<void> {
    output.appendLine(`Run ${run.runId} ${ended.crashed ? 'crashed' : ended.status} at step ${ended.step}${ended.error ? `: ${ended.error}` : ''}`);
    runsTree.refresh(run.runDir);
    if (ended.crashed && !ended.stopRequested && !deactivating) {
      if ((await listCheckpoints(run.runDir)).length === 0) {
        void showRunError(`GAN run ${run.runId} crashed before its first checkpoint, so it cannot be resumed: ${ended.error ?? 'unknown error'}`);
        return;
      }
      if (policy.onCrash() === 'restart') {
        output.appendLine(`Restarting ${run.runId} from its last checkpoint`);
        await launch({ ...params, configPath: run.runDir, resumeFrom: run.runDir }, run.runId, policy);
        return;
      }
      void showRunError(
        `GAN run ${run.runId} crashed ${MAX_RESTARTS + 1} times in ${CRASH_WINDOW_MS / 60_000} minutes and is not restarted again. Its checkpoints are kept.`,
      );
      return;
    }
    // A divergence was told as its alert (with the advice) a moment ago: the same failure needs no second toast.
    if (ended.status === 'failed' && !alertNotifier.toldRunEnding(run.runDir, ended.step))
      void showRunError(`GAN run ${run.runId} failed: ${ended.error ?? 'unknown error'}`);
  }

  async function showRunError(message: string): Promise<void> {
    if (!notifyRunEnded()) return;
    if ((await vscode.window.showErrorMessage(message, 'Show Log')) === 'Show Log') output.show();
  }

  async function stopRun(arg?: unknown): Promise<void> {
    let runDir = runDirOf(arg);
    if (!runDir) {
      const running = sessions.running();
      if (running.length === 0) {
        void vscode.window.showInformationMessage('GAN Workbench: no run is running in this window.');
        return;
      }
      runDir =
        running.length === 1
          ? running[0].runDir
          : (
              await vscode.window.showQuickPick(
                running.map((r) => ({ label: path.basename(r.runDir), runDir: r.runDir })),
                { title: 'Stop GAN run' },
              )
            )?.runDir;
    }
    if (!runDir) return;
    const session = sessions.get(runDir);
    if (!session) {
      // Started elsewhere (a terminal, another window): ask its process to stop the same way Ctrl-C does.
      const info = await readRunInfo(runDir);
      const result = info ? await stopForeignRun(info) : ({ ok: false, reason: 'it has no readable run.json' } as const);
      if (result.ok) {
        output.appendLine(`Asked ${path.basename(runDir)} (pid ${result.pid}, started outside this window) to stop`);
        void vscode.window.showInformationMessage(`GAN Workbench: ${path.basename(runDir)} stops after its current step (a checkpoint is written).`);
      } else {
        void vscode.window.showWarningMessage(`GAN Workbench: cannot stop ${path.basename(runDir)}: ${result.reason}.`);
      }
      return;
    }
    await session.stop();
  }

  async function openMonitorCommand(arg?: unknown): Promise<void> {
    const runDir = runDirOf(arg) ?? sessions.active()?.runDir;
    if (runDir) {
      openMonitor(runDir);
      return;
    }
    const items = await runsTree.runs();
    const picked = await vscode.window.showQuickPick(
      items.map((i) => ({ label: i.info.name, description: `${i.label as string} · ${i.description as string}`, runDir: i.runDir })),
      { title: 'Open GAN run monitor' },
    );
    if (picked) openMonitor(picked.runDir);
  }

  /** The runs a command acts on: the clicked item, or the tree's selection when the click was part of it. */
  function runsOf(item: unknown, selected: unknown): RunItem[] {
    const all = Array.isArray(selected) && selected.length > 0 ? (selected as RunsTreeItem[]) : item ? [item as RunsTreeItem] : [...treeView.selection];
    return all.flatMap((i) => (i instanceof ExperimentItem ? i.runs : i instanceof RunItem ? [i] : []));
  }

  context.subscriptions.push(
    output,
    sessions,
    statusBar,
    runsTree,
    treeView,
    watcher,
    monitorView,
    new ConfigDiagnostics(),
    { dispose: () => MonitorPanel.disposeAll() },
    { dispose: () => ComparePanel.disposeAll() },
    sessions.onDidChange(() => statusBar.update()),
    watcher.onDidChangeRun((runDir) => runsTree.refresh(runDir)),
    watcher.onDidChangeFolder(() => runsTree.refresh()),
    treeView.onDidChangeSelection((e) => {
      const run = e.selection.find((i): i is RunItem => i instanceof RunItem);
      if (run) monitorView.show(run.runDir);
    }),
    vscode.window.registerWebviewViewProvider(MonitorViewProvider.viewType, monitorView, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.window.registerWebviewPanelSerializer(MonitorPanel.viewType, new MonitorPanelSerializer(context.extensionUri, sessions, watcher)),
    vscode.window.registerWebviewPanelSerializer(ComparePanel.viewType, new ComparePanelSerializer(context.extensionUri, watcher)),
    vscode.commands.registerCommand('ganWorkbench.startRun', (arg?: unknown) => startRun(arg)),
    vscode.commands.registerCommand('ganWorkbench.runWithHyperparameters', runWithHyperparameters),
    vscode.commands.registerCommand('ganWorkbench.compareRuns', (item?: unknown, selected?: unknown) => {
      const runs = runsOf(item, selected);
      if (runs.length === 0) {
        void vscode.window.showInformationMessage('GAN Workbench: select the runs to compare in the GAN Runs view (Ctrl/Cmd-click for several).');
        return;
      }
      ComparePanel.createOrShow(
        context.extensionUri,
        watcher,
        runs.map((r) => r.runDir),
      );
    }),
    vscode.commands.registerCommand('ganWorkbench.stopRun', stopRun),
    vscode.commands.registerCommand('ganWorkbench.openMonitor', openMonitorCommand),
    vscode.commands.registerCommand('ganWorkbench.refreshRuns', () => runsTree.refresh()),
    vscode.commands.registerCommand('ganWorkbench.showOutput', () => output.show()),
    vscode.commands.registerCommand('ganWorkbench.installGpuBackend', () => installGpuBackend(context, output)),
  );
  registerRunActions(context, {
    output,
    sessions,
    runsTree,
    runsOf,
    refuseUntrusted,
    launch: (params, label) => launch(params, label, new RestartPolicy()),
  });
  registerConfigCommands(context, { startRun: (uri) => startRun(uri), watcher });
}

export function deactivate(): void {
  deactivating = true;
  // Disposables in context.subscriptions stop the sessions and close the panels.
}
