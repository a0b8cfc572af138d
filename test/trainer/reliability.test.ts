/**
 * Faults injected into the real trainer (GAN_WORKBENCH_FAULTS, see src/trainer/faults.ts): kills,
 * corrupt checkpoints, divergence and disk errors. Nothing written before a fault is lost, and a
 * resume continues exactly where the last complete checkpoint left off.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MetricsRecord, RunInfo } from '../../src/protocol/runDirectory';
import { parseJsonl, readRunInfo } from '../../src/runs/runReader';
import type { Faults } from '../../src/trainer/faults';
import { assertBuilt, CLI, collect, tempDir, waitFor, type Finished } from './helpers';

/** A small ring GAN that trains fast: checkpoints every 100 steps, metrics every 10. */
const CONFIG = {
  name: 'tiny',
  seed: 5,
  data: { type: 'ring' },
  generator: { type: 'mlp', depth: 2, width: 64, batchNorm: true, optimizer: { type: 'adam', learningRate: 0.0005, beta1: 0.5 } },
  discriminator: { type: 'mlp', depth: 2, width: 64, activation: 'leakyRelu', optimizer: { type: 'adam', learningRate: 0.0005, beta1: 0.5 } },
  training: { steps: 400, batchSize: 64 },
  logging: { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 100, sampleCount: 100, checkpointEvery: 100, keepCheckpoints: 5 },
};

function train(work: string, args: string[], faults?: Faults) {
  const env = { ...process.env, GAN_WORKBENCH_FAULTS: faults ? JSON.stringify(faults) : '' };
  const child = spawn(process.execPath, [CLI, 'train', ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env });
  return { child, done: collect(child) };
}

async function metricsSteps(runDir: string): Promise<number[]> {
  return parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records.map((m) => m.step);
}

const range = (from: number, to: number, every: number) => Array.from({ length: (to - from) / every + 1 }, (_, i) => from + i * every);

describe('reliability of the trainer under faults', () => {
  let work: string;
  let config: string;
  let counter = 0;
  const runsDir = () => path.join(work, `runs-${++counter}`);
  const onlyRun = async (runs: string) => path.join(runs, (await readdir(runs))[0]);

  before(async () => {
    assertBuilt();
    work = await tempDir('faults');
    config = path.join(work, 'tiny.gan.json');
    await writeFile(config, JSON.stringify(CONFIG));
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('SIGKILL between checkpoints: failed with a reason, no metrics lost, resume logs every step once', async () => {
    const runs = runsDir();
    const { child, done } = train(work, [config, '--out', runs]);
    const runDir = await waitFor('a run directory', async () => (await readdir(runs).catch(() => [])).map((n) => path.join(runs, n))[0], 30_000);
    await waitFor('step 150', async () => (await metricsSteps(runDir).catch(() => [])).some((s) => s >= 150), 60_000);
    child.kill('SIGKILL');
    await done;
    const before = await metricsSteps(runDir);
    const info = await readRunInfo(runDir);
    assert.equal(info?.status, 'failed');
    assert.match(info?.error ?? '', /ended without finishing the run: killed or crashed/);

    const resumed = await train(work, ['--resume', runDir]).done;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming from step 100\b/);
    const steps = await metricsSteps(runDir);
    assert.deepEqual(steps, range(10, 400, 10), 'every step from 10 to 400 exactly once');
    assert.ok(
      before.every((s) => steps.includes(s)),
      'lines written before the kill are kept up to the checkpoint',
    );
    assert.equal((await readRunInfo(runDir))?.status, 'completed');
  });

  it('a kill during a checkpoint write leaves the previous checkpoint usable and no temp files after resume', async () => {
    const runs = runsDir();
    const killed = await train(work, [config, '--out', runs], { killInCheckpoint: 200 }).done;
    assert.equal(killed.signal, 'SIGKILL');
    const runDir = await onlyRun(runs);
    const leftovers = await readdir(path.join(runDir, 'checkpoints'));
    assert.deepEqual(
      leftovers.filter((n) => !n.startsWith('.tmp-')),
      ['step-00000100'],
    );
    assert.equal(leftovers.filter((n) => n.startsWith('.tmp-')).length, 1, 'the interrupted write is a temp folder, never a checkpoint');

    const resumed = await train(work, ['--resume', runDir]).done;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming from step 100\b/);
    assert.ok(!(await readdir(path.join(runDir, 'checkpoints'))).some((n) => n.startsWith('.tmp-')), 'temp folders removed');
    assert.deepEqual(await metricsSteps(runDir), range(10, 400, 10));
  });

  it('a truncated or corrupt checkpoint is reported and the previous one is used', async () => {
    const runs = runsDir();
    const first = await train(work, [config, '--out', runs, '--steps', '300']).done;
    assert.equal(first.code, 0, first.stderr);
    const runDir = await onlyRun(runs);
    await truncate(path.join(runDir, 'checkpoints', 'step-00000300', 'weights.bin'), 1000);
    await writeFile(path.join(runDir, 'checkpoints', 'step-00000200', 'manifest.json'), '{"format": "gan-workbench-checkpoint/1", "ste');

    const sampled = spawn(process.execPath, [CLI, 'sample', runDir, '--n', '5'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    const sample: Finished = await collect(sampled);
    assert.equal(sample.code, 0, sample.stderr);
    assert.match(sample.stderr, /step-00000300: weights\.bin has 1000 bytes, the manifest says \d+/);
    assert.match(sample.stderr, /step-00000200: unreadable manifest/);
    assert.equal(JSON.parse(sample.stdout).length, 5);
    const explicit = await collect(spawn(process.execPath, [CLI, 'sample', runDir, '--step', '300'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] }));
    assert.equal(explicit.code, 2);
    assert.match(explicit.stderr, /weights\.bin has 1000 bytes/);

    const resumed = await train(work, ['--resume', runDir, '--steps', '400']).done;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /skipped a checkpoint that does not read back: .*step-00000300/);
    assert.match(resumed.stdout, /resuming from step 100\b/);
    assert.deepEqual(await metricsSteps(runDir), range(10, 400, 10));
  });

  it('resuming in a new process gives the same losses as an uninterrupted run', async () => {
    const straightRuns = runsDir();
    assert.equal((await train(work, [config, '--out', straightRuns, '--steps', '200']).done).code, 0);
    const splitRuns = runsDir();
    assert.equal((await train(work, [config, '--out', splitRuns, '--steps', '100']).done).code, 0);
    const split = await onlyRun(splitRuns);
    assert.equal((await train(work, ['--resume', split, '--steps', '200']).done).code, 0);
    const read = async (runDir: string) => parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records;
    const a = await read(await onlyRun(straightRuns));
    const b = await read(split);
    assert.deepEqual(
      b.map((m) => m.step),
      a.map((m) => m.step),
    );
    a.forEach((m, i) => {
      for (const key of ['dLoss', 'gLoss', 'dReal', 'dFake'] as const)
        assert.ok(Math.abs(m[key] - b[i][key]) < 1e-5, `${key} at step ${m.step}: ${m[key]} vs ${b[i][key]}`);
    });
    const weights = async (runs: string) =>
      new Float32Array((await readFile(path.join(await onlyRun(runs), 'checkpoints', 'step-00000200', 'weights.bin'))).buffer.slice(0));
    const wa = await weights(straightRuns);
    const wb = await weights(splitRuns);
    assert.equal(wa.length, wb.length);
    wa.forEach((v, i) => assert.ok(Math.abs(v - wb[i]) <= 1e-5 * (1 + Math.abs(v)), `weight ${i}`));
  });

  it('a NaN stops the run within one step as failed: diverged, keeping the last finite checkpoint', async () => {
    const runs = runsDir();
    const result = await train(work, [config, '--out', runs], { nanAtStep: 150 }).done;
    assert.equal(result.code, 1);
    const runDir = await onlyRun(runs);
    const info = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')) as RunInfo;
    assert.equal(info.status, 'failed');
    assert.match(info.error ?? '', /^diverged: the losses became NaN .* at step 150; the last finite checkpoint is step 100$/);
    assert.equal(info.step, 149);
    assert.deepEqual(await readdir(path.join(runDir, 'checkpoints')), ['step-00000100']);
    assert.ok(Math.max(...(await metricsSteps(runDir))) <= 150);
    assert.match(result.stdout, /Summary: failed \(diverged/);
  });

  for (const target of ['append', 'rename', 'checkpoint'] as const) {
    it(`a disk error (ENOSPC) on ${target} stops the run cleanly and keeps what was written`, async () => {
      const runs = runsDir();
      const result = await train(work, [config, '--out', runs], { failWrite: { target, code: 'ENOSPC', atStep: 100 } }).done;
      assert.equal(result.code, 1, result.stdout + result.stderr);
      const runDir = await onlyRun(runs);
      const info = await readRunInfo(runDir);
      assert.equal(info?.status, 'failed');
      if (target !== 'rename') assert.match(info?.error ?? '', /ENOSPC/);
      const steps = await metricsSteps(runDir);
      assert.deepEqual(steps, range(10, Math.max(...steps), 10), 'the metrics written before the fault are intact');
      const checkpoints = await readdir(path.join(runDir, 'checkpoints'));
      assert.ok(!checkpoints.some((n) => n.startsWith('.tmp-')), 'no temp folders');
      assert.ok(!(await readdir(runDir)).some((n) => n.includes('.tmp') || /run\.json\./.test(n)), 'no temp files');
    });
  }
});
