/**
 * The config fields of two mode-collapse remedies: PacGAN packing (Lin et al. 2018) and the unrolled
 * GAN (Metz et al. 2017), with their cross-field refusals (each naming its fields).
 */
import { z } from 'zod';

export const packSchema = z
  .number()
  .int()
  .min(1)
  .max(64)
  .optional()
  .describe(
    'PacGAN packing (Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial networks"): D judges m samples at ' +
      "once, concatenated into one input (D's input dimension × m; for images, the m images' channels side by side), real with real and " +
      'generated with generated, so it sees the diversity of a set and punishes a G whose samples are alike (the paper: m = 2 to 4; ' +
      "PacGAN4 covers 7.8 of the ring's 8 modes and 24.8 of the grid's 25). training.batchSize must be divisible by m: each update " +
      'feeds D batchSize / m packed inputs. Works with every cost; for wgan-gp the interpolates are taken between packed real and packed ' +
      'generated inputs (one ε per packed input). Not with conditional. Absent or 1: no packing.',
  );

export const unrollStepsSchema = z
  .number()
  .int()
  .min(0)
  .max(20)
  .optional()
  .describe(
    'Unrolled GAN (Metz et al. 2017, "Unrolled Generative Adversarial Networks"): K. Each generator update is taken against D after K ' +
      "extra discriminator updates (fresh minibatches, D's own cost and optimizer state) made on a copy: afterwards D's weights and " +
      "optimizer state are put back exactly as they were, so only G's update sees them. Implemented: the first-order surrogate, the " +
      "gradient w.r.t. G of G's cost against the unrolled D with the unrolled weights held constant (not the full gradient through " +
      "the K updates, which needs second derivatives through D's optimizer step: tfjs's optimizers update variables outside the " +
      'gradient tape). Each step costs K more D updates. Metz et al.: 5 to 10. Absent or 0: no unrolling.',
  );

/** training.pack must divide training.batchSize. */
export function packingTrainingProblems(training: { batchSize?: unknown; pack?: unknown }, ctx: z.RefinementCtx): void {
  const { batchSize, pack } = training;
  if (typeof pack === 'number' && typeof batchSize === 'number' && Number.isInteger(pack) && pack > 1 && batchSize % pack !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['pack'],
      message: `must divide training.batchSize (${batchSize} samples do not make whole packs of ${pack}; use a batchSize that is a multiple of ${pack}, e.g. ${Math.max(pack, Math.round(batchSize / pack) * pack)})`,
    });
  }
}

/** training.pack with a conditional GAN: the labels of a pack have no place in D's input. */
export function packingConfigProblems(config: { conditional?: unknown; training?: unknown }, ctx: z.RefinementCtx): void {
  const pack = (config.training as { pack?: unknown } | undefined)?.pack;
  if (config.conditional && typeof pack === 'number' && pack > 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['training', 'pack'],
      message: 'cannot be combined with conditional (a pack of samples has no one label for D to judge it by); remove training.pack or conditional',
    });
  }
}
