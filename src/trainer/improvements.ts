/**
 * The training improvements of Salimans et al. 2016 ("Improved Techniques for Training GANs"; seed
 * 003 §5) and spectral normalization (Miyato et al. 2018), as ops and small stateful pieces that
 * the networks and the Gan's step compose:
 * - one-sided label smoothing (§3.4): D's real target α in the cross-entropy cost;
 * - feature matching (§3.1): ‖E f(x) - E f(G(z))‖₂² on one of D's layers;
 * - minibatch discrimination (§3.2): o(x_i)_b = Σ_j exp(-‖M_i,b - M_j,b‖_L1) joined to the features;
 * - historical averaging (§3.3): λ‖θ - (1/t) Σ θ[i]‖², the averages kept in variables (checkpointed);
 * - spectral normalization: W/σ(W), σ by one power iteration per update on a persistent u.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainingConfig } from '../protocol/config';
import type { Network } from './layerNetwork';
import { adversarialGeneratorCost, criticCost } from './losses';
import type { NamedVariable } from './mlp';
import type { Random } from './random';

/**
 * J(D) with one-sided label smoothing on D's logits l: -½ E[α log σ(l_x) + (1 - α) log(1 - σ(l_x))] - ½ E[log(1 - σ(l_G(z)))],
 * written with -log σ(l) = softplus(-l) and -log(1 - σ(l)) = softplus(l). α = 1 is the plain cross-entropy cost.
 */
export function smoothedDiscriminatorCost(realLogits: tf.Tensor, fakeLogits: tf.Tensor, alpha: number): tf.Scalar {
  return tf.tidy(() => {
    const real = tf.add(tf.mul(tf.mean(tf.softplus(tf.neg(realLogits))), alpha), tf.mul(tf.mean(tf.softplus(realLogits)), 1 - alpha));
    return tf.mul(tf.add(real, tf.mean(tf.softplus(fakeLogits))), 0.5) as tf.Scalar;
  });
}

/** ‖E f(x) - E f(G(z))‖₂²: the squared distance between the minibatch means of D's features [batch, features]. */
export function featureMatchingCost(realFeatures: tf.Tensor2D, fakeFeatures: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(tf.sub(tf.mean(realFeatures, 0), tf.mean(fakeFeatures, 0)))));
}

/**
 * Minibatch discrimination (Salimans et al. 2016, §3.2): f [n, A] times T [A, B·C] is M [n, B, C];
 * c_b(x_i, x_j) = exp(-‖M_i,b - M_j,b‖_L1), o(x_i)_b = Σ_j c_b(x_i, x_j) (j = i included, as in the paper);
 * returns [f, o], [n, A + B].
 */
export function minibatchDiscrimination(f: tf.Tensor2D, t: tf.Tensor2D, kernels: number, dimension: number): tf.Tensor2D {
  return tf.tidy(() => {
    const n = f.shape[0];
    const m = tf.reshape(tf.matMul(f, t), [n, kernels, dimension]);
    const distances = tf.sum(tf.abs(tf.sub(tf.expandDims(m, 1), tf.expandDims(m, 0))), 3);
    const o = tf.sum(tf.exp(tf.neg(distances)), 1) as tf.Tensor2D;
    return tf.concat([f, o], 1);
  });
}

/** Keeps ‖x‖ from dividing by zero in the power iteration. */
const NORM_FLOOR = 1e-12;

function normalizeVector(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x), NORM_FLOOR));
}

/**
 * Spectral normalization of one kernel (Miyato et al. 2018, Algorithm 1). The kernel is read as the
 * matrix W [rows, out] (a conv kernel [kh, kw, in, out] as [kh·kw·in, out]); u ∈ R^out persists
 * between updates (a non-trainable variable, so it is checkpointed with the network).
 */
export class SpectralNorm {
  readonly u: tf.Variable;

  constructor(
    readonly kernel: tf.Variable,
    random: Random,
  ) {
    const out = kernel.shape[kernel.shape.length - 1];
    this.u = tf.tidy(() => tf.variable(normalizeVector(tf.tensor(random.fillNormal(new Float32Array(out)), [out, 1])), false));
  }

  private matrix(): tf.Tensor2D {
    const out = this.kernel.shape[this.kernel.shape.length - 1];
    return tf.reshape(this.kernel, [-1, out]);
  }

  /** One power iteration, v = Wu/‖Wu‖, u ← Wᵀv/‖Wᵀv‖; returns the estimate σ(W) = ‖Wu‖ with the new u (no gradient). */
  update(): tf.Scalar {
    return tf.tidy(() => {
      const w = this.matrix();
      const v = normalizeVector(tf.matMul(w, this.u));
      this.u.assign(normalizeVector(tf.matMul(w, v, true)) as tf.Tensor2D);
      return tf.norm(tf.matMul(w, this.u)) as tf.Scalar;
    });
  }

  /**
   * W/σ(W) with σ = ‖Wu‖ for the held u: the same value as vᵀWu with v = Wu/‖Wu‖, and the same gradient
   * vuᵀ of Miyato et al.'s σ (u and v taken as constants).
   */
  normalized(): tf.Tensor {
    return tf.tidy(() => tf.div(this.kernel, tf.sqrt(tf.sum(tf.square(tf.matMul(this.matrix(), this.u))))));
  }
}

/** One power iteration for each of `norms`; returns the largest σ estimate (a scalar the caller frees), or null when there are none. */
export function updateSpectralNorms(norms: readonly SpectralNorm[]): tf.Scalar | null {
  if (norms.length === 0) return null;
  return tf.tidy(() => tf.max(tf.stack(norms.map((norm) => norm.update()))) as tf.Scalar);
}

/**
 * Historical averaging (Salimans et al. 2016, §3.3): the running average (1/t) Σᵢ θ[i] of a player's
 * parameters over its updates, the initial parameters counting as the first, and the cost term
 * λ‖θ - average‖². The averages and t are variables, saved with the checkpoint.
 */
export class HistoricalAverage {
  private readonly averages: tf.Variable[];
  private readonly count: tf.Variable;

  constructor(
    readonly scope: string,
    private readonly parameters: tf.Variable[],
    readonly lambda: number,
  ) {
    // (Inside tidy: tf.variable keeps its own reference, the clones are freed.)
    this.averages = tf.tidy(() => parameters.map((p) => tf.variable(p.clone(), false)));
    this.count = tf.tidy(() => tf.variable(tf.scalar(1), false));
  }

  /** Starts the average again at the current parameters (t = 1). */
  reset(): void {
    tf.tidy(() => {
      this.parameters.forEach((p, i) => this.averages[i].assign(p));
      this.count.assign(tf.scalar(1));
    });
  }

  /** λ Σ ‖θ - average‖² over the player's parameters (the averages are constants for the gradient). */
  penalty(): tf.Scalar {
    return tf.tidy(() => tf.mul(tf.addN(this.parameters.map((p, i) => tf.sum(tf.square(tf.sub(p, this.averages[i]))))), this.lambda) as tf.Scalar);
  }

  /** After an update: t ← t + 1, average ← average + (θ - average)/t. */
  update(): void {
    tf.tidy(() => {
      const t = tf.add(this.count, 1);
      this.count.assign(t);
      this.parameters.forEach((p, i) => this.averages[i].assign(tf.add(this.averages[i], tf.div(tf.sub(p, this.averages[i]), t))));
    });
  }

  namedVariables(): NamedVariable[] {
    return [
      ...this.averages.map((variable, i) => ({ name: `${this.scope}/historicalAverage/${i}`, variable })),
      { name: `${this.scope}/historicalAverage/count`, variable: this.count },
    ];
  }

  dispose(): void {
    tf.dispose([...this.averages, this.count]);
  }
}

/** Both players' historical averages (training.historicalAveraging), updated once per training iteration. */
export class HistoricalAverages {
  constructor(
    readonly generator: HistoricalAverage,
    readonly discriminator: HistoricalAverage,
  ) {}

  static of(training: Pick<TrainingConfig, 'historicalAveraging'>, generator: Network, discriminator: Network): HistoricalAverages | null {
    const lambda = training.historicalAveraging;
    if (lambda === undefined) return null;
    return new HistoricalAverages(
      new HistoricalAverage(generator.scope, generator.trainableVariables(), lambda),
      new HistoricalAverage(discriminator.scope, discriminator.trainableVariables(), lambda),
    );
  }

  /** After an iteration (k updates of D, one of G): each player's θ joins its average. */
  update(): void {
    this.generator.update();
    this.discriminator.update();
  }

  reset(): void {
    this.generator.reset();
    this.discriminator.reset();
  }

  namedVariables(): NamedVariable[] {
    return [...this.generator.namedVariables(), ...this.discriminator.namedVariables()];
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
  }
}

/**
 * What D minimizes before WGAN-GP's penalty: training.cost on D's raw outputs, with the smoothed real target
 * (training.labelSmoothing, cross-entropy only) and plus λ‖θ_D - θ̄_D‖² (training.historicalAveraging) when set.
 */
export function discriminatorLoss(
  training: Pick<TrainingConfig, 'cost' | 'labelSmoothing'>,
  real: tf.Tensor,
  fake: tf.Tensor,
  history: HistoricalAverages | null,
): tf.Scalar {
  return tf.tidy(() => {
    const alpha = training.labelSmoothing;
    const loss =
      alpha !== undefined && training.cost.type === 'cross-entropy' ? smoothedDiscriminatorCost(real, fake, alpha) : criticCost(training.cost, real, fake);
    return history ? tf.add(loss, history.discriminator.penalty()) : loss;
  });
}

/**
 * What G minimizes: the adversarial cost on D's outputs for G(z), or with training.featureMatching
 * ‖E f(x) - E f(G(z))‖₂² on D's layer (`matched`: the features of a real minibatch and of G(z)); plus
 * λ‖θ_G - θ̄_G‖² with training.historicalAveraging. `recordDistance` receives the feature-matching distance.
 */
export function generatorLoss(
  training: Pick<TrainingConfig, 'cost' | 'generatorCost'>,
  onFake: () => tf.Tensor,
  matched: { real: () => tf.Tensor2D; fake: () => tf.Tensor2D } | null,
  history: HistoricalAverages | null,
  recordDistance: (distance: tf.Scalar) => void,
): tf.Scalar {
  return tf.tidy(() => {
    let loss: tf.Scalar;
    if (matched) {
      loss = featureMatchingCost(matched.real(), matched.fake());
      recordDistance(tf.keep(loss.clone()));
    } else {
      loss = adversarialGeneratorCost(training, onFake());
    }
    return history ? tf.add(loss, history.generator.penalty()) : loss;
  });
}
