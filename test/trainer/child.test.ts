/** The forked trainer: typed JSON-RPC over IPC, a clean stop, and no orphan when its parent dies. */
import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { cp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError } from 'vscode-jsonrpc/node';
import type { MetricsRecord } from '../../src/protocol/runDirectory';
import { didEndRun, didLogMetrics, didWriteSamples, startRunRequest, stopRunRequest, type RunEndedParams } from '../../src/protocol/trainerRpc';
import { readRunInfo } from '../../src/runs/runReader';
import { assertBuilt, collect, isAlive, ROOT, tempDir, TRAINER, waitFor } from './helpers';

describe('trainer child process', () => {
  let work: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('child');
    await cp(path.join(ROOT, 'examples'), path.join(work, 'examples'), { recursive: true });
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('starts a run, streams typed notifications, and stops cleanly on request', async () => {
    const child = fork(TRAINER, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const exited = collect(child);
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    const metrics: MetricsRecord[] = [];
    let samples = 0;
    let ended: RunEndedParams | null = null;
    connection.onNotification(didLogMetrics, ({ record }) => metrics.push(record));
    connection.onNotification(didWriteSamples, () => samples++);
    connection.onNotification(didEndRun, (params) => (ended = params));
    connection.listen();
    const started = await connection.sendRequest(startRunRequest, {
      configPath: path.join(work, 'examples', 'ring8.gan.json'),
      runsDir: path.join(work, 'runs'),
      backend: 'auto',
      steps: 5000,
    });
    assert.equal(started.backend, 'wasm');
    assert.equal(started.totalSteps, 5000);
    assert.equal(started.startStep, 0);
    await waitFor('three metrics notifications', () => metrics.length >= 3, 60_000);
    assert.deepEqual(
      metrics.slice(0, 3).map((m) => m.step),
      [10, 20, 30],
    );
    assert.ok(samples >= 1, 'the step-0 samples were announced');
    await connection.sendRequest(stopRunRequest);
    const result = await exited;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(ended);
    const end = ended as RunEndedParams;
    assert.equal(end.status, 'stopped');
    const info = await readRunInfo(started.runDir);
    assert.equal(info?.status, 'stopped');
    assert.equal(info?.step, end.step);
    connection.dispose();
  });

  it('answers run/start with the problems of an invalid config, and writes nothing', async () => {
    const file = path.join(work, 'bad.gan.json');
    await writeFile(file, '{ "name": "bad", "data": { "type": "ring" }, "generator": { "type": "mlp", "depth": -2 }, "discriminator": { "type": "mlp" } }');
    const child = fork(TRAINER, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const exited = collect(child);
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    connection.listen();
    await assert.rejects(
      connection.sendRequest(startRunRequest, { configPath: file, runsDir: path.join(work, 'runs-bad'), backend: 'auto' }),
      (error: unknown) => {
        assert.ok(error instanceof ResponseError);
        assert.equal(error.code, -32001);
        assert.match(error.message, /generator\.depth: expected ≥ 0, got -2/);
        return true;
      },
    );
    await exited;
    connection.dispose();
  });

  it('exits by itself within 5 s when its parent is killed, leaving a run that does not claim to be running', async () => {
    // A stand-in for the extension host: forks the trainer, starts a run, reports the trainer's pid.
    const parentScript = path.join(work, 'parent.js');
    await writeFile(
      parentScript,
      `const { fork } = require('node:child_process');
const child = fork(${JSON.stringify(TRAINER)}, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
child.on('message', (m) => { if (m.id === 1) console.log(JSON.stringify({ trainer: child.pid, runDir: m.result.runDir })); });
child.send({ jsonrpc: '2.0', id: 1, method: 'run/start', params: { configPath: ${JSON.stringify(path.join(work, 'examples', 'ring8.gan.json'))}, runsDir: ${JSON.stringify(path.join(work, 'runs-orphan'))}, backend: 'auto', steps: 100000 } });
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, [parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let line = '';
    const started = await waitFor(
      'the trainer to start',
      () => {
        const chunk = parent.stdout.read() as Buffer | null;
        if (chunk) line += chunk.toString();
        return line.includes('\n') ? (JSON.parse(line) as { trainer: number; runDir: string }) : undefined;
      },
      30_000,
    );
    assert.ok(isAlive(started.trainer));
    const killedAt = Date.now();
    parent.kill('SIGKILL');
    await waitFor('the orphaned trainer to exit', () => !isAlive(started.trainer), 5_000);
    const seconds = (Date.now() - killedAt) / 1000;
    assert.ok(seconds < 5, `took ${seconds} s`);
    const info = await readRunInfo(started.runDir);
    assert.notEqual(info?.status, 'running');
  });
});
