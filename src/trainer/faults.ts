/**
 * Fault injection for the reliability tests: the environment variable GAN_WORKBENCH_FAULTS holds
 * a JSON object naming the faults to cause. Unset (always, outside tests), every check is a no-op.
 *
 *   nanAtStep: N          the losses of step N become NaN (divergence)
 *   nanAfterStep: N       G's weights become NaN after step N, whose losses were finite (a diverging update)
 *   throwAtStep: N        step N throws inside the step (after its tensors were made)
 *   crashAfterSteps: N    the process exits with code 70 after N steps of this process
 *   killInCheckpoint: N   SIGKILL itself while writing the checkpoint of step N (weights written, no manifest)
 *   failWrite: { target: 'append' | 'rename' | 'checkpoint', code: 'ENOSPC' | 'EPERM' | …, atStep: N }
 *                         the named write fails with that error code from step N on
 *   ignoreStop: true      stop requests are ignored (a hung trainer)
 */
export interface Faults {
  nanAtStep?: number;
  nanAfterStep?: number;
  throwAtStep?: number;
  crashAfterSteps?: number;
  killInCheckpoint?: number;
  failWrite?: { target: 'append' | 'rename' | 'checkpoint'; code: string; atStep: number };
  ignoreStop?: boolean;
}

let cached: Faults | undefined;

export function faults(): Faults {
  if (cached === undefined) {
    const text = process.env.GAN_WORKBENCH_FAULTS;
    try {
      cached = text ? (JSON.parse(text) as Faults) : {};
    } catch {
      cached = {};
    }
  }
  return cached;
}

/** Throws the injected write error for `target` at or after `step`, if one is configured. */
export function injectWriteFault(target: 'append' | 'rename' | 'checkpoint', step: number, file: string): void {
  const fault = faults().failWrite;
  if (fault && fault.target === target && step >= fault.atStep) {
    const error = new Error(`${fault.code}: injected failure, ${target} ${file}`) as NodeJS.ErrnoException;
    error.code = fault.code;
    throw error;
  }
}
