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
});
