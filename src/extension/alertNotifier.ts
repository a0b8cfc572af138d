/**
 * Tells the user of a health alert once per run and kind, however many ways it arrives (the
 * trainer of this window, or run.json of a run written elsewhere), and never as a stream.
 */
import * as vscode from 'vscode';
import type { HealthAlert } from '../protocol/runDirectory';
import { notifyRunEnded } from './settings';

export class AlertNotifier {
  private readonly told = new Set<string>();

  /** Marks alerts as already known (runs listed when the window opened are not news). */
  know(runDir: string, alerts: readonly HealthAlert[]): void {
    for (const alert of alerts) this.told.add(`${runDir}\n${alert.kind}`);
  }

  notify(runDir: string, runName: string, alert: HealthAlert): void {
    const key = `${runDir}\n${alert.kind}`;
    if (this.told.has(key)) return;
    this.told.add(key);
    if (!notifyRunEnded()) return;
    void vscode.window
      .showWarningMessage(`GAN Workbench: ${runName}, step ${alert.step}: ${alert.message}. Usually helps: ${alert.advice}.`, 'Open Monitor')
      .then((choice) => {
        if (choice === 'Open Monitor') void vscode.commands.executeCommand('ganWorkbench.openMonitor', runDir);
      });
  }
}
