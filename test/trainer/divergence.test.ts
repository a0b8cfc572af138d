/**
 * Divergence in the real CLI: a NaN injected into G's weights (GAN_WORKBENCH_FAULTS, see
 * src/trainer/faults.ts) ends the run as failed with the reason, a `divergence` alert in run.json
 * (step, values, advice) and on the terminal, and the last finite checkpoint kept: it reads back
 * finite, and the run resumes or forks from it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MetricsRecord, RunInfo } from '../../src/protocol/runDirectory';
import { parseJsonl, readRunInfo } from '../../src/runs/runReader';
import type { Faults } from '../../src/trainer/faults';
import { assertBuilt, CLI, collect, tempDir } from './helpers';

/** A small ring GAN that trains fast: checkpoints every 100 steps, metrics every 10. */
const CONFIG = {
  name: 'tiny-diverging',
  seed: 5,
  data: { type: 'ring' },
  generator: { type: 'mlp', depth: 2, width: 32, optimizer: { type: 'adam', learningRate: 0.0005, beta1: 0.5 } },
  discriminator: { type: 'mlp', depth: 2, width: 32, activation: 'leakyRelu', optimizer: { type: 'adam', learningRate: 0.0005, beta1: 0.5 } },
  training: { steps: 200, batchSize: 64 },
  logging: { metricsEvery: 10, histogramsEvery: 50, samplesEvery: 100, sampleCount: 100, checkpointEvery: 100, keepCheckpoints: 5 },
};

function gan(work: string, args: string[], faults?: Faults) {
  const env = { ...process.env, GAN_WORKBENCH_FAULTS: faults ? JSON.stringify(faults) : '' };
  const child = spawn(process.execPath, [CLI, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env });
  return collect(child);
}

describe('divergence', () => {
  let work: string;
  let runs: string;
  let runDir: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('divergence');
    runs = path.join(work, 'runs');
    await writeFile(path.join(work, 'tiny.gan.json'), JSON.stringify(CONFIG));
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('ends the run as failed with the reason and a divergence alert, keeping the last finite checkpoint', async () => {
    const result = await gan(work, ['train', 'tiny.gan.json', '--out', runs], { nanAtStep: 150 });
    assert.equal(result.code, 1, result.stderr);
    runDir = path.join(runs, (await readdir(runs))[0]);
    const info = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')) as RunInfo;
    assert.equal(info.status, 'failed');
    assert.equal(info.error, 'diverged: the losses became NaN (D) and NaN (G) at step 150; the last finite checkpoint is step 100');
    const alerts = info.alerts ?? [];
    assert.deepEqual(
      alerts.map((a) => a.kind),
      ['divergence'],
    );
    const [alert] = alerts;
    assert.equal(alert.step, 150);
    assert.equal(alert.message, 'the run diverged at step 150: the losses became NaN (D) and NaN (G); the last finite checkpoint is step 100');
    assert.match(
      alert.advice,
      /^lower the learning rates \(now G 0\.0005, D 0\.0005\), a gradient penalty \(the wgan-gp cost\) or spectral norm in D, and check the data's scaling/,
    );
    assert.match(alert.advice, /fork the run from step 100/);
    // On the terminal: the alert line, and how to go on from the checkpoint.
    assert.match(result.stderr, /^alert at step 150: the run diverged at step 150: the losses became NaN \(D\) and NaN \(G\)/m);
    assert.match(result.stdout, /Summary: failed \(diverged: /);
    assert.match(result.stdout, new RegExp(`fork +gan-workbench train --fork ${runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --from-step 100 `));
    // The records up to the divergence are there, each with G's gradient norm, all finite.
    const records = parseJsonl<MetricsRecord>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records;
    assert.deepEqual(
      records.map((r) => r.step),
      Array.from({ length: 14 }, (_, i) => 10 * (i + 1)),
    );
    assert.ok(records.every((r) => Number.isFinite(r.generatorGradientNorm) && r.generatorGradientNorm! > 0));
  });

  it('keeps only the finite checkpoint, which reads back finite', async () => {
    assert.deepEqual(await readdir(path.join(runDir, 'checkpoints')), ['step-00000100']);
    const weights = new Float32Array((await readFile(path.join(runDir, 'checkpoints', 'step-00000100', 'weights.bin'))).buffer.slice(0));
    assert.ok(weights.length > 1000);
    assert.ok(weights.every(Number.isFinite), 'every stored number is finite');
    // Read back through the trainer: G from that checkpoint draws finite points.
    const out = path.join(work, 'points.json');
    const sampled = await gan(work, ['sample', runDir, '--step', '100', '--n', '50', '--out', out]);
    assert.equal(sampled.code, 0, sampled.stderr);
    const points = JSON.parse(await readFile(out, 'utf8')) as number[][];
    assert.equal(points.length, 50);
    assert.ok(points.flat().every(Number.isFinite));
  });

  it('refuses to checkpoint weights a diverging update left NaN behind finite losses', async () => {
    const other = path.join(work, 'runs-weights');
    // G's weights turn NaN after step 200, a checkpoint step: its losses were finite, its checkpoint would not be.
    const result = await gan(work, ['train', 'tiny.gan.json', '--out', other, '--steps', '300'], { nanAfterStep: 200 });
    assert.equal(result.code, 1, result.stderr);
    const dir = path.join(other, (await readdir(other))[0]);
    const info = await readRunInfo(dir);
    assert.equal(info?.status, 'failed');
    assert.match(info?.error ?? '', /^diverged: \S+ holds NaN or Inf before its checkpoint at step 200; the last finite checkpoint is step 100$/);
    assert.deepEqual(
      info?.alerts?.map((a) => [a.kind, a.step]),
      [['divergence', 200]],
    );
    assert.deepEqual(await readdir(path.join(dir, 'checkpoints')), ['step-00000100']);
  });

  it('forks from the kept checkpoint with a lower learning rate, and resumes from it', async () => {
    const forked = await gan(work, ['train', '--fork', runDir, '--from-step', '100', '--set', 'generator.optimizer.learningRate=0.0002', '--out', runs]);
    assert.equal(forked.code, 0, forked.stderr);
    const fork = (await readdir(runs)).map((name) => path.join(runs, name)).find((dir) => dir !== runDir)!;
    const forkInfo = await readRunInfo(fork);
    assert.equal(forkInfo?.status, 'completed');
    assert.equal(forkInfo?.parentStep, 100);
    assert.deepEqual(forkInfo?.alerts ?? [], []);

    const resumed = await gan(work, ['train', '--resume', runDir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming from step 100\b/);
    const info = await readRunInfo(runDir);
    assert.equal(info?.status, 'completed');
    assert.equal(info?.step, 200);
    assert.equal(info?.error, null);
    // The steps after the checkpoint were trained again and their logs cut: so is the divergence seen there
    // (else a later crash of the resumed run would read as "failed (divergence)").
    assert.deepEqual(info?.alerts ?? [], [], 'the alerts after the resume step went with the logs after it');
  });
});
