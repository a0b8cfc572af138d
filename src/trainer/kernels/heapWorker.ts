/**
 * A worker thread of heapThreads.ts: it instantiates the hand-assembled kernel modules on the
 * backend's shared heap and runs the calls the main thread writes into its control block, nothing
 * else. It never allocates on the heap and never touches a tensor: the main thread plans every
 * call, with every buffer already allocated, before it hands the plan over.
 *
 * Bundled as dist/heapWorker.js (esbuild.mjs); run from the TypeScript source under tsx in tests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CONTROL, STRIDE, spinUntil } from './heapControl';
import type { WorkerData } from './heapControl';

type Call = (...args: number[]) => void;

function main(data: WorkerData): void {
  const control = new Int32Array(data.control);
  const functions: Call[] = [];
  for (const module of data.modules) {
    const instance = new WebAssembly.Instance(module, { env: { memory: data.memory } });
    for (const { name } of WebAssembly.Module.exports(module)) functions.push(instance.exports[name] as Call);
  }
  parentPort?.postMessage('ready');
  let seen = 0;
  for (;;) {
    // A job follows another within microseconds during a training step: spin briefly before sleeping.
    if (!spinUntil(() => Atomics.load(control, CONTROL.sequence) !== seen, data.spinMs)) Atomics.wait(control, CONTROL.sequence, seen);
    seen = Atomics.load(control, CONTROL.sequence);
    const count = control[CONTROL.count];
    try {
      for (let i = 0, at = CONTROL.header; i < count; i++, at += STRIDE) {
        const f = functions[control[at]];
        f(
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
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).slice(0, CONTROL.messageCapacity);
      for (let i = 0; i < message.length; i++) control[CONTROL.message + i] = message.charCodeAt(i);
      control[CONTROL.messageLength] = message.length;
      control[CONTROL.failed] = 1;
    }
    Atomics.store(control, CONTROL.done, seen);
    Atomics.notify(control, CONTROL.done);
  }
}

main(workerData as WorkerData);
