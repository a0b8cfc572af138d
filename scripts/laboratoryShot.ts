/**
 * Draws a run directory's monitor (the real host snapshot code and the real webview bundle in
 * Chromium) and writes a screenshot per theme: `node --import tsx scripts/laboratoryShot.ts <run-dir> <out-prefix>`
 * (WHOLE=1 for the whole monitor, WIDTH=px for the window's width).
 * For looking at the 2-D laboratory quickly; the e2e screenshots show it inside VS Code.
 */
import { loadSnapshot } from '../src/runs/runSnapshot';
import { launchChromium, openMonitor, send } from '../test/webview/page';

async function main(): Promise<void> {
  const [runDir, prefix] = process.argv.slice(2);
  if (!runDir || !prefix) throw new Error('usage: laboratoryShot.ts <run-dir> <out-prefix>');
  const snapshot = await loadSnapshot(runDir);
  if (!snapshot) throw new Error(`${runDir}: not a run directory`);
  const browser = await launchChromium();
  try {
    for (const theme of ['dark', 'light'] as const) {
      const page = await openMonitor(browser, theme, { width: Number(process.env.WIDTH ?? 1280), height: 1000 });
      await send(page, { type: 'monitor/didLoad', snapshot, state: { runDir } });
      await send(page, { type: 'monitor/didUpdateControls', controls: null, reason: 'a screenshot of a finished run' });
      await page.waitForTimeout(300);
      // WHOLE=1: the whole monitor (its layout), else the laboratory's card.
      if (process.env.WHOLE) await page.screenshot({ path: `${prefix}-${theme}.png`, fullPage: true });
      else await page.locator('#scatter-chart-card').screenshot({ path: `${prefix}-${theme}.png` });
      await page.close();
    }
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
