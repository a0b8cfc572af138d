/**
 * A worker thread of heapThreads.ts: it instantiates the hand-assembled kernel modules on the
 * backend's shared heap and, each time the main thread wakes it, takes tasks of the run from the
 * control block until none is left (heapControl.ts). It never allocates on the heap and never
 * touches a tensor: the main thread plans every call, with every buffer already allocated, before
 * it starts a run.
 *
 * Bundled as dist/heapWorker.js (esbuild.mjs); run from the TypeScript source under tsx in tests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CONTROL, runTasks, spinUntil } from './heapControl';
import type { Call, WorkerData } from './heapControl';

function main(data: WorkerData): void {
  const control = new Int32Array(data.control);
  const functions: Call[] = [];
  for (const module of data.modules) {
    const instance = new WebAssembly.Instance(module, { env: { memory: data.memory } });
    for (const { name } of WebAssembly.Module.exports(module)) functions.push(instance.exports[name] as Call);
  }
  const wake = CONTROL.wake + data.index;
  let seen = Atomics.load(control, wake);
  parentPort?.postMessage('ready');
  for (;;) {
    // A run follows another within microseconds during a training step: spin briefly before sleeping.
    if (!spinUntil(() => Atomics.load(control, wake) !== seen, data.spinMs)) Atomics.wait(control, wake, seen);
    seen = Atomics.load(control, wake);
    runTasks(control, functions, 'heap worker thread: ');
  }
}

main(workerData as WorkerData);
