/**
 * A single-precision matrix product C = A·B on the WASM heap (row-major), for the WASM backend's
 * BatchMatMul and through it the convolution kernels. XNNPACK, the backend's own matmul, repacks B
 * into its blocked layout on every call with a new B, at ~7 ns a float: for products with few rows
 * that costs as much as the arithmetic (measured: 64×100 · 100×6272 7.7 ms with a fresh B, 3.3 ms
 * with a cached one), and in training B is fresh every time (new weights, new gradients).
 *
 * Here B is copied a k-block at a time into column panels 8 floats wide (a plain SIMD copy, ~0.3 ns
 * a float), and microkernels of 4 rows × 8 columns keep their 8 sums in registers while they walk
 * k, A's four floats loaded with immediate offsets and B's panel rows contiguous. k is blocked so a
 * panel stays in L1 and a block of A's rows in L2. With relaxed SIMD (f32x4.relaxed_madd, an FMA
 * on x86) each multiply-add is one instruction; without it, a multiply then an add.
 */
import {
  add,
  bump,
  call,
  end,
  f32x4Add,
  f32x4Mul,
  f32x4RelaxedMadd,
  geU,
  get,
  I32,
  i32,
  ifVoid,
  instantiate,
  load32Splat,
  leU,
  ltU,
  mul,
  select,
  relaxedSimdAvailable,
  orElse,
  set,
  shuffle,
  sub,
  V128,
  vLoad,
  vStore,
  vZero,
  whileLoop,
} from './wasmAssembler';
import type { AssembledFunction, ValueType } from './wasmAssembler';

/** Rows of A per block: with the depth block, 64 × 256 floats of A stay in L2. */
export const ROW_BLOCK = 64;
/** Depth per block: a 256 × 8 panel of B (8 KiB) stays in L1. */
export const DEPTH_BLOCK = 256;

/**
 * micro{rows}x{4·vectors}(a, panel, c, k, lda, ldc, accumulate): for r < rows,
 * C[r][0..4v) = (accumulate ? C[r][0..4v) : 0) + Σ_k A[r][k]·panel[k][0..4v), where panel rows are
 * 16·vectors bytes apart. Byte addresses and strides.
 */
export function microKernel(rows: number, vectors: number, fma: boolean): AssembledFunction {
  const [a, panel, c, k, lda, ldc, accumulate] = [0, 1, 2, 3, 4, 5, 6];
  let next = 7;
  const aRow = [a, ...Array.from({ length: rows - 1 }, () => next++)];
  const cRow = next++;
  const i32Locals = next - 7;
  const acc = Array.from({ length: rows }, () => Array.from({ length: vectors }, () => next++));
  const bv = Array.from({ length: vectors }, () => next++);
  const av = next++;
  const v128Locals = next - 7 - i32Locals;
  const panelRow = 16 * vectors;

  /** One k: the panel row at byte offset `bOffset`, A's column at byte offset `aOffset` of each row. */
  const step = (bOffset: number, aOffset: number) => [
    ...bv.flatMap((v, j) => [...get(panel), ...vLoad(bOffset + 16 * j), ...set(v)]),
    ...aRow.flatMap((ap, r) => [
      ...get(ap),
      ...load32Splat(aOffset),
      ...set(av),
      ...bv.flatMap((v, j) =>
        fma
          ? [...get(av), ...get(v), ...get(acc[r][j]), ...f32x4RelaxedMadd, ...set(acc[r][j])]
          : [...get(acc[r][j]), ...get(av), ...get(v), ...f32x4Mul, ...f32x4Add, ...set(acc[r][j])],
      ),
    ]),
  ];
  const advance = (ks: number) => [...aRow.flatMap((p) => bump(p, 4 * ks)), ...bump(panel, ks * panelRow), ...bump(k, -ks)];
  const rowPointers = aRow.slice(1).flatMap((p, r) => [...get(aRow[r]), ...get(lda), ...add, ...set(p)]);
  const cAt = (r: number) => (r === 0 ? [...get(c), ...set(cRow)] : [...get(cRow), ...get(ldc), ...add, ...set(cRow)]);
  const code = [
    ...rowPointers,
    ...get(accumulate),
    ...ifVoid,
    ...acc.flatMap((row, r) => [...cAt(r), ...row.flatMap((v, j) => [...get(cRow), ...vLoad(16 * j), ...set(v)])]),
    ...orElse,
    ...acc.flat().flatMap((v) => [...vZero, ...set(v)]),
    ...end,
    // Four k at a time, every address an immediate offset from a pointer moved once.
    ...whileLoop([...get(k), ...i32(4), ...geU], [...[0, 1, 2, 3].flatMap((s) => step(s * panelRow, 4 * s)), ...advance(4)]),
    ...whileLoop([...i32(0), ...get(k), ...ltU], [...step(0, 0), ...advance(1)]),
    ...acc.flatMap((row, r) => [...cAt(r), ...row.flatMap((v, j) => [...get(cRow), ...get(v), ...vStore(16 * j)])]),
  ];
  const locals: [number, ValueType][] = [
    [i32Locals, I32],
    [v128Locals, V128],
  ];
  return { name: `micro${rows}x${4 * vectors}`, params: [I32, I32, I32, I32, I32, I32, I32], locals, code };
}

/**
 * microT{rows}x{4·vectors}(a, panel, c, k, lda, ldc, accumulate): the same product with A stored
 * transposed (A[r][k] at a + k·lda + 4r): the four rows' values at one k are one vector load,
 * spread to the lanes by shuffles. dW = xᵀ·dy and a convolution's filter gradient multiply so,
 * without transposing x first.
 */
export function microKernelTransposed(rows: number, vectors: number, fma: boolean): AssembledFunction {
  const [a, panel, c, k, lda, ldc, accumulate] = [0, 1, 2, 3, 4, 5, 6];
  const [a1, a2, a3, cRow] = [7, 8, 9, 10];
  let next = 11;
  const acc = Array.from({ length: rows }, () => Array.from({ length: vectors }, () => next++));
  const bv = Array.from({ length: vectors }, () => next++);
  const [av, column] = [next++, next++];
  const v128Locals = next - 11;
  const panelRow = 16 * vectors;
  const kRows = [a, a1, a2, a3];

  /** One k: the panel row at byte offset `bOffset`, the rows' values at k in A's row at pointer `ap`. */
  const step = (bOffset: number, ap: number) => [
    ...bv.flatMap((v, j) => [...get(panel), ...vLoad(bOffset + 16 * j), ...set(v)]),
    ...(rows > 1 ? [...get(ap), ...vLoad(), ...set(column)] : []),
    ...acc.flatMap((row, r) => [
      ...(rows > 1 ? [...get(column), ...get(column), ...shuffle([r, r, r, r])] : [...get(ap), ...load32Splat()]),
      ...set(av),
      ...bv.flatMap((v, j) =>
        fma
          ? [...get(av), ...get(v), ...get(row[j]), ...f32x4RelaxedMadd, ...set(row[j])]
          : [...get(row[j]), ...get(av), ...get(v), ...f32x4Mul, ...f32x4Add, ...set(row[j])],
      ),
    ]),
  ];
  const cAt = (r: number) => (r === 0 ? [...get(c), ...set(cRow)] : [...get(cRow), ...get(ldc), ...add, ...set(cRow)]);
  const nextRow = (from: number, to: number) => [...get(from), ...get(lda), ...add, ...set(to)];
  const code = [
    ...get(accumulate),
    ...ifVoid,
    ...acc.flatMap((row, r) => [...cAt(r), ...row.flatMap((v, j) => [...get(cRow), ...vLoad(16 * j), ...set(v)])]),
    ...orElse,
    ...acc.flat().flatMap((v) => [...vZero, ...set(v)]),
    ...end,
    ...whileLoop(
      [...get(k), ...i32(4), ...geU],
      [
        ...nextRow(a, a1),
        ...nextRow(a1, a2),
        ...nextRow(a2, a3),
        ...[0, 1, 2, 3].flatMap((s) => step(s * panelRow, kRows[s])),
        ...nextRow(a3, a),
        ...bump(panel, 4 * panelRow),
        ...bump(k, -4),
      ],
    ),
    ...whileLoop([...i32(0), ...get(k), ...ltU], [...step(0, a), ...nextRow(a, a), ...bump(panel, panelRow), ...bump(k, -1)]),
    ...acc.flatMap((row, r) => [...cAt(r), ...row.flatMap((v, j) => [...get(cRow), ...get(v), ...vStore(16 * j)])]),
  ];
  const locals: [number, ValueType][] = [
    [4, I32],
    [v128Locals, V128],
  ];
  return { name: `microT${rows}x${4 * vectors}`, params: [I32, I32, I32, I32, I32, I32, I32], locals, code };
}

/** Columns per panel of B: 4 rows × 12 columns of sums (12 registers) measured fastest (46 GF/s with FMA in L1, 4×8: 39). */
export const PANEL = 12;

/**
 * pack(b, panels, k, n, ldb): B[0..k)[0..n) (rows ldb bytes apart, n a multiple of 4) into panels
 * of 12 columns, each k rows of 48 bytes; the last one 8 or 4 columns wide when 12 does not divide n.
 */
function packFunction(): AssembledFunction {
  const [b, out, k, n, ldb, j, row, r, width, c] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const code = [
    ...i32(0),
    ...set(j),
    ...whileLoop(
      [...get(j), ...get(n), ...ltU],
      [
        // width = 4·min(12, n - j) bytes
        ...i32(4 * PANEL),
        ...get(n),
        ...get(j),
        ...sub,
        ...i32(4),
        ...mul,
        ...get(n),
        ...get(j),
        ...sub,
        ...i32(PANEL),
        ...geU,
        ...select,
        ...set(width),
        ...get(b),
        ...get(j),
        ...i32(4),
        ...mul,
        ...add,
        ...set(row),
        ...i32(0),
        ...set(r),
        ...whileLoop(
          [...get(r), ...get(k), ...ltU],
          [
            ...i32(0),
            ...set(c),
            ...whileLoop(
              [...get(c), ...get(width), ...ltU],
              [...get(out), ...get(c), ...add, ...get(row), ...get(c), ...add, ...vLoad(), ...vStore(), ...bump(c, 16)],
            ),
            ...get(out),
            ...get(width),
            ...add,
            ...set(out),
            ...get(row),
            ...get(ldb),
            ...add,
            ...set(row),
            ...bump(r, 1),
          ],
        ),
        ...bump(j, PANEL),
      ],
    ),
  ];
  return { name: 'pack', params: [I32, I32, I32, I32, I32], locals: [[5, I32]], code };
}

/** The microkernels, in module order: [4 rows, 1 row] for panels 12, 8 and 4 columns wide. */
const KERNELS = [
  [4, 3],
  [1, 3],
  [4, 2],
  [1, 2],
  [4, 1],
  [1, 1],
] as const;

/**
 * block(a, panels, c, m, n, k, lda, ldc, accumulate): C (+)= A·B for one depth block whose B is
 * packed in `panels`: for each block of 64 rows, each panel, each 4 rows, a microkernel call
 * (1-row ones for the last m % 4 rows). The loops are here rather than in JS because a call from
 * JS costs about what a microkernel with a small k computes.
 */
function blockFunction(transposedA: boolean): AssembledFunction {
  const [a, panels, c, m, n, k, lda, ldc, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i0, i1, j, i, panel, width, aAt, cAt] = [9, 10, 11, 12, 13, 14, 15, 16];
  /** aAt, cAt for row i, then the kernel for this panel's width (an if takes no operands, so each branch pushes the arguments). */
  const callMicro = (rows: number) => {
    const args = [aAt, panel, cAt, k, lda, ldc, accumulate].flatMap(get);
    const kernel = (vectors: number) => call((transposedA ? KERNELS.length : 0) + KERNELS.findIndex(([r, v]) => r === rows && v === vectors));
    return [
      // Row i of A: i rows down, or (stored transposed) i floats along.
      ...get(a),
      ...get(i),
      ...(transposedA ? i32(4) : get(lda)),
      ...mul,
      ...add,
      ...set(aAt),
      ...get(c),
      ...get(i),
      ...get(ldc),
      ...mul,
      ...add,
      ...get(j),
      ...i32(4),
      ...mul,
      ...add,
      ...set(cAt),
      ...get(width),
      ...i32(PANEL),
      ...geU,
      ...ifVoid,
      ...args,
      ...kernel(3),
      ...orElse,
      ...get(width),
      ...i32(8),
      ...geU,
      ...ifVoid,
      ...args,
      ...kernel(2),
      ...orElse,
      ...args,
      ...kernel(1),
      ...end,
      ...end,
    ];
  };
  const code = [
    ...i32(0),
    ...set(i0),
    ...whileLoop(
      [...get(i0), ...get(m), ...ltU],
      [
        // i1 = min(i0 + 64, m)
        ...get(i0),
        ...i32(ROW_BLOCK),
        ...add,
        ...get(m),
        ...get(i0),
        ...i32(ROW_BLOCK),
        ...add,
        ...get(m),
        ...ltU,
        ...select,
        ...set(i1),
        ...i32(0),
        ...set(j),
        ...whileLoop(
          [...get(j), ...get(n), ...ltU],
          [
            ...get(panels),
            ...get(k),
            ...get(j),
            ...mul,
            ...i32(4),
            ...mul,
            ...add,
            ...set(panel),
            ...get(n),
            ...get(j),
            ...sub,
            ...set(width),
            ...get(i0),
            ...set(i),
            ...whileLoop([...get(i), ...i32(4), ...add, ...get(i1), ...leU], [...callMicro(4), ...bump(i, 4)]),
            ...whileLoop([...get(i), ...get(i1), ...ltU], [...callMicro(1), ...bump(i, 1)]),
            ...bump(j, PANEL),
          ],
        ),
        ...bump(i0, ROW_BLOCK),
      ],
    ),
  ];
  return { name: transposedA ? 'blockTransposed' : 'block', params: [I32, I32, I32, I32, I32, I32, I32, I32, I32], locals: [[8, I32]], code };
}

type Micro = (a: number, panel: number, c: number, k: number, lda: number, ldc: number, accumulate: number) => void;

export interface HeapGemm {
  micro4x12: Micro;
  micro1x12: Micro;
  micro4x8: Micro;
  micro1x8: Micro;
  micro4x4: Micro;
  micro1x4: Micro;
  pack(b: number, panels: number, k: number, n: number, ldb: number): void;
  block(a: number, panels: number, c: number, m: number, n: number, k: number, lda: number, ldc: number, accumulate: number): void;
  blockTransposed(a: number, panels: number, c: number, m: number, n: number, k: number, lda: number, ldc: number, accumulate: number): void;
}

export function gemmFunctions(fma: boolean): AssembledFunction[] {
  return [
    ...KERNELS.map(([rows, vectors]) => microKernel(rows, vectors, fma)),
    ...KERNELS.map(([rows, vectors]) => microKernelTransposed(rows, vectors, fma)),
    packFunction(),
    blockFunction(false),
    blockFunction(true),
  ];
}

const instances = new Map<boolean, WeakMap<WebAssembly.Memory, HeapGemm | null>>();

/** The routines bound to one heap (with FMA where relaxed SIMD compiles), or null where they cannot run. */
export function heapGemm(memory: WebAssembly.Memory | undefined, fma = relaxedSimdAvailable()): HeapGemm | null {
  if (!memory) return null;
  let byMemory = instances.get(fma);
  if (!byMemory) instances.set(fma, (byMemory = new WeakMap()));
  let instance = byMemory.get(memory);
  if (instance === undefined) {
    instance = instantiate<HeapGemm>(memory, gemmFunctions(fma));
    byMemory.set(memory, instance);
  }
  return instance;
}

/** Floats of scratch gemm needs for B's panels. */
export function panelFloats(n: number, k: number): number {
  return Math.min(k, DEPTH_BLOCK) * n;
}

/** C = 0 for an empty sum, through the microkernels (they store even when they add nothing). */
function zeros(g: HeapGemm, c: number, m: number, n: number, ldc: number, scratch: number): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j += 4) g.micro1x4(scratch, scratch, c + i * ldc + 4 * j, 0, 0, ldc, 0);
}

/**
 * Layout of the operands, in bytes: row strides (defaults: dense rows), and whether A is stored
 * transposed ([k][m], so A[i][j] is at a + j·lda + 4i).
 */
export interface Layout {
  lda?: number;
  ldb?: number;
  ldc?: number;
  transposedA?: boolean;
}

/** A's rows from depth k0 on, and the block routine that reads A so. */
function aOperand(g: HeapGemm, a: number, m: number, k: number, layout: Layout) {
  const transposed = layout.transposedA ?? false;
  const lda = layout.lda ?? 4 * (transposed ? m : k);
  return { lda, at: (k0: number) => (transposed ? a + k0 * lda : a + 4 * k0), block: transposed ? g.blockTransposed : g.block };
}

/**
 * C[m][n] = A[m][k]·B[k][n], row-major (A possibly stored transposed), byte addresses; n a
 * multiple of 4; `panels` a scratch of panelFloats(n, k) floats.
 */
export function gemm(g: HeapGemm, a: number, b: number, c: number, m: number, n: number, k: number, panels: number, layout: Layout = {}): void {
  const { lda, at, block } = aOperand(g, a, m, k, layout);
  const [ldb, ldc] = [layout.ldb ?? 4 * n, layout.ldc ?? 4 * n];
  if (k === 0) zeros(g, c, m, n, ldc, panels);
  for (let k0 = 0; k0 < k; k0 += DEPTH_BLOCK) {
    const kk = Math.min(DEPTH_BLOCK, k - k0);
    g.pack(b + k0 * ldb, panels, kk, n, ldb);
    block(at(k0), panels, c, m, n, kk, lda, ldc, k0 > 0 ? 1 : 0);
  }
}

/**
 * B[k][n] packed once for several multiplyPacked calls (the convolution kernels multiply batch
 * slices by the same filter): every depth block's panels, k·n floats at `panels`.
 */
export function packAll(g: HeapGemm, b: number, k: number, n: number, panels: number, ldb = 4 * n): void {
  for (let k0 = 0; k0 < k; k0 += DEPTH_BLOCK) g.pack(b + k0 * ldb, panels + 4 * k0 * n, Math.min(DEPTH_BLOCK, k - k0), n, ldb);
}

/** C[m][n] = A[m][k]·B, or C += A·B with `accumulate`, for B packed by packAll. */
export function multiplyPacked(
  g: HeapGemm,
  a: number,
  panels: number,
  c: number,
  m: number,
  n: number,
  k: number,
  accumulate: boolean,
  layout: Layout = {},
): void {
  const { lda, at, block } = aOperand(g, a, m, k, layout);
  const ldc = layout.ldc ?? 4 * n;
  if (k === 0 && !accumulate) zeros(g, c, m, n, ldc, panels);
  for (let k0 = 0; k0 < k; k0 += DEPTH_BLOCK) {
    block(at(k0), panels + 4 * k0 * n, c, m, n, Math.min(DEPTH_BLOCK, k - k0), lda, ldc, accumulate || k0 > 0 ? 1 : 0);
  }
}

/** One lane's part of C: rows [row, row + rows) and columns [column, column + columns). */
export interface GemmShare {
  row: number;
  rows: number;
  column: number;
  columns: number;
}

/** [from, to) of `units` split in `parts` near-equal runs. */
function runs(units: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, t) => [Math.floor((t * units) / parts), Math.floor(((t + 1) * units) / parts)]);
}

/**
 * C[m][n] split in up to `columnTasks` shares by columns, in whole 12-wide panels (each share packs
 * only its columns of B and reads all of A), or up to `rowTasks` shares by rows, in fours (each
 * packs all of B), whichever leaves the largest share smaller (columns on a tie), with at least two
 * panels or eight rows a share; one share when neither has room. Every element of C is still summed
 * by one share over the whole depth in the same order, so the result does not depend on the split.
 */
export function gemmShares(m: number, n: number, columnTasks: number, rowTasks = columnTasks): GemmShare[] {
  const panels = Math.ceil(n / PANEL);
  const quads = Math.ceil(m / 4);
  const byColumns = Math.min(columnTasks, Math.floor(panels / 2));
  const byRows = Math.min(rowTasks, Math.floor(quads / 2));
  const columnShares = runs(panels, Math.max(1, byColumns)).map(([from, to]) => ({
    row: 0,
    rows: m,
    column: from * PANEL,
    columns: Math.min(n, to * PANEL) - from * PANEL,
  }));
  const rowShares = runs(quads, Math.max(1, byRows)).map(([from, to]) => ({ row: 4 * from, rows: Math.min(m, 4 * to) - 4 * from, column: 0, columns: n }));
  const largest = (shares: GemmShare[]) => Math.max(...shares.map((s) => s.rows * s.columns));
  if (byColumns < 2 && byRows < 2) return [{ row: 0, rows: m, column: 0, columns: n }];
  if (byRows < 2) return columnShares;
  if (byColumns < 2) return rowShares;
  return largest(columnShares) <= largest(rowShares) ? columnShares : rowShares;
}

/**
 * gemm restricted to one share of C: the same arguments as gemm, and `panels` a scratch of
 * panelFloats(share.columns, k) floats for this lane alone.
 */
export function gemmShare(
  g: HeapGemm,
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  panels: number,
  layout: Layout,
  share: GemmShare,
): void {
  const transposed = layout.transposedA ?? false;
  const lda = layout.lda ?? 4 * (transposed ? m : k);
  const [ldb, ldc] = [layout.ldb ?? 4 * n, layout.ldc ?? 4 * n];
  const aRows = transposed ? a + 4 * share.row : a + share.row * lda;
  gemm(g, aRows, b + 4 * share.column, c + share.row * ldc + 4 * share.column, share.rows, share.columns, k, panels, {
    lda,
    ldb,
    ldc,
    transposedA: transposed,
  });
}
