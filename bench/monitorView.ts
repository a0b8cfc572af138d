/**
 * `npm run bench:monitor`: the run monitor with a million logged points. The monitor's real bundle
 * in Debian's Chromium (hosted as test/webview/page.ts hosts it: acquireVsCodeApi mocked, VS Code's
 * theme variables), fed a `monitor/didLoad` snapshot of BENCH_POINTS (default 1,000,000) metrics
 * records and then live `monitor/didAppendMetrics` as a trainer reports them. Measured:
 *
 * - load: posting the snapshot → the frame that shows its newest step;
 * - per update: posting the message → the end of the frame that shows it (the loss chart's
 *   `data-last-step`, which the monitor sets as it draws, checked after each frame's paint);
 * - responsiveness: long tasks (PerformanceObserver) during the live phases, and for scripted
 *   mouse moves over the loss chart (uPlot's cursor and legend follow them) the input delay
 *   (handler time − event time) and the time to the frame after;
 * - the JS heap with typed arrays' backing stores (CDP Runtime.getHeapUsage after a forced GC), after the load and at the end;
 * - the host: building the snapshot from a metrics.jsonl of as many lines (and a histograms.jsonl
 *   of a fifth as many), and the size of its message.
 *
 * Live phases: `single` one record a message every 50 ms (a trainer logging every step at 20
 * steps/s), `batch` 100 records a message every 250 ms (a follower's poll of another process's
 * run), `burst` 100 one-record messages at once (a hidden panel's backlog) → the frame that shows
 * the last. Each scenario runs BENCH_REPEATS (default 3) times in a fresh page; figures are the
 * median and p95 over all of them. BENCH_PROTOCOL=records sends the snapshot's records all as
 * objects (the protocol before MetricsHistory); MONITOR_DIST points at another build's dist/
 * (e.g. the monitor before this work) and implies it; BENCH_HOST=0 skips the host side,
 * BENCH_WEBVIEW=0 the webview.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { HostToMonitorMessage } from '../src/protocol/monitorMessages';
import type { MetricsRecord } from '../src/protocol/runDirectory';
import { readSnapshotMetrics } from '../src/runs/metricsHistory';
import { readHistograms, readMetrics } from '../src/runs/runReader';
import { loadSnapshot } from '../src/runs/runSnapshot';
import { launchChromium, openWebview, ROOT } from '../test/webview/page';

const POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const DIST = process.env.MONITOR_DIST ? path.resolve(process.env.MONITOR_DIST) : path.join(ROOT, 'dist');
const PROTOCOL = process.env.BENCH_PROTOCOL ?? (process.env.MONITOR_DIST ? 'records' : 'columns');
const HOST = process.env.BENCH_HOST !== '0';
const WEBVIEW = process.env.BENCH_WEBVIEW !== '0';
/** Steps between logged records. */
const EVERY = 10;
const OPTIONAL_KEYS = ['generatorGradientNorm', 'generatorLearningRate', 'discriminatorLearningRate', 'dStepsPerGStep'] as const;

const quantile = (values: number[], q: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (values: number[]) => quantile(values, 0.5);
const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '--');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Runs in the page: builds the snapshot (a plausible GAN's records, one spike, optional metrics on
 * every record when asked) and keeps it in `window.benchSnapshot`. Self-contained: it is sent as source.
 */
function buildSnapshotInPage(args: { points: number; every: number; optional: boolean; protocol: string; tail: number; keys: readonly string[] }): number {
  const { points, every, optional, protocol, tail, keys } = args;
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const record = (i: number) => {
    const step = (i + 1) * every;
    const t = step / 3e6;
    const dReal = 0.5 + 0.12 * Math.exp(-3 * t) * Math.sin(step / 900) + 0.04 * noise();
    const dFake = 0.5 - 0.1 * Math.exp(-2 * t) * Math.cos(step / 700) + 0.04 * noise();
    const r: Record<string, number> = {
      step,
      time: 1_790_000_000_000 + step * 60,
      dLoss: -0.5 * (Math.log(dReal) + Math.log(1 - dFake)) + 0.02 * noise() + (i === Math.floor(points * 0.37) ? 40 : 0),
      gLoss: -0.5 * Math.log(dFake) + 0.02 * noise(),
      dReal,
      dFake,
      stepsPerSecond: 16 + noise(),
    };
    if (optional) {
      r.generatorGradientNorm = 0.8 + 0.3 * noise();
      r.generatorLearningRate = 2e-4 * (1 - step / (points * every * 2));
      r.discriminatorLearningRate = 2e-4;
      r.dStepsPerGStep = 1;
    }
    return r;
  };
  const run = {
    runId: 'bench-20261203-150000-ab12',
    name: 'bench',
    status: 'running',
    backend: 'wasm',
    step: points * every,
    totalSteps: points * every * 2,
    error: null,
    dataDimension: 2,
  };
  const base = { run, latestHistogram: null, latestSamples: null, realPoints: null, imageSteps: [], latestImage: null, realImage: null, cost: 'cross-entropy' };
  let snapshot: Record<string, unknown>;
  if (protocol === 'records') {
    snapshot = { ...base, metrics: Array.from({ length: points }, (_, i) => record(i)) };
  } else {
    const n = Math.max(0, points - tail);
    const column = () => new Float64Array(n);
    const history: Record<string, unknown> = { step: column(), dLoss: column(), gLoss: column(), dReal: column(), dFake: column(), evaluationFeatures: null };
    const opt: Record<string, Float64Array> = {};
    if (optional) for (const key of keys) opt[key] = column();
    for (let i = 0; i < n; i++) {
      const r = record(i);
      for (const key of ['step', 'dLoss', 'gLoss', 'dReal', 'dFake']) (history[key] as Float64Array)[i] = r[key];
      for (const key of Object.keys(opt)) opt[key][i] = r[key];
    }
    history.optional = opt;
    snapshot = { ...base, history, metrics: Array.from({ length: points - n }, (_, i) => record(n + i)) };
  }
  (window as unknown as { benchSnapshot: unknown; benchRecord: unknown }).benchSnapshot = snapshot;
  (window as unknown as { benchRecord: unknown }).benchRecord = record;
  return points * every;
}

interface PhaseResult {
  latencies: number[];
  longTasks: number[];
  frames?: number;
}

/** Runs in the page: posts messages as a trainer would and times each to the frame that shows it. */
function livePhaseInPage(args: { phase: 'single' | 'batch' | 'burst'; from: number; count: number }): Promise<PhaseResult> {
  const { phase, from, count } = args;
  const w = window as unknown as { benchRecord: (i: number) => Record<string, number> };
  const chart = document.querySelector<HTMLElement>('#loss-chart')!;
  const longTasks: number[] = [];
  const observer = new PerformanceObserver((list) => list.getEntries().forEach((e) => longTasks.push(e.duration)));
  observer.observe({ type: 'longtask' });
  /** After each frame's paint (a task after the frame's callbacks), until the chart shows `step`. */
  const drawn = (step: number, frames = { n: 0 }) =>
    new Promise<number>((resolve) => {
      const afterFrame = () => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          frames.n++;
          if (Number(chart.dataset.lastStep) >= step) resolve(performance.now());
          else requestAnimationFrame(afterFrame);
        };
        channel.port2.postMessage(0);
      };
      requestAnimationFrame(afterFrame);
    });
  const sleep = (t: number) => new Promise((resolve) => setTimeout(resolve, t));
  const post = (records: Record<string, number>[]) => window.postMessage({ type: 'monitor/didAppendMetrics', records }, '*');
  return (async () => {
    const latencies: number[] = [];
    let i = from;
    let frames: number | undefined;
    if (phase === 'burst') {
      const t0 = performance.now();
      const counter = { n: 0 };
      for (let k = 0; k < count; k++) post([w.benchRecord(i++)]);
      latencies.push((await drawn(w.benchRecord(i - 1).step, counter)) - t0);
      frames = counter.n;
    } else {
      const size = phase === 'single' ? 1 : 100;
      const interval = phase === 'single' ? 50 : 250;
      for (let k = 0; k < count; k++) {
        const records = Array.from({ length: size }, () => w.benchRecord(i++));
        const t0 = performance.now();
        post(records);
        latencies.push((await drawn(records[records.length - 1].step)) - t0);
        await sleep(Math.max(0, interval - (performance.now() - t0)));
      }
    }
    await sleep(100);
    observer.disconnect();
    return { latencies, longTasks, frames, next: i } as PhaseResult & { next: number };
  })();
}

async function heap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  // The JS heap and the typed arrays' backing stores (outside the heap).
  const { usedSize, backingStorageSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
  await cdp.detach();
  return usedSize + (backingStorageSize ?? 0);
}

/** Moves the mouse over the loss chart until `done`; returns each move's input delay and time to the next frame. */
async function scriptedInput(page: Page, done: () => boolean): Promise<{ delay: number[]; toFrame: number[] }> {
  await page.evaluate(() => {
    const w = window as unknown as { inputTimes: { delay: number[]; toFrame: number[] } };
    w.inputTimes = { delay: [], toFrame: [] };
    window.addEventListener('mousemove', (event) => {
      const now = performance.now();
      w.inputTimes.delay.push(now - event.timeStamp);
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => w.inputTimes.toFrame.push(performance.now() - event.timeStamp);
        channel.port2.postMessage(0);
      });
    });
  });
  const box = await page.locator('#loss-chart').boundingBox();
  let k = 0;
  while (!done() && box) {
    await page.mouse.move(box.x + 80 + ((k * 37) % Math.max(1, box.width - 160)), box.y + box.height / 2);
    k++;
    await page.waitForTimeout(100);
  }
  // Off the chart again: the legend shows the newest values.
  await page.mouse.move(2, 2);
  return page.evaluate(() => (window as unknown as { inputTimes: { delay: number[]; toFrame: number[] } }).inputTimes);
}

interface Scenario {
  optional: boolean;
}

async function runWebview(): Promise<Record<string, unknown>[]> {
  const browser = await launchChromium();
  const results: Record<string, unknown>[] = [];
  try {
    for (const scenario of [{ optional: false }, { optional: true }] satisfies Scenario[]) {
      const loads: number[] = [];
      const phases: Record<string, PhaseResult[]> = { single: [], batch: [], burst: [] };
      const inputs = { delay: [] as number[], toFrame: [] as number[] };
      const heaps = { loaded: [] as number[], end: [] as number[] };
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        const page = await openWebview(browser, 'dark', 'monitor', { width: 1200, height: 800 }, DIST);
        // (tsx compiles this file with esbuild's keepNames: the functions sent to the page call __name.)
        await page.evaluate('window.__name = (f) => f');
        const lastStep = await page.evaluate(buildSnapshotInPage, {
          points: POINTS,
          every: EVERY,
          optional: scenario.optional,
          protocol: PROTOCOL,
          tail: 1000,
          keys: OPTIONAL_KEYS,
        });
        const load = await page.evaluate(
          (step) =>
            new Promise<number>((resolve) => {
              const w = window as unknown as { benchSnapshot: unknown };
              const chart = document.querySelector<HTMLElement>('#loss-chart')!;
              const t0 = performance.now();
              window.postMessage({ type: 'monitor/didLoad', snapshot: w.benchSnapshot, state: { runDir: '/runs/bench' } }, '*');
              w.benchSnapshot = undefined;
              const afterFrame = () => {
                const channel = new MessageChannel();
                channel.port1.onmessage = () => (Number(chart.dataset.lastStep) >= step ? resolve(performance.now() - t0) : requestAnimationFrame(afterFrame));
                channel.port2.postMessage(0);
              };
              requestAnimationFrame(afterFrame);
            }),
          lastStep,
        );
        loads.push(load);
        heaps.loaded.push(await heap(page));
        let from = POINTS;
        // BENCH_PROFILE=file.cpuprofile: the page's CPU profile over the first repeat's live phases (Chrome DevTools opens it).
        const profile = process.env.BENCH_PROFILE && repeat === 0 ? await page.context().newCDPSession(page) : null;
        if (profile) {
          await profile.send('Profiler.enable');
          await profile.send('Profiler.start');
        }
        for (const [phase, count] of [
          ['single', 100],
          ['batch', 20],
          ['burst', 100],
        ] as const) {
          let finished = false;
          const input = phase === 'burst' ? Promise.resolve({ delay: [], toFrame: [] }) : scriptedInput(page, () => finished);
          const result = (await page.evaluate(livePhaseInPage, { phase, from, count })) as PhaseResult & { next: number };
          finished = true;
          const times = await input;
          inputs.delay.push(...times.delay);
          inputs.toFrame.push(...times.toFrame);
          from = result.next;
          phases[phase].push(result);
        }
        if (profile) {
          const { profile: data } = await profile.send('Profiler.stop');
          const file = `${process.env.BENCH_PROFILE}${scenario.optional ? '.optional' : ''}.cpuprofile`;
          await writeFile(file, JSON.stringify(data));
          console.log(`  (CPU profile of the live phases: ${file})`);
          await profile.detach();
        }
        heaps.end.push(await heap(page));
        const errors = (page as Page & { errors?: string[] }).errors ?? [];
        if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
        const points = await page.getAttribute('#loss-chart', 'data-point-count');
        if (Number(points) !== from) throw new Error(`the chart has ${points} points, expected ${from}`);
        await page.close();
      }
      const flat = (phase: string, pick: (r: PhaseResult) => number[]) => phases[phase].flatMap(pick);
      const label = `${POINTS.toLocaleString('en-US')} points${scenario.optional ? ' + 4 optional metrics' : ''}, protocol ${PROTOCOL}`;
      console.log(`\n${label} (${REPEATS} repeats, ${DIST})`);
      console.log(`  load → first paint      median ${ms(median(loads))}  max ${ms(Math.max(...loads))}`);
      for (const phase of ['single', 'batch', 'burst']) {
        const latencies = flat(phase, (r) => r.latencies);
        const long = flat(phase, (r) => r.longTasks);
        const frames = phases[phase].map((r) => r.frames).filter((f): f is number => f !== undefined);
        console.log(
          `  ${phase.padEnd(6)} post → painted   median ${ms(median(latencies))}  p95 ${ms(quantile(latencies, 0.95))}  max ${ms(Math.max(...latencies))}` +
            `  (${latencies.length} updates; long tasks ${long.length}, longest ${ms(long.length ? Math.max(...long) : 0)}` +
            `${frames.length ? `; frames ${frames.join(', ')}` : ''})`,
        );
      }
      console.log(
        `  input during updates    delay median ${ms(median(inputs.delay))} p95 ${ms(quantile(inputs.delay, 0.95))}; to next frame median ${ms(median(inputs.toFrame))} p95 ${ms(quantile(inputs.toFrame, 0.95))} (${inputs.delay.length} moves)`,
      );
      console.log(`  JS heap                 after load ${mib(median(heaps.loaded))}, at the end ${mib(median(heaps.end))}`);
      results.push({
        scenario: label,
        loadMs: median(loads),
        ...Object.fromEntries(
          ['single', 'batch', 'burst'].map((phase) => {
            const latencies = flat(phase, (r) => r.latencies);
            const long = flat(phase, (r) => r.longTasks);
            return [phase, { medianMs: median(latencies), p95Ms: quantile(latencies, 0.95), maxMs: Math.max(...latencies), longTasks: long.length }];
          }),
        ),
        inputDelayP95Ms: quantile(inputs.delay, 0.95),
        heapLoadedMiB: median(heaps.loaded) / 2 ** 20,
        heapEndMiB: median(heaps.end) / 2 ** 20,
      });
    }
  } finally {
    await browser.close();
  }
  return results;
}

/** The host: a metrics.jsonl of POINTS lines, read as the snapshot did before (every record) and as it does now. */
async function runHost(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-bench-monitor-'));
  try {
    const lines: string[] = [];
    let seed = 7;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.04;
    let file = '';
    for (let i = 0; i < POINTS; i++) {
      const step = (i + 1) * EVERY;
      const record: MetricsRecord = {
        step,
        time: 1_790_000_000_000 + step * 60,
        dLoss: 0.69 + noise(),
        gLoss: 0.7 + noise(),
        dReal: 0.5 + noise(),
        dFake: 0.5 + noise(),
        stepsPerSecond: 16 + noise(),
        ...(i % 2 === 0 ? { generatorGradientNorm: 0.8 + noise(), generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4, dStepsPerGStep: 1 } : {}),
      };
      lines.push(JSON.stringify(record));
      if (lines.length === 10_000) {
        file += lines.join('\n') + '\n';
        lines.length = 0;
      }
    }
    file += lines.length ? lines.join('\n') + '\n' : '';
    await writeFile(path.join(dir, 'metrics.jsonl'), file);
    const fileBytes = Buffer.byteLength(file);
    file = '';
    // A histogram every 5th logged step (D(x) and D(G(z)) over 20 bins).
    const edges = Array.from({ length: 21 }, (_, i) => i / 20);
    const counts = () => Array.from({ length: 20 }, () => Math.round(64 * Math.abs(noise()) * 10));
    for (let i = 0; i < POINTS / 5; i++) {
      lines.push(JSON.stringify({ step: 5 * (i + 1) * EVERY, edges, dReal: counts(), dFake: counts() }));
      if (lines.length === 10_000) {
        file += lines.join('\n') + '\n';
        lines.length = 0;
      }
    }
    file += lines.length ? lines.join('\n') + '\n' : '';
    lines.length = 0;
    await writeFile(path.join(dir, 'histograms.jsonl'), file);
    const histogramBytes = Buffer.byteLength(file);
    file = '';
    await writeFile(
      path.join(dir, 'run.json'),
      JSON.stringify({
        id: 'bench',
        name: 'bench',
        status: 'completed',
        backend: 'wasm',
        pid: null,
        host: 'x',
        startedAt: '',
        endedAt: '',
        step: POINTS * EVERY,
        totalSteps: POINTS * EVERY,
        error: null,
      }),
    );
    const before: number[] = [];
    const beforeSerialize: number[] = [];
    let beforeBytes = 0;
    const after: number[] = [];
    const afterSerialize: number[] = [];
    let afterJson = 0;
    let afterBinary = 0;
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      // Now: the tail whole, the rest as columns; VS Code's postMessage sends typed arrays as binary.
      let t0 = performance.now();
      const now = await loadSnapshot(dir);
      if (!now) throw new Error('no snapshot');
      after.push(performance.now() - t0);
      t0 = performance.now();
      let binary = 0;
      const text = JSON.stringify({ type: 'monitor/didLoad', snapshot: now, state: { runDir: dir } } satisfies HostToMonitorMessage, (_key, value: unknown) => {
        if (ArrayBuffer.isView(value)) {
          binary += value.byteLength;
          return { $buffer: 0 };
        }
        return value;
      });
      afterSerialize.push(performance.now() - t0);
      afterJson = Buffer.byteLength(text);
      afterBinary = binary;
      // Before: loadSnapshot read every record and every histogram as objects and posted the records as JSON.
      t0 = performance.now();
      let metrics: MetricsRecord[] | null = await readMetrics(dir);
      await readHistograms(dir);
      before.push(performance.now() - t0);
      t0 = performance.now();
      let json = JSON.stringify({ type: 'monitor/didLoad', snapshot: { ...now, history: undefined, metrics }, state: { runDir: dir } });
      beforeSerialize.push(performance.now() - t0);
      beforeBytes = Buffer.byteLength(json);
      metrics = null;
      json = '';
    }
    const check = await readSnapshotMetrics(dir);
    console.log(
      `\nhost: metrics.jsonl of ${POINTS.toLocaleString('en-US')} lines (${mib(fileBytes)}), histograms.jsonl of ${(POINTS / 5).toLocaleString('en-US')} (${mib(histogramBytes)}), ${REPEATS} repeats`,
    );
    console.log(
      `  before: readMetrics + readHistograms (all as objects)  median ${ms(median(before))}; JSON.stringify ${ms(median(beforeSerialize))}; message ${mib(beforeBytes)} of JSON`,
    );
    console.log(
      `  now:    loadSnapshot (tail + columns, last histogram)  median ${ms(median(after))}; JSON.stringify ${ms(median(afterSerialize))}; message ${mib(afterJson)} of JSON + ${mib(afterBinary)} of typed arrays (${check.history?.step.length ?? 0} records as columns, ${check.metrics.length} whole)`,
    );
    return {
      hostLines: POINTS,
      hostBeforeMs: median(before),
      hostBeforeBytes: beforeBytes,
      hostAfterMs: median(after),
      hostAfterJsonBytes: afterJson,
      hostAfterBinaryBytes: afterBinary,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void (async () => {
  const webview = WEBVIEW ? await runWebview() : [];
  const host = HOST ? await runHost() : {};
  console.log(JSON.stringify({ points: POINTS, repeats: REPEATS, protocol: PROTOCOL, dist: DIST, webview, host }));
})().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
