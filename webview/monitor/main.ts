/**
 * The run monitor panel (browser side). It builds its DOM once, says `monitor/ready`, and draws
 * whatever the host sends; a `monitor/didLoad` snapshot replaces everything (it comes again after
 * the panel is re-shown or the window reloads). Data is only ever put in the page as text.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './monitor.css';
import type { CostType } from '../../src/protocol/config';
import type { HostToMonitorMessage, MetricsHistory, MonitorPanelState, MonitorRunSummary, MonitorToHostMessage } from '../../src/protocol/monitorMessages';
import { OPTIONAL_METRICS, optionalValue, type MetricCard, type OptionalMetricKey, type OptionalMetricRow } from '../../src/protocol/optionalMetrics';
import type { HealthAlert, HistogramRecord, ImageSamples, MetricsRecord, PointSamples } from '../../src/protocol/runDirectory';
import { alertView } from '../../src/protocol/healthAlerts';
import { drawHistogram } from './canvasCharts';
import { drawLaboratory, LaboratoryControls, surfaceAt } from './laboratory';
import { element } from './dom';
import { SeriesStore, type ChartColumns } from './seriesStore';
import { chartTheme, type ChartTheme } from './theme';

interface VsCodeApi {
  postMessage(message: MonitorToHostMessage): void;
  setState(state: MonitorPanelState): void;
  getState(): MonitorPanelState | undefined;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

/** The metric series every record has, by step (Float64Array columns, decimated for drawing). */
type Series = SeriesStore<'dLoss' | 'gLoss' | 'dReal' | 'dFake'>;

type OptionalMetric = OptionalMetricRow;

/**
 * An optional card's columns: only the steps whose record carries at least one of its metrics
 * (records without any of them add nothing there), one column per metric (`values.has(key)`:
 * some record had it).
 */
type CardSeries = SeriesStore<OptionalMetricKey>;

const emptyCardSeries = (): Record<MetricCard, CardSeries> => ({
  critic: new SeriesStore(),
  gradient: new SeriesStore(),
  quality: new SeriesStore(),
  divergence: new SeriesStore(),
  controls: new SeriesStore(),
});

const state: {
  run: MonitorRunSummary | null;
  /** The run's cost (from the snapshot): what D(x) and D(G(z)) mean. */
  cost: CostType | null;
  series: Series;
  optional: Record<MetricCard, CardSeries>;
  lastRecord: MetricsRecord | null;
  /** What the newest evaluation measured its features on (the quality card says so). */
  lastEvaluationFeatures: MetricsRecord['evaluationFeatures'] | null;
  /** Points in the live laboratory frames, once they come (null: none yet). */
  livePoints: number | null;
  histogram: HistogramRecord | null;
  samples: PointSamples | null;
  realPoints: number[][] | null;
  /** Image GANs: steps with a sample grid, the newest grid, the one shown and the real grid. */
  imageSteps: number[];
  newestImage: ImageSamples | null;
  shownImage: ImageSamples | null;
  realImage: string | null;
  /** The slider sits on the newest grid and moves with new ones. */
  followNewest: boolean;
  /** The older step the slider was moved to (its grid may still be loading). */
  selectedStep: number | null;
} = {
  run: null,
  cost: null,
  series: new SeriesStore(),
  optional: emptyCardSeries(),
  lastRecord: null,
  lastEvaluationFeatures: null,
  livePoints: null,
  histogram: null,
  samples: null,
  realPoints: null,
  imageSteps: [],
  newestImage: null,
  shownImage: null,
  realImage: null,
  followNewest: true,
  selectedStep: null,
};

function card(title: string, id: string, subtitle: string): { section: HTMLElement; body: HTMLElement; note: HTMLElement; empty: HTMLElement } {
  const section = element('section', 'card');
  section.id = `${id}-card`;
  const header = element('header', 'card-header');
  header.append(element('h2', undefined, title), element('span', 'card-subtitle', subtitle));
  const body = element('div', 'card-body');
  body.id = id;
  const empty = element('div', 'empty', 'Waiting for the first metrics…');
  const note = element('div', 'card-note');
  section.append(header, body, note);
  body.append(empty);
  return { section, body, note, empty };
}

// ---- DOM -------------------------------------------------------------------------------------

const root = document.getElementById('root') ?? document.body;
const top = element('header', 'top');
const title = element('h1', 'run-name', 'GAN run');
const badge = element('span', 'badge', '…');
badge.id = 'status';
const meta = element('span', 'meta');
const stopButton = element('button', 'stop', 'Stop');
stopButton.id = 'stop';
stopButton.title = 'Stop after the current step (a checkpoint is written)';
stopButton.disabled = true;
stopButton.addEventListener('click', () => {
  stopButton.disabled = true;
  stopButton.textContent = 'Stopping…';
  vscode.postMessage({ type: 'monitor/stopRun' });
});
const titleRow = element('div', 'title-row');
titleRow.append(title, badge, meta, stopButton);
const progressRow = element('div', 'progress-row');
const progress = element('div', 'progress');
const progressFill = element('div', 'progress-fill');
progress.append(progressFill);
const stepText = element('span', 'step');
stepText.id = 'step';
const rateText = element('span', 'rate');
rateText.id = 'rate';
progressRow.append(progress, stepText, rateText);
const errorText = element('div', 'error');
errorText.id = 'error';
errorText.hidden = true;
// Health alerts of the run, newest last, each with what users usually change.
const alertList = element('ul', 'alerts');
alertList.id = 'alerts';
alertList.hidden = true;
top.append(titleRow, progressRow, errorText, alertList);

const lossCard = card('Losses', 'loss-chart', 'J(D) and J(G) per logged step');
const equilibriumCard = card('Discriminator outputs', 'equilibrium-chart', '');
const histogramCard = card('Histogram of D(x) and D(G(z))', 'histogram-chart', '');
const scatterCard = card('2-D laboratory', 'scatter-chart', '');
const imageCard = card('Samples', 'sample-grid', 'G(z) from fixed noise');
imageCard.empty.textContent = 'Waiting for the first sample grid…';
const imagePair = element('div', 'image-pair');
const generatedFigure = element('figure', 'image-figure');
const generatedImage = element('img', 'sample-image');
generatedImage.id = 'generated-grid';
generatedImage.alt = 'Generated samples';
generatedFigure.append(generatedImage, element('figcaption', undefined, 'generated'));
const realFigure = element('figure', 'image-figure');
const realImage = element('img', 'sample-image');
realImage.id = 'real-grid';
realImage.alt = 'Real samples';
realFigure.append(realImage, element('figcaption', undefined, 'real data'));
imagePair.append(generatedFigure, realFigure);
const sliderRow = element('label', 'slider-row');
const stepSlider = element('input', 'step-slider');
stepSlider.type = 'range';
stepSlider.id = 'sample-step';
stepSlider.min = '0';
stepSlider.step = '1';
stepSlider.setAttribute('aria-label', 'Sample grid step');
const sliderText = element('span', 'slider-text');
sliderText.id = 'sample-step-text';
sliderRow.append(element('span', undefined, 'step'), stepSlider, sliderText);
imageCard.body.append(imagePair);
imageCard.note.append(sliderRow);
imageCard.section.hidden = true;
stepSlider.addEventListener('input', () => {
  const index = Number(stepSlider.value);
  const step = state.imageSteps[index];
  if (step === undefined) return;
  state.followNewest = index === state.imageSteps.length - 1;
  state.selectedStep = state.followNewest ? null : step;
  if (state.followNewest && state.newestImage) {
    state.shownImage = state.newestImage;
    renderImages();
  } else {
    sliderText.textContent = `${step.toLocaleString('en-US')} (loading…)`;
    vscode.postMessage({ type: 'monitor/requestImage', step });
  }
});
const histogramCanvas = element('canvas', 'canvas-chart');
const scatterCanvas = element('canvas', 'canvas-chart square');
histogramCard.body.append(histogramCanvas);
scatterCard.body.append(scatterCanvas);
const laboratoryControls = new LaboratoryControls(
  (action) => vscode.postMessage({ type: 'monitor/control', action }),
  () => renderScatter(),
);
scatterCard.section.insertBefore(laboratoryControls.element, scatterCard.body);
let laboratoryView: ReturnType<typeof drawLaboratory> = null;
// GAN Lab's readout: D at the point under the pointer.
scatterCanvas.addEventListener('mousemove', (event) => {
  const surface = state.samples?.laboratory?.surface;
  const rect = scatterCanvas.getBoundingClientRect();
  if (!laboratoryView || !surface) return;
  const [x, y] = [laboratoryView.fromX(event.clientX - rect.left), laboratoryView.fromY(event.clientY - rect.top)];
  const d = surfaceAt(surface, x, y);
  laboratoryControls.readout.textContent =
    d === null ? '' : `(${x.toFixed(2)}, ${y.toFixed(2)}): ${surface.kind === 'probability' ? `D = ${d.toFixed(3)}` : `D's score ${d.toPrecision(3)}`}`;
});
scatterCanvas.addEventListener('mouseleave', () => (laboratoryControls.readout.textContent = ''));
scatterCard.section.hidden = true;
const legend = (items: [string, string][]) => {
  const row = element('div', 'legend');
  for (const [label, cls] of items) {
    const item = element('span', 'legend-item');
    item.append(element('span', `swatch ${cls}`), document.createTextNode(label));
    row.append(item);
  }
  return row;
};
histogramCard.note.append(
  legend([
    ['D(x), real', 'real'],
    ['D(G(z)), generated', 'fake'],
  ]),
);
scatterCard.note.append(
  legend([
    ['real data; D says real', 'real'],
    ['G(z) from fixed noise; D says generated', 'fake'],
    ["arrows: −∇x J(G), where G's cost moves each sample", 'arrow'],
    ['manifold: G on a noise grid', 'manifold'],
  ]),
);

/** The costs whose D is a Wasserstein critic. */
const isWasserstein = (cost: CostType | null) => cost === 'wasserstein' || cost === 'wgan-gp';

/**
 * D(x) and D(G(z)) are σ(output) for the cross-entropy cost and rank fractions for the others
 * (MetricsRecord.dReal). Without a known cost, a run whose records carry raw critic means is not
 * cross-entropy; older runs (before the costs) are.
 */
function ranksDOutputs(): boolean {
  if (state.cost) return state.cost !== 'cross-entropy';
  return state.optional.critic.values.has('criticReal');
}

function equilibriumSubtitle(): string {
  return ranksDOutputs()
    ? 'rank fractions, not probabilities: D(x) is the share of the generated minibatch that D scores below x, and D(G(z)) = 1 − D(x); ' +
        '½ when D cannot tell them apart, as at the solution'
    : "mean D(x) and D(G(z)), D's probability σ(output) that its input is real; an optimal D at the solution gives ½";
}

interface OptionalCard {
  title(): string;
  subtitle(): string;
  /** Axis labels; metrics name their axis in OPTIONAL_METRICS. */
  axes: Record<OptionalMetric['axis'], string>;
}

/** The cards of the optional metrics (OPTIONAL_METRICS names each metric's card). */
const OPTIONAL_CARDS: Record<MetricCard, OptionalCard> = {
  critic: {
    title: () => (isWasserstein(state.cost) || state.optional.critic.values.has('wassersteinEstimate') ? 'Critic' : "D's raw scores"),
    subtitle: () => {
      const has = (key: OptionalMetric['key']) => state.optional.critic.values.has(key);
      if (state.cost === 'wgan-gp' || has('gradientPenalty'))
        return "E[D(x)] − E[D(G(z))], the critic's estimate of the Wasserstein-1 distance (→ 0 as G matches the data); the gradient penalty; raw means on the right axis";
      if (isWasserstein(state.cost) || has('wassersteinEstimate'))
        return "E[D(x)] − E[D(G(z))], the clipped critic's estimate of the Wasserstein-1 distance up to a constant factor; raw means on the right axis";
      return "mean raw D(x) and D(G(z)): D's score, not a probability";
    },
    axes: { left: 'W₁ estimate, penalty', right: 'raw score' },
  },
  gradient: {
    title: () => "G's gradient",
    subtitle: () => "‖∇θg J(G)‖₂ of G's update: near 0 while D(G(z)) is near 0, G is no longer learning (D wins)",
    axes: { left: 'norm', right: '' },
  },
  quality: {
    title: () => 'Sample quality',
    subtitle: () => {
      const features = state.lastEvaluationFeatures;
      if (state.optional.quality.values.has('modesCovered'))
        return 'modes covered (right) and high-quality samples (PacGAN protocol), precision, recall, density and coverage, on a fixed evaluation sample of G';
      const on =
        features === 'mnist-classifier' ? "on the MNIST classifier's features" : features === 'pixels' ? 'on raw pixels (no classifier for this data)' : '';
      return `precision and recall (k = 3), density and coverage (k = 5) ${on}; classes covered on the right`;
    },
    axes: { left: 'fraction', right: 'count' },
  },
  divergence: {
    title: () => 'Distance to the data',
    subtitle: () =>
      state.optional.divergence.values.has('gridKl')
        ? 'KL and JS of the real and generated 2-D histograms on a grid, and the reverse KL of the mode histogram (→ 0 as G matches the data)'
        : 'class-histogram KL (left); Fréchet distance and the classifier score (right)',
    axes: { left: 'nats', right: 'FD, score' },
  },
  controls: {
    title: () => 'Training controls',
    subtitle: () => 'learning rates in force (schedule and live changes) and k, as recorded in metrics.jsonl',
    axes: { left: 'learning rate', right: 'k' },
  },
};

const optionalCards = Object.fromEntries(
  (Object.keys(OPTIONAL_CARDS) as MetricCard[]).map((id) => {
    const made = card(OPTIONAL_CARDS[id].title(), `${id}-chart`, '');
    made.section.hidden = true;
    return [id, made];
  }),
) as Record<MetricCard, ReturnType<typeof card>>;

const grid = element('main', 'grid');
// The pictures of what G makes come first: the sample grid of an image GAN, the laboratory of a 2-D one.
grid.append(
  imageCard.section,
  scatterCard.section,
  lossCard.section,
  equilibriumCard.section,
  histogramCard.section,
  ...Object.values(optionalCards).map((c) => c.section),
);
root.append(top, grid);

// ---- uPlot line charts -----------------------------------------------------------------------

function lineOptions(theme: ChartTheme, width: number, height: number, yLabel: string, series: uPlot.Series[], yRange?: [number, number]): uPlot.Options {
  const axis = (label: string): uPlot.Axis => ({
    label,
    stroke: theme.foreground,
    labelFont: theme.font,
    font: theme.font,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1 },
  });
  return {
    width,
    height,
    scales: { x: { time: false }, y: yRange ? { range: yRange } : {} },
    axes: [axis('step'), { ...axis(yLabel), size: 56 }],
    series: [{ label: 'step' }, ...series],
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false } },
  };
}

/**
 * The step an alert's button marked (null: none): every line chart draws it as a vertical line, on
 * top of its series, while its x range holds it. The charts register here to be redrawn when it moves.
 */
let markedStep: number | null = null;
const markedPlots = new Set<uPlot>();

function drawStepMarker(u: uPlot): void {
  const step = markedStep;
  const [min, max] = [u.scales.x.min, u.scales.x.max];
  const shown = step !== null && min != null && max != null && step >= min && step <= max;
  u.root.dataset.markedStep = shown ? String(step) : '';
  if (!shown) return;
  const x = Math.round(u.valToPos(step, 'x', true));
  const { ctx, bbox } = u;
  ctx.save();
  ctx.strokeStyle = chartTheme().charts.orange;
  ctx.lineWidth = Math.max(1, window.devicePixelRatio || 1) * 1.5;
  ctx.setLineDash([6, 3]);
  ctx.beginPath();
  ctx.moveTo(x, bbox.top);
  ctx.lineTo(x, bbox.top + bbox.height);
  ctx.stroke();
  ctx.restore();
}

/** A line chart's options with the step marker's hooks added. */
function withStepMarker(options: uPlot.Options): uPlot.Options {
  const hooks = options.hooks ?? {};
  return {
    ...options,
    hooks: {
      ...hooks,
      init: [...(hooks.init ?? []), (u: uPlot) => void markedPlots.add(u)],
      draw: [...(hooks.draw ?? []), drawStepMarker],
      destroy: [...(hooks.destroy ?? []), (u: uPlot) => void markedPlots.delete(u)],
    },
  };
}

/** Marks `step` on every line chart (null clears the mark). */
function markStep(step: number | null): void {
  markedStep = step;
  for (const plot of markedPlots) plot.redraw(false, false);
}

class LineChart {
  private plot: uPlot | null = null;
  private builtLayout = '';
  private readonly observer: ResizeObserver;
  /** The steps the chart is zoomed to (a drag across it; a double click shows all again), or null. */
  private zoom: { min: number; max: number } | null = null;
  private settingZoom = false;

  constructor(
    private readonly host: HTMLElement,
    private readonly empty: HTMLElement,
    private readonly build: (theme: ChartTheme, width: number, height: number) => uPlot.Options,
    /** The store drawn (its record count and newest step). */
    private readonly store: () => Pick<SeriesStore, 'length' | 'lastX' | 'x'>,
    /** The columns to draw at a plot width (of a zoomed range): every record, or min/max per bucket of them. */
    private readonly columns: (width: number, range?: { min: number; max: number }) => ChartColumns,
    /** What the options are built from (the series shown): the plot is rebuilt when it changes. */
    private readonly layout: () => string = () => '',
  ) {
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(host);
  }

  /** The plot's size: the box less its legend (which wraps to more lines in a narrow card). */
  private size(plot: uPlot | null = this.plot): { width: number; height: number } {
    const legend = plot?.root.querySelector<HTMLElement>('.u-legend')?.offsetHeight ?? 34;
    return { width: Math.max(200, this.host.clientWidth), height: Math.max(120, this.host.clientHeight - legend - 4) };
  }

  private resize(): void {
    if (!this.plot) return;
    const width = this.plot.width;
    this.plot.setSize(this.size());
    // Decimated data follows the width.
    if (this.plot.width !== width) this.update();
  }

  /**
   * After uPlot has laid out a size (its legend's lines follow the width), fit the plot's height
   * to the legend it now has; this converges at once, as the width stays. (It runs during the
   * constructor too, before `this.plot` is set.)
   */
  private fitToLegend(u: uPlot): void {
    const { height } = this.size(u);
    // Not from inside uPlot's commit (it would drop the new size): right after it.
    if (Math.abs(height - u.height) > 1) queueMicrotask(() => u.setSize({ width: u.width, height }));
  }

  /** Redraws with the current data; creates the plot on first data. */
  update(): void {
    const store = this.store();
    const points = store.length;
    this.host.dataset.pointCount = String(points);
    this.host.dataset.lastStep = points ? String(store.lastX()) : '';
    this.empty.hidden = points > 0;
    if (points === 0) {
      this.plot?.destroy();
      this.plot = null;
      return;
    }
    const layout = this.layout();
    if (this.plot && layout !== this.builtLayout) {
      this.plot.destroy();
      this.plot = null;
    }
    if (!this.plot) this.zoom = null;
    const data = this.columns(this.plot ? this.plot.width : this.size().width, this.zoom ?? undefined);
    this.host.dataset.drawnPoints = String(data[0].length);
    if (!this.plot) {
      const { width, height } = this.size();
      this.builtLayout = layout;
      const options = this.build(chartTheme(), width, height);
      // A zoom redraws its range from the records (the whole run's columns are decimated); a
      // double click shows the whole run again (uPlot's own would fit the zoomed columns).
      const zoomed = (u: uPlot, key: string) => {
        if (key === 'x' && !this.settingZoom) this.onZoom(u);
      };
      const unzoom: uPlot.Cursor.MouseListenerFactory = () => () => {
        this.zoom = null;
        this.update();
        return null;
      };
      options.cursor = { ...options.cursor, bind: { ...options.cursor?.bind, dblclick: unzoom } };
      // Without a cursor over the chart, the legend shows the newest values rather than dashes:
      // uPlot resets it after every redraw that moves no cursor (new data, a resize).
      const newest = (u: uPlot) => {
        if (u.cursor.idx == null && u.data[0].length > 0) u.setLegend({ idx: u.data[0].length - 1 }, false);
      };
      const fit = (u: uPlot) => this.fitToLegend(u);
      options.hooks = {
        ...options.hooks,
        setLegend: [...(options.hooks?.setLegend ?? []), newest],
        ready: [...(options.hooks?.ready ?? []), fit],
        setSize: [...(options.hooks?.setSize ?? []), fit],
        setScale: [...(options.hooks?.setScale ?? []), zoomed],
      };
      this.plot = new uPlot(withStepMarker(options), data, this.host);
    } else if (this.zoom) {
      // New data keeps the zoom; y fits what is in it.
      this.settingZoom = true;
      this.plot.setData(data, false);
      this.plot.setScale('x', this.zoom);
      this.settingZoom = false;
    } else {
      this.plot.setData(data);
    }
    if (this.plot.cursor.idx == null) this.plot.setLegend({ idx: data[0].length - 1 });
  }

  /** A drag across the chart set its x scale: draw that range from the records. */
  private onZoom(u: uPlot): void {
    const { min, max } = u.scales.x;
    const store = this.store();
    if (min == null || max == null || store.length === 0) return;
    const whole = min <= store.x(0) && max >= (store.lastX() ?? max);
    if (whole && !this.zoom) return;
    this.zoom = whole ? null : { min, max };
    // Not from inside uPlot's scale change: right after it.
    queueMicrotask(() => this.update());
  }

  /** Rebuilds from scratch (a theme change). */
  rebuild(): void {
    this.plot?.destroy();
    this.plot = null;
    this.update();
  }
}

const lossChart = new LineChart(
  lossCard.body,
  lossCard.empty,
  (theme, w, h) =>
    lineOptions(theme, w, h, 'loss', [
      { label: 'D loss', stroke: theme.dColor, width: 1.5, value: (_u, v) => (v == null ? '--' : v.toPrecision(4)) },
      { label: 'G loss', stroke: theme.gColor, width: 1.5, value: (_u, v) => (v == null ? '--' : v.toPrecision(4)) },
    ]),
  () => state.series,
  (width, range) => state.series.columns(['dLoss', 'gLoss'], width, range),
);

const equilibriumChart = new LineChart(
  equilibriumCard.body,
  equilibriumCard.empty,
  (theme, w, h) =>
    lineOptions(
      theme,
      w,
      h,
      'D(·)',
      [
        { label: 'D(x)', stroke: theme.realColor, width: 1.5, value: (_u, v) => (v == null ? '--' : v.toFixed(3)) },
        { label: 'D(G(z))', stroke: theme.fakeColor, width: 1.5, value: (_u, v) => (v == null ? '--' : v.toFixed(3)) },
        { label: '½', stroke: theme.reference, width: 1, dash: [4, 4], value: () => '0.5' },
      ],
      [0, 1],
    ),
  () => state.series,
  (width, range) => {
    const [x, dReal, dFake] = state.series.columns(['dReal', 'dFake'], width, range);
    return [x, dReal, dFake, x.map(() => 0.5)];
  },
);

/** The metrics of an optional card that the run has written, in table order. */
function shownMetrics(id: MetricCard): OptionalMetric[] {
  return OPTIONAL_METRICS.filter((metric) => metric.card === id && state.optional[id].values.has(metric.key));
}

/** A chart of an optional card: one scale per axis its metrics use, the first on the left. */
/** A tick label: exponent form for small numbers, else up to 4 significant digits. */
function axisValue(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) < 1e-2) return value.toExponential(1).replace('.0e', 'e');
  return String(Number(value.toPrecision(4)));
}

function optionalOptions(id: MetricCard, theme: ChartTheme, width: number, height: number): uPlot.Options {
  const metrics = shownMetrics(id);
  const scales = [...new Set(metrics.map((m) => m.axis))];
  const axisStyle = {
    stroke: theme.foreground,
    labelFont: theme.font,
    font: theme.font,
    ticks: { stroke: theme.grid, width: 1 },
  };
  return {
    width,
    height,
    scales: { x: { time: false }, ...Object.fromEntries(scales.map((scale) => [scale, {}])) },
    axes: [
      { ...axisStyle, label: 'step', grid: { stroke: theme.grid, width: 1 } },
      ...scales.map((scale, i): uPlot.Axis => ({
        ...axisStyle,
        scale,
        label: OPTIONAL_CARDS[id].axes[scale],
        side: i === 0 ? 3 : 1,
        size: 60,
        // Learning rates are 1e-4-ish: uPlot's own labels would round them to 0.
        values: (_u, splits) => splits.map(axisValue),
        // One grid: the second axis's lines would not meet the first's.
        grid: { show: i === 0, stroke: theme.grid, width: 1 },
      })),
    ],
    series: [
      { label: 'step' },
      ...metrics.map((metric): uPlot.Series => ({
        label: metric.legend,
        scale: metric.axis,
        stroke: theme.charts[metric.color],
        width: 'dashed' in metric && metric.dashed ? 1.25 : 1.75,
        dash: 'dashed' in metric && metric.dashed ? [5, 3] : undefined,
        spanGaps: true,
        value: (_u, v) => (v == null ? '--' : v.toPrecision(metric.digits)),
      })),
    ],
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false } },
  };
}

const optionalCharts = Object.fromEntries(
  (Object.keys(OPTIONAL_CARDS) as MetricCard[]).map((id) => [
    id,
    new LineChart(
      optionalCards[id].body,
      optionalCards[id].empty,
      (theme, w, h) => optionalOptions(id, theme, w, h),
      () => state.optional[id],
      (width, range) =>
        state.optional[id].columns(
          shownMetrics(id).map((m) => m.key),
          width,
          range,
        ),
      () =>
        shownMetrics(id)
          .map((m) => m.key)
          .join(','),
    ),
  ]),
) as Record<MetricCard, LineChart>;

/** Redraws every line chart with its current data, and shows the optional cards that have any. */
function updateLineCharts(): void {
  // (Text is set only when it changes: this runs every frame that brings records, and a new text
  // node means a new layout.)
  const setText = (node: Element, text: string) => {
    if (node.textContent !== text) node.textContent = text;
  };
  lossChart.update();
  equilibriumChart.update();
  setText(equilibriumCard.section.querySelector('.card-subtitle')!, equilibriumSubtitle());
  for (const id of Object.keys(OPTIONAL_CARDS) as MetricCard[]) {
    const { section } = optionalCards[id];
    section.hidden = state.optional[id].length === 0;
    setText(section.querySelector('h2')!, OPTIONAL_CARDS[id].title());
    setText(section.querySelector('.card-subtitle')!, OPTIONAL_CARDS[id].subtitle());
    // Shown before it is drawn (a hidden card has no size); without data the chart is dropped.
    optionalCharts[id].update();
  }
}

// ---- rendering -------------------------------------------------------------------------------

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

/**
 * An alert of the list. Its step is a button: it marks the step on the line charts and, for image
 * runs, moves the sample slider to the grid nearest that step; pressed again, it clears the mark.
 */
function alertItem(alert: HealthAlert): HTMLLIElement {
  const item = element('li', 'alert');
  item.dataset.kind = alert.kind;
  const step = element('button', 'alert-step', `⚠ step ${alert.step.toLocaleString('en-US')}`);
  step.type = 'button';
  step.title = `Mark step ${alert.step.toLocaleString('en-US')} on the charts${state.imageSteps.length ? ' and show the sample grid nearest it' : ''}`;
  step.setAttribute('aria-label', `${alertView(alert.kind).title} at step ${alert.step}: mark it on the charts`);
  step.setAttribute('aria-pressed', String(markedStep === alert.step));
  step.addEventListener('click', () => {
    const marking = markedStep !== alert.step;
    markStep(marking ? alert.step : null);
    for (const button of alertList.querySelectorAll<HTMLButtonElement>('.alert-step')) button.setAttribute('aria-pressed', 'false');
    step.setAttribute('aria-pressed', String(marking));
    if (marking) showGridNear(alert.step);
  });
  item.append(step, document.createTextNode(': '), document.createTextNode(alert.message), element('span', 'advice', `Usually helps: ${alert.advice}.`));
  return item;
}

/** Image runs: the sample slider to the grid nearest `step` (as if moved there by hand). */
function showGridNear(step: number): void {
  const steps = state.imageSteps;
  if (steps.length === 0) return;
  let nearest = 0;
  steps.forEach((s, i) => {
    if (Math.abs(s - step) < Math.abs(steps[nearest] - step)) nearest = i;
  });
  if (stepSlider.value === String(nearest) && (state.shownImage?.step === steps[nearest] || state.selectedStep === steps[nearest])) return;
  stepSlider.value = String(nearest);
  stepSlider.dispatchEvent(new Event('input'));
}

function renderRun(): void {
  const run = state.run;
  if (!run) return;
  title.textContent = run.name;
  title.title = run.runId;
  badge.textContent = run.status;
  badge.className = `badge ${run.status}`;
  meta.textContent = `${run.runId} · ${run.backend ?? 'backend?'}${state.cost ? ` · ${state.cost}` : ''}`;
  const step = Math.max(run.step, state.lastRecord?.step ?? 0);
  stepText.textContent = `step ${step.toLocaleString('en-US')} / ${run.totalSteps.toLocaleString('en-US')}`;
  progressFill.style.width = `${run.totalSteps > 0 ? Math.min(100, (100 * step) / run.totalSteps) : 0}%`;
  const rate = state.lastRecord?.stepsPerSecond;
  if (run.status === 'running' && rate && rate > 0) {
    rateText.textContent = `${rate.toFixed(1)} steps/s · ETA ${formatDuration((run.totalSteps - step) / rate)}`;
  } else {
    rateText.textContent = rate ? `last rate ${rate.toFixed(1)} steps/s` : '';
  }
  const running = run.status === 'running';
  stopButton.hidden = !running;
  if (running && stopButton.textContent !== 'Stopping…') stopButton.disabled = false;
  if (!running) stopButton.disabled = true;
  const alerts = run.alerts ?? [];
  alertList.hidden = alerts.length === 0;
  alertList.replaceChildren(...alerts.map(alertItem));
  errorText.hidden = !run.error;
  errorText.textContent = run.error ? `Error: ${run.error}` : '';
  scatterCard.section.hidden = run.dataDimension !== 2;
}

function renderHistogram(): void {
  const h = state.histogram;
  histogramCard.empty.hidden = h !== null;
  histogramCard.body.dataset.step = h ? String(h.step) : '';
  histogramCard.section.querySelector('.card-subtitle')!.textContent = h ? `at step ${h.step.toLocaleString('en-US')}, over one minibatch` : '';
  drawHistogram(histogramCanvas, h, ranksDOutputs() ? 'D(·) as a rank fraction' : 'discriminator output D(·)');
}

function renderScatter(): void {
  if (state.run?.dataDimension !== 2) return;
  const hasData = Boolean(state.realPoints || state.samples);
  scatterCard.empty.hidden = hasData;
  scatterCard.body.dataset.step = state.samples ? String(state.samples.step) : '';
  const surface = state.samples?.laboratory?.surface;
  const surfaceText = surface
    ? surface.kind === 'probability'
      ? '; background: D(x), green where D says real, orange where it says generated, clear at ½'
      : "; background: the critic's score, green high, orange low"
    : '';
  scatterCard.section.querySelector('.card-subtitle')!.textContent = state.samples ? `step ${state.samples.step.toLocaleString('en-US')}${surfaceText}` : '';
  // While live frames come (G on the first points of the fixed noise), a written sample is drawn
  // with as many points, so the cloud does not thicken and thin with every file.
  let samples = state.samples;
  if (samples && !samples.live && state.livePoints !== null && state.run?.status === 'running' && samples.points.length > state.livePoints) {
    const n = state.livePoints;
    const lab = samples.laboratory;
    samples = {
      ...samples,
      points: samples.points.slice(0, n),
      ...(samples.labels ? { labels: samples.labels.slice(0, n) } : {}),
      ...(lab ? { laboratory: { ...lab, gradients: lab.gradients.slice(0, n) } } : {}),
    };
  }
  laboratoryView = drawLaboratory(scatterCanvas, { real: state.realPoints, samples }, laboratoryControls.layers);
}

function renderImages(): void {
  const hasImages = state.imageSteps.length > 0 || state.newestImage !== null;
  imageCard.section.hidden = !hasImages;
  if (!hasImages) return;
  const shown = state.shownImage;
  imageCard.empty.hidden = shown !== null;
  imagePair.hidden = shown === null;
  if (shown && generatedImage.src !== shown.image) generatedImage.src = shown.image;
  realFigure.hidden = !state.realImage;
  if (state.realImage && realImage.src !== state.realImage) realImage.src = state.realImage;
  imageCard.body.dataset.step = shown ? String(shown.step) : '';
  stepSlider.max = String(Math.max(0, state.imageSteps.length - 1));
  stepSlider.disabled = state.imageSteps.length < 2;
  // The slider stays where it was put while that step's grid loads, even as new grids arrive.
  const target = state.followNewest ? shown?.step : (state.selectedStep ?? shown?.step);
  const index = target === undefined ? -1 : state.imageSteps.indexOf(target);
  if (index >= 0) stepSlider.value = String(index);
  sliderText.textContent = shown
    ? `${shown.step.toLocaleString('en-US')} of ${(state.imageSteps[state.imageSteps.length - 1] ?? shown.step).toLocaleString('en-US')}`
    : '';
  imageCard.section.querySelector('.card-subtitle')!.textContent = shown
    ? `G(z) from fixed noise at step ${shown.step.toLocaleString('en-US')}${state.followNewest ? ' (newest)' : ''}`
    : 'G(z) from fixed noise';
}

/** Each card's metrics in table order, worked out once (appendRecords runs for every record). */
const CARD_METRICS = (Object.keys(OPTIONAL_CARDS) as MetricCard[]).map((id) => [id, OPTIONAL_METRICS.filter((m) => m.card === id)] as const);

function appendRecords(records: MetricsRecord[]): number {
  const s = state.series;
  let added = 0;
  for (const r of records) {
    // Records arrive live and again in snapshots; keep each step once, in order.
    const last = s.lastX();
    if (last !== undefined && r.step <= last) continue;
    // (A diverged NaN arrives as null: a gap in the line.)
    s.append(r.step, { dLoss: r.dLoss, gLoss: r.gLoss, dReal: r.dReal, dFake: r.dFake });
    for (const [id, metrics] of CARD_METRICS) {
      let values: Partial<Record<OptionalMetricKey, number>> | null = null;
      for (const metric of metrics) {
        const value = optionalValue(r, metric.key);
        if (value !== null) (values ??= {})[metric.key] = value;
      }
      // A metric seen for the first time: earlier steps of the card have no value for it.
      if (values) state.optional[id].append(r.step, values);
    }
    state.lastRecord = r;
    if (r.evaluationFeatures) state.lastEvaluationFeatures = r.evaluationFeatures;
    added++;
  }
  return added;
}

/** A snapshot's older records, column by column (before its newest records). */
function appendHistory(history: MetricsHistory): void {
  const n = history.step.length;
  state.series.appendColumns(history.step, { dLoss: history.dLoss, gLoss: history.gLoss, dReal: history.dReal, dFake: history.dFake });
  for (const [id, metrics] of CARD_METRICS) {
    const columns = metrics.flatMap((m) => {
      const column = history.optional[m.key];
      return column && column.length === n ? [[m.key, column] as const] : [];
    });
    if (columns.length === 0) continue;
    // The card's steps: the records that carry at least one of its metrics (often all of them).
    const rows = new Uint32Array(n);
    let count = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < columns.length; c++) {
        if (!Number.isNaN(columns[c][1][i])) {
          rows[count++] = i;
          break;
        }
      }
    }
    const pick = (column: Float64Array) => {
      if (count === n) return column;
      const picked = new Float64Array(count);
      for (let j = 0; j < count; j++) picked[j] = column[rows[j]];
      return picked;
    };
    state.optional[id].appendColumns(pick(history.step), Object.fromEntries(columns.map(([key, column]) => [key, pick(column)])));
  }
  if (history.evaluationFeatures) state.lastEvaluationFeatures = history.evaluationFeatures;
}

let lineChartsQueued = false;

/**
 * Live records are drawn once an animation frame, however many messages bring them; a hidden
 * webview gets no frames, so a timer draws them there (at most four times a second).
 */
function queueLineCharts(): void {
  if (lineChartsQueued) return;
  lineChartsQueued = true;
  const draw = () => {
    if (!lineChartsQueued) return;
    lineChartsQueued = false;
    clearTimeout(timer);
    updateLineCharts();
    renderRun();
  };
  requestAnimationFrame(draw);
  const timer = setTimeout(draw, 250);
}

function renderAll(): void {
  renderRun();
  updateLineCharts();
  renderHistogram();
  renderScatter();
  renderImages();
}

function onMessage(message: HostToMonitorMessage): void {
  switch (message.type) {
    case 'monitor/didLoad': {
      const { snapshot } = message;
      vscode.setState(message.state);
      const sameRun = state.run?.runId === snapshot.run.runId;
      // A marked step belongs to its run.
      if (state.run && !sameRun) markStep(null);
      // A resync of the same run (the panel shown or focused again) keeps an older grid the slider was moved to.
      const kept =
        sameRun && !state.followNewest && state.selectedStep !== null && snapshot.imageSteps.includes(state.selectedStep)
          ? { step: state.selectedStep, image: state.shownImage?.step === state.selectedStep ? state.shownImage : null }
          : null;
      state.run = snapshot.run;
      state.cost = snapshot.cost ?? null;
      state.series = new SeriesStore();
      state.optional = emptyCardSeries();
      state.lastRecord = null;
      state.lastEvaluationFeatures = null;
      state.livePoints = null;
      if (snapshot.history) appendHistory(snapshot.history);
      appendRecords(snapshot.metrics);
      state.histogram = snapshot.latestHistogram;
      state.samples = snapshot.latestSamples;
      state.realPoints = snapshot.realPoints;
      state.imageSteps = [...snapshot.imageSteps];
      state.newestImage = snapshot.latestImage;
      state.shownImage = snapshot.latestImage;
      state.realImage = snapshot.realImage;
      state.followNewest = kept === null;
      state.selectedStep = kept?.step ?? null;
      if (kept?.image) state.shownImage = kept.image;
      else if (kept) vscode.postMessage({ type: 'monitor/requestImage', step: kept.step });
      stopButton.textContent = 'Stop';
      renderAll();
      break;
    }
    case 'monitor/didAppendMetrics':
      if (appendRecords(message.records) > 0) queueLineCharts();
      break;
    case 'monitor/didUpdateHistogram':
      if (!state.histogram || message.record.step >= state.histogram.step) {
        state.histogram = message.record;
        renderHistogram();
      }
      break;
    case 'monitor/didUpdateSamples':
      if (!state.samples || message.samples.step >= state.samples.step) {
        state.samples = message.samples;
        if (message.samples.live) state.livePoints = message.samples.points.length;
        renderScatter();
      }
      break;
    case 'monitor/didUpdateImage': {
      const { step } = message.samples;
      if (state.newestImage && step < state.newestImage.step) break;
      if (!state.imageSteps.includes(step)) state.imageSteps.push(step);
      state.newestImage = message.samples;
      if (state.followNewest) state.shownImage = message.samples;
      renderImages();
      break;
    }
    case 'monitor/didLoadImage':
      // Only the step the slider is on now (an answer to an older move is dropped).
      if (!state.followNewest && state.selectedStep === message.samples.step) {
        state.shownImage = message.samples;
        renderImages();
      }
      break;
    case 'monitor/didUpdateRun':
      state.run = message.run;
      renderRun();
      break;
    case 'monitor/didUpdateControls':
      laboratoryControls.setControls(message.controls, message.reason);
      break;
  }
}

window.addEventListener('message', (event: MessageEvent<HostToMonitorMessage>) => {
  const message = event.data;
  if (message && typeof message === 'object' && typeof message.type === 'string') onMessage(message);
});

// Canvas charts follow their boxes; uPlot charts resize themselves.
new ResizeObserver(() => {
  renderHistogram();
  renderScatter();
}).observe(grid);

// VS Code swaps the body's theme class when the colour theme changes: redraw in the new colours.
new MutationObserver(() => {
  lossChart.rebuild();
  equilibriumChart.rebuild();
  for (const chart of Object.values(optionalCharts)) chart.rebuild();
  renderHistogram();
  renderScatter();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

vscode.postMessage({ type: 'monitor/ready' });
