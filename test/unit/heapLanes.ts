/**
 * For the WASM kernel tests: the backend loaded with its heap shared by a pool of worker threads
 * (src/trainer/kernels/heapThreads.ts), kernels splitting even the tiny products of a property
 * test, and a check that the same computation on 1, 2, … threads gives the same bits.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/trainer/backend';
import type { WasmHeap } from '../../src/trainer/kernels/heapMover';
import { heapThreads, setParallelFlops } from '../../src/trainer/kernels/heapThreads';
import type { HeapThreads } from '../../src/trainer/kernels/heapThreads';

/** The WASM backend with `threads` threads (GAN_WORKBENCH_THREADS), splitting work of any size. */
export async function loadThreadedWasm(threads = 2): Promise<HeapThreads> {
  process.env.GAN_WORKBENCH_THREADS = String(threads);
  await selectBackend('wasm');
  const memory = (tf.engine().findBackend('wasm') as unknown as { wasm: WasmHeap }).wasm.asm?.memory;
  const pool = heapThreads(memory);
  assert.ok(pool, 'no heap thread pool: the WASM heap is not shared');
  assert.equal(pool.size, threads);
  setParallelFlops(0);
  return pool;
}

/** Runs `f` and checks that some kernel in it split its work across threads. */
export function assertSplits<T>(pool: HeapThreads, f: () => T, what: string): T {
  const before = pool.parallelRuns;
  const result = f();
  assert.ok(pool.parallelRuns > before, `${what}: no kernel split its work across threads`);
  return result;
}

/** a and b hold the same bits (NaNs included), else the first place they differ. */
export function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what} [${i}]: ${a[i]} on one thread, ${b[i]} split across threads`);
}

/**
 * Runs `f` with the kernels on each thread count of `counts` (the first is the reference) and
 * checks every run gives the first's bits exactly: the kernels split outputs by rows, columns,
 * batch items or filter taps and never a sum, so no result may change. Returns the first run's.
 */
export function onThreadCounts(pool: HeapThreads, counts: number[], f: () => Float32Array[], what: string): Float32Array[] {
  const previous = pool.lanes;
  try {
    const runs = counts.map((n) => {
      pool.setLanes(n);
      const splitBefore = pool.parallelRuns;
      const values = f();
      if (n === 1) assert.equal(pool.parallelRuns, splitBefore, `${what}: a kernel split work on one thread`);
      return values;
    });
    for (let r = 1; r < runs.length; r++) {
      assert.equal(runs[r].length, runs[0].length);
      runs[r].forEach((values, i) => assertSameBits(runs[0][i], values, `${what} output ${i}, ${counts[r]} threads vs ${counts[0]}`));
    }
    return runs[0];
  } finally {
    pool.setLanes(previous);
  }
}
