/** The headless CLI as a user runs it: the real trainer, real files, real exit codes. */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HistogramRecord, MetricsRecord, PointSamples, RunInfo } from '../../src/protocol/runDirectory';
import { loadSnapshot } from '../../src/runs/runSnapshot';
import { parseJsonl } from '../../src/runs/runReader';
import { assertBuilt, cli, ROOT, tempDir, waitFor } from './helpers';

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

async function onlyRunDir(runsDir: string): Promise<string> {
  const names = await readdir(runsDir);
  assert.equal(names.length, 1, `one run directory expected in ${runsDir}, found ${names.join(', ')}`);
  return path.join(runsDir, names[0]);
}

describe('gan-workbench CLI', () => {
  let work: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('cli');
    await cp(path.join(ROOT, 'examples'), path.join(work, 'examples'), { recursive: true });
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('trains the ring for 300 steps and writes the whole run-directory contract', async () => {
    const runs = path.join(work, 'runs-300');
    const { done } = cli(['train', 'examples/ring8.gan.json', '--steps', '300', '--out', runs], work);
    const result = await done;
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /step 300\/300 \(100%\)/, 'plain progress lines when stdout is not a terminal');
    assert.match(result.stdout, /Summary: completed/);
    assert.match(result.stdout, /modes {8}\d\/8 covered/);

    const runDir = await onlyRunDir(runs);
    const run = await readJson<RunInfo>(path.join(runDir, 'run.json'));
    assert.equal(run.status, 'completed');
    assert.equal(run.step, 300);
    assert.equal(run.backend, 'wasm');
    assert.match(run.backendReason, /tensorflow-gpu: not installed/);
    assert.equal(run.id, path.basename(runDir));
    assert.equal(run.pid, null);
    assert.ok(run.endedAt && Date.parse(run.endedAt) >= Date.parse(run.startedAt));

    const config = await readJson<{ name: string; training: { steps: number } }>(path.join(runDir, 'config.json'));
    assert.equal(config.name, 'ring8');
    assert.equal(config.training.steps, 300, 'the snapshot records the --steps override');

    const metrics = parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8'));
    assert.deepEqual(metrics.warnings, []);
    assert.deepEqual(
      metrics.records.map((m) => m.step),
      Array.from({ length: 30 }, (_, i) => 10 * (i + 1)),
    );
    for (const m of metrics.records) {
      for (const key of ['time', 'dLoss', 'gLoss', 'dReal', 'dFake'] as const) assert.ok(Number.isFinite(m[key]), `${key} at step ${m.step}: ${m[key]}`);
      assert.ok(m.dReal > 0 && m.dReal < 1 && m.dFake > 0 && m.dFake < 1);
    }

    const histograms = parseJsonl<HistogramRecord>(await readFile(path.join(runDir, 'histograms.jsonl'), 'utf8')).records;
    assert.deepEqual(
      histograms.map((h) => h.step),
      [50, 100, 150, 200, 250, 300],
    );
    for (const h of histograms) {
      assert.equal(h.edges.length, 21);
      assert.equal(
        h.dReal.reduce((a, b) => a + b),
        200,
      );
      assert.equal(
        h.dFake.reduce((a, b) => a + b),
        200,
      );
    }

    const samples = (await readdir(path.join(runDir, 'samples'))).sort();
    assert.deepEqual(samples, ['real.json', 'step-00000000.json', 'step-00000250.json', 'step-00000300.json']);
    const last = await readJson<PointSamples>(path.join(runDir, 'samples', 'step-00000300.json'));
    // The example evaluates on 2,500 samples, as the PacGAN protocol does.
    assert.equal(last.points.length, 2500);
    assert.ok(last.points.every((p) => p.length === 2 && p.every(Number.isFinite)));
    assert.deepEqual(await readdir(path.join(runDir, 'checkpoints')), ['step-00000300']);
    assert.deepEqual((await readdir(path.join(runDir, 'checkpoints', 'step-00000300'))).sort(), ['manifest.json', 'weights.bin']);

    // What the monitor panel loads from the run directory.
    const snapshot = await loadSnapshot(runDir);
    assert.ok(snapshot);
    assert.equal(snapshot.run.status, 'completed');
    assert.equal(snapshot.run.dataDimension, 2);
    assert.equal(snapshot.metrics.length, 30);
    assert.equal(snapshot.latestHistogram?.step, 300);
    assert.equal(snapshot.latestSamples?.step, 300);
    assert.equal(snapshot.realPoints?.length, 2500);

    // `sample` draws from the run's generator.
    const pts = path.join(work, 'pts.json');
    const sampled = await cli(['sample', runDir, '--n', '2500', '--out', pts], work).done;
    assert.equal(sampled.code, 0, sampled.stderr);
    const points = await readJson<number[][]>(pts);
    assert.equal(points.length, 2500);
    assert.ok(points.every((p) => p.length === 2 && p.every(Number.isFinite)));
    const again = await cli(['sample', runDir, '--n', '3', '--step', '300'], work).done;
    assert.equal(JSON.parse(again.stdout).length, 3);
    const missing = await cli(['sample', runDir, '--step', '7'], work).done;
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no checkpoint at step 7 \(checkpoints: 300\)/);
  });

  it('refuses a bad config with the field path, exit code 2, and writes nothing', async () => {
    const runs = path.join(work, 'runs-bad');
    const file = path.join(work, 'bad.gan.json');
    const text = (await readFile(path.join(ROOT, 'examples', 'ring8.gan.json'), 'utf8'))
      .replace('"batchSize": 200', '"batchSize": -5')
      .replace(/("discriminator": \{[^}]*?"width": )128/, '$1"wide"')
      .replace('"seed": 1,', '"seed": 1, "colour": "red",');
    await writeFile(file, text);
    const result = await cli(['train', file, '--out', runs], work).done;
    assert.equal(result.code, 2);
    assert.match(result.stderr, /invalid config/);
    assert.match(result.stderr, /bad\.gan\.json:\d+:\d+: training\.batchSize: expected > 0, got -5/);
    assert.match(result.stderr, /discriminator\.width: expected number, got "wide"/);
    assert.match(result.stderr, /colour: unknown field/);
    await assert.rejects(readdir(runs), /ENOENT/, 'no runs folder is created for a refused config');
  });

  it('refuses a missing data file, naming it', async () => {
    const runs = path.join(work, 'runs-missing');
    const file = path.join(work, 'csv.gan.json');
    await writeFile(
      file,
      JSON.stringify({ name: 'csv', data: { type: 'csv', path: 'nowhere.csv' }, generator: { type: 'mlp' }, discriminator: { type: 'mlp' } }),
    );
    const result = await cli(['train', file, '--out', runs], work).done;
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${path.join(work, 'nowhere.csv').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: file not found`));
    await assert.rejects(readdir(runs), /ENOENT/);
  });

  it('trains on a CSV file', async () => {
    const rows = ['x,y', ...Array.from({ length: 200 }, (_, i) => `${Math.cos(i)},${Math.sin(i) * 2}`)];
    await writeFile(path.join(work, 'circle.csv'), rows.join('\n'));
    const file = path.join(work, 'circle.gan.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'circle',
        data: { type: 'csv', path: 'circle.csv', normalize: true },
        generator: { type: 'mlp', width: 16 },
        discriminator: { type: 'mlp', width: 16 },
        training: { steps: 20 },
      }),
    );
    const runs = path.join(work, 'runs-csv');
    const result = await cli(['train', file, '--out', runs], work).done;
    assert.equal(result.code, 0, result.stderr);
    const runDir = await onlyRunDir(runs);
    const real = await readJson<number[][]>(path.join(runDir, 'samples', 'real.json'));
    assert.ok(
      real.every(([x, y]) => Math.abs(x) <= 1.0001 && Math.abs(y) <= 2.0001),
      'real samples are in data space',
    );
  });

  it('usage errors exit with 2', async () => {
    for (const args of [
      [],
      ['fly'],
      ['train'],
      ['train', 'examples/ring8.gan.json', '--steps', 'many'],
      ['train', 'examples/ring8.gan.json', '--backend', 'tpu'],
    ]) {
      const result = await cli(args, work).done;
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /Usage:/);
    }
  });

  it('stops cleanly on SIGINT (exit 130, status stopped, checkpoint) and --resume finishes with no step logged twice', async () => {
    const runs = path.join(work, 'runs-stop');
    const { child, done } = cli(['train', 'examples/ring8.gan.json', '--steps', '200', '--out', runs], work);
    const runDir = await waitFor('a run directory', async () => (await readdir(runs).catch(() => [])).map((n) => path.join(runs, n))[0], 30_000);
    await waitFor(
      'step 40',
      async () => parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8').catch(() => '')).records.length >= 4,
      60_000,
    );
    child.kill('SIGINT');
    const stopped = await done;
    assert.equal(stopped.code, 130, stopped.stderr);
    const run = await readJson<RunInfo>(path.join(runDir, 'run.json'));
    assert.equal(run.status, 'stopped');
    assert.ok(run.step >= 40 && run.step < 200);
    assert.match(stopped.stdout, /continue {5}gan-workbench train --resume/);

    const resumed = await cli(['train', '--resume', runDir], work).done;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resuming from step ${run.step}`));
    const final = await readJson<RunInfo>(path.join(runDir, 'run.json'));
    assert.equal(final.status, 'completed');
    assert.equal(final.step, 200);
    const steps = parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records.map((m) => m.step);
    assert.deepEqual(steps, [...new Set(steps)], 'no step logged twice');
    assert.equal(steps[steps.length - 1], 200);
  });
});
