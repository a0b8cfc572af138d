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

/**
 * Options of every panel and view: scripts on, no command links, only our bundles, and kept while
 * hidden (in the Chromium of our tests, 156, a webview that VS Code re-creates on re-show stays
 * empty; a window reload still re-creates them, and they then say `ready` and get a snapshot).
 */
export function webviewPanelOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: [webviewRoot(extensionUri)], retainContextWhenHidden: true };
}
