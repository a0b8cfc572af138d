/**
 * Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric
 * for Assessing Generative Models", k = 3) and density and coverage (Naeem et al. 2020, "Reliable
 * Fidelity and Diversity Metrics for Generative Models", k = 5) of a generated sample against a
 * real one, on feature rows (the classifier's features, raw pixels, or 2-D points).
 *
 * Each sample's manifold is the union of balls around its rows, each ball's radius the distance
 * to that row's k-th nearest neighbour in the same sample, the row itself excluded (by index, so
 * duplicates count as neighbours at distance 0). Nearest neighbours are exact: the squared
 * distances come from matrix products on the active TensorFlow.js backend, ‖a‖² + ‖b‖² − 2a·b in
 * float32, clamped at 0, a block of rows at a time: the whole n × m matrix is never held (at
 * 10,000 rows it would be 400 MB).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ManifoldMetrics {
  /** Generated rows inside the real manifold (k = 3), in [0, 1]. */
  precision: number;
  /** Real rows inside the generated manifold (k = 3), in [0, 1]. */
  recall: number;
  /** (1 / kM) Σ_j #{real balls (k = 5) holding generated row j}: 1 in expectation for matched samples, (k + 1) / k for identical ones. */
  density: number;
  /** Real rows whose ball (k = 5) holds at least one generated row, in [0, 1]. */
  coverage: number;
}

/** Distances in a block (16 MB of float32): all of a 2,000-row sample at once, 400 rows of a 10,000-row one. */
const BLOCK_ENTRIES = 4_000_000;

/** Calls `visit` with the squared distances of each block of a's rows to all of b's, [count, rows of b] row-major. */
export function forEachDistanceBlock(
  a: Float32Array,
  b: Float32Array,
  dimension: number,
  visit: (start: number, count: number, distances: Float32Array) => void,
  blockRows?: number,
): void {
  const n = a.length / dimension;
  const m = b.length / dimension;
  const rowsPerBlock = blockRows ?? Math.max(16, Math.floor(BLOCK_ENTRIES / Math.max(1, m)));
  const tb = tf.tensor2d(b, [m, dimension]);
  const nb = tf.tidy(() => tf.reshape(tf.sum(tf.square(tb), 1), [1, m]));
  try {
    for (let start = 0; start < n; start += rowsPerBlock) {
      const count = Math.min(rowsPerBlock, n - start);
      const block = tf.tidy(() => {
        const ta = tf.tensor2d(a.subarray(start * dimension, (start + count) * dimension), [count, dimension]);
        const na = tf.sum(tf.square(ta), 1, true);
        return tf.relu(tf.sub(tf.add(na, nb), tf.mul(2, tf.matMul(ta, tb, false, true))));
      });
      const distances = block.dataSync() as Float32Array;
      block.dispose();
      visit(start, count, distances);
    }
  } finally {
    tb.dispose();
    nb.dispose();
  }
}

/** Squared Euclidean distances [rows of a, rows of b], row-major (small samples; the metrics go by blocks). */
export function squaredDistances(a: Float32Array, b: Float32Array, dimension: number): Float32Array {
  const m = b.length / dimension;
  const out = new Float32Array((a.length / dimension) * m);
  forEachDistanceBlock(a, b, dimension, (start, _count, distances) => out.set(distances, start * m));
  return out;
}

/** The k smallest of values[offset .. offset + m), index `self` excluded, into `best` (sorted, length k). */
function smallestExcluding(values: Float32Array, offset: number, m: number, self: number, best: Float64Array): void {
  const k = best.length;
  best.fill(Infinity);
  for (let j = 0; j < m; j++) {
    if (j === self) continue;
    const d = values[offset + j];
    if (d >= best[k - 1]) continue;
    // Insertion into the sorted k smallest so far.
    let p = k - 1;
    while (p > 0 && best[p - 1] > d) {
      best[p] = best[p - 1];
      p--;
    }
    best[p] = d;
  }
}

/** For each row of the square matrix `distances` [n, n]: its k-th smallest entry, the diagonal (self) excluded. */
export function kthNeighbourRadii(distances: Float32Array, n: number, k: number): Float32Array {
  if (n <= k) throw new Error(`k-NN radii need more than k = ${k} rows, got ${n}`);
  const radii = new Float32Array(n);
  const best = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    smallestExcluding(distances, i * n, n, i, best);
    radii[i] = best[k - 1];
  }
  return radii;
}

/** Each row's squared distance to its k-th nearest other row of the same sample, for each k asked. */
export function neighbourRadii(rows: Float32Array, dimension: number, ks: readonly number[]): Float32Array[] {
  const n = rows.length / dimension;
  const kMax = Math.max(...ks);
  if (n <= kMax) throw new Error(`k-NN radii need more than k = ${kMax} rows, got ${n}`);
  const radii = ks.map(() => new Float32Array(n));
  const best = new Float64Array(kMax);
  forEachDistanceBlock(rows, rows, dimension, (start, count, distances) => {
    for (let r = 0; r < count; r++) {
      smallestExcluding(distances, r * n, n, start + r, best);
      ks.forEach((k, i) => (radii[i][start + r] = best[k - 1]));
    }
  });
  return radii;
}

/** The real sample's k-NN radii (squared) for precision (k = 3) and density/coverage (k = 5): the same at every evaluation against one real sample. */
export interface RealManifold {
  rows: Float32Array;
  dimension: number;
  radiiPrecision: Float32Array;
  radiiDensity: Float32Array;
  kPrecision: number;
  kDensity: number;
}

export function realManifold(real: Float32Array, dimension: number, kPrecision = 3, kDensity = 5): RealManifold {
  const [radiiPrecision, radiiDensity] = neighbourRadii(real, dimension, [kPrecision, kDensity]);
  return { rows: real, dimension, radiiPrecision, radiiDensity, kPrecision, kDensity };
}

/** Precision, recall (k = 3), density and coverage (k = 5) of `fake` against `real` (rows of `dimension` numbers, or a RealManifold made once). */
export function manifoldMetrics(real: Float32Array | RealManifold, fake: Float32Array, dimension: number, kPrecision = 3, kDensity = 5): ManifoldMetrics {
  const reference = real instanceof Float32Array ? realManifold(real, dimension, kPrecision, kDensity) : real;
  if (reference.dimension !== dimension || reference.kPrecision !== kPrecision || reference.kDensity !== kDensity) {
    throw new Error('the real manifold was made for another dimension or k');
  }
  const n = reference.rows.length / dimension;
  const m = fake.length / dimension;
  const [fakeRadii] = neighbourRadii(fake, dimension, [kPrecision]);
  const fakeInReal = new Uint8Array(m);
  let recalled = 0;
  let covered = 0;
  let densityCount = 0;
  forEachDistanceBlock(reference.rows, fake, dimension, (start, count, distances) => {
    for (let r = 0; r < count; r++) {
      const i = start + r;
      const row = r * m;
      const rPrecision = reference.radiiPrecision[i];
      const rDensity = reference.radiiDensity[i];
      let inFake = false;
      let holds = false;
      for (let j = 0; j < m; j++) {
        const d = distances[row + j];
        if (d <= rPrecision) fakeInReal[j] = 1;
        if (d <= rDensity) {
          densityCount++;
          holds = true;
        }
        if (!inFake && d <= fakeRadii[j]) inFake = true;
      }
      if (inFake) recalled++;
      if (holds) covered++;
    }
  });
  const precise = fakeInReal.reduce((s, v) => s + v, 0);
  return { precision: precise / m, recall: recalled / n, density: densityCount / (kDensity * m), coverage: covered / n };
}
