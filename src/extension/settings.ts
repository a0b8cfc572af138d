/** The extension's settings (contributes.configuration in package.json). */
import path from 'node:path';
import * as vscode from 'vscode';
import type { ConfigSetting } from '../protocol/configPatch';
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

const LOGGING_SETTINGS = ['samplesEvery', 'checkpointEvery', 'keepCheckpoints'] as const;

/**
 * The logging intervals set in the settings, as config changes for the fields a config leaves
 * out (what the file says always wins).
 */
export function loggingDefaults(configUri: vscode.Uri, rawConfig: unknown): ConfigSetting[] {
  const settings = vscode.workspace.getConfiguration(SECTION, configUri);
  const logging = rawConfig !== null && typeof rawConfig === 'object' ? (rawConfig as { logging?: Record<string, unknown> }).logging : undefined;
  const result: ConfigSetting[] = [];
  for (const key of LOGGING_SETTINGS) {
    const value = settings.get<number | null>(`logging.${key}`, null);
    if (typeof value === 'number' && Number.isInteger(value) && value > 0 && logging?.[key] === undefined) result.push({ path: `logging.${key}`, value });
  }
  return result;
}

/** Whether failed or crashed runs and health alerts raise a notification (the views show them either way). */
export function notifyRunEnded(): boolean {
  return vscode.workspace.getConfiguration(SECTION).get<boolean>('alertNotifications', true);
}
