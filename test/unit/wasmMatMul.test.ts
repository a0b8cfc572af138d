/**
 * The WASM BatchMatMul replacement against the pure-JS backend, over shapes and transposes, to
 * second order; every WASM product computed on one thread and split across two (by rows or by
 * columns of the output), which must give the same bits.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { HeapThreads } from '../../src/trainer/kernels/heapThreads';
import { Random } from '../../src/trainer/random';
import { assertSplits, loadThreadedWasm, onThreadCounts } from './heapLanes';

let pool: HeapThreads;

function runOnce(backend: string, f: () => tf.Tensor): Float32Array {
  tf.setBackend(backend);
  const out = f();
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** f's values on a backend; on WASM the same on one thread and on two. */
function run(backend: string, f: () => tf.Tensor): Float32Array {
  if (backend !== 'wasm') return runOnce(backend, f);
  return onThreadCounts(pool, [1, 2], () => [runOnce(backend, f)], 'matmul')[0];
}

function close(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])), `${what} [${i}]: ${a[i]} vs ${b[i]}`);
}

describe('WASM BatchMatMul (transpose first)', () => {
  before(async () => {
    pool = await loadThreadedWasm(2);
  });

  it('matches the CPU backend for every transpose combination and a spread of shapes', () => {
    const random = new Random('matmul');
    const shapes: [number[], number[]][] = [];
    for (let i = 0; i < 16; i++) {
      // Up to 80 rows and 64 columns: wide enough to split by columns (two 12-wide panels a thread), tall enough to split by rows.
      const [m, k, n] = [1 + random.int(80), 1 + random.int(40), 1 + random.int(64)];
      const batch = i % 3 === 0 ? [1 + random.int(3)] : [];
      shapes.push([
        [...batch, m, k],
        [...batch, k, n],
      ]);
    }
    assertSplits(
      pool,
      () => {
        for (const [aShape, bShape] of shapes) {
          const aValues = random.fillNormal(new Float32Array(aShape.reduce((x, y) => x * y)));
          const bValues = random.fillNormal(new Float32Array(bShape.reduce((x, y) => x * y)));
          for (const transposeA of [false, true]) {
            for (const transposeB of [false, true]) {
              const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
              const f = () =>
                tf.tidy(() => {
                  // Build operands already transposed so the product keeps its meaning.
                  const a = tf.tensor(aValues, aShape);
                  const b = tf.tensor(bValues, bShape);
                  const perm = (r: number) => [...Array(r - 2).keys(), r - 1, r - 2];
                  const aIn = transposeA ? tf.transpose(a, perm(aShape.length)) : a;
                  const bIn = transposeB ? tf.transpose(b, perm(bShape.length)) : b;
                  assert.deepEqual(aIn.shape, swap(aShape, transposeA));
                  return tf.matMul(aIn, bIn, transposeA, transposeB);
                });
              close(run('wasm', f), run('cpu', f), `${aShape}×${bShape} tA=${transposeA} tB=${transposeB}`);
            }
          }
        }
      },
      'products',
    );
  });

  it('gives the same gradients as the CPU backend through a dense layer, and leaks nothing', () => {
    const random = new Random('grad');
    const x = random.fillNormal(new Float32Array(32 * 20));
    const w = random.fillNormal(new Float32Array(20 * 7));
    const once = (backend: string) => {
      tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const xs = tf.tensor2d(x, [32, 20]);
      const ws = tf.tensor2d(w, [20, 7]);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b))))([xs, ws]);
      const result = [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
      tf.dispose([xs, ws, dx, dw]);
      assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
      return result;
    };
    const grads = (backend: string) => (backend === 'wasm' ? onThreadCounts(pool, [1, 2], () => once(backend), 'dense layer gradients') : once(backend));
    const [wasmDx, wasmDw] = grads('wasm');
    const [cpuDx, cpuDw] = grads('cpu');
    close(wasmDx, cpuDx, 'dx');
    close(wasmDw, cpuDw, 'dw');
  });

  it('backpropagates twice through dense layers, as a WGAN-GP gradient penalty on a critic does', () => {
    const random = new Random('penalty');
    const [batch, inputs, hidden] = [48, 30, 52];
    const x = random.fillNormal(new Float32Array(batch * inputs));
    const w1 = random.fillNormal(new Float32Array(inputs * hidden));
    const w2 = random.fillNormal(new Float32Array(hidden * 4));
    const once = (backend: string) => {
      tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const result = tf.tidy(() => {
        const xs = tf.tensor2d(x, [batch, inputs]);
        // ‖∂(Σ critic(x))/∂x‖² with critic(x) = tanh(x·W1)·W2, differentiated again with respect to both weights.
        const penalty = (a: tf.Tensor, b: tf.Tensor) => {
          const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.matMul(tf.tanh(tf.matMul(input as tf.Tensor2D, a as tf.Tensor2D)), b as tf.Tensor2D)))(xs);
          return tf.sum(tf.square(dx));
        };
        return tf
          .grads(penalty)([tf.tensor2d(w1, [inputs, hidden]), tf.tensor2d(w2, [hidden, 4])])
          .map((g) => g.dataSync() as Float32Array);
      });
      assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
      return result;
    };
    const wasm = assertSplits(pool, () => onThreadCounts(pool, [1, 2], () => once('wasm'), 'gradient penalty'), 'gradient penalty');
    const cpu = once('cpu');
    close(wasm[0], cpu[0], 'd penalty / d W1');
    close(wasm[1], cpu[1], 'd penalty / d W2');
  });
});
