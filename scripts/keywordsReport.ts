/**
 * How close a keywords run (examples/keywords.gan.json) comes to its data: the share of spam, each
 * keyword's frequency in spam and in ham for the data and for G, and total variation distances,
 * TV(p, q) = ½ Σ |p(x) - q(x)|, over the kind, over each keyword given the kind (the mean), and over
 * whole e-mails (the joint of all nine columns, 512 patterns). The joint TV is put beside two
 * references: a resample of the data of the same size (the floor that finite samples allow) and a
 * model that gets every frequency given the kind right but draws the keywords independently (what
 * ignoring the correlations costs).
 *
 *   node --import tsx scripts/keywordsReport.ts <samples> [examples/data/keywords.csv]
 *
 * <samples>: a run's samples file (samples/step-*.json, PointSamples with columns), or the JSON that
 * `gan-workbench sample <run-dir> --n N --out x.json` writes (rows of category names).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import seedrandom from 'seedrandom';

type Row = string[];

function readSamples(file: string): { header: string[] | null; rows: Row[] } {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { points: number[][]; columns?: { name: string; categories?: string[] }[] } | (string | number)[][];
  if (Array.isArray(json)) return { header: null, rows: json.map((row) => row.map(String)) };
  const columns = json.columns;
  if (!columns) throw new Error(`${file}: has no columns (not a run with data.categorical)`);
  return {
    header: columns.map((c) => c.name),
    rows: json.points.map((point) => point.map((value, c) => columns[c].categories?.[value] ?? String(value))),
  };
}

function readCsv(file: string): { header: string[]; rows: Row[] } {
  const [head, ...body] = readFileSync(file, 'utf8').trim().split('\n');
  return { header: head.split(','), rows: body.map((line) => line.split(',')) };
}

function tv(a: Map<string, number>, b: Map<string, number>): number {
  const keys = new Set([...a.keys(), ...b.keys()]);
  let sum = 0;
  for (const key of keys) sum += Math.abs((a.get(key) ?? 0) - (b.get(key) ?? 0));
  return sum / 2;
}

function histogram(rows: Row[], key: (row: Row) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1 / rows.length);
  return counts;
}

const frequency = (rows: Row[], c: number) => rows.filter((row) => row[c] === 'yes').length / Math.max(1, rows.length);

function main(): void {
  const [samplesFile, dataFile = path.resolve(__dirname, '..', 'examples', 'data', 'keywords.csv')] = process.argv.slice(2);
  if (!samplesFile) throw new Error('usage: keywordsReport.ts <samples.json> [data.csv]');
  const data = readCsv(dataFile);
  const samples = readSamples(samplesFile);
  const header = samples.header ?? data.header;
  if (header.join() !== data.header.join()) throw new Error(`the samples' columns (${header.join()}) are not the data's (${data.header.join()})`);
  const kind = header.indexOf('kind');
  const keywords = header.map((_, c) => c).filter((c) => c !== kind);
  const n = samples.rows.length;
  const random = seedrandom('keywords-report');
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const resample = Array.from({ length: n }, () => pick(data.rows));
  // Independent keywords given the kind, each with the data's frequency.
  const independent = Array.from({ length: n }, () => {
    const k = pick(data.rows)[kind];
    const ofKind = data.rows.filter((row) => row[kind] === k);
    return header.map((_, c) => (c === kind ? k : random() < frequency(ofKind, c) ? 'yes' : 'no'));
  });
  const joint = (row: Row) => row.join(',');
  const lines: string[] = [];
  lines.push(`${n} samples from ${samplesFile}; ${data.rows.length} data rows from ${dataFile}`);
  const spam = (rows: Row[]) => rows.filter((row) => row[kind] === 'spam').length / rows.length;
  lines.push(`spam share: data ${spam(data.rows).toFixed(3)}, G ${spam(samples.rows).toFixed(3)}`);
  lines.push('keyword    P(yes|spam) data  G      P(yes|ham) data  G');
  let keywordTv = 0;
  for (const c of keywords) {
    const [dSpam, dHam] = ['spam', 'ham'].map((k) =>
      frequency(
        data.rows.filter((row) => row[kind] === k),
        c,
      ),
    );
    const [gSpam, gHam] = ['spam', 'ham'].map((k) =>
      frequency(
        samples.rows.filter((row) => row[kind] === k),
        c,
      ),
    );
    keywordTv += (Math.abs(dSpam - gSpam) * spam(data.rows) + Math.abs(dHam - gHam) * (1 - spam(data.rows))) / keywords.length;
    lines.push(`${header[c].padEnd(10)} ${dSpam.toFixed(2).padStart(16)}  ${gSpam.toFixed(2)}   ${dHam.toFixed(2).padStart(15)}  ${gHam.toFixed(2)}`);
  }
  // The two spam styles: money goes with urgent, not with winner.
  const [winner, money] = ['winner', 'money'].map((name) => header.indexOf(name));
  if (winner >= 0 && money >= 0) {
    const given = (rows: Row[], value: string) =>
      frequency(
        rows.filter((row) => row[kind] === 'spam' && row[winner] === value),
        money,
      );
    lines.push(
      `spam: P(money | winner) data ${given(data.rows, 'yes').toFixed(2)}, G ${given(samples.rows, 'yes').toFixed(2)}; ` +
        `P(money | no winner) data ${given(data.rows, 'no').toFixed(2)}, G ${given(samples.rows, 'no').toFixed(2)}`,
    );
  }
  lines.push(
    `TV(kind) ${tv(
      histogram(samples.rows, (r) => r[kind]),
      histogram(data.rows, (r) => r[kind]),
    ).toFixed(3)}`,
  );
  lines.push(`mean TV(keyword | kind) ${keywordTv.toFixed(3)} (weighted by the data's kind shares)`);
  const dataJoint = histogram(data.rows, joint);
  lines.push(
    `TV(whole e-mails): G ${tv(histogram(samples.rows, joint), dataJoint).toFixed(3)}; ` +
      `references: a resample of the data ${tv(histogram(resample, joint), dataJoint).toFixed(3)}, ` +
      `independent keywords given the kind ${tv(histogram(independent, joint), dataJoint).toFixed(3)}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

main();
