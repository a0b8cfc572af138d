/**
 * Worker threads for the heap kernels: a persistent pool that runs the hand-assembled GEMM and
 * data-movement routines (heapGemm.ts, heapSimd.ts) on the tfjs WASM backend's heap from several
 * threads at once. tfjs-backend-wasm runs single-threaded under Node (its threaded build is
 * switched off there, tfjs issue #3830), so a training step used one core however many the
 * machine has; 72 % of the DCGAN step is one GEMM microkernel.
 *
 * How: the backend's heap is a shared WebAssembly.Memory (sharedHeap.ts loads the SIMD build so),
 * each worker instantiates the same compiled kernel modules importing that very memory, and a
 * kernel splits its work into tasks, each writing its own part of the output with its own scratch.
 * The tasks are *planned* on the main thread first: `run(work, tasks)` calls `work(lane)` for
 * every task with stand-ins for the routines that only record the calls (function number and i32
 * arguments). The plan goes into the pool's control block (a SharedArrayBuffer), Atomics.notify
 * wakes the workers, and every thread, the main one included, takes tasks from a shared cursor
 * until none is left (heapControl.ts); the main thread then waits in Atomics.wait for the last to
 * finish. A few tasks per thread let a thread that started late, or lost its core to other work
 * on the machine, leave its share to the others instead of holding up the run. A worker never
 * allocates, never reads a tensor and never runs JS of a kernel; everything a plan touches was
 * allocated before it started, and the main thread allocates nothing while the workers run (a heap
 * that grew would be no harm: a shared memory grows in place).
 *
 * Tasks write disjoint parts of the output and each output element is summed by one task in the
 * same order as on one thread (kernels split C by rows or columns, never the depth), so results
 * are bit for bit those of one thread, whichever thread ran which task.
 *
 * The pool has `threads - 1` workers (GAN_WORKBENCH_THREADS, else the machine's available
 * parallelism); they are unref'd, so they never keep a process alive, and a process that exits
 * ends them.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CAPACITY, CONTROL, CONTROL_BYTES, STRIDE, runTasks, spinUntil } from './heapControl';
import type { Call, WorkerData } from './heapControl';
import { heapGemm } from './heapGemm';
import type { HeapGemm } from './heapGemm';
import { heapSimd } from './heapSimd';
import type { HeapSimd } from './heapSimd';
import { isShared, moduleOf } from './wasmAssembler';

/** One task of a kernel: its number and the routines it calls (recorded for the pool, or the routines themselves). */
export interface Lane {
  /** 0 to lanes - 1. */
  readonly index: number;
  /** Tasks in the run. */
  readonly lanes: number;
  readonly gemm: HeapGemm;
  readonly simd: HeapSimd;
}

/** How long a thread polls for work (a worker) or for the last task to finish (the main thread) before it sleeps. */
const SPIN_MS = 0.05;
/** At most this many threads (splits finer than this have too little work each at our sizes). */
const MAX_THREADS = 16;
/**
 * Kernels split work from this many flops on (about 25 µs of one thread's work, several times
 * what handing it over costs).
 */
let parallelFlops = 1 << 20;

/** Sets the work from which kernels split across threads (tests split tiny products with 0); returns the old value. */
export function setParallelFlops(flops: number): number {
  const previous = parallelFlops;
  parallelFlops = flops;
  return previous;
}

/**
 * Threads to use: GAN_WORKBENCH_THREADS (1 = one thread, the heap not shared), else the machine's
 * available parallelism, at most MAX_THREADS.
 */
export function configuredThreads(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.GAN_WORKBENCH_THREADS);
  if (env.GAN_WORKBENCH_THREADS && Number.isInteger(asked) && asked >= 1) return Math.min(asked, MAX_THREADS);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(cores, MAX_THREADS));
}

/** A run's calls, STRIDE numbers each, and where each task's start, in growable buffers. */
class Plan {
  calls = new Int32Array(STRIDE * 256);
  count = 0;
  starts: number[] = [];

  push(fn: number, args: number[]): void {
    if ((this.count + 1) * STRIDE > this.calls.length) {
      const grown = new Int32Array(this.calls.length * 2);
      grown.set(this.calls);
      this.calls = grown;
    }
    const at = this.count++ * STRIDE;
    this.calls[at] = fn;
    for (let i = 0; i < args.length; i++) this.calls[at + 1 + i] = args[i];
    for (let i = args.length; i < STRIDE - 1; i++) this.calls[at + 1 + i] = 0;
  }
}

/**
 * Where the worker's code is: beside the bundle (dist/heapWorker.js), else the TypeScript source,
 * loaded through tsx's require hook (a worker does not inherit the parent's --import tsx).
 */
function workerEntry(): { file: string; eval: boolean } {
  const bundled = path.join(__dirname, 'heapWorker.js');
  if (existsSync(bundled)) return { file: bundled, eval: false };
  // (Computed names, so esbuild does not try to bundle them.)
  const tsx = require.resolve(['tsx', 'cjs', 'api'].join('/'));
  const source = path.join(__dirname, 'heapWorker.ts');
  return { file: `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(source)});`, eval: true };
}

export class HeapThreads {
  /** The exported functions of every module, numbered in order (the same numbering in the workers). */
  private readonly functions: Call[] = [];
  private readonly gemm: HeapGemm;
  private readonly simd: HeapSimd;
  private readonly plan = new Plan();
  /** The routines as stand-ins that record into `plan`. */
  private readonly recording: { gemm: HeapGemm; simd: HeapSimd };
  private readonly control: Int32Array;
  private active: number;
  private running = false;
  private splits = 0;
  private byWorkers = 0;

  private constructor(
    private readonly workers: Worker[],
    control: SharedArrayBuffer,
    gemm: HeapGemm,
    simd: HeapSimd,
  ) {
    this.control = new Int32Array(control);
    this.gemm = gemm;
    this.simd = simd;
    const recorders = [gemm, simd].map((exports) => {
      const recorder: Record<string, Call> = {};
      for (const name of Object.keys(exports)) {
        const number = this.functions.length;
        this.functions.push((exports as unknown as Record<string, Call>)[name]);
        recorder[name] = (...args: number[]) => this.plan.push(number, args);
      }
      return recorder;
    });
    this.recording = { gemm: recorders[0] as unknown as HeapGemm, simd: recorders[1] as unknown as HeapSimd };
    this.active = workers.length + 1;
  }

  /**
   * Starts `threads - 1` workers on a shared heap, or returns null when that cannot be (one thread
   * asked for, a heap that is not shared, no SIMD routines, or a worker that could not start).
   */
  static async start(memory: WebAssembly.Memory, threads: number): Promise<HeapThreads | null> {
    if (threads < 2 || !isShared(memory)) return null;
    const gemm = heapGemm(memory);
    const simd = heapSimd(memory);
    const modules = [gemm, simd].map((exports) => (exports ? moduleOf(exports) : undefined));
    if (!gemm || !simd || modules.some((m) => !m)) return null;
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const workers: Worker[] = [];
    try {
      const entry = workerEntry();
      for (let index = 0; index < Math.min(threads - 1, CONTROL.maxWorkers); index++) {
        const data: WorkerData = { memory, modules: modules as WebAssembly.Module[], control, index, spinMs: SPIN_MS };
        const worker = new Worker(entry.file, { eval: entry.eval, workerData: data, name: `gan-workbench heap thread ${index + 1}` });
        workers.push(worker);
        await new Promise<void>((resolve, reject) => {
          const started = () => {
            worker.off('error', reject);
            worker.off('exit', exited);
            resolve();
          };
          const exited = (code: number) => reject(new Error(`heap worker exited with code ${code} while starting`));
          worker.once('message', started);
          worker.once('error', reject);
          worker.once('exit', exited);
        });
        // Its loop catches whatever a task throws and reports it through the control block, so
        // nothing is expected here; a listener keeps an unexpected error from ending the process.
        worker.on('error', () => {});
        // Never keeps the process alive.
        worker.unref();
      }
    } catch {
      for (const worker of workers) void worker.terminate();
      return null;
    }
    return new HeapThreads(workers, control, gemm, simd);
  }

  /** Threads in use: the main one and its workers. */
  get lanes(): number {
    return this.active;
  }

  /** How many runs went to more than one thread so far (tests check that kernels split). */
  get parallelRuns(): number {
    return this.splits;
  }

  /** How many tasks the workers (not the main thread) ran so far (tests check that they do). */
  get workerTasks(): number {
    return this.byWorkers;
  }

  /** Threads the pool has. */
  get size(): number {
    return this.workers.length + 1;
  }

  /** Threads a kernel of `flops` floating-point operations should use: all in use, or 1 for small work. */
  lanesFor(flops: number): number {
    return flops >= parallelFlops ? this.active : 1;
  }

  /**
   * Tasks to split a kernel of `flops` into, at most `units` (its independent parts) and
   * `perThread` a thread in use: 1 for small work or one thread. More tasks than threads let the
   * threads even out; a task's fixed cost (its own packing of shared operands) sets `perThread`.
   */
  tasksFor(flops: number, units: number, perThread = 4): number {
    const threads = this.lanesFor(flops);
    return threads === 1 ? 1 : Math.max(1, Math.min(units, threads * perThread, CONTROL.maxTasks));
  }

  /** Uses only `threads` of the pool's threads (1: the main thread alone); tests compare the splits so. */
  setLanes(threads: number): void {
    this.active = Math.max(1, Math.min(this.size, Math.floor(threads)));
  }

  /**
   * Runs a kernel's `tasks` tasks: `work` is called once per task on this thread, and must only
   * call the lane's routines (whose calls are recorded, never run then) and compute addresses;
   * then the threads in use run the tasks, each taking the next one left. With one task, or one
   * thread in use, or a plan too long for the control block, the tasks run here one by one.
   */
  run(work: (lane: Lane) => void, tasks: number): void {
    if (this.running) throw new Error('HeapThreads.run: a plan may only record calls, not run another plan');
    const direct = () => {
      for (let index = 0; index < tasks; index++) work({ index, lanes: tasks, gemm: this.gemm, simd: this.simd });
    };
    if (tasks <= 1 || this.active === 1 || tasks > CONTROL.maxTasks) {
      direct();
      return;
    }
    this.running = true;
    try {
      const { plan, control } = this;
      plan.count = 0;
      plan.starts.length = 0;
      for (let index = 0; index < tasks; index++) {
        plan.starts.push(plan.count);
        work({ index, lanes: tasks, ...this.recording });
      }
      if (plan.count > CAPACITY) {
        this.running = false;
        direct();
        return;
      }
      this.splits++;
      // The previous run's cursor is spent (no task can be taken) until the new one is stored.
      control.set(plan.calls.subarray(0, plan.count * STRIDE), CONTROL.calls);
      for (let index = 0; index < tasks; index++) {
        control[CONTROL.tasks + 2 * index] = plan.starts[index];
        control[CONTROL.tasks + 2 * index + 1] = index + 1 < tasks ? plan.starts[index + 1] : plan.count;
      }
      control[CONTROL.failed] = 0;
      control[CONTROL.messageLength] = 0;
      Atomics.store(control, CONTROL.done, 0);
      Atomics.store(control, CONTROL.cursor, tasks << 16);
      for (let w = 0; w < Math.min(this.active - 1, tasks - 1); w++) {
        Atomics.add(control, CONTROL.wake + w, 1);
        Atomics.notify(control, CONTROL.wake + w);
      }
      const ownTasks = runTasks(control, this.functions, '');
      // Every task is waited for, even after a failure: the caller frees what they work on.
      if (!spinUntil(() => Atomics.load(control, CONTROL.done) === tasks, SPIN_MS)) {
        for (let done = Atomics.load(control, CONTROL.done); done !== tasks; done = Atomics.load(control, CONTROL.done)) {
          Atomics.wait(control, CONTROL.done, done);
        }
      }
      this.byWorkers += tasks - ownTasks;
      if (control[CONTROL.failed]) {
        const text = String.fromCharCode(...control.subarray(CONTROL.message, CONTROL.message + control[CONTROL.messageLength]));
        throw new Error(`heap kernel failed: ${text}`);
      }
    } finally {
      this.running = false;
    }
  }
}

const pools = new WeakMap<WebAssembly.Memory, HeapThreads>();

/** Starts the pool for a heap (once); null when it runs on one thread. */
export async function startHeapThreads(memory: WebAssembly.Memory, threads = configuredThreads()): Promise<HeapThreads | null> {
  const existing = pools.get(memory);
  if (existing) return existing;
  const pool = await HeapThreads.start(memory, threads);
  if (pool) pools.set(memory, pool);
  return pool;
}

/** The pool of a heap, if one was started. */
export function heapThreads(memory: WebAssembly.Memory | undefined): HeapThreads | null {
  return (memory && pools.get(memory)) ?? null;
}
