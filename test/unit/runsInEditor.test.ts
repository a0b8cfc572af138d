/** Pure logic behind the runs-in-the-editor features: config changes, text edits, following runs, compare data, message guards. */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseJsonc } from 'jsonc-parser';
import { validateConfig, type GanConfig } from '../../src/protocol/config';
import { editConfigText } from '../../src/protocol/configEdit';
import { applySettings, parseSetting } from '../../src/protocol/configPatch';
import { dispatchCompareMessage } from '../../src/protocol/compareMessages';
import { dispatchFormMessage } from '../../src/protocol/configFormMessages';
import { runStatusView } from '../../src/protocol/healthAlerts';
import type { HealthAlert, HealthAlertKind, MetricsRecord, RunInfo } from '../../src/protocol/runDirectory';
import { costParameterFields, settingsWithCost, usualFields } from '../../src/extension/hyperparameterFields';
import { flattenConfig, stepAtOrBefore } from '../../src/runs/compareData';
import { costOfConfig } from '../../src/runs/runSnapshot';
import { isTrainerProcess, stopForeignRun } from '../../src/runs/foreignStop';
import { RunFollower } from '../../src/runs/runFollower';
import { readLastMetrics } from '../../src/runs/runReader';
import { smooth } from '../../webview/compare/smoothing';

function baseConfig(): GanConfig {
  const result = validateConfig({
    name: 'ring',
    data: { type: 'ring' },
    generator: { type: 'mlp' },
    discriminator: { type: 'mlp' },
  });
  assert.ok(result.ok);
  return result.config;
}

describe('config settings (--set, "Modify hyperparameters and run", forks)', () => {
  it('parses values as JSON when they are JSON, else as strings', () => {
    assert.deepEqual(parseSetting('generator.optimizer.learningRate=1e-4'), { path: 'generator.optimizer.learningRate', value: 1e-4 });
    assert.deepEqual(parseSetting('training.generatorCost=minimax'), { path: 'training.generatorCost', value: 'minimax' });
    assert.deepEqual(parseSetting('generator.batchNorm=true'), { path: 'generator.batchNorm', value: true });
    assert.ok('error' in parseSetting('no-equals-sign'));
  });

  it('changes only the named fields and validates the result', () => {
    const config = baseConfig();
    const result = applySettings(config, [
      { path: 'generator.optimizer.learningRate', value: 1e-4 },
      { path: 'training.steps', value: 50 },
    ]);
    assert.ok(result.ok);
    assert.equal(result.config.generator.optimizer.learningRate, 1e-4);
    assert.equal(result.config.training.steps, 50);
    assert.equal(result.config.discriminator.optimizer.learningRate, config.discriminator.optimizer.learningRate);
    assert.equal(config.training.steps, 3000, 'the original is not modified');
  });

  it('reports a bad value or a bad path with the field path', () => {
    const bad = applySettings(baseConfig(), [{ path: 'training.batchSize', value: -5 }]);
    assert.ok(!bad.ok);
    assert.deepEqual(bad.problems[0].path, ['training', 'batchSize']);
    const unknown = applySettings(baseConfig(), [{ path: 'training.batchSise', value: 5 }]);
    assert.ok(!unknown.ok);
    assert.match(unknown.problems.map((p) => `${p.path.join('.')} ${p.message}`).join(), /batchSise/);
    const hostile = applySettings(baseConfig(), [{ path: '__proto__.polluted', value: 1 }]);
    assert.ok(!hostile.ok);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const through = applySettings(baseConfig(), [{ path: 'seed.x', value: 1 }]);
    assert.ok(!through.ok);
  });
});

describe('"Modify hyperparameters and run": the fields offered and the cost', () => {
  const withCost = (cost: unknown, extra: Record<string, unknown> = {}) => {
    const result = validateConfig({
      name: 'ring',
      data: { type: 'ring' },
      generator: { type: 'mlp' },
      discriminator: { type: 'mlp' },
      training: { cost, ...extra },
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    return result.config;
  };
  const paths = (config: GanConfig) => usualFields(config).map((f) => f.path);

  it('offers the cost with its choices, its own parameters, and the generator cost only for cross-entropy', () => {
    const common = ['generator.optimizer.learningRate', 'discriminator.optimizer.learningRate', 'training.steps', 'training.batchSize', 'training.cost.type'];
    const tail = ['training.dStepsPerGStep', 'latent.size', 'seed'];
    assert.deepEqual(paths(baseConfig()), [...common, 'training.generatorCost', ...tail]);
    assert.deepEqual(paths(withCost({ type: 'wasserstein' })), [...common, 'training.cost.clip', ...tail]);
    assert.deepEqual(paths(withCost({ type: 'wgan-gp' })), [...common, 'training.cost.lambda', ...tail]);
    assert.deepEqual(paths(withCost({ type: 'hinge' })), [...common, ...tail]);
    assert.deepEqual(paths(withCost({ type: 'least-squares' })), [...common, 'training.cost.a', 'training.cost.b', 'training.cost.c', ...tail]);
    const cost = usualFields(baseConfig()).find((f) => f.path === 'training.cost.type');
    assert.deepEqual(
      cost?.choices?.map((c) => c.value),
      ['cross-entropy', 'wasserstein', 'wgan-gp', 'hinge', 'least-squares'],
    );
    assert.ok(cost?.choices?.every((c) => c.description.length > 0));
    assert.deepEqual(
      usualFields(baseConfig())
        .find((f) => f.path === 'training.generatorCost')
        ?.choices?.map((c) => c.value),
      ['non-saturating', 'minimax', 'maximum-likelihood'],
    );
    // What is typed is what the schema describes; k's detail names the cost's own default.
    assert.match(costParameterFields('wgan-gp')[0].detail, /Gulrajani et al\. 2017: 10/);
    for (const cost of ['wasserstein', 'wgan-gp', 'least-squares'] as const)
      assert.ok(
        costParameterFields(cost).every((f) => f.detail.length > 20),
        cost,
      );
    assert.match(usualFields(withCost({ type: 'wgan-gp' })).find((f) => f.path === 'training.dStepsPerGStep')?.detail ?? '', /wgan-gp's default: 5/);
    assert.match(usualFields(withCost({ type: 'wasserstein' }))[0].detail, /rmsprop/);
  });

  it("changing the cost brings the new cost's optimizers and k where the config left them to the cost, and drops the generator cost", () => {
    const base = baseConfig();
    const settings = settingsWithCost(base, [{ path: 'training.steps', value: 50 }], 'wgan-gp');
    // Through the trainer's IPC (JSON), a removed field's undefined value is dropped: the result must be the same.
    for (const sent of [settings, JSON.parse(JSON.stringify(settings)) as typeof settings]) {
      const result = applySettings(base, sent);
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      assert.deepEqual(result.config.training.cost, { type: 'wgan-gp', lambda: 10 });
      assert.equal(result.config.training.generatorCost, undefined);
      assert.equal(result.config.training.dStepsPerGStep, 5);
      assert.equal(result.config.training.steps, 50);
      assert.deepEqual(result.config.generator.optimizer, { type: 'adam', learningRate: 1e-4, beta1: 0, beta2: 0.9, epsilon: 1e-8 });
      assert.deepEqual(result.config.discriminator.optimizer, result.config.generator.optimizer);
    }
    // Its parameter can then be changed; a later cost replaces it (lambda is no field of hinge).
    const lambda = [...settings, { path: 'training.cost.lambda', value: 5 }];
    assert.ok(applySettings(base, lambda).ok);
    const hinge = applySettings(base, settingsWithCost(base, lambda, 'hinge'));
    assert.ok(hinge.ok, JSON.stringify(!hinge.ok && hinge.problems));
    assert.deepEqual(hinge.config.training.cost, { type: 'hinge' });
    assert.equal(hinge.config.training.dStepsPerGStep, 1);
    assert.equal(hinge.config.generator.optimizer.learningRate, 2e-4);
    // Back to the config's own cost: only the real change is left.
    assert.deepEqual(settingsWithCost(base, settings, 'cross-entropy'), [{ path: 'training.steps', value: 50 }]);
  });

  it('keeps an optimizer and k the config chose itself', () => {
    const chosen = validateConfig({
      name: 'ring',
      data: { type: 'ring' },
      generator: { type: 'mlp', optimizer: { type: 'sgd', learningRate: 0.05 } },
      discriminator: { type: 'mlp' },
      training: { dStepsPerGStep: 3, generatorCost: 'minimax' },
    });
    assert.ok(chosen.ok);
    const result = applySettings(chosen.config, settingsWithCost(chosen.config, [], 'wasserstein'));
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.deepEqual(result.config.generator.optimizer, { type: 'sgd', learningRate: 0.05 });
    assert.equal(result.config.discriminator.optimizer.type, 'rmsprop');
    assert.equal(result.config.training.dStepsPerGStep, 3);
    assert.deepEqual(result.config.training.cost, { type: 'wasserstein', clip: 0.01 });
    // And back: the generator cost the config had comes back with the cross-entropy game.
    const back = applySettings(chosen.config, settingsWithCost(chosen.config, settingsWithCost(chosen.config, [], 'wasserstein'), 'cross-entropy'));
    assert.ok(back.ok);
    assert.equal(back.config.training.generatorCost, 'minimax');
  });
});

describe("the monitor's cost of a run", () => {
  it('reads training.cost.type from config.json without validating the rest; an older config without a cost is cross-entropy', () => {
    assert.equal(costOfConfig({ training: { cost: { type: 'wgan-gp', lambda: 10 } }, data: 'from a newer version' }), 'wgan-gp');
    assert.equal(costOfConfig({ training: { steps: 10 } }), 'cross-entropy');
    assert.equal(costOfConfig({}), 'cross-entropy');
    assert.equal(costOfConfig({ training: { cost: { type: 'toString' } } }), null);
    assert.equal(costOfConfig({ training: { cost: 'wgan-gp' } }), null);
    assert.equal(costOfConfig(null), null);
  });
});

describe("config text edits keep the user's comments and layout", () => {
  const text = `// My ring experiment: keep this comment.
{
  "name": "ring", // the name
  "data": { "type": "ring" },
  /* G */
  "generator": { "type": "mlp", "width": 64 },
  "discriminator": { "type": "mlp" }
}
`;

  it('replaces a value in place', () => {
    const edited = editConfigText(text, ['generator', 'width'], 128);
    assert.equal(edited, text.replace('"width": 64', '"width": 128'));
  });

  it('keeps a one-line object on one line when a field is added, replaced or removed', () => {
    let edited = editConfigText(text, ['generator', 'activation'], 'tanh');
    assert.ok(edited.includes('"generator": { "type": "mlp", "width": 64, "activation": "tanh" },'), edited);
    edited = editConfigText(edited, ['data'], { type: 'grid' });
    assert.ok(edited.includes('"data": { "type": "grid" },'), edited);
    edited = editConfigText(edited, ['discriminator', 'depth'], 2);
    assert.ok(edited.includes('"discriminator": { "type": "mlp", "depth": 2 }'), edited);
    edited = editConfigText(edited, ['generator', 'width'], undefined);
    assert.ok(/"generator": \{ "type": "mlp",\s*"activation": "tanh" \},/.test(edited), edited);
    assert.ok(validateConfig(parseJsonc(edited)).ok);
    assert.equal(editConfigText('{ "a": {} }', ['a', 'b'], 1), '{ "a": { "b": 1 } }');
  });

  it('adds a missing field and removes one, leaving every comment', () => {
    let edited = editConfigText(text, ['training', 'steps'], 500);
    edited = editConfigText(edited, ['generator', 'width'], undefined);
    for (const comment of ['// My ring experiment: keep this comment.', '// the name', '/* G */']) assert.ok(edited.includes(comment), comment);
    const parsed = parseJsonc(edited) as { training: { steps: number }; generator: Record<string, unknown> };
    assert.equal(parsed.training.steps, 500);
    assert.equal(parsed.generator.width, undefined);
    assert.ok(validateConfig(parsed).ok);
  });
});

describe('following a run written by another process', () => {
  let dir: string;
  const record = (step: number): MetricsRecord => ({ step, time: step, dLoss: 1, gLoss: 2, dReal: 0.5, dFake: 0.5, stepsPerSecond: 10 });
  const line = (step: number) => JSON.stringify(record(step)) + '\n';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-follow-'));
    await mkdir(path.join(dir, 'samples'));
    const info: RunInfo = {
      id: 'r',
      name: 'r',
      status: 'running',
      backend: 'wasm',
      backendReason: '',
      pid: null,
      host: 'elsewhere',
      startedAt: '',
      endedAt: null,
      step: 20,
      totalSteps: 100,
      error: null,
      configPath: null,
      parent: null,
    };
    await writeFile(path.join(dir, 'run.json'), JSON.stringify(info));
    await writeFile(path.join(dir, 'metrics.jsonl'), line(10) + line(20));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('returns only what is new, and leaves a torn line for the next poll', async () => {
    const follower = new RunFollower(dir, 10);
    const first = await follower.poll();
    assert.deepEqual(
      first.metrics.map((r) => r.step),
      [20],
    );
    assert.equal(first.info?.step, 20);
    const again = await follower.poll();
    assert.deepEqual(again.metrics, []);
    assert.equal(again.info, null, 'an unchanged run.json is not sent again');
    const torn = line(30);
    await appendFile(path.join(dir, 'metrics.jsonl'), torn.slice(0, 10));
    assert.deepEqual((await follower.poll()).metrics, []);
    await appendFile(path.join(dir, 'metrics.jsonl'), torn.slice(10) + line(40));
    assert.deepEqual(
      (await follower.poll()).metrics.map((r) => r.step),
      [30, 40],
    );
    await writeFile(path.join(dir, 'samples', 'step-00000040.json'), JSON.stringify({ step: 40, points: [[0, 1]] }));
    assert.equal((await follower.poll()).samples?.step, 40);
    assert.equal((await readLastMetrics(dir))?.step, 40);
  });

  it('starts again from the top when the file is replaced by a shorter one', async () => {
    const follower = new RunFollower(dir, -1);
    await follower.poll();
    await writeFile(path.join(dir, 'metrics.jsonl'), line(10));
    const after = await follower.poll();
    assert.deepEqual(after.metrics, [], 'steps already seen are not repeated');
    await appendFile(path.join(dir, 'metrics.jsonl'), line(50));
    assert.deepEqual(
      (await follower.poll()).metrics.map((r) => r.step),
      [50],
    );
  });
});

describe('compare data', () => {
  it('flattens a config into dotted fields without the free text', () => {
    const flat = flattenConfig(baseConfig());
    assert.equal(flat['generator.optimizer.learningRate'], 2e-4);
    assert.equal(flat['data.type'], 'ring');
    assert.equal(flat.name, undefined);
  });

  it('finds the newest sample step at or before a step', () => {
    const steps = [0, 250, 500, 750];
    assert.equal(stepAtOrBefore(steps, 600), 500);
    assert.equal(stepAtOrBefore(steps, 750), 750);
    assert.equal(stepAtOrBefore(steps, 10_000), 750);
    assert.equal(stepAtOrBefore([100, 200], 50), null);
    assert.equal(stepAtOrBefore([], 50), null);
  });

  it('smooths like TensorBoard: weight 0 is the data, a constant stays constant, gaps stay gaps', () => {
    assert.deepEqual(smooth([1, 2, 3], 0), [1, 2, 3]);
    assert.deepEqual(
      smooth([2, 2, null, 2], 0.9).map((v) => (v === null ? null : Number(v.toFixed(12)))),
      [2, 2, null, 2],
    );
    // EMA by hand: s1 = 0.5·1 / (1 - 0.5) = 1; s2 = (0.25 + 0.5·3) / (1 - 0.25) = 7/3.
    const [a, b] = smooth([1, 3], 0.5) as number[];
    assert.ok(Math.abs(a - 1) < 1e-12 && Math.abs(b - 7 / 3) < 1e-12);
  });
});

describe('webview messages of the compare tab and the form are checked', () => {
  it('compare: only declared messages with run indexes inside the list', () => {
    const calls: string[] = [];
    const actions = {
      ready: () => calls.push('ready'),
      requestSamples: (step: number) => calls.push(`samples ${step}`),
      diffConfigs: (a: number, b: number) => calls.push(`diff ${a} ${b}`),
      openMonitor: (i: number) => calls.push(`monitor ${i}`),
    };
    assert.ok(dispatchCompareMessage({ type: 'compare/diffConfigs', baseIndex: 0, otherIndex: 2 }, 3, actions));
    assert.ok(!dispatchCompareMessage({ type: 'compare/diffConfigs', baseIndex: 0, otherIndex: 3 }, 3, actions));
    assert.ok(!dispatchCompareMessage({ type: 'compare/openMonitor', runIndex: '0' }, 3, actions));
    assert.ok(!dispatchCompareMessage({ type: 'compare/requestSamples', step: -1 }, 3, actions));
    assert.ok(!dispatchCompareMessage(JSON.parse('{"__proto__": {"type": "compare/ready"}}'), 3, actions));
    assert.ok(!dispatchCompareMessage({ type: 'compare/openFile', path: '/etc/passwd' }, 3, actions));
    assert.deepEqual(calls, ['diff 0 2']);
  });

  it('form: field paths and values are plain', () => {
    const calls: unknown[] = [];
    const actions = { ready: () => calls.push('ready'), setValue: (p: (string | number)[], v: unknown) => calls.push([p, v]) };
    assert.ok(dispatchFormMessage({ type: 'form/setValue', path: ['generator', 'width'], value: 64 }, actions));
    assert.ok(dispatchFormMessage({ type: 'form/setValue', path: ['data'], value: { type: 'grid' } }, actions));
    assert.ok(!dispatchFormMessage({ type: 'form/setValue', path: ['__proto__', 'x'], value: 1 }, actions));
    assert.ok(!dispatchFormMessage({ type: 'form/setValue', path: [], value: 1 }, actions));
    assert.ok(!dispatchFormMessage({ type: 'form/setValue', path: ['data'], value: { nested: { deep: 1 } } }, actions));
    assert.ok(!dispatchFormMessage({ type: 'form/setValue', path: ['data'], value: JSON.parse('{"__proto__": 1}') }, actions));
    assert.equal(calls.length, 2);
  });
});

describe('stopping a run started elsewhere', () => {
  const running = (overrides: Partial<RunInfo> = {}): RunInfo => ({
    id: 'r',
    name: 'r',
    status: 'running',
    backend: 'wasm',
    backendReason: '',
    pid: process.pid,
    host: os.hostname(),
    startedAt: '',
    endedAt: null,
    step: 1,
    totalSteps: 2,
    error: null,
    configPath: null,
    parent: null,
    ...overrides,
  });

  it('recognises our trainers by their script in a folder that holds our bundle', async () => {
    // A bundle folder like dist/ (the three files side by side), and another tool's lone cli.js.
    const root = await mkdtemp(path.join(os.tmpdir(), 'gan-bundle-'));
    const dist = path.join(root, 'dist');
    const other = path.join(root, 'other');
    await mkdir(dist);
    await mkdir(other);
    for (const name of ['cli.js', 'trainer.js', 'tfjs-backend-wasm.wasm']) await writeFile(path.join(dist, name), '');
    await writeFile(path.join(other, 'cli.js'), '');
    const proc = (cmdline: string, cwd = '/') => ({ cmdline: () => Promise.resolve(cmdline), cwd: () => Promise.resolve(cwd) });
    assert.ok(await isTrainerProcess(1, proc(`/usr/bin/node\0${dist}/cli.js\0train\0x.gan.json\0`)));
    assert.ok(await isTrainerProcess(1, proc(`node\0dist/trainer.js\0`, path.dirname(dist))), 'a relative script, resolved against the process cwd');
    assert.ok(!(await isTrainerProcess(1, proc(`/usr/bin/node\0${other}/cli.js\0--watch\0`))), "another tool's cli.js");
    assert.ok(!(await isTrainerProcess(1, proc('/usr/bin/vim\0notes.txt\0'))));
    assert.ok(!(await isTrainerProcess(1, { cmdline: () => Promise.reject(new Error('ENOENT')), cwd: () => Promise.resolve('/') })));
    await rm(root, { recursive: true, force: true });
  });

  it('sends SIGTERM only to a live trainer on this machine', async () => {
    const killed: [number, string][] = [];
    const deps = (isTrainer: boolean) => ({
      isTrainer: () => Promise.resolve(isTrainer),
      kill: (pid: number, signal: string) => void killed.push([pid, signal]),
    });
    assert.deepEqual(await stopForeignRun(running(), deps(true)), { ok: true, pid: process.pid });
    assert.deepEqual(killed, [[process.pid, 'SIGTERM']]);
    const refused = [
      await stopForeignRun(running(), deps(false)),
      await stopForeignRun(running({ host: 'another-machine' }), deps(true)),
      await stopForeignRun(running({ status: 'completed' }), deps(true)),
      await stopForeignRun(running({ pid: null }), deps(true)),
      await stopForeignRun(running({ pid: 2 ** 22 + 12345 }), deps(true)),
    ];
    assert.ok(refused.every((r) => !r.ok));
    assert.match((refused[0] as { reason: string }).reason, /not a GAN Workbench trainer/);
    assert.match((refused[1] as { reason: string }).reason, /runs on another-machine/);
    assert.equal(killed.length, 1, 'nothing else was signalled');
  });
});

describe("the runs list's status of a run with health alerts", () => {
  const alert = (kind: HealthAlertKind, step = 900) => ({ kind, step, message: 'm', advice: 'a' });
  it('is "alerting" with the warning icon while it runs, whatever the kind; an ended run keeps its status', () => {
    assert.deepEqual(runStatusView({ status: 'running' }), { label: 'running', icon: 'sync~spin', color: 'charts.blue' });
    assert.deepEqual(runStatusView({ status: 'running', alerts: [alert('mode-collapse'), alert('oscillation')] }), {
      label: 'alerting',
      icon: 'warning',
      color: 'charts.orange',
    });
    assert.equal(runStatusView({ status: 'completed', alerts: [alert('discriminator-wins')] }).label, 'completed');
  });

  it('says a failed run ended on a divergence, and shows a kind it does not know as a warning', () => {
    assert.deepEqual(runStatusView({ status: 'failed', alerts: [alert('mode-collapse'), alert('divergence', 1200)] }), {
      label: 'failed (divergence)',
      icon: 'flame',
      color: 'testing.iconFailed',
    });
    assert.deepEqual(runStatusView({ status: 'failed' }), { label: 'failed', icon: 'error', color: 'testing.iconFailed' });
    const unknown = { kind: 'from-a-newer-trainer', step: 5, message: 'm', advice: 'a' } as unknown as HealthAlert;
    assert.equal(runStatusView({ status: 'running', alerts: [unknown] }).icon, 'warning');
  });
});
