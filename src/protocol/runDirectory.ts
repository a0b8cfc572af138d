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
}

export interface MetricsRecord {
  step: number;
  /** Unix time in milliseconds when the step finished. */
  time: number;
  /** D's loss in the last discriminator (critic) update of the step, WGAN-GP's penalty included. */
  dLoss: number;
  gLoss: number;
  /**
   * Mean σ(D's output) over the last real minibatch. With the cross-entropy cost (the default) this
   * is mean D(x), D's probability that x is real. The other costs train D's raw output as a score,
   * not a probability: there σ only squashes it into [0, 1] for the same charts (higher = judged more
   * real), and criticReal / criticFake carry the values their papers talk about.
   */
  dReal: number;
  /** Mean σ(D's output) over the last generated minibatch: mean D(G(z)) for the cross-entropy cost (see dReal). */
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
}

export interface HistogramRecord {
  step: number;
  /** Bin edges over [0, 1]: `bins + 1` numbers. */
  edges: number[];
  /** Counts of D(x) over a real minibatch, per bin. */
  dReal: number[];
  /** Counts of D(G(z)) over a generated minibatch, per bin. */
  dFake: number[];
}

/** Samples from the fixed noise (2-D and tabular data): `samples/step-00000250.json`. */
export interface PointSamples {
  step: number;
  points: number[][];
}

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
