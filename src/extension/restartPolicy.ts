/**
 * When to restart a crashed trainer, as vscode-languageclient decides for language servers:
 * restart at most 4 times, and give up at the 5th crash when the last 5 happened within 3 minutes.
 */
export const MAX_RESTARTS = 4;
export const CRASH_WINDOW_MS = 3 * 60 * 1000;

export class RestartPolicy {
  private readonly restarts: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a crash; says whether to restart or give up. */
  onCrash(): 'restart' | 'give-up' {
    this.restarts.push(this.now());
    if (this.restarts.length <= MAX_RESTARTS) return 'restart';
    const span = this.restarts[this.restarts.length - 1] - this.restarts[0];
    if (span <= CRASH_WINDOW_MS) return 'give-up';
    this.restarts.shift();
    return 'restart';
  }
}
