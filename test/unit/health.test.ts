/** Health alerts on hand-made metrics and coverage: when each is raised, and that it is raised once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig, type GanConfig } from '../../src/protocol/config';
import type { HealthAlert, MetricsRecord } from '../../src/protocol/runDirectory';
import { HEALTH_ALERT_KINDS, HEALTH_ALERT_VIEWS, alertLine, alertView } from '../../src/protocol/healthAlerts';
import { CROSSINGS, HealthWatch, HOP_WINDOW, measureSwing, NORM_BLOCK, OSCILLATION_WINDOW, SWING } from '../../src/trainer/health';
import { Random } from '../../src/trainer/random';

function config(generatorCost: 'minimax' | 'non-saturating' = 'non-saturating'): GanConfig {
  const result = validateConfig({
    name: 'health',
    data: { type: 'ring' },
    generator: { type: 'mlp' },
    discriminator: { type: 'mlp' },
    training: { steps: 3000, generatorCost },
  });
  assert.ok(result.ok);
  return result.config;
}

const record = (step: number, dReal: number, dFake: number): MetricsRecord => ({ step, time: 0, dLoss: 0.1, gLoss: 3, dReal, dFake, stepsPerSecond: 10 });
const coverage = (modesCovered: number) => ({ modesCovered, modeCount: 8, highQuality: 0.5, reverseKl: 0 });
const withNorm = (r: MetricsRecord, norm: number): MetricsRecord => ({ ...r, generatorGradientNorm: norm });
/** One mode holding most of a low-coverage sample: the mode histogram of a collapsed G. */
const collapsedOn = (mode: number, covered = 2) => ({
  ...coverage(covered),
  modeCounts: Array.from({ length: 8 }, (_, j) => (j === mode ? 90 : j === (mode + 1) % 8 && covered > 1 ? 10 : 0)),
});

/** Records every 10 steps with D's margin D(x) − D(G(z)) = margin(step) and minibatch noise (σ = `noise` on each output). */
function game(count: number, margin: (step: number) => number, noise = 0.03, seed = 'game'): MetricsRecord[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    const step = 10 * (i + 1);
    const m = margin(step);
    const clip = (x: number) => Math.min(1, Math.max(0, x));
    return record(step, clip(0.5 + m / 2 + noise * random.normal()), clip(0.5 - m / 2 + noise * random.normal()));
  });
}
const kindsOf = (watch: HealthWatch, records: MetricsRecord[]) => records.flatMap((r) => watch.onMetrics(r)).map((a) => a.kind);

describe('health alerts', () => {
  it('says the discriminator wins once D(x) > 0.9 and D(G(z)) < 0.1 on 20 logged steps in a row, once', () => {
    const watch = new HealthWatch(config());
    const raised: HealthAlert[] = [];
    for (let i = 1; i <= 19; i++) raised.push(...watch.onMetrics(record(10 * i, 0.95, 0.04)));
    assert.equal(raised.length, 0, 'not before the window is full');
    // One step where G fools D breaks the run of evidence.
    raised.push(...watch.onMetrics(record(200, 0.95, 0.3)));
    for (let i = 21; i <= 39; i++) raised.push(...watch.onMetrics(record(10 * i, 0.97, 0.02)));
    assert.equal(raised.length, 0);
    raised.push(...watch.onMetrics(record(400, 0.97, 0.02)));
    assert.equal(raised.length, 1);
    assert.equal(raised[0].kind, 'discriminator-wins');
    assert.equal(raised[0].step, 400);
    assert.match(raised[0].message, /from 210 to 400/);
    assert.match(raised[0].advice, /learning rate/);
    for (let i = 41; i <= 80; i++) assert.deepEqual(watch.onMetrics(record(10 * i, 0.99, 0.01)), [], 'raised once');
  });

  it('says the minimax cost saturates only for the minimax cost', () => {
    const kinds = (cost: 'minimax' | 'non-saturating') => {
      const watch = new HealthWatch(config(cost));
      return Array.from({ length: 20 }, (_, i) => watch.onMetrics(record(10 * (i + 1), 0.6, 0.03)))
        .flat()
        .map((a) => a.kind);
    };
    assert.deepEqual(kinds('minimax'), ['saturating-generator']);
    assert.deepEqual(kinds('non-saturating'), []);
  });

  it('says G collapsed when its coverage falls to half the modes or half its best, after the first fifth of the run', () => {
    const watch = new HealthWatch(config());
    // Early samples are narrow because G has not spread yet: no alert before step 600 (20 % of 3,000).
    assert.deepEqual(watch.onCoverage(100, coverage(1), 3000), []);
    assert.deepEqual(watch.onCoverage(500, coverage(8), 3000), []);
    assert.deepEqual(watch.onCoverage(700, coverage(6), 3000), [], '6 of 8 is no collapse');
    const [alert] = watch.onCoverage(900, coverage(4), 3000);
    assert.equal(alert.kind, 'mode-collapse');
    assert.equal(alert.message, 'mode collapse: G covers 4 of 8 modes at step 900 (8 at step 500)');
    assert.deepEqual(watch.onCoverage(1000, coverage(1), 3000), [], 'raised once');
  });

  it('does not advise the cost the run already has', () => {
    const result = validateConfig({
      name: 'h',
      data: { type: 'ring' },
      generator: { type: 'mlp' },
      discriminator: { type: 'mlp' },
      training: { cost: { type: 'wgan-gp' } },
    });
    assert.ok(result.ok);
    const watch = new HealthWatch(result.config);
    watch.onCoverage(500, coverage(8), 1000);
    const [alert] = watch.onCoverage(900, coverage(2), 1000);
    assert.doesNotMatch(alert.advice, /wgan-gp/);
    assert.match(alert.advice, /PacGAN/);
  });

  it("with G's gradient norm in the records, says D wins only when the norm vanishes too, relative to the run's own largest block median", () => {
    const watch = new HealthWatch(config());
    const raised: HealthAlert[] = [];
    const phase = (from: number, to: number, dReal: number, dFake: number, norm: (i: number) => number) => {
      for (let i = from; i <= to; i++) raised.push(...watch.onMetrics(withNorm(record(10 * i, dReal, dFake), norm(i))));
    };
    // At the start D cannot tell yet and G's gradient is small; then G learns with norms about 100 (a spike of one minibatch does not count).
    phase(1, 20, 0.5, 0.5, () => 0.35);
    assert.deepEqual(watch.referenceNorm(), { median: 0.35, from: 10, to: 50 }, `the first block of ${NORM_BLOCK}`);
    phase(21, 40, 0.7, 0.3, (i) => (i === 30 ? 1000 : 100));
    assert.deepEqual(watch.referenceNorm(), { median: 100, from: 210, to: 250 }, 'the largest block median');
    // D wins on its outputs, but G still gets a gradient (a non-saturating cost does that): no alert.
    phase(41, 80, 0.95, 0.04, () => 40);
    assert.equal(raised.length, 0);
    assert.equal(watch.referenceNorm()?.median, 100, 'smaller blocks do not lower it');
    // The gradient vanishes below 10 % of the reference (10): D wins once most of the window's norms have.
    phase(81, 90, 0.95, 0.04, () => 5);
    assert.equal(raised.length, 0, 'half the window is not most of it');
    phase(91, 91, 0.95, 0.04, () => 5);
    assert.equal(raised.length, 1);
    assert.equal(raised[0].kind, 'discriminator-wins');
    assert.equal(raised[0].step, 910);
    assert.equal(
      raised[0].message,
      "the discriminator wins: D(x) > 0.9 and D(G(z)) < 0.1 on every logged step from 720 to 910, and G's gradient norm ‖∇J(G)‖₂ vanishes: " +
        'its median there is 5.00, under 10% of 100, its median over steps 210–250, so G gets little to learn from',
    );
  });

  it('without a reference norm yet, records with a norm do not say D wins; records without one keep the D-only rule', () => {
    const early = new HealthWatch(config());
    assert.deepEqual(
      kindsOf(
        early,
        Array.from({ length: 19 }, (_, i) => withNorm(record(10 * (i + 1), 0.95, 0.04), 0.01)),
      ),
      [],
    );
    const old = new HealthWatch(config());
    assert.deepEqual(
      kindsOf(
        old,
        Array.from({ length: 20 }, (_, i) => record(10 * (i + 1), 0.95, 0.04)),
      ),
      ['discriminator-wins'],
    );
  });

  it('says the game oscillates when D’s margin swings in cycles around a flat trend over 100 logged steps', () => {
    const watch = new HealthWatch(config());
    // D and G undo each other's progress every 300 steps: the margin swings ±0.5 (noise on top).
    const records = game(OSCILLATION_WINDOW + 20, (step) => 0.1 + 0.5 * Math.sin((2 * Math.PI * step) / 300));
    const alerts = records.flatMap((r) => watch.onMetrics(r));
    assert.deepEqual(
      alerts.map((a) => a.kind),
      ['oscillation'],
    );
    const [alert] = alerts;
    assert.equal(alert.step, 1000, 'at the first full window');
    assert.match(
      alert.message,
      /^the game oscillates: from step 10 to 1000, D's margin D\(x\) − D\(G\(z\)\) swings \d+ times across a flat trend \(RMS 0\.3\d\d about it/,
    );
    assert.match(alert.advice, /lower both learning rates/);
    const swing = measureSwing(records.slice(0, OSCILLATION_WINDOW).map((r) => r.dReal - r.dFake));
    assert.ok(swing.crossings >= CROSSINGS && swing.rms >= SWING, JSON.stringify(swing));
  });

  it('does not call noise, a drift, one jump or slow waves an oscillation', () => {
    const cases: Record<string, MetricsRecord[]> = {
      'minibatch noise at equilibrium': game(300, () => 0.1, 0.15),
      'D slowly winning': game(300, (step) => Math.min(0.9, step / 3000)),
      'a drift with wiggles': game(300, (step) => step / 3000 + 0.1 * Math.sin(step / 50)),
      'one jump': game(300, (step) => (step < 1500 ? 0 : 0.8)),
      'small cycles': game(300, (step) => 0.1 + 0.1 * Math.sin((2 * Math.PI * step) / 300)),
      'one slow wave a window': game(300, (step) => 0.5 * Math.sin((2 * Math.PI * step) / 1500)),
    };
    for (const [name, records] of Object.entries(cases)) {
      assert.deepEqual(
        kindsOf(new HealthWatch(config()), records).filter((k) => k === 'oscillation'),
        [],
        name,
      );
    }
  });

  it('says G hops between modes when the dominant mode of a low-coverage sample keeps changing, once', () => {
    const watch = new HealthWatch(config());
    const raised: HealthAlert[] = [];
    // Before the warm-up ends nothing is said; the samples are remembered.
    let step = 0;
    for (const mode of [0, 0, 3, 3, 5]) raised.push(...watch.onCoverage((step += 100), collapsedOn(mode), 3000));
    assert.equal(raised.length, 0);
    // Collapsed on one mode and staying there is mode collapse, not a cycle.
    for (let i = 0; i < HOP_WINDOW; i++) raised.push(...watch.onCoverage((step += 100), collapsedOn(5), 3000));
    assert.deepEqual(
      raised.map((a) => a.kind),
      ['mode-collapse'],
    );
    for (const mode of [1, 1, 6, 2, 4]) raised.push(...watch.onCoverage((step += 100), collapsedOn(mode), 3000));
    assert.deepEqual(
      raised.map((a) => a.kind),
      ['mode-collapse', 'oscillation'],
    );
    const hop = raised[1];
    assert.equal(hop.step, 2000);
    assert.equal(
      hop.message,
      'G hops between modes: the mode most of its samples fall on changed 4 times over the 10 samples from step 1100 to 2000 (modes 5 → 5 → 5 → 5 → 5 → 1 → 1 → 6 → 2 → 4), covering at most 2 of 8 modes',
    );
    assert.match(hop.advice, /unrollSteps/);
    for (const mode of [3, 4, 5, 6]) assert.deepEqual(watch.onCoverage((step += 100), collapsedOn(mode), 3000), [], 'raised once');
  });

  it('does not call a G that covers the modes hopping, whichever mode holds the most samples', () => {
    const watch = new HealthWatch(config());
    const raised = Array.from({ length: 30 }, (_, i) => watch.onCoverage(100 * (i + 1), collapsedOn(i % 8, 8), 3000)).flat();
    assert.deepEqual(raised, []);
  });

  it('a divergence alert gives the step, the values, the checkpoint kept and the advice', () => {
    const alert = new HealthWatch(config()).onDivergence(150, 'the losses became NaN (D) and Infinity (G)', 100);
    assert.deepEqual(alert, {
      kind: 'divergence',
      step: 150,
      message: 'the run diverged at step 150: the losses became NaN (D) and Infinity (G); the last finite checkpoint is step 100',
      advice:
        "lower the learning rates (now G 0.0002, D 0.0002), a gradient penalty (the wgan-gp cost) or spectral norm in D, and check the data's scaling " +
        '(inputs in [-1, 1] or standardized); then fork the run from step 100 with the change (or resume it from there)',
    });
    assert.match(new HealthWatch(config()).onDivergence(3, 'x', null).message, /no checkpoint was written yet$/);
  });

  it('every kind has a view; a kind of a newer trainer shows as a plain alert', () => {
    assert.deepEqual(HEALTH_ALERT_KINDS, ['discriminator-wins', 'saturating-generator', 'mode-collapse', 'oscillation', 'divergence']);
    for (const kind of HEALTH_ALERT_KINDS) assert.ok(HEALTH_ALERT_VIEWS[kind].title, kind);
    assert.deepEqual(
      HEALTH_ALERT_KINDS.filter((k) => alertView(k).endsRun),
      ['divergence'],
    );
    assert.deepEqual(alertView('vanishing-everything'), { title: 'vanishing-everything', endsRun: null });
    assert.deepEqual(alertView('constructor'), { title: 'constructor', endsRun: null }, 'not an Object.prototype key');
    assert.equal(
      alertLine({ step: 900, message: 'mode collapse: G covers 1 of 8 modes', advice: 'pack D' }),
      'step 900: mode collapse: G covers 1 of 8 modes. Usually helps: pack D.',
    );
  });

  it('does not raise again what an earlier part of the run (before a resume) raised', () => {
    const watch = new HealthWatch(config(), [{ kind: 'mode-collapse', step: 900, message: '', advice: '' }]);
    assert.deepEqual(watch.onCoverage(1200, coverage(1), 3000), []);
  });
  it('image mode collapse: the classes G draws down to half, or the coverage down to half its best, after the first fifth', () => {
    const evaluation = (step: number, classesCovered: number, coverage: number): MetricsRecord => ({
      ...record(step, 0.6, 0.4),
      classesCovered,
      coverage,
      evaluationFeatures: 'mnist-classifier',
    });
    const few = new HealthWatch(config());
    assert.deepEqual(few.onEvaluation(evaluation(250, 3, 0.1), 10, 3000), [], 'early: G has not spread out yet');
    assert.deepEqual(few.onEvaluation(evaluation(750, 9, 0.5), 10, 3000), []);
    const [alert] = few.onEvaluation(evaluation(1000, 5, 0.45), 10, 3000);
    assert.equal(alert.kind, 'mode-collapse');
    assert.match(alert.message, /G's samples fall in 5 of the 10 classes \(MNIST classifier\) at step 1000/);
    assert.deepEqual(few.onEvaluation(evaluation(1250, 2, 0.1), 10, 3000), [], 'told once');
    const fell = new HealthWatch(config());
    assert.deepEqual(fell.onEvaluation(evaluation(750, 10, 0.6), 10, 3000), []);
    assert.deepEqual(fell.onEvaluation(evaluation(1000, 10, 0.4), 10, 3000), [], 'a dip is no collapse');
    const [fallen] = fell.onEvaluation(evaluation(1250, 10, 0.29), 10, 3000);
    assert.match(fallen.message, /coverage of the real samples fell to 0\.290 at step 1250 from 0\.600 at step 750/);
  });
});
