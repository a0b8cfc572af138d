import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { webviewDocument } from '../../src/extension/webviewDocument';

const render = (title = 'GAN run') =>
  webviewDocument({
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/monitor.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/monitor.css',
    title,
    nonce: randomBytes(16).toString('base64'),
  });

describe('webview document', () => {
  it("has default-src 'none', a nonce-only script-src and no unsafe-eval", () => {
    const html = render();
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]{24}'$/);
    assert.doesNotMatch(html, /unsafe-eval/);
    assert.doesNotMatch(html, /command:/);
    assert.doesNotMatch(html, /<script(?![^>]*nonce=)/, 'every script carries the nonce');
    assert.equal((html.match(/<script/g) ?? []).length, 1);
  });

  it('uses a fresh 128-bit nonce for every render', () => {
    const nonceOf = (html: string) => /nonce="([^"]+)"/.exec(html)?.[1] ?? '';
    const nonces = new Set(Array.from({ length: 50 }, () => nonceOf(render())));
    assert.equal(nonces.size, 50);
    for (const n of nonces) assert.equal(Buffer.from(n, 'base64').length, 16);
  });

  it('escapes the title', () => {
    const html = render('<img src=x onerror=alert(1)>');
    assert.match(html, /<title>&lt;img src=x onerror=alert\(1\)&gt;<\/title>/);
  });
});
