/** The extension's settings (contributes.configuration in package.json). */
import path from 'node:path';
import * as vscode from 'vscode';
import type { BackendChoice } from '../protocol/runDirectory';

const SECTION = 'ganWorkbench';

export function workspaceRoot(forFile?: vscode.Uri): vscode.WorkspaceFolder | undefined {
  return (forFile && vscode.workspace.getWorkspaceFolder(forFile)) ?? vscode.workspace.workspaceFolders?.[0];
}

/** Absolute runs folder: the setting, relative to the workspace folder of `forFile`. */
export function runsFolder(forFile?: vscode.Uri): string | undefined {
  const folder = workspaceRoot(forFile);
  const configured = vscode.workspace.getConfiguration(SECTION, folder?.uri).get<string>('runsFolder', 'runs') || 'runs';
  if (path.isAbsolute(configured)) return configured;
  if (folder) return path.join(folder.uri.fsPath, configured);
  return forFile ? path.join(path.dirname(forFile.fsPath), configured) : undefined;
}

export function backendChoice(): BackendChoice {
  return vscode.workspace.getConfiguration(SECTION).get<BackendChoice>('backend', 'auto');
}

/** Node executable for the trainer; empty means the one that runs the extension host. */
export function trainerNodePath(): string | undefined {
  const configured = vscode.workspace.getConfiguration(SECTION).get<string>('trainer.nodePath', '');
  return configured.trim() || undefined;
}
