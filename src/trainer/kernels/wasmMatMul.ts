/**
 * A faster BatchMatMul for the WASM backend, which the convolution kernels (wasmConv.ts) also run
 * through.
 *
 * - Products run on heapGemm.ts's microkernels: XNNPACK, the stock kernel, repacks B on every call
 *   with a new B at ~7 ns a float, which in training is every call (new weights, new gradients);
 *   they do not, and with relaxed SIMD use fused multiply-adds. Measured against the stock kernel
 *   with a fresh B: 100×400·400×400 0.8 ms vs 1.7, 3136×1024·1024×128 (a DCGAN convolution) 22 ms
 *   vs 26. The stock kernel still runs for other dtypes and batch dimensions that do not broadcast
 *   simply (it caches B packed under its buffer's id, so Transpose and Identity must never hand a
 *   buffer back under another shape).
 * - tfjs-backend-wasm 4.22 multiplies transposed operands through a strided path that is 5–13×
 *   slower than an explicit Transpose followed by a plain matmul (measured here: [100,400]ᵀ×[100,400]
 *   18 ms vs 2 ms). Backpropagation through Dense layers hits exactly those cases (dW = xᵀ·dy,
 *   dx = dy·Wᵀ). A transposed A is read as it lies by the heap GEMM's transposed microkernels
 *   ([64,6272]ᵀ·[64,4]: 0.13 ms vs 0.34 transposing first); a transposed B is transposed first.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { gemm, gemmShare, gemmShares, heapGemm, panelFloats } from './heapGemm';
import type { HeapGemm } from './heapGemm';
import { heapThreads } from './heapThreads';
import { addressOf } from './wasmElementwise';
import type { WasmBackend } from './wasmElementwise';

const KERNEL = 'BatchMatMul';
const BACKEND = 'wasm';
let installed = false;
let stock: KernelConfig | undefined;

/** tfjs-backend-wasm's own BatchMatMul (XNNPACK), kept for comparison (bench/kernels.ts). */
export function stockBatchMatMul(): KernelConfig | undefined {
  return stock;
}

/** Swaps the last two axes of a tensor, with the Transpose kernel registered when it runs (wasmElementwise's). */
function transposeLastTwo(x: TensorInfo, backend: tf.KernelBackend): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  const transpose = tf.getKernel('Transpose', BACKEND);
  if (!transpose) throw new Error('wasmMatMul: no Transpose kernel for the WASM backend');
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * a[..., m, k]·b[..., k, n] on heapGemm, or null where it does not apply: not float32, batch
 * dimensions other than equal or one side's all ones, or no SIMD. A width n that is not a multiple
 * of 4 (a layer of 1 or 2 units) is padded with zero columns: the product of the padded B is
 * computed, and its first n columns kept.
 */
function heapMatMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const [m, k] = transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) return null;
  const [outerA, outerB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  const [batchA, batchB] = [sizeOf(outerA), sizeOf(outerB)];
  let outer: number[];
  if (tf.util.arraysEqual(outerA, outerB)) outer = outerA;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA;
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else return null;
  const memory = backend.wasm.asm?.memory;
  const g = heapGemm(memory);
  if (!g) return null;
  const batch = Math.max(batchA, batchB);
  const n4 = 4 * Math.ceil(n / 4);
  // On several threads when the product is big enough to pay for the hand-over (heapThreads.ts).
  const pool = heapThreads(memory);
  // Up to 4 tasks a thread by columns (each packs only its columns of B), 1 by rows (each packs all of B).
  const flops = 2 * batch * m * n4 * k;
  const [byColumns, byRows] = pool ? [pool.tasksFor(flops, Infinity, 4), pool.tasksFor(flops, Infinity, 1)] : [1, 1];
  const shares = byColumns > 1 ? gemmShares(m, n4, byColumns, byRows) : [{ row: 0, rows: m, column: 0, columns: n4 }];
  const scratch = shares.map((share) => panelFloats(share.columns, k));
  const out = backend.makeOutput([...outer, m, n], 'float32');
  const panels = backend.makeOutput([scratch.reduce((a, b) => a + b, 0)], 'float32');
  const padded = n4 === n ? null : { b: backend.makeOutput([batchB * k * n4], 'float32'), c: backend.makeOutput([batch * m * n4], 'float32') };
  const [from, by, to, panelsAt] = [a, padded?.b ?? b, padded?.c ?? out, panels].map((t) => addressOf(backend, t));
  if (padded) {
    const heap = backend.wasm.HEAPF32;
    const [source, target] = [addressOf(backend, b) / 4, by / 4];
    heap.fill(0, target, target + batchB * k * n4);
    for (let row = 0; row < batchB * k; row++) for (let c = 0; c < n; c++) heap[target + row * n4 + c] = heap[source + row * n + c];
  }
  const layout = { transposedA: transposeA };
  /** One lane's share of every batch item's product (the whole of it on one thread). */
  const multiply = (lane: HeapGemm, index: number) => {
    const laneScratch = panelsAt + 4 * scratch.slice(0, index).reduce((x, y) => x + y, 0);
    for (let i = 0; i < batch; i++) {
      const [ai, bi, ci] = [from + (batchA > 1 ? 4 * i * m * k : 0), by + (batchB > 1 ? 4 * i * k * n4 : 0), to + 4 * i * m * n4];
      if (shares.length === 1) gemm(lane, ai, bi, ci, m, n4, k, laneScratch, layout);
      else gemmShare(lane, ai, bi, ci, m, n4, k, laneScratch, layout, shares[index]);
    }
  };
  if (pool && shares.length > 1) pool.run((lane) => multiply(lane.gemm, lane.index), shares.length);
  else multiply(g, 0);
  if (padded) {
    const heap = backend.wasm.HEAPF32;
    const [source, target] = [to / 4, addressOf(backend, out) / 4];
    for (let row = 0; row < batch * m; row++) for (let c = 0; c < n; c++) heap[target + row * n + c] = heap[source + row * n4 + c];
  }
  for (const t of [panels, ...(padded ? [padded.b, padded.c] : [])]) backend.disposeData(t.dataId);
  return out;
}

/** Replaces the WASM backend's BatchMatMul with the transpose-first, heap-GEMM version; idempotent. */
export function installWasmMatMul(): void {
  if (installed) return;
  const original = tf.getKernel(KERNEL, BACKEND);
  if (!original) return;
  stock = original;
  const matMul = original.kernelFunc;
  const replacement: KernelConfig = {
    ...original,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const b = backend as WasmBackend;
      const bb = transposeB ? transposeLastTwo(inputs.b as TensorInfo, b) : (inputs.b as TensorInfo);
      // The heap GEMM reads a transposed A as it lies; the stock kernel gets it transposed first.
      let out = heapMatMul(b, inputs.a as TensorInfo, bb, transposeA);
      if (!out) {
        const a = transposeA ? transposeLastTwo(inputs.a as TensorInfo, b) : (inputs.a as TensorInfo);
        out = matMul({ inputs: { a, b: bb }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } as unknown as NamedAttrMap }) as TensorInfo;
        if (transposeA) b.disposeData(a.dataId);
      }
      if (transposeB) b.disposeData(bb.dataId);
      return out;
    },
  };
  tf.unregisterKernel(KERNEL, BACKEND);
  tf.registerKernel(replacement);
  installed = true;
}
