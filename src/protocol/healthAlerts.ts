/**
 * The health alert kinds (HealthAlert in runDirectory.ts) in one table that every view of an alert
 * follows: the runs list's icon and tooltip, the notification, the monitor's list and the CLI line.
 * A new kind is one row here (and its rule in src/trainer/health.ts).
 */
import type { HealthAlertKind, RunInfo } from './runDirectory';

export interface HealthAlertView {
  /** A few words naming what was seen (the messages say it in a sentence): the runs list's label of a run that ended on it, the monitor's button. */
  title: string;
  /**
   * A kind the run ends on (the trainer stops; the alert says what to change before resuming or
   * forking): the codicon the runs list shows for the failed run. The other kinds leave a running run
   * "alerting" with the warning icon, whichever kind it is (the tooltip lists them).
   */
  endsRun: { icon: string } | null;
}

export const HEALTH_ALERT_VIEWS: Record<HealthAlertKind, HealthAlertView> = {
  'discriminator-wins': { title: 'discriminator wins', endsRun: null },
  'saturating-generator': { title: 'generator cost saturates', endsRun: null },
  'mode-collapse': { title: 'mode collapse', endsRun: null },
  oscillation: { title: 'oscillation', endsRun: null },
  divergence: { title: 'divergence', endsRun: { icon: 'flame' } },
};

export const HEALTH_ALERT_KINDS = Object.keys(HEALTH_ALERT_VIEWS) as HealthAlertKind[];

/** The view of a kind; a kind this build does not know (run.json of a newer trainer) is a plain alert named by its kind. */
export function alertView(kind: string): HealthAlertView {
  return Object.hasOwn(HEALTH_ALERT_VIEWS, kind) ? HEALTH_ALERT_VIEWS[kind as HealthAlertKind] : { title: kind, endsRun: null };
}

/**
 * What the runs list shows for a run: its status word, a codicon and a theme colour. A running run
 * with alerts is "alerting" (the warning icon); a run that ended on a divergence says so.
 */
export function runStatusView(info: Pick<RunInfo, 'status' | 'alerts' | 'paused'>): { label: string; icon: string; color: string } {
  const alerts = info.alerts ?? [];
  // Paused in the laboratory's step mode: the trainer waits for a single update or a resume.
  if (info.status === 'running' && info.paused) return { label: 'paused', icon: 'debug-pause', color: 'charts.blue' };
  if (info.status === 'running' && alerts.length > 0) return { label: 'alerting', icon: 'warning', color: 'charts.orange' };
  switch (info.status) {
    case 'running':
      return { label: 'running', icon: 'sync~spin', color: 'charts.blue' };
    case 'completed':
      return { label: 'completed', icon: 'pass', color: 'testing.iconPassed' };
    case 'stopped':
      return { label: 'stopped', icon: 'debug-pause', color: 'charts.yellow' };
    case 'failed': {
      const ended = alerts.find((a) => alertView(a.kind).endsRun);
      const view = ended && alertView(ended.kind);
      return view?.endsRun
        ? { label: `failed (${view.title})`, icon: view.endsRun.icon, color: 'testing.iconFailed' }
        : { label: 'failed', icon: 'error', color: 'testing.iconFailed' };
    }
  }
}

/** One line for an alert (its message names what was seen): "step 1200: the game oscillates: …. Usually helps: …." */
export function alertLine(alert: { step: number; message: string; advice: string }): string {
  return `step ${alert.step}: ${alert.message}. Usually helps: ${alert.advice}.`;
}
