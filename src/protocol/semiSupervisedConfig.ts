/**
 * The config of the semi-supervised GAN (Salimans et al. 2016 §5; seed 003 §2): D classifies into
 * the data's n classes plus "generated", with its cross-field refusals (each naming its fields).
 */
import { z } from 'zod';

export const semiSupervisedSchema = z
  .strictObject({
    labels: z
      .number()
      .int()
      .min(1)
      .max(100000)
      .default(100)
      .describe(
        'Labelled training examples, the same number of each class (labels ÷ classes each, at least one), chosen once from the ' +
          "run's seed; every other training example is used without its label. Salimans et al. report MNIST with 20 to 200 labels.",
      ),
    testSamples: z
      .number()
      .int()
      .min(10)
      .max(100000)
      .default(1000)
      .describe(
        'Examples held out from training (neither player ever sees them), on which the test accuracy of D as a classifier is ' +
          'measured every logging.samplesEvery steps (metrics.jsonl testAccuracy).',
      ),
    weight: z.number().positive().max(1000).default(1).describe("Weight of the supervised term in D's loss: J(D) = J_unsupervised + weight · J_supervised."),
    adversarial: z
      .boolean()
      .default(true)
      .describe(
        'false: the baseline without the GAN: D is trained on the labelled examples only (the unsupervised term is left out), so its ' +
          'test accuracy shows what the unlabelled data and G add.',
      ),
  })
  .describe(
    'Semi-supervised GAN (Salimans et al. 2016, "Improved Techniques for Training GANs", §5; Odena 2016; seed 003 §2): D ends in ' +
      'n logits l₁…lₙ, one per class of the data, the logit of "generated" fixed at 0, so p(y = k | x) = softmax(l, 0)ₖ and ' +
      'D(x) = Z/(Z + 1) with Z = Σₖ exp(lₖ) (the usual cross-entropy game, played on log Z). D also minimizes the cross-entropy of ' +
      'the true class on the few labelled examples. The paper pairs it with feature matching for G (training.featureMatching). Needs ' +
      'labelled data (mnist, idx with data.labels, images in class sub-folders, ring, grid) and the cross-entropy cost; not with ' +
      'conditional or training.pack. A discriminator of type "layers" must end with a dense layer of one unit per class.',
  );

export type SemiSupervisedConfig = z.output<typeof semiSupervisedSchema>;

/** Combinations that make no sense with a semi-supervised D. */
export function semiSupervisedProblems(config: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const semi = config.semiSupervised as { labels?: unknown } | undefined;
  if (!semi) return;
  const training = config.training as { cost?: { type?: unknown }; pack?: unknown } | undefined;
  const cost = training?.cost?.type;
  if (cost !== undefined && cost !== 'cross-entropy') {
    ctx.addIssue({
      code: 'custom',
      path: ['training', 'cost', 'type'],
      message: `"${String(cost)}" cannot be used with semiSupervised: its D is a classifier whose "real" probability is Z/(Z + 1), the cross-entropy game (use "cross-entropy")`,
    });
  }
  if (config.conditional) {
    ctx.addIssue({
      code: 'custom',
      path: ['conditional'],
      message: 'cannot be combined with semiSupervised: D classifies the label there instead of reading it',
    });
  }
  if (typeof training?.pack === 'number' && training.pack > 1) {
    ctx.addIssue({ code: 'custom', path: ['training', 'pack'], message: 'cannot be combined with semiSupervised: a packed input has no single class' });
  }
  const data = config.data as { type?: unknown; labels?: unknown } | undefined;
  if (data?.type === 'csv') {
    ctx.addIssue({ code: 'custom', path: ['semiSupervised'], message: 'is not available for csv data yet (mnist, idx, images, ring and grid are)' });
  }
  if (data?.type === 'idx' && data.labels === undefined) {
    ctx.addIssue({ code: 'custom', path: ['semiSupervised'], message: 'needs labelled data, but data.labels is not set (give the IDX labels file)' });
  }
}
