/**
 * The two charts uPlot does not draw well: the D(x) / D(G(z)) histogram (overlaid bars over
 * [0, 1]) and the 2-D scatter of real vs generated points (equal aspect). Plain canvas, sized for
 * the device pixel ratio.
 */
import type { HistogramRecord } from '../../src/protocol/runDirectory';
import { chartTheme, withAlpha, type ChartTheme } from './theme';

const MARGIN = { left: 44, right: 12, top: 10, bottom: 30 };

/** Makes the canvas match its box in device pixels; returns a context in CSS pixels. */
export function prepare(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; width: number; height: number } | null {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return null;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** Round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : Math.abs(value) >= 100 ? value.toFixed(0) : String(Number(value.toPrecision(3)));
}

export function drawAxes(
  ctx: CanvasRenderingContext2D,
  theme: ChartTheme,
  box: { x: number; y: number; w: number; h: number },
  xTicks: number[],
  yTicks: number[],
  toX: (v: number) => number,
  toY: (v: number) => number,
  xLabel: string,
  yLabel: string,
): void {
  ctx.font = theme.font;
  ctx.strokeStyle = theme.grid;
  ctx.fillStyle = theme.foreground;
  ctx.lineWidth = 1;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    const x = Math.round(toX(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, box.y);
    ctx.lineTo(x, box.y + box.h);
    ctx.stroke();
    ctx.fillText(formatTick(t), x, box.y + box.h + 4);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    const y = Math.round(toY(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(box.x, y);
    ctx.lineTo(box.x + box.w, y);
    ctx.stroke();
    ctx.fillText(formatTick(t), box.x - 5, y);
  }
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(xLabel, box.x + box.w / 2, box.y + box.h + 29);
  ctx.save();
  ctx.translate(box.x - 33, box.y + box.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();
}

/**
 * Overlaid histograms of D(x) and D(G(z)), as the fraction of the minibatch in each bin; `xLabel`
 * says what D(·) is for the run's cost (σ of D's output, or a rank fraction).
 */
export function drawHistogram(canvas: HTMLCanvasElement, record: HistogramRecord | null, xLabel = 'discriminator output D(·)'): void {
  const prepared = prepare(canvas);
  if (!prepared) return;
  const { ctx, width, height } = prepared;
  const theme = chartTheme();
  const box = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const total = (counts: number[]) =>
    Math.max(
      1,
      counts.reduce((a, b) => a + b, 0),
    );
  const real = record ? record.dReal.map((c) => c / total(record.dReal)) : [];
  const fake = record ? record.dFake.map((c) => c / total(record.dFake)) : [];
  const top = Math.max(0.1, ...real, ...fake);
  const yTicks = niceTicks(0, top, 4);
  const yMax = Math.max(top, yTicks[yTicks.length - 1]);
  const toX = (v: number) => box.x + v * box.w;
  const toY = (v: number) => box.y + box.h - (v / yMax) * box.h;
  drawAxes(ctx, theme, box, [0, 0.25, 0.5, 0.75, 1], yTicks, toX, toY, xLabel, 'fraction of batch');
  if (!record) return;
  const bars = (values: number[], color: string) => {
    ctx.fillStyle = withAlpha(color, 0.45);
    ctx.strokeStyle = color;
    values.forEach((v, i) => {
      const x0 = toX(record.edges[i]);
      const x1 = toX(record.edges[i + 1]);
      const y = toY(v);
      if (v <= 0) return;
      ctx.fillRect(x0 + 0.5, y, Math.max(1, x1 - x0 - 1), box.y + box.h - y);
      ctx.strokeRect(x0 + 0.5, y + 0.5, Math.max(1, x1 - x0 - 1), box.y + box.h - y - 0.5);
    });
  };
  bars(real, theme.realColor);
  bars(fake, theme.fakeColor);
  // The optimal discriminator at the game's solution outputs ½ everywhere.
  ctx.setLineDash([4, 4]);
  ctx.strokeStyle = theme.reference;
  ctx.beginPath();
  ctx.moveTo(Math.round(toX(0.5)) + 0.5, box.y);
  ctx.lineTo(Math.round(toX(0.5)) + 0.5, box.y + box.h);
  ctx.stroke();
  ctx.setLineDash([]);
}

export interface ScatterData {
  real: number[][] | null;
  generated: number[][] | null;
}

function bounds(points: number[][]): { minX: number; maxX: number; minY: number; maxY: number } {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  return { minX, maxX, minY, maxY };
}

/** Real vs generated points with equal scales on both axes, framed on the real data. */
export function drawScatter(canvas: HTMLCanvasElement, data: ScatterData): void {
  const prepared = prepare(canvas);
  if (!prepared) return;
  const { ctx, width, height } = prepared;
  const theme = chartTheme();
  const box = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  // Frame on the real data (generated points far away are clipped, not allowed to zoom out the view).
  const frame = bounds(
    data.real?.length
      ? data.real
      : (data.generated ?? [
          [-1, -1],
          [1, 1],
        ]),
  );
  const spanX = Math.max(frame.maxX - frame.minX, 1e-6);
  const spanY = Math.max(frame.maxY - frame.minY, 1e-6);
  const span = Math.max(spanX, spanY) * 1.35;
  const cx = (frame.minX + frame.maxX) / 2;
  const cy = (frame.minY + frame.maxY) / 2;
  const scale = Math.min(box.w, box.h) / span;
  const ox = box.x + box.w / 2;
  const oy = box.y + box.h / 2;
  const toX = (v: number) => ox + (v - cx) * scale;
  const toY = (v: number) => oy - (v - cy) * scale;
  const halfW = box.w / 2 / scale;
  const halfH = box.h / 2 / scale;
  drawAxes(ctx, theme, box, niceTicks(cx - halfW, cx + halfW, 6), niceTicks(cy - halfH, cy + halfH, 5), toX, toY, 'x₁', 'x₂');
  ctx.save();
  ctx.beginPath();
  ctx.rect(box.x, box.y, box.w, box.h);
  ctx.clip();
  const dots = (points: number[][] | null, color: string, radius: number) => {
    if (!points) return;
    ctx.fillStyle = color;
    for (const [x, y] of points) {
      ctx.beginPath();
      ctx.arc(toX(x), toY(y), radius, 0, 2 * Math.PI);
      ctx.fill();
    }
  };
  // Generated first, real on top: where G misses a mode, the real cluster still shows.
  dots(data.generated, withAlpha(theme.fakeColor, 0.6), 2);
  dots(data.real, withAlpha(theme.realColor, 0.9), 1.6);
  ctx.restore();
}
