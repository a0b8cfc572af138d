/** The monitor's 2-D laboratory in a real Chromium: its drawing and its step-mode controls against the message contract. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { HostToMonitorMessage } from '../../src/protocol/monitorMessages';
import type { LaboratoryFrame } from '../../src/protocol/runDirectory';
import type { ControlState } from '../../src/protocol/trainerRpc';
import { ring, snapshot } from './fixtures';
import { launchChromium, openMonitor, send } from './page';

const posted = (page: Page) => page.evaluate(() => (window as unknown as { posted: { type: string }[] }).posted.filter((m) => m.type === 'monitor/control'));

/** A frame whose D says "real" on the right half of the plane and "generated" on the left. */
function frame(points: number[][]): LaboratoryFrame {
  const columns = 40;
  return {
    surface: {
      box: [-1.5, -1.5, 1.5, 1.5],
      columns,
      rows: columns,
      values: Array.from({ length: columns * columns }, (_, i) => (i % columns < columns / 2 ? 0.05 : 0.95)),
      kind: 'probability',
    },
    gradients: points.map(() => [1, 0]),
    manifold: { columns: 16, rows: 16, points: Array.from({ length: 256 }, (_, i) => [(i % 16) / 16 - 0.5, Math.floor(i / 16) / 16 - 0.5]) },
  };
}

const controls = (overrides: Partial<ControlState> = {}): ControlState => ({
  paused: false,
  step: 1500,
  generatorLearningRate: 0.0005,
  discriminatorLearningRate: 0.0005,
  generatorRateInForce: 0.0005,
  discriminatorRateInForce: 0.0005,
  dStepsPerGStep: 1,
  singleDiscriminatorUpdates: 0,
  singleGeneratorUpdates: 0,
  ...overrides,
});

/** The canvas pixel at a data-space point of the laboratory's view (the plot is the square box). */
async function pixelAt(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(
    ([px, py]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('#scatter-chart canvas')!;
      const ctx = canvas.getContext('2d')!;
      // The view's square plot: margins 44/12/10/30, centred.
      const side = Math.min(canvas.width - 56, canvas.height - 40);
      const left = 44 + (canvas.width - 56 - side) / 2;
      const u = left + ((px + 1.5) / 3) * side;
      const v = 10 + ((1.5 - py) / 3) * side;
      return [...ctx.getImageData(Math.round(u), Math.round(v), 1, 1).data];
    },
    [x, y],
  );
}

describe('2-D laboratory', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());

  async function loaded(theme: 'dark' | 'light' = 'dark'): Promise<Page> {
    const page = await openMonitor(browser, theme);
    const s = snapshot();
    const points = ring(300, 0.05, 'lab', 8);
    s.latestSamples = { step: 1500, points, laboratory: frame(points) };
    await send(page, { type: 'monitor/didLoad', snapshot: s, state: { runDir: '/runs/ring8' } } satisfies HostToMonitorMessage);
    return page;
  }

  it('colours the plane by D: green where it says real, orange where it says generated', async () => {
    const page = await loaded();
    const [r1, g1, b1] = await pixelAt(page, 1.2, 1.3);
    const [r2, g2, b2] = await pixelAt(page, -1.2, 1.3);
    assert.ok(g1 > r1 && g1 > b1, `right half is green: ${[r1, g1, b1]}`);
    assert.ok(r2 > g2 && r2 > b2, `left half is orange: ${[r2, g2, b2]}`);
    // The background toggle: with no background, the two halves look alike.
    await page.selectOption('#lab-background', 'none');
    const plainRight = await pixelAt(page, 1.2, 1.3);
    const plainLeft = await pixelAt(page, -1.2, 1.3);
    assert.deepEqual(plainRight, plainLeft);
    assert.match((await page.textContent('#scatter-chart-card .card-subtitle')) ?? '', /step 1,500; background: D\(x\)/);
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('keeps its controls off, with the reason, for a run it cannot drive', async () => {
    const page = await loaded();
    await send(page, { type: 'monitor/didUpdateControls', controls: null, reason: 'the run has ended' } satisfies HostToMonitorMessage);
    assert.equal(await page.isDisabled('#lab-pause'), true);
    assert.equal(await page.isDisabled('#lab-apply'), true);
    assert.match((await page.textContent('#lab-status')) ?? '', /the run has ended/);
    await page.close();
  });

  it('pauses, steps one player, and sends only the changed, valid values', async () => {
    const page = await loaded('light');
    await send(page, { type: 'monitor/didUpdateControls', controls: controls(), reason: '' } satisfies HostToMonitorMessage);
    assert.equal(await page.isDisabled('#lab-d-step'), true, 'single updates need a pause');
    assert.equal(await page.inputValue('#lab-lr-g'), '5e-4');
    await page.click('#lab-pause');
    await send(page, { type: 'monitor/didUpdateControls', controls: controls({ paused: true }), reason: '' } satisfies HostToMonitorMessage);
    assert.equal(await page.textContent('#lab-pause'), 'Resume');
    await page.click('#lab-d-step');
    await page.click('#lab-g-step');
    await send(page, {
      type: 'monitor/didUpdateControls',
      controls: controls({ paused: true, singleDiscriminatorUpdates: 1, singleGeneratorUpdates: 1 }),
      reason: '',
    } satisfies HostToMonitorMessage);
    assert.match((await page.textContent('#lab-status')) ?? '', /Paused after step 1,500 · single updates so far: 1 D, 1 G/);
    // An invalid k is named and not sent; a valid one is, with nothing else.
    await page.fill('#lab-k', '0');
    assert.equal(await page.isDisabled('#lab-apply'), true);
    assert.match((await page.textContent('#lab-status')) ?? '', /dStepsPerGStep must be a whole number from 1 to 100/);
    await page.fill('#lab-k', '3');
    await page.fill('#lab-lr-d', '1e-4');
    await page.click('#lab-apply');
    await page.click('#lab-pause');
    assert.deepEqual(
      (await posted(page)).map((m) => (m as unknown as { action: unknown }).action),
      [
        { action: 'pause' },
        { action: 'step', player: 'discriminator' },
        { action: 'step', player: 'generator' },
        { action: 'set', discriminatorLearningRate: 0.0001, dStepsPerGStep: 3 },
        { action: 'resume' },
      ],
    );
    await page.close();
  });
});
