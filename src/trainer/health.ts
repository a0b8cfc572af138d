/**
 * GAN health, watched while the run goes (seed 003 §3–§4: the saturating minimax cost, instability,
 * mode collapse): each alert is raised once per run, at the step it is first seen, with the numbers
 * and what users usually change. Alerts go into run.json, so the runs list, the monitor and other
 * tools see them.
 *
 * The rules, on logged metrics records (every logging.metricsEvery steps) and on the mode coverage
 * of the fixed-noise samples (the built-in 2-D mixtures):
 *
 * - discriminator-wins: D(x) > 0.9 and D(G(z)) < 0.1 on WINDOW records in a row and, when the records
 *   carry G's gradient norm, the norm vanishing there too: its median over the window below
 *   VANISHING_FRACTION of the run's own reference, the largest median of the norm over a block of
 *   NORM_BLOCK consecutive records that carry it (blocks 1–5, 6–10, … of this trainer process). The
 *   norm's absolute size depends on the networks and the data, so only the run's own history can tell
 *   a vanishing one. Not the first blocks alone: at the start D cannot tell real from generated yet
 *   and G's gradient can be small too (examples/ring8.gan.json, seed 2: a median of 0.34 over steps
 *   10–200, then 100–160 from step 1,200 on); and short blocks, because D can win within the first
 *   hundred steps (a minimax run with D at 500 times G's rate: 0.09 at step 10, 0.0002 by step 500).
 *   Medians, not single values, because the norm of one minibatch jumps (by 7x in that run). Records
 *   without the norm (runs of before it) keep the D-only rule.
 * - saturating-generator: the minimax cost with D(G(z)) < 0.05 on WINDOW records in a row.
 * - mode-collapse: coverage down to half the modes, or half the best so far, after the warm-up.
 * - oscillation: the game cycles instead of converging (§4.1, "each network repeatedly undoes the
 *   other's progress"). On the records: D's margin D(x) − D(G(z)) over the last OSCILLATION_WINDOW
 *   records, smoothed over SMOOTH records (minibatch noise averages out, a cycle of a few hundred
 *   steps does not), less its least-squares line, swings with an RMS of at least SWING and crosses
 *   that line at least CROSSINGS times (hysteresis ±RMS/2: a swing counts when it goes from below
 *   −RMS/2 to above +RMS/2 or back), while the line moves less over the window than the RMS (a flat
 *   trend, not a drift). On the 2-D mixtures: G hopping between modes (§4.2, Metz et al.'s cycle),
 *   the dominant mode of the sample (the one holding at least half its high-quality points; samples
 *   without one are skipped) changing at least HOPS times over the last HOP_WINDOW such samples while
 *   every one of them covers at most half the modes. examples/ring8-oscillating.gan.json does this.
 * - divergence: a loss stopped being finite (raised by the trainer, which then ends the run).
 */
import type { GanConfig } from '../protocol/config';
import type { HealthAlert, HealthAlertKind, MetricsRecord } from '../protocol/runDirectory';
import type { ModeQuality } from './quality';

/** Logged records that must all agree before an alert on the discriminator's outputs. */
const WINDOW = 20;
/** Records carrying G's gradient norm in a block whose median may be the run's reference norm. */
export const NORM_BLOCK = 5;
/** G's gradient norm "vanishes" below this fraction of the reference. */
export const VANISHING_FRACTION = 0.1;
/** Records the oscillation rule looks at (1,000 steps at the default metricsEvery of 10). */
export const OSCILLATION_WINDOW = 100;
/** Width of the moving average the margin is smoothed with. */
const SMOOTH = 5;
/** Least RMS of the smoothed, detrended margin D(x) − D(G(z)) (a sine of amplitude ~0.2). */
export const SWING = 0.15;
/** Least swings across the trend line within the window (three full cycles). */
export const CROSSINGS = 6;
/** Coverage samples the mode-hopping rule looks at, and the changes of dominant mode it needs. */
export const HOP_WINDOW = 10;
export const HOPS = 4;

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (x: number) => (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(3) : x.toExponential(2));

/** What the oscillation rule measured on a window of D's margins (exported for tests and tuning). */
export interface Swing {
  /** RMS of the smoothed margin about its trend line. */
  rms: number;
  /** How far the trend line moves over the window. */
  drift: number;
  /** Swings across the trend line (hysteresis ±rms/2). */
  crossings: number;
}

/** The oscillation rule's measures on a series of margins D(x) − D(G(z)), oldest first. */
export function measureSwing(margins: readonly number[]): Swing {
  const half = SMOOTH >> 1;
  const smoothed: number[] = [];
  for (let i = half; i < margins.length - half; i++) {
    let sum = 0;
    for (let j = i - half; j <= i + half; j++) sum += margins[j];
    smoothed.push(sum / SMOOTH);
  }
  const n = smoothed.length;
  if (n < 3) return { rms: 0, drift: 0, crossings: 0 };
  const meanT = (n - 1) / 2;
  const meanY = smoothed.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  smoothed.forEach((y, t) => {
    sxy += (t - meanT) * (y - meanY);
    sxx += (t - meanT) ** 2;
  });
  const slope = sxy / sxx;
  const residuals = smoothed.map((y, t) => y - meanY - slope * (t - meanT));
  const rms = Math.sqrt(residuals.reduce((a, r) => a + r * r, 0) / n);
  let side = 0;
  let crossings = 0;
  for (const r of residuals) {
    const now = r > rms / 2 ? 1 : r < -rms / 2 ? -1 : 0;
    if (now !== 0 && side !== 0 && now !== side) crossings++;
    if (now !== 0) side = now;
  }
  return { rms, drift: Math.abs(slope) * (n - 1), crossings };
}

export class HealthWatch {
  private readonly raised = new Set<HealthAlertKind>();
  private readonly recent: MetricsRecord[] = [];
  /** G's gradient norms of the current block of NORM_BLOCK records, and their steps. */
  private readonly normBlock: { step: number; norm: number }[] = [];
  /** The largest block median so far. */
  private reference: { median: number; from: number; to: number } | null = null;
  private bestImageCoverage: { value: number; step: number } | null = null;
  private bestCoverage: { modes: number; step: number } | null = null;
  /** Dominant mode and coverage of the recent coverage samples (2-D mixtures). */
  private readonly dominant: { step: number; mode: number; covered: number }[] = [];

  constructor(
    private readonly config: GanConfig,
    /** Alerts of an earlier part of this run (a resume): not raised again. */
    earlier: readonly HealthAlert[] = [],
  ) {
    for (const alert of earlier) this.raised.add(alert.kind);
  }

  private raise(kind: HealthAlertKind, step: number, message: string, advice: string): HealthAlert | null {
    if (this.raised.has(kind)) return null;
    this.raised.add(kind);
    return { kind, step, message, advice };
  }

  /** G's reference gradient norm: the largest median over a block of NORM_BLOCK records with one; null until a block is full. */
  referenceNorm(): { median: number; from: number; to: number } | null {
    return this.reference;
  }

  private addNorm(step: number, norm: number): void {
    const block = this.normBlock;
    block.push({ step, norm });
    if (block.length < NORM_BLOCK) return;
    const m = median(block.map((x) => x.norm));
    if (!this.reference || m > this.reference.median) this.reference = { median: m, from: block[0].step, to: step };
    block.length = 0;
  }

  /** Looks at one logged metrics record; returns the alerts it raises. */
  onMetrics(record: MetricsRecord): HealthAlert[] {
    const norm = record.generatorGradientNorm;
    if (norm !== undefined && Number.isFinite(norm)) this.addNorm(record.step, norm);
    this.recent.push(record);
    if (this.recent.length > Math.max(WINDOW, OSCILLATION_WINDOW)) this.recent.shift();
    const alerts: HealthAlert[] = [];
    const window = this.recent.slice(-WINDOW);
    if (window.length === WINDOW) alerts.push(...this.onOutputs(window, record));
    if (this.recent.length === OSCILLATION_WINDOW) alerts.push(...this.onCycles(record));
    return alerts;
  }

  private onOutputs(window: MetricsRecord[], record: MetricsRecord): HealthAlert[] {
    const alerts: HealthAlert[] = [];
    const all = (test: (r: MetricsRecord) => boolean) => window.every(test);
    const first = window[0].step;
    const cost = this.config.training;
    // D separates real from generated on every minibatch of the window...
    if (all((r) => r.dReal > 0.9 && r.dFake < 0.1)) {
      // ...and, where the records say, G's gradient vanishes with it (seed 003 §3): only then does G get nothing to learn from.
      const norms = window.map((r) => r.generatorGradientNorm).filter((n): n is number => n !== undefined);
      const reference = this.referenceNorm();
      const windowNorm = norms.length > 0 ? median(norms) : null;
      const vanishing = windowNorm === null || (reference !== null && windowNorm < VANISHING_FRACTION * reference.median);
      if (vanishing) {
        const gradient =
          windowNorm !== null && reference
            ? `, and G's gradient norm ‖∇J(G)‖₂ vanishes: its median there is ${fmt(windowNorm)}, under ${100 * VANISHING_FRACTION}% of ${fmt(reference.median)}, ` +
              `its median over steps ${reference.from}–${reference.to}`
            : '';
        const alert = this.raise(
          'discriminator-wins',
          record.step,
          `the discriminator wins: D(x) > 0.9 and D(G(z)) < 0.1 on every logged step from ${first} to ${record.step}${gradient}, so G gets little to learn from`,
          "lower D's learning rate or raise G's (two time-scale rates), keep k = 1, use one-sided label smoothing" +
            (cost.cost.type === 'wgan-gp' ? '' : ', or a cost whose G gradient does not vanish (non-saturating, wgan-gp)'),
        );
        if (alert) alerts.push(alert);
      }
    }
    // The minimax cost's gradient ½∇log(1 − D(G(z))) vanishes as D(G(z)) → 0 (seed 003 §3).
    if (cost.cost.type === 'cross-entropy' && cost.generatorCost === 'minimax' && all((r) => r.dFake < 0.05)) {
      const alert = this.raise(
        'saturating-generator',
        record.step,
        `the minimax generator cost saturates: D(G(z)) < 0.05 on every logged step from ${first} to ${record.step}, where its gradient vanishes`,
        'switch training.generatorCost to "non-saturating" (Goodfellow et al. 2014 §3), which has strong gradients exactly there',
      );
      if (alert) alerts.push(alert);
    }
    return alerts;
  }

  /** The oscillation rule on D's margin over the last OSCILLATION_WINDOW records. */
  private onCycles(record: MetricsRecord): HealthAlert[] {
    if (this.raised.has('oscillation')) return [];
    const margins = this.recent.map((r) => r.dReal - r.dFake);
    if (!margins.every(Number.isFinite)) return [];
    const swing = measureSwing(margins);
    if (swing.rms < SWING || swing.crossings < CROSSINGS || swing.drift >= swing.rms) return [];
    const alert = this.raise(
      'oscillation',
      record.step,
      `the game oscillates: from step ${this.recent[0].step} to ${record.step}, D's margin D(x) − D(G(z)) swings ${swing.crossings} times across a flat trend ` +
        `(RMS ${fmt(swing.rms)} about it, at least ${SWING} and ${CROSSINGS} swings; the trend moves ${fmt(swing.drift)}), instead of settling`,
      this.oscillationAdvice(),
    );
    return alert ? [alert] : [];
  }

  private oscillationAdvice(): string {
    const training = this.config.training;
    const optimizers = [this.config.generator.optimizer, this.config.discriminator.optimizer];
    const sgd = optimizers.some((o) => o.type === 'sgd');
    return (
      'lower both learning rates (or decay them: training.learningRateDecay)' +
      (sgd ? ', use Adam with β1 = 0.5 instead of plain SGD' : '') +
      (training.cost.type === 'wgan-gp' ? '' : ', add a gradient penalty (the wgan-gp cost) or spectral norm in D') +
      (training.unrollSteps ? '' : ', or unroll D (training.unrollSteps) so G sees where D is going')
    );
  }

  /** Looks at the mode coverage of a sample (the built-in 2-D mixtures). */
  /**
   * Image data: mode collapse from the evaluation (evaluation/evaluator.ts): the classes the MNIST
   * classifier finds in G's samples down to half the data's, or the coverage of the real samples
   * (Naeem et al. 2020) down to half its best, after the first fifth of the run.
   */
  onEvaluation(record: MetricsRecord, classes: number, totalSteps: number): HealthAlert[] {
    const { step, classesCovered, coverage } = record;
    if (typeof coverage === 'number' && Number.isFinite(coverage) && (!this.bestImageCoverage || coverage > this.bestImageCoverage.value)) {
      this.bestImageCoverage = { value: coverage, step };
    }
    if (step < Math.max(500, 0.2 * totalSteps)) return [];
    const best = this.bestImageCoverage;
    const fewClasses = typeof classesCovered === 'number' && classes > 1 && classesCovered <= classes / 2;
    const coverageFell = typeof coverage === 'number' && best !== null && best.value >= 0.2 && coverage <= best.value / 2;
    if (!fewClasses && !coverageFell) return [];
    const seen = fewClasses
      ? `G's samples fall in ${classesCovered} of the ${classes} classes (MNIST classifier) at step ${step}`
      : `the coverage of the real samples fell to ${coverage!.toFixed(3)} at step ${step} from ${best!.value.toFixed(3)} at step ${best!.step} (G's samples are less diverse)`;
    const alert = this.raise(
      'mode-collapse',
      step,
      `mode collapse: ${seen}`,
      `minibatch discrimination or packing in D (PacGAN), a moving average of G's weights, a lower learning rate${this.config.training.cost.type === 'wgan-gp' ? '' : ', or the wgan-gp cost'}; compare a fork with the change against this run`,
    );
    return alert ? [alert] : [];
  }

  onCoverage(step: number, quality: ModeQuality, totalSteps: number): HealthAlert[] {
    const covered = quality.modesCovered;
    if (!this.bestCoverage || covered > this.bestCoverage.modes) this.bestCoverage = { modes: covered, step };
    const counts = quality.modeCounts;
    // A sample counts when one mode holds at least half its high-quality points (two modes about even are no evidence of a move).
    const total = counts ? counts.reduce((a, b) => a + b, 0) : 0;
    if (counts && total > 0 && 2 * Math.max(...counts) >= total) {
      this.dominant.push({ step, mode: counts.indexOf(Math.max(...counts)), covered });
      if (this.dominant.length > HOP_WINDOW) this.dominant.shift();
    }
    // Early samples cover little because G has not spread out yet, not because it collapsed.
    if (step < Math.max(500, 0.2 * totalSteps)) return [];
    const alerts: HealthAlert[] = [];
    const best = this.bestCoverage;
    const collapsed = covered <= quality.modeCount / 2 || covered <= best.modes / 2;
    if (collapsed) {
      const alert = this.raise(
        'mode-collapse',
        step,
        `mode collapse: G covers ${covered} of ${quality.modeCount} modes at step ${step}${best.modes > covered ? ` (${best.modes} at step ${best.step})` : ''}`,
        `pack D's inputs (PacGAN), a lower learning rate, batch norm in G${this.config.training.cost.type === 'wgan-gp' ? '' : ', or the wgan-gp cost'}; compare a fork with the change against this run`,
      );
      if (alert) alerts.push(alert);
    }
    // G hopping from mode to mode: the collapse cycles rather than settles (Metz et al. 2017, seed 003 Figure 4).
    const recent = this.dominant;
    if (recent.length === HOP_WINDOW && recent.every((d) => d.covered <= quality.modeCount / 2)) {
      const hops = recent.filter((d, i) => i > 0 && d.mode !== recent[i - 1].mode).length;
      if (hops >= HOPS) {
        const alert = this.raise(
          'oscillation',
          step,
          `G hops between modes: the mode most of its samples fall on changed ${hops} times over the ${HOP_WINDOW} samples from step ${recent[0].step} to ${step} ` +
            `(modes ${recent.map((d) => d.mode).join(' → ')}), covering at most ${Math.max(...recent.map((d) => d.covered))} of ${quality.modeCount} modes`,
          `unroll D (training.unrollSteps, Metz et al. 2017) so G sees where D is going, pack D's inputs (PacGAN), or lower the learning rates`,
        );
        if (alert) alerts.push(alert);
      }
    }
    return alerts;
  }

  /**
   * The run diverged at `step` (`seen`: what stopped being finite, with the values); the trainer ends
   * it as failed, keeping the last finite checkpoint `kept`. Always returned: a resumed run that
   * diverges again gets the new step and values (the trainer replaces the earlier one).
   */
  onDivergence(step: number, seen: string, kept: number | null): HealthAlert {
    const training = this.config.training;
    const rates = `G ${this.config.generator.optimizer.learningRate}, D ${this.config.discriminator.optimizer.learningRate}`;
    const regularizer =
      training.cost.type === 'wgan-gp' || ('spectralNorm' in this.config.discriminator && this.config.discriminator.spectralNorm)
        ? ''
        : ', a gradient penalty (the wgan-gp cost) or spectral norm in D';
    this.raised.add('divergence');
    return {
      kind: 'divergence',
      step,
      message: `the run diverged at step ${step}: ${seen}; ${kept === null ? 'no checkpoint was written yet' : `the last finite checkpoint is step ${kept}`}`,
      advice:
        `lower the learning rates (now ${rates})${regularizer}, and check the data's scaling (inputs in [-1, 1] or standardized); then ` +
        (kept === null ? 'start a new run' : `fork the run from step ${kept} with the change (or resume it from there)`),
    };
  }
}
