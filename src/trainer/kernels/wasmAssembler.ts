/**
 * A few dozen WebAssembly opcodes and a module writer, enough to hand-assemble the SIMD loops that
 * run on the tfjs WASM backend's heap (heapSimd.ts, heapMath.ts). There is no toolchain to build a
 * .wasm at install time, and the loops are short. Functions take i32 byte addresses and f32
 * constants; the module imports the backend's memory as env.memory.
 */
import v8 from 'node:v8';

/** Unsigned LEB128. */
export function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128. */
export function s32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F32 | typeof V128;

const simd = (op: number, ...immediates: number[]) => [0xfd, ...u32(op), ...immediates];

// The opcodes used, named after the text format.
export const get = (i: number) => [0x20, ...u32(i)];
export const set = (i: number) => [0x21, ...u32(i)];
export const tee = (i: number) => [0x22, ...u32(i)];
export const i32 = (n: number) => [0x41, ...s32(n)];
export const add = [0x6a];
export const sub = [0x6b];
export const mul = [0x6c];
export const shl = [0x74];
export const and = [0x71];
export const ltS = [0x48];
export const ltU = [0x49];
export const geU = [0x4f];
export const leU = [0x4d];
export const eqz = [0x45];
export const eq = [0x46];
export const select = [0x1b];
export const block = [0x02, 0x40];
export const loop = [0x03, 0x40];
export const ifVoid = [0x04, 0x40];
export const orElse = [0x05];
export const end = [0x0b];
export const br = (depth: number) => [0x0c, ...u32(depth)];
/** call of the module's function number `index` (its place in the list given to assemble). */
export const call = (index: number) => [0x10, ...u32(index)];
export const brIf = (depth: number) => [0x0d, ...u32(depth)];
/** Loads and stores take (alignment hint, offset); the hint 0 promises nothing. */
export const i32Load = (offset = 0) => [0x28, 0, ...u32(offset)];
export const i32Store = [0x36, 0, 0];
export const f32Load = (offset = 0) => [0x2a, 0, ...u32(offset)];
export const f32Store = (offset = 0) => [0x38, 0, ...u32(offset)];
export const f32Const = (x: number) => [0x43, ...new Uint8Array(Float32Array.of(x).buffer)];
export const f32Add = [0x92];
export const f32Sub = [0x93];
export const f32Mul = [0x94];
export const f32Div = [0x95];
export const f32Sqrt = [0x91];
export const f32Lt = [0x5d];
export const f32Gt = [0x5e];
export const f32Neg = [0x8c];
export const vLoad = (offset = 0) => simd(0x00, 0, ...u32(offset));
export const vStore = (offset = 0) => simd(0x0b, 0, ...u32(offset));
export const vZero = simd(0x0c, ...new Array<number>(16).fill(0));
export const f32x4Splat = simd(0x13);
/** v128.load32_splat: one float loaded into all four lanes. */
export const load32Splat = (offset = 0) => simd(0x09, 2, ...u32(offset));
export const f32x4Lt = simd(0x43);
export const f32x4Gt = simd(0x44);
/** bitselect(a, b, mask) = (a & mask) | (b & ~mask) */
export const bitselect = simd(0x52);
export const f32x4Sqrt = simd(0xe3);
export const f32x4Add = simd(0xe4);
export const f32x4Sub = simd(0xe5);
export const f32x4Mul = simd(0xe6);
export const f32x4Div = simd(0xe7);
/** f32x4.relaxed_madd(a, b, c) = a·b + c, fused where the hardware has FMA (relaxed SIMD). */
export const f32x4RelaxedMadd = simd(0x105);
/** i8x16.shuffle picking four f32 lanes of the pair (a: 0-3, b: 4-7). */
export const shuffle = (lanes: number[]) => simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
/** memory.fill(destination, byte, length) (bulk memory, on by default since V8 7.5). */
export const memoryFill = [0xfc, ...u32(11), 0x00];
/** local += n */
export const bump = (local: number, n: number) => [...get(local), ...i32(n), ...add, ...set(local)];

/** while (condition) body; `condition` leaves an i32 on the stack. */
export function whileLoop(condition: number[], body: number[]): number[] {
  return [...block, ...loop, ...condition, ...eqz, ...brIf(1), ...body, ...br(0), ...end, ...end];
}

export interface AssembledFunction {
  name: string;
  params: ValueType[];
  /** Locals after the parameters: [count, type] runs. */
  locals: [number, ValueType][];
  code: number[];
}

function section(id: number, content: number[]): number[] {
  return [id, ...u32(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

function name(text: string): number[] {
  return vector([...text].map((ch) => [ch.charCodeAt(0)]));
}

function body(locals: [number, ValueType][], code: number[]): number[] {
  const content = [...vector(locals.map(([n, type]) => [...u32(n), type])), ...code, ...end];
  return [...u32(content.length), ...content];
}

/** The largest wasm32 memory in pages (4 GiB), the maximum a shared memory import declares. */
export const MAX_PAGES = 65536;

/**
 * A module of void functions exported by name, importing its memory as env.memory: (memory 0), or
 * with `shared` (memory 0 65536 shared), which is the only kind of import a shared memory links
 * to (an import's shared flag must match the memory's, and a shared one must declare a maximum).
 */
export function assemble(functions: AssembledFunction[], shared = false): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((type) => [type])), ...vector([])]);
  const limits = shared ? [0x03, 0x00, ...u32(MAX_PAGES)] : [0x00, 0x00];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    // (import "env" "memory" (memory 0)): the backend's own heap.
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vector(functions.map((_, i) => u32(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...u32(i)]))),
    ...section(10, vector(functions.map((f) => body(f.locals, f.code)))),
  ]);
}

/**
 * Compiles straight to optimized code. V8 first runs a module's functions as baseline (Liftoff)
 * code, about half as fast for these loops, and swaps in optimized code compiled in the
 * background; on a busy machine that took long enough to halve a benchmark. These modules are a
 * few kilobytes, so compiling them optimized up front costs a few milliseconds.
 */
function compileOptimized(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  v8.setFlagsFromString('--no-liftoff');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    v8.setFlagsFromString('--liftoff');
  }
}

/** Whether a memory's buffer is a SharedArrayBuffer (a heap that worker threads can share, heapThreads.ts). */
export function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/** The compiled module behind each instance's exports, so worker threads can instantiate the same code. */
const modules = new WeakMap<object, WebAssembly.Module>();

/** The compiled module an `instantiate` result came from (heapThreads.ts sends it to its workers). */
export function moduleOf(exports: object): WebAssembly.Module | undefined {
  return modules.get(exports);
}

/**
 * The functions bound to one heap, or null where they cannot run (no WebAssembly SIMD). A shared
 * heap (the backend loaded for threads, sharedHeap.ts) gets a module whose import is shared too.
 */
export function instantiate<T>(memory: WebAssembly.Memory | undefined, functions: AssembledFunction[]): T | null {
  if (!memory) return null;
  try {
    const module = compileOptimized(assemble(functions, isShared(memory)));
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    modules.set(exports, module);
    return exports as unknown as T;
  } catch {
    return null;
  }
}

/** (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd) */
const RELAXED_MADD_PROBE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x01, 0x08, 0x01, 0x60, 0x03, V128, V128, V128, 0x01, V128],
  ...[0x03, 0x02, 0x01, 0x00],
  ...[0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, ...f32x4RelaxedMadd, 0x0b],
]);

let relaxedSimd: boolean | null = null;

/**
 * Whether f32x4.relaxed_madd (a multiply-add, fused where the CPU has FMA) compiles, turning on
 * V8's relaxed-SIMD flag where it is still behind one: Node 20's V8 11.3 has the finished
 * proposal behind --experimental-wasm-relaxed-simd; V8 11.4 on (Node 22) ships it. GAN_WORKBENCH_WASM_FMA=0
 * turns its use off.
 */
export function relaxedSimdAvailable(): boolean {
  if (relaxedSimd === null) {
    if (process.env.GAN_WORKBENCH_WASM_FMA === '0') relaxedSimd = false;
    else if (WebAssembly.validate(RELAXED_MADD_PROBE)) relaxedSimd = true;
    else {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxedSimd = WebAssembly.validate(RELAXED_MADD_PROBE);
    }
  }
  return relaxedSimd;
}
