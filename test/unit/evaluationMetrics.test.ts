/**
 * The evaluation's metric functions against known answers: identical, disjoint and collapsed
 * samples, and small cases computed by hand.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/trainer/backend';
import { argmaxClasses, classHistogram, classMetrics, classifierScore, CLASS_SMOOTHING } from '../../src/trainer/evaluation/classes';
import { frechetDistance, frechetDistanceOfGaussians, gaussianFit, symmetricEigen } from '../../src/trainer/evaluation/frechet';
import { gridDivergences } from '../../src/trainer/evaluation/grid';
import { forEachDistanceBlock, kthNeighbourRadii, manifoldMetrics, neighbourRadii, squaredDistances } from '../../src/trainer/evaluation/manifold';
import { Random } from '../../src/trainer/random';

const close = (actual: number, expected: number, tolerance: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} is not within ${tolerance} of ${expected}`);

function normalRows(seed: string, n: number, d: number, mean = 0, std = 1): Float32Array {
  return new Random(seed).fillNormal(new Float32Array(n * d), mean, std);
}

before(async () => {
  await selectBackend('wasm');
});

describe('k-NN distances', () => {
  it('squaredDistances are exact on small integer rows', () => {
    const a = Float32Array.from([0, 0, 3, 4]);
    const b = Float32Array.from([0, 0, 1, 1, 3, 0]);
    assert.deepEqual(Array.from(squaredDistances(a, b, 2)), [0, 2, 9, 25, 13, 16]);
  });
  it('kthNeighbourRadii excludes the row itself and counts duplicates', () => {
    // Points 0, 1, 3, 3 on a line: distances squared.
    const points = Float32Array.from([0, 1, 3, 3]);
    const d = squaredDistances(points, points, 1);
    assert.deepEqual(Array.from(kthNeighbourRadii(d, 4, 1)), [1, 1, 0, 0]);
    assert.deepEqual(Array.from(kthNeighbourRadii(d, 4, 2)), [9, 4, 4, 4]);
  });
  it('blocks of rows give the whole matrix, and the blocked radii the matrix radii', () => {
    const a = normalRows('blocks-a', 50, 3);
    const b = normalRows('blocks-b', 20, 3);
    const whole = squaredDistances(a, b, 3);
    const pieces = new Float32Array(50 * 20);
    const starts: number[] = [];
    forEachDistanceBlock(a, b, 3, (start, _count, distances) => (starts.push(start), pieces.set(distances, start * 20)), 7);
    assert.deepEqual(starts, [0, 7, 14, 21, 28, 35, 42, 49]);
    assert.deepEqual(pieces, whole);
    const [r3, r5] = neighbourRadii(a, 3, [3, 5]);
    assert.deepEqual(r3, kthNeighbourRadii(squaredDistances(a, a, 3), 50, 3));
    assert.deepEqual(r5, kthNeighbourRadii(squaredDistances(a, a, 3), 50, 5));
  });
});

describe('precision, recall, density, coverage', () => {
  it('identical samples: precision = recall = coverage = 1, density = (k + 1) / k', () => {
    const real = normalRows('identical', 300, 8);
    const m = manifoldMetrics(real, real, 8);
    assert.equal(m.precision, 1);
    assert.equal(m.recall, 1);
    assert.equal(m.coverage, 1);
    // Each real ball holds its own row and its 5 nearest neighbours (no ties in continuous data).
    close(m.density, 6 / 5, 1e-9, 'density');
  });
  it('disjoint samples: all 0', () => {
    const real = normalRows('a', 200, 4);
    const fake = normalRows('b', 200, 4, 100);
    assert.deepEqual(manifoldMetrics(real, fake, 4), { precision: 0, recall: 0, density: 0, coverage: 0 });
  });
  it('a sample collapsed onto one real point, computed by hand on the line 0..9', () => {
    const real = Float32Array.from({ length: 10 }, (_, i) => i);
    const fake = new Float32Array(20);
    const m = manifoldMetrics(real, fake, 1);
    // Inside real 0's ball: precision 1. The copies' radii are 0, so only real 0 is recalled.
    assert.equal(m.precision, 1);
    assert.equal(m.recall, 0.1);
    // 5-NN radii of 0, 1, 2, 3, 4 are 5, 4, 3, 3, 3: the balls of 0, 1, 2 and 3 hold the point 0.
    assert.equal(m.coverage, 0.4);
    close(m.density, 4 / 5, 1e-12, 'density');
  });
  it('two samples of one distribution: precision, recall, coverage high, density near 1', () => {
    const m = manifoldMetrics(normalRows('p', 1000, 4), normalRows('q', 1000, 4), 4);
    assert.ok(m.precision > 0.8 && m.recall > 0.8 && m.coverage > 0.9, JSON.stringify(m));
    close(m.density, 1, 0.15, 'density');
  });
  it('a sample on half of the data: precision high, recall and coverage low', () => {
    const real = normalRows('r', 1000, 2);
    const fake = normalRows('f', 1000, 2).map((v, i) => (i % 2 === 0 ? Math.abs(v) : v));
    const m = manifoldMetrics(real, fake, 2);
    assert.ok(m.precision > 0.85, `precision ${m.precision}`);
    assert.ok(m.recall < 0.7 && m.coverage < 0.7, JSON.stringify(m));
  });
  it('2000 × 2000 rows take well under two seconds at 64 features and a few at 784', (t) => {
    for (const d of [64, 784]) {
      const real = normalRows('timing-a', 2000, d);
      const fake = normalRows('timing-b', 2000, d);
      const started = performance.now();
      manifoldMetrics(real, fake, d);
      const ms = performance.now() - started;
      t.diagnostic(`manifoldMetrics 2000×2000×${d}: ${ms.toFixed(0)} ms`);
      assert.ok(ms < (d <= 64 ? 3000 : 10000), `${ms} ms`);
    }
  });
});

describe('Fréchet distance', () => {
  it('symmetricEigen diagonalizes a symmetric matrix', () => {
    const { values, vectors } = symmetricEigen([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
    assert.deepEqual(
      Array.from(values, (v) => Math.round(v * 1e9) / 1e9).sort(),
      [1, 3, 5].map((v) => v),
    );
    // A v = λ v for each column.
    for (let k = 0; k < 3; k++) {
      const v = [0, 1, 2].map((i) => vectors![i * 3 + k]);
      const av = [2 * v[0] + v[1], v[0] + 2 * v[1], 5 * v[2]];
      av.forEach((x, i) => close(x, values[k] * v[i], 1e-9));
    }
  });
  it('identical samples: 0', () => {
    const a = normalRows('fd', 500, 16);
    close(frechetDistance(a, a, 16), 0, 1e-8, 'FD');
  });
  it('two 2-D Gaussians: the closed form, Σ₁ and Σ₂ not commuting', () => {
    // Tr (Σ₁^½ Σ₂ Σ₁^½)^½ of 2×2 matrices is √(Tr Σ₁Σ₂ + 2 √(det Σ₁ det Σ₂)).
    const s1 = [2, 0, 0, 0.5];
    const s2 = [1, 0.6, 0.6, 1.5];
    const mu1 = [0, 1];
    const mu2 = [3, -1];
    const trProduct = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3];
    const det = (s: number[]) => s[0] * s[3] - s[1] * s[2];
    const expected = 9 + 4 + (2 + 0.5 + 1 + 1.5) - 2 * Math.sqrt(trProduct + 2 * Math.sqrt(det(s1) * det(s2)));
    close(frechetDistanceOfGaussians(mu1, s1, mu2, s2, 2), expected, 1e-12, 'FD');
  });
  it('samples built to have given means and covariances: the closed form', () => {
    // μ ± √(3/2)·(columns of L) has mean μ and unbiased covariance L Lᵀ.
    const sample = (mu: number[], l: number[]) => {
      const r = Math.sqrt(1.5);
      const rows: number[] = [];
      for (const sign of [1, -1]) for (const k of [0, 1]) rows.push(mu[0] + sign * r * l[k], mu[1] + sign * r * l[2 + k]);
      return rows;
    };
    const l1 = [1, 0, 0.5, 1];
    const l2 = [2, 0, -1, 0.5];
    const cov = (l: number[]) => [l[0] * l[0] + l[1] * l[1], l[0] * l[2] + l[1] * l[3], l[0] * l[2] + l[1] * l[3], l[2] * l[2] + l[3] * l[3]];
    const fit = gaussianFit(sample([1, 2], l1), 2);
    Array.from(fit.covariance).forEach((v, i) => close(v, cov(l1)[i], 1e-12, 'covariance'));
    close(frechetDistance(sample([1, 2], l1), sample([-1, 0], l2), 2), frechetDistanceOfGaussians([1, 2], cov(l1), [-1, 0], cov(l2), 2), 1e-10, 'FD');
  });
  it('in 64 dimensions: a shift c gives ‖c‖², a scale s gives (1 − s)² Tr Σ', () => {
    const d = 64;
    const a = normalRows('shift', 400, d);
    const shifted = a.map((v, i) => v + (i % d) / 10);
    let shift = 0;
    for (let j = 0; j < d; j++) shift += (j / 10) ** 2;
    close(frechetDistance(a, shifted, d), shift, 1e-3 * shift, 'shift');
    const centred = gaussianFit(a, d);
    const zeroMean = a.map((v, i) => v - centred.mean[i % d]);
    let trace = 0;
    for (let j = 0; j < d; j++) trace += centred.covariance[j * d + j];
    close(
      frechetDistance(
        zeroMean,
        zeroMean.map((v) => 3 * v),
        d,
      ),
      4 * trace,
      1e-3 * trace,
      'scale',
    );
  });
  it('a collapsed sample (Σ = 0): ‖μ₁ − μ₂‖² + Tr Σ₁', () => {
    const a = normalRows('c', 300, 3);
    const fit = gaussianFit(a, 3);
    const collapsed = new Float32Array(300 * 3).fill(2);
    let expected = fit.covariance[0] + fit.covariance[4] + fit.covariance[8];
    for (let j = 0; j < 3; j++) expected += (fit.mean[j] - 2) ** 2;
    close(frechetDistance(a, collapsed, 3), expected, 1e-9, 'FD');
  });
});

describe('class metrics', () => {
  const oneHot = (labels: number[], classes: number) => {
    const p = new Float32Array(labels.length * classes);
    labels.forEach((y, i) => (p[i * classes + y] = 1));
    return p;
  };
  it('confident, uniform samples: every class covered, score = classes, KL 0 against uniform data', () => {
    const labels = Array.from({ length: 100 }, (_, i) => i % 10);
    const m = classMetrics(oneHot(labels, 10), 10, labels);
    assert.equal(m.classesCovered, 10);
    close(m.classifierScore, 10, 1e-9, 'score');
    close(m.classKl, 0, 1e-12, 'KL');
  });
  it('a collapsed sample: one class, score 1, KL ln 10 less the smoothing', () => {
    const real = Array.from({ length: 1000 }, (_, i) => i % 10);
    const m = classMetrics(oneHot(new Array<number>(1000).fill(3), 10), 10, real);
    assert.equal(m.classesCovered, 1);
    close(m.classifierScore, 1, 1e-9, 'score');
    // By hand with ½ a count per class: p_g = (1000.5, 0.5, …) / 1005, p_data = 100.5 / 1005 each.
    const pg = 1000.5 / 1005;
    const rest = 0.5 / 1005;
    const pd = 100.5 / 1005;
    close(m.classKl, pg * Math.log(pg / pd) + 9 * rest * Math.log(rest / pd), 1e-12, 'KL');
    assert.ok(m.classKl > 0.98 * Math.log(10));
  });
  it('the score of uncertain samples: uniform p(y|x) gives 1, two confident classes 2', () => {
    close(classifierScore(new Float32Array(40).fill(0.25), 4), 1, 1e-12);
    close(classifierScore(oneHot([0, 1, 0, 1], 4), 4), 2, 1e-12);
  });
  it('argmax and the smoothed histogram', () => {
    assert.deepEqual(Array.from(argmaxClasses([0.1, 0.9, 0.7, 0.3], 2)), [1, 0]);
    assert.deepEqual(Array.from(classHistogram([0, 0, 1], 2)), [(2 + CLASS_SMOOTHING) / 4, (1 + CLASS_SMOOTHING) / 4]);
  });
});

describe('grid KL and JS', () => {
  it('identical samples: 0', () => {
    const a = normalRows('g', 1000, 2);
    assert.deepEqual(gridDivergences(a, a), { gridKl: 0, gridJs: 0 });
  });
  it('disjoint samples: JS near ln 2, KL large', () => {
    const real = normalRows('g1', 2000, 2, 0, 0.1);
    const fake = normalRows('g2', 2000, 2, 50, 0.1);
    const { gridKl, gridJs } = gridDivergences(real, fake);
    // The smoothing's 0.1 of a count in each of the 400 cells is 2% of either histogram's mass, spread over both.
    assert.ok(gridJs > 0.93 * Math.log(2) && gridJs <= Math.log(2), `JS ${gridJs}`);
    assert.ok(gridKl > 5, `KL ${gridKl}`);
  });
  it('by hand: two cells of a 2 × 2 grid', () => {
    // Real points at (0, 0) and (1, 1): the box is [0, 1]² padded by 0.1 on each side; 2 bins.
    const real = [0, 0, 1, 1];
    const fake = [0, 0, 0, 0];
    const s = 0.1;
    const p = [(1 + s) / (2 + 4 * s), s / (2 + 4 * s), s / (2 + 4 * s), (1 + s) / (2 + 4 * s)];
    const q = [(2 + s) / (2 + 4 * s), s / (2 + 4 * s), s / (2 + 4 * s), s / (2 + 4 * s)];
    let kl = 0;
    let js = 0;
    p.forEach((pi, i) => {
      kl += pi * Math.log(pi / q[i]);
      const m = (pi + q[i]) / 2;
      js += 0.5 * pi * Math.log(pi / m) + 0.5 * q[i] * Math.log(q[i] / m);
    });
    const got = gridDivergences(real, fake, 2);
    close(got.gridKl, kl, 1e-12, 'KL');
    close(got.gridJs, js, 1e-12, 'JS');
  });
  it('a generated sample on half of the modes: JS between 0 and ln 2', () => {
    const real = normalRows('h1', 2000, 2, 0, 0.05).map((v, i) => v + (Math.floor(i / 2) % 2 ? 3 : 0));
    const fake = normalRows('h2', 2000, 2, 0, 0.05);
    const { gridJs } = gridDivergences(real, fake);
    // Half of p_data is where p_g is: JS ≈ ln 2 − (3/4) ln (4/3) ≈ 0.48 nats... roughly.
    assert.ok(gridJs > 0.1 && gridJs < 0.6, `JS ${gridJs}`);
  });
});
