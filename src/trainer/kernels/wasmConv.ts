/**
 * Convolution training kernels for the WASM backend. tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter at all and a Conv2DBackpropInput about 10× slower than its forward Conv2D
 * (which is also what conv2dTranspose runs forward). Both are lowered here to one plain matrix
 * product on the backend's own XNNPACK matmul, with the im2col/col2im data movement done by JS
 * loops directly on the WASM heap (im2col.ts), so each call is one gather or scatter pass plus a
 * single matmul dispatch, and every intermediate is freed before returning.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { col2im, geometryOf, im2col, im2colTransposed, isPointwise, transpose2d } from './im2col';

const BACKEND = 'wasm';

/** The parts of tfjs-backend-wasm's BackendWasm these kernels touch (its typings lean on Emscripten's). */
interface WasmBackend extends tf.KernelBackend {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
}

type PadAttr = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type DimRoundingMode = 'floor' | 'round' | 'ceil' | undefined;

interface ConvAttrs {
  strides: number | [number, number];
  pad: PadAttr;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: DimRoundingMode;
}

/** Float index of a tensor's first element in HEAPF32 (malloc aligns to 8 bytes or more). */
function offsetOf(backend: WasmBackend, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error('wasmConv: tensor is not on the WASM backend');
  return data.memoryOffset / 4;
}

/** The same data seen with another shape, as the backend's Reshape does (no copy). */
function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/**
 * a[M, K]·b[K, N] through the registered WASM BatchMatMul: batch 1 and no transposes is its
 * XNNPACK fully-connected path. (XNNPACK caches the packed right operand by tensor id until that
 * tensor is disposed, so passing a view of a tensor is safe.)
 */
function matMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo, m: number, k: number, n: number): TensorInfo {
  const kernel = tf.getKernel('BatchMatMul', BACKEND);
  if (!kernel) throw new Error('wasmConv: no BatchMatMul kernel for the WASM backend');
  const attrs = { transposeA: false, transposeB: false } as unknown as NamedAttrMap;
  return kernel.kernelFunc({ inputs: { a: view(a, [1, m, k]), b: view(b, [1, k, n]) }, backend, attrs }) as TensorInfo;
}

function channelsLast(dataFormat: string | undefined, kernel: string): void {
  if (tf.backend_util.convertConv2DDataFormat((dataFormat ?? 'NHWC') as 'NHWC' | 'NCHW') !== 'channelsLast') {
    throw new Error(`wasm backend ${kernel} supports only dataFormat 'NHWC'`);
  }
}

/** y = conv(x, filter): columns[B·OH·OW, KH·KW·C] · filter[KH·KW·C, OC] is y in NHWC already. */
export const conv2D: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as WasmBackend;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, dilations } = attrs as unknown as ConvAttrs & { dilations: number | [number, number] };
  channelsLast(dataFormat, 'Conv2D');
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, strides, dilations, pad, dimRoundingMode);
  const g = geometryOf(info);
  const positions = g.batch * g.outHeight * g.outWidth;
  const depth = g.filterHeight * g.filterWidth * g.inChannels;
  if (isPointwise(g)) return reshaped(matMul(backend, x, filter, positions, depth, info.outChannels), info.outShape);
  const columns = backend.makeOutput([positions, depth], 'float32');
  im2col(backend.wasm.HEAPF32, offsetOf(backend, x), offsetOf(backend, columns), g);
  const y = matMul(backend, columns, filter, positions, depth, info.outChannels);
  backend.disposeData(columns.dataId);
  return reshaped(y, info.outShape);
};

/**
 * dx = col2im(dy[B·OH·OW, OC] · filterᵀ[OC, KH·KW·C]). The filter is transposed explicitly (it is
 * small) because the WASM matmul's transposed-operand path is slow.
 */
export const conv2DBackpropInput: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as WasmBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as ConvAttrs & { inputShape: Shape4 };
  channelsLast(dataFormat, 'Conv2DBackpropInput');
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode);
  const g = geometryOf(info);
  const positions = g.batch * g.outHeight * g.outWidth;
  const depth = g.filterHeight * g.filterWidth * g.inChannels;
  const filterT = backend.makeOutput([info.outChannels, depth], 'float32');
  transpose2d(backend.wasm.HEAPF32, offsetOf(backend, filter), offsetOf(backend, filterT), depth, info.outChannels);
  const columns = matMul(backend, dy, filterT, positions, info.outChannels, depth);
  backend.disposeData(filterT.dataId);
  if (isPointwise(g)) return reshaped(columns, info.inShape);
  const dx = backend.makeOutput(info.inShape, 'float32');
  col2im(backend.wasm.HEAPF32, offsetOf(backend, columns), offsetOf(backend, dx), g);
  backend.disposeData(columns.dataId);
  return dx;
};

/** dW = columnsᵀ[KH·KW·C, B·OH·OW] · dy[B·OH·OW, OC], the columns gathered already transposed. */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as WasmBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as ConvAttrs & { filterShape: Shape4 };
  channelsLast(dataFormat, 'Conv2DBackpropFilter');
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode);
  const g = geometryOf(info);
  const positions = g.batch * g.outHeight * g.outWidth;
  const depth = g.filterHeight * g.filterWidth * g.inChannels;
  const columnsT = backend.makeOutput([depth, positions], 'float32');
  im2colTransposed(backend.wasm.HEAPF32, offsetOf(backend, x), offsetOf(backend, columnsT), g);
  const dw = matMul(backend, columnsT, dy, depth, positions, info.outChannels);
  backend.disposeData(columnsT.dataId);
  return reshaped(dw, filterShape);
};

type Shape4 = [number, number, number, number];

function reshaped(t: TensorInfo, shape: number[]): TensorInfo {
  t.shape = shape;
  return t;
}

const kernels: [string, KernelFunc][] = [
  ['Conv2D', conv2D],
  ['Conv2DBackpropInput', conv2DBackpropInput],
  ['Conv2DBackpropFilter', conv2DBackpropFilter],
];

let installed = false;
/** The kernels these replaced, kept for comparison (bench/kernels.ts). */
const stock = new Map<string, KernelConfig>();

/** The tfjs-backend-wasm kernel registered before installWasmConvKernels replaced it, if any. */
export function stockWasmKernel(kernelName: string): KernelConfig | undefined {
  return stock.get(kernelName);
}

/** Registers the kernels above for the WASM backend, replacing stock ones; idempotent. */
export function installWasmConvKernels(): void {
  if (installed) return;
  for (const [kernelName, kernelFunc] of kernels) {
    const original = tf.getKernel(kernelName, BACKEND);
    if (original) {
      stock.set(kernelName, original);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc });
  }
  installed = true;
}
