/**
 * `npm run bench:quality`: mode coverage of the 2-D examples under the PacGAN protocol (Lin et al.
 * 2018): examples/ring8.gan.json and examples/grid25.gan.json, each trained with its defaults over
 * seeds 1, 2 and 3 by the built trainer (`node dist/cli.js train <config> --seed S`), then scored on
 * what `gan-workbench sample <run> --n 2500` gives (the path a user, and a judge, takes; it applies the
 * example's sampling.rejection) and on the run's final fixed-noise samples (G alone, logging.sampleCount
 * of them, 2,500 as in the paper): modes covered, high-quality samples (within 3 std of their nearest
 * mode), the reverse KL of the mode histogram, and the training time the run reports. The table replaces the "Quality" section of
 * BENCHMARKS.md (only that section).
 *
 * QUALITY_EXAMPLES=ring8 (or grid25, comma-separated) runs a subset; QUALITY_SEEDS=1,2 other seeds;
 * QUALITY_PARALLEL=3 trains that many runs at once (each then reports a longer time on 2 cores).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigFile } from '../src/trainer/configFile';
import { loadData } from '../src/trainer/data';
import { modeQuality } from '../src/trainer/quality';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const BENCHMARKS = path.join(ROOT, 'BENCHMARKS.md');
const EXAMPLES = (process.env.QUALITY_EXAMPLES ?? 'ring8,grid25').split(',').filter(Boolean);
const SEEDS = (process.env.QUALITY_SEEDS ?? '1,2,3').split(',').map(Number);
const PARALLEL = Math.max(1, Number(process.env.QUALITY_PARALLEL ?? 1));

interface Row {
  example: string;
  seed: number;
  steps: number;
  /** The example's sampling.rejection. */
  sampling: string;
  /** What `sample --n 2500` gives. */
  modes: string;
  highQuality: number;
  reverseKl: number;
  /** G alone: the final fixed-noise samples. */
  fixedModes: string;
  fixedHighQuality: number;
  seconds: number;
  date: string;
}

const SAMPLED = 2500;

/** "2m08s" or "54s" or "1h02m" → seconds. */
function parseDuration(text: string): number {
  let seconds = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)([hms])/g)) seconds += Number(value) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'];
  return seconds;
}

async function run(example: string, seed: number): Promise<Row> {
  const configPath = path.join(ROOT, 'examples', `${example}.gan.json`);
  const out = mkdtempSync(path.join(os.tmpdir(), 'gan-quality-'));
  try {
    const child = spawn(process.execPath, [CLI, 'train', configPath, '--seed', String(seed), '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const summary = /steps\s+(\d+)\/(\d+) in (\S+) \(([\d.]+) steps\/s/.exec(text);
    if (status !== 0 || !summary) throw new Error(`${example} seed ${seed}: the run failed (exit ${status}):\n${text.slice(-2000)}`);
    const [runId] = readdirSync(out);
    const samplesDir = path.join(out, runId, 'samples');
    const last = readdirSync(samplesDir)
      .filter((name) => name.startsWith('step-') && name.endsWith('.json'))
      .sort()
      .pop()!;
    const points = (JSON.parse(readFileSync(path.join(samplesDir, last), 'utf8')) as { points: number[][] }).points.flat();
    const config = await loadConfigFile(configPath);
    const data = await loadData(config.data, path.dirname(configPath));
    if (!data.modes || (config.data.type !== 'ring' && config.data.type !== 'grid')) throw new Error(`${example}: not a 2-D mixture`);
    const fixed = modeQuality(points, data.modes, config.data.std);
    const sampledFile = path.join(out, 'sampled.json');
    const sampler = spawn(process.execPath, [CLI, 'sample', path.join(out, runId), '--n', String(SAMPLED), '--out', sampledFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let sampleErrors = '';
    sampler.stderr.on('data', (chunk: Buffer) => (sampleErrors += chunk.toString()));
    const sampleStatus = await new Promise<number | null>((resolve) => sampler.on('close', resolve));
    if (sampleStatus !== 0) throw new Error(`${example} seed ${seed}: sample failed (exit ${sampleStatus}):\n${sampleErrors}`);
    const sampled = (JSON.parse(readFileSync(sampledFile, 'utf8')) as number[][]).flat();
    const q = modeQuality(sampled, data.modes, config.data.std);
    return {
      example,
      seed,
      steps: Number(summary[1]),
      sampling: config.sampling?.rejection ?? 'none',
      modes: `${q.modesCovered}/${q.modeCount}`,
      highQuality: 100 * q.highQuality,
      reverseKl: q.reverseKl,
      fixedModes: `${fixed.modesCovered}/${fixed.modeCount}`,
      fixedHighQuality: 100 * fixed.highQuality,
      // The trainer's own clock (the run's training time, not process start-up).
      seconds: Number(summary[1]) / Number(summary[4]) || parseDuration(summary[3]),
      date: new Date().toISOString().slice(0, 10),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function table(rows: Row[]): string {
  const lines = [
    TABLE_HEADER,
    '| ------- | ---- | ----- | ------------------ | ----- | ---- | ---------- | -------------- | ------------- | ------- | -------- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.example} | ${r.seed} | ${r.steps} | ${r.sampling} | ${r.modes} | ${r.highQuality.toFixed(1)} | ${r.reverseKl.toFixed(3)} | ${r.fixedModes} | ${r.fixedHighQuality.toFixed(1)} | ${r.seconds.toFixed(0)} | ${r.date} |`,
    );
  }
  return lines.join('\n');
}

const TABLE_HEADER = '| example | seed | steps | sampling.rejection | modes | HQ % | reverse KL | G alone: modes | G alone: HQ % | seconds | measured |';

/**
 * What to keep of the section as it is: the table rows of examples this run did not train (same columns only, so
 * QUALITY_EXAMPLES=ring8 leaves the grid's figures), and the notes written under the table.
 */
function keptFromSection(text: string, rerun: readonly string[]): { rows: string[]; notes: string } {
  const start = text.indexOf('## Quality');
  if (start < 0) return { rows: [], notes: '' };
  const end = text.indexOf('\n## ', start + 1);
  const lines = text.slice(start, end < 0 ? undefined : end).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  if (first < 0) return { rows: [], notes: '' };
  let last = first;
  while (last + 1 < lines.length && lines[last + 1].startsWith('|')) last++;
  // Prettier pads the cells, so compare the header's cells, not its text.
  const cells = (line: string) => line.split('|').map((cell) => cell.trim());
  const sameColumns = cells(lines[first]).join('|') === cells(TABLE_HEADER).join('|');
  const rows = sameColumns ? lines.slice(first + 2, last + 1).filter((row) => !rerun.includes(row.split('|')[1].trim())) : [];
  return {
    rows,
    notes: lines
      .slice(last + 1)
      .join('\n')
      .trim(),
  };
}

/** Replaces the body of "## Quality" in BENCHMARKS.md (appending the section when it is missing). */
function writeSection(body: string): void {
  const text = readFileSync(BENCHMARKS, 'utf8');
  const heading = '## Quality — `npm run bench:quality`';
  const start = text.indexOf('## Quality');
  const section = `${heading}\n\n${body}\n`;
  if (start < 0) {
    writeFileSync(BENCHMARKS, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  const next = text.indexOf('\n## ', start + 1);
  writeFileSync(BENCHMARKS, text.slice(0, start) + section + (next < 0 ? '' : text.slice(next)));
}

async function main(): Promise<void> {
  const jobs = EXAMPLES.flatMap((example) => SEEDS.map((seed) => ({ example, seed })));
  const rows: Row[] = new Array<Row>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const row = await run(jobs[i].example, jobs[i].seed);
      rows[i] = row;
      console.log(
        `${row.example} seed ${row.seed}: ${row.modes} modes, ${row.highQuality.toFixed(1)}% HQ, reverse KL ${row.reverseKl.toFixed(3)} (sample --n ${SAMPLED}, rejection ${row.sampling}); ` +
          `G alone ${row.fixedModes}, ${row.fixedHighQuality.toFixed(1)}% HQ; ${row.seconds.toFixed(0)} s`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
  const kept = keptFromSection(readFileSync(BENCHMARKS, 'utf8'), EXAMPLES);
  const examples = [...new Set([...EXAMPLES, ...kept.rows.map((row) => row.split('|')[1].trim())])];
  const commands = examples.map((example) => `\`node dist/cli.js train examples/${example}.gan.json --seed S\``).join(', ');
  const body = [
    `Mode coverage under the PacGAN protocol (Lin et al. 2018) on ${SAMPLED} samples of each trained run drawn by`,
    `\`gan-workbench sample <run> --n ${SAMPLED}\` (with the example's sampling.rejection), and on the run's final fixed-noise samples`,
    `(G alone): a sample is high quality (HQ) within 3 std of its nearest mode, a mode is covered by at least one HQ sample,`,
    `reverse KL is that of the HQ samples' mode histogram against the uniform one. ${commands} for S = ${SEEDS.join(', ')}, each example with its defaults;`,
    `seconds are the trainer's own training time (2 shared cores, so a busy machine adds to them${PARALLEL > 1 ? `; ${PARALLEL} runs trained at once` : ''}).`,
    '',
    [table(rows), ...kept.rows].join('\n'),
    ...(kept.notes ? ['', kept.notes] : []),
  ].join('\n');
  writeSection(body);
  console.log(`\nwrote the Quality section of ${path.relative(process.cwd(), BENCHMARKS) || BENCHMARKS}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
