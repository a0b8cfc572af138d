/**
 * Divergences between two 2-D point samples through their histograms on one grid: bins × bins
 * cells over the real sample's bounding box, padded by `padding` of its larger side on every
 * side. Points outside the box count in the nearest border cell, so mass G puts far away is seen.
 * Both histograms are smoothed by GRID_SMOOTHING pseudo-counts per cell before they are
 * normalized, so KL(p_data ‖ p_g) stays finite where G puts nothing (then each such cell adds about
 * p_data · ln(p_data · n / GRID_SMOOTHING)).
 */

export const GRID_BINS = 20;
export const GRID_PADDING = 0.1;
/** Pseudo-count per cell of both histograms. */
export const GRID_SMOOTHING = 0.1;

export interface GridDivergences {
  /** KL(p_data ‖ p_g) of the smoothed histograms, in nats. */
  gridKl: number;
  /** Jensen–Shannon divergence of the smoothed histograms, in nats, in [0, ln 2]. */
  gridJs: number;
}

export interface GridBox {
  x0: number;
  y0: number;
  /** Side of a cell along x and y. */
  dx: number;
  dy: number;
  bins: number;
}

/** The grid over the bounding box of interleaved [x, y] points, padded. */
export function gridBox(points: ArrayLike<number>, bins = GRID_BINS, padding = GRID_PADDING): GridBox {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i + 1 < points.length; i += 2) {
    minX = Math.min(minX, points[i]);
    maxX = Math.max(maxX, points[i]);
    minY = Math.min(minY, points[i + 1]);
    maxY = Math.max(maxY, points[i + 1]);
  }
  const side = Math.max(maxX - minX, maxY - minY, 1e-6);
  const pad = padding * side;
  return { x0: minX - pad, y0: minY - pad, dx: (maxX - minX + 2 * pad || 1) / bins, dy: (maxY - minY + 2 * pad || 1) / bins, bins };
}

/** The smoothed, normalized histogram of interleaved [x, y] points on the grid (row-major, y then x). */
export function gridHistogram(points: ArrayLike<number>, box: GridBox, smoothing = GRID_SMOOTHING): Float64Array {
  const { bins } = box;
  const counts = new Float64Array(bins * bins).fill(smoothing);
  const cell = (value: number, origin: number, size: number) => {
    const index = Math.floor((value - origin) / size);
    // NaN (a diverged G) goes to cell 0 with the rest of the far-away mass.
    return Number.isNaN(index) ? 0 : Math.min(bins - 1, Math.max(0, index));
  };
  const n = Math.floor(points.length / 2);
  for (let i = 0; i < n; i++) counts[cell(points[2 * i + 1], box.y0, box.dy) * bins + cell(points[2 * i], box.x0, box.dx)]++;
  const total = n + smoothing * bins * bins;
  return counts.map((c) => c / total);
}

/** KL(p_data ‖ p_g) and JS of real and generated interleaved [x, y] points on the real points' grid. */
export function gridDivergences(real: ArrayLike<number>, fake: ArrayLike<number>, bins = GRID_BINS): GridDivergences {
  const box = gridBox(real, bins);
  const p = gridHistogram(real, box);
  const q = gridHistogram(fake, box);
  let kl = 0;
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    kl += p[i] * Math.log(p[i] / q[i]);
    const m = (p[i] + q[i]) / 2;
    js += 0.5 * p[i] * Math.log(p[i] / m) + 0.5 * q[i] * Math.log(q[i] / m);
  }
  return { gridKl: kl, gridJs: js };
}
