/**
 * The small kernels of a training step, for the WASM backend: together they took a third of a
 * DCGAN step (measured: 570 ms in kernels, of which Sum 38, Mean 28, LeakyRelu 29, Greater 19,
 * Identity 17, Select 9).
 *
 * - Identity and a Cast to the same dtype share the input's buffer, as the CPU backend's do, instead
 *   of copying it. tfjs clones every tensor it saves for backpropagation through Identity, and
 *   tensors are immutable, so the copy bought nothing (125 copies a DCGAN step).
 * - Sum and Mean over leading axes (batch norm's statistics, a bias's gradient) add rows of the
 *   input as it lies, where the stock kernels transpose the reduced axes innermost first (5 ms each
 *   at 64×14×14×64). Rows are summed in blocks and the block sums added, which is more accurate
 *   than the stock kernel's single running sum.
 * - Their gradients (batch norm's statistics are means) broadcast dy back over the reduced axes in
 *   one pass: tfjs multiplies dy by a tensor of ones it builds in JS and uploads (800 K floats for
 *   a 64×14×14×64 batch), then divides by the count for Mean.
 * - Transposes of the last two axes (the matmul kernel's, for dW = xᵀ·dy and dx = dy·Wᵀ) run
 *   heapSimd's 4×4-tile SIMD transpose (the stock kernel: 2.4 ns a float at 64×6272).
 * - LeakyRelu is one SIMD pass (the stock kernel took 4.4 ms for 800 K floats), and its gradient
 *   where(x > 0, dy, α·dy) — Greater, Multiply and Select, three passes and a bool tensor — is one
 *   LeakyReluGrad kernel, itself differentiable for WGAN-GP's gradient of a gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs's gradients, registered before the ones here replace some of them (and are kept as fallbacks).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { HeapMover } from './heapMover';
import type { WasmHeap } from './heapMover';
import { heapMath } from './heapMath';
import type { HeapMath } from './heapMath';

const BACKEND = 'wasm';

/** The fused gradient of LeakyRelu: dx = x > 0 ? dy : α·dy. Registered for the WASM backend only. */
export const LEAKY_RELU_GRAD = 'LeakyReluGrad';

/** dy broadcast back over the leading axes a Sum or Mean reduced (÷ divisor): their gradient. WASM only. */
export const BROADCAST_ROWS = 'BroadcastRows';

export interface WasmBackend extends tf.KernelBackend {
  wasm: WasmHeap;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  incRef(dataId: object): void;
}

/** Byte address of a tensor's first element on the heap. */
export function addressOf(backend: WasmBackend, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error('wasmElementwise: tensor is not on the WASM backend');
  return data.memoryOffset;
}

/** The SIMD routines on this backend's heap, or null (then the stock kernels run). */
export function mathOf(backend: tf.KernelBackend): HeapMath | null {
  return heapMath((backend as Partial<WasmBackend>).wasm?.asm?.memory);
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The kernels replaced, by name, called where a case is not handled here. */
const stock = new Map<string, KernelConfig>();

/** The tfjs-backend-wasm kernel a kernel here replaced, if any (bench/kernels.ts compares them). */
export function stockWasmElementwiseKernel(kernelName: string): KernelConfig | undefined {
  return stock.get(kernelName);
}

function callStock(kernelName: string, args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const original = stock.get(kernelName);
  if (!original) throw new Error(`wasmElementwise: no stock ${kernelName} kernel`);
  return original.kernelFunc(args);
}

/** The same buffer under a new tensor (the CPU backend's Identity): tensors are never written after creation. */
function share(backend: WasmBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identity: KernelFunc = (args) => {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return callStock('Identity', args);
  return share(args.backend as WasmBackend, x);
};

export const cast: KernelFunc = (args) => {
  const x = args.inputs.x as TensorInfo;
  const { dtype } = args.attrs as unknown as { dtype: DataType };
  if (dtype !== x.dtype || x.dtype === 'string') return callStock('Cast', args);
  return share(args.backend as WasmBackend, x);
};

/** Rows summed into a block's partial sum before it is added to the total. */
const ROW_BLOCK = 128;

/**
 * x seen as [rows, cols] with the reduced axes leading: the case handled here. Null for anything
 * else (innermost axes, interleaved axes, all axes), which the stock kernels do without a transpose.
 */
function leadingAxes(x: TensorInfo, axis: number | number[]): { rows: number; cols: number; kept: number } | null {
  if (x.dtype !== 'float32') return null;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const unique = new Set(axes);
  const k = unique.size;
  if (k !== axes.length || k === 0 || k >= x.shape.length) return null;
  for (let i = 0; i < k; i++) if (!unique.has(i)) return null;
  const rows = sizeOf(x.shape.slice(0, k));
  const cols = sizeOf(x.shape.slice(k));
  if (rows < 2 || cols === 0) return null;
  return { rows, cols, kept: k };
}

/** out[c] = Σ_r x[r, c] over the leading axes (÷ rows for Mean). */
function reduceLeading(kernelName: 'Sum' | 'Mean', args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as TensorInfo;
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const math = mathOf(backend);
  const leading = leadingAxes(x, axis);
  if (!math || !leading) return callStock(kernelName, args);
  const { rows, cols, kept } = leading;
  const outShape = keepDims ? [...new Array<number>(kept).fill(1), ...x.shape.slice(kept)] : x.shape.slice(kept);
  const out = backend.makeOutput(outShape, 'float32');
  const partial = rows > ROW_BLOCK ? backend.makeOutput([cols], 'float32') : null;
  // (Addresses after every allocation: an allocation may grow the heap and replace its views.)
  const [from, to] = [addressOf(backend, x), addressOf(backend, out)];
  const heap = backend.wasm.HEAPF32;
  heap.fill(0, to / 4, to / 4 + cols);
  if (!partial) {
    math.addRows(from, to, rows, 4 * cols);
  } else {
    const at = addressOf(backend, partial);
    for (let r = 0; r < rows; r += ROW_BLOCK) {
      heap.fill(0, at / 4, at / 4 + cols);
      math.addRows(from + 4 * r * cols, at, Math.min(ROW_BLOCK, rows - r), 4 * cols);
      math.addRows(at, to, 1, 4 * cols);
    }
    backend.disposeData(partial.dataId);
  }
  if (kernelName === 'Mean') {
    // The sum divided by the count, as the stock kernels do (one rounding: both are floats).
    const values = backend.wasm.HEAPF32.subarray(to / 4, to / 4 + cols);
    for (let c = 0; c < cols; c++) values[c] = values[c] / rows;
  }
  return out;
}

export const sum: KernelFunc = (args) => reduceLeading('Sum', args);
export const mean: KernelFunc = (args) => reduceLeading('Mean', args);

/** perm swaps the last two axes and keeps the others in place. */
function swapsLastTwo(perm: number[]): boolean {
  const rank = perm.length;
  return rank >= 2 && perm.every((p, i) => (i < rank - 2 ? p === i : p === (i === rank - 2 ? rank - 1 : rank - 2)));
}

export const transpose: KernelFunc = (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as TensorInfo;
  const { perm } = args.attrs as unknown as { perm: number[] };
  if (x.dtype !== 'float32' || !swapsLastTwo(perm) || !mathOf(backend)) return callStock('Transpose', args);
  const rank = x.shape.length;
  const [rows, cols] = x.shape.slice(-2);
  const shape = [...x.shape.slice(0, -2), cols, rows];
  // (Even where a side is 1 and the layout is the same, a copy: the stock matmul caches a right
  // operand packed under its buffer's id, so a buffer must not come back with another shape.)
  const out = backend.makeOutput(shape, 'float32');
  const mover = new HeapMover(backend.wasm, () => {
    throw new Error('transpose needs no scratch');
  });
  const [from, to] = [addressOf(backend, x) / 4, addressOf(backend, out) / 4];
  const matrices = sizeOf(x.shape.slice(0, rank - 2));
  if (rows === 1 || cols === 1) mover.copy(from, to, matrices * rows * cols);
  else for (let i = 0; i < matrices; i++) mover.transpose(from + i * rows * cols, to + i * rows * cols, rows, cols);
  return out;
};

/** out[r, c] = x[c] (÷ divisor) for the `shape` output: attrs { shape, divisor }. */
export const broadcastRows: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackend;
  const x = inputs.x as TensorInfo;
  const { shape, divisor } = attrs as unknown as { shape: number[]; divisor: number };
  const math = mathOf(b);
  if (!math) throw new Error(`${BROADCAST_ROWS}: WebAssembly SIMD unavailable`);
  const cols = sizeOf(x.shape);
  const rows = cols === 0 ? 0 : sizeOf(shape) / cols;
  const out = b.makeOutput(shape, 'float32');
  if (rows > 0) {
    if (divisor === 1) math.broadcastRows(addressOf(b, x), addressOf(b, out), rows, 4 * cols);
    else math.broadcastRowsDivided(addressOf(b, x), addressOf(b, out), rows, 4 * cols, divisor);
  }
  return out;
};

export const leakyRelu: KernelFunc = (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as TensorInfo;
  const { alpha } = args.attrs as unknown as { alpha: number };
  const math = mathOf(backend);
  if (!math || x.dtype !== 'float32') return callStock('LeakyRelu', args);
  const out = backend.makeOutput(x.shape, 'float32');
  const size = sizeOf(x.shape);
  if (size > 0) math.leakyRelu(addressOf(backend, x), addressOf(backend, out), 4 * size, alpha);
  return out;
};

export const leakyReluGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackend;
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const { alpha } = attrs as unknown as { alpha: number };
  const math = mathOf(b);
  if (!math) throw new Error(`${LEAKY_RELU_GRAD}: WebAssembly SIMD unavailable`);
  const size = sizeOf(x.shape);
  if (sizeOf(dy.shape) !== size || dy.dtype !== 'float32' || x.dtype !== 'float32') {
    throw new Error(`${LEAKY_RELU_GRAD}: dy [${dy.shape}] ${dy.dtype} does not match x [${x.shape}] ${x.dtype}`);
  }
  const out = b.makeOutput(x.shape, 'float32');
  if (size > 0) math.leakyReluGrad(addressOf(b, dy), addressOf(b, x), addressOf(b, out), 4 * size, alpha);
  return out;
};

/**
 * dLeakyRelu(x)/dx applied to dy: the fused kernel where the active backend has it, else tfjs's
 * own formula (the CPU backend, tfjs-node).
 */
function leakyReluBackward(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  if (fusedHere(LEAKY_RELU_GRAD) && dy.dtype === 'float32' && x.dtype === 'float32' && tf.util.arraysEqual(dy.shape, x.shape)) {
    return tf.engine().runKernel(LEAKY_RELU_GRAD, { dy, x }, { alpha } as unknown as NamedAttrMap) as tf.Tensor;
  }
  return tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha));
}

/** Whether the active backend runs the fused kernel `name` (the WASM backend with SIMD). */
function fusedHere(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined && mathOf(tf.backend()) !== null;
}

/**
 * Sum's and Mean's gradients: dy broadcast over the reduced leading axes by BroadcastRows where it
 * runs, tfjs's own gradient otherwise. BroadcastRows's own gradient is the sum over those axes
 * (÷ the divisor), for a gradient of a gradient.
 */
function registerReductionGradients(): void {
  for (const kernelName of ['Sum', 'Mean'] as const) {
    const stockGradient = tf.getGradient(kernelName);
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const { axis } = attrs as unknown as { axis: number | number[] };
        const leading = fusedHere(BROADCAST_ROWS) && (dy as tf.Tensor).dtype === 'float32' ? leadingAxes(x, axis) : null;
        if (!leading || (dy as tf.Tensor).size !== leading.cols) return stockGradient.gradFunc(dy, saved, attrs);
        const divisor = kernelName === 'Mean' ? leading.rows : 1;
        const bound = { shape: x.shape, divisor, leadingAxes: leading.kept } as unknown as NamedAttrMap;
        return { x: () => tf.engine().runKernel(BROADCAST_ROWS, { x: dy as tf.Tensor }, bound) as tf.Tensor };
      },
    });
  }
  tf.registerGradient({
    kernelName: BROADCAST_ROWS,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved, attrs) => {
      const [x] = saved;
      const { divisor, leadingAxes: kept } = attrs as unknown as { divisor: number; leadingAxes: number };
      return {
        x: () => {
          const summed = tf.sum(ddx as tf.Tensor, [...Array(kept).keys()]);
          return tf.reshape(divisor === 1 ? summed : tf.div(summed, divisor), x.shape);
        },
      };
    },
  });
}

/** The gradients: LeakyRelu's through the fused kernel, and the fused kernel's own (for a gradient of a gradient). */
function registerGradients(): void {
  registerReductionGradients();
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const { alpha } = attrs as unknown as { alpha: number };
      return { x: () => leakyReluBackward(dy as tf.Tensor, saved[0], alpha) };
    },
  });
  // dx = x > 0 ? dy : α·dy is linear in dy with the same mask, and piecewise constant in x.
  tf.registerGradient({
    kernelName: LEAKY_RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved, attrs) => {
      const { alpha } = attrs as unknown as { alpha: number };
      const [x] = saved;
      return { dy: () => leakyReluBackward(ddx as tf.Tensor, x, alpha), x: () => tf.zerosLike(x) };
    },
  });
}

const kernels: [string, KernelFunc][] = [
  ['Identity', identity],
  ['Transpose', transpose],
  ['Cast', cast],
  ['Sum', sum],
  ['Mean', mean],
  ['LeakyRelu', leakyRelu],
  [LEAKY_RELU_GRAD, leakyReluGrad],
  [BROADCAST_ROWS, broadcastRows],
];

let installed = false;

/** Registers the kernels above for the WASM backend (replacing the stock ones) and the LeakyRelu gradients; idempotent. */
export function installWasmElementwiseKernels(): void {
  if (installed) return;
  for (const [kernelName, kernelFunc] of kernels) {
    const original = tf.getKernel(kernelName, BACKEND);
    if (original) {
      stock.set(kernelName, original);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    // The stock setupFunc binds the WASM entry points the stock kernel (still called for other cases) needs.
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: original?.setupFunc, disposeFunc: original?.disposeFunc });
  }
  registerGradients();
  installed = true;
}
