/** The extension's handle on a trainer process (vscode-free), against the real trainer. */
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunEndedParams } from '../../src/protocol/trainerRpc';
import { TrainerProcess } from '../../src/extension/trainerProcess';
import { readRunInfo } from '../../src/runs/runReader';
import { assertBuilt, isAlive, ROOT, tempDir, TRAINER, waitFor } from './helpers';

describe('trainer process handle', () => {
  let work: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('process');
    await cp(path.join(ROOT, 'examples'), path.join(work, 'examples'), { recursive: true });
  });
  after(async () => rm(work, { recursive: true, force: true }));

  const start = async (faults: object | null, stopTimeoutMs: number) => {
    const ends: { params: RunEndedParams; crashed: boolean }[] = [];
    let metrics = 0;
    const trainer = new TrainerProcess(
      { script: TRAINER, env: { ...process.env, GAN_WORKBENCH_FAULTS: faults ? JSON.stringify(faults) : '' }, stopTimeoutMs },
      { metrics: () => metrics++, end: (params, crashed) => ends.push({ params, crashed }) },
    );
    const run = await trainer.start({
      configPath: path.join(work, 'examples', 'ring8.gan.json'),
      runsDir: path.join(work, 'runs'),
      backend: 'auto',
      steps: 100000,
    });
    await waitFor('metrics', () => metrics >= 2, 60_000);
    return { trainer, run, ends };
  };

  it('stops cleanly on request, and a second stop is harmless', async () => {
    const { trainer, run, ends } = await start(null, 10_000);
    await Promise.all([trainer.stop(), trainer.stop()]);
    await trainer.stop();
    assert.deepEqual(
      ends.map((e) => [e.params.status, e.crashed]),
      [['stopped', false]],
    );
    assert.equal((await readRunInfo(run.runDir))?.status, 'stopped');
    assert.equal(trainer.stopRequested, true);
  });

  it('kills a trainer that ignores the stop request after the timeout', async () => {
    const { trainer, run, ends } = await start({ ignoreStop: true }, 1500);
    const pid = trainer.pid;
    assert.ok(pid !== undefined && isAlive(pid));
    const asked = Date.now();
    await trainer.stop();
    const seconds = (Date.now() - asked) / 1000;
    assert.ok(seconds >= 1.4 && seconds < 5, `stopped after ${seconds} s`);
    assert.equal(isAlive(pid), false, 'the process is gone');
    await trainer.stop();
    assert.equal(ends.length, 1);
    assert.equal(ends[0].crashed, true, 'it never said how the run ended');
    assert.equal((await readRunInfo(run.runDir))?.status, 'failed', 'run.json does not claim it is still running');
  });

  it('reports a crash as such', async () => {
    const { trainer, ends } = await start({ crashAfterSteps: 40 }, 10_000);
    await waitFor('the crash', () => ends.length === 1, 30_000);
    assert.equal(ends[0].crashed, true);
    assert.match(ends[0].params.error ?? '', /exited unexpectedly \(code 70\)/);
    assert.equal(trainer.stopRequested, false);
  });
});
