/** Colours from the VS Code theme (CSS variables VS Code sets on the webview), read at draw time. */
import type { ChartColor } from '../../src/protocol/optionalMetrics';

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
  /** VS Code's chart colours by name (`--vscode-charts-*`), for series named in a table. */
  charts: Record<ChartColor, string>;
}

/** The Default Dark/Light Modern values of `--vscode-charts-*`, for a host that does not set one. */
const CHART_FALLBACKS: Record<ChartColor, [dark: string, light: string]> = {
  red: ['#f14c4c', '#e51400'],
  blue: ['#3794ff', '#1a85ff'],
  green: ['#89d185', '#388a34'],
  orange: ['#d18616', '#d18616'],
  purple: ['#b180d7', '#652d90'],
  yellow: ['#cca700', '#bf8803'],
};

function cssVariable(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

export function isDark(): boolean {
  return document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
}

export function chartTheme(): ChartTheme {
  const dark = isDark();
  const charts = Object.fromEntries(
    Object.entries(CHART_FALLBACKS).map(([name, [onDark, onLight]]) => [name, cssVariable(`--vscode-charts-${name}`, dark ? onDark : onLight)]),
  ) as Record<ChartColor, string>;
  return {
    foreground: cssVariable('--vscode-foreground', dark ? '#cccccc' : '#3b3b3b'),
    muted: cssVariable('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    grid: dark ? 'rgba(255,255,255,0.08)' : 'rgba(0,0,0,0.08)',
    background: cssVariable('--vscode-editor-background', dark ? '#1f1f1f' : '#ffffff'),
    // D in red, G in blue: the usual convention of GAN loss plots.
    dColor: charts.red,
    gColor: charts.blue,
    realColor: charts.green,
    fakeColor: charts.orange,
    reference: cssVariable('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    font: `11px ${cssVariable('--vscode-font-family', 'sans-serif')}`,
    charts,
  };
}

/** `#rrggbb` (or any CSS colour the canvas understands) at an opacity. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  const n = parseInt(hex[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
