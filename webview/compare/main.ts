/**
 * The compare tab (browser side): any number of runs overlaid on one chart with EMA smoothing, one
 * step scrubber that shows every run's samples at the same step, and a sortable table with the
 * config fields that differ. Forks are drawn from their parent's curve at the step they left it.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import '../monitor/monitor.css';
import './compare.css';
import type { CompareRun, CompareSamples, CompareToHostMessage, ComparePanelState, HostToCompareMessage } from '../../src/protocol/compareMessages';
import { presentMetrics, type OptionalMetricKey } from '../../src/protocol/optionalMetrics';
import type { MetricsRecord } from '../../src/protocol/runDirectory';
import { drawScatter } from '../monitor/canvasCharts';
import { chartTheme } from '../monitor/theme';
import { smooth } from './smoothing';

interface VsCodeApi {
  postMessage(message: CompareToHostMessage): void;
  setState(state: ComparePanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

type MetricKey = 'dLoss' | 'gLoss' | 'dReal' | 'dFake' | 'stepsPerSecond' | OptionalMetricKey;
interface MetricChoice {
  key: MetricKey;
  label: string;
  /** The y axis's label (short). */
  axis: string;
}
const CORE_METRICS: MetricChoice[] = [
  { key: 'dReal', label: 'mean D(x)', axis: 'mean D(x)' },
  { key: 'dFake', label: 'mean D(G(z))', axis: 'mean D(G(z))' },
  { key: 'stepsPerSecond', label: 'steps/s', axis: 'steps/s' },
  { key: 'gLoss', label: 'G loss', axis: 'G loss' },
  { key: 'dLoss', label: 'D loss', axis: 'D loss' },
];

/** The chooser's metrics: the ones every run has, then the optional ones (by cost) that any compared run wrote. */
function metricChoices(): MetricChoice[] {
  const optional = presentMetrics(state.runs.flatMap((run) => run.metrics));
  return [...CORE_METRICS, ...optional.map((m): MetricChoice => ({ key: m.key, label: m.label, axis: m.legend }))];
}

/** A record's value of a metric, or null (absent: a cost that does not write it; NaN arrives as null). */
function valueOf(record: MetricsRecord, key: MetricKey): number | null {
  const value: unknown = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

const state: {
  runs: CompareRun[];
  realPoints: number[][] | null;
  metric: MetricKey;
  smoothing: number;
  scrubStep: number;
  samples: Map<number, CompareSamples>;
  sort: { column: string; descending: boolean };
  baseline: number;
} = {
  runs: [],
  realPoints: null,
  metric: 'dReal',
  smoothing: 0.6,
  scrubStep: 0,
  samples: new Map(),
  sort: { column: '', descending: false },
  baseline: 0,
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Run colours: VS Code's chart colours first, then evenly spread hues (no cap on runs). */
function runColor(index: number): string {
  const named = [
    '--vscode-charts-blue',
    '--vscode-charts-red',
    '--vscode-charts-green',
    '--vscode-charts-orange',
    '--vscode-charts-purple',
    '--vscode-charts-yellow',
  ];
  if (index < named.length) {
    const value = getComputedStyle(document.body).getPropertyValue(named[index]).trim();
    if (value) return value;
  }
  return `hsl(${Math.round((index * 137.508) % 360)}, 65%, 55%)`;
}

// ---- DOM -------------------------------------------------------------------------------------

const root = document.getElementById('root') ?? document.body;
const title = element('h1', 'run-name', 'Compare runs');
const controls = element('div', 'compare-controls');
const metricSelect = element('select');
metricSelect.id = 'metric';

/** Offers the metrics of the runs shown; a chosen metric no run has any more falls back to mean D(x). */
function renderMetricChooser(): void {
  const choices = metricChoices();
  const keys = choices.map((c) => c.key).join(',');
  if (metricSelect.dataset.keys !== keys) {
    metricSelect.replaceChildren(...choices.map((m) => new Option(m.label, m.key)));
    metricSelect.dataset.keys = keys;
  }
  if (!choices.some((c) => c.key === state.metric)) state.metric = 'dReal';
  metricSelect.value = state.metric;
}
renderMetricChooser();
const smoothingInput = element('input');
smoothingInput.type = 'range';
smoothingInput.id = 'smoothing';
smoothingInput.min = '0';
smoothingInput.max = '0.99';
smoothingInput.step = '0.01';
smoothingInput.value = String(state.smoothing);
const smoothingValue = element('span', 'value', state.smoothing.toFixed(2));
const metricLabel = element('label', undefined, 'Third chart ');
metricLabel.append(metricSelect);
const smoothingLabel = element('label', undefined, 'Smoothing (EMA) ');
smoothingLabel.append(smoothingInput, smoothingValue);
controls.append(metricLabel, smoothingLabel);

/** The charts: D loss and G loss always, and one chosen metric; their cursors move together. */
const chartsRow = element('div', 'charts-row');
chartsRow.id = 'compare-chart';
function chartCard(id: string, heading: string): { section: HTMLElement; body: HTMLElement; heading: HTMLElement } {
  const section = element('section', 'card');
  const header = element('header', 'card-header');
  const h2 = element('h2', undefined, heading);
  header.append(h2);
  const body = element('div', 'card-body');
  body.id = id;
  section.append(header, body);
  chartsRow.append(section);
  return { section, body, heading: h2 };
}

const scrubCard = element('section', 'card');
const scrubHeader = element('header', 'card-header');
scrubHeader.append(element('h2', undefined, 'Samples at a step'), element('span', 'card-subtitle', 'each run shows its newest samples at or before the step'));
const scrubRow = element('div', 'scrub-row');
const scrubInput = element('input');
scrubInput.type = 'range';
scrubInput.id = 'scrubber';
scrubInput.min = '0';
scrubInput.step = '1';
const scrubLabel = element('span', 'value');
scrubLabel.id = 'scrub-step';
scrubRow.append(scrubInput, scrubLabel);
const samplesGrid = element('div', 'samples-grid');
samplesGrid.id = 'samples';
scrubCard.append(scrubHeader, scrubRow, samplesGrid);

const tableCard = element('section', 'card table-card');
const table = element('table', 'runs-table');
table.id = 'runs-table';
tableCard.append(table);

root.append(title, controls, chartsRow, tableCard, scrubCard);

// ---- chart -----------------------------------------------------------------------------------

/** A run's series, starting at its parent's value at the fork step, so a fork is drawn as a branch. */
function seriesOf(index: number): MetricsRecord[] {
  const run = state.runs[index];
  if (run.parentIndex === null || run.parentStep === null) return run.metrics;
  const parent = state.runs[run.parentIndex];
  const at = [...parent.metrics].reverse().find((r) => r.step <= (run.parentStep ?? 0));
  return at ? [{ ...at, step: run.parentStep }, ...run.metrics] : run.metrics;
}

/** One uPlot chart of one metric over every run. */
class RunsChart {
  private plot: uPlot | null = null;

  constructor(
    private readonly card: { body: HTMLElement; heading: HTMLElement },
    private readonly metric: () => MetricKey,
  ) {
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: 260 })).observe(card.body);
  }

  private width(): number {
    return Math.max(280, this.card.body.clientWidth);
  }

  private data(): uPlot.AlignedData {
    const key = this.metric();
    const steps = new Set<number>();
    const perRun = state.runs.map((_, i) => seriesOf(i));
    for (const records of perRun) for (const r of records) steps.add(r.step);
    const xs = [...steps].sort((a, b) => a - b);
    const position = new Map(xs.map((x, i) => [x, i]));
    const columns = perRun.map((records) => {
      const smoothed = smooth(
        records.map((r) => valueOf(r, key)),
        state.smoothing,
      );
      const column: (number | null)[] = new Array<number | null>(xs.length).fill(null);
      records.forEach((r, i) => (column[position.get(r.step) ?? 0] = smoothed[i]));
      return column;
    });
    this.card.body.dataset.seriesCount = String(columns.length);
    this.card.body.dataset.pointCount = String(xs.length);
    return [xs, ...columns] as uPlot.AlignedData;
  }

  draw(): void {
    this.plot?.destroy();
    this.plot = null;
    const choice = [...CORE_METRICS, ...metricChoices()].find((m) => m.key === this.metric());
    const label = choice?.label ?? '';
    this.card.heading.textContent = label;
    if (state.runs.length === 0) return;
    const theme = chartTheme();
    const axis = (text: string): uPlot.Axis => ({
      label: text,
      stroke: theme.foreground,
      labelFont: theme.font,
      font: theme.font,
      grid: { stroke: theme.grid, width: 1 },
      ticks: { stroke: theme.grid, width: 1 },
    });
    const options: uPlot.Options = {
      width: this.width(),
      height: 260,
      scales: { x: { time: false } },
      axes: [axis('step'), { ...axis(choice?.axis ?? label), size: 56 }],
      series: [
        { label: 'step' },
        ...state.runs.map((run, i) => ({
          label: run.runId,
          stroke: runColor(i),
          width: 1.5,
          spanGaps: true,
          value: (_u: uPlot, v: number | null) => (v == null ? '--' : v.toPrecision(4)),
        })),
      ],
      // The table's swatches name the runs; hover values show in the table's colours here.
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, sync: { key: 'compare-runs' } },
      hooks: {
        // The scrubbed step, as a vertical line across all runs.
        draw: [
          (u) => {
            const x = Math.round(u.valToPos(state.scrubStep, 'x', true));
            const { ctx } = u;
            ctx.save();
            ctx.strokeStyle = theme.reference;
            ctx.setLineDash([4, 4]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.restore();
          },
        ],
        // Values under the cursor, per run, in the table (one place for every chart).
        setCursor: [(u) => showCursorValues(u.cursor.idx ?? null, u.data[0])],
      },
    };
    this.plot = new uPlot(options, this.data(), this.card.body);
    chartsRow.dataset.seriesCount = String(state.runs.length);
  }

  update(): void {
    if (!this.plot || this.plot.series.length !== state.runs.length + 1) this.draw();
    else this.plot.setData(this.data());
  }

  redraw(): void {
    this.plot?.redraw(false);
  }
}

const charts = [
  new RunsChart(chartCard('chart-dLoss', 'D loss'), () => 'dLoss'),
  new RunsChart(chartCard('chart-gLoss', 'G loss'), () => 'gLoss'),
  new RunsChart(chartCard('chart-metric', ''), () => state.metric),
];
const drawCharts = () => charts.forEach((c) => c.draw());
const updateCharts = () => charts.forEach((c) => c.update());

/** The step under the cursor and each run's value there, in the table's "at step" column. */
function showCursorValues(index: number | null, xs: uPlot.AlignedData[0]): void {
  const step = index === null ? null : (xs[index] as number | undefined);
  for (const cell of table.querySelectorAll<HTMLElement>('td.cursor-value')) {
    const run = state.runs[Number(cell.dataset.index)];
    const record = step === null || step === undefined ? undefined : seriesOf(Number(cell.dataset.index)).find((r) => r.step === step);
    cell.textContent = record ? `D ${fmt(record.dLoss)} · G ${fmt(record.gLoss)}` : run && step !== null && step !== undefined ? '--' : '';
  }
  const header = table.querySelector<HTMLElement>('th.cursor-value');
  if (header) header.textContent = step === null || step === undefined ? 'At cursor' : `At step ${step}`;
}

// ---- table -----------------------------------------------------------------------------------

const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '--' : v.toPrecision(4));

/** Config fields whose values differ between the runs (the ones worth a column). */
function differingParams(): string[] {
  const keys = new Set<string>();
  for (const run of state.runs) for (const key of Object.keys(run.params)) keys.add(key);
  return [...keys].filter((key) => new Set(state.runs.map((r) => String(r.params[key]))).size > 1).sort();
}

interface Column {
  id: string;
  label: string;
  value(run: CompareRun): string | number;
  numeric: boolean;
}

function columns(): Column[] {
  const last = (run: CompareRun) => run.metrics[run.metrics.length - 1];
  const metric = (id: MetricKey, label: string): Column => ({ id, label, numeric: true, value: (r) => last(r)?.[id] ?? NaN });
  return [
    { id: 'run', label: 'Run', numeric: false, value: (r) => r.runId },
    { id: 'status', label: 'Status', numeric: false, value: (r) => r.status },
    { id: 'step', label: 'Step', numeric: true, value: (r) => r.step },
    metric('dLoss', 'D loss'),
    metric('gLoss', 'G loss'),
    metric('dReal', 'D(x)'),
    metric('dFake', 'D(G(z))'),
    ...differingParams().map((key): Column => ({
      id: `param:${key}`,
      label: key,
      numeric: false,
      value: (r) => (r.params[key] === undefined ? '' : String(r.params[key])),
    })),
  ];
}

function renderTable(): void {
  const cols = columns();
  const head = element('thead');
  const headRow = element('tr');
  headRow.append(element('th', undefined, ''), element('th', undefined, 'Baseline'));
  for (const col of cols) {
    const th = element('th', 'sortable', col.label);
    th.dataset.column = col.id;
    th.title = 'Sort';
    if (state.sort.column === col.id) th.textContent += state.sort.descending ? ' ▼' : ' ▲';
    th.addEventListener('click', () => {
      state.sort = { column: col.id, descending: state.sort.column === col.id ? !state.sort.descending : false };
      renderTable();
    });
    headRow.append(th);
  }
  headRow.append(element('th', 'cursor-value', 'At cursor'), element('th', undefined, ''));
  head.append(headRow);

  const order = state.runs.map((_, i) => i);
  const sortColumn = cols.find((c) => c.id === state.sort.column);
  if (sortColumn) {
    order.sort((a, b) => {
      const x = sortColumn.value(state.runs[a]);
      const y = sortColumn.value(state.runs[b]);
      const cmp =
        typeof x === 'number' && typeof y === 'number'
          ? Number.isNaN(x)
            ? 1
            : Number.isNaN(y)
              ? -1
              : x - y
          : String(x).localeCompare(String(y), undefined, { numeric: true });
      return state.sort.descending ? -cmp : cmp;
    });
  }
  const body = element('tbody');
  for (const index of order) {
    const run = state.runs[index];
    const row = element('tr');
    row.dataset.run = run.runId;
    const swatch = element('span', 'run-swatch');
    swatch.style.background = runColor(index);
    const swatchCell = element('td');
    swatchCell.append(swatch);
    const baseline = element('input');
    baseline.type = 'radio';
    baseline.name = 'baseline';
    baseline.checked = state.baseline === index;
    baseline.title = 'Compare configs against this run';
    baseline.addEventListener('change', () => {
      state.baseline = index;
      renderTable();
    });
    const baselineCell = element('td');
    baselineCell.append(baseline);
    row.append(swatchCell, baselineCell);
    for (const col of cols) {
      const value = col.value(run);
      const cell = element('td', col.numeric ? 'numeric' : undefined, typeof value === 'number' ? (col.id === 'step' ? String(value) : fmt(value)) : value);
      if (col.id === 'run' && run.parentId) cell.title = `forked from ${run.parentId} at step ${run.parentStep ?? '?'}`;
      if (col.id === 'run' && run.parentId) cell.append(element('span', 'fork-note', ` fork of …${run.parentId.slice(-4)} @${run.parentStep ?? '?'}`));
      row.append(cell);
    }
    const cursorCell = element('td', 'cursor-value');
    cursorCell.dataset.index = String(index);
    row.append(cursorCell);
    const actions = element('td', 'actions');
    const monitor = element('button', undefined, 'Monitor');
    monitor.addEventListener('click', () => vscode.postMessage({ type: 'compare/openMonitor', runIndex: index }));
    actions.append(monitor);
    if (index !== state.baseline) {
      const diff = element('button', 'diff', 'Diff config');
      diff.title = `Open the config difference against ${state.runs[state.baseline]?.runId ?? 'the baseline'}`;
      diff.addEventListener('click', () => vscode.postMessage({ type: 'compare/diffConfigs', baseIndex: state.baseline, otherIndex: index }));
      actions.append(diff);
    }
    row.append(actions);
    body.append(row);
  }
  table.replaceChildren(head, body);
}

// ---- scrubber and samples ----------------------------------------------------------------------

function maxStep(): number {
  return Math.max(0, ...state.runs.map((r) => r.step));
}

let requestTimer: number | undefined;
function requestSamples(): void {
  window.clearTimeout(requestTimer);
  // The slider fires on every pixel; ask for the files once it rests.
  requestTimer = window.setTimeout(() => vscode.postMessage({ type: 'compare/requestSamples', step: state.scrubStep }), 120);
}

function renderScrubber(): void {
  scrubInput.max = String(maxStep());
  scrubInput.value = String(state.scrubStep);
  scrubLabel.textContent = `step ${state.scrubStep.toLocaleString('en-US')}`;
}

function renderSamples(): void {
  const cards = state.runs.map((run, index) => {
    const card = element('figure', 'sample-card');
    card.dataset.run = run.runId;
    const caption = element('figcaption');
    const swatch = element('span', 'run-swatch');
    swatch.style.background = runColor(index);
    const entry = state.samples.get(index);
    caption.append(
      swatch,
      document.createTextNode(` ${run.runId}`),
      element('span', 'card-subtitle', entry?.step !== null && entry ? ` at step ${entry.step}` : ' no samples yet'),
    );
    card.dataset.step = entry?.step === null || !entry ? '' : String(entry.step);
    const canvas = element('canvas', 'canvas-chart square');
    card.append(caption, canvas);
    return { card, canvas, entry };
  });
  samplesGrid.replaceChildren(...cards.map((c) => c.card));
  for (const { canvas, entry, card } of cards) {
    if (entry?.image?.startsWith('data:image/png;base64,')) {
      const img = element('img', 'sample-image');
      img.src = entry.image;
      img.alt = `samples at step ${entry.step ?? '?'}`;
      canvas.replaceWith(img);
    } else if (state.runs[0]?.dataDimension === 2 || entry?.samples?.points[0]?.length === 2) {
      drawScatter(canvas, { real: state.realPoints, generated: entry?.samples?.points ?? null });
    } else {
      canvas.remove();
      card.append(element('div', 'empty', 'samples of this data are not drawn as a scatter'));
    }
  }
}

// ---- messages ----------------------------------------------------------------------------------

metricSelect.addEventListener('change', () => {
  state.metric = metricSelect.value as MetricKey;
  charts[2].draw();
});
smoothingInput.addEventListener('input', () => {
  state.smoothing = Number(smoothingInput.value);
  smoothingValue.textContent = state.smoothing.toFixed(2);
  updateCharts();
});
scrubInput.addEventListener('input', () => {
  state.scrubStep = Number(scrubInput.value);
  renderScrubber();
  charts.forEach((c) => c.redraw());
  requestSamples();
});

window.addEventListener('message', (event: MessageEvent<HostToCompareMessage>) => {
  const message = event.data;
  if (!message || typeof message !== 'object') return;
  switch (message.type) {
    case 'compare/didLoad':
      vscode.setState(message.state);
      state.runs = message.runs;
      state.realPoints = message.realPoints;
      state.baseline = Math.min(state.baseline, Math.max(0, message.runs.length - 1));
      title.textContent = `Compare ${message.runs.length} run${message.runs.length === 1 ? '' : 's'}${message.runs[0] ? ` of ${[...new Set(message.runs.map((r) => r.name))].join(', ')}` : ''}`;
      if (state.scrubStep === 0 || state.scrubStep > maxStep()) state.scrubStep = maxStep();
      renderMetricChooser();
      renderTable();
      drawCharts();
      renderScrubber();
      renderSamples();
      requestSamples();
      break;
    case 'compare/didUpdateRun':
      if (message.runIndex < 0 || message.runIndex >= state.runs.length) return;
      state.runs[message.runIndex] = message.run;
      {
        // A run that starts writing an optional metric adds it to the chooser.
        const shown = state.metric;
        renderMetricChooser();
        if (state.metric !== shown) charts[2].draw();
      }
      updateCharts();
      renderTable();
      renderScrubber();
      break;
    case 'compare/didLoadSamples':
      if (message.step !== state.scrubStep) return;
      state.samples = new Map(message.samples.map((s) => [s.runIndex, s]));
      samplesGrid.dataset.step = String(message.step);
      renderSamples();
      break;
  }
});

// VS Code swaps the body's theme class when the colour theme changes: redraw in the new colours.
new MutationObserver(() => {
  drawCharts();
  renderTable();
  renderSamples();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

vscode.postMessage({ type: 'compare/ready' });
