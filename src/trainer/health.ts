/**
 * GAN health, watched while the run goes (seed 003 §4: instability and mode collapse): each alert
 * is raised once per run, at the step it is first seen, with what users usually change. Alerts
 * go into run.json, so the runs list, the monitor and other tools see them.
 */
import type { GanConfig } from '../protocol/config';
import type { HealthAlert, HealthAlertKind, MetricsRecord } from '../protocol/runDirectory';
import type { ModeQuality } from './quality';

/** Logged records that must all agree before an alert on the discriminator's outputs. */
const WINDOW = 20;

export class HealthWatch {
  private readonly raised = new Set<HealthAlertKind>();
  private readonly recent: MetricsRecord[] = [];
  private bestCoverage: { modes: number; step: number } | null = null;

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

  /** Looks at one logged metrics record; returns the alerts it raises. */
  onMetrics(record: MetricsRecord): HealthAlert[] {
    this.recent.push(record);
    if (this.recent.length > WINDOW) this.recent.shift();
    if (this.recent.length < WINDOW) return [];
    const alerts: HealthAlert[] = [];
    const all = (test: (r: MetricsRecord) => boolean) => this.recent.every(test);
    const first = this.recent[0].step;
    const cost = this.config.training;
    // D separates real from generated on every minibatch of the window.
    if (all((r) => r.dReal > 0.9 && r.dFake < 0.1)) {
      const alert = this.raise(
        'discriminator-wins',
        record.step,
        `the discriminator wins: D(x) > 0.9 and D(G(z)) < 0.1 on every logged step from ${first} to ${record.step}, so G gets little to learn from`,
        "lower D's learning rate or raise G's (two time-scale rates), keep k = 1, use one-sided label smoothing" +
          (cost.cost.type === 'wgan-gp' ? '' : ', or a cost whose G gradient does not vanish (non-saturating, wgan-gp)'),
      );
      if (alert) alerts.push(alert);
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

  /** Looks at the mode coverage of a sample (the built-in 2-D mixtures). */
  onCoverage(step: number, quality: ModeQuality, totalSteps: number): HealthAlert[] {
    const covered = quality.modesCovered;
    if (!this.bestCoverage || covered > this.bestCoverage.modes) this.bestCoverage = { modes: covered, step };
    // Early samples cover little because G has not spread out yet, not because it collapsed.
    if (step < Math.max(500, 0.2 * totalSteps)) return [];
    const best = this.bestCoverage;
    const collapsed = covered <= quality.modeCount / 2 || covered <= best.modes / 2;
    if (!collapsed) return [];
    const alert = this.raise(
      'mode-collapse',
      step,
      `mode collapse: G covers ${covered} of ${quality.modeCount} modes at step ${step}${best.modes > covered ? ` (${best.modes} at step ${best.step})` : ''}`,
      `pack D's inputs (PacGAN), a lower learning rate, batch norm in G${this.config.training.cost.type === 'wgan-gp' ? '' : ', or the wgan-gp cost'}; compare a fork with the change against this run`,
    );
    return alert ? [alert] : [];
  }
}
