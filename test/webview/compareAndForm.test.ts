/** The compare tab's and the config form's browser code against their message contracts, in a real Chromium. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { configJsonSchema, validateConfig } from '../../src/protocol/config';
import type { CompareRun, HostToCompareMessage } from '../../src/protocol/compareMessages';
import { derivedDefaults, type HostToFormMessage } from '../../src/protocol/configFormMessages';
import { flattenConfig } from '../../src/runs/compareData';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { launchChromium, openWebview, ROOT, send } from './page';

/** A 28×28 grey PNG, like one MNIST sample. */
function tinyPng(): Buffer {
  const png = new PNG({ width: 28, height: 28 });
  png.data.fill(128);
  return PNG.sync.write(png);
}

const posted = (page: Page) => page.evaluate(() => (window as unknown as { posted: { type: string }[] }).posted);
const errors = (page: Page) => (page as Page & { errors?: string[] }).errors;

function config(learningRate: number) {
  const result = validateConfig({
    name: 'ring',
    data: { type: 'ring' },
    generator: { type: 'mlp', optimizer: { type: 'adam', learningRate } },
    discriminator: { type: 'mlp' },
  });
  assert.ok(result.ok);
  return result.config;
}

function run(index: number, learningRate: number, gLossAt: (step: number) => number, extra: Partial<CompareRun> = {}): CompareRun {
  return {
    runId: `ring-2026-${index}`,
    name: 'ring',
    status: 'completed',
    step: 500,
    totalSteps: 500,
    parentIndex: null,
    parentId: null,
    parentStep: null,
    params: flattenConfig(config(learningRate)),
    metrics: Array.from({ length: 50 }, (_, i) => ({
      step: (i + 1) * 10,
      time: i,
      dLoss: 0.6,
      gLoss: gLossAt((i + 1) * 10),
      dReal: 0.5,
      dFake: 0.5,
      stepsPerSecond: 50,
    })),
    sampleSteps: [0, 250, 500],
    dataDimension: 2,
    ...extra,
  };
}

describe('compare tab webview', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());

  it('overlays every run, sorts the table, shows only differing fields, and asks for samples at the scrubbed step', async () => {
    const page = await openWebview(browser, 'dark', 'compare');
    assert.deepEqual(await posted(page), [{ type: 'compare/ready' }]);
    const runs = [
      run(0, 2e-4, (s) => 1 + s / 1000),
      run(1, 1e-3, (s) => 2 - s / 2000),
      // Forked at 255, a step no run logged: the branch point is the only point there.
      run(2, 1e-3, () => 0.5, { parentIndex: 0, parentId: 'ring-2026-0', parentStep: 255 }),
    ];
    // The fork's own records start after step 255.
    runs[2].metrics = runs[2].metrics.filter((m) => m.step > 255);
    await send(page, { type: 'compare/didLoad', runs, realPoints: [[1, 0]], state: { runDirs: ['/a', '/b', '/c'] } } satisfies HostToCompareMessage);
    assert.equal(await page.getAttribute('#compare-chart', 'data-series-count'), '3');
    for (const id of ['chart-dLoss', 'chart-gLoss', 'chart-metric']) assert.equal(await page.getAttribute(`#${id}`, 'data-series-count'), '3', id);
    // The fork's series starts at its parent's value at step 255: one step more than the runs logged.
    assert.equal(await page.getAttribute('#chart-gLoss', 'data-point-count'), '51');
    assert.equal(await page.locator('#runs-table tbody tr').count(), 3);
    const headers = await page.locator('#runs-table th').allTextContents();
    assert.ok(headers.includes('generator.optimizer.learningRate'));
    assert.ok(!headers.includes('discriminator.optimizer.learningRate'), 'equal fields get no column');
    assert.match((await page.locator('.fork-note').textContent()) ?? '', /@255/);

    await page.locator('#runs-table th', { hasText: 'G loss' }).click();
    const order = async () => page.locator('#runs-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.run));
    // Last G loss: run 2 0.5, run 0 1.5, run 1 1.75.
    assert.deepEqual(await order(), ['ring-2026-2', 'ring-2026-0', 'ring-2026-1']);
    await page.locator('#runs-table th', { hasText: 'G loss' }).click();
    assert.deepEqual(await order(), ['ring-2026-1', 'ring-2026-0', 'ring-2026-2']);

    await page.evaluate(() => {
      const s = document.querySelector<HTMLInputElement>('#scrubber')!;
      s.value = '260';
      s.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(() =>
      (window as unknown as { posted: { type: string; step?: number }[] }).posted.some((m) => m.type === 'compare/requestSamples' && m.step === 260),
    );
    await send(page, {
      type: 'compare/didLoadSamples',
      step: 260,
      samples: [
        { runIndex: 0, step: 250, samples: { step: 250, points: [[1, 0]] }, image: null },
        { runIndex: 1, step: 250, samples: { step: 250, points: [[0, 1]] }, image: null },
        // An image run's sample grid comes as a PNG data URI.
        { runIndex: 2, step: 250, samples: null, image: `data:image/png;base64,${tinyPng().toString('base64')}` },
      ],
    } satisfies HostToCompareMessage);
    assert.equal(await page.getAttribute('#samples', 'data-step'), '260');
    assert.deepEqual(await page.locator('.sample-card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.step)), ['250', '250', '250']);
    const imageWidth = await page.locator('.sample-card[data-run="ring-2026-2"] img.sample-image').evaluate((img) => (img as HTMLImageElement).naturalWidth);
    assert.equal(imageWidth, 28);
    await mkdir(path.join(ROOT, 'test-results', 'webview'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'webview', 'compare-dark.png'), fullPage: true });

    await page.locator('button.diff').first().click();
    const diff = (await posted(page)).find((m) => m.type === 'compare/diffConfigs') as { baseIndex: number; otherIndex: number } | undefined;
    assert.equal(diff?.baseIndex, 0, 'against the baseline (the first run)');
    assert.ok(diff && diff.otherIndex > 0 && diff.otherIndex < 3);
    assert.deepEqual(errors(page), []);
    await page.close();
  });
});

describe('compare tab: optional metrics', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());

  const options = (page: Page) => page.locator('#metric option').evaluateAll((list) => list.map((o) => (o as HTMLOptionElement).value));
  const core = ['dReal', 'dFake', 'stepsPerSecond', 'gLoss', 'dLoss'];

  it('offers the optional metrics that any compared run wrote, and charts them', async () => {
    const page = await openWebview(browser, 'dark', 'compare');
    const crossEntropy = run(0, 2e-4, (s) => 1 + s / 1000);
    await send(page, { type: 'compare/didLoad', runs: [crossEntropy], realPoints: null, state: { runDirs: ['/a'] } } satisfies HostToCompareMessage);
    assert.deepEqual(await options(page), core);
    // A WGAN-GP run beside it: its critic's metrics join the chooser.
    const wganGp = run(1, 1e-4, (s) => -s / 1000);
    wganGp.metrics = wganGp.metrics.map((m, i) => ({
      ...m,
      criticReal: -1 - i / 100,
      criticFake: -1.2 - i / 100,
      wassersteinEstimate: 0.2,
      gradientPenalty: i < 10 ? 0.3 : 0.05,
    }));
    await send(page, {
      type: 'compare/didLoad',
      runs: [crossEntropy, wganGp],
      realPoints: null,
      state: { runDirs: ['/a', '/b'] },
    } satisfies HostToCompareMessage);
    assert.deepEqual(await options(page), [...core, 'wassersteinEstimate', 'gradientPenalty', 'criticReal', 'criticFake']);
    await page.selectOption('#metric', 'wassersteinEstimate');
    assert.equal(await page.textContent('#compare-chart section:nth-child(3) h2'), 'Wasserstein estimate E[D(x)] − E[D(G(z))]');
    assert.equal(await page.getAttribute('#chart-metric', 'data-series-count'), '2');
    assert.equal(await page.getAttribute('#chart-metric', 'data-point-count'), '50');
    // Only one run without the metric is left: the chooser drops it and falls back to mean D(x).
    await send(page, { type: 'compare/didLoad', runs: [crossEntropy], realPoints: null, state: { runDirs: ['/a'] } } satisfies HostToCompareMessage);
    assert.deepEqual(await options(page), core);
    assert.equal(await page.inputValue('#metric'), 'dReal');
    assert.equal(await page.textContent('#compare-chart section:nth-child(3) h2'), 'mean D(x)');
    assert.deepEqual(errors(page), []);
    await page.close();
  });
});

describe('config form webview', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());

  const values = {
    name: 'ring',
    data: { type: 'ring', modes: 8 },
    generator: { type: 'mlp', width: 64 },
    discriminator: { type: 'mlp' },
    training: { batchSize: -5 },
  };

  it('is generated from the schema, sends one field change at a time, and shows problems at their fields', async () => {
    const page = await openWebview(browser, 'light', 'configForm');
    assert.deepEqual(await posted(page), [{ type: 'form/ready' }]);
    await send(page, {
      type: 'form/didLoad',
      fileName: 'ring.gan.json',
      schema: configJsonSchema(),
      values,
      problems: [{ path: ['training', 'batchSize'], message: 'expected > 0, got -5' }],
      derived: derivedDefaults(values),
    } satisfies HostToFormMessage);
    assert.equal(await page.inputValue('#field-generator_width'), '64');
    assert.equal(await page.getAttribute('#field-generator_depth', 'placeholder'), '3 (default)');
    assert.equal(await page.inputValue('#field-data_type'), 'ring');
    assert.equal(await page.inputValue('#field-data_modes'), '8');
    assert.equal(await page.textContent('.field.invalid[data-path="training.batchSize"] .problem'), 'expected > 0, got -5');
    assert.equal(await page.textContent('.summary'), '1 problem');

    await page.fill('#field-generator_width', '128');
    await page.press('#field-generator_width', 'Tab');
    await page.selectOption('#field-generator_activation', 'tanh');
    await page.selectOption('#field-data_type', 'grid');
    await page.locator('.field[data-path="generator.width"] button.reset').click();
    const changes = (await posted(page)).filter((m) => m.type === 'form/setValue');
    assert.deepEqual(changes, [
      { type: 'form/setValue', path: ['generator', 'width'], value: 128 },
      { type: 'form/setValue', path: ['generator', 'activation'], value: 'tanh' },
      { type: 'form/setValue', path: ['data'], value: { type: 'grid' } },
      { type: 'form/setValue', path: ['generator', 'width'], value: undefined },
    ]);
    // Text being typed survives a redraw caused by an earlier change (here: the file changed meanwhile).
    await page.click('#field-training_steps');
    await page.keyboard.type('12');
    await send(page, { type: 'form/didChangeDocument', values, problems: [], derived: derivedDefaults(values) } satisfies HostToFormMessage);
    assert.equal(await page.inputValue('#field-training_steps'), '12');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'field-training_steps');
    await page.keyboard.type('0');
    await page.keyboard.press('Tab');
    // The change of the kept text is sent when the field is left (waited for: the blur's change event is not synchronous with the key press everywhere).
    await page.waitForFunction(
      () =>
        (window as unknown as { posted: { type: string; path?: string[]; value?: unknown }[] }).posted.some(
          (m) => m.type === 'form/setValue' && m.path?.join('.') === 'training.steps' && m.value === 120,
        ),
      undefined,
      { timeout: 5000 },
    );
    // The file is the truth: the form redraws from what the host says it now contains.
    const grid = { ...values, data: { type: 'grid' }, training: {} };
    await send(page, { type: 'form/didChangeDocument', values: grid, problems: [], derived: derivedDefaults(grid) } satisfies HostToFormMessage);
    assert.equal(await page.inputValue('#field-data_type'), 'grid');
    assert.equal(await page.getAttribute('#field-data_size', 'placeholder'), '5 (default)');
    assert.equal(await page.textContent('.summary'), 'Valid experiment');
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'webview', 'config-form-light.png'), fullPage: true });
    assert.deepEqual(errors(page), []);
    await page.close();
  });
  it("shows the cost's own defaults for the optimizers, k and the generator cost, and writes a whole optimizer when one of its fields is set", async () => {
    const page = await openWebview(browser, 'dark', 'configForm');
    const wganGp = {
      name: 'ring',
      data: { type: 'ring' },
      generator: { type: 'mlp' },
      discriminator: { type: 'mlp' },
      training: { cost: { type: 'wgan-gp' } },
    };
    const load = async (v: unknown, type: 'form/didLoad' | 'form/didChangeDocument' = 'form/didChangeDocument') =>
      send(
        page,
        type === 'form/didLoad'
          ? ({ type, fileName: 'ring.gan.json', schema: configJsonSchema(), values: v, problems: [], derived: derivedDefaults(v) } satisfies HostToFormMessage)
          : ({ type, values: v, problems: [], derived: derivedDefaults(v) } satisfies HostToFormMessage),
      );
    await load(wganGp, 'form/didLoad');
    // Gulrajani et al. 2017's Adam, not the schema's Adam default (2e-4, β1 0.5, β2 0.999).
    assert.equal(await page.inputValue('#field-generator_optimizer_type'), 'adam');
    assert.equal(await page.getAttribute('#field-generator_optimizer_learningRate', 'placeholder'), '0.0001 (default for the wgan-gp cost)');
    assert.equal(await page.getAttribute('#field-generator_optimizer_beta1', 'placeholder'), '0 (default for the wgan-gp cost)');
    assert.equal(await page.getAttribute('#field-discriminator_optimizer_beta2', 'placeholder'), '0.9 (default for the wgan-gp cost)');
    assert.match(
      (await page.textContent('fieldset[data-path="generator.optimizer"] .derived-note')) ?? '',
      /^Absent: the default of the wgan-gp cost \(adam, learningRate 0\.0001, beta1 0, beta2 0\.9/,
    );
    assert.equal(await page.getAttribute('#field-training_dStepsPerGStep', 'placeholder'), '5 (default for the wgan-gp cost)');
    // The generator cost belongs to the cross-entropy game: nothing to pick here.
    assert.equal(await page.isDisabled('#field-training_generatorCost'), true);
    assert.equal(await page.locator('#field-training_generatorCost option:checked').textContent(), '(not used with the wgan-gp cost)');

    // Setting one field of the absent optimizer writes the cost's optimizer with that change.
    await page.fill('#field-generator_optimizer_learningRate', '3e-4');
    await page.press('#field-generator_optimizer_learningRate', 'Tab');
    await page.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'form/setValue'));
    assert.deepEqual(
      (await posted(page)).filter((m) => m.type === 'form/setValue'),
      [{ type: 'form/setValue', path: ['generator', 'optimizer'], value: { type: 'adam', learningRate: 3e-4, beta1: 0, beta2: 0.9, epsilon: 1e-8 } }],
    );

    // Wasserstein: RMSProp is the default optimizer.
    await load({ ...wganGp, training: { cost: { type: 'wasserstein' } } });
    assert.equal(await page.inputValue('#field-discriminator_optimizer_type'), 'rmsprop');
    assert.equal(await page.getAttribute('#field-discriminator_optimizer_learningRate', 'placeholder'), '0.00005 (default for the wasserstein cost)');
    // Cross-entropy (the cost left out): the schema's Adam, and the generator cost to pick.
    const crossEntropy = { ...wganGp, training: { dStepsPerGStep: 2 } };
    await load(crossEntropy);
    assert.equal(await page.getAttribute('#field-generator_optimizer_learningRate', 'placeholder'), '0.0002 (default for the cross-entropy cost)');
    assert.equal(await page.isDisabled('#field-training_generatorCost'), false);
    assert.equal(await page.inputValue('#field-training_generatorCost'), 'non-saturating');
    assert.equal(await page.inputValue('#field-training_dStepsPerGStep'), '2');
    assert.match(
      (await page.getAttribute('.field[data-path="training.dStepsPerGStep"] button.reset', 'title')) ?? '',
      /the default of the cross-entropy cost \(1\) applies/,
    );
    // A cost that is not one of the costs yet (being typed): the defaults cannot be known.
    await load({ ...wganGp, training: { cost: { type: 'wgan' } } });
    assert.equal(await page.getAttribute('#field-generator_optimizer_learningRate', 'placeholder'), 'default: depends on training.cost');
    assert.equal(await page.getAttribute('#field-training_dStepsPerGStep', 'placeholder'), 'default: depends on training.cost');
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'webview', 'config-form-wgan-dark.png'), fullPage: true });
    assert.deepEqual(errors(page), []);
    await page.close();
  });
});
