/**
 * Problems of `*.gan.json` files, in the editor: the schema's, the syntax's, and what a schema
 * cannot see (a data file that does not exist, forbidden keys). The same checks run before a
 * run starts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseTree } from 'jsonc-parser';
import * as vscode from 'vscode';
import { formatProblem } from '../protocol/config';
import { locate, parseConfigText, type LocatedProblem } from '../protocol/configText';

export function isGanConfig(document: vscode.TextDocument): boolean {
  return document.uri.scheme === 'file' && document.fileName.endsWith('.gan.json');
}

/** Every problem of the config: schema, syntax, and files it names. */
export function checkConfig(text: string, configFile: string): LocatedProblem[] {
  const result = parseConfigText(text);
  if (!result.ok) return result.problems;
  const data = result.config.data;
  if (data.type === 'csv') {
    const file = path.resolve(path.dirname(configFile), data.path);
    if (!existsSync(file)) {
      return [{ path: ['data', 'path'], message: `file not found: ${file}`, ...locate(parseTree(text), ['data', 'path'], text.length) }];
    }
  }
  return [];
}

export class ConfigDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('gan-workbench');
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.update(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.update(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)),
    );
    vscode.workspace.textDocuments.forEach((d) => this.update(d));
  }

  update(document: vscode.TextDocument): void {
    if (!isGanConfig(document)) return;
    // The JSON language support also flags schema violations (as warnings, in the schema's
    // generic words); these errors say which field and what was expected, as the CLI does.
    const problems = checkConfig(document.getText(), document.fileName);
    this.collection.set(
      document.uri,
      problems.map((p) => {
        const range = new vscode.Range(document.positionAt(p.offset), document.positionAt(p.offset + p.length));
        const diagnostic = new vscode.Diagnostic(range, formatProblem(p), vscode.DiagnosticSeverity.Error);
        diagnostic.source = 'GAN Workbench';
        return diagnostic;
      }),
    );
  }

  dispose(): void {
    vscode.Disposable.from(...this.disposables).dispose();
  }
}
