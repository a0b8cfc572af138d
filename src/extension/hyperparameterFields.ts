/**
 * What "Modify hyperparameters and run" (and the fork command) offers, without VS Code: the usual
 * fields for a config (the cost's own parameters for the cost it has), the choices of the fields
 * that have them, and the settings that change the cost.
 */
import { isDeepStrictEqual } from 'node:util';
import { COST_DEFAULTS, costSchema, generatorCostSchema, type CostType, type GanConfig, type GeneratorCost } from '../protocol/config';
import { applySettings, type ConfigSetting } from '../protocol/configPatch';

export interface Choice {
  value: string;
  description: string;
}

export interface Field {
  path: string;
  label: string;
  detail: string;
  /** A field with a fixed set of values is picked from them rather than typed. */
  choices?: readonly Choice[];
}

export const COST_PATH = 'training.cost.type';

const COST_CHOICES: readonly Choice[] = costSchema.options.map((option) => ({ value: option.shape.type.value, description: option.description ?? '' }));

const GENERATOR_COST_NOTES: Record<GeneratorCost, string> = {
  'non-saturating': 'J(G) = -½ E[log D(G(z))]: strong gradients when D rejects the samples (the default)',
  minimax: 'J(G) = ½ E[log(1 - D(G(z)))]: the zero-sum game; its gradient vanishes as D(G(z)) → 0',
  'maximum-likelihood': 'J(G) = -½ E[exp(σ⁻¹(D(G(z))))]: minimizes KL(p_data ‖ p_model) when D is optimal',
};
const GENERATOR_COST_CHOICES: readonly Choice[] = generatorCostSchema.options.map((value) => ({ value, description: GENERATOR_COST_NOTES[value] }));

/** Names of the cost parameters; a parameter missing here is still offered, by its key. */
const COST_PARAMETER_LABELS: Record<string, string> = {
  clip: 'Weight clipping c',
  lambda: 'Gradient penalty λ',
  a: "LSGAN a (D's target for generated)",
  b: "LSGAN b (D's target for real)",
  c: "LSGAN c (G's target)",
};

/** A field's description, through the wrappers `.default()` and `.optional()` put around the described schema. */
function descriptionOf(schema: unknown): string {
  let node = schema as { description?: string; unwrap?: () => unknown } | undefined;
  for (let depth = 0; node && depth < 4; depth++) {
    if (node.description) return node.description;
    node = node.unwrap?.() as typeof node;
  }
  return '';
}

/** The parameters of a cost (everything but its `type`), from its schema: e.g. wgan-gp → lambda. */
export function costParameterFields(cost: CostType): Field[] {
  const option = costSchema.options.find((o) => o.shape.type.value === cost);
  if (!option) return [];
  return Object.entries(option.shape as Record<string, unknown>)
    .filter(([key]) => key !== 'type')
    .map(([key, schema]) => ({ path: `training.cost.${key}`, label: COST_PARAMETER_LABELS[key] ?? `${cost} ${key}`, detail: descriptionOf(schema) }));
}

/** The fields people change between runs, for this config's cost; anything else is one "Other field…" away. */
export function usualFields(config: GanConfig): Field[] {
  const cost = config.training.cost.type;
  const k = COST_DEFAULTS[cost].dStepsPerGStep;
  return [
    { path: 'generator.optimizer.learningRate', label: 'Generator learning rate', detail: `Step size of G's optimizer (${config.generator.optimizer.type})` },
    {
      path: 'discriminator.optimizer.learningRate',
      label: 'Discriminator learning rate',
      detail: `Step size of D's optimizer (${config.discriminator.optimizer.type})`,
    },
    { path: 'training.steps', label: 'Steps', detail: 'Training iterations' },
    { path: 'training.batchSize', label: 'Batch size', detail: 'm: samples per minibatch' },
    {
      path: COST_PATH,
      label: 'Cost',
      detail: "What D and G minimize; optimizers and k that were the old cost's defaults become the new one's",
      choices: COST_CHOICES,
    },
    ...costParameterFields(cost),
    ...(cost === 'cross-entropy'
      ? [{ path: 'training.generatorCost', label: 'Generator cost', detail: 'non-saturating, minimax or maximum-likelihood', choices: GENERATOR_COST_CHOICES }]
      : []),
    { path: 'training.dStepsPerGStep', label: 'D steps per G step', detail: `k in Algorithm 1 (n_critic); ${cost}'s default: ${k}` },
    { path: 'latent.size', label: 'Latent size', detail: 'Dimension of z' },
    { path: 'seed', label: 'Seed', detail: 'Seed of every random choice' },
  ];
}

function resolve(config: GanConfig, settings: readonly ConfigSetting[]): GanConfig | null {
  const result = applySettings(config, settings);
  return result.ok ? result.config : null;
}

/**
 * The settings after changing the cost to `type`. The cost object is replaced (the old cost's
 * parameters belong to it alone); an optimizer or k that was the old cost's default becomes the
 * new cost's (the config left it to the cost), one set to anything else is kept; the generator
 * cost, which only the cross-entropy game has, is removed for the others (a setting with value
 * undefined: the field is absent). Settings that change nothing against `config` are dropped.
 */
export function settingsWithCost(config: GanConfig, settings: readonly ConfigSetting[], type: CostType): ConfigSetting[] {
  const now = resolve(config, settings) ?? config;
  const old = now.training.cost.type;
  if (old === type) return [...settings];
  let out = [...settings];
  const set = (path: string, value: unknown) => {
    out = out.filter((s) => s.path !== path && !s.path.startsWith(`${path}.`));
    out.push({ path, value });
  };
  set('training.cost', { type });
  for (const network of ['generator', 'discriminator'] as const) {
    if (isDeepStrictEqual({ ...now[network].optimizer }, { ...COST_DEFAULTS[old].optimizer }))
      set(`${network}.optimizer`, { ...COST_DEFAULTS[type].optimizer });
  }
  if (now.training.dStepsPerGStep === COST_DEFAULTS[old].dStepsPerGStep) set('training.dStepsPerGStep', COST_DEFAULTS[type].dStepsPerGStep);
  if (type === 'cross-entropy') out = out.filter((s) => s.path !== 'training.generatorCost' || s.value !== undefined);
  else set('training.generatorCost', undefined);
  // What changes nothing is not shown as a change (e.g. back to the config's own cost).
  const target = resolve(config, out);
  if (target === null) return out;
  for (const setting of [...out]) {
    const without = out.filter((s) => s !== setting);
    if (isDeepStrictEqual(resolve(config, without), target)) out = without;
  }
  return out;
}
