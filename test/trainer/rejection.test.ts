/** Discriminator rejection sampling through the real CLI: the end-of-run check, `sample`, and `--no-rejection`. */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertBuilt, cli, ROOT, tempDir } from './helpers';

describe('sampling.rejection "discriminator" in the CLI', () => {
  let work: string;
  let runDir: string;
  before(async () => {
    assertBuilt();
    work = await tempDir('rejection');
    // The ring example samples through its D.
    const text = await readFile(path.join(ROOT, 'examples', 'ring8.gan.json'), 'utf8');
    assert.match(text, /"sampling": \{ "rejection": "discriminator" \}/);
    await writeFile(path.join(work, 'ring.gan.json'), text);
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('trains and reports the mode check of the kept draws beside G alone', async () => {
    const runs = path.join(work, 'runs');
    const result = await cli(['train', 'ring.gan.json', '--steps', '300', '--out', runs], work).done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /modes +\d\/8 covered, [\d.]+% high-quality samples \(PacGAN protocol, fixed-noise samples\)/);
    assert.match(
      result.stdout,
      /sampled +\d\/8 covered, [\d.]+% high-quality samples, mode KL [\d.]+ \(G's draws kept by D, sampling\.rejection; [\d.]+% kept/,
    );
    runDir = path.join(runs, (await readdir(runs))[0]);
  });

  it('samples through D by default and G alone with --no-rejection, the same number of points', async () => {
    const kept = await cli(['sample', runDir, '--n', '300', '--out', 'kept.json'], work).done;
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stderr, /discriminator rejection sampling .* kept [\d.]+% of G's draws/);
    const alone = await cli(['sample', runDir, '--n', '300', '--no-rejection', '--out', 'alone.json'], work).done;
    assert.equal(alone.code, 0, alone.stderr);
    assert.doesNotMatch(alone.stderr, /rejection/);
    const keptRows = JSON.parse(await readFile(path.join(work, 'kept.json'), 'utf8')) as number[][];
    const aloneRows = JSON.parse(await readFile(path.join(work, 'alone.json'), 'utf8')) as number[][];
    assert.equal(keptRows.length, 300);
    assert.equal(aloneRows.length, 300);
    assert.ok(keptRows.every((row) => row.length === 2 && row.every(Number.isFinite)));
    assert.notDeepEqual(keptRows, aloneRows);
  });
});
