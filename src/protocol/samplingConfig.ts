/**
 * How samples are drawn from a trained run (`gan-workbench sample`, the end-of-run mode check): G alone, or G filtered
 * by its discriminator (Azadi et al. 2019), with the cross-field refusals of the latter (each naming its fields).
 */
import { z } from 'zod';

export const samplingSchema = z
  .strictObject({
    rejection: z
      .enum(['none', 'discriminator'])
      .default('none')
      .describe(
        'Discriminator rejection sampling (Azadi et al. 2019, "Discriminator Rejection Sampling"): "discriminator" keeps each draw ' +
          'of G with probability exp(logit D(x) − log M), M the largest density ratio seen (the largest logit of 10,000 burn-in draws, ' +
          'raised when a larger one comes). With the cross-entropy cost the optimal D has logit log p_data(x)/p_g(x), so the kept draws ' +
          'follow p_data where G covers it: the bridges a continuous G leaves between separated modes are turned away and over-produced ' +
          'modes thinned. Applies to `gan-workbench sample` (`--no-rejection` draws G alone) and to the end-of-run mode check; the ' +
          "monitor's live samples stay G's own. Needs the cross-entropy cost without label smoothing or packing (D's logit is then the " +
          'log density ratio), an unconditional GAN and no Gumbel-softmax. "none" (the default): G alone.',
      ),
  })
  .describe('How samples are drawn from the trained generator.');

/** Rejection by D needs D's logit to be the log density ratio of one sample: say which fields stop it. */
export function samplingProblems(
  config: { sampling?: unknown; training?: unknown; conditional?: unknown; semiSupervised?: unknown; generator?: unknown },
  ctx: z.RefinementCtx,
): void {
  const sampling = config.sampling as { rejection?: unknown } | undefined;
  if (sampling?.rejection !== 'discriminator') return;
  const training = config.training as { cost?: { type?: unknown }; labelSmoothing?: unknown; pack?: unknown } | undefined;
  const costType = training?.cost?.type ?? 'cross-entropy';
  const refuse = (message: string) => ctx.addIssue({ code: 'custom', path: ['sampling', 'rejection'], message });
  if (costType !== 'cross-entropy') {
    refuse(`needs training.cost "cross-entropy": with "${String(costType)}" D's output is a score, not the log density ratio the acceptance reads`);
  }
  if (training?.labelSmoothing !== undefined) {
    refuse("cannot be combined with training.labelSmoothing: a smoothed D's logit is no longer log p_data/p_g (remove one of them)");
  }
  if (typeof training?.pack === 'number' && training.pack > 1) {
    refuse('cannot be combined with training.pack: a packed D judges sets of samples, not one draw (remove one of them)');
  }
  if (config.conditional) refuse('is not available with conditional (draw the classes from G alone, or remove conditional)');
  if (config.semiSupervised) refuse("cannot be combined with semiSupervised: D's classes replace the one real/generated logit");
  if ((config.generator as { gumbelSoftmax?: unknown } | undefined)?.gumbelSoftmax) {
    refuse('cannot be combined with generator.gumbelSoftmax: its samples are random categories, not the rows D judged');
  }
}
