/**
 * The WASM backend on a shared heap with worker threads (src/trainer/kernels/sharedHeap.ts,
 * heapThreads.ts): the binary patch, the thread count setting, the pool itself (plans longer than a
 * control block, a failing call, a heap that grows under it) and the kernels at training sizes on
 * 1, 2 and 3 threads, which must agree bit for bit. Kernels against the CPU backend are in
 * wasmConv.test.ts and wasmMatMul.test.ts, which run every case on 1 and 2 threads too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { backendThreads } from '../../src/trainer/backend';
import { gemmShares } from '../../src/trainer/kernels/heapGemm';
import type { WasmHeap } from '../../src/trainer/kernels/heapMover';
import { configuredThreads, setParallelFlops } from '../../src/trainer/kernels/heapThreads';
import type { HeapThreads } from '../../src/trainer/kernels/heapThreads';
import { withSharedMemory } from '../../src/trainer/kernels/sharedHeap';
import { relaxedSimdAvailable, u32 } from '../../src/trainer/kernels/wasmAssembler';
import { Random } from '../../src/trainer/random';
import { assertSplits, loadThreadedWasm, onThreadCounts } from './heapLanes';

const ROOT = path.resolve(__dirname, '..', '..');

/** A module with one defined memory: (memory min [max]) exported as "memory". */
function moduleWithMemory(min: number, max?: number): Uint8Array<ArrayBuffer> {
  const limits = max === undefined ? [0x00, ...u32(min)] : [0x01, ...u32(min), ...u32(max)];
  const memory = [1, ...limits];
  const exports = [1, 6, ...Buffer.from('memory'), 0x02, 0x00];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 5, memory.length, ...memory, 7, exports.length, ...exports]);
}

function memoryOf(binary: Uint8Array<ArrayBuffer>): WebAssembly.Memory {
  return new WebAssembly.Instance(new WebAssembly.Module(binary)).exports.memory as WebAssembly.Memory;
}

describe('the shared heap', () => {
  it('declares a module’s own memory shared, keeping its limits (65536 pages where it had no maximum)', () => {
    for (const [min, max] of [
      [1, 10],
      [2, undefined],
      [256, 65536],
    ] as [number, number | undefined][]) {
      const plain = moduleWithMemory(min, max);
      assert.ok(!(memoryOf(plain).buffer instanceof SharedArrayBuffer));
      const shared = withSharedMemory(plain);
      assert.ok(shared && WebAssembly.validate(shared), `min ${min} max ${max}`);
      const memory = memoryOf(shared);
      const bytes = (): number => (memory.buffer as ArrayBufferLike).byteLength;
      assert.ok(memory.buffer instanceof SharedArrayBuffer);
      assert.equal(bytes(), min * 65536);
      // Grows in place up to its maximum and no further.
      memory.grow(1);
      assert.equal(bytes(), (min + 1) * 65536);
      if (max !== undefined && max < 65536) assert.throws(() => memory.grow(max));
    }
  });

  it('leaves alone what it cannot patch: no memory, a shared one already, not WebAssembly', () => {
    assert.equal(withSharedMemory(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])), null);
    const once = withSharedMemory(moduleWithMemory(1, 4));
    assert.ok(once);
    assert.equal(withSharedMemory(once), null);
    assert.equal(withSharedMemory(new Uint8Array([1, 2, 3])), null);
    assert.equal(withSharedMemory(moduleWithMemory(1, 4).subarray(0, 11)), null);
  });

  it('patches tfjs-backend-wasm’s SIMD build into a valid module with the same memory, shared', () => {
    const file = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist', 'tfjs-backend-wasm-simd.wasm');
    const binary = readFileSync(file);
    const shared = withSharedMemory(binary);
    assert.ok(shared);
    assert.ok(WebAssembly.validate(shared));
    assert.equal(shared.length, binary.length);
    const memory = WebAssembly.Module.exports(new WebAssembly.Module(shared)).find((e) => e.kind === 'memory');
    assert.equal(memory?.name, 'memory');
  });

  it('takes its thread count from GAN_WORKBENCH_THREADS, else the machine’s cores', () => {
    assert.equal(configuredThreads({ GAN_WORKBENCH_THREADS: '1' }), 1);
    assert.equal(configuredThreads({ GAN_WORKBENCH_THREADS: '3' }), 3);
    assert.equal(configuredThreads({ GAN_WORKBENCH_THREADS: '1000' }), 16);
    const cores = Math.min(16, os.availableParallelism());
    for (const bad of ['', '0', '-2', '1.5', 'two']) assert.equal(configuredThreads({ GAN_WORKBENCH_THREADS: bad }), cores, JSON.stringify(bad));
    assert.equal(configuredThreads({}), cores);
  });
});

describe('gemmShares', () => {
  it('covers every element of C exactly once, in whole panels or fours of rows', () => {
    const random = new Random('shares');
    for (let i = 0; i < 300; i++) {
      const [m, n, lanes] = [1 + random.int(200), 4 * (1 + random.int(100)), 1 + random.int(5)];
      const shares = gemmShares(m, n, lanes);
      assert.ok(shares.length >= 1 && shares.length <= lanes);
      const covered = new Uint8Array(m * n);
      for (const s of shares) {
        assert.ok(shares.length === 1 || s.column % 12 === 0 || s.columns === n, 'columns split at panel edges');
        assert.ok(s.row % 4 === 0 && s.columns % 4 === 0 && s.rows > 0 && s.columns > 0);
        for (let r = s.row; r < s.row + s.rows; r++) for (let c = s.column; c < s.column + s.columns; c++) covered[r * n + c]++;
      }
      assert.ok(
        covered.every((v) => v === 1),
        `${m}×${n} on ${lanes}`,
      );
    }
  });
});

describe('heap worker threads', () => {
  let pool: HeapThreads;
  let memory: WebAssembly.Memory;
  const heap = () => (tf.engine().findBackend('wasm') as unknown as { wasm: WasmHeap }).wasm;

  before(async () => {
    pool = await loadThreadedWasm(3);
    memory = heap().asm?.memory as WebAssembly.Memory;
  });

  it('run the backend on a shared heap, three threads here', () => {
    assert.ok(memory.buffer instanceof SharedArrayBuffer);
    assert.equal(backendThreads(), 3);
    // The backend itself works on it: stock kernels, reads and writes.
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    assert.deepEqual(Array.from(tf.tidy(() => tf.add(tf.exp(tf.zeros([2, 2])), x)).dataSync()), [2, 3, 4, 5]);
    assert.ok(!(x.dataSync().buffer instanceof SharedArrayBuffer), 'a tensor read is a copy off the heap');
    x.dispose();
  });

  it('give the same bits on 1, 2 and 3 threads at the reference GANs’ sizes (relaxed-SIMD FMA in the workers too)', () => {
    const random = new Random('sizes');
    const previous = setParallelFlops(1 << 20);
    const made: tf.Tensor[] = [];
    const tensor = (shape: number[]) => {
      const t = tf.tensor(random.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
      made.push(t);
      return t;
    };
    try {
      const cases: [string, () => tf.Tensor][] = [];
      const [a, b, aT, dy6272, w6272] = [tensor([100, 400]), tensor([400, 400]), tensor([100, 400]), tensor([64, 6272]), tensor([6272, 1])];
      const [x, f, dy] = [tensor([64, 14, 14, 64]) as tf.Tensor4D, tensor([4, 4, 64, 128]) as tf.Tensor4D, tensor([64, 7, 7, 128]) as tf.Tensor4D];
      const [img, f1, dy1] = [tensor([64, 28, 28, 1]) as tf.Tensor4D, tensor([4, 4, 1, 64]) as tf.Tensor4D, tensor([64, 14, 14, 64]) as tf.Tensor4D];
      const filterGrad = (input: tf.Tensor4D, grad: tf.Tensor4D, filterShape: number[]) => () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x: input, dy: grad }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape } as never) as tf.Tensor;
      cases.push(['MLP layer 100×400·400×400', () => tf.matMul(a, b)]);
      cases.push(['MLP dW 400×100·100×400', () => tf.matMul(aT, a, true, false)]);
      cases.push(['MLP dx 100×400·(400×400)ᵀ', () => tf.matMul(a, b, false, true)]);
      cases.push(['DCGAN D dense 64×6272·6272×1', () => tf.matMul(dy6272, w6272)]);
      cases.push(['conv 14×14×64 → 7×7×128', () => tf.conv2d(x, f, 2, 'same')]);
      cases.push(['conv dx (convT) 7×7×128 → 14×14×64', () => tf.conv2dTranspose(dy, f, [64, 14, 14, 64], 2, 'same')]);
      cases.push(['conv dW, 64 channels', filterGrad(x, dy, [4, 4, 64, 128])]);
      cases.push(['conv 28×28×1 → 14×14×64', () => tf.conv2d(img, f1, 2, 'same')]);
      cases.push(['convT 14×14×64 → 28×28×1', () => tf.conv2dTranspose(dy1, f1, [64, 28, 28, 1], 2, 'same')]);
      cases.push(['conv dW, 1 channel', filterGrad(img, dy1, [4, 4, 1, 64])]);
      const workerTasks = pool.workerTasks;
      for (const [what, f] of cases) {
        assertSplits(pool, () => onThreadCounts(pool, [1, 2, 3], () => [tf.tidy(() => f().dataSync() as Float32Array)], what), what);
      }
      // (Which thread takes which task varies from run to run; over all these, the workers took some.)
      assert.ok(pool.workerTasks > workerTasks, 'no task ran on a worker');
      assert.ok(relaxedSimdAvailable() || process.env.GAN_WORKBENCH_WASM_FMA === '0', 'relaxed SIMD expected on Node 20');
    } finally {
      setParallelFlops(previous);
      tf.dispose(made);
    }
  });

  it('keep working when the heap grows between kernels (a shared memory grows in place)', () => {
    const random = new Random('grow');
    const before = memory.buffer.byteLength;
    const big = tf.zeros([(before / 4) * 1.5]);
    assert.ok(memory.buffer.byteLength > before, 'the heap did not grow');
    // Operands allocated above the old end of the heap.
    const a = tf.tensor(random.fillNormal(new Float32Array(96 * 80)), [96, 80]);
    const b = tf.tensor(random.fillNormal(new Float32Array(80 * 120)), [80, 120]);
    const product = assertSplits(pool, () => onThreadCounts(pool, [1, 3], () => [tf.matMul(a, b).dataSync() as Float32Array], 'after growth'), 'after growth');
    const [av, bv] = [a.dataSync(), b.dataSync()];
    let worst = 0;
    for (let r = 0; r < 96; r++) {
      for (let c = 0; c < 120; c++) {
        let sum = 0;
        for (let k = 0; k < 80; k++) sum += av[r * 80 + k] * bv[k * 120 + c];
        worst = Math.max(worst, Math.abs(product[0][r * 120 + c] - sum));
      }
    }
    assert.ok(worst < 1e-3, `max error ${worst}`);
    tf.dispose([big, a, b]);
  });

  it('run a plan too long for the control block on this thread, and report a task that traps without losing the pool', () => {
    const wasm = heap();
    const floats = 70_000;
    const at = wasm._malloc(4 * floats);
    try {
      wasm.HEAPF32.fill(1, at / 4, at / 4 + floats);
      // Task 1 zeroes every float one call each: more calls than the control block holds.
      const before = pool.parallelRuns;
      pool.run((lane) => {
        if (lane.index === 1) for (let i = 0; i < floats; i++) lane.simd.zero(at + 4 * i, 4);
      }, 3);
      assert.equal(pool.parallelRuns, before, 'ran on this thread');
      assert.ok(wasm.HEAPF32.subarray(at / 4, at / 4 + floats).every((v) => v === 0));
      // Whichever thread takes the trapping task, the run waits for the others and throws.
      for (let trial = 0; trial < 20; trial++) {
        wasm.HEAPF32.fill(1, at / 4, at / 4 + 64);
        assert.throws(
          () =>
            pool.run((lane) => {
              if (lane.index === 5) lane.simd.zero(memory.buffer.byteLength - 8, 64);
              else lane.simd.zero(at + 4 * lane.index, 4);
            }, 12),
          /heap kernel failed: (heap worker thread: )?.*out of bounds/,
        );
      }
      // Still there, every task run once.
      wasm.HEAPF32.fill(1, at / 4, at / 4 + 64);
      pool.run((lane) => lane.simd.zero(at + 4 * lane.index, 4), 12);
      assert.deepEqual(Array.from(wasm.HEAPF32.subarray(at / 4, at / 4 + 13)), [...new Array<number>(12).fill(0), 1]);
    } finally {
      wasm._free(at);
    }
  });

  it('take tasks on every thread, each task once, many times over', () => {
    const wasm = heap();
    const tasks = 64;
    const at = wasm._malloc(4 * tasks);
    try {
      for (let round = 0; round < 200; round++) {
        wasm.HEAPF32.fill(1, at / 4, at / 4 + tasks);
        pool.run((lane) => lane.simd.zero(at + 4 * lane.index, 4), tasks);
        assert.ok(
          wasm.HEAPF32.subarray(at / 4, at / 4 + tasks).every((v) => v === 0),
          `round ${round}`,
        );
      }
    } finally {
      wasm._free(at);
    }
  });
});

describe('a process with heap threads', () => {
  const script = (body: string) => `
    const tf = require('@tensorflow/tfjs-core');
    const { selectBackend, backendThreads } = require(${JSON.stringify(path.join(ROOT, 'src', 'trainer', 'backend.ts'))});
    selectBackend('wasm').then(() => { ${body} });`;
  const run = (env: NodeJS.ProcessEnv, body: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '-e', script(body)], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });

  it('exits on its own when its work is done, and with GAN_WORKBENCH_THREADS=1 keeps the heap unshared', () => {
    const body = `
      const y = tf.matMul(tf.ones([300, 300]), tf.ones([300, 300]));
      const memory = tf.backend().wasm.asm.memory;
      console.log(JSON.stringify({ threads: backendThreads(), shared: memory.buffer instanceof SharedArrayBuffer, value: y.dataSync()[0] }));`;
    for (const [threads, shared] of [
      ['2', true],
      ['1', false],
    ] as const) {
      const child = run({ GAN_WORKBENCH_THREADS: threads }, body);
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').pop() as string), { threads: Number(threads), shared, value: 300 });
    }
  });
});
