/**
 * The WASM convolution kernels against the pure-JS backend over a random spread of shapes,
 * strides, dilations and paddings: forward, both gradients, conv2dTranspose and its gradients,
 * and the double backpropagation a WGAN-GP gradient penalty runs. Every WASM result is computed
 * on one thread and split across two (batch items, filter taps or columns of dW per thread) and
 * must be the same bits both ways, as no split changes the order of a sum.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { HeapThreads } from '../../src/trainer/kernels/heapThreads';
import { HeapMover } from '../../src/trainer/kernels/heapMover';
import type { WasmHeap } from '../../src/trainer/kernels/heapMover';
import { heapSimd } from '../../src/trainer/kernels/heapSimd';
import { col2im, geometryOf, im2col, im2colTransposed, transpose2d } from '../../src/trainer/kernels/im2col';
import type { ConvGeometry } from '../../src/trainer/kernels/im2col';
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput, im2colConv2D, installWasmConvKernels, setColumnBudget } from '../../src/trainer/kernels/wasmConv';
import { Random } from '../../src/trainer/random';
import { assertSplits, loadThreadedWasm, onThreadCounts } from './heapLanes';

let pool: HeapThreads;

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  /** The forward output's shape, from tfjs's own conv_util. */
  out: [number, number, number, number];
}

/**
 * A random convolution that tfjs accepts: batch 1-4, sizes 1-12, channels 1-8, kernel 1-5,
 * strides 1-3 or dilations 1-2 (tfjs forbids both above 1), every padding kind.
 */
function randomCase(random: Random, allowDilation: boolean): Case {
  for (;;) {
    const x: Case['x'] = [1 + random.int(4), 1 + random.int(12), 1 + random.int(12), 1 + random.int(8)];
    const filter: Case['filter'] = [1 + random.int(5), 1 + random.int(5), x[3], 1 + random.int(8)];
    const dilate = allowDilation && random.uniform() < 0.3;
    const strides: Case['strides'] = dilate ? [1, 1] : [1 + random.int(3), 1 + random.int(3)];
    const dilations: Case['dilations'] = dilate ? [1 + random.int(2), 1 + random.int(2)] : [1, 1];
    const kind = random.int(4);
    const pad: Pad =
      kind === 0
        ? 'same'
        : kind === 1
          ? 'valid'
          : kind === 2
            ? random.int(3)
            : [
                [0, 0],
                [random.int(3), random.int(3)],
                [random.int(3), random.int(3)],
                [0, 0],
              ];
    const info = tf.backend_util.computeConv2DInfo(x, filter, strides, dilations, pad);
    if (info.outHeight >= 1 && info.outWidth >= 1) return { x, filter, strides, dilations, pad, out: info.outShape as Case['out'] };
  }
}

/** The DCGAN's two convolution geometries (fewer channels) and a 1×1 one that skips im2col. */
const FIXED_CASES: Case[] = [
  { x: [3, 28, 28, 1], filter: [4, 4, 1, 8], strides: [2, 2], dilations: [1, 1], pad: 'same', out: [3, 14, 14, 8] },
  { x: [3, 14, 14, 8], filter: [4, 4, 8, 16], strides: [2, 2], dilations: [1, 1], pad: 'same', out: [3, 7, 7, 16] },
  { x: [2, 5, 6, 7], filter: [1, 1, 7, 3], strides: [1, 1], dilations: [1, 1], pad: 'valid', out: [2, 5, 6, 3] },
];

function describeCase(c: Case): string {
  return `x=${c.x} filter=${c.filter} strides=${c.strides} dilations=${c.dilations} pad=${JSON.stringify(c.pad)}`;
}

/** Runs f on a backend and returns every output's values; checks that nothing leaks there. */
function run(backend: string, f: () => tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  const tensorsBefore = tf.memory().numTensors;
  const dataBefore = tf.engine().backend.numDataIds();
  const outputs = f();
  const values = outputs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outputs);
  assert.equal(tf.memory().numTensors, tensorsBefore, `${backend} leaked tensors`);
  assert.equal(tf.engine().backend.numDataIds(), dataBefore, `${backend} left data on the backend`);
  return values;
}

/**
 * Element-wise |wasm - cpu| <= 1e-4 (|cpu| + 1e-2 max|cpu|). The two backends add the same
 * products in different orders, so an entry that is a sum of large terms cancelling to near zero
 * carries an absolute error of about float32 epsilon times those terms, not times itself; the
 * max-scaled part admits exactly that and nothing the size of a wrong index or a missing term.
 */
function close(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < actual.length; i++) {
    const tolerance = 1e-4 * (Math.abs(expected[i]) + 1e-2 * scale);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what} [${i}]: wasm ${actual[i]} vs cpu ${expected[i]}`);
  }
}

function compare(what: string, f: () => tf.Tensor[]): void {
  const wasm = onThreadCounts(pool, [1, 2], () => run('wasm', f), what);
  const cpu = run('cpu', f);
  assert.equal(wasm.length, cpu.length);
  wasm.forEach((values, i) => close(values, cpu[i], `${what} output ${i}`));
}

/** Fixed random inputs for a case, rebuilt as tensors on whichever backend is active. */
function inputs(random: Random, c: Case) {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = random.fillNormal(new Float32Array(size(c.x)));
  const filter = random.fillNormal(new Float32Array(size(c.filter)));
  const y = random.fillNormal(new Float32Array(size(c.out)));
  return {
    x: () => tf.tensor4d(x, c.x),
    filter: () => tf.tensor4d(filter, c.filter),
    /** Something shaped like the forward output: dy, a weight on it, or conv2dTranspose's input. */
    y: () => tf.tensor4d(y, c.out),
  };
}

describe('WASM convolution kernels (im2col + matmul)', () => {
  before(async () => {
    pool = await loadThreadedWasm(2);
  });

  it('are the ones registered for the WASM backend, once however often installed', () => {
    installWasmConvKernels();
    installWasmConvKernels();
    assert.equal(tf.getKernel('Conv2D', 'wasm')?.kernelFunc, conv2D);
    assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, conv2DBackpropInput);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, conv2DBackpropFilter);
    // So the comparisons below run the SIMD data movement; the JS loops are checked against it further down.
    const memory = (tf.engine().findBackend('wasm') as unknown as { wasm: WasmHeap }).wasm.asm?.memory;
    assert.ok(heapSimd(memory), 'WebAssembly SIMD routines unavailable');
  });

  it('compute conv2d forward like the CPU backend, dilations included', () => {
    const random = new Random('forward');
    assertSplits(
      pool,
      () => {
        for (let i = 0; i < 60; i++) {
          const c = randomCase(random, true);
          const t = inputs(random, c);
          compare(`conv2d ${describeCase(c)}`, () => [tf.tidy(() => tf.conv2d(t.x(), t.filter(), c.strides, c.pad, 'NHWC', c.dilations))]);
        }
      },
      'forward',
    );
  });

  it('compute conv2d forward on the im2col path too where Conv2D hands over to the stock kernel', () => {
    const random = new Random('forward-im2col');
    const register = (kernelFunc: tf.KernelFunc) => {
      tf.unregisterKernel('Conv2D', 'wasm');
      tf.registerKernel({ kernelName: 'Conv2D', backendName: 'wasm', kernelFunc });
    };
    register(im2colConv2D);
    try {
      assertSplits(
        pool,
        () => {
          for (let i = 0; i < 30; i++) {
            const c = randomCase(random, true);
            c.x[3] = c.filter[2] = 8 + random.int(9);
            const t = inputs(random, c);
            compare(`im2col conv2d ${describeCase(c)}`, () => [tf.tidy(() => tf.conv2d(t.x(), t.filter(), c.strides, c.pad, 'NHWC', c.dilations))]);
          }
        },
        'im2col forward',
      );
    } finally {
      register(conv2D);
    }
  });

  it('give the gradients of conv2d with respect to the input and the filter', () => {
    const random = new Random('grads');
    assertSplits(
      pool,
      () => {
        for (let i = 0; i < 40; i++) {
          const c = randomCase(random, false);
          const t = inputs(random, c);
          compare(`grad conv2d ${describeCase(c)}`, () =>
            tf.tidy(() => {
              const weight = t.y();
              const loss = (x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), weight));
              return tf.grads(loss)([t.x(), t.filter()]);
            }),
          );
        }
      },
      'gradients',
    );
  });

  it('run conv2dTranspose forward and backward', () => {
    const random = new Random('transpose');
    assertSplits(
      pool,
      () => {
        for (let i = 0; i < 40; i++) {
          const c = randomCase(random, false);
          const t = inputs(random, c);
          compare(`conv2dTranspose ${describeCase(c)}`, () =>
            tf.tidy(() => {
              const weight = t.x();
              const transposed = (y: tf.Tensor, f: tf.Tensor) => tf.conv2dTranspose(y as tf.Tensor4D, f as tf.Tensor4D, c.x, c.strides, c.pad);
              const forward = transposed(t.y(), t.filter());
              const grads = tf.grads((y: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(transposed(y, f), weight)))([t.y(), t.filter()]);
              return [forward, ...grads];
            }),
          );
        }
      },
      'conv2dTranspose',
    );
  });

  it('backpropagate twice: the filter gradient of a gradient penalty ‖∂(Σ conv(x)·w)/∂x‖²', () => {
    const random = new Random('double');
    assertSplits(
      pool,
      () => {
        for (let i = 0; i < 30; i++) {
          const c = randomCase(random, false);
          const t = inputs(random, c);
          compare(`double backprop ${describeCase(c)}`, () =>
            tf.tidy(() => {
              const x = t.x();
              const weight = t.y();
              const penalty = (f: tf.Tensor) => {
                const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), weight)))(x);
                return tf.sum(tf.square(dx));
              };
              return [tf.grad(penalty)(t.filter())];
            }),
          );
        }
      },
      'double backprop',
    );
  });

  it('handle the DCGAN shapes: 4×4 stride-2 same convolutions, and 1×1 ones that skip im2col', () => {
    const random = new Random('dcgan');
    assertSplits(
      pool,
      () => {
        for (const c of FIXED_CASES) {
          const t = inputs(random, c);
          compare(`dcgan ${describeCase(c)}`, () =>
            tf.tidy(() => {
              const weight = t.y();
              const loss = (x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), weight));
              return [
                tf.conv2d(t.x(), t.filter(), c.strides, c.pad),
                ...tf.grads(loss)([t.x(), t.filter()]),
                tf.conv2dTranspose(weight, t.filter(), c.x, c.strides, c.pad),
              ];
            }),
          );
        }
      },
      'dcgan shapes',
    );
  });

  it('return empty outputs, and a zero filter gradient, for an empty batch', () => {
    tf.setBackend('wasm');
    for (const channels of [2, 8]) {
      const x = tf.zeros([0, 6, 6, channels]) as tf.Tensor4D;
      const f = tf.ones([3, 3, channels, 4]) as tf.Tensor4D;
      const y = tf.conv2d(x, f, 1, 'same');
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, f]);
      assert.deepEqual(
        [y.shape, dx.shape, df.shape],
        [
          [0, 6, 6, 4],
          [0, 6, 6, channels],
          [3, 3, channels, 4],
        ],
      );
      assert.ok((df.dataSync() as Float32Array).every((v) => v === 0));
      tf.dispose([x, f, y, dx, df]);
    }
  });

  it('give the same results when the batch is sliced to keep column matrices small', () => {
    const random = new Random('sliced');
    const previous = setColumnBudget(64);
    try {
      assertSplits(
        pool,
        () => {
          for (const c of [...FIXED_CASES, ...Array.from({ length: 20 }, () => randomCase(random, false))]) {
            const t = inputs(random, c);
            compare(`sliced ${describeCase(c)}`, () =>
              tf.tidy(() => {
                const weight = t.y();
                const loss = (x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), weight));
                return [
                  tf.conv2d(t.x(), t.filter(), c.strides, c.pad),
                  ...tf.grads(loss)([t.x(), t.filter()]),
                  tf.conv2dTranspose(weight, t.filter(), c.x, c.strides, c.pad),
                ];
              }),
            );
          }
        },
        'sliced',
      );
    } finally {
      setColumnBudget(previous);
    }
  });
});

/** A heap of its own with a bump allocator, standing in for the backend's. */
function scratchHeap(floats: number): { heap: WasmHeap; alloc: (n: number) => number } {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * floats) / 65536) });
  let top = 16;
  const alloc = (n: number) => {
    const at = top;
    top += 4 * n + 16;
    assert.ok(top <= memory.buffer.byteLength, 'scratch heap too small');
    return at;
  };
  const heap: WasmHeap = {
    get HEAPF32() {
      return new Float32Array(memory.buffer);
    },
    get HEAP32() {
      return new Int32Array(memory.buffer);
    },
    asm: { memory },
    _malloc: (bytes) => alloc(bytes / 4),
    _free: () => {},
  };
  return { heap, alloc };
}

describe('heap data movement: the SIMD routines and the JS loops agree exactly', () => {
  it('for im2col, col2im, the transposed gather and transposes over random geometries', () => {
    const random = new Random('movement');
    for (let i = 0; i < 60; i++) {
      const c = randomCase(random, true);
      // Channel counts in fours take the direct transposed gather; others the two-pass one.
      if (i % 2 === 0) c.x[3] = c.filter[2] = 4 * (1 + random.int(3));
      const g: ConvGeometry = geometryOf(tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations, c.pad));
      const positions = g.batch * g.outHeight * g.outWidth;
      const depth = g.filterHeight * g.filterWidth * g.inChannels;
      const imageFloats = g.batch * g.inHeight * g.inWidth * g.inChannels;
      const { heap, alloc } = scratchHeap(8 * (imageFloats + positions * depth) + (1 << 16) * 4);
      const mover = new HeapMover(heap, (n) => ({ offset: alloc(n) / 4, dispose: () => {} }));
      assert.ok(mover.usesSimd);
      const at = (n: number) => alloc(n) / 4;
      const [x, columnsJs, columnsSimd, dxJs, dxSimd, tJs, tSimd] = [
        imageFloats,
        positions * depth,
        positions * depth,
        imageFloats,
        imageFloats,
        positions * depth,
        positions * depth,
      ].map(at);
      const f32 = () => heap.HEAPF32;
      random.fillNormal(f32().subarray(x, x + imageFloats));
      // Garbage where outputs go: every output float must be written.
      f32().fill(NaN, columnsJs, tSimd + positions * depth);
      const same = (a: number, b: number, n: number, what: string) => {
        assert.ok(
          !f32()
            .subarray(b, b + n)
            .some(Number.isNaN),
          `${what} left floats unwritten, ${describeCase(c)}`,
        );
        assert.deepEqual(f32().subarray(a, a + n), f32().subarray(b, b + n), `${what} ${describeCase(c)}`);
      };

      im2col(f32(), x, columnsJs, g);
      mover.im2col(x, columnsSimd, g);
      same(columnsJs, columnsSimd, positions * depth, 'im2col');
      col2im(f32(), columnsJs, dxJs, g);
      mover.col2im(columnsSimd, dxSimd, g);
      same(dxJs, dxSimd, imageFloats, 'col2im');
      im2colTransposed(f32(), x, tJs, g);
      mover.im2colTransposed(x, tSimd, g);
      same(tJs, tSimd, positions * depth, 'im2colTransposed');
      // A transpose of the column matrix read as [positions, depth], ragged edges included.
      transpose2d(f32(), columnsJs, tJs, positions, depth);
      mover.transpose(columnsJs, tSimd, positions, depth);
      same(tJs, tSimd, positions * depth, 'transpose');
    }
  });
});
