/**
 * The evaluation as the CLI writes it: a short ring run and a short MNIST run carry the evaluation
 * fields in the metrics records of their samplesEvery steps, and evaluating leaves training as it was.
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MetricsRecord } from '../../src/protocol/runDirectory';
import { parseJsonl } from '../../src/runs/runReader';
import { assertBuilt, cli, ROOT, tempDir } from './helpers';

const TWO_D = ['modesCovered', 'highQuality', 'modeReverseKl', 'gridKl', 'gridJs', 'precision', 'recall', 'density', 'coverage'] as const;
const CLASSIFIER = ['classesCovered', 'classKl', 'classifierScore', 'frechetDistance', 'precision', 'recall', 'density', 'coverage'] as const;

async function train(work: string, name: string, args: string[]): Promise<{ stdout: string; records: MetricsRecord[] }> {
  const runs = path.join(work, name);
  const result = await cli(['train', ...args, '--out', runs], work).done;
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const [runId] = await readdir(runs);
  const metrics = parseJsonl<MetricsRecord>(await readFile(path.join(runs, runId, 'metrics.jsonl'), 'utf8'));
  assert.deepEqual(metrics.warnings, []);
  return { stdout: result.stdout, records: metrics.records };
}

describe('evaluation while training', () => {
  let work: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('evaluation');
    await cp(path.join(ROOT, 'examples'), path.join(work, 'examples'), { recursive: true });
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('ring8: the 2-D fields every samplesEvery steps and at the end, without changing the training', async () => {
    // samplesEvery 250 in the example; 300 steps end between two evaluations.
    const { stdout, records } = await train(work, 'ring', ['examples/ring8.gan.json', '--steps', '300']);
    const evaluated = records.filter((m) => m.evaluationFeatures !== undefined);
    assert.deepEqual(
      evaluated.map((m) => m.step),
      [250, 300],
    );
    for (const m of evaluated) {
      assert.equal(m.evaluationFeatures, 'points');
      for (const key of TWO_D) assert.ok(Number.isFinite(m[key]), `${key} at step ${m.step}: ${m[key]}`);
      assert.ok(m.modesCovered! >= 0 && m.modesCovered! <= 8);
      assert.ok(m.gridJs! >= 0 && m.gridJs! <= Math.log(2) + 1e-12);
      for (const key of ['precision', 'recall', 'coverage', 'highQuality'] as const) assert.ok(m[key]! >= 0 && m[key]! <= 1, `${key} ${m[key]}`);
      assert.equal(m.classesCovered, undefined);
      assert.equal(m.frechetDistance, undefined);
    }
    assert.ok(records.filter((m) => m.evaluationFeatures === undefined).every((m) => m.precision === undefined));
    assert.match(stdout, /evaluation {3}precision \S+ {2}recall \S+ {2}density \S+ {2}coverage \S+ {2}\(on the points/);
    assert.match(stdout, /mixture {6}\d modes covered/);
    assert.match(stdout, /grid {9}KL\(p_data ‖ p_g\)/);

    // The evaluation draws from its own streams: without it, every loss is the same.
    const off = await train(work, 'ring-off', ['examples/ring8.gan.json', '--steps', '300', '--set', 'logging.evaluationSamples=0']);
    assert.ok(off.records.every((m) => m.evaluationFeatures === undefined));
    const losses = (rs: MetricsRecord[]) => rs.filter((m) => m.step % 10 === 0).map((m) => [m.step, m.dLoss, m.gLoss, m.dReal, m.dFake]);
    assert.deepEqual(losses(off.records), losses(records));
  });

  it('mnist: the classifier fields on its features', async () => {
    const { stdout, records } = await train(work, 'mnist', [
      'examples/mnist-dcgan.gan.json',
      '--steps',
      '20',
      '--set',
      'logging.samplesEvery=10',
      '--set',
      'logging.evaluationSamples=200',
    ]);
    const evaluated = records.filter((m) => m.evaluationFeatures !== undefined);
    assert.deepEqual(
      evaluated.map((m) => m.step),
      [10, 20],
    );
    for (const m of evaluated) {
      assert.equal(m.evaluationFeatures, 'mnist-classifier');
      for (const key of CLASSIFIER) assert.ok(Number.isFinite(m[key]), `${key} at step ${m.step}: ${m[key]}`);
      assert.ok(Number.isInteger(m.classesCovered) && m.classesCovered! >= 1 && m.classesCovered! <= 10);
      assert.ok(m.classifierScore! >= 1 - 1e-9 && m.classifierScore! <= 10 + 1e-9);
      assert.ok(m.frechetDistance! > 0);
      assert.equal(m.gridKl, undefined);
    }
    assert.match(stdout, /classes {6}\d+ covered {2}class KL \S+ {2}classifier score \S+ {2}Fréchet distance \S+/);
  });
});
