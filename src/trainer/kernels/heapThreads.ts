/**
 * Worker threads for the heap kernels: a persistent pool that runs the hand-assembled GEMM and
 * data-movement routines (heapGemm.ts, heapSimd.ts) on the tfjs WASM backend's heap from several
 * threads at once. tfjs-backend-wasm runs single-threaded under Node (its threaded build is
 * switched off there, tfjs issue #3830), so a training step used one core however many the
 * machine has; 72 % of the DCGAN step is one GEMM microkernel.
 *
 * How: the backend's heap is a shared WebAssembly.Memory (sharedHeap.ts loads the SIMD build so),
 * each worker instantiates the same compiled kernel modules importing that very memory, and a
 * kernel splits its work into lanes, one per thread. A lane's work is *planned* on the main thread
 * first: `run(work)` calls `work(lane)` for every lane with stand-ins for the routines that only
 * record the calls (function number and i32 arguments). Then each worker's plan goes into its
 * control block (a SharedArrayBuffer), Atomics.notify wakes it, the main thread runs its own plan,
 * and Atomics.wait waits for the others. So a worker never allocates, never reads a tensor and
 * never runs JS of a kernel; everything a plan touches was allocated before it started, and the
 * main thread allocates nothing while the workers run (a heap that grew would be no harm: a
 * shared memory grows in place).
 *
 * Lanes write disjoint parts of the output and each output element is summed by one lane in the
 * same order as on one thread (kernels split C by rows or columns, never the depth), so results
 * are bit for bit those of one thread.
 *
 * The pool has `threads - 1` workers (GAN_WORKBENCH_THREADS, else the machine's available
 * parallelism); they are unref'd, so they never keep a process alive, and a process that exits
 * ends them.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CONTROL, STRIDE, spinUntil } from './heapControl';
import type { WorkerData } from './heapControl';
import { heapGemm } from './heapGemm';
import type { HeapGemm } from './heapGemm';
import { heapSimd } from './heapSimd';
import type { HeapSimd } from './heapSimd';
import { isShared, moduleOf } from './wasmAssembler';

/** One thread's share of a kernel: the routines it calls (recorded, on any lane but a direct one). */
export interface Lane {
  /** 0 to lanes - 1; lane 0 runs on the main thread. */
  readonly index: number;
  readonly lanes: number;
  readonly gemm: HeapGemm;
  readonly simd: HeapSimd;
}

/** Calls a control block holds (2.6 MB of SharedArrayBuffer a worker); longer plans go in several batches. */
const CAPACITY = 1 << 16;
/** How long a thread polls for work (a worker) or for a worker to finish (the main thread) before it sleeps. */
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

type Call = (...args: number[]) => void;

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

/** A plan of calls: function number and 9 arguments each, in a growable buffer. */
class Plan {
  data = new Int32Array(STRIDE * 64);
  calls = 0;

  push(fn: number, args: number[]): void {
    if ((this.calls + 1) * STRIDE > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const at = this.calls++ * STRIDE;
    this.data[at] = fn;
    for (let i = 0; i < args.length; i++) this.data[at + 1 + i] = args[i];
    for (let i = args.length; i < STRIDE - 1; i++) this.data[at + 1 + i] = 0;
  }
}

interface WorkerSlot {
  worker: Worker;
  control: Int32Array;
  sequence: number;
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
  /** Lane 0 calling the routines directly. */
  private readonly direct: Lane;
  private readonly recorders: { lane: Lane; plan: Plan }[] = [];
  private active: number;
  private running = false;
  private splits = 0;

  private constructor(
    private readonly slots: WorkerSlot[],
    gemm: HeapGemm,
    simd: HeapSimd,
  ) {
    const modules = [gemm, simd];
    this.direct = { index: 0, lanes: 1, gemm, simd };
    for (const exports of modules) for (const name of Object.keys(exports)) this.functions.push((exports as unknown as Record<string, Call>)[name]);
    for (let index = 0; index <= slots.length; index++) {
      const plan = new Plan();
      let fn = 0;
      const [gemmRecorder, simdRecorder] = modules.map((exports) => {
        const recorder: Record<string, Call> = {};
        for (const name of Object.keys(exports)) {
          const number = fn++;
          recorder[name] = (...args: number[]) => plan.push(number, args);
        }
        return recorder;
      });
      const lane: Lane = {
        index,
        lanes: slots.length + 1,
        gemm: gemmRecorder as unknown as HeapGemm,
        simd: simdRecorder as unknown as HeapSimd,
      };
      this.recorders.push({ lane, plan });
    }
    this.active = slots.length + 1;
  }

  /**
   * Starts `threads - 1` workers on a shared heap, or returns null when that cannot be (one thread
   * asked for, a heap that is not shared, no SIMD routines, or a worker that failed to start).
   */
  static async start(memory: WebAssembly.Memory, threads: number): Promise<HeapThreads | null> {
    if (threads < 2 || !isShared(memory)) return null;
    const gemm = heapGemm(memory);
    const simd = heapSimd(memory);
    const modules = [gemm, simd].map((exports) => (exports ? moduleOf(exports) : undefined));
    if (!gemm || !simd || modules.some((m) => !m)) return null;
    const slots: WorkerSlot[] = [];
    try {
      const entry = workerEntry();
      for (let i = 1; i < threads; i++) {
        const control = new SharedArrayBuffer(4 * (CONTROL.header + STRIDE * CAPACITY));
        const data: WorkerData = { memory, modules: modules as WebAssembly.Module[], control, spinMs: SPIN_MS };
        const worker = new Worker(entry.file, { eval: entry.eval, workerData: data, name: `gan-workbench heap thread ${i}` });
        slots.push({ worker, control: new Int32Array(control), sequence: 0 });
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
        // Its loop catches whatever a call throws and reports it through the control block, so
        // nothing is expected here; a listener keeps an unexpected error from ending the process.
        worker.on('error', () => {});
        // Never keeps the process alive.
        worker.unref();
      }
    } catch {
      for (const slot of slots) void slot.worker.terminate();
      return null;
    }
    return new HeapThreads(slots, gemm, simd);
  }

  /** Threads in use: the main one and its workers. */
  get lanes(): number {
    return this.active;
  }

  /** How many runs went to more than one thread so far (tests check that kernels split). */
  get parallelRuns(): number {
    return this.splits;
  }

  /** Threads the pool has. */
  get size(): number {
    return this.slots.length + 1;
  }

  /** Threads a kernel of `flops` floating-point operations should use: all in use, or 1 for small work. */
  lanesFor(flops: number): number {
    return flops >= parallelFlops ? this.active : 1;
  }

  /** Uses only `threads` of the pool's threads (1: the main thread alone); tests compare the splits so. */
  setLanes(threads: number): void {
    this.active = Math.max(1, Math.min(this.size, Math.floor(threads)));
  }

  /**
   * Runs a kernel's lanes on the pool: `work` is called once per lane on this thread, and must
   * only call the lane's routines (whose calls are recorded, never run then) and compute
   * addresses; then all lanes run at once. With `lanes` = 1, work runs directly.
   */
  run(work: (lane: Lane) => void, lanes = this.active): void {
    if (this.running) throw new Error('HeapThreads.run: a plan may only record calls, not run another plan');
    const n = Math.max(1, Math.min(lanes, this.active));
    if (n === 1) {
      work(this.direct);
      return;
    }
    this.running = true;
    this.splits++;
    try {
      const used = this.recorders.slice(0, n);
      for (const { lane, plan } of used) {
        plan.calls = 0;
        work({ ...lane, lanes: n });
      }
      const offsets = used.map(() => 0);
      for (let w = 1; w < n; w++) offsets[w] = this.post(this.slots[w - 1], used[w].plan, 0);
      // Every worker is waited for, even after a failure: the caller frees what they work on.
      let failure: unknown = null;
      try {
        this.replay(used[0].plan);
      } catch (error) {
        failure = error;
      }
      for (let w = 1; w < n; w++) {
        const slot = this.slots[w - 1];
        const { plan } = used[w];
        try {
          this.wait(slot);
          while (failure === null && offsets[w] < plan.calls) {
            offsets[w] = this.post(slot, plan, offsets[w]);
            this.wait(slot);
          }
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== null) throw failure;
    } finally {
      this.running = false;
    }
  }

  private replay(plan: Plan): void {
    const { data } = plan;
    for (let i = 0, at = 0; i < plan.calls; i++, at += STRIDE) {
      this.functions[data[at]](data[at + 1], data[at + 2], data[at + 3], data[at + 4], data[at + 5], data[at + 6], data[at + 7], data[at + 8], data[at + 9]);
    }
  }

  /** Hands calls [from, from + CAPACITY) of a plan to a worker; returns where the next batch starts. */
  private post(slot: WorkerSlot, plan: Plan, from: number): number {
    const to = Math.min(plan.calls, from + CAPACITY);
    slot.control.set(plan.data.subarray(from * STRIDE, to * STRIDE), CONTROL.header);
    slot.control[CONTROL.count] = to - from;
    slot.sequence = (slot.sequence + 1) | 0;
    Atomics.store(slot.control, CONTROL.sequence, slot.sequence);
    Atomics.notify(slot.control, CONTROL.sequence);
    return to;
  }

  private wait(slot: WorkerSlot): void {
    const { control, sequence } = slot;
    if (!spinUntil(() => Atomics.load(control, CONTROL.done) === sequence, SPIN_MS)) {
      for (let done = Atomics.load(control, CONTROL.done); done !== sequence; done = Atomics.load(control, CONTROL.done)) {
        Atomics.wait(control, CONTROL.done, done);
      }
    }
    if (control[CONTROL.failed]) {
      control[CONTROL.failed] = 0;
      const text = String.fromCharCode(...control.subarray(CONTROL.message, CONTROL.message + control[CONTROL.messageLength]));
      throw new Error(`heap worker thread failed: ${text}`);
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
