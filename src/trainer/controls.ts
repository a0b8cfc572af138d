/**
 * Step mode and live changes, between the trainer's loop and whoever drives it (the extension,
 * through `run/control`): pause after the current step, single D or G updates while paused,
 * resume, and new base learning rates or k from the next step. The loop asks `next()` between
 * steps; a request only queues work and wakes the loop, so an update never runs inside an RPC handler.
 */
import type { LiveHyperparameters } from '../protocol/runDirectory';
import { isControlAction, liveValueProblem } from '../protocol/monitorMessages';
import type { ControlAction } from '../protocol/trainerRpc';

export type Player = 'discriminator' | 'generator';

/** What the loop does next: train a step, make one update of one player (paused), or stop. */
export type NextWork = { kind: 'step' } | { kind: 'single'; player: Player } | { kind: 'changed' } | { kind: 'stop' };

export class ControlError extends Error {}

export class TrainingControls {
  /** A pause was asked for… */
  private paused = false;
  /** …and the loop has reached it (the step in progress when it was asked for is finished). */
  private halted = false;
  private readonly singles: Player[] = [];
  private changes: LiveHyperparameters = {};
  private wake: (() => void) | null = null;
  /** Told after every change, with nothing: the owner reads `isPaused` and its own state. */
  onChange: () => void = () => undefined;

  /** The loop waits between steps (a pause asked for during a step holds once that step is done). */
  get isPaused(): boolean {
    return this.paused && this.halted;
  }

  /** Carries out an action from a request; throws ControlError for one that cannot be done. */
  apply(action: ControlAction): void {
    // The request is checked here too: the trainer does not rely on its caller.
    if (!isControlAction(action)) {
      const values = action && typeof action === 'object' && (action as { action?: unknown }).action === 'set' ? Object.entries(action) : [];
      const live = ['generatorLearningRate', 'discriminatorLearningRate', 'dStepsPerGStep'];
      const problem = values
        .filter(([field]) => field !== 'action')
        .map(([field, value]) =>
          live.includes(field)
            ? liveValueProblem(field as keyof LiveHyperparameters, value)
            : `${field} cannot be changed while the run goes (the learning rates and k can)`,
        )
        .find(Boolean);
      throw new ControlError(problem ?? `not a control action: ${JSON.stringify(action)}`);
    }
    switch (action.action) {
      case 'pause':
        this.paused = true;
        break;
      case 'resume':
        this.paused = false;
        this.singles.length = 0;
        break;
      case 'step':
        if (!this.paused) throw new ControlError('single updates need a paused run: pause it first');
        // One at a time: a user clicking fast queues a few, not hundreds.
        if (this.singles.length >= 10) throw new ControlError('ten single updates are already waiting');
        this.singles.push(action.player);
        break;
      case 'set': {
        const { action: _, ...values } = action;
        for (const [field, value] of Object.entries(values)) {
          const problem = liveValueProblem(field as keyof LiveHyperparameters, value);
          if (problem) throw new ControlError(problem);
        }
        this.changes = { ...this.changes, ...values };
        break;
      }
    }
    this.wake?.();
    this.onChange();
  }

  /** Changes asked for since the last call (applied by the loop before its next update). */
  takeChanges(): LiveHyperparameters | null {
    if (Object.keys(this.changes).length === 0) return null;
    const changes = this.changes;
    this.changes = {};
    return changes;
  }

  /** Waits, while paused, for a single update, a change, a resume or an abort; `onHalt` runs once the loop holds. */
  async next(signal: AbortSignal | undefined, onHalt: () => Promise<void> = async () => undefined): Promise<NextWork> {
    for (;;) {
      if (signal?.aborted) return { kind: 'stop' };
      if (this.paused && !this.halted) {
        this.halted = true;
        await onHalt();
        this.onChange();
        continue;
      }
      if (!this.paused) this.halted = false;
      // (Changes made while paused are applied, and told, at once.)
      if (this.paused && Object.keys(this.changes).length > 0) return { kind: 'changed' };
      const single = this.singles.shift();
      if (single) return { kind: 'single', player: single };
      if (!this.paused) return { kind: 'step' };
      await new Promise<void>((resolve) => {
        const done = () => {
          this.wake = null;
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}
