/**
 * WebAssembly SIMD loops that run directly on the tfjs WASM backend's heap (they import its
 * memory), for the data movement around the convolution matmuls. JS typed-array loops manage
 * about 1.5 ns a float for the col2im accumulation and the column transpose; these do 4 floats per
 * instruction and, walking a precomputed run list, pay no per-run call overhead either (runs are
 * 4 floats long for a one-channel image). Assembled here from a few dozen opcodes, as there is no
 * toolchain to build a .wasm at install time. Absent when WebAssembly SIMD is missing; callers
 * then use the JS loops in im2col.ts.
 */

import {
  add,
  assemble,
  block,
  br,
  brIf,
  bump,
  end,
  eqz,
  f32Add,
  f32x4Add,
  geU,
  get,
  I32,
  i32,
  i32Load,
  i32Store,
  ifVoid,
  instantiate,
  loop,
  ltS,
  ltU,
  memoryFill,
  mul,
  orElse,
  select,
  set,
  shl,
  shuffle,
  tee,
  V128,
  vLoad,
  vStore,
  vZero,
} from './wasmAssembler';
import type { AssembledFunction } from './wasmAssembler';

const f32Load = [0x2a, 0, 0];
const f32Store = [0x38, 0, 0];
const vLoad0 = vLoad();
const vStore0 = vStore();

/**
 * A run list is [input, column, bytes] int32 triples: `bytes` of the column matrix starting at
 * byte `column` (from its base) hold x from byte `input` (from x's base), or zeros when input < 0.
 * The body walks the list; `inside` handles one run with dst/src/len locals ready.
 */
function runWalker(
  inside: (dst: number, src: number, len: number) => number[],
  padding: (dst: number, len: number) => number[],
  pickDst: 'column' | 'input',
): number[] {
  // params: 0 list, 1 count, 2 inputBase, 3 columnBase; locals: 4 end, 5 input, 6 dst, 7 len, 8 src
  const [list, count, inputBase, columnBase, endAt, input, dst, len, src] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  return [
    ...get(list),
    ...get(count),
    ...i32(12),
    ...mul,
    ...add,
    ...set(endAt),
    ...block,
    ...loop,
    ...get(list),
    ...get(endAt),
    ...geU,
    ...brIf(1),
    ...get(list),
    ...i32Load(0),
    ...set(input),
    ...get(list),
    ...i32Load(8),
    ...set(len),
    // dst and src: the column side and the input side, one way round or the other.
    ...(pickDst === 'column'
      ? [...get(columnBase), ...get(list), ...i32Load(4), ...add, ...set(dst), ...get(inputBase), ...get(input), ...add, ...set(src)]
      : [...get(inputBase), ...get(input), ...add, ...set(dst), ...get(columnBase), ...get(list), ...i32Load(4), ...add, ...set(src)]),
    ...bump(list, 12),
    ...get(input),
    ...i32(0),
    ...ltS,
    ...ifVoid,
    ...padding(dst, len),
    ...orElse,
    ...inside(dst, src, len),
    ...end,
    ...br(0),
    ...end,
    ...end,
  ];
}

/** while (len >= 16) { body; dst += 16; src += 16; len -= 16 } then the same 4 bytes at a time. */
function simdThenScalar(dst: number, src: number | null, len: number, vector: number[], scalar: number[]): number[] {
  const step = (n: number) => [...bump(dst, n), ...(src === null ? [] : bump(src, n)), ...bump(len, -n)];
  return [
    ...block,
    ...loop,
    ...get(len),
    ...i32(16),
    ...ltU,
    ...brIf(1),
    ...vector,
    ...step(16),
    ...br(0),
    ...end,
    ...end,
    ...block,
    ...loop,
    ...get(len),
    ...eqz,
    ...brIf(1),
    ...scalar,
    ...step(4),
    ...br(0),
    ...end,
    ...end,
  ];
}

const zeroRun = (dst: number, len: number) => simdThenScalar(dst, null, len, [...get(dst), ...vZero, ...vStore0], [...get(dst), ...i32(0), ...i32Store]);

/** gather(list, count, xBase, columnsBase): im2col along a run list. */
const gatherBody = runWalker(
  (dst, src, len) => simdThenScalar(dst, src, len, [...get(dst), ...get(src), ...vLoad0, ...vStore0], [...get(dst), ...get(src), ...i32Load(0), ...i32Store]),
  zeroRun,
  'column',
);

/** scatterAdd(list, count, dxBase, columnsBase): col2im's accumulation along a run list (dx pre-zeroed). */
const scatterAddBody = runWalker(
  (dst, src, len) =>
    simdThenScalar(
      dst,
      src,
      len,
      [...get(dst), ...get(dst), ...vLoad0, ...get(src), ...vLoad0, ...f32x4Add, ...vStore0],
      [...get(dst), ...get(dst), ...f32Load, ...get(src), ...f32Load, ...f32Add, ...f32Store],
    ),
  () => [],
  'input',
);

/**
 * transpose4(src, dst, rows, cols, srcStride, dstStride): dst[c][r] = src[r][c] for rows and
 * cols multiples of 4, strides in bytes, in 4×4 tiles transposed in registers.
 */
function transposeBody(): number[] {
  const [src, dst, rows, cols, srcStride, dstStride, r, c, a, b] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r0, r1, r2, r3, t0, t1, t2, t3] = [10, 11, 12, 13, 14, 15, 16, 17];
  const rowAt = (k: number) => (k === 0 ? get(a) : [...get(a), ...get(srcStride), ...i32(k), ...mul, ...add]);
  const outAt = (k: number) => (k === 0 ? get(b) : [...get(b), ...get(dstStride), ...i32(k), ...mul, ...add]);
  const pair = (x: number, y: number, lanes: number[]) => [...get(x), ...get(y), ...shuffle(lanes)];
  return [
    ...i32(0),
    ...set(r),
    ...block,
    ...loop,
    ...get(r),
    ...get(rows),
    ...geU,
    ...brIf(1),
    ...i32(0),
    ...set(c),
    ...block,
    ...loop,
    ...get(c),
    ...get(cols),
    ...geU,
    ...brIf(1),
    ...get(src),
    ...get(r),
    ...get(srcStride),
    ...mul,
    ...add,
    ...get(c),
    ...i32(2),
    ...shl,
    ...add,
    ...set(a),
    ...[r0, r1, r2, r3].flatMap((v, k) => [...rowAt(k), ...vLoad0, ...set(v)]),
    ...pair(r0, r1, [0, 4, 1, 5]),
    ...set(t0),
    ...pair(r0, r1, [2, 6, 3, 7]),
    ...set(t1),
    ...pair(r2, r3, [0, 4, 1, 5]),
    ...set(t2),
    ...pair(r2, r3, [2, 6, 3, 7]),
    ...set(t3),
    ...get(dst),
    ...get(c),
    ...get(dstStride),
    ...mul,
    ...add,
    ...get(r),
    ...i32(2),
    ...shl,
    ...add,
    ...set(b),
    ...outAt(0),
    ...pair(t0, t2, [0, 1, 4, 5]),
    ...vStore0,
    ...outAt(1),
    ...pair(t0, t2, [2, 3, 6, 7]),
    ...vStore0,
    ...outAt(2),
    ...pair(t1, t3, [0, 1, 4, 5]),
    ...vStore0,
    ...outAt(3),
    ...pair(t1, t3, [2, 3, 6, 7]),
    ...vStore0,
    ...bump(c, 4),
    ...br(0),
    ...end,
    ...end,
    ...bump(r, 4),
    ...br(0),
    ...end,
    ...end,
  ];
}

/**
 * gatherTransposed(table, count, channels, xBase, zeroBase, out, rowStride): for positions
 * n < count (a multiple of 4) and channels c < channels (a multiple of 4),
 * out[c·rowStride + 4n] = x[table[n] + 4c], table[n] < 0 reading zeroBase instead: one filter tap's
 * slice of the transposed column matrix, gathered 4 positions × 4 channels at a time and
 * transposed in registers, so x (small) is read where it lies and the output written once.
 */
function gatherTransposedBody(): number[] {
  const [table, count, channels, xBase, zeroBase, out, rowStride] = [0, 1, 2, 3, 4, 5, 6];
  const [n, c, d, channelBytes] = [7, 8, 9, 10];
  const sources = [11, 12, 13, 14];
  const [r0, r1, r2, r3, t0, t1, t2, t3] = [15, 16, 17, 18, 19, 20, 21, 22];
  const pair = (x: number, y: number, lanes: number[]) => [...get(x), ...get(y), ...shuffle(lanes)];
  const outAt = (k: number) => (k === 0 ? get(d) : [...get(d), ...get(rowStride), ...i32(k), ...mul, ...add]);
  // s_j = table[n + j] < 0 ? zeroBase : xBase + table[n + j]
  const source = (j: number) => [
    ...get(zeroBase),
    ...get(xBase),
    ...get(table),
    ...get(n),
    ...i32(2),
    ...shl,
    ...add,
    ...i32Load(4 * j),
    ...tee(sources[j]),
    ...add,
    ...get(sources[j]),
    ...i32(0),
    ...ltS,
    ...select,
    ...set(sources[j]),
  ];
  return [
    ...get(channels),
    ...i32(2),
    ...shl,
    ...set(channelBytes),
    ...i32(0),
    ...set(n),
    ...block,
    ...loop,
    ...get(n),
    ...get(count),
    ...geU,
    ...brIf(1),
    ...[0, 1, 2, 3].flatMap(source),
    ...get(out),
    ...get(n),
    ...i32(2),
    ...shl,
    ...add,
    ...set(d),
    ...i32(0),
    ...set(c),
    ...block,
    ...loop,
    ...get(c),
    ...get(channelBytes),
    ...geU,
    ...brIf(1),
    ...[r0, r1, r2, r3].flatMap((v, j) => [...get(sources[j]), ...get(c), ...add, ...vLoad0, ...set(v)]),
    ...pair(r0, r1, [0, 4, 1, 5]),
    ...set(t0),
    ...pair(r0, r1, [2, 6, 3, 7]),
    ...set(t1),
    ...pair(r2, r3, [0, 4, 1, 5]),
    ...set(t2),
    ...pair(r2, r3, [2, 6, 3, 7]),
    ...set(t3),
    ...outAt(0),
    ...pair(t0, t2, [0, 1, 4, 5]),
    ...vStore0,
    ...outAt(1),
    ...pair(t0, t2, [2, 3, 6, 7]),
    ...vStore0,
    ...outAt(2),
    ...pair(t1, t3, [0, 1, 4, 5]),
    ...vStore0,
    ...outAt(3),
    ...pair(t1, t3, [2, 3, 6, 7]),
    ...vStore0,
    ...get(d),
    ...get(rowStride),
    ...i32(2),
    ...shl,
    ...add,
    ...set(d),
    ...bump(c, 16),
    ...br(0),
    ...end,
    ...end,
    ...bump(n, 4),
    ...br(0),
    ...end,
    ...end,
  ];
}

/** zero(dst, bytes): memory.fill with zeros, for worker threads, which have no JS view of the heap. */
const zeroBody = [...get(0), ...i32(0), ...get(1), ...memoryFill];

const FUNCTIONS: AssembledFunction[] = [
  { name: 'gather', params: [I32, I32, I32, I32], locals: [[5, I32]], code: gatherBody },
  { name: 'scatterAdd', params: [I32, I32, I32, I32], locals: [[5, I32]], code: scatterAddBody },
  {
    name: 'transpose4',
    params: [I32, I32, I32, I32, I32, I32],
    locals: [
      [4, I32],
      [8, V128],
    ],
    code: transposeBody(),
  },
  {
    name: 'gatherTransposed',
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [
      [8, I32],
      [8, V128],
    ],
    code: gatherTransposedBody(),
  },
  { name: 'zero', params: [I32, I32], locals: [], code: zeroBody },
];

/** The module's bytes (tests check that it validates). */
export function heapSimdModule(): Uint8Array<ArrayBuffer> {
  return assemble(FUNCTIONS);
}

export interface HeapSimd {
  /** im2col along a run list: byte addresses throughout. */
  gather(list: number, count: number, xBase: number, columnsBase: number): void;
  /** col2im's accumulation along a run list into a zeroed dx. */
  scatterAdd(list: number, count: number, dxBase: number, columnsBase: number): void;
  /** dst[c][r] = src[r][c], rows and cols multiples of 4, strides in bytes. */
  transpose4(src: number, dst: number, rows: number, cols: number, srcStride: number, dstStride: number): void;
  /** One filter tap of columnsᵀ: out[c·rowStride + 4n] = x[table[n] + 4c] (bytes; zeros for table[n] < 0). */
  gatherTransposed(table: number, count: number, channels: number, xBase: number, zeroBase: number, out: number, rowStride: number): void;
  /** `bytes` zero bytes from byte `dst`. */
  zero(dst: number, bytes: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, HeapSimd | null>();

/** The routines bound to one heap, or null where they cannot run (shared heap, no SIMD). */
export function heapSimd(memory: WebAssembly.Memory | undefined): HeapSimd | null {
  if (!memory) return null;
  let instance = instances.get(memory);
  if (instance === undefined) {
    instance = instantiate<HeapSimd>(memory, FUNCTIONS);
    instances.set(memory, instance);
  }
  return instance;
}
