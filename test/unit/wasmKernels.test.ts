/**
 * The WASM backend's small training kernels (kernels/wasmElementwise.ts, kernels/fusedAdam.ts)
 * against the pure-JS backend over random shapes: Identity and Cast sharing buffers, Sum and Mean
 * over leading axes, LeakyRelu and its fused gradient (to second order, as WGAN-GP needs), the
 * fused Adam update, which must equal tfjs's own bit for bit on the same backend, and the heap GEMM
 * behind BatchMatMul (with and without fused multiply-adds) against a float64 product.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/trainer/secondOrderGradients';
import { selectBackend } from '../../src/trainer/backend';
import { ADAM_UPDATE, stockAdamApplyGradients } from '../../src/trainer/kernels/fusedAdam';
import { DEPTH_BLOCK, gemm, heapGemm, panelFloats, ROW_BLOCK } from '../../src/trainer/kernels/heapGemm';
import { heapMath } from '../../src/trainer/kernels/heapMath';
import type { WasmHeap } from '../../src/trainer/kernels/heapMover';
import { relaxedSimdAvailable } from '../../src/trainer/kernels/wasmAssembler';
import { BROADCAST_ROWS, LEAKY_RELU_GRAD } from '../../src/trainer/kernels/wasmElementwise';
import { Random } from '../../src/trainer/random';

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

/** |wasm - cpu| <= tolerance[i] (a number: relative to |cpu| + 1e-6). */
function close(actual: Float32Array, expected: Float32Array, tolerance: number | Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const allowed = typeof tolerance === 'number' ? tolerance * (Math.abs(expected[i]) + 1e-6) : tolerance[i];
    assert.ok(Math.abs(actual[i] - expected[i]) <= allowed, `${what} [${i}]: wasm ${actual[i]} vs cpu ${expected[i]} (allowed ${allowed})`);
  }
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function randomShape(random: Random, maxRank: number, maxSide: number): number[] {
  return Array.from({ length: 1 + random.int(maxRank) }, () => 1 + random.int(maxSide));
}

/** Values with exact zeros and negative zeros among them (the kernels' edge cases). */
function values(random: Random, n: number): Float32Array {
  const v = random.fillNormal(new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const u = random.uniform();
    if (u < 0.05) v[i] = 0;
    else if (u < 0.1) v[i] = -0;
  }
  return v;
}

/** Which kernels a function runs (on the active backend). */
async function kernelsRun(f: () => tf.Tensor[]): Promise<Set<string>> {
  const profile = await tf.profile(() => {
    tf.dispose(f());
  });
  return new Set(profile.kernels.map((k) => k.name));
}

describe('WASM element-wise kernels', () => {
  before(async () => {
    await selectBackend('wasm');
    const memory = (tf.engine().findBackend('wasm') as unknown as { wasm: WasmHeap }).wasm.asm?.memory;
    assert.ok(heapMath(memory), 'WebAssembly SIMD routines unavailable');
  });

  it('Identity and Cast to the same dtype share the buffer, which outlives the original', () => {
    tf.setBackend('wasm');
    const dataBefore = tf.engine().backend.numDataIds();
    const x = tf.tensor([1, -2, 3.5, 0]);
    const ints = tf.tensor([1, 2], [2], 'int32');
    const copies = [tf.clone(x), tf.cast(x, 'float32'), tf.clone(ints)];
    assert.equal(tf.engine().backend.numDataIds(), dataBefore + 2, 'clones made new buffers');
    tf.dispose([x, ints]);
    assert.deepEqual(Array.from(copies[0].dataSync()), [1, -2, 3.5, 0]);
    assert.deepEqual(Array.from(copies[1].dataSync()), [1, -2, 3.5, 0]);
    assert.deepEqual(Array.from(copies[2].dataSync()), [1, 2]);
    // A real cast still converts.
    const floats = tf.tensor([1.7, -2.2]);
    const cast = tf.cast(floats, 'int32');
    assert.equal(cast.dtype, 'int32');
    assert.deepEqual(Array.from(cast.dataSync()), [1, -2]);
    tf.dispose([...copies, floats, cast]);
    assert.equal(tf.engine().backend.numDataIds(), dataBefore, 'buffers left behind');
  });

  it('Sum and Mean agree with the CPU backend over random shapes, axes and keepDims', () => {
    const random = new Random('reductions');
    for (let i = 0; i < 120; i++) {
      const shape = randomShape(random, 4, 9);
      const x = values(random, sizeOf(shape));
      const rank = shape.length;
      // Leading axes most of the time (the fused path), other sets and negative axes too.
      const k = 1 + random.int(rank);
      const axes = random.uniform() < 0.7 ? [...Array(k).keys()] : [...Array(rank).keys()].filter(() => random.uniform() < 0.5);
      const axis = axes.length === 0 ? undefined : axes.map((a) => (random.uniform() < 0.3 ? a - rank : a));
      const keepDims = random.uniform() < 0.5;
      const f = () =>
        tf.tidy(() => {
          const t = tf.tensor(x, shape);
          return [tf.sum(t, axis, keepDims), tf.mean(t, axis, keepDims), tf.sum(tf.abs(t), axis, keepDims)];
        });
      const [wasm, cpu] = [run('wasm', f), run('cpu', f)];
      const what = `shape ${shape} axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
      // Float32 sums against the CPU's float64 ones: within ε-multiples of Σ|x|.
      const count = cpu[0].length === 0 ? 1 : x.length / cpu[0].length;
      close(
        wasm[0],
        cpu[0],
        cpu[2].map((a) => 1e-6 * a + 1e-30),
        `sum ${what}`,
      );
      close(
        wasm[1],
        cpu[1],
        cpu[2].map((a) => (1e-6 * a) / count + 1e-30),
        `mean ${what}`,
      );
      tf.setBackend('wasm');
      const t = tf.tensor(x, shape);
      const [s, m] = [tf.sum(t, axis, keepDims), tf.mean(t, axis, keepDims)];
      tf.setBackend('cpu');
      const expected = tf.sum(tf.tensor(x, shape), axis, keepDims);
      assert.deepEqual(s.shape, expected.shape, `shape of ${what}`);
      assert.deepEqual(m.shape, expected.shape, `shape of ${what}`);
      tf.dispose([t, s, m, expected]);
    }
  });

  it('Sum and Mean over the leading axes of a DCGAN-sized batch (the blocked path) stay within ε·Σ|x|', () => {
    const random = new Random('big-reduction');
    for (const shape of [
      [64, 14, 14, 64],
      [64, 6272],
      [300, 3],
    ]) {
      const x = random.fillNormal(new Float32Array(sizeOf(shape)));
      const axes = [...Array(shape.length - 1).keys()];
      const f = () =>
        tf.tidy(() => {
          const t = tf.tensor(x, shape);
          return [tf.sum(t, axes), tf.mean(t, axes), tf.sum(tf.abs(t), axes)];
        });
      const [wasm, cpu] = [run('wasm', f), run('cpu', f)];
      const count = x.length / cpu[0].length;
      close(
        wasm[0],
        cpu[0],
        cpu[2].map((a) => 1e-6 * a),
        `sum ${shape}`,
      );
      close(
        wasm[1],
        cpu[1],
        cpu[2].map((a) => (1e-6 * a) / count),
        `mean ${shape}`,
      );
    }
  });

  it('the gradients of Sum and Mean broadcast dy in one kernel, to first and second order like the CPU backend', async () => {
    const random = new Random('reduction-grads');
    tf.setBackend('wasm');
    const used = await kernelsRun(() => tf.tidy(() => [tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.mean(t, [0, 1]))))(tf.ones([3, 4, 8]))]));
    assert.ok(used.has(BROADCAST_ROWS), `kernels run: ${[...used].join(', ')}`);
    for (let i = 0; i < 40; i++) {
      const shape = randomShape(random, 4, 7);
      const k = 1 + random.int(shape.length);
      const axes = random.uniform() < 0.8 ? [...Array(k).keys()] : [shape.length - 1];
      const keepDims = random.uniform() < 0.5;
      const x = random.fillNormal(new Float32Array(sizeOf(shape)));
      // Batch norm's statistics and their gradient, then the gradient of that gradient's norm.
      const f = () =>
        tf.tidy(() => {
          const input = tf.tensor(x, shape);
          const loss = (t: tf.Tensor) => {
            const { mean, variance } = tf.moments(t, axes, keepDims);
            return tf.add(tf.sum(tf.square(mean)), tf.sum(tf.mul(tf.sum(t, axes, keepDims), variance)));
          };
          const first = tf.grad(loss)(input);
          const second = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.grad(loss)(t))))(input);
          return [first, second];
        });
      const [wasm, cpu] = [run('wasm', f), run('cpu', f)];
      wasm.forEach((values, j) => {
        const scale = cpu[j].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        close(
          values,
          cpu[j],
          cpu[j].map((v) => 1e-4 * (Math.abs(v) + 1e-2 * scale)),
          `order ${j + 1}, shape ${shape} axes ${axes} keepDims ${keepDims}`,
        );
      });
    }
  });

  it('Transpose swaps the last two axes like the CPU backend (other permutations too, by the stock kernel)', () => {
    const random = new Random('transpose');
    for (let i = 0; i < 60; i++) {
      const full = [...randomShape(random, 2, 4), 1 + random.int(40), 1 + random.int(40)];
      const shape = full.slice(Math.min(i % 3, full.length - 2));
      const x = random.fillNormal(new Float32Array(sizeOf(shape)));
      const rank = shape.length;
      const perm = i % 5 === 4 ? [...Array(rank).keys()].reverse() : [...Array(rank - 2).keys(), rank - 1, rank - 2];
      const f = () => tf.tidy(() => [tf.transpose(tf.tensor(x, shape), perm)]);
      const [wasm, cpu] = [run('wasm', f), run('cpu', f)];
      assert.deepEqual(wasm[0], cpu[0], `transpose ${shape} by ${perm}`);
    }
  });

  it('LeakyRelu agrees with the CPU backend, zeros, negative zeros and ragged lengths included', () => {
    const random = new Random('leaky');
    for (let i = 0; i < 60; i++) {
      const shape = i < 40 ? [1 + random.int(37)] : randomShape(random, 4, 12);
      const x = values(random, sizeOf(shape));
      const alpha = i % 5 === 0 ? 0 : random.uniform();
      const f = () => tf.tidy(() => [tf.leakyRelu(tf.tensor(x, shape), alpha)]);
      // The CPU backend multiplies by α in float64, WASM by float32(α): one rounding apart.
      close(run('wasm', f)[0], run('cpu', f)[0], 2e-7, `leakyRelu ${shape} α ${alpha}`);
    }
  });

  it('its gradient is the fused kernel on WASM and agrees with tfjs’s where(x > 0, dy, α·dy) on the CPU', async () => {
    const random = new Random('leaky-grad');
    tf.setBackend('wasm');
    const used = await kernelsRun(() => tf.tidy(() => [tf.grad((x: tf.Tensor) => tf.sum(tf.leakyRelu(x, 0.2)))(tf.ones([5]))]));
    assert.ok(used.has(LEAKY_RELU_GRAD), `kernels run: ${[...used].join(', ')}`);
    assert.ok(!used.has('Select'));
    for (let i = 0; i < 40; i++) {
      const shape = randomShape(random, 4, 10);
      const [x, w] = [values(random, sizeOf(shape)), random.fillNormal(new Float32Array(sizeOf(shape)))];
      const alpha = random.uniform();
      const f = () => tf.tidy(() => [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, alpha), tf.tensor(w, shape))))(tf.tensor(x, shape))]);
      close(run('wasm', f)[0], run('cpu', f)[0], 2e-7, `leakyRelu gradient ${shape}`);
    }
  });

  it('backpropagates twice through LeakyRelu: a gradient penalty’s gradient with respect to the weights', () => {
    const random = new Random('leaky-double');
    for (let i = 0; i < 20; i++) {
      const [batch, inputs, hidden] = [1 + random.int(6), 1 + random.int(9), 1 + random.int(9)];
      const x = random.fillNormal(new Float32Array(batch * inputs));
      const w1 = random.fillNormal(new Float32Array(inputs * hidden));
      const w2 = random.fillNormal(new Float32Array(hidden));
      const alpha = random.uniform();
      // A critic D(x) = leakyRelu(leakyRelu(x·W1)·diag(w2))·1, so the penalty meets LeakyRelu's gradient twice over.
      const f = () =>
        tf.tidy(() => {
          const critic = (input: tf.Tensor, a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.leakyRelu(tf.mul(tf.leakyRelu(tf.matMul(input as tf.Tensor2D, a as tf.Tensor2D), alpha), b), alpha));
          const penalty = (a: tf.Tensor, b: tf.Tensor) => {
            const gradient = tf.grad((input: tf.Tensor) => critic(input, a, b))(tf.tensor2d(x, [batch, inputs]));
            return tf.sum(tf.square(tf.sub(tf.sqrt(tf.add(tf.sum(tf.square(gradient), 1), 1e-12)), 1)));
          };
          return tf.grads(penalty)([tf.tensor2d(w1, [inputs, hidden]), tf.tensor1d(w2)]);
        });
      const [wasm, cpu] = [run('wasm', f), run('cpu', f)];
      wasm.forEach((values, j) => {
        const scale = cpu[j].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        close(
          values,
          cpu[j],
          cpu[j].map((v) => 1e-4 * (Math.abs(v) + 1e-2 * scale)),
          `penalty gradient ${j}, batch ${batch} inputs ${inputs} hidden ${hidden}`,
        );
      });
    }
  });
});

describe('fused Adam on WASM', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  /** Steps of Adam on a few variables with fixed gradients; returns the variables and the optimizer's state. */
  function train(
    random: Random,
    applyGradients: (optimizer: tf.AdamOptimizer, grads: { name: string; tensor: tf.Tensor }[]) => void,
    shapes: number[][],
    epsilon?: number,
  ) {
    const seedValues = shapes.map((s) => random.fillNormal(new Float32Array(sizeOf(s))));
    const grads = Array.from({ length: 4 }, () => shapes.map((s) => random.fillNormal(new Float32Array(sizeOf(s)))));
    return async () => {
      const variables = shapes.map((s, i) => tf.variable(tf.tensor(seedValues[i], s)));
      const optimizer = tf.train.adam(0.01, 0.5, 0.999, epsilon);
      for (const step of grads) {
        tf.tidy(() =>
          applyGradients(
            optimizer,
            variables.map((v, i) => ({ name: v.name, tensor: tf.tensor(step[i], shapes[i]) })),
          ),
        );
      }
      const weights = await optimizer.getWeights();
      const state = weights.map(({ name, tensor }) => ({ name: name.replace(/^.*?\//, ''), values: Array.from(tensor.dataSync()) }));
      const result = { values: variables.map((v) => Array.from(v.dataSync())), state };
      tf.dispose(weights.map((w) => w.tensor));
      optimizer.dispose();
      tf.dispose(variables);
      return result;
    };
  }

  const SHAPES = [[7], [4, 4, 3, 5], [1], [100, 13], []];

  it('runs one AdamUpdate kernel per variable', async () => {
    tf.setBackend('wasm');
    const v = tf.variable(tf.ones([6]));
    const optimizer = tf.train.adam(0.1);
    const used = await kernelsRun(() => {
      optimizer.applyGradients([{ name: v.name, tensor: tf.ones([6]) }]);
      return [];
    });
    assert.ok(used.has(ADAM_UPDATE), `kernels run: ${[...used].join(', ')}`);
    assert.ok(!used.has('Sqrt'));
    optimizer.dispose();
    v.dispose();
  });

  it('gives tfjs’s AdamOptimizer results bit for bit, state and iteration count included', async () => {
    for (const epsilon of [undefined, 1e-3]) {
      const seed = new Random(`adam-${epsilon}`);
      const fused = train(seed, (o, g) => o.applyGradients(g), SHAPES, epsilon);
      const stock = train(new Random(`adam-${epsilon}`), (o, g) => stockAdamApplyGradients().call(o, g), SHAPES, epsilon);
      tf.setBackend('wasm');
      const [a, b] = [await fused(), await stock()];
      assert.deepEqual(a, b);
    }
  });

  it('agrees with the CPU backend, where tfjs’s own update runs', async () => {
    const make = () => train(new Random('adam-cpu'), (o, g) => o.applyGradients(g), SHAPES);
    tf.setBackend('wasm');
    const wasm = await make()();
    tf.setBackend('cpu');
    const cpu = await make()();
    tf.setBackend('wasm');
    wasm.values.forEach((v, i) => close(Float32Array.from(v), Float32Array.from(cpu.values[i]), 1e-6, `variable ${i}`));
    assert.deepEqual(
      wasm.state.map((s) => s.name),
      cpu.state.map((s) => s.name),
    );
  });
});

describe('heap GEMM (the microkernels behind BatchMatMul)', () => {
  it('multiplies like a float64 product over ragged shapes, several row and depth blocks, k = 0, with and without FMA', () => {
    const random = new Random('gemm');
    const variants = relaxedSimdAvailable() ? [false, true] : [false];
    const shapes: [number, number, number][] = [
      [1, 1, 4],
      [3, 0, 8],
      [5, 3, 12],
      [ROW_BLOCK + 3, DEPTH_BLOCK + 5, 20],
      [2 * ROW_BLOCK, 2 * DEPTH_BLOCK, 16],
      [7, 9, 400],
    ];
    for (let i = 0; i < 40; i++) shapes.push([1 + random.int(70), random.int(300), 4 * (1 + random.int(30))]);
    for (const fma of variants) {
      for (const [index, [m, k, n]] of shapes.entries()) {
        // Every other product with A stored transposed ([k][m]), as dW = xᵀ·dy reads it.
        const transposedA = index % 2 === 1;
        const floats = m * k + k * n + m * n + panelFloats(n, k) + 64;
        const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * floats) / 65536) + 1 });
        const g = heapGemm(memory, fma);
        assert.ok(g, 'WebAssembly SIMD routines unavailable');
        const heap = new Float32Array(memory.buffer);
        // Odd float offsets, so nothing relies on 16-byte alignment.
        const [a, b, c, panels] = [1, 1 + m * k + 1, 3 + m * k + k * n, 4 + m * k + k * n + m * n];
        random.fillNormal(heap.subarray(a, a + m * k));
        random.fillNormal(heap.subarray(b, b + k * n));
        heap.fill(NaN, c, c + m * n);
        gemm(g, 4 * a, 4 * b, 4 * c, m, n, k, 4 * panels, { transposedA });
        const aAt = (r: number, j: number) => a + (transposedA ? j * m + r : r * k + j);
        for (let r = 0; r < m; r++) {
          for (let col = 0; col < n; col++) {
            let [sum, magnitude] = [0, 0];
            for (let j = 0; j < k; j++) {
              const product = heap[aAt(r, j)] * heap[b + j * n + col];
              sum += product;
              magnitude += Math.abs(product);
            }
            const got = heap[c + r * n + col];
            assert.ok(
              Math.abs(got - sum) <= 1.2e-7 * (k + 2) * magnitude + 1e-30,
              `${m}x${k}x${n} fma ${fma} transposed A ${transposedA} [${r}, ${col}]: ${got} vs ${sum}`,
            );
          }
        }
      }
    }
  });
});
