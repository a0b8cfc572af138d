/** Colours from the VS Code theme (CSS variables VS Code sets on the webview), read at draw time. */

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  dColor: string;
  gColor: string;
  realColor: string;
  fakeColor: string;
  reference: string;
  font: string;
}

function cssVariable(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

export function isDark(): boolean {
  return document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
}

export function chartTheme(): ChartTheme {
  const dark = isDark();
  return {
    foreground: cssVariable('--vscode-foreground', dark ? '#cccccc' : '#3b3b3b'),
    muted: cssVariable('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    grid: dark ? 'rgba(255,255,255,0.08)' : 'rgba(0,0,0,0.08)',
    background: cssVariable('--vscode-editor-background', dark ? '#1f1f1f' : '#ffffff'),
    // D in red, G in blue: the usual convention of GAN loss plots.
    dColor: cssVariable('--vscode-charts-red', '#f14c4c'),
    gColor: cssVariable('--vscode-charts-blue', '#3794ff'),
    realColor: cssVariable('--vscode-charts-green', '#89d185'),
    fakeColor: cssVariable('--vscode-charts-orange', '#d18616'),
    reference: cssVariable('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    font: `11px ${cssVariable('--vscode-font-family', 'sans-serif')}`,
  };
}

/** `#rrggbb` (or any CSS colour the canvas understands) at an opacity. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  const n = parseInt(hex[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
