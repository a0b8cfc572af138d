/**
 * Writes examples/data/keywords.csv, the data of examples/keywords.gan.json: e-mails as keyword
 * presence, in the spirit of seed 001's spam illustration ("a Generator, given a spam label, tries to
 * come up with keywords that result in the label spam"). Each row is one e-mail: its kind (spam or
 * ham) and, for each keyword, "yes" or "no" for whether it appears. The keywords' frequencies differ
 * by kind, and within spam two styles (a prize e-mail and a payment scam) share keywords, so a GAN
 * has to learn the correlations, not just eight marginal frequencies. Seeded: the same file every time.
 *
 *   node --import tsx scripts/keywordsData.ts
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import seedrandom from 'seedrandom';

export const KEYWORDS = ['free', 'winner', 'money', 'click', 'urgent', 'meeting', 'invoice', 'report'] as const;

/** P(keyword | kind, style), in KEYWORDS order. */
const STYLES: { kind: 'spam' | 'ham'; weight: number; p: number[] }[] = [
  // Spam, prize: "You are a WINNER! Click for your FREE gift".
  { kind: 'spam', weight: 0.25, p: [0.85, 0.8, 0.2, 0.8, 0.3, 0.02, 0.02, 0.02] },
  // Spam, payment scam: "URGENT: pay the attached invoice, money transfer".
  { kind: 'spam', weight: 0.15, p: [0.1, 0.05, 0.85, 0.5, 0.85, 0.02, 0.6, 0.02] },
  // Ham: meetings, reports, the odd real invoice.
  { kind: 'ham', weight: 0.6, p: [0.08, 0.02, 0.05, 0.05, 0.1, 0.6, 0.2, 0.55] },
];

export const ROWS = 600;

function main(): void {
  const random = seedrandom('keywords:1');
  const lines = [['kind', ...KEYWORDS].join(',')];
  for (let r = 0; r < ROWS; r++) {
    let u = random();
    const style = STYLES.find((s) => (u -= s.weight) < 0) ?? STYLES[STYLES.length - 1];
    lines.push([style.kind, ...style.p.map((p) => (random() < p ? 'yes' : 'no'))].join(','));
  }
  const file = path.resolve(__dirname, '..', 'examples', 'data', 'keywords.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  process.stderr.write(`${ROWS} rows written to ${file}\n`);
}

main();
