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
 * float32, clamped at 0.
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

/** Squared Euclidean distances [rows of a, rows of b], row-major. */
export function squaredDistances(a: Float32Array, b: Float32Array, dimension: number): Float32Array {
  const n = a.length / dimension;
  const m = b.length / dimension;
  const result = tf.tidy(() => {
    const ta = tf.tensor2d(a, [n, dimension]);
    const tb = a === b ? ta : tf.tensor2d(b, [m, dimension]);
    const na = tf.sum(tf.square(ta), 1, true);
    const nb = tf.reshape(tf.sum(tf.square(tb), 1), [1, m]);
    return tf.relu(tf.sub(tf.add(na, nb), tf.mul(2, tf.matMul(ta, tb, false, true))));
  });
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return values;
}

/** For each row of the square matrix `distances` [n, n]: its k-th smallest entry, the diagonal (self) excluded. */
export function kthNeighbourRadii(distances: Float32Array, n: number, k: number): Float32Array {
  if (n <= k) throw new Error(`k-NN radii need more than k = ${k} rows, got ${n}`);
  const radii = new Float32Array(n);
  const best = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    best.fill(Infinity);
    const row = i * n;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = distances[row + j];
      if (d >= best[k - 1]) continue;
      // Insertion into the sorted k smallest so far.
      let p = k - 1;
      while (p > 0 && best[p - 1] > d) {
        best[p] = best[p - 1];
        p--;
      }
      best[p] = d;
    }
    radii[i] = best[k - 1];
  }
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
  const n = real.length / dimension;
  const distances = squaredDistances(real, real, dimension);
  return {
    rows: real,
    dimension,
    radiiPrecision: kthNeighbourRadii(distances, n, kPrecision),
    radiiDensity: kthNeighbourRadii(distances, n, kDensity),
    kPrecision,
    kDensity,
  };
}

/** Precision, recall (k = 3), density and coverage (k = 5) of `fake` against `real` (rows of `dimension` numbers, or a RealManifold made once). */
export function manifoldMetrics(real: Float32Array | RealManifold, fake: Float32Array, dimension: number, kPrecision = 3, kDensity = 5): ManifoldMetrics {
  const reference = real instanceof Float32Array ? realManifold(real, dimension, kPrecision, kDensity) : real;
  if (reference.dimension !== dimension || reference.kPrecision !== kPrecision || reference.kDensity !== kDensity) {
    throw new Error('the real manifold was made for another dimension or k');
  }
  const n = reference.rows.length / dimension;
  const m = fake.length / dimension;
  const fakeRadii = kthNeighbourRadii(squaredDistances(fake, fake, dimension), m, kPrecision);
  const dRF = squaredDistances(reference.rows, fake, dimension);
  const fakeInReal = new Uint8Array(m);
  let recalled = 0;
  let covered = 0;
  let densityCount = 0;
  for (let i = 0; i < n; i++) {
    const row = i * m;
    const rPrecision = reference.radiiPrecision[i];
    const rDensity = reference.radiiDensity[i];
    let inFake = false;
    let holds = false;
    for (let j = 0; j < m; j++) {
      const d = dRF[row + j];
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
  const precise = fakeInReal.reduce((s, v) => s + v, 0);
  return { precision: precise / m, recall: recalled / n, density: densityCount / (kDensity * m), coverage: covered / n };
}
