/**
 * The control block a heapThreads.ts worker shares with the main thread (an Int32Array over a
 * SharedArrayBuffer), and what the worker is started with. Kept apart from heapThreads.ts so the
 * worker's bundle holds nothing else.
 */

/** Int32 slots of a control block's header; the calls follow it, STRIDE slots each. */
export const CONTROL = {
  /** Bumped by the main thread for each batch of calls (Atomics.notify wakes the worker). */
  sequence: 0,
  /** The last sequence the worker finished (Atomics.notify wakes the main thread). */
  done: 1,
  /** Calls in this batch. */
  count: 2,
  /** 1 when a call threw; the message's length and UTF-16 code units follow. */
  failed: 3,
  messageLength: 4,
  message: 5,
  messageCapacity: 123,
  header: 128,
} as const;

/** A call: the function's number (its place among the modules' exports, in order), then up to 9 i32 arguments. */
export const STRIDE = 10;

export interface WorkerData {
  memory: WebAssembly.Memory;
  /** Compiled kernel modules, each instantiated on `memory`. */
  modules: WebAssembly.Module[];
  control: SharedArrayBuffer;
  /** How long a thread polls before it sleeps in Atomics.wait. */
  spinMs: number;
}

/** Polls `ready` for up to `ms` milliseconds; whether it came true. */
export function spinUntil(ready: () => boolean, ms: number): boolean {
  if (ready()) return true;
  if (ms <= 0) return false;
  const until = performance.now() + ms;
  for (;;) {
    for (let i = 0; i < 64; i++) if (ready()) return true;
    if (performance.now() > until) return ready();
  }
}
