/** The WASM BatchMatMul replacement against the pure-JS backend, over shapes and transposes. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { selectBackend } from '../../src/trainer/backend';
import { Random } from '../../src/trainer/random';

function run(backend: string, f: () => tf.Tensor): Float32Array {
  tf.setBackend(backend);
  const out = f();
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

function close(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])), `${what} [${i}]: ${a[i]} vs ${b[i]}`);
}

describe('WASM BatchMatMul (transpose first)', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('matches the CPU backend for every transpose combination and a spread of shapes', () => {
    const random = new Random('matmul');
    const shapes: [number[], number[]][] = [];
    for (let i = 0; i < 12; i++) {
      const [m, k, n] = [1 + random.int(40), 1 + random.int(40), 1 + random.int(40)];
      const batch = i % 3 === 0 ? [1 + random.int(3)] : [];
      shapes.push([
        [...batch, m, k],
        [...batch, k, n],
      ]);
    }
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
  });

  it('gives the same gradients as the CPU backend through a dense layer, and leaks nothing', () => {
    const random = new Random('grad');
    const x = random.fillNormal(new Float32Array(32 * 20));
    const w = random.fillNormal(new Float32Array(20 * 7));
    const grads = (backend: string) => {
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
    const [wasmDx, wasmDw] = grads('wasm');
    const [cpuDx, cpuDw] = grads('cpu');
    close(wasmDx, cpuDx, 'dx');
    close(wasmDw, cpuDw, 'dw');
  });
});
