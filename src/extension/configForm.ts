/**
 * "GAN: Edit experiment": a form generated from the config's JSON Schema, beside the file. Each
 * change becomes a text edit of the document (jsonc-parser's `modify`), so comments and layout
 * stay, the edit can be undone in the editor, and the file and the form never disagree.
 */
import path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import * as vscode from 'vscode';
import { configJsonSchema } from '../protocol/config';
import { configTextEdits } from '../protocol/configEdit';
import type { HostToFormMessage } from '../protocol/configFormMessages';
import { derivedDefaults, dispatchFormMessage, type DerivedDefault } from '../protocol/configFormMessages';
import { parseConfigText } from '../protocol/configText';
import { webviewHtml, webviewPanelOptions } from './webviewHtml';

export class ConfigFormPanel implements vscode.Disposable {
  static readonly viewType = 'ganWorkbench.configForm';
  private static readonly panels = new Map<string, ConfigFormPanel>();

  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  /** Edits are applied one after another, in the order the form sent them. */
  private editing: Promise<unknown> = Promise.resolve();

  static async createOrShow(extensionUri: vscode.Uri, uri: vscode.Uri): Promise<ConfigFormPanel> {
    const existing = ConfigFormPanel.panels.get(uri.toString());
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      ConfigFormPanel.viewType,
      `Edit: ${path.basename(uri.fsPath)}`,
      vscode.ViewColumn.Beside,
      webviewPanelOptions(extensionUri),
    );
    return new ConfigFormPanel(panel, extensionUri, uri);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    /** The file, not its TextDocument: VS Code releases documents no editor shows. */
    private readonly uri: vscode.Uri,
  ) {
    ConfigFormPanel.panels.set(uri.toString(), this);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gan.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'configForm', panel.title);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === uri.toString() && e.contentChanges.length > 0)
          this.post({ type: 'form/didChangeDocument', ...this.read(e.document) });
      }),
    );
  }

  private document(): Thenable<vscode.TextDocument> {
    return vscode.workspace.openTextDocument(this.uri);
  }

  private read(document: vscode.TextDocument): { values: unknown; problems: { path: (string | number)[]; message: string }[]; derived: DerivedDefault[] } {
    const text = document.getText();
    const result = parseConfigText(text);
    const values: unknown = parseJsonc(text) ?? null;
    return {
      values,
      problems: result.ok ? [] : result.problems.map(({ path: p, message }) => ({ path: p, message })),
      // The optimizers', k's and the generator cost's defaults follow the cost: the schema's own would be wrong.
      derived: derivedDefaults(values),
    };
  }

  private onMessage(message: unknown): void {
    dispatchFormMessage(message, {
      ready: () => {
        this.ready = true;
        void this.document().then((document) =>
          this.post({ type: 'form/didLoad', fileName: path.basename(this.uri.fsPath), schema: configJsonSchema(), ...this.read(document) }),
        );
      },
      setValue: (fieldPath, value) => {
        this.editing = this.editing.then(() => this.applyValue(fieldPath, value)).catch(() => undefined);
      },
    });
  }

  private async applyValue(fieldPath: (string | number)[], value: unknown): Promise<void> {
    const document = await this.document();
    const edits = configTextEdits(document.getText(), fieldPath, value);
    if (edits.length === 0) return;
    // Saved only when the file had no unsaved changes of the user's (those stay theirs to save).
    const wasClean = !document.isDirty;
    const workspaceEdit = new vscode.WorkspaceEdit();
    for (const edit of edits) {
      const range = new vscode.Range(document.positionAt(edit.offset), document.positionAt(edit.offset + edit.length));
      workspaceEdit.replace(document.uri, range, edit.content);
    }
    if ((await vscode.workspace.applyEdit(workspaceEdit)) && wasClean) await document.save();
  }

  private post(message: HostToFormMessage): void {
    if (this.ready && !this.disposed) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    this.disposed = true;
    ConfigFormPanel.panels.delete(this.uri.toString());
    vscode.Disposable.from(...this.disposables).dispose();
    this.panel.dispose();
  }
}
