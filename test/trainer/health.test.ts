/** Health alerts from the real trainer: the collapsing example is caught collapsing, in run.json and on the terminal. */
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunInfo } from '../../src/protocol/runDirectory';
import { assertBuilt, cli, ROOT, tempDir } from './helpers';

describe('health alerts from the trainer', () => {
  let out: string;
  before(async () => {
    assertBuilt();
    out = await tempDir('health');
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('raises mode collapse once on the collapsing example, and records it in run.json', async () => {
    const { done } = cli(['train', path.join(ROOT, 'examples', 'ring8-collapse.gan.json'), '--out', out, '--steps', '900']);
    const finished = await done;
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stderr, /^alert at step \d+: mode collapse: G covers [01] of 8 modes at step \d+\n {2}usually helps: pack D's inputs \(PacGAN\)/m);
    assert.equal(finished.stderr.match(/alert at step/g)?.length, 1, 'once');
    const [runId] = await readdir(out);
    const info = JSON.parse(await readFile(path.join(out, runId, 'run.json'), 'utf8')) as RunInfo;
    assert.equal(info.status, 'completed');
    assert.deepEqual(
      info.alerts?.map((a) => a.kind),
      ['mode-collapse'],
    );
    assert.ok((info.alerts?.[0].step ?? 0) >= 500, 'not before step 500, when G may not have spread out yet');
  });

  it('raises oscillation on the oscillating example, whose G hops from mode to mode', async () => {
    const runs = path.join(out, 'oscillating');
    const { done } = cli(['train', path.join(ROOT, 'examples', 'ring8-oscillating.gan.json'), '--out', runs, '--steps', '1500']);
    const finished = await done;
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stderr, /^alert at step \d+: G hops between modes: the mode most of its samples fall on changed \d+ times over the 10 samples/m);
    const [runId] = await readdir(runs);
    const info = JSON.parse(await readFile(path.join(runs, runId, 'run.json'), 'utf8')) as RunInfo;
    const oscillation = info.alerts?.find((a) => a.kind === 'oscillation');
    assert.ok(oscillation, JSON.stringify(info.alerts));
    assert.match(oscillation.advice, /unrollSteps/);
    assert.equal(info.alerts?.filter((a) => a.kind === 'oscillation').length, 1, 'once');
  });
});
