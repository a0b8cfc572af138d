/**
 * Categorical CSV columns through the built CLI (seed 003 §4.5, Gumbel-softmax): a small table with a
 * numeric column and two categorical ones, trained a few hundred steps. The generated category
 * histogram must move toward the data's (total variation distance well below the untrained G's), the
 * samples files say what each value is, `sample` prints category names, and a run stopped and resumed
 * draws the same Gumbel noise as one that was not.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GanConfigInput } from '../../src/protocol/config';
import type { PointSamples } from '../../src/protocol/runDirectory';
import { assertBuilt, cli, tempDir } from './helpers';

/** The data's colour shares (over 400 rows); flag is "yes" mostly for red and green; size depends on the colour. */
const COLOURS = { red: 0.55, green: 0.25, blue: 0.15, grey: 0.05 };
const ROWS = 400;

function tableCsv(): string {
  const lines = ['size,colour,flag'];
  let row = 0;
  Object.entries(COLOURS).forEach(([colour, share], c) => {
    const count = Math.round(share * ROWS);
    for (let i = 0; i < count; i++, row++)
      lines.push(`${(c + ((i % 7) - 3) * 0.1).toFixed(2)},${colour},${(c < 2 ? i % 5 !== 0 : i % 5 === 0) ? 'yes' : 'no'}`);
  });
  return lines.join('\n') + '\n';
}

const config: GanConfigInput = {
  name: 'categorical',
  seed: 3,
  data: { type: 'csv', path: 'table.csv', categorical: ['colour', 'flag'], normalize: true },
  latent: { size: 4 },
  generator: {
    type: 'mlp',
    depth: 2,
    width: 32,
    gumbelSoftmax: { temperature: 0.667, hard: true },
    optimizer: { type: 'adam', learningRate: 1e-3, beta1: 0.5, beta2: 0.999 },
  },
  discriminator: { type: 'mlp', depth: 2, width: 32, activation: 'leakyRelu', optimizer: { type: 'adam', learningRate: 1e-3, beta1: 0.5, beta2: 0.999 } },
  training: { steps: 400, batchSize: 64 },
  logging: { metricsEvery: 50, samplesEvery: 200, sampleCount: 1000, checkpointEvery: 200 },
};

/** TV distance between the colour histogram of the samples and the data's shares. */
function colourTv(samples: PointSamples): number {
  const column = samples.columns!.findIndex((c) => c.name === 'colour');
  const categories = samples.columns![column].categories!;
  const counts = new Array<number>(categories.length).fill(0);
  for (const point of samples.points) counts[point[column]]++;
  return categories.reduce((sum, name, k) => sum + Math.abs(counts[k] / samples.points.length - COLOURS[name as keyof typeof COLOURS]), 0) / 2;
}

describe('categorical CSV columns from the CLI', () => {
  let work: string;
  let runDir: string;
  const samplesAt = async (dir: string, step: number) =>
    JSON.parse(await readFile(path.join(dir, 'samples', `step-${String(step).padStart(8, '0')}.json`), 'utf8')) as PointSamples;
  const runOf = async (runs: string) => path.join(work, runs, (await readdir(path.join(work, runs)))[0]);

  before(async () => {
    assertBuilt();
    work = await tempDir('categorical-cli');
    await writeFile(path.join(work, 'table.csv'), tableCsv());
    await writeFile(path.join(work, 'table.gan.json'), JSON.stringify(config));
    const result = await cli(['train', 'table.gan.json', '--out', 'runs', '--backend', 'wasm'], work).done;
    assert.equal(result.code, 0, result.stderr + result.stdout);
    runDir = await runOf('runs');
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('writes samples whose values are numbers and category indices, with columns naming them', async () => {
    const samples = await samplesAt(runDir, 400);
    assert.deepEqual(samples.columns, [
      { name: 'size' },
      { name: 'colour', categories: ['blue', 'green', 'grey', 'red'] },
      { name: 'flag', categories: ['no', 'yes'] },
    ]);
    assert.equal(samples.points.length, 1000);
    for (const [size, colour, flag] of samples.points) {
      assert.ok(Number.isFinite(size));
      assert.ok(Number.isInteger(colour) && colour >= 0 && colour < 4, `colour ${colour}`);
      assert.ok(flag === 0 || flag === 1, `flag ${flag}`);
    }
  });

  it("moves the generated colour histogram toward the data's", async (t) => {
    const [before, afterTraining] = [colourTv(await samplesAt(runDir, 0)), colourTv(await samplesAt(runDir, 400))];
    t.diagnostic(`colour TV: untrained ${before.toFixed(3)}, after 400 steps ${afterTraining.toFixed(3)}`);
    assert.ok(afterTraining < 0.15, `TV after 400 steps ${afterTraining.toFixed(3)}`);
    assert.ok(afterTraining < before / 2, `TV ${afterTraining.toFixed(3)} after training vs ${before.toFixed(3)} untrained`);
  });

  it('sample prints the category names', async () => {
    const result = await cli(['sample', runDir, '--n', '20', '--backend', 'wasm'], work).done;
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as [number, string, string][];
    assert.equal(rows.length, 20);
    for (const [size, colour, flag] of rows) {
      assert.equal(typeof size, 'number');
      assert.ok(Object.keys(COLOURS).includes(colour), colour);
      assert.ok(flag === 'yes' || flag === 'no', flag);
    }
  });

  it('resumes exactly: 200 steps, then --resume to 400, gives the samples of the straight run', async () => {
    const first = await cli(['train', 'table.gan.json', '--out', 'runs-resumed', '--steps', '200', '--backend', 'wasm'], work).done;
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const resumedDir = await runOf('runs-resumed');
    const resumed = await cli(['train', '--resume', resumedDir, '--steps', '400', '--backend', 'wasm'], work).done;
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    assert.match(resumed.stdout, /resuming from step 200/);
    assert.deepEqual((await samplesAt(resumedDir, 400)).points, (await samplesAt(runDir, 400)).points);
  });
});
