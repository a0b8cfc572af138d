/**
 * A faster BatchMatMul for the WASM backend, which the convolution kernels (wasmConv.ts) also run
 * through.
 *
 * - Products run on heapGemm.ts's microkernels: XNNPACK, the stock kernel, repacks B on every call
 *   with a new B at ~7 ns a float, which in training is every call (new weights, new gradients);
 *   they do not, and with relaxed SIMD use fused multiply-adds. Measured against the stock kernel
 *   with a fresh B: 100×400·400×400 0.8 ms vs 1.7, 3136×1024·1024×128 (a DCGAN convolution) 22 ms
 *   vs 26. The stock kernel still runs where n is not a multiple of 4 (a layer of 1 or 2 units) or
 *   batch dimensions do not broadcast simply.
 * - tfjs-backend-wasm 4.22 multiplies transposed operands through a strided path that is 5–13×
 *   slower than an explicit Transpose followed by a plain matmul (measured here: [100,400]ᵀ×[100,400]
 *   18 ms vs 2 ms). Backpropagation through Dense layers hits exactly those cases (dW = xᵀ·dy,
 *   dx = dy·Wᵀ), so the wrapper transposes first.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { gemm, heapGemm, panelFloats } from './heapGemm';
import { addressOf } from './wasmElementwise';
import type { WasmBackend } from './wasmElementwise';

const KERNEL = 'BatchMatMul';
const BACKEND = 'wasm';
let installed = false;

/** Swaps the last two axes of a tensor. */
function transposeLastTwo(transpose: KernelFunc, x: TensorInfo, backend: tf.KernelBackend): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * a[..., m, k]·b[..., k, n] on heapGemm, or null where it does not apply: not float32, n not a
 * multiple of 4, batch dimensions other than equal or one side's all ones, or no SIMD.
 */
function heapMatMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2 || n % 4 !== 0) return null;
  const [outerA, outerB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  const [batchA, batchB] = [sizeOf(outerA), sizeOf(outerB)];
  let outer: number[];
  if (tf.util.arraysEqual(outerA, outerB)) outer = outerA;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA;
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else return null;
  const g = heapGemm(backend.wasm.asm?.memory);
  if (!g) return null;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  const panels = backend.makeOutput([panelFloats(n, k)], 'float32');
  const [from, by, to, scratch] = [a, b, out, panels].map((t) => addressOf(backend, t));
  for (let i = 0; i < Math.max(batchA, batchB); i++) {
    gemm(g, from + (batchA > 1 ? 4 * i * m * k : 0), by + (batchB > 1 ? 4 * i * k * n : 0), to + 4 * i * m * n, m, n, k, scratch);
  }
  backend.disposeData(panels.dataId);
  return out;
}

/** Replaces the WASM backend's BatchMatMul with the transpose-first, heap-GEMM version; idempotent. */
export function installWasmMatMul(): void {
  if (installed) return;
  const original = tf.getKernel(KERNEL, BACKEND);
  const transposeKernel = tf.getKernel('Transpose', BACKEND);
  if (!original || !transposeKernel) return;
  const matMul = original.kernelFunc;
  const transpose = transposeKernel.kernelFunc;
  const replacement: KernelConfig = {
    ...original,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const b = backend as WasmBackend;
      const a = transposeA ? transposeLastTwo(transpose, inputs.a as TensorInfo, b) : (inputs.a as TensorInfo);
      const bb = transposeB ? transposeLastTwo(transpose, inputs.b as TensorInfo, b) : (inputs.b as TensorInfo);
      const out =
        heapMatMul(b, a, bb) ??
        (matMul({ inputs: { a, b: bb }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } as unknown as NamedAttrMap }) as TensorInfo);
      if (transposeA) b.disposeData(a.dataId);
      if (transposeB) b.disposeData(bb.dataId);
      return out;
    },
  };
  tf.unregisterKernel(KERNEL, BACKEND);
  tf.registerKernel(replacement);
  installed = true;
}
