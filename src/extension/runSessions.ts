/** The trainer sessions this window started, by run directory. */
import * as vscode from 'vscode';
import type { TrainerSession } from './trainerSession';

export class RunSessions implements vscode.Disposable {
  private readonly sessions = new Map<string, TrainerSession>();
  private readonly changeEmitter = new vscode.EventEmitter<TrainerSession>();
  /** A session started, logged progress or ended. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  add(runDir: string, session: TrainerSession): void {
    this.sessions.get(runDir)?.dispose();
    this.sessions.set(runDir, session);
    this.subscriptions.push(
      session.onDidLogMetrics(() => this.changeEmitter.fire(session)),
      session.onDidEnd(() => this.changeEmitter.fire(session)),
    );
    this.changeEmitter.fire(session);
  }

  get(runDir: string): TrainerSession | undefined {
    return this.sessions.get(runDir);
  }

  running(): { runDir: string; session: TrainerSession }[] {
    return [...this.sessions.entries()].filter(([, s]) => s.status === 'running').map(([runDir, session]) => ({ runDir, session }));
  }

  /** The most recently started session that still runs, else the most recent one. */
  active(): { runDir: string; session: TrainerSession } | undefined {
    const all = [...this.sessions.entries()].map(([runDir, session]) => ({ runDir, session }));
    return all.reverse().find((s) => s.session.status === 'running') ?? all[0];
  }

  dispose(): void {
    for (const session of this.sessions.values()) session.dispose();
    this.sessions.clear();
    vscode.Disposable.from(this.changeEmitter, ...this.subscriptions).dispose();
  }
}
