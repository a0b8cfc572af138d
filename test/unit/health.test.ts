/** Health alerts on hand-made metrics and coverage: when each is raised, and that it is raised once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig, type GanConfig } from '../../src/protocol/config';
import type { HealthAlert, MetricsRecord } from '../../src/protocol/runDirectory';
import { HealthWatch } from '../../src/trainer/health';

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

  it('does not raise again what an earlier part of the run (before a resume) raised', () => {
    const watch = new HealthWatch(config(), [{ kind: 'mode-collapse', step: 900, message: '', advice: '' }]);
    assert.deepEqual(watch.onCoverage(1200, coverage(1), 3000), []);
  });
});
