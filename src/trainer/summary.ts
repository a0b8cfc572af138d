/**
 * The metrics part of the CLI's "Summary:" block at the end of `train`: what the last record says,
 * with a hint that is true for what it prints. Which fields a record has says the cost
 * (MetricsRecord): raw critic means for every cost but cross-entropy, the Wasserstein estimate for
 * wasserstein and wgan-gp, the gradient penalty for wgan-gp.
 */
import type { MetricsRecord } from '../protocol/runDirectory';

export const fmt = (x: number | undefined | null) => (x === undefined || x === null || !Number.isFinite(x) ? '--' : x.toPrecision(4));

/** Written for this cost (a value that was not finite is written, as null, and printed as --). */
const has = (x: number | undefined | null) => x !== undefined;

export function metricsSummaryLines(m: MetricsRecord): string[] {
  const lines = [`  final loss   D ${fmt(m.dLoss)}  G ${fmt(m.gLoss)}`];
  const ranks = has(m.criticReal) || has(m.criticFake) || has(m.wassersteinEstimate);
  lines.push(
    ranks
      ? // Rank fractions (dReal + dFake = 1): ½ for any D when the two minibatches come from one distribution.
        `  D(x) ${fmt(m.dReal)}  D(G(z)) ${fmt(m.dFake)}  (rank fractions, not probabilities: 0.5 when D cannot tell real from generated, as at the game's solution)`
      : `  D(x) ${fmt(m.dReal)}  D(G(z)) ${fmt(m.dFake)}  (an optimal D at the game's solution gives 0.5)`,
  );
  if (has(m.wassersteinEstimate)) {
    const penalty = has(m.gradientPenalty) ? `  gradient penalty ${fmt(m.gradientPenalty)}` : '';
    lines.push(`  critic       Wasserstein estimate E[D(x)] - E[D(G(z))] ${fmt(m.wassersteinEstimate)}${penalty}  (W1 is 0 at the game's solution)`);
  }
  if (has(m.criticReal) || has(m.criticFake)) {
    const hint = has(m.wassersteinEstimate) ? "a critic's offset is arbitrary: only their difference counts" : "D's raw output, not a probability";
    lines.push(`  raw scores   E[D(x)] ${fmt(m.criticReal)}  E[D(G(z))] ${fmt(m.criticFake)}  (${hint})`);
  }
  if (has(m.testAccuracy)) {
    lines.push(`  classifier   test accuracy ${fmt(m.testAccuracy)}  (semi-supervised D on the held-out examples)`);
  }
  return [...lines, ...evaluationSummaryLines(m)];
}

const on: Record<NonNullable<MetricsRecord['evaluationFeatures']>, string> = {
  'mnist-classifier': "the MNIST classifier's features",
  pixels: 'raw pixels',
  points: 'the points',
};

/** The evaluation of the record's step (its samples of G against a fixed real sample), when it has one. */
export function evaluationSummaryLines(m: MetricsRecord): string[] {
  if (!m.evaluationFeatures) return [];
  const lines = [
    `  evaluation   precision ${fmt(m.precision)}  recall ${fmt(m.recall)}  density ${fmt(m.density)}  coverage ${fmt(m.coverage)}  (on ${on[m.evaluationFeatures]}; 1 when G matches the data)`,
  ];
  if (has(m.classesCovered)) {
    lines.push(
      `  classes      ${m.classesCovered} covered  class KL ${fmt(m.classKl)}  classifier score ${fmt(m.classifierScore)}  Fréchet distance ${fmt(m.frechetDistance)}`,
    );
  } else if (has(m.frechetDistance)) {
    lines.push(`  Fréchet      ${fmt(m.frechetDistance)}  (0 when the Gaussians fitted to G's and the data's samples are one)`);
  }
  if (has(m.modesCovered)) {
    lines.push(
      `  mixture      ${m.modesCovered} modes covered, ${fmt(100 * (m.highQuality ?? NaN))}% high quality, mode KL ${fmt(m.modeReverseKl)}  (evaluation sample)`,
    );
  }
  if (has(m.gridKl)) lines.push(`  grid         KL(p_data ‖ p_g) ${fmt(m.gridKl)}  JS ${fmt(m.gridJs)} nats  (0 when matched; JS at most ln 2 = 0.6931)`);
  return lines;
}
