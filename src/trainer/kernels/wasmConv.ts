/**
 * Convolution training kernels for the WASM backend. tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter at all and a Conv2DBackpropInput about 8× slower than its forward Conv2D
 * (and conv2dTranspose runs Conv2DBackpropInput forward). These are lowered here to a plain
 * matrix product on the backend's own XNNPACK matmul, with the im2col/col2im data movement done
 * in place on the WASM heap (heapMover.ts), so a call is one gather or scatter pass plus one matmul
 * dispatch, and every intermediate is freed before it returns. Conv2D forward goes the same way
 * where that beats the stock kernel (few input channels). Past a column budget, column matrices
 * are built a batch slice at a time, so big images cost time, not heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { heapGemm, multiplyPacked, packAll } from './heapGemm';
import type { HeapGemm } from './heapGemm';
import { heapSimd } from './heapSimd';
import type { HeapSimd } from './heapSimd';
import { heapThreads } from './heapThreads';
import type { HeapThreads, Lane } from './heapThreads';
import { HeapMover } from './heapMover';
import type { WasmHeap } from './heapMover';
import { geometryOf, isPointwise } from './im2col';
import type { ConvGeometry } from './im2col';

const BACKEND = 'wasm';

interface WasmBackend extends tf.KernelBackend {
  wasm: WasmHeap;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
}

type Shape4 = [number, number, number, number];

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Floats a column matrix may take before the batch is split (32 MiB). The DCGAN's largest is
 * 3.2 M floats at batch 64; a 3×3 convolution of a 64×64×128 batch of 64 would need 300 M.
 */
let columnBudget = 1 << 23;

/**
 * Floats of a slice's column matrix on the heap-GEMM paths (1 MiB): built, multiplied and (for
 * dx) scattered back while it is still in L2, rather than written out to memory whole (12.8 MB at
 * the DCGAN's 64×14×14×64 ↔ 64×7×7×128) and read back.
 */
const CACHE_COLUMNS = 1 << 18;

/** Sets the column budget (tests use a tiny one to exercise the batch slicing); returns the old one. */
export function setColumnBudget(floats: number): number {
  const previous = columnBudget;
  columnBudget = floats;
  return previous;
}

/** From this many input channels, a stride-1 Conv2D forward runs the stock kernel (see conv2D). */
const STOCK_CONV2D_CHANNELS = 8;

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

function reshaped(t: TensorInfo, shape: number[]): TensorInfo {
  t.shape = shape;
  return t;
}

/**
 * a[M, K]·b[K, N] through the registered WASM BatchMatMul: batch 1 and no transposes is its
 * XNNPACK fully-connected path. XNNPACK caches b packed by tensor id until b is disposed, so b
 * must never be a buffer whose contents change between calls.
 */
function matMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo, m: number, k: number, n: number): TensorInfo {
  const kernel = tf.getKernel('BatchMatMul', BACKEND);
  if (!kernel) throw new Error('wasmConv: no BatchMatMul kernel for the WASM backend');
  const attrs = { transposeA: false, transposeB: false } as unknown as NamedAttrMap;
  return kernel.kernelFunc({ inputs: { a: view(a, [1, m, k]), b: view(b, [1, k, n]) }, backend, attrs }) as TensorInfo;
}

function channelsLast(dataFormat: ConvAttrs['dataFormat'], kernel: string): void {
  if (tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC') !== 'channelsLast') {
    throw new Error(`wasm backend ${kernel} supports only dataFormat 'NHWC'`);
  }
}

/** Everything a kernel needs about its convolution, with the batch split into slices. */
class Lowering {
  readonly g: ConvGeometry;
  readonly depth: number;
  readonly outChannels: number;
  /** Output positions and input floats of one batch item. */
  readonly positionsPerItem: number;
  readonly imageSize: number;
  /** Batch items per slice, so a slice's column matrix stays within the budget. */
  readonly slice: number;
  readonly mover: HeapMover;

  constructor(
    readonly backend: WasmBackend,
    readonly info: tf.backend_util.Conv2DInfo,
    budget = columnBudget,
  ) {
    this.g = geometryOf(info);
    this.depth = info.filterHeight * info.filterWidth * info.inChannels;
    this.outChannels = info.outChannels;
    this.positionsPerItem = info.outHeight * info.outWidth;
    this.imageSize = info.inHeight * info.inWidth * info.inChannels;
    this.slice = Math.max(1, Math.min(info.batchSize, Math.floor(budget / (this.positionsPerItem * this.depth))));
    this.mover = new HeapMover(backend.wasm, (floats) => {
      const t = backend.makeOutput([floats], 'float32');
      return { offset: offsetOf(backend, t), dispose: () => backend.disposeData(t.dataId) };
    });
  }

  /** The batch slices [start, start + count) of items [first, last), with their geometry and output positions. */
  *slices(first = 0, last = this.g.batch): Generator<{ start: number; count: number; positions: number; g: ConvGeometry }> {
    for (let start = first; start < last; start += this.slice) {
      const count = Math.min(this.slice, last - start);
      yield { start, count, positions: count * this.positionsPerItem, g: { ...this.g, batch: count } };
    }
  }

  get sliced(): boolean {
    return this.slice < this.g.batch;
  }

  make(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }

  free(...tensors: TensorInfo[]): void {
    for (const t of tensors) this.backend.disposeData(t.dataId);
  }

  offset(t: TensorInfo): number {
    return offsetOf(this.backend, t);
  }

  /** Byte address of float `floats` of t (what heapGemm takes). */
  bytes(t: TensorInfo, floats = 0): number {
    return 4 * (offsetOf(this.backend, t) + floats);
  }

  /** An output of zeros, for an empty batch (no slice runs; a filter gradient then is 0). */
  zeros(shape: number[]): TensorInfo {
    const t = this.make(shape);
    const at = this.offset(t);
    this.backend.wasm.HEAPF32.fill(0, at, at + shape.reduce((a, b) => a * b, 1));
    return t;
  }

  /** A fresh tensor holding rows [start, start + count) of a [rows, width] matrix. */
  rows(t: TensorInfo, width: number, start: number, count: number): TensorInfo {
    const part = this.make([count, width]);
    this.mover.copy(this.offset(t) + start * width, this.offset(part), count * width);
    return part;
  }
}

function conv2DInfo(inputs: NamedTensorInfoMap, attrs: NamedAttrMap | undefined): tf.backend_util.Conv2DInfo {
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, dilations } = attrs as unknown as ConvAttrs & { dilations: number | [number, number] };
  channelsLast(dataFormat, 'Conv2D');
  return tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, strides, dilations, pad, dimRoundingMode);
}

/**
 * Conv2D as registered: the stock XNNPACK convolution for stride-1 filters over 8 or more input
 * channels, where its indirect GEMM beats building columns (3×3 stride 1 over 32 channels of a
 * 16×32×32 batch: 8.7 ms vs 13.3 ms), else im2colConv2D: strided filters expand the input at most
 * (kh·kw)/(sh·sw) times, and the heap GEMM then wins (the DCGAN's 4×4 stride-2 convolution of
 * 64×14×14×64 into 128 channels: 22 ms vs 36 ms; of 1-channel 28×28 images: 1.1 ms vs 1.6 ms).
 * Never the stock kernel with a numeric pad: tfjs's conv_util then sizes the output with the
 * filter's height and stride for both axes, and the stock kernel, sizing it from the pads, fills
 * a wrongly shaped buffer.
 */
export const conv2D: KernelFunc = (args) => {
  const info = conv2DInfo(args.inputs, args.attrs);
  const original = stock.get('Conv2D');
  const { pad } = args.attrs as unknown as ConvAttrs;
  const stockable = typeof pad === 'string' || Array.isArray(pad);
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  if (original && stockable && !strided && info.inChannels >= STOCK_CONV2D_CHANNELS && !isPointwise(geometryOf(info))) return original.kernelFunc(args);
  return im2colConv2D(args);
};

/** y = conv(x, filter): columns[B·OH·OW, KH·KW·C] · filter[KH·KW·C, OC] is y in NHWC already. */
export const im2colConv2D: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const info = conv2DInfo(inputs, attrs);
  const g = gemmOf(backend as WasmBackend);
  if (g && info.outChannels % 4 === 0) return gemmConv2D(new Lowering(backend as WasmBackend, info, Math.min(columnBudget, CACHE_COLUMNS)), g, x, filter);
  const l = new Lowering(backend as WasmBackend, info);
  const { depth, outChannels } = l;
  if (l.g.batch === 0) return l.zeros(info.outShape);
  if (isPointwise(l.g)) return reshaped(matMul(l.backend, x, filter, l.g.batch * l.positionsPerItem, depth, outChannels), info.outShape);
  const columns = l.make([l.slice * l.positionsPerItem, depth]);
  // Unsliced, the one matmul's output is y; sliced, each slice's is copied into place.
  let y: TensorInfo | null = null;
  for (const { start, positions, g } of l.slices()) {
    l.mover.im2col(l.offset(x) + start * l.imageSize, l.offset(columns), g);
    const part = matMul(l.backend, columns, filter, positions, depth, outChannels);
    if (!l.sliced) {
      y = part;
      break;
    }
    y ??= l.make(info.outShape);
    l.mover.copy(l.offset(part), l.offset(y) + start * l.positionsPerItem * outChannels, positions * outChannels);
    l.free(part);
  }
  l.free(columns);
  return reshaped(y as TensorInfo, info.outShape);
};

/**
 * dx = col2im(dy[B·OH·OW, OC] · filterᵀ[OC, KH·KW·C]). The filter is transposed explicitly (it is
 * small) because the WASM matmul's transposed-operand path is slow.
 */
export const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as ConvAttrs & { inputShape: Shape4 };
  channelsLast(dataFormat, 'Conv2DBackpropInput');
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode);
  const g = gemmOf(backend as WasmBackend);
  if (g && (info.filterHeight * info.filterWidth * info.inChannels) % 4 === 0) {
    return gemmBackpropInput(new Lowering(backend as WasmBackend, info, Math.min(columnBudget, CACHE_COLUMNS)), g, dy, filter);
  }
  const l = new Lowering(backend as WasmBackend, info);
  const { depth, outChannels } = l;
  if (l.g.batch === 0) return l.zeros(info.inShape);
  const filterT = l.make([outChannels, depth]);
  l.mover.transpose(l.offset(filter), l.offset(filterT), depth, outChannels);
  const pointwise = isPointwise(l.g);
  let dx: TensorInfo | null = null;
  for (const { start, positions, g } of l.slices()) {
    const dyPart = l.sliced ? l.rows(dy, outChannels, start * l.positionsPerItem, positions) : dy;
    const columns = matMul(l.backend, dyPart, filterT, positions, outChannels, depth);
    if (dyPart !== dy) l.free(dyPart);
    if (pointwise && !l.sliced) {
      dx = columns;
      break;
    }
    dx ??= l.make(info.inShape);
    const to = l.offset(dx) + start * l.imageSize;
    if (pointwise) l.mover.copy(l.offset(columns), to, positions * depth);
    else l.mover.col2im(l.offset(columns), to, g);
    l.free(columns);
  }
  l.free(filterT);
  return reshaped(dx as TensorInfo, info.inShape);
};

/**
 * dW = columnsᵀ[KH·KW·C, B·OH·OW] · dy[B·OH·OW, OC], summed over batch slices. (dyᵀ·columns would
 * make the big column matrix the matmul's right operand, which XNNPACK repacks at ~5 ns a float.)
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as ConvAttrs & { filterShape: Shape4 };
  channelsLast(dataFormat, 'Conv2DBackpropFilter');
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode);
  const g = gemmOf(backend as WasmBackend);
  if (g && info.outChannels % 4 === 0)
    return gemmBackpropFilter(new Lowering(backend as WasmBackend, info, Math.min(columnBudget, CACHE_COLUMNS)), g, x, dy, filterShape);
  const l = new Lowering(backend as WasmBackend, info);
  const { depth, outChannels } = l;
  if (l.g.batch === 0) return l.zeros(filterShape);
  const columnsT = l.make([depth, l.slice * l.positionsPerItem]);
  let dw: TensorInfo | null = null;
  for (const { start, positions, g } of l.slices()) {
    l.mover.im2colTransposed(l.offset(x) + start * l.imageSize, l.offset(columnsT), g);
    // A fresh right operand per slice: XNNPACK's packed-weights cache is keyed by tensor id.
    const dyPart = l.sliced ? l.rows(dy, outChannels, start * l.positionsPerItem, positions) : dy;
    const part = matMul(l.backend, columnsT, dyPart, depth, positions, outChannels);
    if (dyPart !== dy) l.free(dyPart);
    if (dw === null) {
      dw = part;
    } else {
      l.mover.accumulate(l.offset(part), l.offset(dw), depth * outChannels);
      l.free(part);
    }
  }
  l.free(columnsT);
  return reshaped(dw as TensorInfo, filterShape);
};

// ---------------------------------------------------------------------------------------------
// The heap-GEMM paths: the filter (or dy) packed once, each batch slice's columns built into a
// buffer that stays in cache and multiplied straight into the output (or, for dx, scattered back
// from there), split across the heap's worker threads where there are any (heapThreads.ts). The
// paths above remain for matrices the GEMM does not take (an output width that is not a multiple
// of 4) and heaps without SIMD, on one thread.

/** The heap GEMM, where it and the SIMD data movement the heap-GEMM paths use both run. */
function gemmOf(backend: WasmBackend): HeapGemm | null {
  const memory = backend.wasm.asm?.memory;
  return heapSimd(memory) ? heapGemm(memory) : null;
}

/** [from, to) of `units` split in `parts` near-equal runs. */
function runs(units: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, t) => [Math.floor((t * units) / parts), Math.floor(((t + 1) * units) / parts)]);
}

/**
 * The pool and how many tasks a convolution is split into (heapThreads.ts): at most `perThread`
 * a thread and one per independent unit of work (batch items, filter taps or column quads); 1 and
 * no pool for small work or one thread.
 */
function tasksFor(l: Lowering, units: number, perThread: number): { pool: HeapThreads | null; lanes: number } {
  const pool = heapThreads(l.backend.wasm.asm?.memory);
  const lanes = pool ? pool.tasksFor(2 * l.g.batch * l.positionsPerItem * l.depth * l.outChannels, units, perThread) : 1;
  return { pool: lanes > 1 ? pool : null, lanes };
}

/** Runs each task: on the pool, or directly on this thread with the routines themselves. */
function runLanes(pool: HeapThreads | null, lanes: number, g: HeapGemm, simd: HeapSimd, work: (lane: Lane) => void): void {
  if (pool) pool.run(work, lanes);
  else work({ index: 0, lanes: 1, gemm: g, simd });
}

/** The SIMD routines of the heap (the heap-GEMM paths need them; the JS loops are for heaps without SIMD). */
function simdOf(l: Lowering): HeapSimd {
  const simd = heapSimd(l.backend.wasm.asm?.memory);
  if (!simd) throw new Error('wasmConv: no SIMD routines on the heap');
  return simd;
}

/**
 * y = im2col(x)·filter, a slice at a time (a 1×1 convolution multiplies x itself). Tasks take
 * contiguous runs of batch items, each with its own column buffer.
 */
function gemmConv2D(l: Lowering, g: HeapGemm, x: TensorInfo, filter: TensorInfo): TensorInfo {
  const { depth, outChannels, positionsPerItem } = l;
  if (l.g.batch === 0) return l.zeros(l.info.outShape);
  const simd = simdOf(l);
  const { pool, lanes } = tasksFor(l, l.g.batch, 4);
  const panels = l.make([depth * outChannels]);
  packAll(g, l.bytes(filter), depth, outChannels, l.bytes(panels));
  const y = l.make(l.info.outShape);
  const pointwise = isPointwise(l.g);
  const columnFloats = l.slice * positionsPerItem * depth;
  const columns = pointwise ? null : l.make([lanes * columnFloats]);
  const items = runs(l.g.batch, lanes);
  runLanes(pool, lanes, g, simd, (lane) => {
    const [first, last] = items[lane.index];
    const laneColumns = columns ? l.bytes(columns, lane.index * columnFloats) : 0;
    for (const { start, positions, g: sliceGeometry } of l.slices(first, last)) {
      const from = 4 * (l.offset(x) + start * l.imageSize);
      if (columns) {
        const list = l.mover.runs(sliceGeometry);
        lane.simd.gather(list.pointer, list.count, from, laneColumns);
      }
      multiplyPacked(
        lane.gemm,
        columns ? laneColumns : from,
        l.bytes(panels),
        l.bytes(y, start * positionsPerItem * outChannels),
        positions,
        outChannels,
        depth,
        false,
      );
    }
  });
  l.free(panels, ...(columns ? [columns] : []));
  return reshaped(y, l.info.outShape);
}

/** dx = col2im(dy·filterᵀ), a slice at a time; tasks take contiguous runs of batch items. */
function gemmBackpropInput(l: Lowering, g: HeapGemm, dy: TensorInfo, filter: TensorInfo): TensorInfo {
  const { depth, outChannels, positionsPerItem } = l;
  if (l.g.batch === 0) return l.zeros(l.info.inShape);
  const simd = simdOf(l);
  const { pool, lanes } = tasksFor(l, l.g.batch, 4);
  const filterT = l.make([outChannels, depth]);
  l.mover.transpose(l.offset(filter), l.offset(filterT), depth, outChannels);
  const panels = l.make([outChannels * depth]);
  packAll(g, l.bytes(filterT), outChannels, depth, l.bytes(panels));
  l.free(filterT);
  const dx = l.make(l.info.inShape);
  const pointwise = isPointwise(l.g);
  const columnFloats = l.slice * positionsPerItem * depth;
  const columns = pointwise ? null : l.make([lanes * columnFloats]);
  const items = runs(l.g.batch, lanes);
  runLanes(pool, lanes, g, simd, (lane) => {
    const [first, last] = items[lane.index];
    const laneColumns = columns ? l.bytes(columns, lane.index * columnFloats) : 0;
    for (const { start, count, positions, g: sliceGeometry } of l.slices(first, last)) {
      const to = l.bytes(dx, start * l.imageSize);
      multiplyPacked(
        lane.gemm,
        l.bytes(dy, start * positionsPerItem * outChannels),
        l.bytes(panels),
        columns ? laneColumns : to,
        positions,
        depth,
        outChannels,
        false,
      );
      if (columns) {
        // col2im: the slice's dx zeroed, then every column added back onto the input position it came from.
        const list = l.mover.runs(sliceGeometry);
        lane.simd.zero(to, 4 * count * l.imageSize);
        lane.simd.scatterAdd(list.pointer, list.count, to, laneColumns);
      }
    }
  });
  l.free(panels, ...(columns ? [columns] : []));
  return reshaped(dx, l.info.inShape);
}

/**
 * dW = Σ over slices of columnsᵀ·dy, accumulated in place. With input channels in fours the
 * transposed column matrix is gathered directly (heapSimd's gatherTransposed, its rows padded to a
 * multiple of 4 positions so the gather needs no ragged tail) and multiplied as is; tasks then take
 * runs of filter taps, i.e. rows of dW, each gathering only its taps' rows. Otherwise the plain
 * im2col matrix is built and the GEMM reads it transposed, which beats gathering it transposed in
 * two passes (1-channel images: 1.0 ms vs 1.2-2.3); tasks then take columns of dW. (Reading a
 * 1024-deep column matrix transposed strides 4 KiB between rows, which thrashes L1: 23 ms vs 20.5.)
 * Either way each element of dW is summed over the slices in order by one task, as on one thread.
 */
function gemmBackpropFilter(l: Lowering, g: HeapGemm, x: TensorInfo, dy: TensorInfo, filterShape: Shape4): TensorInfo {
  const { depth, outChannels, positionsPerItem } = l;
  if (l.g.batch === 0) return l.zeros(filterShape);
  const simd = simdOf(l);
  const channels = l.g.inChannels;
  const dw = l.make(filterShape);
  const sliceDy = (start: number) => l.bytes(dy, start * positionsPerItem * outChannels);
  if (channels % 4 === 0) {
    const taps = l.g.filterHeight * l.g.filterWidth;
    // (Each task packs every slice's dy for itself: few tasks a thread.)
    const { pool, lanes } = tasksFor(l, taps, 2);
    const stride = 4 * Math.ceil((l.slice * positionsPerItem) / 4);
    const tapRuns = runs(taps, lanes);
    const columnFloats = Math.max(...tapRuns.map(([from, to]) => (to - from) * channels)) * stride;
    const panelFloats = l.slice * positionsPerItem * outChannels;
    const columns = l.make([lanes * columnFloats]);
    const panels = l.make([lanes * panelFloats]);
    runLanes(pool, lanes, g, simd, (lane) => {
      const [first, last] = tapRuns[lane.index];
      const [laneColumns, lanePanels] = [l.bytes(columns, lane.index * columnFloats), l.bytes(panels, lane.index * panelFloats)];
      for (const { start, positions, g: sliceGeometry } of l.slices()) {
        const table = l.mover.taps(sliceGeometry);
        const from = l.bytes(x, start * l.imageSize);
        const padded = 4 * Math.ceil(positions / 4);
        // Rows `padded` floats apart; the gather's last group of 4 positions reads past the tap's
        // table (into the next tap's or the zeros after the last), filling padding never multiplied.
        for (let t = first; t < last; t++) {
          lane.simd.gatherTransposed(
            table.pointer + 4 * t * positions,
            padded,
            channels,
            from,
            table.zeros,
            laneColumns + 4 * (t - first) * channels * padded,
            4 * padded,
          );
        }
        packAll(lane.gemm, sliceDy(start), positions, outChannels, lanePanels);
        const rows = (last - first) * channels;
        multiplyPacked(lane.gemm, laneColumns, lanePanels, l.bytes(dw, first * channels * outChannels), rows, outChannels, positions, start > 0, {
          lda: 4 * padded,
        });
      }
    });
    l.free(columns, panels);
    return reshaped(dw, filterShape);
  }
  const { pool, lanes } = tasksFor(l, outChannels / 4, 2);
  const quads = runs(outChannels / 4, lanes);
  const columns = l.make([l.slice * positionsPerItem, depth]);
  const panelFloats = l.slice * positionsPerItem * outChannels;
  const panels = l.make([panelFloats]);
  for (const { start, positions, g: sliceGeometry } of l.slices()) {
    l.mover.im2col(l.offset(x) + start * l.imageSize, l.offset(columns), sliceGeometry);
    runLanes(pool, lanes, g, simd, (lane) => {
      const [first, last] = quads[lane.index].map((q) => 4 * q);
      // Each lane packs its own columns of dy into its own part of the panel buffer.
      const lanePanels = l.bytes(panels, positions * first);
      packAll(lane.gemm, sliceDy(start) + 4 * first, positions, last - first, lanePanels, 4 * outChannels);
      multiplyPacked(lane.gemm, l.bytes(columns), lanePanels, l.bytes(dw, first), depth, last - first, positions, start > 0, {
        transposedA: true,
        ldc: 4 * outChannels,
      });
    });
  }
  l.free(columns, panels);
  return reshaped(dw, filterShape);
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
    // The stock setupFunc binds the WASM entry points the stock kernel (still called by conv2D) needs.
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: original?.setupFunc, disposeFunc: original?.disposeFunc });
  }
  installed = true;
}
