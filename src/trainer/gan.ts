/**
 * The GAN and its training step: Goodfellow et al. 2014, Algorithm 1 (seed 003 §3), with the costs of
 * training.cost. One step is k discriminator (critic) updates, each on m real and m generated
 * samples, then one generator update on m fresh noise vectors. The Wasserstein costs follow their
 * papers' Algorithm 1: weight clipping after every critic update (Arjovsky et al. 2017), or the
 * gradient penalty inside the critic's loss (Gulrajani et al. 2017).
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs's gradients and the ones a gradient of a gradient (WGAN-GP) needs.
import './secondOrderGradients';
import type { GanConfig, OptimizerConfig } from '../protocol/config';
import { oneHot, uniformLabels } from './conditioning';
import type { DataSource } from './data';
import { DataError } from './data';
import { gradientPenalty, interpolates, wassersteinEstimate } from './losses';
import type { Network } from './layerNetwork';
import { GeneratorAverage } from './generatorAverage';
import { discriminatorLoss, generatorLoss, HistoricalAverages } from './improvements';
import { buildNetwork } from './layerNetwork';
import { categoricalOutput } from './gumbelSoftmax';
import { packedShape, packSamples } from './packing';
import { withUnrolledDiscriminator } from './unrolled';
import { Random, randomStream } from './random';
import { ClassifyingDiscriminator, supervisedCost, type LabelledSet } from './semiSupervised';
import { growthAt, ProgressiveNetwork } from './progressiveNetwork';

export function makeOptimizer(config: OptimizerConfig): tf.Optimizer {
  switch (config.type) {
    case 'adam':
      return tf.train.adam(config.learningRate, config.beta1, config.beta2, config.epsilon);
    case 'sgd':
      return tf.train.sgd(config.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(config.learningRate, config.decay, config.momentum, config.epsilon);
  }
}

/** What one step reports: its losses always (a divergence check needs them every step). */
export interface StepResult {
  /** D's loss in the last critic update (before it), the gradient penalty included. */
  dLoss: number;
  gLoss: number;
  /** D's outputs per sample of the last discriminator update, when asked for. */
  outputs: {
    /**
     * D(x) as a number in [0, 1] (see MetricsRecord.dReal): σ(logit) for the cross-entropy cost; for the
     * costs whose D gives a score, the fraction of the generated minibatch scored below x.
     */
    dReal: Float32Array;
    /** D(G(z)) likewise: σ(logit), or the fraction of the real minibatch scored below G(z). */
    dFake: Float32Array;
    /** D's raw output: logits for the cross-entropy cost, the critic's score for the others. */
    criticReal: Float32Array;
    criticFake: Float32Array;
  } | null;
  /** wasserstein, wgan-gp: E[D(x)] - E[D(G(z))] over the last critic update's minibatches (before it); else null. */
  wassersteinEstimate: number | null;
  /** wgan-gp: the penalty term λ·E[(‖∇D(x̂)‖₂ - 1)²] of the last critic update's loss; else null. */
  gradientPenalty: number | null;
  /** training.featureMatching: ‖E f(x) - E f(G(z))‖₂² of G's update (before it); else null. */
  featureMatching: number | null;
  /** discriminator.spectralNorm: the largest σ(W) estimate of the last critic update's power iteration; else null. */
  spectralNorm: number | null;
  /** ‖∇θg J(G)‖₂ over all of G's trainable variables in G's update, when the outputs are asked for; else null. */
  generatorGradientNorm: number | null;
}

export interface StepOptions {
  /** `both`: a training iteration (k D updates, then G's); else one update of that player alone (step mode). */
  phase?: 'both' | 'discriminator' | 'generator';
  /** k for this iteration, when changed while the run goes (else training.dStepsPerGStep). */
  dStepsPerGStep?: number;
}

/**
 * For each of `scores`, the fraction of `others` below it (ties count ½), in [0, 1]: how surely a
 * critic ranks the sample above the other minibatch. 0.5 throughout is a critic that cannot tell
 * them apart, as a classifier's D = ½ at the game's solution.
 */
export function rankFractions(scores: Float32Array, others: Float32Array): Float32Array {
  const sorted = Float64Array.from(others).sort();
  /** Index of the first sorted value that is not below `value` (`orEqual`: not at or below it). */
  const bound = (value: number, orEqual: boolean) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < value || (orEqual && sorted[mid] === value)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return scores.map((value) => {
    const below = bound(value, false);
    return (below + (bound(value, true) - below) / 2) / sorted.length;
  });
}

/**
 * `optimizer` itself, or with `measure` a stand-in whose minimize also hands `onNorm` the gradient's
 * L2 norm over all of `varList`: ‖∇J‖₂ = √(Σ_v Σ g_v²). tfjs's Optimizer.minimize is computeGradients
 * then applyGradients (each variable's tensor by name) then disposing the gradients; this does the
 * same with the norm taken from the same gradients before they are freed, so there is no extra pass
 * and the update is the optimizer's own (the fused Adam wraps applyGradients), bit for bit.
 */
export function measuringGradientNorm(optimizer: tf.Optimizer, measure: boolean, onNorm: (norm: tf.Scalar) => void): Pick<tf.Optimizer, 'minimize'> {
  if (!measure) return optimizer;
  return {
    minimize(f, returnCost = false, varList) {
      const { value, grads } = optimizer.computeGradients(f, varList);
      try {
        const gradients = varList ? varList.map((v) => grads[v.name]).filter((g) => g != null) : Object.values(grads);
        if (gradients.length > 0) onNorm(tf.tidy(() => tf.sqrt(tf.addN(gradients.map((g) => tf.sum(tf.square(g))))) as tf.Scalar));
        optimizer.applyGradients(varList ? varList.map((v) => ({ name: v.name, tensor: grads[v.name] })) : grads);
      } finally {
        tf.dispose(grads);
      }
      if (returnCost) return value;
      value.dispose();
      return null;
    },
  };
}

/**
 * tfjs-core 4.22 leaves the gradient tape behind when the function it differentiates throws: the
 * tensors the tape saved for backprop are never freed, and the next gradient starts a new tape.
 * This frees them (only outside any gradient computation).
 */
function releaseAbandonedTape(): void {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: { saved?: tf.Tensor[] }[] | null } }).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) tf.dispose(node.saved ?? []);
  state.activeTape = null;
}

/**
 * The classes a conditional GAN is conditioned on: the data's. Image folders are the one kind of
 * data whose labels only loading can tell (the config checks the others), so the message says how to give them classes.
 */
function conditionalClasses(config: GanConfig, data: DataSource): number {
  if (data.classNames.length > 0) return data.classNames.length;
  if (config.data.type === 'images') {
    throw new DataError(
      `data.path "${config.data.path}"`,
      'conditional needs a class for every image, but these images have none: put the images of each class in their own sub-folder ' +
        '(images directly in the folder have no class), or remove conditional',
    );
  }
  throw new DataError(`data (${config.data.type})`, 'conditional needs labelled data, but this data has no classes; remove conditional');
}

export class Gan {
  readonly generator: Network;
  readonly discriminator: Network;
  readonly generatorOptimizer: tf.Optimizer;
  readonly discriminatorOptimizer: tf.Optimizer;
  /** Draws noise and data; its state is checkpointed. */
  random: Random;
  /** The moving average of G's weights that samples are drawn from, when training.generatorAverage is set. */
  readonly generatorAverage: GeneratorAverage | null;
  /** training.historicalAveraging: both players' parameter averages (Salimans et al. 2016, §3.3); null when off. */
  readonly historicalAverages: HistoricalAverages | null;

  /** Classes of a conditional GAN (Mirza & Osindero 2014): G and D see each sample's one-hot label; 0 when unconditional. */
  readonly classes: number;
  /** semiSupervised: the few labelled training examples D's supervised term is drawn from (set before training). */
  labelled: LabelledSet | null = null;

  constructor(
    readonly config: GanConfig,
    readonly data: DataSource,
  ) {
    const weights = randomStream(config.seed, 'weights');
    this.classes = config.conditional ? conditionalClasses(config, data) : 0;
    const classes = this.classes;
    this.generator = buildNetwork(
      'generator',
      config.generator,
      config.latent.size,
      data.shape,
      weights,
      classes ? { classes, at: 'input' } : null,
      // Categorical CSV columns: G's groups through Gumbel-softmax, g drawn from the checkpointed stream.
      categoricalOutput(config.generator, data, () => this.random),
    );
    // Semi-supervised (Salimans et al. 2016 §5): D ends in one logit per class; the game is played on their logsumexp.
    const semiClasses = config.semiSupervised ? data.classNames.length : 0;
    const discriminator = buildNetwork(
      'discriminator',
      config.discriminator,
      config.latent.size,
      // PacGAN: D reads training.pack samples at once.
      packedShape(data.shape, config.training.pack ?? 1),
      weights,
      config.conditional ? { classes, at: config.conditional.discriminatorLabels } : null,
      null,
      semiClasses || 1,
    );
    this.discriminator = semiClasses ? new ClassifyingDiscriminator(discriminator) : discriminator;
    this.generatorOptimizer = makeOptimizer(config.generator.optimizer);
    this.discriminatorOptimizer = makeOptimizer(config.discriminator.optimizer);
    this.random = randomStream(config.seed, 'training');
    this.setVirtualReferences();
    const averageDecay = config.training.generatorAverage;
    this.generatorAverage = averageDecay === undefined ? null : new GeneratorAverage(this.generator, averageDecay);
    this.historicalAverages = HistoricalAverages.of(config.training, this.generator, this.discriminator);
  }

  /**
   * Virtual batch norm (Salimans et al. 2016, §3.4): each network that has it gets its fixed reference batch, training.batchSize
   * noise vectors for G and real samples for D (packed like D's input), from their own stream of the run's seed.
   */
  private setVirtualReferences(): void {
    const random = randomStream(this.config.seed, 'reference-batch');
    const m = this.config.training.batchSize;
    const pack = this.config.training.pack ?? 1;
    tf.tidy(() => {
      if (this.generator.virtualBatchNorm) this.generator.setVirtualReference(this.noise(m, random));
      if (this.discriminator.virtualBatchNorm) {
        const real = tf.tensor2d(this.data.sample(random, m), [m, this.data.dimension]);
        this.discriminator.setVirtualReference(pack > 1 ? packSamples(real, this.data.shape, pack) : real);
      }
    });
  }

  /**
   * Progressive growing (training.progressive): both networks at the resolution and fade of `step`
   * (the step about to be trained, or the last one trained before sampling). Nothing otherwise.
   */
  setStep(step: number): void {
    const schedule = this.config.training.progressive;
    if (!schedule) return;
    for (const network of [this.generator, this.discriminator]) {
      if (network instanceof ProgressiveNetwork) network.setGrowth(growthAt(Math.max(1, step), network.blockCount, schedule));
    }
  }

  /** m noise vectors from p_z. */
  noise(count: number, random: Random = this.random): tf.Tensor2D {
    const values = new Float32Array(count * this.config.latent.size);
    if (this.config.latent.distribution === 'normal') random.fillNormal(values);
    else random.fillUniform(values, -1, 1);
    return tf.tensor2d(values, [count, this.config.latent.size]);
  }

  /** m labels drawn uniformly over the classes (conditional GANs), from the checkpointed stream. */
  labels(count: number, random: Random = this.random): Int32Array {
    return uniformLabels(random, count, this.classes);
  }

  /** The one-hot rows of `labels` for a conditional GAN; undefined for an unconditional one (its networks take none). */
  private oneHot(labels: ArrayLike<number> | undefined): tf.Tensor2D | undefined {
    if (!this.classes) return undefined;
    if (!labels) throw new Error('a conditional GAN needs a label for each sample');
    return oneHot(labels, this.classes);
  }

  /** m real samples; for a conditional GAN with their own labels, one-hot. */
  private realBatch(count: number): { x: tf.Tensor2D; labels?: tf.Tensor2D } {
    if (!this.classes) {
      const x = tf.tensor2d(this.data.sample(this.random, count), [count, this.data.dimension]);
      // Progressive growing: while a block fades in, real images fade between the two resolutions as G's do.
      if (!(this.discriminator instanceof ProgressiveNetwork)) return { x };
      const blended = this.discriminator.fadeReal(x);
      if (blended !== x) x.dispose();
      return { x: blended };
    }
    const { values, labels } = this.data.sampleLabelled(this.random, count);
    return { x: tf.tensor2d(values, [count, this.data.dimension]), labels: this.oneHot(labels) };
  }

  /** One ε ~ U[0, 1] per row, for WGAN-GP's interpolates (drawn from the checkpointed stream). */
  private interpolationWeights(count: number): tf.Tensor2D {
    return tf.tensor2d(this.random.fillUniform(new Float32Array(count), 0, 1), [count, 1]);
  }

  /** WGAN: every critic parameter back into [-c, c] (Arjovsky et al. 2017, Algorithm 1). */
  private clipCritic(c: number): void {
    tf.tidy(() => {
      for (const variable of this.discriminator.trainableVariables()) variable.assign(tf.clipByValue(variable, -c, c));
    });
  }

  /**
   * semiSupervised: J(D) = J_unsupervised + weight · J_supervised on m labelled examples (J_unsupervised left out for the
   * non-adversarial baseline); a closure to call inside D's loss, given the adversarial loss by the caller; null otherwise.
   */
  private supervisedTerm(m: number, own: <T extends tf.Tensor>(t: T) => T): ((adversarial?: tf.Scalar) => tf.Scalar) | null {
    const semi = this.config.semiSupervised;
    if (!semi || !(this.discriminator instanceof ClassifyingDiscriminator)) return null;
    const set = this.labelled;
    if (!set || set.count === 0) throw new Error('semiSupervised: the labelled examples were not set before training');
    const d = this.data.dimension;
    const values = new Float32Array(m * d);
    const labels = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const index = this.random.int(set.count);
      values.set(set.values.subarray(index * d, (index + 1) * d), i * d);
      labels[i] = set.labels[index];
    }
    const x = own(tf.tensor2d(values, [m, d]));
    const discriminator = this.discriminator;
    return (adversarial) => {
      const term = tf.mul(supervisedCost(discriminator.classLogits(x, true), labels), semi.weight) as tf.Scalar;
      return semi.adversarial && adversarial ? (tf.add(adversarial, term) as tf.Scalar) : term;
    };
  }

  /** D on a minibatch: packed into training.pack samples per input first (PacGAN, Lin et al. 2018), when set. */
  private judge(x: tf.Tensor2D, training: boolean, labels?: tf.Tensor2D): tf.Tensor2D {
    const pack = this.config.training.pack ?? 1;
    return this.discriminator.apply(pack > 1 ? packSamples(x, this.data.shape, pack) : x, training, labels);
  }

  /** D's activations on training.featureMatching.layer for a minibatch (packed like judge's input). */
  private features(x: tf.Tensor2D, labels?: tf.Tensor2D): tf.Tensor2D {
    const pack = this.config.training.pack ?? 1;
    const layer = this.config.training.featureMatching?.layer ?? 0;
    return this.discriminator.features(pack > 1 ? packSamples(x, this.data.shape, pack) : x, true, layer, labels);
  }

  /**
   * One training iteration. Returns its losses; with `withOutputs`, also D's outputs on the last
   * real and generated minibatch. Every tensor it makes is freed, even when it throws.
   */
  async step(withOutputs: boolean, options: StepOptions = {}): Promise<StepResult> {
    const { batchSize: m, cost } = this.config.training;
    // Step mode: one update of one player; live changes: another k.
    const phase = options.phase ?? 'both';
    const k = phase === 'generator' ? 0 : phase === 'discriminator' ? 1 : (options.dStepsPerGStep ?? this.config.training.dStepsPerGStep);
    const wasserstein = cost.type === 'wasserstein' || cost.type === 'wgan-gp';
    const pack = this.config.training.pack ?? 1;
    const owned: tf.Tensor[] = [];
    const own = <T extends tf.Tensor>(t: T): T => {
      owned.push(t);
      return t;
    };
    try {
      let dLoss: tf.Scalar | null = null;
      let logits: { real: tf.Tensor; fake: tf.Tensor } | null = null;
      let estimate: tf.Scalar | null = null;
      let penalty: tf.Scalar | null = null;
      let spectral: tf.Scalar | null = null;
      let featureDistance: tf.Scalar | null = null;
      let gradientNorm: tf.Scalar | null = null;
      /** One update of D on fresh minibatches; `last` records what the step reports. Also the unrolled GAN's look-ahead updates. */
      const updateDiscriminator = (last: boolean): tf.Scalar => {
        const batch = this.realBatch(m);
        const real = own(batch.x);
        // Conditional: each real sample with its own label; generated ones with labels drawn uniformly.
        const realLabels = batch.labels && own(batch.labels);
        const z = own(this.noise(m));
        const fakeLabels = this.classes ? own(this.oneHot(this.labels(m))!) : undefined;
        // G(z) is an input to D's update: no gradient flows into G here.
        const fake = own(tf.tidy(() => this.generator.apply(z, true, fakeLabels)));
        // PacGAN: one ε per packed input, so x̂ lies on the line between a packed real and a packed generated input.
        const penalized = cost.type === 'wgan-gp' ? { lambda: cost.lambda, epsilon: own(this.interpolationWeights(m / pack)) } : null;
        // Spectral norm (Miyato et al. 2018, Algorithm 1): one power iteration on every normalized kernel, then the update.
        // semiSupervised: a labelled minibatch (from the checkpointed stream) for the supervised term.
        const supervised = this.supervisedTerm(m, own);
        const sigma = this.discriminator.spectralNormUpdate();
        if (sigma && last) spectral = own(sigma);
        else sigma?.dispose();
        const loss = own(
          this.discriminatorOptimizer.minimize(
            () => {
              const onReal = this.judge(real, true, realLabels);
              const onFake = this.judge(fake, true, fakeLabels);
              // Kept out of the gradient tape's tidy when they are reported.
              if (last && withOutputs) logits = { real: own(tf.keep(onReal)), fake: own(tf.keep(onFake)) };
              if (last && wasserstein) estimate = own(tf.keep(wassersteinEstimate(onReal, onFake)));
              // (Label smoothing and historical averaging, when set: improvements.ts.)
              const adversarial = discriminatorLoss(this.config.training, onReal, onFake, this.historicalAverages);
              const loss = supervised ? supervised(adversarial) : adversarial;
              if (!penalized) return loss;
              // The penalty is part of the critic's loss, so its gradient (a second derivative) moves the critic.
              const points = interpolates(packSamples(real, this.data.shape, pack), packSamples(fake, this.data.shape, pack), penalized.epsilon);
              // Conditional: x̂ lies on the line from (x, y) to (G(z, y'), y') in the joint space, so y is interpolated with the same ε.
              const pointLabels = realLabels && fakeLabels ? interpolates(realLabels, fakeLabels, penalized.epsilon) : undefined;
              const term = tf.mul(
                gradientPenalty((x) => this.discriminator.apply(x, true, pointLabels), points),
                penalized.lambda,
              ) as tf.Scalar;
              if (last) penalty = own(tf.keep(term));
              return tf.add(loss, term);
            },
            true,
            this.discriminator.trainableVariables(),
          ) as tf.Scalar,
        );
        if (cost.type === 'wasserstein') this.clipCritic(cost.clip);
        return loss;
      };
      for (let i = 0; i < k; i++) dLoss = updateDiscriminator(i === k - 1);
      // Unrolled GAN (Metz et al. 2017): G's update sees D after unrollSteps more updates, which are then undone.
      const gLoss =
        phase === 'discriminator'
          ? null
          : await withUnrolledDiscriminator(
              this.discriminator.namedVariables().map(({ variable }) => variable),
              this.discriminatorOptimizer,
              this.config.training.unrollSteps ?? 0,
              () => void updateDiscriminator(false),
              () => {
                const z = own(this.noise(m));
                // G's update on fresh labels (conditional): G(z, y) is judged by D as a sample of class y.
                const labels = this.classes ? own(this.oneHot(this.labels(m))!) : undefined;
                // Feature matching (Salimans et al. 2016, §3.1): a real minibatch for E f(x), when set.
                const matchedReal = this.config.training.featureMatching ? this.realBatch(m) : null;
                if (matchedReal) [matchedReal.x, matchedReal.labels].forEach((t) => t && own(t));
                return own(
                  measuringGradientNorm(this.generatorOptimizer, withOutputs, (norm) => (gradientNorm = own(norm))).minimize(
                    () =>
                      generatorLoss(
                        this.config.training,
                        () => this.judge(this.generator.apply(z, true, labels), true, labels),
                        matchedReal && {
                          real: () => this.features(matchedReal.x, matchedReal.labels),
                          fake: () => this.features(this.generator.apply(z, true, labels), labels),
                        },
                        this.historicalAverages,
                        (distance) => (featureDistance = own(distance)),
                      ),
                    true,
                    this.generator.trainableVariables(),
                  ) as tf.Scalar,
                );
              },
            );
      if (phase !== 'discriminator') this.generatorAverage?.update();
      this.historicalAverages?.update();
      const read = async (t: tf.Scalar | null) => (t ? (await t.data())[0] : null);
      // (Assigned inside the loss closures, which TypeScript's narrowing does not see.)
      const [dLossValue, gLossValue, estimateValue, penaltyValue, featureValue, spectralValue] = await Promise.all(
        [dLoss, gLoss, estimate as tf.Scalar | null, penalty as tf.Scalar | null, featureDistance as tf.Scalar | null, spectral as tf.Scalar | null].map(read),
      );
      const gradientNormValue = await read(gradientNorm as tf.Scalar | null);
      let outputs: StepResult['outputs'] = null;
      const captured = logits as { real: tf.Tensor; fake: tf.Tensor } | null;
      if (captured) {
        const [rawReal, rawFake] = (await Promise.all([captured.real.data(), captured.fake.data()])) as Float32Array[];
        let dReal: Float32Array;
        let dFake: Float32Array;
        if (cost.type === 'cross-entropy') {
          const [pReal, pFake] = [own(tf.sigmoid(captured.real)), own(tf.sigmoid(captured.fake))];
          [dReal, dFake] = (await Promise.all([pReal.data(), pFake.data()])) as Float32Array[];
        } else {
          // A score's offset is arbitrary (the Wasserstein costs do not see it), so σ of it means nothing; its ranking does.
          [dReal, dFake] = [rankFractions(rawReal, rawFake), rankFractions(rawFake, rawReal)];
        }
        outputs = { dReal, dFake, criticReal: rawReal, criticFake: rawFake };
      }
      return {
        // (NaN for the player a single update left alone.)
        dLoss: dLossValue ?? NaN,
        gLoss: gLossValue ?? NaN,
        outputs,
        wassersteinEstimate: estimateValue,
        gradientPenalty: penaltyValue,
        featureMatching: featureValue,
        spectralNorm: spectralValue,
        generatorGradientNorm: gradientNormValue,
      };
    } catch (error) {
      releaseAbandonedTape();
      throw error;
    } finally {
      tf.dispose(owned);
    }
  }

  /**
   * G(z) for the given noise, with batch norm in inference mode (and G's averaged weights, when kept); model space, row-major.
   * A conditional GAN takes each row's class (an index into data.classNames) as `labels`: G(z, y).
   */
  async generate(noise: tf.Tensor2D, labels?: ArrayLike<number>): Promise<Float32Array> {
    const y = this.oneHot(labels);
    const run = async () => {
      const out = this.generator.apply(noise, false, y);
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    };
    try {
      return await (this.generatorAverage ? this.generatorAverage.withAverage(run) : run());
    } finally {
      y?.dispose();
    }
  }

  /**
   * D's raw output (its logit: σ of it is the probability that a row is real, under the cross-entropy cost) on rows in
   * model space, as generate returns them, in inference mode; a conditional GAN judges each row with its class.
   */
  async discriminate(rows: Float32Array, count: number, labels?: ArrayLike<number>): Promise<Float32Array> {
    const y = this.oneHot(labels);
    const x = tf.tensor2d(rows, [count, rows.length / count]);
    try {
      const out = this.discriminator.apply(x, false, y);
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    } finally {
      x.dispose();
      y?.dispose();
    }
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    this.generatorOptimizer.dispose();
    this.discriminatorOptimizer.dispose();
    this.generatorAverage?.dispose();
    this.historicalAverages?.dispose();
  }
}
