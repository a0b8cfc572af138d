/** The monitor's browser code against the message contract, in a real Chromium. */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { HostToMonitorMessage } from '../../src/protocol/monitorMessages';
import { histogram, metrics, snapshot } from './fixtures';
import { launchChromium, openMonitor, ROOT, send } from './page';

const pointCount = (page: Page, id: string) => page.getAttribute(`#${id}`, 'data-point-count');
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
    assert.equal(await page.locator('#root img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { hacked?: number }).hacked), undefined);
    // Unknown or malformed messages are ignored.
    await send(page, { type: 'monitor/somethingElse' });
    await send(page, null);
    await send(page, 'monitor/didLoad');
    assert.equal(await page.textContent('#status'), 'failed');
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    await page.close();
  });

  it('hides the scatter for data that is not 2-D', async () => {
    const page = await openMonitor(browser, 'dark');
    await load(page, { ...snapshot({ dataDimension: 5 }), latestSamples: null, realPoints: null });
    assert.equal(await page.isVisible('#scatter-chart'), false);
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
      await page.close();
    }
  });
});
