/** The extension's settings (contributes.configuration in package.json). */
import path from 'node:path';
import * as vscode from 'vscode';
import type { BackendChoice } from '../protocol/runDirectory';
import { resolveRunsFolder, type RunsFolderResult } from '../runs/runsFolder';

const SECTION = 'ganWorkbench';

export function workspaceRoot(forFile?: vscode.Uri): vscode.WorkspaceFolder | undefined {
  return (forFile && vscode.workspace.getWorkspaceFolder(forFile)) ?? vscode.workspace.workspaceFolders?.[0];
}

/**
 * The runs folder for `forFile` (or the first workspace folder): the setting, resolved against the
 * workspace folder and refused when it leads outside it (see src/runs/runsFolder.ts).
 */
export function runsFolder(forFile?: vscode.Uri): RunsFolderResult | undefined {
  const folder = workspaceRoot(forFile);
  const configured = vscode.workspace.getConfiguration(SECTION, folder?.uri).get<string>('runsFolder', 'runs') ?? 'runs';
  const base = folder?.uri.fsPath ?? (forFile ? path.dirname(forFile.fsPath) : undefined);
  return base === undefined ? undefined : resolveRunsFolder(base, configured);
}

export function backendChoice(): BackendChoice {
  return vscode.workspace.getConfiguration(SECTION).get<BackendChoice>('backend', 'auto');
}

/** Node executable for the trainer; empty means the one that runs the extension host. */
export function trainerNodePath(): string | undefined {
  const configured = vscode.workspace.getConfiguration(SECTION).get<string>('trainer.nodePath', '');
  return configured.trim() || undefined;
}
