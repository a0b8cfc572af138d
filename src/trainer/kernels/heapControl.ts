/**
 * The control block the heapThreads.ts pool shares between the main thread and its workers (an
 * Int32Array over a SharedArrayBuffer), the task queue on it, and what a worker is started with.
 * Kept apart from heapThreads.ts so the worker's bundle holds nothing else.
 *
 * A run is a list of tasks, each a list of calls (function number and i32 arguments) that writes
 * its own part of the output with its own scratch. Threads take tasks from a shared cursor, the
 * main thread among them, so a worker that wakes late (or gets no core: the machine is shared)
 * leaves its tasks to the others instead of holding the run up; which thread runs a task never
 * changes what it computes.
 */

/** Int32 slots of the control block. */
export const CONTROL = {
  /** count << 16 | next: the run's task count and the next task to take (compare-and-swap). */
  cursor: 0,
  /** Tasks of the run finished (Atomics.notify wakes the main thread when all are). */
  done: 1,
  /** 1 once a task threw: the tasks taken after it are skipped; the message's length and UTF-16 code units follow. */
  failed: 2,
  messageLength: 3,
  message: 4,
  messageCapacity: 120,
  /** One wake-up sequence per worker, bumped with Atomics.notify when a run starts. */
  wake: 128,
  maxWorkers: 64,
  /** [first call, end call) per task. */
  tasks: 256,
  maxTasks: 4096,
  /** The calls, STRIDE slots each. */
  calls: 256 + 2 * 4096,
} as const;

/** A call: the function's number (its place among the modules' exports, in order), then up to 9 i32 arguments. */
export const STRIDE = 10;

/** Calls a control block holds (2.6 MB of SharedArrayBuffer); a longer run goes on the main thread alone. */
export const CAPACITY = 1 << 16;

export const CONTROL_BYTES = 4 * (CONTROL.calls + STRIDE * CAPACITY);

export type Call = (...args: number[]) => void;

export interface WorkerData {
  memory: WebAssembly.Memory;
  /** Compiled kernel modules, each instantiated on `memory`. */
  modules: WebAssembly.Module[];
  control: SharedArrayBuffer;
  /** This worker's wake-up slot: CONTROL.wake + index. */
  index: number;
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

/** Takes the next task of the run, or returns -1 when none is left. */
export function takeTask(control: Int32Array): number {
  for (;;) {
    const cursor = Atomics.load(control, CONTROL.cursor);
    const next = cursor & 0xffff;
    if (next >= cursor >>> 16) return -1;
    // Whoever swaps the cursor the cursor still holds has that task of the run it belongs to.
    if (Atomics.compareExchange(control, CONTROL.cursor, cursor, cursor + 1) === cursor) return next;
  }
}

/**
 * Takes and runs tasks until none is left; returns how many it took. A task that throws marks the
 * run failed with its message (`prefix` first); the tasks taken after that are skipped. Every task
 * taken counts as done.
 */
export function runTasks(control: Int32Array, functions: Call[], prefix: string): number {
  let taken = 0;
  for (let task = takeTask(control); task >= 0; task = takeTask(control), taken++) {
    try {
      if (!Atomics.load(control, CONTROL.failed)) {
        const [first, end] = [control[CONTROL.tasks + 2 * task], control[CONTROL.tasks + 2 * task + 1]];
        for (let at = CONTROL.calls + first * STRIDE; at < CONTROL.calls + end * STRIDE; at += STRIDE) {
          functions[control[at]](
            control[at + 1],
            control[at + 2],
            control[at + 3],
            control[at + 4],
            control[at + 5],
            control[at + 6],
            control[at + 7],
            control[at + 8],
            control[at + 9],
          );
        }
      }
    } catch (error) {
      if (Atomics.compareExchange(control, CONTROL.failed, 0, 1) === 0) {
        const message = (prefix + (error instanceof Error ? error.message : String(error))).slice(0, CONTROL.messageCapacity);
        for (let i = 0; i < message.length; i++) control[CONTROL.message + i] = message.charCodeAt(i);
        control[CONTROL.messageLength] = message.length;
      }
    } finally {
      if (Atomics.add(control, CONTROL.done, 1) + 1 === control[CONTROL.cursor] >>> 16) Atomics.notify(control, CONTROL.done);
    }
  }
  return taken;
}
