/**
 * The data movement of the convolution kernels on the WASM heap: heapSimd's SIMD loops where they
 * run, else im2col.ts's JS loops. Offsets are float indices into HEAPF32; the heap view is fetched
 * afresh at each use because any allocation may grow (and so replace) the heap's buffer.
 */
import { heapSimd } from './heapSimd';
import type { HeapSimd } from './heapSimd';
import { col2im, im2col, im2colTransposed, runList, tapTable, transpose2d } from './im2col';
import type { ConvGeometry } from './im2col';

/** The parts of tfjs-backend-wasm's BackendWasm used here (its typings lean on Emscripten's). */
export interface WasmHeap {
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  asm?: { memory?: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/** An index list copied onto the heap, followed by `zeros` zero floats. */
interface ListOnHeap {
  pointer: number;
  length: number;
}

/** Index lists per heap, kind and geometry; a training run sees a handful of geometries. */
const lists = new WeakMap<WebAssembly.Memory, Map<string, ListOnHeap>>();
const MAX_LISTS = 32;

/** Tiles per SIMD transpose call: 16×16 was fastest measured (3136×1024 in 1.6 ms; JS: 5.9 ms). */
const TRANSPOSE_BLOCK = 16;

export class HeapMover {
  private readonly memory: WebAssembly.Memory | undefined;
  private readonly simd: HeapSimd | null;

  /** `allocate` makes a scratch buffer of n floats and returns its offset and a disposer. */
  constructor(
    private readonly wasm: WasmHeap,
    private readonly allocate: (floats: number) => { offset: number; dispose: () => void },
  ) {
    this.memory = wasm.asm?.memory;
    this.simd = heapSimd(this.memory);
  }

  /** Whether the SIMD routines are in use (the JS loops otherwise). */
  get usesSimd(): boolean {
    return this.simd !== null;
  }

  private heap(): Float32Array {
    return this.wasm.HEAPF32;
  }

  /**
   * The run list (kind 'runs': [input, column, bytes] triples; `length` ints) or tap table ('taps')
   * of a geometry on the heap, made once and kept among the last MAX_LISTS used. Kernels that
   * plan work for several threads (heapThreads.ts) take these before the threads start, and never
   * more than MAX_LISTS for one plan, so none they hold is freed before it runs.
   */
  private list(memory: WebAssembly.Memory, kind: 'runs' | 'taps', g: ConvGeometry): ListOnHeap {
    let cache = lists.get(memory);
    if (!cache) lists.set(memory, (cache = new Map()));
    const key = `${kind}:${Object.values(g).join(',')}`;
    let list = cache.get(key);
    if (list) {
      // Most recently used last, so the oldest one goes first.
      cache.delete(key);
      cache.set(key, list);
    } else {
      if (cache.size >= MAX_LISTS) {
        const [oldestKey, oldest] = cache.entries().next().value as [string, ListOnHeap];
        this.wasm._free(oldest.pointer);
        cache.delete(oldestKey);
      }
      const values = kind === 'runs' ? runList(g) : tapTable(g);
      // The tap table is followed by a pixel's worth of zeros, read for the padding.
      const zeros = kind === 'taps' ? g.inChannels : 0;
      const pointer = this.wasm._malloc(values.byteLength + 4 * zeros);
      this.wasm.HEAP32.set(values, pointer / 4);
      this.wasm.HEAP32.fill(0, pointer / 4 + values.length, pointer / 4 + values.length + zeros);
      list = { pointer, length: values.length };
      cache.set(key, list);
    }
    return list;
  }

  /** A geometry's run list for heapSimd's gather and scatterAdd: byte address and runs (SIMD only). */
  runs(g: ConvGeometry): { pointer: number; count: number } {
    if (!this.memory) throw new Error('HeapMover: no heap memory');
    const list = this.list(this.memory, 'runs', g);
    return { pointer: list.pointer, count: list.length / 3 };
  }

  /**
   * A geometry's tap table for heapSimd's gatherTransposed: tap t's source offsets at byte
   * `pointer + 4·t·positions`, and after the last tap, at byte `zeros`, inChannels zero floats.
   */
  taps(g: ConvGeometry): { pointer: number; zeros: number } {
    if (!this.memory) throw new Error('HeapMover: no heap memory');
    const list = this.list(this.memory, 'taps', g);
    return { pointer: list.pointer, zeros: list.pointer + 4 * list.length };
  }

  /** columns[B·OH·OW, KH·KW·C] ← x's receptive fields. */
  im2col(x: number, columns: number, g: ConvGeometry): void {
    if (this.simd && this.memory) {
      const list = this.list(this.memory, 'runs', g);
      this.simd.gather(list.pointer, list.length / 3, 4 * x, 4 * columns);
    } else {
      im2col(this.heap(), x, columns, g);
    }
  }

  /** dx ← the columns summed back onto the input positions they came from. */
  col2im(columns: number, dx: number, g: ConvGeometry): void {
    if (this.simd && this.memory) {
      const list = this.list(this.memory, 'runs', g);
      this.heap().fill(0, dx, dx + g.batch * g.inHeight * g.inWidth * g.inChannels);
      this.simd.scatterAdd(list.pointer, list.length / 3, 4 * dx, 4 * columns);
    } else {
      col2im(this.heap(), columns, dx, g);
    }
  }

  /** output[cols, rows] ← input[rows, cols]ᵀ */
  transpose(input: number, output: number, rows: number, cols: number): void {
    if (!this.simd) {
      transpose2d(this.heap(), input, output, rows, cols);
      return;
    }
    const [rows4, cols4] = [rows & ~3, cols & ~3];
    for (let r0 = 0; r0 < rows4; r0 += TRANSPOSE_BLOCK) {
      for (let c0 = 0; c0 < cols4; c0 += TRANSPOSE_BLOCK) {
        const [r, c] = [Math.min(TRANSPOSE_BLOCK, rows4 - r0), Math.min(TRANSPOSE_BLOCK, cols4 - c0)];
        this.simd.transpose4(4 * (input + r0 * cols + c0), 4 * (output + c0 * rows + r0), r, c, 4 * cols, 4 * rows);
      }
    }
    // The ragged edges (rows or columns past a multiple of 4).
    const heap = this.heap();
    for (let r = 0; r < rows; r++) {
      for (let c = r < rows4 ? cols4 : 0; c < cols; c++) heap[output + c * rows + r] = heap[input + r * cols + c];
    }
  }

  /**
   * columnsᵀ[KH·KW·C, B·OH·OW]. With SIMD and channels in fours: gathered a tap at a time straight
   * from x (which stays in cache) and written once; otherwise im2col then a transpose, or one JS
   * gather without SIMD.
   */
  im2colTransposed(x: number, columnsT: number, g: ConvGeometry): void {
    const positions = g.batch * g.outHeight * g.outWidth;
    const c = g.inChannels;
    if (this.simd && this.memory && c % 4 === 0) {
      const taps = this.list(this.memory, 'taps', g);
      const zeros = taps.pointer + 4 * taps.length;
      const positions4 = positions & ~3;
      for (let t = 0; t < g.filterHeight * g.filterWidth; t++) {
        this.simd.gatherTransposed(taps.pointer + 4 * t * positions, positions4, c, 4 * x, zeros, 4 * (columnsT + t * c * positions), 4 * positions);
      }
      if (positions4 < positions) {
        const [heap, table] = [this.heap(), this.wasm.HEAP32];
        for (let t = 0; t < g.filterHeight * g.filterWidth; t++) {
          for (let n = positions4; n < positions; n++) {
            const source = table[taps.pointer / 4 + t * positions + n];
            for (let ch = 0; ch < c; ch++) heap[columnsT + (t * c + ch) * positions + n] = source < 0 ? 0 : heap[x + source / 4 + ch];
          }
        }
      }
      return;
    }
    if (!this.simd) {
      im2colTransposed(this.heap(), x, columnsT, g);
      return;
    }
    const depth = g.filterHeight * g.filterWidth * c;
    const columns = this.allocate(positions * depth);
    this.im2col(x, columns.offset, g);
    this.transpose(columns.offset, columnsT, positions, depth);
    columns.dispose();
  }

  copy(from: number, to: number, floats: number): void {
    this.heap().copyWithin(to, from, from + floats);
  }

  /** to[i] += from[i] */
  accumulate(from: number, to: number, floats: number): void {
    const heap = this.heap();
    for (let i = 0; i < floats; i++) heap[to + i] += heap[from + i];
  }
}
