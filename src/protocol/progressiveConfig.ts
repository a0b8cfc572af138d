/**
 * Progressive growing of GANs (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality,
 * Stability, and Variation"): the network type of G and D and the schedule that grows them, with
 * their cross-field refusals (each naming its fields).
 */
import { z } from 'zod';
import { initSchema } from './layersConfig';

export const progressiveNetworkSchema = z
  .strictObject({
    type: z
      .literal('progressive')
      .describe(
        'A progressively grown conv net (Karras et al. 2018) for square images: one block per resolution, from the lowest (the image ' +
          "side ÷ 2^(blocks − 1), e.g. 7×7 for 28×28 with 3 blocks) to the data's. G: a dense layer to the lowest resolution, then per " +
          'block ×2 nearest upsampling and two 3×3 convolutions with LeakyReLU 0.2 and pixel norm, and a 1×1 "toRGB" convolution per ' +
          'resolution (tanh). D mirrors it: a 1×1 "fromRGB" per resolution, per block two 3×3 convolutions and ×2 average pooling, and a ' +
          'dense output. training.progressive says when each block is faded in. Both networks must be of this type, with as many blocks.',
      ),
    channels: z
      .array(z.number().int().min(1).max(512))
      .min(1)
      .max(6)
      .describe('Feature maps of each block, lowest resolution first (Karras et al. halve them as the resolution doubles), e.g. [128, 64, 32].'),
    init: initSchema.default({ type: 'normal', std: 0.02 }),
  })
  .describe('A progressively grown network.');

export const progressiveTrainingSchema = z
  .strictObject({
    stageSteps: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .describe(
        'Steps spent at each resolution before the next block comes in (the last resolution trains to the end of the run). ' +
          'Karras et al.: 800k images per stage.',
      ),
    fadeSteps: z
      .number()
      .int()
      .min(0)
      .max(10_000_000)
      .default(0)
      .describe(
        'Of each new stage, the first steps over which the new block fades in: the output (G) and the input (D) are ' +
          '(1 − α)·the previous resolution’s path + α·the new block’s, α rising linearly from 0 to 1. 0: the block comes in at once.',
      ),
  })
  .describe(
    'Progressive growing (Karras et al. 2018): G and D of type "progressive" start at their lowest resolution and grow a block every ' +
      'stageSteps steps, fading each new block in over fadeSteps. Real images are average-pooled to the current resolution; samples ' +
      'are shown enlarged (nearest) to the data’s size, so early grids look blocky. Needs both networks progressive.',
  );

/** G and D both progressive, with as many blocks, and a schedule; square images whose side the blocks halve exactly. */
export function progressiveProblems(config: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const generator = config.generator as { type?: unknown; channels?: unknown[] } | undefined;
  const discriminator = config.discriminator as { type?: unknown; channels?: unknown[] } | undefined;
  const training = config.training as { progressive?: unknown } | undefined;
  const gProgressive = generator?.type === 'progressive';
  const dProgressive = discriminator?.type === 'progressive';
  if (gProgressive !== dProgressive) {
    ctx.addIssue({
      code: 'custom',
      path: [gProgressive ? 'discriminator' : 'generator', 'type'],
      message: `must be "progressive" too: both networks grow together (the other one is "progressive")`,
    });
    return;
  }
  if (!gProgressive) {
    if (training?.progressive !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['training', 'progressive'], message: 'needs generator and discriminator of type "progressive"' });
    }
    return;
  }
  if (training?.progressive === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['training', 'progressive'],
      message: 'is needed with progressive networks: say when each block comes in (stageSteps)',
    });
  }
  const blocks = generator?.channels?.length;
  if (typeof blocks === 'number' && discriminator?.channels?.length !== blocks) {
    ctx.addIssue({
      code: 'custom',
      path: ['discriminator', 'channels'],
      message: `must have as many blocks as generator.channels (${blocks}): each resolution has a G block and a D block`,
    });
  }
  for (const field of ['conditional', 'semiSupervised'] as const) {
    if (config[field]) ctx.addIssue({ code: 'custom', path: [field], message: 'cannot be combined with progressive networks yet' });
  }
  const pack = (config.training as { pack?: unknown } | undefined)?.pack;
  if (typeof pack === 'number' && pack > 1)
    ctx.addIssue({ code: 'custom', path: ['training', 'pack'], message: 'cannot be combined with progressive networks yet' });
}
