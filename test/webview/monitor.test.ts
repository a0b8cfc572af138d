/** The monitor's browser code against the message contract, in a real Chromium. */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { HostToMonitorMessage } from '../../src/protocol/monitorMessages';
import { histogram, metrics, snapshot, wganGpMetrics, wganGpSnapshot } from './fixtures';
import { launchChromium, openMonitor, ROOT, send } from './page';

const pointCount = (page: Page, id: string) => page.getAttribute(`#${id}`, 'data-point-count');
const lastStep = (page: Page, id: string) => page.getAttribute(`#${id}`, 'data-last-step');
const subtitle = (page: Page, id: string) => page.textContent(`#${id}-card .card-subtitle`);
/** The chart legend's values by label (the newest step's when no cursor is over the chart). */
const legendValues = (page: Page, id: string) =>
  page.evaluate(
    (chartId) =>
      Object.fromEntries(
        [...document.querySelectorAll(`#${chartId} .u-legend tr`)].map((row) => [
          row.querySelector('.u-label')?.textContent ?? '',
          row.querySelector('.u-value')?.textContent ?? '',
        ]),
      ),
    id,
  );
/** Whether a line chart's canvas has the marker's orange within a few pixels of x(step), mid-height (steps 10..1500 across the plot). */
const orangeLineAt = (page: Page, id: string, step: number) =>
  page.evaluate(
    ([chartId, at]) => {
      const root = document.querySelector<HTMLElement>(`#${chartId} .uplot`)!;
      const canvas = root.querySelector('canvas')!;
      const over = root.querySelector<HTMLElement>('.u-over')!;
      const ratio = canvas.width / canvas.getBoundingClientRect().width;
      const x = ((at - 10) / (1500 - 10)) * over.clientWidth + over.offsetLeft;
      const y = over.offsetTop + over.clientHeight / 2;
      const ctx = canvas.getContext('2d')!;
      for (let dy = -12; dy <= 12; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          const [r, g, b] = ctx.getImageData(Math.round((x + dx) * ratio), Math.round((y + dy) * ratio), 1, 1).data;
          if (r > 180 && g > 100 && g < 160 && b < 60) return true;
        }
      }
      return false;
    },
    [id, step] as const,
  );
const posted = (page: Page) => page.evaluate(() => (window as unknown as { posted: unknown[] }).posted);
const load = (page: Page, s = snapshot()) =>
  send(page, { type: 'monitor/didLoad', snapshot: s, state: { runDir: '/runs/ring8' } } satisfies HostToMonitorMessage);

describe('run monitor webview', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());

  it('says ready, draws a snapshot, and keeps the run directory for a reload', async () => {
    const page = await openMonitor(browser, 'dark');
    assert.deepEqual(await posted(page), [{ type: 'monitor/ready' }]);
    assert.equal(await page.textContent('#loss-chart .empty'), 'Waiting for the first metrics…');
    await load(page);
    assert.equal(await pointCount(page, 'loss-chart'), '150');
    assert.equal(await pointCount(page, 'equilibrium-chart'), '150');
    assert.equal(await page.textContent('#status'), 'running');
    assert.equal(await page.textContent('#step'), 'step 1,500 / 3,000');
    assert.match((await page.textContent('#rate')) ?? '', /steps\/s · ETA/);
    assert.equal(await page.getAttribute('#histogram-chart', 'data-step'), '1500');
    assert.equal(await page.getAttribute('#scatter-chart', 'data-step'), '1500');
    assert.equal(await page.isVisible('#scatter-chart'), true);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { savedState: unknown }).savedState), { runDir: '/runs/ring8' });
    assert.equal(await page.locator('.uplot').count(), 2);
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('appends live records once each, ignoring steps it already has', async () => {
    const page = await openMonitor(browser, 'dark');
    await load(page);
    await send(page, { type: 'monitor/didAppendMetrics', records: metrics(1510, 1550) });
    assert.equal(await pointCount(page, 'loss-chart'), '155');
    // The same records again (a notification racing a snapshot), and an older one: no duplicates.
    await send(page, { type: 'monitor/didAppendMetrics', records: [...metrics(1500, 1550), ...metrics(20, 20)] });
    assert.equal(await pointCount(page, 'loss-chart'), '155');
    await send(page, { type: 'monitor/didUpdateHistogram', record: histogram(1550) });
    assert.equal(await page.getAttribute('#histogram-chart', 'data-step'), '1550');
    await send(page, { type: 'monitor/didUpdateHistogram', record: histogram(100) });
    assert.equal(await page.getAttribute('#histogram-chart', 'data-step'), '1550', 'an older histogram does not replace a newer one');
    // A new snapshot replaces everything.
    await load(page, snapshot({}, 300));
    assert.equal(await pointCount(page, 'loss-chart'), '30');
    await page.close();
  });

  it('draws a million points decimated, still showing a single spike and the newest record', async () => {
    const page = await openMonitor(browser, 'dark');
    const n = 1_000_000;
    const spikeAt = 370_000;
    // (tsx compiles with esbuild's keepNames: named functions sent to the page call __name.)
    await page.evaluate('window.__name = (f) => f');
    // Built in the page (a million records through the test's channel would take long): the host's
    // snapshot of a long run, its older records as columns (MetricsHistory), the newest 1,000 whole.
    await page.evaluate(
      ({ n, spikeAt }) => {
        const dLoss = (i: number) => (i === spikeAt ? 40 : 0.69 + 0.02 * Math.sin(i / 97));
        const record = (i: number) => ({ step: 10 * (i + 1), time: i, dLoss: dLoss(i), gLoss: 0.7, dReal: 0.5, dFake: 0.5, stepsPerSecond: 16 });
        const h = n - 1000;
        const column = (f: (i: number) => number) => Float64Array.from({ length: h }, (_, i) => f(i));
        const snapshot = {
          run: { runId: 'long-1', name: 'long', status: 'running', backend: 'wasm', step: 10 * n, totalSteps: 20 * n, error: null, dataDimension: 0 },
          history: {
            step: column((i) => 10 * (i + 1)),
            dLoss: column(dLoss),
            gLoss: column(() => 0.7),
            dReal: column(() => 0.5),
            dFake: column(() => 0.5),
            optional: {},
            evaluationFeatures: null,
          },
          metrics: Array.from({ length: 1000 }, (_, i) => record(h + i)),
          latestHistogram: null,
          latestSamples: null,
          realPoints: null,
          imageSteps: [],
          latestImage: null,
          realImage: null,
          cost: 'cross-entropy',
        };
        window.postMessage({ type: 'monitor/didLoad', snapshot, state: { runDir: '/runs/long' } }, '*');
      },
      { n, spikeAt },
    );
    await page.waitForFunction((step) => document.querySelector<HTMLElement>('#loss-chart')?.dataset.lastStep === String(step), 10 * n);
    assert.equal(await pointCount(page, 'loss-chart'), String(n));
    const drawn = Number(await page.getAttribute('#loss-chart', 'data-drawn-points'));
    assert.ok(drawn > 500 && drawn < 4000, `${drawn} points drawn for a 1,200 px wide window`);

    // A live record: drawn, and the legend (no cursor over the chart) shows its values.
    const newest = { ...metrics(10 * n + 10, 10 * n + 10)[0], dLoss: 0.123456 };
    await send(page, { type: 'monitor/didAppendMetrics', records: [newest] });
    assert.equal(await lastStep(page, 'loss-chart'), String(10 * n + 10));
    assert.equal((await legendValues(page, 'loss-chart'))['D loss'], '0.1235');

    // The spike: D's colour (charts.red, #f14c4c) high above the lines in one narrow place, where step 3,700,010 is.
    const red = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('#loss-chart canvas')!;
      const { width, height } = canvas;
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
      const columns: number[] = [];
      let high = Infinity;
      const highColumns = new Set<number>();
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const p = 4 * (y * width + x);
          if (pixels[p] > 180 && pixels[p + 1] < 130 && pixels[p + 2] < 130) {
            if (y < height / 2) highColumns.add(x);
            high = Math.min(high, y);
          }
          // G's line (charts.blue, #3794ff) runs the plot's width.
          if (pixels[p] < 120 && pixels[p + 2] > 200) columns.push(x);
        }
      return { left: Math.min(...columns), right: Math.max(...columns), high, spike: [...highColumns] };
    });
    assert.ok(red.spike.length > 0 && red.spike.length <= 4, `the spike is drawn, narrow: columns ${red.spike.join(',')}`);
    const where = (Math.min(...red.spike) - red.left) / (red.right - red.left);
    assert.ok(Math.abs(where - spikeAt / n) < 0.01, `the spike at ${where.toFixed(3)} of the line, expected ${spikeAt / n}`);
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('draws a zoomed range from its records, keeps the zoom as records arrive, and shows all again on a double click', async () => {
    const page = await openMonitor(browser, 'dark');
    await load(page, { ...snapshot(), metrics: metrics(10, 60_000) });
    const drawn = async () => Number(await page.getAttribute('#loss-chart', 'data-drawn-points'));
    const whole = await drawn();
    assert.ok(whole < 2000, `6,000 records decimated to ${whole} points`);
    const box = (await page.locator('#loss-chart .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.45, box.y + 20, { steps: 5 });
    await page.mouse.up();
    // A twentieth of the run: its ~300 records, every one.
    await page.waitForFunction((before) => Number(document.querySelector<HTMLElement>('#loss-chart')?.dataset.drawnPoints) !== before, whole);
    const zoomed = await drawn();
    assert.ok(zoomed > 250 && zoomed < 350, `${zoomed} points in the zoomed range`);
    await send(page, { type: 'monitor/didAppendMetrics', records: metrics(60_010, 60_100) });
    assert.equal(await lastStep(page, 'loss-chart'), '60100');
    assert.equal(await drawn(), zoomed, 'still zoomed');
    await page.mouse.dblclick(box.x + box.width * 0.5, box.y + 20);
    await page.waitForFunction((z) => Number(document.querySelector<HTMLElement>('#loss-chart')?.dataset.drawnPoints) !== z, zoomed);
    assert.ok((await drawn()) >= whole);
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('posts stop while running, and disables it otherwise', async () => {
    const page = await openMonitor(browser, 'light');
    await load(page);
    assert.equal(await page.isEnabled('#stop'), true);
    await page.click('#stop');
    assert.deepEqual((await posted(page)).slice(1), [{ type: 'monitor/stopRun' }]);
    assert.equal(await page.isEnabled('#stop'), false, 'no second stop while the first is pending');
    await send(page, { type: 'monitor/didUpdateRun', run: { ...snapshot().run, status: 'stopped' } });
    assert.equal(await page.isVisible('#stop'), false);
    assert.equal(await page.textContent('#status'), 'stopped');
    await page.close();
  });

  it('shows a failed run’s error as text, never as markup', async () => {
    const page = await openMonitor(browser, 'dark');
    const hostile = '<img src=x onerror="window.hacked=1"> diverged';
    await load(page, snapshot({ status: 'failed', error: hostile }));
    assert.equal(await page.textContent('#error'), `Error: ${hostile}`);
    // The panel's own sample-grid images are there; none came from the error text.
    assert.equal(await page.locator('#error img, img[src="x"]').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { hacked?: number }).hacked), undefined);
    // Unknown or malformed messages are ignored.
    await send(page, { type: 'monitor/somethingElse' });
    await send(page, null);
    await send(page, 'monitor/didLoad');
    assert.equal(await page.textContent('#status'), 'failed');
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('keeps the slider on an older grid while it loads, even as newer grids arrive', async () => {
    const page = await openMonitor(browser, 'dark');
    const grid = (step: number) => ({ step, image: `data:image/png;base64,${Buffer.from(`grid ${step}`).toString('base64')}` });
    await load(page, { ...snapshot({ dataDimension: 784 }), imageSteps: [0, 50, 100], latestImage: grid(100), realImage: grid(-1).image });
    const shown = () => page.getAttribute('#sample-grid', 'data-step');
    assert.equal(await shown(), '100');
    await page.locator('#sample-step').fill('0');
    // (The pointer leaves the slider, as after a drag.)
    await page.locator('#sample-step').blur();
    assert.deepEqual((await posted(page)).slice(-1), [{ type: 'monitor/requestImage', step: 0 }]);
    // A newer grid arrives before the answer: the slider stays on step 0.
    await send(page, { type: 'monitor/didUpdateImage', samples: grid(150) });
    assert.equal(await page.inputValue('#sample-step'), '0');
    await send(page, { type: 'monitor/didLoadImage', samples: grid(0) });
    assert.equal(await shown(), '0');
    assert.match((await page.textContent('#sample-step-text')) ?? '', /^0 of 150$/);
    // A resync of the same run (the panel focused or shown again) keeps the older grid.
    await load(page, { ...snapshot({ dataDimension: 784 }), imageSteps: [0, 50, 100, 150], latestImage: grid(150), realImage: grid(-1).image });
    assert.equal(await shown(), '0');
    assert.match((await page.textContent('#sample-step-text')) ?? '', /^0 of 150$/);
    // Back to the end: it follows the newest again.
    await page.locator('#sample-step').fill('3');
    assert.equal(await shown(), '150');
    await send(page, { type: 'monitor/didUpdateImage', samples: grid(200) });
    assert.equal(await shown(), '200');
  });

  it('lists health alerts with their advice, as text, and adds one raised live', async () => {
    const page = await openMonitor(browser, 'dark');
    assert.equal(await page.isVisible('#alerts'), false, 'no alerts, no list');
    const collapse = {
      kind: 'mode-collapse' as const,
      step: 600,
      message: 'mode collapse: G covers 1 of 8 modes at step 600 <img src=x>',
      advice: "pack D's inputs (PacGAN)",
    };
    await load(page, snapshot({ alerts: [collapse] }));
    assert.equal(await page.locator('#alerts li').count(), 1);
    assert.equal(
      await page.textContent('#alerts li'),
      "⚠ step 600: mode collapse: G covers 1 of 8 modes at step 600 <img src=x>Usually helps: pack D's inputs (PacGAN).",
    );
    assert.equal(await page.locator('#alerts img').count(), 0, 'text, never markup');
    const wins = { kind: 'discriminator-wins' as const, step: 900, message: 'the discriminator wins', advice: "lower D's learning rate" };
    await send(page, { type: 'monitor/didUpdateRun', run: { ...snapshot().run, alerts: [collapse, wins] } });
    assert.deepEqual(await page.locator('#alerts li').evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.kind)), [
      'mode-collapse',
      'discriminator-wins',
    ]);
  });

  it("marks an alert's step on every line chart and moves the sample slider to the grid nearest it, from the keyboard", async () => {
    const page = await openMonitor(browser, 'dark');
    const grid = (step: number) => ({ step, image: `data:image/png;base64,${Buffer.from(`grid ${step}`).toString('base64')}` });
    const wins = { kind: 'discriminator-wins' as const, step: 620, message: 'the discriminator wins', advice: "lower D's learning rate" };
    const swings = { kind: 'oscillation' as const, step: 1400, message: 'the game oscillates', advice: 'lower both learning rates' };
    await load(page, {
      ...snapshot({ dataDimension: 784, alerts: [wins, swings] }),
      imageSteps: [0, 500, 1000, 1500],
      latestImage: grid(1500),
      realImage: grid(-1).image,
    });
    const marked = (id: string) => page.getAttribute(`#${id} .uplot`, 'data-marked-step');
    assert.equal(await marked('loss-chart'), '', 'nothing marked at first');
    assert.equal(await orangeLineAt(page, 'loss-chart', 620), false);
    const buttons = page.locator('#alerts .alert-step');
    assert.equal(await buttons.count(), 2);
    assert.equal(await buttons.first().getAttribute('aria-label'), 'discriminator wins at step 620: mark it on the charts');
    // Tab reaches the buttons; Enter presses one.
    await buttons.first().focus();
    await page.keyboard.press('Enter');
    assert.equal(await marked('loss-chart'), '620');
    assert.equal(await marked('equilibrium-chart'), '620');
    assert.equal(await buttons.first().getAttribute('aria-pressed'), 'true');
    // The slider goes to the grid of step 500, the nearest to 620, and asks for it.
    assert.equal(await page.inputValue('#sample-step'), '1');
    assert.deepEqual((await posted(page)).slice(-1), [{ type: 'monitor/requestImage', step: 500 }]);
    await send(page, { type: 'monitor/didLoadImage', samples: grid(500) });
    assert.equal(await page.getAttribute('#sample-grid', 'data-step'), '500');
    // The mark is drawn: an orange dashed line at x(620), which was not there before.
    assert.equal(await orangeLineAt(page, 'loss-chart', 620), true, 'an orange line at step 620');
    // Another alert moves the mark; pressing it again clears it.
    await buttons.nth(1).click();
    assert.equal(await marked('loss-chart'), '1400');
    assert.equal(await buttons.first().getAttribute('aria-pressed'), 'false');
    assert.equal(await page.inputValue('#sample-step'), '3');
    await buttons.nth(1).press('Space');
    assert.equal(await marked('loss-chart'), '');
    assert.equal(await buttons.nth(1).getAttribute('aria-pressed'), 'false');
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('hides the scatter for data that is not 2-D', async () => {
    const page = await openMonitor(browser, 'dark');
    await load(page, { ...snapshot({ dataDimension: 5 }), latestSamples: null, realPoints: null });
    assert.equal(await page.isVisible('#scatter-chart'), false);
    await page.close();
  });

  it('draws the critic of a WGAN-GP run from the snapshot and live records, once per step, and again after a resync', async () => {
    const page = await openMonitor(browser, 'dark');
    await load(page, wganGpSnapshot());
    assert.equal(await page.isVisible('#critic-chart-card'), true);
    assert.equal(await page.textContent('#critic-chart-card h2'), 'Critic');
    assert.equal(await pointCount(page, 'critic-chart'), '150');
    assert.equal(await lastStep(page, 'critic-chart'), '1500');
    assert.match((await subtitle(page, 'critic-chart')) ?? '', /E\[D\(x\)\] − E\[D\(G\(z\)\)\], the critic's estimate of the Wasserstein-1 distance/);
    assert.match((await subtitle(page, 'critic-chart')) ?? '', /gradient penalty/);
    // D(x) and D(G(z)) of a critic are rank fractions, and the subtitle says so.
    assert.match((await subtitle(page, 'equilibrium-chart')) ?? '', /^rank fractions, not probabilities: D\(x\) is the share of the generated minibatch/);
    assert.doesNotMatch((await subtitle(page, 'equilibrium-chart')) ?? '', /σ/);
    assert.deepEqual(Object.keys(await legendValues(page, 'critic-chart')), ['step', 'W estimate', 'penalty', 'raw D(x)', 'raw D(G(z))']);
    // Two y axes: the estimate and the penalty on one scale, the raw scores (arbitrary offset) on the other.
    assert.equal(await page.locator('#critic-chart .u-axis').count(), 3);

    // Live records, some again (a notification racing the snapshot): each step once.
    const live = wganGpMetrics(1510, 1550);
    await send(page, { type: 'monitor/didAppendMetrics', records: live.slice(0, 2) });
    await send(page, { type: 'monitor/didAppendMetrics', records: [...wganGpMetrics(1490, 1520), ...live.slice(2)] });
    assert.equal(await pointCount(page, 'critic-chart'), '155');
    assert.equal(await lastStep(page, 'critic-chart'), '1550');
    assert.equal(await pointCount(page, 'loss-chart'), '155');
    const newest = live[live.length - 1];
    const values = await legendValues(page, 'critic-chart');
    assert.equal(values['W estimate'], newest.wassersteinEstimate?.toPrecision(4));
    assert.equal(values.penalty, newest.gradientPenalty?.toPrecision(4));
    assert.equal(values['raw D(x)'], newest.criticReal?.toPrecision(4));
    assert.equal(values['raw D(G(z))'], newest.criticFake?.toPrecision(4));

    // A resync (the panel shown again) sends a fresh snapshot: it replaces the series, live records follow it.
    await load(page, wganGpSnapshot({}, 1600));
    assert.equal(await pointCount(page, 'critic-chart'), '160');
    await send(page, { type: 'monitor/didAppendMetrics', records: wganGpMetrics(1600, 1620) });
    assert.equal(await pointCount(page, 'critic-chart'), '162');
    assert.equal(await lastStep(page, 'critic-chart'), '1620');
    assert.equal(await page.locator('#critic-chart .uplot').count(), 1);
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('hides the critic for a cross-entropy run and says D(x) is a probability there', async () => {
    const page = await openMonitor(browser, 'light');
    // First a WGAN-GP run, then the panel switches to a cross-entropy one (the side panel follows another run).
    await load(page, wganGpSnapshot());
    await load(page);
    assert.equal(await page.isVisible('#critic-chart-card'), false);
    assert.equal(await page.locator('#critic-chart .uplot').count(), 0);
    assert.equal(
      await subtitle(page, 'equilibrium-chart'),
      "mean D(x) and D(G(z)), D's probability σ(output) that its input is real; an optimal D at the solution gives ½",
    );
    await send(page, { type: 'monitor/didAppendMetrics', records: metrics(1510, 1550) });
    assert.equal(await page.isVisible('#critic-chart-card'), false);
    await page.close();
  });

  it("shows a hinge run's raw scores on one axis, and reads the cost from the records when the config had none", async () => {
    const page = await openMonitor(browser, 'dark');
    const records = wganGpMetrics(10, 300).map(({ wassersteinEstimate: _w, gradientPenalty: _p, ...rest }) => rest);
    await load(page, { ...snapshot({}, 300), metrics: records, cost: 'hinge' });
    assert.equal(await page.textContent('#critic-chart-card h2'), "D's raw scores");
    assert.deepEqual(Object.keys(await legendValues(page, 'critic-chart')), ['step', 'raw D(x)', 'raw D(G(z))']);
    assert.equal(await page.locator('#critic-chart .u-axis').count(), 2);
    assert.match((await subtitle(page, 'equilibrium-chart')) ?? '', /^rank fractions/);
    await load(page, { ...snapshot({}, 300), metrics: records, cost: null });
    assert.match((await subtitle(page, 'equilibrium-chart')) ?? '', /^rank fractions/);
    assert.equal(await pointCount(page, 'critic-chart'), '30');
    await page.close();
  });

  it('renders readably in dark and light themes (screenshots in docs/)', async () => {
    await mkdir(path.join(ROOT, 'test-results'), { recursive: true });
    for (const theme of ['dark', 'light'] as const) {
      const page = await openMonitor(browser, theme);
      await load(page);
      await page.waitForTimeout(100);
      const file = path.join(ROOT, 'test-results', `monitor-${theme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      await load(page, wganGpSnapshot());
      await page.waitForTimeout(100);
      await page.screenshot({ path: path.join(ROOT, 'test-results', `monitor-wgan-gp-${theme}.png`), fullPage: true });
      await page.close();
    }
  });
});
