/** The monitor snapshot's metrics: the newest records whole, the older ones as columns. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { MetricsRecord } from '../../src/protocol/runDirectory';
import { readSnapshotMetrics } from '../../src/runs/metricsHistory';
import { readLastRecord, readMetrics } from '../../src/runs/runReader';

const record = (step: number): MetricsRecord => ({
  step,
  time: 1_790_000_000_000 + step,
  dLoss: step === 40 ? Number.NaN : step / 1000,
  gLoss: 1 - step / 1000,
  dReal: 0.5,
  dFake: 0.4,
  stepsPerSecond: 16,
  ...(step % 100 === 0 ? { generatorGradientNorm: step / 7, evaluationFeatures: 'points' as const } : {}),
});

describe('snapshot metrics', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
  const runWith = async (text: string) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-history-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'metrics.jsonl'), text);
    return dir;
  };

  it('sends the newest records whole and the older ones as columns, skipping a torn last line', async () => {
    const records = Array.from({ length: 2500 }, (_, i) => record(10 * (i + 1)));
    const dir = await runWith(records.map((r) => JSON.stringify(r)).join('\n') + '\nnot json\n' + '{"step": 99999, "dL');
    const { metrics, history } = await readSnapshotMetrics(dir, 1000);
    assert.deepEqual(metrics, (await readMetrics(dir)).slice(1500));
    assert.ok(history);
    assert.equal(history.step.length, 1500);
    assert.deepEqual([...history.step.subarray(0, 3)], [10, 20, 30]);
    assert.equal(history.step[1499], 15000);
    assert.ok(Number.isNaN(history.dLoss[3]), 'a NaN (null in JSON) stays NaN');
    assert.equal(history.gLoss[10], 1 - 110 / 1000);
    const norm = history.optional.generatorGradientNorm!;
    assert.equal(norm.length, 1500);
    assert.equal(norm[9], 100 / 7);
    assert.ok(Number.isNaN(norm[8]));
    assert.equal(history.optional.gradientPenalty, undefined, 'only the metrics the run wrote');
    assert.equal(history.evaluationFeatures, 'points');
  });

  it('reads the last complete record of a JSON Lines file from its end, however long its lines', async () => {
    const line = (step: number, bins = 20) => JSON.stringify({ step, dReal: new Array(bins).fill(step) });
    const dir = await runWith(Array.from({ length: 5000 }, (_, i) => line(i)).join('\n') + '\n' + line(5000).slice(0, 30));
    const file = path.join(dir, 'metrics.jsonl');
    assert.deepEqual(await readLastRecord(file), JSON.parse(line(4999)), 'a torn last line is skipped');
    await writeFile(file, `${line(1)}\n${line(2, 40_000)}\nnot json\n`);
    assert.deepEqual(await readLastRecord(file), JSON.parse(line(2, 40_000)), 'a line longer than the first window');
    await writeFile(file, '');
    assert.equal(await readLastRecord(file), null);
    assert.equal(await readLastRecord(path.join(dir, 'nothing.jsonl')), null);
  });

  it('sends a short run whole, without columns, and a missing file as no records', async () => {
    const dir = await runWith([record(10), record(20)].map((r) => JSON.stringify(r) + '\n').join(''));
    assert.deepEqual(await readSnapshotMetrics(dir), { metrics: await readMetrics(dir) });
    assert.deepEqual(await readSnapshotMetrics(path.join(dir, 'nothing')), { metrics: [] });
  });
});
