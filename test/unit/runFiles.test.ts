import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunInfo } from '../../src/protocol/runDirectory';
import { parseJsonl, readRunInfo } from '../../src/runs/runReader';
import { modeQuality } from '../../src/trainer/quality';
import { gridModes, ringModes } from '../../src/trainer/data';
import { RunWriter } from '../../src/trainer/runWriter';

const info = (overrides: Partial<RunInfo> = {}): RunInfo => ({
  id: 'r-1',
  name: 'r',
  status: 'running',
  backend: 'wasm',
  backendReason: '',
  pid: 999999,
  host: os.hostname(),
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: null,
  step: 40,
  totalSteps: 100,
  error: null,
  configPath: null,
  parent: null,
  ...overrides,
});

describe('run directory files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gan-run-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('keeps every complete JSONL record and leaves a torn last line for later', () => {
    const result = parseJsonl<{ step: number }>('{"step":1}\n{"step":2}\n{"ste');
    assert.deepEqual(result.records, [{ step: 1 }, { step: 2 }]);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.completeBytes, 22);
  });

  it('reports a corrupt line in the middle with its line number', () => {
    const result = parseJsonl<{ step: number }>('{"step":1}\nnot json\n{"step":3}\n');
    assert.deepEqual(result.records, [{ step: 1 }, { step: 3 }]);
    assert.deepEqual(result.warnings, ['line 2: not valid JSON']);
  });

  it('reports a run whose trainer is gone as failed, not running', async () => {
    await writeFile(path.join(dir, 'run.json'), JSON.stringify(info()));
    const read = await readRunInfo(dir, () => false);
    assert.equal(read?.status, 'failed');
    assert.match(read?.error ?? '', /pid 999999.*killed or crashed after step 40/);
    assert.equal((await readRunInfo(dir, () => true))?.status, 'running');
    // A run on another machine is trusted as written.
    await writeFile(path.join(dir, 'run.json'), JSON.stringify(info({ host: 'elsewhere' })));
    assert.equal((await readRunInfo(dir, () => false))?.status, 'running');
  });

  it('starts the next append on a fresh line after a torn one, and trims records past a resume step', async () => {
    const runDir = path.join(dir, 'w');
    const first = new RunWriter(runDir, info());
    await first.open(null, null);
    await first.appendMetrics({ step: 10, time: 0, dLoss: 1, gLoss: 1, dReal: 0.5, dFake: 0.5, stepsPerSecond: 1 });
    await first.close();
    await writeFile(path.join(runDir, 'metrics.jsonl'), (await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')) + '{"step":20,"ti');
    const second = new RunWriter(runDir, info());
    await second.open(null, null);
    await second.appendMetrics({ step: 30, time: 0, dLoss: 1, gLoss: 1, dReal: 0.5, dFake: 0.5, stepsPerSecond: 1 });
    await second.close();
    const text = await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8');
    const parsed = parseJsonl<{ step: number }>(text);
    assert.deepEqual(
      parsed.records.map((r) => r.step),
      [10, 30],
    );
    assert.deepEqual(parsed.warnings, ['line 2: not valid JSON']);

    const resumed = new RunWriter(runDir, info());
    await resumed.open(null, 10);
    await resumed.close();
    assert.deepEqual(
      parseJsonl<{ step: number }>(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).records.map((r) => r.step),
      [10],
    );
  });
});

describe('mode quality (PacGAN protocol)', () => {
  const ring = ringModes(8, 1);

  it('counts every mode and every sample on a perfect ring', () => {
    const points = ring.flatMap(([x, y]) => [x + 0.005, y]);
    assert.deepEqual(modeQuality(points, ring, 0.01), {
      modesCovered: 8,
      modeCount: 8,
      highQuality: 1,
      reverseKl: 0,
      modeCounts: [1, 1, 1, 1, 1, 1, 1, 1],
    });
  });

  it('sees a collapsed generator: one mode, KL = log 8', () => {
    const q = modeQuality([1, 0, 1.01, 0, 0.99, 0.01], ring, 0.01);
    assert.equal(q.modesCovered, 1);
    assert.deepEqual(q.modeCounts, [3, 0, 0, 0, 0, 0, 0, 0], 'the mode histogram');
    assert.ok(Math.abs(q.reverseKl - Math.log(8)) < 1e-12);
  });

  it('counts samples farther than 3 std from every mode as low quality', () => {
    const q = modeQuality([0, 0, 1, 0, 0.9, 0], ring, 0.01);
    assert.equal(q.modesCovered, 1);
    assert.ok(Math.abs(q.highQuality - 1 / 3) < 1e-12);
  });

  it('places the 25 grid modes at {-4,-2,0,2,4}²', () => {
    const modes = gridModes(5, 2);
    assert.equal(modes.length, 25);
    assert.deepEqual(modes[0], [-4, -4]);
    assert.deepEqual(modes[24], [4, 4]);
    assert.ok(modes.some(([x, y]) => x === 0 && y === 0));
  });
});
