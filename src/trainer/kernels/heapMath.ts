/**
 * Element-wise arithmetic and column sums as WebAssembly SIMD loops on the tfjs WASM backend's
 * heap, for the kernels in wasmElementwise.ts and fusedAdam.ts. Each element-wise function is
 * written once as an expression over the current element of its input arrays and compiled twice:
 * a loop 4 floats at a time, then a scalar loop for the last few. Every operation is one IEEE
 * single-precision operation in the order written, so a fused function gives bit for bit what
 * the same ops as separate tfjs kernels give.
 */
import {
  and,
  bitselect,
  bump,
  f32Add,
  f32Const,
  f32Div,
  f32Gt,
  f32Load,
  f32Lt,
  f32Mul,
  f32Sqrt,
  f32Store,
  f32Sub,
  f32x4Add,
  f32x4Div,
  f32x4Gt,
  f32x4Lt,
  f32x4Mul,
  f32x4Splat,
  f32x4Sqrt,
  f32x4Sub,
  F32,
  get,
  I32,
  i32,
  instantiate,
  ltU,
  add as i32Add,
  select,
  set,
  V128,
  vLoad,
  vStore,
  vZero,
  whileLoop,
} from './wasmAssembler';
import type { AssembledFunction, ValueType } from './wasmAssembler';

type Condition = { op: 'lt' | 'gt'; a: Expr; b: Expr };

/** An expression over the current element: an input's value, an f32 constant, a bound temp. */
export type Expr =
  | { load: string }
  | { constant: string }
  | { ref: string }
  | { zero: true }
  | { op: 'add' | 'sub' | 'mul' | 'div'; a: Expr; b: Expr }
  | { op: 'sqrt'; a: Expr }
  /** a where the condition holds, else b */
  | { op: 'select'; condition: Condition; a: Expr; b: Expr };

export interface ElementwiseSpec {
  name: string;
  /** Arrays read (byte addresses), then arrays written, then their common length in bytes, then f32 constants. */
  inputs: string[];
  outputs: string[];
  constants: string[];
  /** Temps bound in order, each visible to the later ones and to the results. */
  lets: [string, Expr][];
  results: Record<string, Expr>;
}

// Expression builders, so specs read like the formulas.
export const load = (name: string): Expr => ({ load: name });
export const constant = (name: string): Expr => ({ constant: name });
export const ref = (name: string): Expr => ({ ref: name });
export const zero: Expr = { zero: true };
export const plus = (a: Expr, b: Expr): Expr => ({ op: 'add', a, b });
export const minus = (a: Expr, b: Expr): Expr => ({ op: 'sub', a, b });
export const times = (a: Expr, b: Expr): Expr => ({ op: 'mul', a, b });
export const over = (a: Expr, b: Expr): Expr => ({ op: 'div', a, b });
export const sqrt = (a: Expr): Expr => ({ op: 'sqrt', a });
export const where = (condition: Condition, a: Expr, b: Expr): Expr => ({ op: 'select', condition, a, b });
export const less = (a: Expr, b: Expr): Condition => ({ op: 'lt', a, b });
export const greater = (a: Expr, b: Expr): Condition => ({ op: 'gt', a, b });

const VECTOR = { add: f32x4Add, sub: f32x4Sub, mul: f32x4Mul, div: f32x4Div, sqrt: f32x4Sqrt, lt: f32x4Lt, gt: f32x4Gt, select: bitselect };
const SCALAR = { add: f32Add, sub: f32Sub, mul: f32Mul, div: f32Div, sqrt: f32Sqrt, lt: f32Lt, gt: f32Gt, select };

/** Compiles a spec: a SIMD loop over the 16-byte blocks, then a scalar loop over the rest. */
export function compileElementwise(spec: ElementwiseSpec): AssembledFunction {
  const pointers = [...spec.inputs, ...spec.outputs];
  const pointerIndex = new Map(pointers.map((p, i) => [p, i]));
  const bytes = pointers.length;
  const constantParam = new Map(spec.constants.map((c, i) => [c, bytes + 1 + i]));
  const firstLocal = bytes + 1 + spec.constants.length;
  const [index, end4] = [firstLocal, firstLocal + 1];
  const splat = new Map(spec.constants.map((c, i) => [c, firstLocal + 2 + i]));
  const vectorTemp = new Map(spec.lets.map(([name], i) => [name, firstLocal + 2 + spec.constants.length + i]));
  const scalarTemp = new Map(spec.lets.map(([name], i) => [name, firstLocal + 2 + spec.constants.length + spec.lets.length + i]));
  const at = (pointer: string) => {
    const i = pointerIndex.get(pointer);
    if (i === undefined) throw new Error(`${spec.name}: no array ${pointer}`);
    return [...get(i), ...get(index), ...i32Add];
  };
  const lookup = (map: Map<string, number>, key: string) => {
    const value = map.get(key);
    if (value === undefined) throw new Error(`${spec.name}: unknown ${key}`);
    return value;
  };

  const emit = (e: Expr | Condition, vector: boolean): number[] => {
    const ops = vector ? VECTOR : SCALAR;
    if ('load' in e) return [...at(e.load), ...(vector ? vLoad() : f32Load())];
    if ('constant' in e) return get(lookup(vector ? splat : constantParam, e.constant));
    if ('ref' in e) return get(lookup(vector ? vectorTemp : scalarTemp, e.ref));
    if ('zero' in e) return vector ? vZero : f32Const(0);
    switch (e.op) {
      case 'sqrt':
        return [...emit(e.a, vector), ...ops.sqrt];
      case 'select':
        return [...emit(e.a, vector), ...emit(e.b, vector), ...emit(e.condition, vector), ...ops.select];
      default:
        return [...emit(e.a, vector), ...emit(e.b, vector), ...ops[e.op]];
    }
  };
  const iteration = (vector: boolean) => [
    ...spec.lets.flatMap(([name, e]) => [...emit(e, vector), ...set(lookup(vector ? vectorTemp : scalarTemp, name))]),
    ...spec.outputs.flatMap((out) => {
      const result = spec.results[out];
      if (!result) throw new Error(`${spec.name}: no result for ${out}`);
      return [...at(out), ...emit(result, vector), ...(vector ? vStore() : f32Store())];
    }),
    ...bump(index, vector ? 16 : 4),
  ];
  const code = [
    ...spec.constants.flatMap((c) => [...get(lookup(constantParam, c)), ...f32x4Splat, ...set(lookup(splat, c))]),
    ...get(bytes),
    ...i32(-16),
    ...and,
    ...set(end4),
    ...i32(0),
    ...set(index),
    ...whileLoop([...get(index), ...get(end4), ...ltU], iteration(true)),
    ...whileLoop([...get(index), ...get(bytes), ...ltU], iteration(false)),
  ];
  const locals: [number, ValueType][] = [
    [2, I32],
    [spec.constants.length + spec.lets.length, V128],
    [spec.lets.length, F32],
  ];
  return {
    name: spec.name,
    params: [...pointers.map((): ValueType => I32), I32, ...spec.constants.map((): ValueType => F32)],
    locals: locals.filter(([n]) => n > 0),
    code,
  };
}

/**
 * addRows(x, acc, rows, rowBytes): acc[c] += x[r][c] summed over r < rows, for a row-major
 * x[rows][rowBytes / 4]; each row is added in turn (SIMD over the columns, scalar past the last
 * multiple of 4), so acc stays in cache while x streams past once.
 */
function addRowsFunction(): AssembledFunction {
  const [x, acc, rows, rowBytes, r, c, row, end4] = [0, 1, 2, 3, 4, 5, 6, 7];
  const accAt = [...get(acc), ...get(c), ...i32Add];
  const rowAt = [...get(row), ...get(c), ...i32Add];
  const code = [
    ...get(rowBytes),
    ...i32(-16),
    ...and,
    ...set(end4),
    ...get(x),
    ...set(row),
    ...i32(0),
    ...set(r),
    ...whileLoop(
      [...get(r), ...get(rows), ...ltU],
      [
        ...i32(0),
        ...set(c),
        ...whileLoop([...get(c), ...get(end4), ...ltU], [...accAt, ...accAt, ...vLoad(), ...rowAt, ...vLoad(), ...f32x4Add, ...vStore(), ...bump(c, 16)]),
        ...whileLoop(
          [...get(c), ...get(rowBytes), ...ltU],
          [...accAt, ...accAt, ...f32Load(), ...rowAt, ...f32Load(), ...f32Add, ...f32Store(), ...bump(c, 4)],
        ),
        ...get(row),
        ...get(rowBytes),
        ...i32Add,
        ...set(row),
        ...bump(r, 1),
      ],
    ),
  ];
  return { name: 'addRows', params: [I32, I32, I32, I32], locals: [[4, I32]], code };
}

/**
 * broadcastRows(src, dst, rows, rowBytes[, divisor]): dst[r][c] = src[c] (÷ divisor) for r < rows:
 * the gradient of a sum (or mean) over leading axes, one pass instead of tfjs's multiply by a
 * freshly uploaded tensor of ones (and a division).
 */
function broadcastRowsFunction(divide: boolean): AssembledFunction {
  const [src, dst, rows, rowBytes] = [0, 1, 2, 3];
  const divisor = 4;
  const [r, c, row, end4] = divide ? [5, 6, 7, 8] : [4, 5, 6, 7];
  const splat = end4 + 1;
  const dstAt = [...get(row), ...get(c), ...i32Add];
  const srcAt = [...get(src), ...get(c), ...i32Add];
  const code = [
    ...(divide ? [...get(divisor), ...f32x4Splat, ...set(splat)] : []),
    ...get(rowBytes),
    ...i32(-16),
    ...and,
    ...set(end4),
    ...get(dst),
    ...set(row),
    ...i32(0),
    ...set(r),
    ...whileLoop(
      [...get(r), ...get(rows), ...ltU],
      [
        ...i32(0),
        ...set(c),
        ...whileLoop(
          [...get(c), ...get(end4), ...ltU],
          [...dstAt, ...srcAt, ...vLoad(), ...(divide ? [...get(splat), ...f32x4Div] : []), ...vStore(), ...bump(c, 16)],
        ),
        ...whileLoop(
          [...get(c), ...get(rowBytes), ...ltU],
          [...dstAt, ...srcAt, ...f32Load(), ...(divide ? [...get(divisor), ...f32Div] : []), ...f32Store(), ...bump(c, 4)],
        ),
        ...get(row),
        ...get(rowBytes),
        ...i32Add,
        ...set(row),
        ...bump(r, 1),
      ],
    ),
  ];
  const locals: [number, ValueType][] = divide
    ? [
        [4, I32],
        [1, V128],
      ]
    : [[4, I32]];
  return { name: divide ? 'broadcastRowsDivided' : 'broadcastRows', params: divide ? [I32, I32, I32, I32, F32] : [I32, I32, I32, I32], locals, code };
}

const x = load('x');
const alpha = constant('alpha');

export const SPECS = {
  /** y = x < 0 ? αx : x (tfjs's LeakyRelu) */
  leakyRelu: {
    name: 'leakyRelu',
    inputs: ['x'],
    outputs: ['y'],
    constants: ['alpha'],
    lets: [['v', x]],
    results: { y: where(less(ref('v'), zero), times(ref('v'), alpha), ref('v')) },
  },
  /** dx = x > 0 ? dy : α·dy (tfjs's LeakyRelu gradient, where(x > 0, dy, dy·α), in one pass) */
  leakyReluGrad: {
    name: 'leakyReluGrad',
    inputs: ['dy', 'x'],
    outputs: ['dx'],
    constants: ['alpha'],
    lets: [['d', load('dy')]],
    results: { dx: where(greater(x, zero), ref('d'), times(ref('d'), alpha)) },
  },
  /**
   * One Adam step as tfjs's AdamOptimizer writes it, op for op:
   * m' = m·β1 + g·(1-β1); v' = v·β2 + g²·(1-β2); w' = (m'/(1-β1ᵗ)) / (√(v'/(1-β2ᵗ)) + ε) · (-lr) + w.
   */
  adam: {
    name: 'adam',
    inputs: ['w', 'g', 'm', 'v'],
    outputs: ['w1', 'm1', 'v1'],
    constants: ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'oneMinusAccBeta1', 'oneMinusAccBeta2', 'epsilon', 'negativeLearningRate'],
    lets: [
      ['g', load('g')],
      ['m1', plus(times(load('m'), constant('beta1')), times(ref('g'), constant('oneMinusBeta1')))],
      ['v1', plus(times(load('v'), constant('beta2')), times(times(ref('g'), ref('g')), constant('oneMinusBeta2')))],
    ],
    results: {
      m1: ref('m1'),
      v1: ref('v1'),
      w1: plus(
        times(
          over(over(ref('m1'), constant('oneMinusAccBeta1')), plus(sqrt(over(ref('v1'), constant('oneMinusAccBeta2'))), constant('epsilon'))),
          constant('negativeLearningRate'),
        ),
        load('w'),
      ),
    },
  },
} satisfies Record<string, ElementwiseSpec>;

/** The routines; addresses and lengths in bytes. */
export interface HeapMath {
  leakyRelu(x: number, y: number, bytes: number, alpha: number): void;
  leakyReluGrad(dy: number, x: number, dx: number, bytes: number, alpha: number): void;
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    w1: number,
    m1: number,
    v1: number,
    bytes: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    oneMinusAccBeta1: number,
    oneMinusAccBeta2: number,
    epsilon: number,
    negativeLearningRate: number,
  ): void;
  addRows(x: number, acc: number, rows: number, rowBytes: number): void;
  broadcastRows(src: number, dst: number, rows: number, rowBytes: number): void;
  broadcastRowsDivided(src: number, dst: number, rows: number, rowBytes: number, divisor: number): void;
}

const FUNCTIONS: AssembledFunction[] = [
  ...Object.values(SPECS).map((spec) => compileElementwise(spec as ElementwiseSpec)),
  addRowsFunction(),
  broadcastRowsFunction(false),
  broadcastRowsFunction(true),
];

const instances = new WeakMap<WebAssembly.Memory, HeapMath | null>();

/** The routines bound to one heap, or null where they cannot run (no SIMD). */
export function heapMath(memory: WebAssembly.Memory | undefined): HeapMath | null {
  if (!memory) return null;
  let instance = instances.get(memory);
  if (instance === undefined) {
    instance = instantiate<HeapMath>(memory, FUNCTIONS);
    instances.set(memory, instance);
  }
  return instance;
}

export { FUNCTIONS as HEAP_MATH_FUNCTIONS };
