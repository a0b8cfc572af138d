/**
 * The health alert kinds (HealthAlert in runDirectory.ts) in one table that every view of an alert
 * follows: the runs list's icon and tooltip, the notification, the monitor's list and the CLI line.
 * A new kind is one row here (and its rule in src/trainer/health.ts).
 */
import type { HealthAlertKind, RunInfo } from './runDirectory';

export interface HealthAlertView {
  /** A few words naming what was seen (the messages say it in a sentence): the runs list's label of a run that ended on it, the monitor's button. */
  title: string;
  /** A codicon for the runs list while the run goes on with the alert. */
  icon: string;
  /** Whether the run ended on it (the trainer stops; the alert says what to change before resuming or forking). */
  endsRun: boolean;
}

export const HEALTH_ALERT_VIEWS: Record<HealthAlertKind, HealthAlertView> = {
  'discriminator-wins': { title: 'discriminator wins', icon: 'shield', endsRun: false },
  'saturating-generator': { title: 'generator cost saturates', icon: 'debug-disconnect', endsRun: false },
  'mode-collapse': { title: 'mode collapse', icon: 'target', endsRun: false },
  oscillation: { title: 'oscillation', icon: 'pulse', endsRun: false },
  divergence: { title: 'divergence', icon: 'flame', endsRun: true },
};

export const HEALTH_ALERT_KINDS = Object.keys(HEALTH_ALERT_VIEWS) as HealthAlertKind[];

/** The view of a kind; a kind this build does not know (run.json of a newer trainer) is a plain alert named by its kind. */
export function alertView(kind: string): HealthAlertView {
  return Object.hasOwn(HEALTH_ALERT_VIEWS, kind) ? HEALTH_ALERT_VIEWS[kind as HealthAlertKind] : { title: kind, icon: 'warning', endsRun: false };
}

/**
 * What the runs list shows for a run: its status word, a codicon and a theme colour. A running run
 * with alerts is "alerting", with the newest alert's icon; a run that ended on a divergence says so.
 */
export function runStatusView(info: Pick<RunInfo, 'status' | 'alerts'>): { label: string; icon: string; color: string } {
  const alerts = info.alerts ?? [];
  const newest = alerts[alerts.length - 1];
  if (info.status === 'running' && newest) return { label: 'alerting', icon: alertView(newest.kind).icon, color: 'charts.orange' };
  switch (info.status) {
    case 'running':
      return { label: 'running', icon: 'sync~spin', color: 'charts.blue' };
    case 'completed':
      return { label: 'completed', icon: 'pass', color: 'testing.iconPassed' };
    case 'stopped':
      return { label: 'stopped', icon: 'debug-pause', color: 'charts.yellow' };
    case 'failed': {
      const ended = alerts.find((a) => alertView(a.kind).endsRun);
      return ended
        ? { label: `failed (${alertView(ended.kind).title})`, icon: alertView(ended.kind).icon, color: 'testing.iconFailed' }
        : { label: 'failed', icon: 'error', color: 'testing.iconFailed' };
    }
  }
}

/** One line for an alert (its message names what was seen): "step 1200: the game oscillates: …. Usually helps: …." */
export function alertLine(alert: { step: number; message: string; advice: string }): string {
  return `step ${alert.step}: ${alert.message}. Usually helps: ${alert.advice}.`;
}
