/** The HTML shell of a webview: a strict CSP with a fresh nonce, and only our bundled files. */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { webviewDocument } from './webviewDocument';

/** The folder a webview may load from: the built webview bundles, nothing else. */
export function webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, bundle: string, title: string): string {
  const root = webviewRoot(extensionUri);
  return webviewDocument({
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, `${bundle}.js`)).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, `${bundle}.css`)).toString(),
    title,
    // 128 bits, fresh for every render.
    nonce: randomBytes(16).toString('base64'),
  });
}
