/**
 * The experiment config (`*.gan.json`): one zod schema gives the TypeScript type, the runtime
 * validation (with field paths in its messages) and the JSON Schema the editor uses.
 */
import { z } from 'zod';

const positiveInt = (description: string) => z.number().int().positive().describe(description);
const nonNegativeInt = (description: string) => z.number().int().nonnegative().describe(description);
const finitePositive = (description: string) => z.number().positive().finite().describe(description);

export const activationSchema = z.enum(['relu', 'leakyRelu', 'tanh', 'sigmoid', 'elu', 'linear']).describe('Activation after each hidden layer.');

export const optimizerSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('adam').describe('Adam (Kingma & Ba 2015).'),
      learningRate: finitePositive('Step size α.').default(2e-4),
      beta1: z.number().min(0).lt(1).describe('Decay of the first-moment estimate (β1).').default(0.5),
      beta2: z.number().min(0).lt(1).describe('Decay of the second-moment estimate (β2).').default(0.999),
      epsilon: finitePositive('Added to the denominator for numerical stability.').default(1e-8),
    }),
    z.strictObject({
      type: z.literal('sgd').describe('Plain stochastic gradient descent.'),
      learningRate: finitePositive('Step size.').default(1e-2),
    }),
    z.strictObject({
      type: z.literal('rmsprop').describe('RMSProp (Tieleman & Hinton 2012).'),
      learningRate: finitePositive('Step size.').default(5e-5),
      decay: z.number().min(0).lt(1).describe('Decay of the squared-gradient average.').default(0.9),
      momentum: z.number().min(0).lt(1).describe('Momentum.').default(0),
      epsilon: finitePositive('Added to the denominator for numerical stability.').default(1e-8),
    }),
  ])
  .describe('Optimizer of this network.');

export const mlpNetworkSchema = z
  .strictObject({
    type: z.literal('mlp').describe('A multilayer perceptron: `depth` hidden Dense layers of `width` units.'),
    depth: nonNegativeInt('Number of hidden layers.').max(64).default(3),
    width: positiveInt('Units in each hidden layer.').max(8192).default(128),
    activation: activationSchema.default('relu'),
    leakyReluSlope: z.number().min(0).lt(1).describe('Slope of LeakyReLU for negative inputs (when activation is leakyRelu).').default(0.2),
    batchNorm: z
      .boolean()
      .describe('Batch normalization after each hidden Dense layer (batch statistics while training, running averages when sampling).')
      .default(false),
    optimizer: optimizerSchema.default({ type: 'adam', learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 }),
  })
  .describe('Network architecture and optimizer.');

export const ringDataSchema = z
  .strictObject({
    type: z.literal('ring').describe('A mixture of Gaussians evenly spaced on a circle (the PacGAN 2-D ring: 8 modes, radius 1, std 0.01).'),
    modes: positiveInt('Number of Gaussians on the circle.').max(1000).default(8),
    radius: finitePositive('Radius of the circle.').default(1),
    std: finitePositive('Standard deviation of each Gaussian.').default(0.01),
  })
  .describe('2-D ring of Gaussians.');

export const gridDataSchema = z
  .strictObject({
    type: z.literal('grid').describe('A grid of Gaussians (the PacGAN 2-D grid: 5×5 modes at {-4,-2,0,2,4}², std 0.05).'),
    size: positiveInt('Modes per side of the square grid.').max(100).default(5),
    spacing: finitePositive('Distance between neighbouring modes; the grid is centred on the origin.').default(2),
    std: finitePositive('Standard deviation of each Gaussian.').default(0.05),
  })
  .describe('2-D grid of Gaussians.');

export const csvDataSchema = z
  .strictObject({
    type: z.literal('csv').describe('Numeric rows from a CSV file (one sample a row; a header row is skipped).'),
    path: z.string().min(1).describe('Path of the CSV file, relative to the config file.'),
    columns: z.array(z.string().min(1)).min(1).optional().describe('Header names of the columns to use; all columns when absent.'),
    normalize: z.boolean().describe('Standardize each column to mean 0 and std 1 before training (samples are mapped back).').default(false),
  })
  .describe('Tabular or 2-D data from a CSV file.');

export const dataSchema = z
  .discriminatedUnion('type', [ringDataSchema, gridDataSchema, csvDataSchema])
  .describe('The real data the generator learns to imitate.');

export const generatorCostSchema = z
  .enum(['non-saturating', 'minimax', 'maximum-likelihood'])
  .describe(
    "The generator's cost (seed 003 §3; Goodfellow 2016 tutorial). " +
      'non-saturating: J(G) = -½ E[log D(G(z))], strong gradients when D rejects the samples (the default). ' +
      'minimax: J(G) = -J(D), i.e. G minimizes ½ E[log(1 - D(G(z)))]; its gradient vanishes as D(G(z)) → 0. ' +
      'maximum-likelihood: J(G) = -½ E[exp(σ⁻¹(D(G(z))))], which minimizes KL(p_data ‖ p_model) when D is optimal.',
  );

export const trainingSchema = z
  .strictObject({
    steps: positiveInt('Training iterations; each is k discriminator updates and one generator update.').max(1e9).default(3000),
    batchSize: positiveInt('m: real and generated samples in each minibatch.').max(65536).default(64),
    dStepsPerGStep: positiveInt('k: discriminator updates per generator update (Goodfellow et al. 2014, Algorithm 1).').max(100).default(1),
    generatorCost: generatorCostSchema.default('non-saturating'),
  })
  .describe('The training loop (Goodfellow et al. 2014, Algorithm 1).');

export const latentSchema = z
  .strictObject({
    size: positiveInt('Dimension of the noise vector z.').max(4096).default(2),
    distribution: z.enum(['normal', 'uniform']).describe('p_z: standard normal, or uniform on [-1, 1].').default('normal'),
  })
  .describe('The noise prior p_z(z).');

export const loggingSchema = z
  .strictObject({
    metricsEvery: positiveInt('Write a metrics.jsonl line every N steps.').default(10),
    histogramsEvery: positiveInt('Write the D(x) / D(G(z)) histograms every N steps.').default(50),
    histogramBins: positiveInt('Bins of the D(x) / D(G(z)) histograms over [0, 1].').max(200).default(20),
    samplesEvery: positiveInt('Write samples from the fixed noise every N steps.').default(250),
    sampleCount: positiveInt('Samples drawn from the fixed noise each time.').max(10000).default(500),
    checkpointEvery: positiveInt('Save a checkpoint (both networks and optimizers) every N steps.').default(1000),
    keepCheckpoints: positiveInt('Keep the newest N checkpoints.').default(3),
  })
  .describe('What the trainer writes to the run directory, and how often.');

export const ganConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('JSON Schema of this file (optional; the extension supplies it).'),
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, space, dot, underscore or dash, starting with a letter or digit')
      .describe('Experiment name; runs are grouped by it.'),
    description: z.string().max(2000).optional().describe('Free text shown with the runs.'),
    seed: nonNegativeInt('Seed of every random choice: weights, noise, data order. The same seed gives the same run.')
      .max(2 ** 31 - 1)
      .default(0),
    data: dataSchema,
    latent: latentSchema.default({ size: 2, distribution: 'normal' }),
    generator: mlpNetworkSchema.describe('The generator G(z; θ_g).'),
    discriminator: mlpNetworkSchema.describe('The discriminator D(x; θ_d); outputs the probability that x is real.'),
    training: trainingSchema.default({ steps: 3000, batchSize: 64, dStepsPerGStep: 1, generatorCost: 'non-saturating' }),
    logging: loggingSchema.default({
      metricsEvery: 10,
      histogramsEvery: 50,
      histogramBins: 20,
      samplesEvery: 250,
      sampleCount: 500,
      checkpointEvery: 1000,
      keepCheckpoints: 3,
    }),
  })
  .describe('A GAN Workbench experiment.');

/** The config as written (defaults optional). */
export type GanConfigInput = z.input<typeof ganConfigSchema>;
/** The config after validation, with every default filled in. */
export type GanConfig = z.output<typeof ganConfigSchema>;
export type DataConfig = GanConfig['data'];
export type NetworkConfig = GanConfig['generator'];
export type OptimizerConfig = NetworkConfig['optimizer'];
export type GeneratorCost = z.infer<typeof generatorCostSchema>;

export interface ConfigProblem {
  /** Path of the field, e.g. `training.batchSize`; empty for the whole file. */
  path: (string | number)[];
  message: string;
}

export type ConfigResult = { ok: true; config: GanConfig } | { ok: false; problems: ConfigProblem[] };

export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(config)';
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

export function formatProblem(problem: ConfigProblem): string {
  return `${formatPath(problem.path)}: ${problem.message}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** The "type" values of each discriminated union, by the name of the field that holds it. */
const unionChoices: Record<string, string[]> = {
  data: dataSchema.options.map((option) => option.shape.type.value),
  optimizer: optimizerSchema.options.map((option) => option.shape.type.value),
};

/** Turns zod's issues into messages that say what was expected and what was found. */
function problemsFromIssues(issues: z.core.$ZodIssue[], input: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol');
    const found = valueAt(input, issue.path);
    let message: string;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          problems.push({ path: [...path, key], message: 'unknown field (remove it or check its spelling)' });
        }
        continue;
      case 'invalid_type':
        message = found === undefined ? `required: expected ${issue.expected}` : `expected ${issue.expected}, got ${describeValue(found)}`;
        break;
      case 'too_small':
        message = `expected ${issue.origin === 'array' ? 'at least ' + String(issue.minimum) + ' items' : (issue.inclusive ? '≥ ' : '> ') + String(issue.minimum)}, got ${describeValue(found)}`;
        break;
      case 'too_big':
        message = `expected ${issue.origin === 'array' ? 'at most ' + String(issue.maximum) + ' items' : (issue.inclusive ? '≤ ' : '< ') + String(issue.maximum)}, got ${describeValue(found)}`;
        break;
      case 'invalid_value':
        message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(found)}`;
        break;
      case 'invalid_union': {
        const choices = unionChoices[String(path[path.length - 2])];
        message =
          'discriminator' in issue && choices
            ? `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${describeValue(found)}`
            : issue.message;
        break;
      }
      default:
        message = `${issue.message}${found === undefined ? '' : `, got ${describeValue(found)}`}`;
    }
    problems.push({ path, message });
  }
  return problems;
}

/** Validates a parsed config object; never throws. */
export function validateConfig(input: unknown): ConfigResult {
  const result = ganConfigSchema.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, problems: problemsFromIssues(result.error.issues, input) };
}

/** The JSON Schema of `*.gan.json`, as the editor reads it. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ganConfigSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  return { ...schema, title: 'GAN Workbench experiment', $id: 'https://gan-workbench.local/gan-config.schema.json' };
}
