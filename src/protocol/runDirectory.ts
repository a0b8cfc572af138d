/**
 * The run directory contract (DESIGN.md § Run directory): what the trainer writes and every other
 * part (extension, CLI `sample`, other tools) reads.
 */

export const RUN_FILES = {
  config: 'config.json',
  run: 'run.json',
  metrics: 'metrics.jsonl',
  histograms: 'histograms.jsonl',
  samples: 'samples',
  checkpoints: 'checkpoints',
  /** A fixed sample of the real data (2-D data only), for drawing real vs generated. */
  realSample: 'samples/real.json',
  /** A grid of real images (image data only), drawn beside the generated grid. */
  realImage: 'samples/real.png',
} as const;

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = 'auto' | BackendName;

export interface RunInfo {
  id: string;
  name: string;
  status: RunStatus;
  backend: BackendName | null;
  /** Why each preferred backend was skipped, e.g. "tensorflow-gpu: not installed". */
  backendReason: string;
  pid: number | null;
  /** Host name of the machine running the trainer (a pid means nothing on another machine). */
  host: string;
  startedAt: string;
  endedAt: string | null;
  /** Last completed step. */
  step: number;
  totalSteps: number;
  error: string | null;
  /** Absolute path of the config file the run was started from, when there was one. */
  configPath: string | null;
  /** Run directory this one was forked from. */
  parent: string | null;
  /** The parent's checkpoint step this run started from (forks only; absent in older runs). */
  parentStep?: number | null;
  /** Health alerts raised so far, oldest first, each kind once (absent in older runs). */
  alerts?: HealthAlert[];
  /** Step mode: the trainer waits for a single update or a resume (absent: not paused). */
  paused?: boolean;
  /**
   * Changes made while the run went (monitor's controls), oldest first; a resume applies them
   * again so the run goes on as it was left. Each metrics record carries the rates and k in force.
   */
  controlChanges?: ControlChange[];
}

/** Hyperparameters that can change while the run goes; any subset at a time. */
export interface LiveHyperparameters {
  /** Base learning rates (the schedule's factor still applies). */
  generatorLearningRate?: number;
  discriminatorLearningRate?: number;
  /** k: D updates per G update. */
  dStepsPerGStep?: number;
}

export interface ControlChange extends LiveHyperparameters {
  /** The last completed step when the change was made (it applies from the next one). */
  step: number;
  time: number;
}

/**
 * discriminator-wins, saturating-generator and mode-collapse since the first alerts; oscillation (the
 * game cycles instead of converging) and divergence (the losses stopped being finite; the run ended
 * failed) later. Readers show kinds they do not know as a plain alert.
 */
export type HealthAlertKind = 'discriminator-wins' | 'saturating-generator' | 'mode-collapse' | 'oscillation' | 'divergence';

/** Something about the game that users usually act on, seen at `step`. */
export interface HealthAlert {
  kind: HealthAlertKind;
  step: number;
  /** What was seen, with the numbers. */
  message: string;
  /** What users usually change. */
  advice: string;
}

export interface MetricsRecord {
  step: number;
  /** Unix time in milliseconds when the step finished. */
  time: number;
  /** D's loss in the last discriminator (critic) update of the step, WGAN-GP's penalty included. */
  dLoss: number;
  gLoss: number;
  /**
   * Mean D(x) over the last real minibatch, a number in [0, 1]. With the cross-entropy cost (the
   * default) D(x) is D's probability σ(logit) that x is real. The other costs train D's raw output
   * as an unbounded score, whose offset the Wasserstein costs do not even see, so σ of it would mean
   * nothing: there D(x) is the fraction of the generated minibatch that D scores below x (ties count
   * ½). Either way 0.5 is a D that cannot tell real from generated (the game's solution) and 1 one
   * that tells them apart; criticReal / criticFake carry the raw scores.
   */
  dReal: number;
  /**
   * Mean D(G(z)) over the last generated minibatch: σ(logit) for the cross-entropy cost, else the
   * fraction of the real minibatch that D scores below G(z) (then dReal + dFake = 1).
   */
  dFake: number;
  /** Training steps per second since the previous record. */
  stepsPerSecond: number;
  /** Costs other than cross-entropy: mean raw D(x), the critic's score on the last real minibatch (absent in older runs). */
  criticReal?: number;
  /** Costs other than cross-entropy: mean raw D(G(z)) on the last generated minibatch. */
  criticFake?: number;
  /**
   * wasserstein and wgan-gp: the critic's estimate E[D(x)] - E[D(G(z))] of the Wasserstein-1
   * distance (up to the critic's Lipschitz constant), from the last critic update's minibatches.
   */
  wassersteinEstimate?: number;
  /** wgan-gp: the penalty term λ·E[(‖∇D(x̂)‖₂ - 1)²] of the last critic update (dLoss = -wassersteinEstimate + this). */
  gradientPenalty?: number;
  /** training.featureMatching: ‖E f(x) - E f(G(z))‖₂² on D's chosen layer in G's last update (Salimans et al. 2016, §3.1). */
  featureMatching?: number;
  /** discriminator.spectralNorm: the largest σ(W) estimate of D's kernels before normalization (Miyato et al. 2018). */
  spectralNorm?: number;
  /** ‖∇θg J(G)‖₂ of G's update on this step, over all of G's parameters (logged steps); → 0 when D wins and G learns nothing. */
  generatorGradientNorm?: number;

  // Evaluation (every logging.samplesEvery steps and at the last step, on logging.evaluationSamples samples of G from a
  // fixed evaluation noise beside as many of the data from a fixed draw; src/trainer/evaluation/).
  /** Built-in mixtures (PacGAN protocol, Lin et al. 2018): modes with at least one high-quality sample. */
  modesCovered?: number;
  /** Built-in mixtures: fraction of samples within 3σ of their nearest mode, in [0, 1]. */
  highQuality?: number;
  /** Built-in mixtures: KL(mode histogram of the high-quality samples ‖ uniform). */
  modeReverseKl?: number;
  /**
   * Any 2-D data: KL(p_data ‖ p_g) of the two samples' histograms on a 20×20 grid over the real sample's box padded by 10%
   * (points outside in the border cells), each histogram smoothed by 0.1 of a count per cell; 0 when they match.
   */
  gridKl?: number;
  /** Any 2-D data: Jensen–Shannon divergence of the two smoothed grid histograms, in nats, in [0, ln 2] (near ln 2 when disjoint). */
  gridJs?: number;
  /** 28×28×1 images (the MNIST classifier): classes that are the classifier's most probable class for at least one sample. */
  classesCovered?: number;
  /** KL(class histogram of G's samples ‖ that of the real sample), both under the classifier and smoothed by ½ a count per class. */
  classKl?: number;
  /** exp(E_x KL(p(y|x) ‖ p(y))) under the classifier: the Inception-score analogue, in [1, classes]. */
  classifierScore?: number;
  /** Fréchet distance between Gaussians fitted to the real and generated samples' features (the classifier's, or pixels up to 128). */
  frechetDistance?: number;
  /** Improved precision (Kynkäänniemi et al. 2019, k = 3): generated samples inside the real manifold, in [0, 1]. */
  precision?: number;
  /** Improved recall (k = 3): real samples inside the generated manifold, in [0, 1]. */
  recall?: number;
  /** Density (Naeem et al. 2020, k = 5): mean count of real k-NN balls holding a generated sample, over k; about 1 when matched ((k + 1)/k for identical samples). */
  density?: number;
  /** Coverage (k = 5): real samples whose k-NN ball holds a generated sample, in [0, 1]. */
  coverage?: number;
  /** semiSupervised: D's accuracy as a classifier on the held-out test examples (argmax of its class logits), in [0, 1]. */
  testAccuracy?: number;
  /**
   * The features precision/recall/density/coverage and the Fréchet distance were measured on:
   * the MNIST classifier's 64-d penultimate layer (28×28×1 images), raw pixels (other images), or
   * the points themselves (vector data; no Fréchet distance there).
   */
  evaluationFeatures?: 'mnist-classifier' | 'pixels' | 'points';

  // Training controls in force at this step: the schedule's rates and any change made while the run went.
  /** G's learning rate used by this step (after learningRateDecay and live changes). */
  generatorLearningRate?: number;
  /** D's learning rate used by this step. */
  discriminatorLearningRate?: number;
  /** k: discriminator updates per generator update in this step. */
  dStepsPerGStep?: number;
  /** Single updates made in step mode since the run started (cumulative; absent while there were none). */
  singleDiscriminatorUpdates?: number;
  singleGeneratorUpdates?: number;
}

export interface HistogramRecord {
  step: number;
  /** Bin edges over [0, 1]: `bins + 1` numbers. */
  edges: number[];
  /** Counts of D(x) over a real minibatch, per bin (D(x) as in MetricsRecord.dReal). */
  dReal: number[];
  /** Counts of D(G(z)) over a generated minibatch, per bin (as in MetricsRecord.dFake). */
  dFake: number[];
}

/** Samples from the fixed noise (2-D and tabular data): `samples/step-00000250.json`. */
export interface PointSamples {
  step: number;
  points: number[][];
  /**
   * Conditional GANs (config `conditional`): the class each point was generated for, an index into
   * classNames (absent for unconditional runs and in older runs), so a scatter can colour by class.
   */
  labels?: number[];
  /** Conditional GANs: the names of the classes, by label (a mixture's mode index, a CSV labelColumn's values). */
  classNames?: string[];
  /**
   * Tabular data with categorical columns (config data.categorical): what each value of a point is, in order. A numeric
   * column's value is the number (in data space); a categorical column's is the index of its category in `categories`
   * (the largest of G's outputs for the column). Absent for other data and in older runs.
   */
  columns?: SampleColumn[];
  /** 2-D data: the laboratory's view of the game at this step (absent in older runs). */
  laboratory?: LaboratoryFrame;
  /** A live laboratory frame (never in a file): G on the first points of the fixed noise only. */
  live?: boolean;
}

/** A column of tabular samples (PointSamples.columns): its CSV header name; for a categorical column, its categories by index. */
export interface SampleColumn {
  name: string;
  categories?: string[];
}

/**
 * The 2-D laboratory's view of the game at one step (after GAN Lab, Kahng et al. 2018), in data
 * space: D over the plane, the way G's cost pushes each sample, and the image of a noise grid under G.
 */
export interface LaboratoryFrame {
  /**
   * D on a `columns` × `rows` grid of cell centres over `box` = [xMin, yMin, xMax, yMax], row-major
   * from yMin up. `probability`: D(x) = σ(logit) (cross-entropy); `score`: the critic's raw output.
   * A conditional D is averaged over the classes; a packed D (PacGAN) sees `pack` copies of the point.
   */
  surface: { box: [number, number, number, number]; columns: number; rows: number; values: number[]; kind: 'probability' | 'score' };
  /**
   * For each point of the samples, −∇x J(G) at x = G(z): the direction G's adversarial cost moves
   * that sample (its gradient flows into G through x), as [dx, dy]; lengths are relative.
   */
  gradients: number[][];
  /**
   * G on a `columns` × `rows` grid of noise, z₁ and z₂ over ±2 (normal noise) or ±1 (uniform) with
   * the other noise coordinates those of the first fixed-noise vector (a typical z), row-major; neighbours joined show how G folds the noise plane.
   * Null for a conditional G.
   */
  manifold: { columns: number; rows: number; points: number[][] } | null;
}

/** A sample grid of an image GAN (`samples/step-00000250.png`), as a `data:image/png;base64,…` URI. */
export interface ImageSamples {
  step: number;
  image: string;
}

/** Images in a sample grid: a 10×10 grid, one row per class for a conditional GAN. */
export const IMAGE_GRID_MAX = 100;

export function sampleFileName(step: number, extension: 'json' | 'png'): string {
  return `step-${String(step).padStart(8, '0')}.${extension}`;
}

export function stepOfSampleFile(fileName: string): number | null {
  const match = /^step-(\d+)\.(json|png)$/.exec(fileName);
  return match ? Number(match[1]) : null;
}

export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

export function stepOfCheckpointDir(dirName: string): number | null {
  const match = /^step-(\d+)$/.exec(dirName);
  return match ? Number(match[1]) : null;
}
