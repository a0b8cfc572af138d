/** The metrics lines of the CLI's run summary: what it prints for each kind of record, and that its hints are true for it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetricsRecord } from '../../src/protocol/runDirectory';
import { metricsSummaryLines } from '../../src/trainer/summary';

const base: MetricsRecord = { step: 600, time: 0, dLoss: 0.6931, gLoss: 0.7, dReal: 0.51, dFake: 0.48, stepsPerSecond: 3 };

describe('CLI run summary', () => {
  it('semi-supervised: the test accuracy of D as a classifier', () => {
    const lines = metricsSummaryLines({ ...base, testAccuracy: 0.9123 });
    assert.equal(lines[lines.length - 1], '  classifier   test accuracy 0.9123  (semi-supervised D on the held-out examples)');
  });

  it('cross-entropy: D(x) and D(G(z)) are probabilities, and an optimal D at the solution gives 0.5', () => {
    const lines = metricsSummaryLines(base);
    assert.deepEqual(lines, ['  final loss   D 0.6931  G 0.7000', "  D(x) 0.5100  D(G(z)) 0.4800  (an optimal D at the game's solution gives 0.5)"]);
  });

  it('wgan-gp: rank fractions, the Wasserstein estimate and the penalty, and the raw critic means', () => {
    const lines = metricsSummaryLines({
      ...base,
      dReal: 0.693,
      dFake: 0.307,
      criticReal: -3.807,
      criticFake: -4.058,
      wassersteinEstimate: 0.251,
      gradientPenalty: 0.2539,
    });
    assert.equal(
      lines[1],
      "  D(x) 0.6930  D(G(z)) 0.3070  (rank fractions, not probabilities: 0.5 when D cannot tell real from generated, as at the game's solution)",
    );
    assert.ok(!lines.some((line) => line.includes('optimal D')), 'no σ-probability hint for rank fractions');
    assert.equal(lines[2], "  critic       Wasserstein estimate E[D(x)] - E[D(G(z))] 0.2510  gradient penalty 0.2539  (W1 is 0 at the game's solution)");
    assert.equal(lines[3], "  raw scores   E[D(x)] -3.807  E[D(G(z))] -4.058  (a critic's offset is arbitrary: only their difference counts)");
  });

  it('wasserstein (clipping): the estimate without a penalty; hinge: raw scores only', () => {
    const wgan = metricsSummaryLines({ ...base, criticReal: 0.01, criticFake: 0.004, wassersteinEstimate: 0.006 });
    assert.equal(wgan[2], "  critic       Wasserstein estimate E[D(x)] - E[D(G(z))] 0.006000  (W1 is 0 at the game's solution)");
    assert.ok(!wgan.some((line) => line.includes('penalty')));
    const hinge = metricsSummaryLines({ ...base, criticReal: 1.2, criticFake: -0.9 });
    assert.equal(hinge.length, 3);
    assert.match(hinge[1], /rank fractions/);
    assert.equal(hinge[2], "  raw scores   E[D(x)] 1.200  E[D(G(z))] -0.9000  (D's raw output, not a probability)");
  });

  it('prints dashes for a value the trainer could not compute (NaN arrives as null)', () => {
    const lines = metricsSummaryLines({ ...base, wassersteinEstimate: null as unknown as number, criticReal: 1, criticFake: 2 });
    assert.match(lines[2], /Wasserstein estimate E\[D\(x\)\] - E\[D\(G\(z\)\)\] --/);
  });

  it('the evaluation of the last step: manifold metrics on their features, classes for MNIST, modes and grid for 2-D', () => {
    const mnist = metricsSummaryLines({
      ...base,
      evaluationFeatures: 'mnist-classifier',
      precision: 0.9,
      recall: 0.85,
      density: 1.02,
      coverage: 0.97,
      classesCovered: 10,
      classKl: 0.0117,
      classifierScore: 9.5,
      frechetDistance: 4.25,
    });
    assert.equal(
      mnist[2],
      "  evaluation   precision 0.9000  recall 0.8500  density 1.020  coverage 0.9700  (on the MNIST classifier's features; 1 when G matches the data)",
    );
    assert.equal(mnist[3], '  classes      10 covered  class KL 0.01170  classifier score 9.500  Fréchet distance 4.250');
    const ring = metricsSummaryLines({
      ...base,
      evaluationFeatures: 'points',
      precision: 0.5,
      recall: 0.5,
      density: 0.5,
      coverage: 0.5,
      modesCovered: 8,
      highQuality: 0.9,
      modeReverseKl: 0.01,
      gridKl: 0.2,
      gridJs: 0.05,
    });
    assert.match(ring[3], /^ {2}mixture {6}8 modes covered, 90\.00% high quality, mode KL 0\.01000/);
    assert.match(ring[4], /^ {2}grid {9}KL\(p_data ‖ p_g\) 0\.2000 {2}JS 0\.05000 nats/);
    assert.equal(metricsSummaryLines(base).length, 2, 'no evaluation lines without an evaluation');
  });
});
