/** A plausible run of the ring of 8 Gaussians, for the monitor's tests and screenshots. */
import type { MonitorSnapshot } from '../../src/protocol/monitorMessages';
import type { HistogramRecord, MetricsRecord } from '../../src/protocol/runDirectory';
import { Random } from '../../src/trainer/random';

export function metrics(fromStep: number, toStep: number, every = 10): MetricsRecord[] {
  const random = new Random('metrics');
  const records: MetricsRecord[] = [];
  for (let step = fromStep; step <= toStep; step += every) {
    const t = step / 3000;
    const dReal = 0.5 + 0.12 * Math.exp(-3 * t) * Math.sin(step / 90) + 0.02 * random.normal();
    const dFake = 0.5 - 0.1 * Math.exp(-2 * t) * Math.cos(step / 70) + 0.02 * random.normal();
    records.push({
      step,
      time: 1_790_000_000_000 + step * 60,
      dLoss: -0.5 * (Math.log(dReal) + Math.log(1 - dFake)) + 0.01 * random.normal(),
      gLoss: -0.5 * Math.log(dFake) + 0.01 * random.normal(),
      dReal,
      dFake,
      stepsPerSecond: 16 + random.normal(),
    });
  }
  return records;
}

export function histogram(step: number): HistogramRecord {
  const edges = Array.from({ length: 21 }, (_, i) => i / 20);
  const bell = (centre: number, width: number) => edges.slice(0, 20).map((e) => Math.round(100 * Math.exp(-(((e + 0.025 - centre) / width) ** 2)) * 0.28));
  return { step, edges, dReal: bell(0.6, 0.08), dFake: bell(0.42, 0.1) };
}

export function ring(count: number, spread: number, seed: string, modes = 8): number[][] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => {
    const angle = (2 * Math.PI * random.int(modes)) / 8;
    return [Math.cos(angle) + spread * random.normal(), Math.sin(angle) + spread * random.normal()];
  });
}

export function snapshot(overrides: Partial<MonitorSnapshot['run']> = {}, steps = 1500): MonitorSnapshot {
  return {
    run: {
      runId: 'ring8-20261122-180000-ab12',
      name: 'ring8',
      status: 'running',
      backend: 'wasm',
      step: steps,
      totalSteps: 3000,
      error: null,
      dataDimension: 2,
      ...overrides,
    },
    metrics: metrics(10, steps),
    latestHistogram: histogram(steps),
    latestSamples: { step: steps, points: ring(500, 0.04, 'fake', 7) },
    realPoints: ring(500, 0.01, 'real'),
    imageSteps: [],
    latestImage: null,
    realImage: null,
    cost: 'cross-entropy',
  };
}

/**
 * A WGAN-GP run's records (the shape of examples/ring8-wgan-gp.gan.json's): D(x) and D(G(z)) are
 * rank fractions that sum to 1, the raw critic means drift together (their offset is arbitrary),
 * the Wasserstein estimate and the penalty settle.
 */
export function wganGpMetrics(fromStep: number, toStep: number, every = 10): MetricsRecord[] {
  const random = new Random('wgan-gp');
  const records: MetricsRecord[] = [];
  for (let step = fromStep; step <= toStep; step += every) {
    const t = step / 3000;
    const wassersteinEstimate = 0.09 + 0.5 * Math.exp(-6 * t) + 0.02 * random.normal();
    const gradientPenalty = 0.03 + 0.4 * Math.exp(-5 * t) * Math.abs(1 + 0.3 * random.normal());
    const criticFake = -4 * Math.tanh(3 * t) + 0.1 * random.normal();
    const criticReal = criticFake + wassersteinEstimate;
    const dReal = Math.min(1, Math.max(0, 0.5 + 0.4 * Math.tanh(2 * wassersteinEstimate) + 0.03 * random.normal()));
    records.push({
      step,
      time: 1_790_000_000_000 + step * 280,
      dLoss: -wassersteinEstimate + gradientPenalty,
      gLoss: -criticFake,
      dReal,
      dFake: 1 - dReal,
      stepsPerSecond: 3.4 + 0.2 * random.normal(),
      criticReal,
      criticFake,
      wassersteinEstimate,
      gradientPenalty,
    });
  }
  return records;
}

export function wganGpSnapshot(overrides: Partial<MonitorSnapshot['run']> = {}, steps = 1500): MonitorSnapshot {
  const base = snapshot({ runId: 'ring8-wgan-gp-20261203-112916-f897', name: 'ring8-wgan-gp', ...overrides }, steps);
  return { ...base, metrics: wganGpMetrics(10, steps), cost: 'wgan-gp' };
}
