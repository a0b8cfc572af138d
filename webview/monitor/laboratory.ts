/**
 * The 2-D laboratory (after GAN Lab): real and generated points over D's decision surface, the
 * direction G's cost moves each sample, G's image of a noise grid, and the densities, with step
 * mode and live changes of the learning rates and k. Drawing only; the state comes from main.ts.
 */
import type { LaboratoryFrame, PointSamples } from '../../src/protocol/runDirectory';
import type { ControlAction, ControlState } from '../../src/protocol/trainerRpc';
import { liveValueProblem } from '../../src/protocol/monitorMessages';
import { drawAxes, niceTicks, prepare } from './canvasCharts';
import { element } from './dom';
import { chartTheme, withAlpha, type ChartTheme } from './theme';

const MARGIN = { left: 44, right: 12, top: 10, bottom: 30 };
/** Arrows drawn at most (evenly spread over the samples): more hide the points. */
const MAX_ARROWS = 250;
const ARROW_PX = 16;
/** Cells of the density estimate along each axis, and its Gaussian blur in cells. */
const DENSITY_CELLS = 64;
const DENSITY_BLUR = 1.5;

export type Background = 'surface' | 'generated-density' | 'real-density' | 'none';

export interface LaboratoryLayers {
  background: Background;
  real: boolean;
  generated: boolean;
  gradients: boolean;
  manifold: boolean;
}

export interface LaboratoryData {
  real: number[][] | null;
  samples: PointSamples | null;
}

type Box = [number, number, number, number];

interface View {
  box: Box;
  toX(v: number): number;
  toY(v: number): number;
  fromX(px: number): number;
  fromY(px: number): number;
  plot: { x: number; y: number; w: number; h: number };
}

function boundsOf(points: number[][]): Box | null {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  if (!Number.isFinite(x0)) return null;
  const half = (Math.max(x1 - x0, y1 - y0, 1e-6) / 2) * 1.5;
  const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
  return [cx - half, cy - half, cx + half, cy + half];
}

/** Equal scales on both axes; the frame is the laboratory's box (the real data, widened), so it never jumps with G. */
function makeView(width: number, height: number, box: Box): View {
  // A square plot, centred: the box (square) fills it, and nothing outside D's surface is shown.
  const side = Math.max(10, Math.min(width - MARGIN.left - MARGIN.right, height - MARGIN.top - MARGIN.bottom));
  const plot = { x: MARGIN.left + (width - MARGIN.left - MARGIN.right - side) / 2, y: MARGIN.top, w: side, h: side };
  const [cx, cy] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
  const scale = Math.min(plot.w / (box[2] - box[0]), plot.h / (box[3] - box[1]));
  const [ox, oy] = [plot.x + plot.w / 2, plot.y + plot.h / 2];
  const visible: Box = [cx - plot.w / 2 / scale, cy - plot.h / 2 / scale, cx + plot.w / 2 / scale, cy + plot.h / 2 / scale];
  return {
    box: visible,
    plot,
    toX: (v) => ox + (v - cx) * scale,
    toY: (v) => oy - (v - cy) * scale,
    fromX: (px) => cx + (px - ox) / scale,
    fromY: (py) => cy - (py - oy) / scale,
  };
}

/** [r, g, b] of a `#rrggbb` colour (black for anything else). */
function rgb(color: string): [number, number, number] {
  const hex = /^#([0-9a-f]{6})$/i.exec(color.trim());
  const n = hex ? parseInt(hex[1], 16) : 0;
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * D's surface as an image of its cells: towards `real` where D takes the point for real, towards
 * `fake` where it takes it for generated, clear where it cannot tell (D = ½, or a score at the
 * middle of its range).
 */
export function surfaceImage(surface: LaboratoryFrame['surface'], theme: ChartTheme): ImageData {
  const { columns, rows, values, kind } = surface;
  const image = new ImageData(columns, rows);
  let centre = 0.5;
  let half = 0.5;
  if (kind === 'score') {
    const finite = values.filter(Number.isFinite);
    const [lo, hi] = [Math.min(...finite), Math.max(...finite)];
    centre = (lo + hi) / 2;
    half = Math.max((hi - lo) / 2, 1e-9);
  }
  const [real, fake] = [rgb(theme.realColor), rgb(theme.fakeColor)];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const t = Math.max(-1, Math.min(1, (values[row * columns + column] - centre) / half));
      const colour = t >= 0 ? real : fake;
      // The image's first row is the top: the surface's last row (yMax).
      const at = ((rows - 1 - row) * columns + column) * 4;
      image.data.set(colour, at);
      // Light enough that the points of the same colours stay visible on it.
      image.data[at + 3] = Math.round(255 * 0.42 * Math.pow(Math.abs(t), 0.7));
    }
  }
  return image;
}

/** A kernel density estimate of points on a DENSITY_CELLS² grid over `box`, as [0, 1] by its maximum. */
export function density(points: number[][], box: Box): Float32Array {
  const n = DENSITY_CELLS;
  const counts = new Float32Array(n * n);
  for (const [x, y] of points) {
    const column = Math.floor(((x - box[0]) / (box[2] - box[0])) * n);
    const row = Math.floor(((y - box[1]) / (box[3] - box[1])) * n);
    if (column >= 0 && column < n && row >= 0 && row < n) counts[row * n + column]++;
  }
  // Separable Gaussian blur.
  const radius = Math.ceil(3 * DENSITY_BLUR);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * DENSITY_BLUR ** 2)));
  const pass = (source: Float32Array, horizontal: boolean) => {
    const out = new Float32Array(n * n);
    for (let row = 0; row < n; row++) {
      for (let column = 0; column < n; column++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          const [r, c] = horizontal ? [row, column + k] : [row + k, column];
          if (r >= 0 && r < n && c >= 0 && c < n) sum += source[r * n + c] * kernel[k + radius];
        }
        out[row * n + column] = sum;
      }
    }
    return out;
  };
  const blurred = pass(pass(counts, true), false);
  let max = 0;
  for (const v of blurred) max = Math.max(max, v);
  if (max > 0) for (let i = 0; i < blurred.length; i++) blurred[i] /= max;
  return blurred;
}

function densityImage(values: Float32Array, color: string): ImageData {
  const n = DENSITY_CELLS;
  const image = new ImageData(n, n);
  const colour = rgb(color);
  for (let row = 0; row < n; row++) {
    for (let column = 0; column < n; column++) {
      const at = ((n - 1 - row) * n + column) * 4;
      image.data.set(colour, at);
      image.data[at + 3] = Math.round(255 * 0.75 * Math.sqrt(values[row * n + column]));
    }
  }
  return image;
}

/** Draws a small image stretched over a data-space box, smoothed (the cells' values interpolate). */
function drawField(ctx: CanvasRenderingContext2D, view: View, image: ImageData, box: Box): void {
  const cells = document.createElement('canvas');
  cells.width = image.width;
  cells.height = image.height;
  cells.getContext('2d')!.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  const [x0, y1] = [view.toX(box[0]), view.toY(box[3])];
  ctx.drawImage(cells, x0, y1, view.toX(box[2]) - x0, view.toY(box[1]) - y1);
}

/** D at a data-space point, read off the surface (bilinear between cell centres); null outside it. */
export function surfaceAt(surface: LaboratoryFrame['surface'], x: number, y: number): number | null {
  const { box, columns, rows, values } = surface;
  const u = ((x - box[0]) / (box[2] - box[0])) * columns - 0.5;
  const v = ((y - box[1]) / (box[3] - box[1])) * rows - 0.5;
  if (u < -0.5 || v < -0.5 || u > columns - 0.5 || v > rows - 0.5) return null;
  const [c0, r0] = [Math.max(0, Math.min(columns - 1, Math.floor(u))), Math.max(0, Math.min(rows - 1, Math.floor(v)))];
  const [c1, r1] = [Math.min(columns - 1, c0 + 1), Math.min(rows - 1, r0 + 1)];
  const [fu, fv] = [Math.max(0, Math.min(1, u - c0)), Math.max(0, Math.min(1, v - r0))];
  const at = (r: number, c: number) => values[r * columns + c];
  return (1 - fv) * ((1 - fu) * at(r0, c0) + fu * at(r0, c1)) + fv * ((1 - fu) * at(r1, c0) + fu * at(r1, c1));
}

export function drawLaboratory(canvas: HTMLCanvasElement, data: LaboratoryData, layers: LaboratoryLayers): View | null {
  const prepared = prepare(canvas);
  if (!prepared) return null;
  const { ctx, width, height } = prepared;
  const theme = chartTheme();
  const frame = data.samples?.laboratory ?? null;
  const box = frame?.surface.box ?? boundsOf(data.real ?? data.samples?.points ?? []) ?? [-1, -1, 1, 1];
  const view = makeView(width, height, box);
  const { plot } = view;
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  if (layers.background === 'surface' && frame) drawField(ctx, view, surfaceImage(frame.surface, theme), frame.surface.box);
  if (layers.background === 'generated-density' && data.samples) {
    drawField(ctx, view, densityImage(density(data.samples.points, view.box), theme.fakeColor), view.box);
  }
  if (layers.background === 'real-density' && data.real) drawField(ctx, view, densityImage(density(data.real, view.box), theme.realColor), view.box);
  ctx.restore();
  drawAxes(ctx, theme, plot, niceTicks(view.box[0], view.box[2], 6), niceTicks(view.box[1], view.box[3], 5), view.toX, view.toY, 'x₁', 'x₂');
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  if (layers.manifold && frame?.manifold) {
    const { columns, rows, points } = frame.manifold;
    ctx.strokeStyle = withAlpha(theme.gColor, 0.75);
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < columns; column++) {
        const [x, y] = points[row * columns + column];
        if (column + 1 < columns) {
          const [x2, y2] = points[row * columns + column + 1];
          ctx.moveTo(view.toX(x), view.toY(y));
          ctx.lineTo(view.toX(x2), view.toY(y2));
        }
        if (row + 1 < rows) {
          const [x2, y2] = points[(row + 1) * columns + column];
          ctx.moveTo(view.toX(x), view.toY(y));
          ctx.lineTo(view.toX(x2), view.toY(y2));
        }
      }
    }
    ctx.stroke();
  }
  const dots = (points: number[][] | null | undefined, color: string, size: number) => {
    if (!points) return;
    // A rim in the background colour keeps each dot apart from a surface of its own hue.
    ctx.fillStyle = withAlpha(theme.background, 0.7);
    for (const [x, y] of points) ctx.fillRect(view.toX(x) - size / 2 - 1, view.toY(y) - size / 2 - 1, size + 2, size + 2);
    ctx.fillStyle = color;
    for (const [x, y] of points) ctx.fillRect(view.toX(x) - size / 2, view.toY(y) - size / 2, size, size);
  };
  // Real under generated: a generated sample on top of its mode shows G has found it.
  if (layers.real) dots(data.real, theme.realColor, 3);
  if (layers.generated) dots(data.samples?.points, theme.fakeColor, 3);
  if (layers.gradients && frame && data.samples) drawArrows(ctx, view, data.samples.points, frame.gradients, theme);
  ctx.restore();
  return view;
}

/** G's gradients on its samples: the direction of −∇x J(G), lengths by the square root of the norm (relative to the largest). */
function drawArrows(ctx: CanvasRenderingContext2D, view: View, points: number[][], gradients: number[][], theme: ChartTheme): void {
  const count = Math.min(points.length, gradients.length);
  if (count === 0) return;
  const every = Math.max(1, Math.ceil(count / MAX_ARROWS));
  // Screen directions: y grows downwards on the canvas.
  let largest = 0;
  for (let i = 0; i < count; i += every) largest = Math.max(largest, Math.hypot(gradients[i][0], gradients[i][1]));
  if (!(largest > 0)) return;
  ctx.strokeStyle = withAlpha(theme.foreground, 0.7);
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i < count; i += every) {
    const [gx, gy] = gradients[i];
    const norm = Math.hypot(gx, gy);
    if (!(norm > 0)) continue;
    const length = ARROW_PX * Math.sqrt(norm / largest);
    const [dx, dy] = [(gx / norm) * length, (-gy / norm) * length];
    const [x, y] = [view.toX(points[i][0]), view.toY(points[i][1])];
    const [tx, ty] = [x + dx, y + dy];
    ctx.moveTo(x, y);
    ctx.lineTo(tx, ty);
    // The head: two short strokes back from the tip.
    const head = Math.min(4, length / 2);
    const angle = Math.atan2(dy, dx);
    ctx.moveTo(tx, ty);
    ctx.lineTo(tx - head * Math.cos(angle - 0.5), ty - head * Math.sin(angle - 0.5));
    ctx.moveTo(tx, ty);
    ctx.lineTo(tx - head * Math.cos(angle + 0.5), ty - head * Math.sin(angle + 0.5));
  }
  ctx.stroke();
}

// ---- The card's controls ------------------------------------------------------------------------

const format = (rate: number) =>
  rate === 0
    ? '0'
    : Number(rate.toPrecision(3))
        .toExponential()
        .replace(/\.?0+e/, 'e');

/**
 * The layer toggles and the step-mode controls above the laboratory's canvas; `post` sends a
 * control action to the host; `onLayers` redraws.
 */
export class LaboratoryControls {
  readonly element = element('div', 'lab-controls');
  readonly layers: LaboratoryLayers = { background: 'surface', real: true, generated: true, gradients: true, manifold: false };
  private readonly pauseButton = element('button', 'lab-button', 'Pause');
  private readonly dStepButton = element('button', 'lab-button', 'D step');
  private readonly gStepButton = element('button', 'lab-button', 'G step');
  private readonly inputs = {
    generatorLearningRate: element('input', 'lab-input'),
    discriminatorLearningRate: element('input', 'lab-input'),
    dStepsPerGStep: element('input', 'lab-input narrow'),
  };
  private readonly applyButton = element('button', 'lab-button', 'Apply');
  private readonly status = element('span', 'lab-status');
  readonly readout = element('span', 'lab-readout');
  private controls: ControlState | null = null;

  constructor(
    private readonly post: (action: ControlAction) => void,
    private readonly onLayers: () => void,
  ) {
    const layerRow = element('div', 'lab-row');
    const background = element('select', 'lab-select');
    background.id = 'lab-background';
    background.title = 'What the plane is coloured by';
    for (const [value, label] of [
      ['surface', "D's decision surface"],
      ['generated-density', 'density of G(z)'],
      ['real-density', 'density of the data'],
      ['none', 'no background'],
    ] as const) {
      const option = element('option', undefined, label);
      option.value = value;
      background.append(option);
    }
    background.addEventListener('change', () => {
      this.layers.background = background.value as Background;
      onLayers();
    });
    layerRow.append(background);
    for (const [key, label, title] of [
      ['real', 'real', 'the fixed real sample'],
      ['generated', 'G(z)', 'G on the fixed noise'],
      ['gradients', "G's gradients", "−∇x J(G): where G's cost moves each sample"],
      ['manifold', 'manifold', 'G on a grid of noise (z₁, z₂; the other coordinates those of a typical z): how G folds the noise plane'],
    ] as const) {
      const box = element('input');
      box.type = 'checkbox';
      box.id = `lab-${key}`;
      box.checked = this.layers[key];
      box.addEventListener('change', () => {
        this.layers[key] = box.checked;
        onLayers();
      });
      const labelNode = element('label', 'lab-toggle');
      labelNode.title = title;
      labelNode.append(box, document.createTextNode(label));
      layerRow.append(labelNode);
    }
    layerRow.append(this.readout);

    const controlRow = element('div', 'lab-row');
    this.pauseButton.id = 'lab-pause';
    this.dStepButton.id = 'lab-d-step';
    this.gStepButton.id = 'lab-g-step';
    this.dStepButton.title = 'One discriminator update (the run is paused; the step counter stays)';
    this.gStepButton.title = 'One generator update (the run is paused; the step counter stays)';
    this.pauseButton.addEventListener('click', () => this.post({ action: this.controls?.paused ? 'resume' : 'pause' }));
    this.dStepButton.addEventListener('click', () => this.post({ action: 'step', player: 'discriminator' }));
    this.gStepButton.addEventListener('click', () => this.post({ action: 'step', player: 'generator' }));
    controlRow.append(this.pauseButton, this.dStepButton, this.gStepButton);
    const field = (label: string, input: HTMLInputElement, id: string, title: string) => {
      input.id = id;
      input.title = title;
      input.spellcheck = false;
      input.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') this.apply();
      });
      input.addEventListener('input', () => this.validate());
      const wrap = element('label', 'lab-field');
      wrap.append(document.createTextNode(label), input);
      return wrap;
    };
    this.applyButton.id = 'lab-apply';
    this.applyButton.title = 'Use these from the next step (recorded in run.json and in every metrics record)';
    this.applyButton.addEventListener('click', () => this.apply());
    controlRow.append(
      field('lr G', this.inputs.generatorLearningRate, 'lab-lr-g', "G's base learning rate (the schedule's decay still applies)"),
      field('lr D', this.inputs.discriminatorLearningRate, 'lab-lr-d', "D's base learning rate"),
      field('k', this.inputs.dStepsPerGStep, 'lab-k', 'D updates per G update'),
      this.applyButton,
    );
    this.status.id = 'lab-status';
    this.element.append(layerRow, controlRow, this.status);
    this.setControls(null, 'waiting for the trainer…');
  }

  /** The fields that differ from the trainer's values, or the first problem. */
  private edited(): { changes: Partial<Record<keyof LaboratoryControls['inputs'], number>>; problem: string | null } {
    const changes: Partial<Record<keyof LaboratoryControls['inputs'], number>> = {};
    for (const [key, input] of Object.entries(this.inputs) as [keyof LaboratoryControls['inputs'], HTMLInputElement][]) {
      const text = input.value.trim();
      const value = Number(text);
      const problem = text === '' ? `${key} is empty` : liveValueProblem(key, value);
      input.classList.toggle('invalid', problem !== null);
      if (problem) return { changes, problem };
      // (The fields show rates to 3 digits: only a value other than the shown one is a change.)
      if (this.controls && value !== Number(this.shown(key, this.controls))) changes[key] = value;
    }
    return { changes, problem: null };
  }

  private shown(key: keyof LaboratoryControls['inputs'], controls: ControlState): string {
    return key === 'dStepsPerGStep' ? String(controls[key]) : format(controls[key]);
  }

  private validate(): void {
    const { changes, problem } = this.edited();
    this.applyButton.disabled = !this.controls || problem !== null || Object.keys(changes).length === 0;
    if (problem) this.status.textContent = problem;
    else if (this.controls) this.status.textContent = this.describe(this.controls);
  }

  private apply(): void {
    const { changes, problem } = this.edited();
    if (problem || !this.controls || Object.keys(changes).length === 0) return;
    this.post({ action: 'set', ...changes });
    this.applyButton.disabled = true;
  }

  private describe(controls: ControlState): string {
    const singles = controls.singleDiscriminatorUpdates + controls.singleGeneratorUpdates;
    const rates =
      controls.generatorRateInForce !== controls.generatorLearningRate || controls.discriminatorRateInForce !== controls.discriminatorLearningRate
        ? ` · in force after the schedule: G ${format(controls.generatorRateInForce)}, D ${format(controls.discriminatorRateInForce)}`
        : '';
    const made = singles ? ` · single updates so far: ${controls.singleDiscriminatorUpdates} D, ${controls.singleGeneratorUpdates} G` : '';
    return `${controls.paused ? `Paused after step ${controls.step.toLocaleString('en-US')}` : 'Training'}${rates}${made}`;
  }

  /** The trainer's controls, or null with the reason they cannot be used. */
  setControls(controls: ControlState | null, reason: string): void {
    const previous = this.controls;
    this.controls = controls;
    const enabled = controls !== null;
    this.pauseButton.disabled = !enabled;
    this.pauseButton.textContent = controls?.paused ? 'Resume' : 'Pause';
    this.pauseButton.classList.toggle('active', Boolean(controls?.paused));
    this.dStepButton.disabled = !controls?.paused;
    this.gStepButton.disabled = !controls?.paused;
    for (const [key, input] of Object.entries(this.inputs) as [keyof LaboratoryControls['inputs'], HTMLInputElement][]) {
      input.disabled = !enabled;
      // Keep what the user is typing; take the trainer's values when they changed or nothing is being edited.
      if (controls && (document.activeElement !== input || !previous || previous[key] !== controls[key])) {
        input.value = this.shown(key, controls);
      }
    }
    this.element.classList.toggle('disabled', !enabled);
    this.status.textContent = controls ? this.describe(controls) : `Step mode and live changes: ${reason}`;
    if (controls) this.validate();
    else this.applyButton.disabled = true;
  }
}
