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
});
