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
  };
}
