/**
 * The 2-D laboratory against the real trainer process: live frames, step mode (pause, one D
 * update, one G update, resume) and live changes of the learning rates and k, recorded in run.json
 * and in the metrics records that follow.
 */
import assert from 'node:assert/strict';
import { cp, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MetricsRecord, PointSamples } from '../../src/protocol/runDirectory';
import type { ControlState } from '../../src/protocol/trainerRpc';
import { TrainerProcess } from '../../src/extension/trainerProcess';
import { readRunInfo } from '../../src/runs/runReader';
import { assertBuilt, ROOT, tempDir, TRAINER, waitFor } from './helpers';

async function metricsOf(runDir: string): Promise<MetricsRecord[]> {
  const text = await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as MetricsRecord);
}

describe('2-D laboratory: step mode and live changes', () => {
  let work: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('laboratory');
    await cp(path.join(ROOT, 'examples'), path.join(work, 'examples'), { recursive: true });
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('pauses, makes single D and G updates, takes new rates and k, and records them', async () => {
    const frames: PointSamples[] = [];
    const states: ControlState[] = [];
    let metrics = 0;
    const trainer = new TrainerProcess(
      { script: TRAINER },
      { metrics: () => metrics++, laboratory: (samples) => frames.push(samples), controls: (state) => states.push(state) },
    );
    try {
      const run = await trainer.start({
        configPath: path.join(work, 'examples', 'ring8.gan.json'),
        runsDir: path.join(work, 'runs'),
        backend: 'auto',
        steps: 100000,
      });
      await waitFor('live laboratory frames', () => frames.length >= 2 && metrics >= 2, 60_000);
      const frame = frames[frames.length - 1];
      assert.ok(frame.laboratory, 'a live frame carries the laboratory');
      assert.equal(frame.laboratory.gradients.length, frame.points.length);
      assert.equal(frame.laboratory.surface.values.length, frame.laboratory.surface.columns * frame.laboratory.surface.rows);
      assert.ok(
        frame.laboratory.surface.values.every((v) => v >= 0 && v <= 1),
        'cross-entropy: D is a probability',
      );
      assert.equal(frame.laboratory.manifold?.points.length, 16 * 16);

      // Single updates are refused while the run trains.
      await assert.rejects(trainer.control({ action: 'step', player: 'discriminator' }), /pause it first/);
      await trainer.control({ action: 'pause' });
      const paused = await waitFor(
        'run.json says paused',
        async () => ((await readRunInfo(run.runDir))?.paused ? await readRunInfo(run.runDir) : null),
        20_000,
      );
      const pausedAt = paused!.step;
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await readRunInfo(run.runDir))?.step, pausedAt, 'no step while paused');

      const framesBefore = frames.length;
      await trainer.control({ action: 'step', player: 'discriminator' });
      await trainer.control({ action: 'step', player: 'discriminator' });
      await trainer.control({ action: 'step', player: 'generator' });
      await waitFor('three single updates', () => states.some((s) => s.singleDiscriminatorUpdates === 2 && s.singleGeneratorUpdates === 1), 20_000);
      await waitFor('a frame after each single update', () => frames.length >= framesBefore + 3, 20_000);
      assert.equal((await readRunInfo(run.runDir))?.step, pausedAt, 'single updates do not move the step counter');

      // A bad value is refused with its reason; a good one applies while paused.
      await assert.rejects(trainer.control({ action: 'set', dStepsPerGStep: 0 } as never), /dStepsPerGStep must be a whole number/);
      await trainer.control({ action: 'set', discriminatorLearningRate: 0.0001, dStepsPerGStep: 2 });
      await waitFor('the change', () => states.some((s) => s.discriminatorLearningRate === 0.0001 && s.dStepsPerGStep === 2), 20_000);
      const info = await readRunInfo(run.runDir);
      assert.deepEqual(
        info?.controlChanges?.map(({ step, discriminatorLearningRate, dStepsPerGStep }) => ({ step, discriminatorLearningRate, dStepsPerGStep })),
        [{ step: pausedAt, discriminatorLearningRate: 0.0001, dStepsPerGStep: 2 }],
      );

      await trainer.control({ action: 'resume' });
      await waitFor('steps after the resume', async () => (await metricsOf(run.runDir)).some((r) => r.step > pausedAt + 20), 60_000);
      assert.equal((await readRunInfo(run.runDir))?.paused, false);
      const records = await metricsOf(run.runDir);
      const before = records.filter((r) => r.step <= pausedAt);
      const afterResume = records.filter((r) => r.step > pausedAt);
      assert.ok(before.every((r) => r.discriminatorLearningRate === 0.0002 && r.dStepsPerGStep === 1 && r.singleDiscriminatorUpdates === undefined));
      assert.ok(
        afterResume.every(
          (r) =>
            r.discriminatorLearningRate === 0.0001 &&
            r.generatorLearningRate === 0.0002 &&
            r.dStepsPerGStep === 2 &&
            r.singleDiscriminatorUpdates === 2 &&
            r.singleGeneratorUpdates === 1,
        ),
        JSON.stringify(afterResume[0]),
      );
      await trainer.stop();

      // Written samples carry the laboratory too (terminal runs and older steps are drawn from them).
      const files = (await readdir(path.join(run.runDir, 'samples'))).filter((f) => f.startsWith('step-'));
      const written = JSON.parse(await readFile(path.join(run.runDir, 'samples', files[files.length - 1]), 'utf8')) as PointSamples;
      assert.equal(written.laboratory?.gradients.length, written.points.length);
    } finally {
      trainer.kill();
    }
  });
});
