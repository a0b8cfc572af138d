/**
 * Tells the user of a health alert once per run and kind, however many ways it arrives (the
 * trainer of this window, or run.json of a run written elsewhere), and never as a stream.
 */
import * as vscode from 'vscode';
import { alertLine, alertView } from '../protocol/healthAlerts';
import type { HealthAlert } from '../protocol/runDirectory';
import { notifyRunEnded } from './settings';

export class AlertNotifier {
  private readonly told = new Set<string>();

  /** Each kind once per run; a kind that ends the run (divergence) once per step it ended at (a resumed run may diverge again). */
  private static key(runDir: string, alert: HealthAlert): string {
    return `${runDir}\n${alert.kind}${alertView(alert.kind).endsRun ? `\n${alert.step}` : ''}`;
  }

  /** Marks alerts as already known (runs listed when the window opened are not news). */
  know(runDir: string, alerts: readonly HealthAlert[]): void {
    for (const alert of alerts) this.told.add(AlertNotifier.key(runDir, alert));
  }

  /**
   * Whether the user was told (or knew) of an alert that ended this run at or after `step` (the run's
   * last step), so its failure needs no second toast.
   */
  toldRunEnding(runDir: string, step: number): boolean {
    return [...this.told].some((key) => {
      const [dir, kind, at] = key.split('\n');
      return dir === runDir && alertView(kind).endsRun !== null && Number(at) >= step;
    });
  }

  notify(runDir: string, runName: string, alert: HealthAlert): void {
    const key = AlertNotifier.key(runDir, alert);
    if (this.told.has(key)) return;
    this.told.add(key);
    if (!notifyRunEnded()) return;
    const view = alertView(alert.kind);
    const text = `GAN Workbench: ${runName}, ${alertLine(alert)}`;
    // A divergence ended the run: an error, as the run's failure would have been.
    const shown = view.endsRun ? vscode.window.showErrorMessage(text, 'Open Monitor') : vscode.window.showWarningMessage(text, 'Open Monitor');
    void shown.then((choice) => {
      if (choice === 'Open Monitor') void vscode.commands.executeCommand('ganWorkbench.openMonitor', runDir);
    });
  }
}
