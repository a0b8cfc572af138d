/**
 * Commands that create and edit experiment configs: "New experiment" from the shipped templates,
 * "Edit experiment" (a form generated from the schema), and the CodeLens above every config.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import * as vscode from 'vscode';
import { readRunInfo, listRunDirs } from '../runs/runReader';
import { ComparePanel } from './comparePanel';
import { isGanConfig } from './configDiagnostics';
import { ConfigFormPanel } from './configForm';
import type { RunsWatcher } from './runsWatcher';
import { workspaceRoot } from './settings';

interface ConfigCommandContext {
  startRun(configUri: vscode.Uri): Promise<string | undefined>;
  watcher: RunsWatcher;
}

interface Template {
  file: string;
  name: string;
  description: string;
  text: string;
}

/** The templates shipped in dist/templates (copied from examples/ at build time). */
async function readTemplates(extensionUri: vscode.Uri): Promise<Template[]> {
  const folder = vscode.Uri.joinPath(extensionUri, 'dist', 'templates').fsPath;
  const templates: Template[] = [];
  for (const file of (await readdir(folder).catch(() => [] as string[])).filter((f) => f.endsWith('.gan.json')).sort()) {
    const text = await readFile(path.join(folder, file), 'utf8');
    const parsed = parseJsonc(text) as { name?: unknown; description?: unknown } | undefined;
    templates.push({ file, name: String(parsed?.name ?? file), description: String(parsed?.description ?? ''), text });
  }
  return templates;
}

/**
 * A template that reads a data file shipped with it (data.path under data/, e.g. keywords.csv) gets that file
 * beside the new experiment, unless the workspace has one there already.
 */
async function copyTemplateData(extensionUri: vscode.Uri, template: Template, root: vscode.Uri): Promise<void> {
  const parsed = parseJsonc(template.text) as { data?: { path?: unknown } } | undefined;
  const dataPath = parsed?.data?.path;
  if (typeof dataPath !== 'string' || !/^data\/[\w.-]+$/.test(dataPath)) return;
  const source = vscode.Uri.joinPath(extensionUri, 'dist', 'templates', dataPath);
  const target = vscode.Uri.joinPath(root, dataPath);
  try {
    await vscode.workspace.fs.stat(target);
    return;
  } catch {
    // Not there yet.
  }
  try {
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(target, '..'));
    await vscode.workspace.fs.copy(source, target);
  } catch {
    // The template ships no such file: the run will say which file is missing.
  }
}

/** The config name inside a `*.gan.json` text (null when it has none yet). */
function configName(text: string): string | null {
  const parsed = parseJsonc(text) as { name?: unknown } | undefined;
  return typeof parsed?.name === 'string' ? parsed.name : null;
}

export function registerConfigCommands(context: vscode.ExtensionContext, commands: ConfigCommandContext): void {
  async function newExperiment(): Promise<void> {
    const templates = await readTemplates(context.extensionUri);
    const template = await vscode.window.showQuickPick(
      templates.map((t) => ({ label: t.name, description: t.file, detail: t.description, template: t })),
      { title: 'New GAN experiment', placeHolder: 'Start from a template', matchOnDetail: true },
    );
    if (!template) return;
    const root = workspaceRoot(vscode.window.activeTextEditor?.document.uri);
    if (!root) {
      void vscode.window.showErrorMessage('GAN Workbench: open a folder first; experiments are files in your workspace.');
      return;
    }
    const name = await vscode.window.showInputBox({
      title: 'New GAN experiment',
      prompt: 'Experiment name (runs are grouped by it; the file is <name>.gan.json in the workspace folder)',
      value: template.template.name,
      validateInput: (text) =>
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(text) ? undefined : 'letters, digits, dot, underscore or dash, starting with a letter or digit',
    });
    if (!name) return;
    const target = vscode.Uri.joinPath(root.uri, `${name}.gan.json`);
    try {
      await vscode.workspace.fs.stat(target);
      void vscode.window.showErrorMessage(`GAN Workbench: ${vscode.workspace.asRelativePath(target)} exists already; pick another name.`);
      return;
    } catch {
      // Free: write it.
    }
    // Only the name changes; the template's comments and layout stay.
    const text = template.template.text.replace(/("name"\s*:\s*)"[^"]*"/, `$1${JSON.stringify(name)}`);
    await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
    await copyTemplateData(context.extensionUri, template.template, root.uri);
    await vscode.window.showTextDocument(target);
  }

  async function editExperiment(arg?: unknown): Promise<void> {
    const uri =
      arg instanceof vscode.Uri
        ? arg
        : vscode.window.activeTextEditor && isGanConfig(vscode.window.activeTextEditor.document)
          ? vscode.window.activeTextEditor.document.uri
          : (
              await vscode.window.showQuickPick(
                (await vscode.workspace.findFiles('**/*.gan.json', '{**/node_modules/**,**/runs/**}', 200)).map((u) => ({
                  label: path.basename(u.fsPath),
                  description: vscode.workspace.asRelativePath(path.dirname(u.fsPath)),
                  uri: u,
                })),
                { title: 'Edit GAN experiment' },
              )
            )?.uri;
    if (uri) await ConfigFormPanel.createOrShow(context.extensionUri, uri);
  }

  /** Compares every run of one experiment: the config's (CodeLens, editor), else one picked by name. */
  async function compareExperiment(arg?: unknown): Promise<void> {
    const runsDir = commands.watcher.runsDir;
    if (!runsDir) return;
    const runs: { dir: string; name: string }[] = [];
    for (const dir of await listRunDirs(runsDir)) {
      const info = await readRunInfo(dir);
      if (info) runs.push({ dir, name: info.name });
    }
    const editor = vscode.window.activeTextEditor;
    const uri = arg instanceof vscode.Uri ? arg : editor && isGanConfig(editor.document) ? editor.document.uri : undefined;
    let name = uri ? configName((await vscode.workspace.openTextDocument(uri)).getText()) : null;
    if (!name) {
      const names = [...new Set(runs.map((r) => r.name))].sort();
      name =
        (
          await vscode.window.showQuickPick(
            names.map((n) => ({ label: n, description: `${runs.filter((r) => r.name === n).length} runs` })),
            { title: 'Compare runs of an experiment' },
          )
        )?.label ?? null;
    }
    if (!name) return;
    const runDirs = runs.filter((r) => r.name === name).map((r) => r.dir);
    if (runDirs.length === 0) {
      void vscode.window.showInformationMessage(`GAN Workbench: no runs of "${name}" yet.`);
      return;
    }
    // Oldest first, so colours stay put as new runs are added.
    ComparePanel.createOrShow(context.extensionUri, commands.watcher, runDirs.reverse());
  }

  const codeLens = new ConfigCodeLensProvider(commands.watcher);
  context.subscriptions.push(
    codeLens,
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.gan.json' }, codeLens),
    vscode.commands.registerCommand('ganWorkbench.newExperiment', newExperiment),
    vscode.commands.registerCommand('ganWorkbench.editExperiment', editExperiment),
    vscode.commands.registerCommand('ganWorkbench.compareExperiment', compareExperiment),
  );
}

/** "Start GAN run · Modify hyperparameters and run · Edit as form · Compare N runs" above a config. */
class ConfigCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;
  private readonly subscription: vscode.Disposable;
  private runCounts: Promise<Map<string, number>> | null = null;
  private invalidateTimer: NodeJS.Timeout | undefined;

  constructor(private readonly watcher: RunsWatcher) {
    this.subscription = vscode.Disposable.from(
      watcher.onDidChangeRun(() => this.invalidate()),
      watcher.onDidChangeFolder(() => this.invalidate()),
    );
  }

  /** Recounted at most every 2 s: a training run changes its files many times a second. */
  private invalidate(): void {
    if (this.invalidateTimer) return;
    this.invalidateTimer = setTimeout(() => {
      this.invalidateTimer = undefined;
      this.runCounts = null;
      this.changeEmitter.fire();
    }, 2000);
  }

  private counts(): Promise<Map<string, number>> {
    this.runCounts ??= (async () => {
      const counts = new Map<string, number>();
      const runsDir = this.watcher.runsDir;
      if (!runsDir) return counts;
      for (const dir of await listRunDirs(runsDir)) {
        const info = await readRunInfo(dir);
        if (info) counts.set(info.name, (counts.get(info.name) ?? 0) + 1);
      }
      return counts;
    })();
    return this.runCounts;
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (!isGanConfig(document)) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses = [
      new vscode.CodeLens(top, { title: '$(play) Start GAN run', command: 'ganWorkbench.startRun', arguments: [document.uri] }),
      new vscode.CodeLens(top, { title: 'Modify hyperparameters and run', command: 'ganWorkbench.runWithHyperparameters', arguments: [document.uri] }),
      new vscode.CodeLens(top, { title: 'Edit as form', command: 'ganWorkbench.editExperiment', arguments: [document.uri] }),
    ];
    const name = configName(document.getText());
    const count = name ? ((await this.counts()).get(name) ?? 0) : 0;
    if (count > 0) {
      lenses.push(
        new vscode.CodeLens(top, { title: `Compare runs of this experiment (${count})`, command: 'ganWorkbench.compareExperiment', arguments: [document.uri] }),
      );
    }
    return lenses;
  }

  dispose(): void {
    clearTimeout(this.invalidateTimer);
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }
}
