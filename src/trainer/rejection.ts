/**
 * Discriminator rejection sampling (Azadi et al. 2019, "Discriminator Rejection Sampling", §3).
 *
 * A discriminator trained with the cross-entropy cost tends to D*(x) = p_data(x) / (p_data(x) + p_g(x)), so its
 * logit is log p_data(x) − log p_g(x). Rejection sampling with G as the proposal then keeps a draw x ~ p_g with
 * probability p_data(x) / (M p_g(x)) = exp(logit(x) − log M), which yields draws from p_data wherever p_g covers it:
 * the bridges a continuous G leaves between separated modes, where D has seen generated points but no real ones, are
 * turned away, and over-produced modes are thinned. log M is the largest logit of a burn-in of draws, raised whenever
 * a larger one comes (the paper's estimate; it needs no γ shift when D's logits are moderate, as on the examples).
 */
import type { Gan } from './gan';
import type { Random } from './random';

/** Draws that only estimate log M before any is kept (the paper: 10,000). */
export const BURN_IN = 10_000;
/** Proposals a call may make per sample asked for before it gives up. */
export const MAX_PROPOSALS_PER_SAMPLE = 1_000;
/** Rows generated and judged at once. */
const CHUNK = 1_000;

export class RejectionError extends Error {}

/** The probability of keeping a draw whose D logit is `logit`, when log M is `maxLogit`: exp(logit − log M), at most 1. */
export function acceptance(logit: number, maxLogit: number): number {
  return Math.exp(Math.min(0, logit - maxLogit));
}

/**
 * Keeps rows by rejection: `draw(n)` proposes n rows (model space, flat) with their D logits, `uniform()` is a uniform
 * draw in [0, 1). Returns `count` kept rows (in proposal order) and how many were proposed after the burn-in.
 * Pure over its inputs, so the rule is testable without networks.
 */
export async function rejectRows(
  count: number,
  width: number,
  draw: (n: number) => Promise<{ rows: Float32Array; logits: Float32Array }>,
  uniform: () => number,
  burnIn = BURN_IN,
): Promise<{ rows: Float32Array; proposed: number; maxLogit: number }> {
  let maxLogit = -Infinity;
  for (let seen = 0; seen < burnIn;) {
    const n = Math.min(CHUNK, burnIn - seen);
    const { logits } = await draw(n);
    for (const logit of logits) maxLogit = Math.max(maxLogit, logit);
    seen += n;
  }
  const kept = new Float32Array(count * width);
  let filled = 0;
  let proposed = 0;
  while (filled < count) {
    if (proposed >= MAX_PROPOSALS_PER_SAMPLE * count) {
      throw new RejectionError(
        `discriminator rejection kept ${filled} of ${proposed} draws (fewer than 1 in ${MAX_PROPOSALS_PER_SAMPLE}): D rejects nearly everything G makes; sample without it (--no-rejection)`,
      );
    }
    const n = Math.min(CHUNK, Math.max(count - filled, 100));
    const { rows, logits } = await draw(n);
    proposed += n;
    for (let i = 0; i < n && filled < count; i++) {
      const logit = logits[i];
      if (!Number.isFinite(logit)) continue;
      // A new largest logit raises log M; that draw is then kept with probability 1, as the paper does.
      maxLogit = Math.max(maxLogit, logit);
      if (uniform() < acceptance(logit, maxLogit)) {
        kept.set(rows.subarray(i * width, (i + 1) * width), filled * width);
        filled++;
      }
    }
  }
  return { rows: kept, proposed, maxLogit };
}

/**
 * `count` samples of an unconditional G filtered by its D (model space, flat rows), drawing noise from `random`;
 * `acceptanceRate` is kept over proposed after the burn-in.
 */
export async function rejectionSample(gan: Gan, count: number, random: Random, burnIn = BURN_IN): Promise<{ rows: Float32Array; acceptanceRate: number }> {
  let width = 0;
  const draw = async (n: number) => {
    const noise = gan.noise(n, random);
    try {
      const rows = await gan.generate(noise);
      width = rows.length / n;
      return { rows, logits: await gan.discriminate(rows, n) };
    } finally {
      noise.dispose();
    }
  };
  // One draw first to learn the row width (the data's model-space dimension).
  if (width === 0) await draw(1);
  const result = await rejectRows(count, width, draw, () => random.uniform(), burnIn);
  return { rows: result.rows, acceptanceRate: count / Math.max(1, result.proposed) };
}
