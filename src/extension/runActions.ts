/**
 * What the runs view's items offer: resume, fork from a checkpoint, delete, reveal and export.
 * Training goes through the same launcher as "Start GAN run"; exports run the CLI in a child
 * process, so TensorFlow.js never loads into the extension host.
 */
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import type { StartRunParams } from '../protocol/trainerRpc';
import { listCheckpoints, readConfigSnapshot, readRunInfo } from '../runs/runReader';
import { editHyperparameters } from './hyperparameters';
import { MonitorPanel } from './monitorPanel';
import type { RunSessions } from './runSessions';
import type { RunItem, RunsTreeProvider } from './runsTree';
import { backendChoice, trainerNodePath } from './settings';

export interface RunActionContext {
  output: vscode.OutputChannel;
  sessions: RunSessions;
  runsTree: RunsTreeProvider;
  runsOf(item: unknown, selected: unknown): RunItem[];
  refuseUntrusted(): boolean;
  launch(params: StartRunParams, label: string): Promise<string | undefined>;
}

/** Runs `gan-workbench <args>` (the bundled CLI) and resolves with its exit code and output. */
export function runCli(extensionUri: vscode.Uri, args: string[], output: vscode.OutputChannel): Promise<{ code: number | null; stderr: string }> {
  const script = vscode.Uri.joinPath(extensionUri, 'dist', 'cli.js').fsPath;
  output.appendLine(`gan-workbench ${args.join(' ')}`);
  const child = fork(script, args, { execPath: trainerNodePath(), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => output.append(d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    output.append(d.toString());
  });
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({ code: null, stderr: error.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

export function registerRunActions(context: vscode.ExtensionContext, actions: RunActionContext): void {
  const { output, sessions, runsTree } = actions;

  /** The clicked run; from the palette (no argument), a quick pick of all runs. */
  async function pickRun(item: unknown, title: string): Promise<RunItem | undefined> {
    const [run] = item ? actions.runsOf(item, undefined) : [];
    if (run) return run;
    const runs = await runsTree.runs();
    const picked = await vscode.window.showQuickPick(
      runs.map((r) => ({ label: r.info.id, description: r.description as string, run: r })),
      { title },
    );
    return picked?.run;
  }

  async function resume(item?: unknown): Promise<void> {
    if (actions.refuseUntrusted()) return;
    const run = await pickRun(item, 'Resume GAN run');
    if (!run) return;
    const info = await readRunInfo(run.runDir);
    if (!info) return;
    if (info.status === 'running') {
      void vscode.window.showInformationMessage(`GAN Workbench: ${info.id} is running.`);
      return;
    }
    if ((await listCheckpoints(run.runDir)).length === 0) {
      void vscode.window.showErrorMessage(`GAN Workbench: ${info.id} has no checkpoint to resume from.`);
      return;
    }
    let steps: number | undefined;
    if (info.status === 'completed') {
      // A finished run continues only if it is given more steps.
      const text = await vscode.window.showInputBox({
        title: `Continue ${info.id}`,
        prompt: `It completed ${info.totalSteps} steps. Train until step:`,
        value: String(info.totalSteps * 2),
        validateInput: (t) => (Number.isInteger(Number(t)) && Number(t) > info.totalSteps ? undefined : `a whole number above ${info.totalSteps}`),
      });
      if (!text) return;
      steps = Number(text);
    }
    // run.json has the run's own target (a continued run has more steps than its config.json).
    await actions.launch({ resumeFrom: run.runDir, runsDir: path.dirname(run.runDir), backend: backendChoice(), steps: steps ?? info.totalSteps }, info.id);
  }

  async function forkRun(item?: unknown): Promise<void> {
    if (actions.refuseUntrusted()) return;
    const run = await pickRun(item, 'Fork GAN run');
    if (!run) return;
    const checkpoints = await listCheckpoints(run.runDir);
    const config = await readConfigSnapshot(run.runDir);
    if (!config || checkpoints.length === 0) {
      void vscode.window.showErrorMessage(`GAN Workbench: ${path.basename(run.runDir)} has no checkpoint to fork from.`);
      return;
    }
    const picked = await vscode.window.showQuickPick(
      [...checkpoints].reverse().map((step, i) => ({ label: `step ${step}`, description: i === 0 ? 'newest' : undefined, step })),
      { title: `Fork ${run.info.id}`, placeHolder: 'Checkpoint to start from' },
    );
    if (!picked) return;
    // A fork trains past its checkpoint: from the run's last step, propose as many steps again.
    const initial = picked.step >= config.training.steps ? [{ path: 'training.steps', value: picked.step + config.training.steps }] : [];
    const settings = await editHyperparameters(config, `Fork ${run.info.id} from step ${picked.step}`, 'Start fork', {
      initial,
      check: (forked) => (forked.training.steps > picked.step ? undefined : `Steps must be more than ${picked.step}, the step the fork starts from.`),
    });
    if (!settings) return;
    await actions.launch(
      { forkFrom: run.runDir, forkStep: picked.step, settings, runsDir: path.dirname(run.runDir), backend: backendChoice() },
      `fork of ${run.info.id}`,
    );
  }

  async function deleteRuns(item?: unknown, selected?: unknown): Promise<void> {
    const runs = actions.runsOf(item, selected);
    if (runs.length === 0) return;
    const running = runs.filter((r) => r.info.status === 'running' || sessions.get(r.runDir)?.status === 'running');
    if (running.length > 0) {
      void vscode.window.showWarningMessage(`GAN Workbench: stop ${running.map((r) => r.info.id).join(', ')} before deleting.`);
      return;
    }
    const what = runs.length === 1 ? runs[0].info.id : `${runs.length} runs`;
    const answer = await vscode.window.showWarningMessage(
      `Delete ${what}?`,
      { modal: true, detail: `Their folders (metrics, samples, checkpoints) are removed from disk:\n${runs.map((r) => r.runDir).join('\n')}` },
      'Delete',
    );
    if (answer !== 'Delete') return;
    for (const run of runs) {
      MonitorPanel.close(run.runDir);
      await rm(run.runDir, { recursive: true, force: true });
      output.appendLine(`Deleted ${run.runDir}`);
    }
    runsTree.refresh();
  }

  async function revealRun(item?: unknown): Promise<void> {
    const run = await pickRun(item, 'Reveal GAN run');
    if (run) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(run.runDir));
  }

  async function exportRun(item?: unknown): Promise<void> {
    const run = await pickRun(item, 'Export GAN run');
    if (!run) return;
    const kinds = [
      {
        label: 'Generator as a TensorFlow.js model',
        detail: 'model.json + weights; loads with tf.loadLayersModel',
        format: 'tfjs',
        folder: 'export/tfjs-generator',
      },
      {
        label: 'TensorBoard event files',
        detail: 'scalars, D(x)/D(G(z)) histograms and samples; open with tensorboard --logdir',
        format: 'tensorboard',
        folder: 'tensorboard',
      },
      { label: 'Latest samples as PNG', detail: 'the newest sample grid or scatter', format: 'png', folder: 'export' },
    ];
    const kind = await vscode.window.showQuickPick(kinds, { title: `Export ${run.info.id}` });
    if (!kind) return;
    const out = path.join(run.runDir, kind.folder);
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Exporting ${run.info.id}…` }, () =>
      runCli(context.extensionUri, ['export', run.runDir, '--format', kind.format, '--out', out], output),
    );
    if (result.code !== 0) {
      const reason = result.stderr.trim().split('\n').pop() ?? 'unknown error';
      void vscode.window.showErrorMessage(`GAN Workbench: export failed: ${reason}`, 'Show Log').then((a) => a && output.show());
      return;
    }
    const action = await vscode.window.showInformationMessage(`GAN Workbench: exported to ${vscode.workspace.asRelativePath(out)}`, 'Reveal');
    if (action === 'Reveal') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(out));
  }

  context.subscriptions.push(
    vscode.commands.registerCommand('ganWorkbench.resumeRun', resume),
    vscode.commands.registerCommand('ganWorkbench.forkRun', forkRun),
    vscode.commands.registerCommand('ganWorkbench.deleteRun', deleteRuns),
    vscode.commands.registerCommand('ganWorkbench.revealRun', revealRun),
    vscode.commands.registerCommand('ganWorkbench.exportRun', exportRun),
  );
}
